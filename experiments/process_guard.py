"""Guards for the processes that run many jobs into one dir: a study, a calibration, a sweep.

* **One run per dir.** :func:`dir_lock` holds an ``fcntl.flock`` on a lock file in the dir. Two
  runs resuming the same dir at once would run the same jobs twice, each overwriting the other's
  outputs; the second is refused, naming the holder's pid. The kernel drops the lock when its
  last holder ends, however it ends, so a killed run never leaves a stale lock behind.
* **No worker outlives its parent.** SIGTERM or SIGINT sent to a parent by its pid reaches only
  that process, while its workers (a multirun child's process group, or the joblib workers of a
  sweep) would run on and a resume started meanwhile would run their jobs a second time. The
  parent passes the signal on (:func:`forwarding` sets the handlers), gives its workers
  :data:`STOP_GRACE_S` seconds to stop, kills what is left, and then takes the signal itself.

POSIX only (``fcntl``, process groups); finding a process's descendants reads ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: seconds the workers have to stop after a signal passed on to them, before they are killed
STOP_GRACE_S = 10.0
#: the signals passed on to the workers
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DirLockedError(RuntimeError):
    """The dir is locked by another run."""


@contextlib.contextmanager
def dir_lock(directory: Path, lock_file: str, refusal: str) -> Iterator[int]:
    """Hold the lock ``lock_file`` of ``directory`` while the block runs; yields the lock's
    descriptor (pass it to a child process to have it hold the lock too). Raises
    :class:`DirLockedError` if another process holds it: ``refusal`` formatted with ``dir`` and
    ``pid`` (the holder's, as it wrote it in the file).

    The file stays when the lock is released: removing it would let a third run lock a new file
    while a second still waits on the old one.
    """
    fd = os.open(Path(directory) / lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise DirLockedError(refusal.format(dir=Path(directory), pid=holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def forwarding(handler: Callable) -> Iterator[None]:
    """``handler`` for the forwarded signals while the block runs, the previous handlers after.
    A signal this process ignores (SIGINT in a background job) stays ignored, and only the main
    thread may set handlers: elsewhere the block runs without them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = [s for s in FORWARDED_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.signal(s, handler) for s in caught}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# ---------------------------------------------------------------------- a child's process group
def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the process group ``pgid``; False if no process of it is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


def stop_group(pgid: int, deadline: float) -> None:
    """Wait until the process group ``pgid`` is gone, killing it once ``deadline`` passes."""
    while signal_group(pgid, 0):
        if time.monotonic() > deadline:
            signal_group(pgid, signal.SIGKILL)
            return
        time.sleep(0.1)


# ---------------------------------------------------------------------- this process's workers
def _stat(pid: int) -> tuple[str, int] | None:
    """``(state, parent pid)`` of ``pid`` from /proc; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, ValueError):
        return None
    return fields[0], int(fields[1])


def descendants(pid: int | None = None) -> list[int]:
    """The live processes descended from ``pid`` (this process by default), zombies left out:
    the children, their children and so on. Empty where there is no /proc."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    alive: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
                children.setdefault(st[1], []).append(int(entry.name))
                if st[0] not in ("Z", "X"):
                    alive.add(int(entry.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return [p for p in out if p in alive]


def _ignores(pid: int, signum: int) -> bool:
    """Whether ``pid`` ignores ``signum`` (its ``SigIgn`` mask in /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def stop_descendants(signum: int, grace: float = STOP_GRACE_S) -> None:
    """Send ``signum`` to every descendant of this process (and to any started meanwhile), wait
    until those that take it have gone, and kill them once ``grace`` seconds have passed.

    A descendant that ignores ``signum`` is not waited for: joblib's resource tracker ignores
    SIGTERM and SIGINT by design and ends by itself once this process is gone and its pipe
    closes, after releasing what the workers left behind.
    """
    deadline = time.monotonic() + grace
    signalled: set[int] = set()
    while True:
        waiting = []
        for pid in descendants():
            if pid not in signalled:
                _kill(pid, signum)
                signalled.add(pid)
            if not _ignores(pid, signum):
                waiting.append(pid)
        if not waiting:
            return
        if time.monotonic() > deadline:
            for pid in waiting:
                _kill(pid, signal.SIGKILL)
            return
        time.sleep(0.1)


@contextlib.contextmanager
def workers_stop_with_this_process(grace: float = STOP_GRACE_S) -> Iterator[None]:
    """While the block runs, SIGTERM or SIGINT sent to this process is passed on to all its
    descendants (:func:`stop_descendants`), and then this process takes the signal as it would
    have without the block (SIGINT raises KeyboardInterrupt, SIGTERM ends it)."""

    def pass_on(signum: int, frame: object) -> None:
        stop_descendants(signum, grace)
        signal.signal(signum, previous.get(signum, signal.SIG_DFL))
        signal.raise_signal(signum)

    previous = {s: signal.getsignal(s) for s in FORWARDED_SIGNALS}
    with forwarding(pass_on):
        yield
