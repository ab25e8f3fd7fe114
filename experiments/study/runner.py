"""Starting and watching the worker processes of both studies.

A multi-seed study runs each phase as one ``python -m experiments.run -m`` child process (Hydra's
joblib launcher fans it out); the HPI study maps its sessions over a pool of worker processes.
Either way a worker runs many simulations in one interpreter, so each one calls
:func:`release_models` once a simulation is over.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from experiments.process_guard import STOP_GRACE_S, forwarding, signal_group, stop_group

#: the repository root: child processes run from it so ``-m experiments.run`` resolves
REPO_ROOT = Path(__file__).resolve().parents[2]


def release_models() -> None:
    """Mesa 3.3.1 keeps every model that created agents alive in ``Agent._ids`` (mesa#3179); a
    worker process runs many jobs, so forget them once a job is over (no model is alive then)."""
    mesa = sys.modules.get("mesa")
    ids = getattr(getattr(mesa, "Agent", None), "_ids", None)
    if ids is not None:
        ids.clear()


def run_child(cmd: Sequence[str], pass_fds: Sequence[int] = ()) -> tuple[int, float]:
    """Run ``cmd`` from the repository root, its output going to ours; returns its exit code and
    wall seconds. ``pass_fds``: descriptors the child inherits (a study's lock).

    The child runs in a process group of its own (with the joblib workers it starts). SIGTERM
    or SIGINT sent to this process is passed on to that whole group, which gets
    :data:`STOP_GRACE_S` seconds to stop before it is killed; then this process takes the signal
    itself (SIGINT raises KeyboardInterrupt, SIGTERM ends it). Killing a study or a calibration
    by its pid thus never leaves its multirun running on, where a resume would run the same jobs
    a second time.
    """
    t = time.perf_counter()
    proc: subprocess.Popen | None = None
    received: list[int] = []
    deadline = math.inf  # when the group is killed, once a signal came

    def pass_on(signum: int, frame: object) -> None:
        nonlocal deadline
        received.append(signum)
        deadline = min(deadline, time.monotonic() + STOP_GRACE_S)
        if proc is not None:
            signal_group(proc.pid, signum)

    with forwarding(pass_on):  # set before the child starts: no moment leaves it unguarded
        proc = subprocess.Popen(list(cmd), cwd=REPO_ROOT, process_group=0, pass_fds=tuple(pass_fds))
        if received:  # a signal that came while it was starting
            signal_group(proc.pid, received[0])
        # polled, not one blocking wait: the grace period must run out even if the child hangs
        while (rc := proc.poll()) is None:
            if time.monotonic() > deadline:
                signal_group(proc.pid, signal.SIGKILL)
            time.sleep(0.2)
        if received:  # the workers may outlive the multirun's own process by a moment
            stop_group(proc.pid, deadline)
    if received:
        signal.raise_signal(received[0])
    return rc, time.perf_counter() - t


def map_in_processes(fn: Callable[..., Any], jobs: Sequence[tuple], n_jobs: int) -> list[Any]:
    """``[fn(*job) for job in jobs]``, in order, over ``n_jobs`` worker processes (in this
    process when ``n_jobs`` is 1 or there is a single job)."""
    if n_jobs == 1 or len(jobs) == 1:
        return [fn(*job) for job in jobs]
    # joblib is imported on first use: a single-process run never needs it
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, backend="loky")(delayed(fn)(*job) for job in jobs)
