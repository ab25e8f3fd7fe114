"""A plain multirun's guarantees: one sweep per sweep dir at a time, and stopping a sweep by its
pid stops its workers too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.process_guard import descendants
from experiments.sweep_guard import LOCK_FILE, sweep_lock
from tests.conftest import ROOT, run_cli
from tests.experiments.test_study_processes import _alive, _wait_for

TINY = ["scenario.days=1", "agents.background.n=60", "market.step_seconds=60"]
TINY += ["market.record_interval=60", "agents.customers.n=4", "agents.liquidity.n=4"]

# a sweep's parent stand-in: the guard on, two workers that take SIGTERM and a helper that
# ignores it (as joblib's resource tracker does) and ends when its pipe from the parent closes
_PARENT = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from experiments.process_guard import workers_stop_with_this_process
with workers_stop_with_this_process():
    workers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
               for _ in range(2)]
    tracker = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
         "signal.signal(signal.SIGINT, signal.SIG_IGN); sys.stdin.read()"],
        stdin=subprocess.PIPE)
    with open(sys.argv[1], "w") as fh:
        fh.write(" ".join(str(p.pid) for p in (*workers, tracker)))
    time.sleep(120)
"""


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_parent_stops_its_workers(tmp_path, signum):
    pids_file = tmp_path / "pids"
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(pids_file)], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    pids: list[int] = []
    try:
        assert _wait_for(lambda: pids_file.exists() and pids_file.read_text().count(" ") == 2, 30)
        pids = [int(p) for p in pids_file.read_text().split()]
        t0 = time.monotonic()
        parent.send_signal(signum)
        assert parent.wait(timeout=20) != 0  # it ends as the signal means, not carrying on
        # the workers were not left to the grace period's kill, nor the helper waited for
        assert time.monotonic() - t0 < 5
        assert _wait_for(lambda: not any(_alive(p) for p in pids), 10)
    finally:
        parent.kill()
        _kill_all(pids)


def test_descendants_are_children_and_their_children():
    sleeper = "import time; time.sleep(60)"
    inner = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {sleeper!r}])"
    inner += "; time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", inner])
    try:
        assert _wait_for(lambda: len(descendants()) >= 2, 20)
        found = descendants()
        assert child.pid in found and len(found) == 2
        assert descendants(child.pid) == [p for p in found if p != child.pid]
    finally:
        _kill_all(descendants())
        child.wait()


def test_a_second_sweep_into_a_locked_sweep_dir_is_refused(tmp_path):
    sweep_dir = tmp_path / "grid"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom experiments.sweep_guard import sweep_lock\n"
            "with sweep_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)",
            str(sweep_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = ["-m", "+sweep=workstation", "hydra.launcher.n_jobs=1", *TINY]
        res = run_cli(tmp_path, *args, f"hydra.sweep.dir={sweep_dir}", "seed=0")
        assert res.returncode == 2, res.stderr[-2000:]
        assert (
            f"sweep dir {sweep_dir} is in use" in res.stderr and f"pid {holder.pid}" in res.stderr
        )
        assert sorted(p.name for p in sweep_dir.iterdir()) == [LOCK_FILE]  # no job ran
    finally:
        holder.kill()
        holder.wait()
    with sweep_lock(sweep_dir):  # the kernel let go of it with its holder
        assert (sweep_dir / LOCK_FILE).read_text().strip() == str(os.getpid())


def _loky_workers(pid: int) -> list[int]:
    """The joblib (loky) worker processes among the descendants of ``pid``."""
    out = []
    for p in descendants(pid):
        try:
            if b"LokyProcess" in Path(f"/proc/{p}/cmdline").read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_real_sweep_is_locked_and_stopping_it_stops_its_workers(tmp_path, signum):
    """Two one-day jobs on two joblib workers: while they run a second sweep into the same dir
    is refused, and a signal to the sweep's pid leaves no worker running (each would otherwise
    finish its day, and a resume meanwhile would run it a second time)."""
    sweep_dir = tmp_path / "grid"
    cmd = [sys.executable, "-m", "experiments.run", "-m", "+sweep=workstation"]
    cmd += ["hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}", "seed=0,1"]
    sweep = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # SIGINT handled as in a terminal, even when the tests run as a background job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: list[int] = []
    try:
        assert _wait_for(lambda: len(_loky_workers(sweep.pid)) == 2, 60)
        workers = _loky_workers(sweep.pid)
        assert _wait_for(lambda: len(list(sweep_dir.glob("seed=*"))) == 2, 30)  # both started
        second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and f"pid {sweep.pid}" in second.stderr
        others = descendants(sweep.pid)
        sweep.send_signal(signum)
        assert sweep.wait(timeout=30) != 0
        assert _wait_for(lambda: not any(_alive(p) for p in others), 10)
        assert not list(sweep_dir.glob("*/summary.json"))  # stopped mid-day, not finished
    finally:
        sweep.kill()
        _kill_all(workers)
    with sweep_lock(sweep_dir):  # free for the resume: this process now holds it
        assert (sweep_dir / LOCK_FILE).read_text().strip() == str(os.getpid())
