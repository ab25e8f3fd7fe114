"""Starting and watching the worker processes of both studies.

A multi-seed study runs each phase as one ``python -m experiments.run -m`` child process (Hydra's
joblib launcher fans it out); the HPI study maps its sessions over a pool of worker processes.
Either way a worker runs many simulations in one interpreter, so each one calls
:func:`release_models` once a simulation is over.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: the repository root: child processes run from it so ``-m experiments.run`` resolves
REPO_ROOT = Path(__file__).resolve().parents[2]


def release_models() -> None:
    """Mesa 3.3.1 keeps every model that created agents alive in ``Agent._ids`` (mesa#3179); a
    worker process runs many jobs, so forget them once a job is over (no model is alive then)."""
    mesa = sys.modules.get("mesa")
    ids = getattr(getattr(mesa, "Agent", None), "_ids", None)
    if ids is not None:
        ids.clear()


def run_child(cmd: Sequence[str]) -> tuple[int, float]:
    """Run ``cmd`` from the repository root, its output going to ours; returns its exit code and
    wall seconds."""
    t = time.perf_counter()
    rc = subprocess.run(list(cmd), cwd=REPO_ROOT, check=False).returncode
    return rc, time.perf_counter() - t


def map_in_processes(fn: Callable[..., Any], jobs: Sequence[tuple], n_jobs: int) -> list[Any]:
    """``[fn(*job) for job in jobs]``, in order, over ``n_jobs`` worker processes (in this
    process when ``n_jobs`` is 1 or there is a single job)."""
    if n_jobs == 1 or len(jobs) == 1:
        return [fn(*job) for job in jobs]
    # joblib is imported on first use: a single-process run never needs it
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, backend="loky")(delayed(fn)(*job) for job in jobs)
