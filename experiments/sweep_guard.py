"""A plain multirun's guarantees: one sweep per sweep dir at a time, and no worker left running.

``python -m experiments.run -m ... hydra.sweep.dir=DIR`` (and every ``conf/sweep/*`` grid) is
resumable: rerunning the same command skips the finished jobs. Two sweeps into one dir at once
would run the same jobs twice, and killing the sweep by its pid would leave Hydra's joblib
workers running on. :class:`GuardSweep`, a Hydra callback that ``conf/config.yaml`` configures,
gives a sweep what ``study run`` has (:mod:`experiments.process_guard`): from the start of the
multirun to its end the sweep dir is locked (``sweep.lock``; a second sweep into it is refused
with the holder's pid), and SIGTERM or SIGINT sent to the sweep is passed on to its workers, which
get :data:`~experiments.process_guard.STOP_GRACE_S` seconds to stop before they are killed; then
the sweep takes the signal itself.

Hydra calls ``on_multirun_start`` in the process that launches the jobs, before the sweeper writes
anything into the sweep dir; the joblib launcher's workers (loky) are that process's children.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from experiments.process_guard import DirLockedError, dir_lock, workers_stop_with_this_process

LOCK_FILE = "sweep.lock"
_REFUSAL = (
    "sweep dir {dir} is in use by another sweep (pid {pid}); wait for it to end or stop it, "
    "then run the same command again to resume"
)


@contextlib.contextmanager
def sweep_lock(sweep_dir: Path) -> Iterator[int]:
    """Hold the lock of ``sweep_dir`` (made if missing) while the block runs; raises
    :class:`~experiments.process_guard.DirLockedError` naming the holder's pid if it is held."""
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    with dir_lock(sweep_dir, LOCK_FILE, _REFUSAL) as fd:
        yield fd


class GuardSweep(Callback):
    """Hydra callback: the sweep dir locked and the workers stopped with the sweep.

    Configure as ``hydra.callbacks.<name>._target_: experiments.sweep_guard.GuardSweep``.
    """

    def __init__(self) -> None:
        self._held = contextlib.ExitStack()

    def __getstate__(self) -> dict:
        # the launcher sends the callbacks to its workers; the lock and handlers stay here
        return {}

    def __setstate__(self, state: dict) -> None:
        self._held = contextlib.ExitStack()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            self._held.enter_context(sweep_lock(Path(str(config.hydra.sweep.dir))))
        except DirLockedError as exc:
            print(f"hedgeloop: {exc}", file=sys.stderr)
            sys.exit(2)
        self._held.enter_context(workers_stop_with_this_process())

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._held.close()
