"""A study's processes: killing it stops its multirun child; one study dir runs once at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.study.cli import main as study_cli
from experiments.study.lock import LOCK_FILE, StudyLockedError, study_lock

ROOT = Path(__file__).resolve().parents[2]

# a multirun stand-in: it starts a worker of its own, writes both pids and waits
_CHILD = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "w") as fh:
    fh.write(f"{__import__('os').getpid()} {worker.pid}")
time.sleep(120)
"""
# a study's parent process: SIGINT handled as in a terminal, then run_child as a study runs it
_PARENT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from experiments.study.runner import run_child
run_child([sys.executable, "-c", sys.argv[1], sys.argv[2]])
"""


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _group_alive(pgid: int) -> list[int]:
    """The live processes of the process group ``pgid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                out.append(int(entry.name))
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_stops_the_child_and_its_workers(tmp_path, signum):
    pids = tmp_path / "pids"
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD, str(pids)],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: pids.exists() and pids.read_text().count(" ") == 1, 30)
        child, worker = (int(p) for p in pids.read_text().split())
        parent.send_signal(signum)
        assert parent.wait(timeout=20) != 0  # it ends as the signal means, not carrying on
        assert _wait_for(lambda: not _alive(child) and not _alive(worker), 10)
    finally:  # nothing outlives the test, whatever failed
        parent.kill()
        for pid in (int(p) for p in pids.read_text().split()) if pids.exists() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_second_run_into_a_locked_study_dir_is_refused(tmp_path, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom experiments.study.lock import study_lock\n"
            "with study_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        rc = study_cli(["run", "baseline", "seeds=2", f"dir={tmp_path}"])
        err = capsys.readouterr().err
        assert rc == 2
        assert f"study dir {tmp_path} is in use" in err and f"pid {holder.pid}" in err
        assert not (tmp_path / "study.json").exists() and not (tmp_path / "main").exists()
    finally:
        holder.kill()
        holder.wait()
    with study_lock(tmp_path):  # the kernel let go of it with its holder
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_the_lock_is_refused_within_one_process_too(tmp_path):
    with study_lock(tmp_path), pytest.raises(StudyLockedError, match=str(os.getpid())):
        study_lock(tmp_path).__enter__()


@pytest.mark.slow
def test_killing_a_study_run_stops_its_multirun(tmp_path):
    """A real study: SIGTERM to ``study run`` while its multirun runs leaves no process behind
    and the dir unlocked for the resume."""
    tiny = ["scenario.days=1", "agents.background.n=60"]
    tiny += ["market.step_seconds=60", "market.record_interval=60"]
    cmd = [sys.executable, "-m", "experiments.study", "run", "baseline", "seeds=2", "n_jobs=2"]
    study = subprocess.Popen(
        [*cmd, f"dir={tmp_path}", "--", *tiny],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: _children(study.pid), 30)
        multirun = _children(study.pid)[0]
        # its joblib workers start (the multirun's own children)
        assert _wait_for(lambda: _children(multirun), 20)
        study.send_signal(signal.SIGTERM)
        assert study.wait(timeout=20) == -signal.SIGTERM
        assert _wait_for(lambda: not _group_alive(multirun), 10), _group_alive(multirun)
    finally:
        study.kill()
    with study_lock(tmp_path):  # free again: the killed study's child let go of it
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())
