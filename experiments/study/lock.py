"""The lock that keeps two ``study run`` processes out of one study dir.

Two runs resuming the same study at once would run the same jobs twice, each overwriting the
other's outputs. The lock is :func:`experiments.process_guard.dir_lock` on ``study.lock`` in the
study dir: the kernel drops it when its last holder ends, however it ends, so a killed run never
leaves a stale lock. The multirun child inherits the descriptor and holds the lock with its
parent: were the parent killed outright (SIGKILL, which it cannot pass on), the dir stays locked
until the child is done. (The multirun also locks its own sweep dir, in a file of another name.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from experiments.process_guard import DirLockedError, dir_lock

LOCK_FILE = "study.lock"
#: the study dir is locked by another study run
StudyLockedError = DirLockedError


@contextlib.contextmanager
def study_lock(study_dir: Path) -> Iterator[int]:
    """Hold the lock of ``study_dir`` while the block runs; yields the lock's descriptor (pass
    it to a child process to have it hold the lock too). Raises :class:`StudyLockedError`,
    naming the dir and the holder's pid, if another process holds it."""
    with dir_lock(
        study_dir,
        LOCK_FILE,
        "study dir {dir} is in use by another study run (pid {pid}, or the multirun it "
        "started); wait for it to end or stop it, then run the same command again to resume",
    ) as fd:
        yield fd
