"""The lock that keeps two ``study run`` processes out of one study dir.

Two runs resuming the same study at once would run the same jobs twice, each overwriting the
other's outputs. The lock is an ``fcntl.flock`` on ``study.lock`` in the study dir: the kernel
drops it when its last holder ends, however it ends, so a killed run never leaves a stale lock.
The multirun child inherits the descriptor and holds the lock with its parent: were the parent
killed outright (SIGKILL, which it cannot pass on), the dir stays locked until the child is done.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "study.lock"


class StudyLockedError(RuntimeError):
    """The study dir is locked by another run."""


@contextlib.contextmanager
def study_lock(study_dir: Path) -> Iterator[int]:
    """Hold the lock of ``study_dir`` while the block runs; yields the lock's descriptor (pass
    it to a child process to have it hold the lock too). Raises :class:`StudyLockedError`,
    naming the dir and the holder's pid, if another process holds it.

    The file stays when the lock is released: removing it would let a third run lock a new file
    while a second still waits on the old one.
    """
    path = Path(study_dir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StudyLockedError(
                f"study dir {Path(study_dir)} is in use by another study run (pid {holder}, "
                "or the multirun it started); wait for it to end or stop it, then run the same "
                "command again to resume"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)
