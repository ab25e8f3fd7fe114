"""One job of a multirun (a sweep point or a study run): the guard that makes a sweep resumable.

:func:`sweep_job` wraps the task function of ``experiments.run``. In a multirun it skips a job
whose output dir already holds a finished job of the same effective config (compared by
:func:`job_fingerprint`), records a failure instead of raising (the sweep outlives any one job),
and leaves in the job dir:

- ``job_status.json``: ``status`` "ok" or "failed", the overrides, the fingerprint, wall seconds,
- ``error.txt``: the traceback of a failed job, ``stdout.log``: what the task printed;

and appends one line per finished job to ``<sweep dir>/progress.jsonl`` (which
:class:`experiments.study.progress.SweepProgress` follows).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import resource
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments.config import apply_arm
from experiments.outputs import write_json, write_text
from experiments.study.runner import release_models

STATUS_FILE = "job_status.json"
ERROR_FILE = "error.txt"
STDOUT_FILE = "stdout.log"
PROGRESS_FILE = "progress.jsonl"
SUMMARY_FILE = "summary.json"


def job_fingerprint(cfg: DictConfig) -> str:
    """SHA-256 of the effective config of a job: its arm applied, the arm table and the progress
    flag left out, so that adding arms to a study or toggling the bar keeps finished jobs valid."""
    # enums as their names: the same fingerprint from the structured config or its YAML dump
    effective = OmegaConf.to_container(apply_arm(cfg), resolve=True, enum_to_str=True)
    effective.pop("progress", None)
    if isinstance(effective.get("scenario"), dict):
        effective["scenario"].pop("arms", None)
    blob = json.dumps(effective, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_status(job_dir: Path) -> dict | None:
    """The job's ``job_status.json`` as a dict, or None if absent or unreadable."""
    try:
        record = json.loads((Path(job_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_finished(job_dir: Path, fingerprint: str) -> bool:
    """True if ``job_dir`` holds a successful job of the same effective config: status "ok", the
    same fingerprint, and a summary.json that parses."""
    record = read_status(job_dir)
    if record is None or record.get("status") != "ok" or record.get("fingerprint") != fingerprint:
        return False
    try:
        return isinstance(json.loads((Path(job_dir) / SUMMARY_FILE).read_text()), dict)
    except (OSError, ValueError):
        return False


def append_progress(sweep_dir: Path, record: dict) -> None:
    # one short line per write: appends from concurrent workers do not interleave
    with open(sweep_dir / PROGRESS_FILE, "a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def _failure_text(exc: BaseException) -> str:
    """The last line worth reading: for ``sys.exit`` after a caught error, that error."""
    cause = exc
    if isinstance(exc, SystemExit) and exc.__context__ is not None:
        cause = exc.__context__
    text = f"{type(cause).__name__}: {cause}".strip()
    return text.splitlines()[0] if text else type(cause).__name__


def _job_name(out: Path, sweep_dir: Path) -> str:
    """The job's output dir relative to the sweep dir (its bare name if outside it)."""
    try:
        return out.resolve().relative_to(sweep_dir).as_posix()
    except ValueError:
        return out.name


def _record_job(
    out: Path, sweep_dir: Path, base: dict[str, Any], status: dict[str, Any], t0: float
) -> None:
    """Complete ``status`` (the job's identity, wall seconds since ``t0``, finish time, peak
    memory), write it to ``job_status.json`` and append the job's line to the progress file."""
    status.update(
        base,
        wall_seconds=time.perf_counter() - t0,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    write_json(out / STATUS_FILE, status)
    append_progress(
        sweep_dir,
        {
            **base,
            "status": status["status"],
            "wall_seconds": status["wall_seconds"],
            "error": status.get("error"),
        },
    )


def sweep_job(cfg: DictConfig, task: Callable[[DictConfig], Any]) -> Any:
    """Run ``task(cfg)`` as one job; the task function of ``experiments.run`` goes through here.

    In a single run this is just ``task(cfg)``. In a multirun it also

    - skips the job if its output dir already holds a finished job of the same effective config
      (:func:`is_finished`), returning the recorded objective,
    - turns the progress bar off and sends what the task prints to ``stdout.log``,
    - catches a failure (an exception, or ``sys.exit`` on a bad config) and records it in
      ``error.txt`` and ``job_status.json`` instead of raising: Hydra's sweeper would otherwise
      abort the whole sweep (``sys.exit`` in a joblib worker kills it at once; an exception
      fails it after the batch, before the collecting callback runs). Returns NaN then.
    - appends a line to ``<sweep dir>/progress.jsonl`` either way.
    """
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return task(cfg)
    out = Path(hc.runtime.output_dir)
    sweep_dir = Path(str(hc.sweep.dir)).resolve()
    overrides = list(hc.overrides.task)
    base = {"job": _job_name(out, sweep_dir), "num": hc.job.num, "overrides": overrides}
    t0 = time.perf_counter()
    status: dict[str, Any]
    try:
        if "progress" in cfg:
            cfg.progress = False
        fingerprint = job_fingerprint(cfg)
        if is_finished(out, fingerprint):
            previous = read_status(out) or {}
            append_progress(
                sweep_dir,
                {**base, "status": "skipped", "wall_seconds": previous.get("wall_seconds")},
            )
            return previous.get("objective", math.nan)
        for stale in (STATUS_FILE, ERROR_FILE):
            (out / stale).unlink(missing_ok=True)
        with open(out / STDOUT_FILE, "w") as fh, contextlib.redirect_stdout(fh):
            value = task(cfg)
        objective = float(value) if isinstance(value, (int, float)) else None
        status = {"status": "ok", "fingerprint": fingerprint, "objective": objective}
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:  # the sweep must outlive any one job
        detail = "".join(traceback.format_exception(exc))
        write_text(out / ERROR_FILE, detail)
        value = math.nan
        status = {"status": "failed", "error": _failure_text(exc), "objective": None}
    finally:
        release_models()
    _record_job(out, sweep_dir, base, status, t0)
    return value
