"""Multi-seed studies with control arms, and resumable parameter sweeps on a workstation.

Both run as Hydra multiruns with the joblib launcher: one worker process per core, so runs never
pile up in one interpreter (Mesa 3.3.1 keeps every model alive in its process, mesa#3179;
:func:`sweep_job` also releases them between the jobs a worker runs).

**Sweeps.** ``python -m experiments.run -m +sweep=<name> [overrides]`` runs the grid of
``conf/sweep/<name>.yaml`` (``+sweep=workstation`` plus grid overrides for an ad-hoc grid). Each job
writes into ``<sweep dir>/<its overrides>``; when the multirun ends :class:`CollectSweep` writes
``sweep_table.parquet`` / ``.csv`` (one row per job: its overrides as columns, ``status``,
``error`` and every numeric leaf of its summary.json under a dotted name) and the heatmaps listed
in the callback's ``figures`` (:func:`sweep_figure`). Rerunning the same command with the same
``hydra.sweep.dir`` skips the jobs that already finished; a job that fails is recorded and the
others go on. ``python -m experiments.study collect <dir>`` re-collects a sweep or a study.

**Studies.** ``python -m experiments.study run <study> [key=value ...] [-- run overrides ...]``
reads ``conf/study/<study>.yaml`` (:class:`StudyConfig`; a scenario name alone works too), runs the
treatment and every control arm over the same seeds, then each listed calibrated parameter at
0.8x and 1.2x (fewer seeds), and writes into the study dir:

- ``study_table.csv`` / ``.parquet``: per metric and arm the mean, sd and t-interval; for each
  control arm the difference *treatment minus control* paired by seed (mean, CI, paired-t p) and
  Welch's unpaired p; each arm's mean against the scenario's ``reference`` figure (ratio, sign),
- ``robustness.csv`` / ``.parquet``: the same differences at every robustness setting,
- ``study_runs.csv`` / ``.parquet``: one row per run (the data behind both),
- ``study.md`` (a short summary) and ``study.png`` (metric distributions per arm).

Files a multirun job leaves next to the run's own outputs: ``job_status.json`` (``status`` "ok" or
"failed", the overrides, the fingerprint of the effective config, wall seconds), ``error.txt``
(the traceback of a failed job) and ``stdout.log``; the sweep dir gets ``progress.jsonl`` (one
line per finished job, which :class:`SweepProgress` prints as ``[done/total elapsed]`` lines).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import resource
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException
from scipy import stats

from experiments.config import ConfigError, apply_arm, check_range, register_configs, to_run_config
from experiments.outputs import atomic_write as _atomic, write_json, write_parquet

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = REPO_ROOT / "conf"
STUDY_CONF_DIR = CONF_DIR / "study"

STATUS_FILE = "job_status.json"
ERROR_FILE = "error.txt"
STDOUT_FILE = "stdout.log"
PROGRESS_FILE = "progress.jsonl"
SUMMARY_FILE = "summary.json"
MANIFEST_FILE = "study.json"

#: columns of a sweep table that are not overrides or metrics
JOB_COLUMNS = ("job", "status", "error", "job_wall_seconds")
#: columns of a study's per-run table that are not metrics
STUDY_RUN_COLUMNS = ("setting", "param", "scale", "value", "arm", "run_arm", "seed", "dir",
                     "status", "error", "job_wall_seconds")


# ---------------------------------------------------------------------------- summary leaves
def flatten_numeric(tree: Mapping, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a nested dict as ``{"dotted.name": float}``.

    Booleans become 0/1 and None becomes NaN (summary.json writes NaN as null); strings and lists
    (per-day paths, halt logs) are left out: they are not metrics.
    """
    out: dict[str, float] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_numeric(value, name + "."))
        elif value is None:
            out[name] = math.nan
        elif isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
            out[name] = float(value)
    return out


def select_metrics(summary: Mapping, prefixes: Sequence[str] | None) -> dict[str, float]:
    """Numeric leaves of ``summary`` under the dotted ``prefixes`` (all of them if None)."""
    if prefixes is None:
        return flatten_numeric(summary)
    out: dict[str, float] = {}
    for prefix in prefixes:
        node: Any = summary
        for part in prefix.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            out.update(flatten_numeric(node, prefix + "."))
        elif node is not None:
            out.update(flatten_numeric({prefix: node}))
    return out


# ---------------------------------------------------------------------------- statistics
class Interval(NamedTuple):
    """Mean, standard deviation and two-sided t-interval ``[lo, hi]`` of ``n`` finite values."""

    mean: np.ndarray
    sd: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray


class Difference(NamedTuple):
    """Paired difference a - b: mean, t-interval ``[lo, hi]``, paired-t p-value, pairs used."""

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p: np.ndarray
    n: np.ndarray


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def _moments(values, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample variance (ddof 1) and count of the finite values along ``axis``."""
    x = np.moveaxis(np.atleast_1d(np.asarray(values, dtype=float)), axis, -1)
    ok = np.isfinite(x)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=-1) / n
        dev = np.where(ok, x - mean[..., None], 0.0)
        var = np.where(n > 1, (dev**2).sum(axis=-1) / (n - 1), np.nan)
    return mean, var, n


def t_interval(values, level: float = 0.95, axis: int = -1) -> Interval:
    """Mean and Student-t confidence interval of ``values`` along ``axis``, NaNs ignored.

    Vectorised: a (metrics, seeds) array gives one interval per metric. ``lo``/``hi`` are NaN
    where fewer than two finite values exist; the mean is NaN where there are none.

    >>> iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> round(float(iv.lo), 4), round(float(iv.hi), 4)
    (1.0368, 4.9632)
    """
    _check_level(level)
    mean, var, n = _moments(values, axis)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2.0, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return Interval(mean[()], sd[()], (mean - half)[()], (mean + half)[()], n[()])


def paired_difference(a, b, level: float = 0.95, axis: int = -1) -> Difference:
    """Mean of ``a - b`` paired position by position (the same seed), with its t-interval and the
    two-sided paired t-test p-value; pairs with a NaN on either side are dropped.

    Zero spread gives p = 0 for a non-zero mean and NaN for a zero mean (no evidence either way).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    iv = t_interval(a - b, level, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = iv.mean / (iv.sd / np.sqrt(iv.n))
        p = np.where(iv.n > 1, 2.0 * stats.t.sf(np.abs(t), np.maximum(iv.n - 1, 1)), np.nan)
    return Difference(iv.mean, iv.lo, iv.hi, p[()], iv.n)


def welch_p(a, b, axis: int = -1) -> np.ndarray:
    """Two-sided p-value of Welch's unequal-variance t-test of mean(a) = mean(b), NaNs ignored."""
    ma, va, na = _moments(a, axis)
    mb, vb, nb = _moments(b, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        sa, sb = va / na, vb / nb
        t = (ma - mb) / np.sqrt(sa + sb)
        df = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
        p = 2.0 * stats.t.sf(np.abs(t), df)
    return np.where((na > 1) & (nb > 1), p, np.nan)[()]


# ---------------------------------------------------------------------------- study tables
def _arm_matrix(runs: pd.DataFrame, arm: str, metrics: Sequence[str], seeds) -> np.ndarray:
    """(metrics, seeds) values of one arm; NaN where a seed has no finished run."""
    rows = runs[runs["arm"] == arm]
    if rows["seed"].duplicated().any():
        dup = sorted(rows.loc[rows["seed"].duplicated(), "seed"].unique())
        raise ValueError(f"runs: arm {arm!r} has more than one run for seeds {dup}")
    frame = rows.set_index("seed").reindex(seeds)
    return frame.reindex(columns=list(metrics)).to_numpy(dtype=float).T


def _reference_for(metric: str, reference: Mapping[str, float]) -> float:
    """The reference figure of ``metric``: keyed by its full name or by it without its first part
    (``scenario.reference.peak_to_trough_pct`` matches ``scenario_metrics.peak_to_trough_pct``)."""
    if metric in reference:
        return float(reference[metric])
    _, _, rest = metric.partition(".")
    return float(reference[rest]) if rest and rest in reference else math.nan


def _same_sign(x: np.ndarray, ref: np.ndarray) -> pd.arrays.BooleanArray:
    """sign(x) == sign(ref) where both are finite, NA elsewhere."""
    known = np.isfinite(x) & np.isfinite(ref)
    return pd.arrays.BooleanArray(np.sign(x) == np.sign(ref), ~known)


def arm_differences(
    runs: pd.DataFrame, metrics: Sequence[str], treatment: str, control: str, level: float = 0.95
) -> pd.DataFrame:
    """Per metric, *treatment minus control* paired by seed: pairs used, both arms' means, the
    mean difference with its t-interval, the paired-t p-value and Welch's unpaired p-value.

    ``runs``: one row per finished run with columns ``arm``, ``seed`` and the metrics.
    """
    seeds = sorted(runs["seed"].unique())
    a = _arm_matrix(runs, treatment, metrics, seeds)
    b = _arm_matrix(runs, control, metrics, seeds)
    d = paired_difference(a, b, level)
    return pd.DataFrame({
        "metric": list(metrics),
        "n_pairs": np.atleast_1d(d.n),
        "treatment_mean": np.atleast_1d(t_interval(a, level).mean),
        "control_mean": np.atleast_1d(t_interval(b, level).mean),
        "diff_mean": np.atleast_1d(d.mean),
        "diff_ci_lo": np.atleast_1d(d.lo),
        "diff_ci_hi": np.atleast_1d(d.hi),
        "p_paired": np.atleast_1d(d.p),
        "p_welch": np.atleast_1d(welch_p(a, b)),
    })


def arm_table(
    runs: pd.DataFrame,
    metrics: Sequence[str],
    arms: Sequence[str],
    reference: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The study table: one row per (metric, arm).

    Columns: ``n``, ``mean``, ``sd``, ``ci_lo``/``ci_hi`` (t-interval at ``level``); on control-arm
    rows the difference *treatment minus this arm* (``arms[0]`` is the treatment) paired by seed:
    ``n_pairs``, ``diff_mean``, ``diff_ci_lo``/``diff_ci_hi``, ``p_paired``, ``p_welch``; and
    ``reference`` (the scenario's real-world figure, NaN if none), ``ratio_to_reference`` (mean /
    reference) and ``same_sign_as_reference``.
    """
    _check_level(level)
    if not arms:
        raise ValueError("arms must name at least the treatment arm")
    missing = [m for m in metrics if m not in runs.columns]
    if missing:
        raise ValueError(f"metrics {missing} are not columns of runs")
    reference = reference or {}
    seeds = sorted(runs["seed"].unique())
    ref = np.array([_reference_for(m, reference) for m in metrics], dtype=float)
    frames = []
    for arm in arms:
        iv = t_interval(_arm_matrix(runs, arm, metrics, seeds), level)
        frame = pd.DataFrame({
            "metric": list(metrics), "arm": arm, "n": np.atleast_1d(iv.n),
            "mean": np.atleast_1d(iv.mean), "sd": np.atleast_1d(iv.sd),
            "ci_lo": np.atleast_1d(iv.lo), "ci_hi": np.atleast_1d(iv.hi),
        })
        if arm == arms[0]:
            diff = pd.DataFrame(np.nan, index=frame.index, columns=[
                "n_pairs", "diff_mean", "diff_ci_lo", "diff_ci_hi", "p_paired", "p_welch"])
        else:
            diff = arm_differences(runs, metrics, arms[0], arm, level).drop(
                columns=["metric", "treatment_mean", "control_mean"])
        frame = pd.concat([frame, diff], axis=1)
        mean = frame["mean"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["reference"] = ref
            frame["ratio_to_reference"] = np.where(ref != 0, mean / ref, np.nan)
        frame["same_sign_as_reference"] = _same_sign(mean, ref)
        frames.append(frame)
    order = {m: i for i, m in enumerate(metrics)}
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values("metric", key=lambda s: s.map(order), kind="stable")
    return out.reset_index(drop=True)


def robustness_table(
    runs: pd.DataFrame, metrics: Sequence[str], arms: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """*Treatment minus control* at every robustness setting, next to the calibrated ("base") one.

    ``runs`` has columns ``setting`` ("base" for the calibrated values), ``param``, ``scale``,
    ``value``, ``arm``, ``seed`` and the metrics. ``effect_holds`` is defined where the base
    difference is significant (its CI excludes zero): the setting's difference has the same sign
    and its CI excludes zero too.
    """
    if "base" not in set(runs["setting"]):
        raise ValueError("runs must hold the base setting (the calibrated parameter values)")
    settings = runs[["setting", "param", "scale", "value"]].drop_duplicates("setting")
    settings = pd.concat([settings[settings["setting"] == "base"],
                          settings[settings["setting"] != "base"]])
    frames = []
    for control in arms[1:]:
        base = arm_differences(runs[runs["setting"] == "base"], metrics, arms[0], control, level)
        base_sign = np.sign(base["diff_mean"].to_numpy())
        base_sig = ((base["diff_ci_lo"] > 0) | (base["diff_ci_hi"] < 0)).to_numpy()
        for row in settings.itertuples(index=False):
            diff = arm_differences(runs[runs["setting"] == row.setting], metrics, arms[0],
                                   control, level)
            same = np.sign(diff["diff_mean"].to_numpy()) == base_sign
            excl = ((diff["diff_ci_lo"] > 0) | (diff["diff_ci_hi"] < 0)).to_numpy()
            diff.insert(0, "control", control)
            for i, col in enumerate(("setting", "param", "scale", "value")):
                diff.insert(i, col, getattr(row, col))
            diff["base_diff_mean"] = base["diff_mean"].to_numpy()
            diff["same_sign_as_base"] = pd.array(same, dtype="boolean")
            diff["ci_excludes_zero"] = pd.array(excl, dtype="boolean")
            diff["effect_holds"] = pd.arrays.BooleanArray(same & excl, ~base_sig)
            frames.append(diff)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ---------------------------------------------------------------------------- one sweep job
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


def _append_progress(sweep_dir: Path, record: dict) -> None:
    # one short line per write: appends from concurrent workers do not interleave
    with open(sweep_dir / PROGRESS_FILE, "a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def _release_models() -> None:
    """Mesa 3.3.1 keeps every model that created agents alive in ``Agent._ids`` (mesa#3179); a
    worker process runs many jobs, so forget them once a job is over (no model is alive then)."""
    mesa = sys.modules.get("mesa")
    ids = getattr(getattr(mesa, "Agent", None), "_ids", None)
    if ids is not None:
        ids.clear()


def _failure_text(exc: BaseException) -> str:
    """The last line worth reading: for ``sys.exit`` after a caught error, that error."""
    cause = exc
    if isinstance(exc, SystemExit) and exc.__context__ is not None:
        cause = exc.__context__
    text = f"{type(cause).__name__}: {cause}".strip()
    return text.splitlines()[0] if text else type(cause).__name__


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
    try:
        name = out.resolve().relative_to(sweep_dir).as_posix()
    except ValueError:
        name = out.name
    overrides = list(hc.overrides.task)
    base = {"job": name, "num": hc.job.num, "overrides": overrides}
    t0 = time.perf_counter()
    status: dict[str, Any]
    try:
        if "progress" in cfg:
            cfg.progress = False
        fingerprint = job_fingerprint(cfg)
        if is_finished(out, fingerprint):
            previous = read_status(out) or {}
            _append_progress(sweep_dir, {**base, "status": "skipped",
                                         "wall_seconds": previous.get("wall_seconds")})
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
        _atomic(out / ERROR_FILE, lambda tmp: Path(tmp).write_text(detail))
        value = math.nan
        status = {"status": "failed", "error": _failure_text(exc), "objective": None}
    finally:
        _release_models()
    status.update(base, wall_seconds=time.perf_counter() - t0,
                  finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                  max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    write_json(out / STATUS_FILE, status)
    _append_progress(sweep_dir, {**base, "status": status["status"],
                                 "wall_seconds": status["wall_seconds"],
                                 "error": status.get("error")})
    return value


# ---------------------------------------------------------------------------- progress
def count_sweep_jobs(config: DictConfig) -> int | None:
    """Number of jobs Hydra's basic sweeper makes of ``config`` (``hydra.sweeper.params`` and the
    command-line overrides, the latter winning per key); None for other sweepers or globs."""
    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default="") or "")
    if not target.endswith("BasicSweeper"):
        return None
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    lines = [f"{k}={v}" for k, v in params.items()]
    lines += list(OmegaConf.select(config, "hydra.overrides.task", default=[]) or [])
    sizes: dict[str, int] = {}
    try:
        for o in OverridesParser.create().parse_overrides(lines):
            sizes[o.get_key_element()] = (
                len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1)
    except Exception:  # glob() needs the config loader
        return None
    return math.prod(sizes.values())


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class SweepProgress(Callback):
    """Hydra callback: while a multirun runs, print one line per finished job with jobs done /
    total and the elapsed time (it follows the sweep dir's ``progress.jsonl``).

    Configure as ``hydra.callbacks.<name>._target_: experiments.study.core.SweepProgress``.
    """

    def __init__(self, poll_seconds: float = 1.0) -> None:
        check_range("poll_seconds", poll_seconds, 0.0, 60.0, lo_open=True)
        self.poll_seconds = float(poll_seconds)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.failed: list[str] = []

    def __getstate__(self) -> dict:
        # Hydra pickles its callbacks into every joblib worker; threads do not pickle
        state = self.__dict__.copy()
        state["_thread"] = None
        state["_stop"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._stop = threading.Event()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        self.total = count_sweep_jobs(config)
        self.t0 = time.perf_counter()
        path = self.sweep_dir / PROGRESS_FILE
        self._offset = path.stat().st_size if path.exists() else 0
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.failed = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="sweep-progress", daemon=True)
        self._thread.start()
        print(f"sweep: {self.total if self.total is not None else '?'} jobs into {self.sweep_dir}",
              flush=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        path = self.sweep_dir / PROGRESS_FILE
        if not path.exists():
            return
        with open(path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        complete, _, _ = chunk.rpartition(b"\n")  # a line still being written waits
        if not complete:
            return
        self._offset += len(complete) + 1
        for line in complete.decode(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            self._report(rec)

    def _report(self, rec: dict) -> None:
        status = rec.get("status", "?")
        self.counts[status] = self.counts.get(status, 0) + 1
        done = sum(self.counts.values())
        total = self.total if self.total is not None else "?"
        wall = rec.get("wall_seconds")
        what = f"{wall:.1f} s" if isinstance(wall, (int, float)) else ""
        if status == "failed":
            self.failed.append(rec.get("job", "?"))
            what = f"{rec.get('error', '')}"
        elif status == "skipped":
            what = "finished earlier"
        print(f"[{done:>4}/{total} {_clock(time.perf_counter() - self.t0):>7}] {status:<7} "
              f"{rec.get('job', '?')}  {what}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        c = self.counts
        line = (f"sweep: {sum(c.values())} jobs in {_clock(time.perf_counter() - self.t0)}: "
                f"{c['ok']} ok, {c['failed']} failed, {c['skipped']} skipped (finished earlier)")
        print(line, flush=True)
        for job in self.failed:
            print(f"  failed: {self.sweep_dir / job / ERROR_FILE}", flush=True)


class CollectSweep(SweepProgress):
    """Hydra callback: progress lines while the multirun runs, then :func:`collect_sweep` of the
    sweep dir with the heatmaps ``figures`` (a list of ``{x, y, metric}``) when it ends."""

    def __init__(self, figures: Sequence[Mapping] = (), poll_seconds: float = 1.0) -> None:
        super().__init__(poll_seconds)
        self.figures = _figure_specs(figures)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        super().on_multirun_end(config, **kwargs)
        table = collect_sweep(self.sweep_dir, self.figures)
        where = f"; figures in {self.sweep_dir / 'figures'}" if self.figures else ""
        print(f"sweep: {len(table)} jobs collected into {self.sweep_dir / 'sweep_table.parquet'}"
              f" (and .csv){where}", flush=True)


# ---------------------------------------------------------------------------- collecting
def _parse_overrides(lines: Sequence[str]) -> dict[str, Any]:
    """``key=value`` override lines as {key: python value}; +/++/~ prefixes dropped."""
    out: dict[str, Any] = {}
    for o in OverridesParser.create().parse_overrides(list(lines)):
        value = o.value() if not o.is_delete() else None
        if isinstance(value, (list, dict)):
            value = o.get_value_element_as_str()
        out[o.get_key_element().lstrip("+~")] = value
    return out


def read_job(job_dir: Path, metrics: Sequence[str] | None = None) -> dict:
    """One job dir as a flat record: ``status`` ("ok", "failed", "incomplete": started but no
    status, "missing": no dir), ``error`` (first line), ``job_wall_seconds`` and the numeric leaves
    of its summary.json under ``metrics`` (all if None) when it finished."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        return {"status": "missing", "error": None}
    record = read_status(job_dir)
    row: dict[str, Any] = {"status": "incomplete", "error": None, "job_wall_seconds": math.nan}
    if record is not None:
        row["status"] = record.get("status", "incomplete")
        row["error"] = record.get("error")
        row["job_wall_seconds"] = record.get("wall_seconds", math.nan)
    if row["status"] == "failed" and not row["error"] and (job_dir / ERROR_FILE).exists():
        lines = (job_dir / ERROR_FILE).read_text().strip().splitlines()
        row["error"] = lines[-1] if lines else "failed"
    if row["status"] == "ok":
        try:
            summary = json.loads((job_dir / SUMMARY_FILE).read_text())
        except (OSError, ValueError) as exc:
            row["status"], row["error"] = "failed", f"summary.json unreadable: {exc}"
        else:
            row.update(select_metrics(summary, metrics))
    return row


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Every Hydra job dir under ``sweep_dir`` (those holding ``.hydra/overrides.yaml``)."""
    return sorted(p.parent.parent for p in Path(sweep_dir).rglob("overrides.yaml")
                  if p.parent.name == ".hydra")


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding more than one type (overrides like ``x=1,abc``) become strings."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and v is not pd.NA
                     and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return out


def write_table(df: pd.DataFrame, path_stem: Path) -> None:
    """``<stem>.parquet`` and ``<stem>.csv``, each written atomically."""
    path_stem = Path(path_stem)
    write_parquet(path_stem.with_suffix(".parquet"), _parquet_safe(df))
    _atomic(path_stem.with_suffix(".csv"), lambda tmp: df.to_csv(tmp, index=False))


def sweep_table(sweep_dir: Path) -> pd.DataFrame:
    """One row per job dir under ``sweep_dir``: ``job`` (its path relative to the sweep dir),
    ``status``, ``error``, ``job_wall_seconds``, one column per override key, then every numeric
    leaf of its summary.json (metrics that share a name with an override are left out)."""
    sweep_dir = Path(sweep_dir)
    rows, override_keys = [], []
    for job_dir in find_job_dirs(sweep_dir):
        lines = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml"))
        overrides = _parse_overrides([str(x) for x in lines or []])
        override_keys += [k for k in overrides if k not in override_keys]
        rec = read_job(job_dir)
        metrics = {k: v for k, v in rec.items() if k not in JOB_COLUMNS and k not in overrides}
        rows.append({"job": job_dir.relative_to(sweep_dir).as_posix(),
                     **{k: rec.get(k) for k in JOB_COLUMNS[1:]}, **overrides, **metrics})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=list(JOB_COLUMNS))
    metric_cols = [c for c in table.columns if c not in JOB_COLUMNS and c not in override_keys]
    table[metric_cols] = table[metric_cols].apply(pd.to_numeric, errors="coerce")
    return table[[*JOB_COLUMNS, *override_keys, *metric_cols]]


def collect_sweep(sweep_dir: Path, figures: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Collect a sweep dir into ``sweep_table.parquet`` / ``.csv`` and ``figures/*.png``."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep dir {sweep_dir} does not exist")
    specs = _figure_specs(figures)
    table = sweep_table(sweep_dir)
    write_table(table, sweep_dir / "sweep_table")
    for spec in specs:
        fig = sweep_figure(table, **spec)
        path = sweep_dir / "figures" / f"{spec['metric']}__by__{spec['x']}__{spec['y']}.png"
        _save_figure(fig, path)
    return table


def _figure_specs(figures) -> list[dict]:
    specs = []
    for i, spec in enumerate(figures or ()):
        spec = OmegaConf.to_container(spec) if isinstance(spec, DictConfig) else dict(spec)
        if set(spec) != {"x", "y", "metric"}:
            raise ValueError(f"figures[{i}] must have exactly the keys x, y and metric, got {spec}")
        specs.append({k: str(v) for k, v in spec.items()})
    return specs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> None:
    _atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    _pyplot().close(fig)


def _sort_key(values) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def sweep_figure(table: pd.DataFrame, x: str, y: str, metric: str):
    """Heatmap of ``metric`` on the grid ``x`` x ``y``: each cell is the mean over every other
    dimension (the seeds, mostly) of the finished jobs, annotated with that mean and the count.

    Returns the matplotlib Figure. Raises ValueError naming a column the table does not have.
    """
    for role, col in (("x", x), ("y", y), ("metric", metric)):
        if col not in table.columns:
            raise ValueError(f"{role}={col!r} is not a column of the sweep table; "
                             f"columns: {sorted(map(str, table.columns))}")
    if x == y:
        raise ValueError(f"x and y must differ, got {x!r} for both")
    rows = table if "status" not in table else table[table["status"] == "ok"]
    rows = rows[np.isfinite(pd.to_numeric(rows[metric], errors="coerce"))]
    xs, ys = _sort_key(rows[x].unique()), _sort_key(rows[y].unique())
    grouped = rows.groupby([y, x])[metric].agg(["mean", "count"])
    mean = grouped["mean"].unstack(x).reindex(index=ys, columns=xs)
    count = grouped["count"].unstack(x).reindex(index=ys, columns=xs)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 3.0, 0.8 * len(ys) + 2.0))
    values = mean.to_numpy(dtype=float)
    img = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(img, ax=ax, label=f"{metric} (mean)")
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = values[np.isfinite(values)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.3g}\nn={int(count.iat[i, j])}", ha="center",
                        va="center", fontsize=8, color="white" if values[i, j] < mid else "black")
    ax.set_title(f"{metric}: mean over seeds ({len(rows)} finished jobs)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- studies
@dataclass
class StudyConfig:
    """A study of one scenario: its treatment and control arms over shared seeds, and how the arm
    differences move under changes of the main calibrated parameters. Units: counts, fractions.

    ``arms``: the arms to run, treatment first (empty: treatment and every arm of the scenario and
    of ``extra_arms``). ``extra_arms``: arms defined here (name -> ``key=value`` overrides) on top
    of the scenario's. ``overrides``: run overrides for every job (the command line after ``--``
    adds to them). ``metrics``: dotted summary.json prefixes whose numeric leaves are tabulated.
    ``key_metrics``: those shown in study.md and study.png (empty: the ones with a reference
    figure, else all). ``robustness``: dotted config keys run at each of ``robustness_scales``
    times their calibrated value with ``robustness_seeds`` seeds. ``level``: confidence level.
    ``n_jobs``: worker processes (-1: one per core). ``dir``: the study dir (empty:
    results/studies/<name>); running again into the same dir resumes.
    """

    name: str = ""
    scenario: str = "baseline"
    seeds: int = 20
    first_seed: int = 0
    arms: list[str] = field(default_factory=list)
    extra_arms: dict[str, list[str]] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=lambda: ["scenario_metrics"])
    key_metrics: list[str] = field(default_factory=list)
    robustness: list[str] = field(default_factory=list)
    robustness_scales: list[float] = field(default_factory=lambda: [0.8, 1.2])
    robustness_seeds: int = 5
    level: float = 0.95
    n_jobs: int = -1
    dir: str = ""

    def __post_init__(self) -> None:
        check_range("study.seeds", self.seeds, 2, 100_000)
        check_range("study.first_seed", self.first_seed, 0, 2**62)
        check_range("study.robustness_seeds", self.robustness_seeds, 2, 100_000)
        check_range("study.level", self.level, 0.0, 1.0, lo_open=True, hi_open=True)
        if self.n_jobs != -1:
            check_range("study.n_jobs", self.n_jobs, 1, 1024)
        if not self.metrics:
            raise ConfigError("study.metrics must name at least one summary.json prefix")
        # checked here, not when the runs are collected: a typo must not cost a whole study
        for key in self.key_metrics:
            if not any(key == m or key.startswith(m + ".") for m in self.metrics):
                raise ConfigError(
                    f"study.key_metrics: {key!r} lies under none of study.metrics "
                    f"{list(self.metrics)} (write the full dotted name, e.g. "
                    f"'{self.metrics[0]}.<name>')")
        if self.arms and self.arms[0] != "treatment":
            raise ConfigError(f"study.arms must start with 'treatment', got {self.arms}")
        if len(set(self.arms)) != len(self.arms):
            raise ConfigError(f"study.arms must not repeat an arm, got {self.arms}")
        if self.robustness and not self.robustness_scales:
            raise ConfigError("study.robustness_scales must list at least one scale")
        for i, s in enumerate(self.robustness_scales):
            check_range(f"study.robustness_scales[{i}]", s, 0.0, 10.0, lo_open=True)
            if s == 1.0:
                raise ConfigError(f"study.robustness_scales[{i}] must differ from 1, got {s}")
        for name in self.extra_arms:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name) or name == "treatment":
                raise ConfigError(f"study.extra_arms: arm name {name!r} must be an identifier "
                                  "other than 'treatment'")


def load_study(name: str | None, dotlist: Sequence[str] = ()) -> StudyConfig:
    """``conf/study/<name>.yaml`` (or, if there is none, the scenario ``name`` with the defaults),
    then the ``key=value`` items of ``dotlist``; validated."""
    layers: list = [OmegaConf.structured(StudyConfig)]
    if name:
        path = STUDY_CONF_DIR / f"{name}.yaml"
        if path.exists():
            layers.append(OmegaConf.load(path))
        elif (CONF_DIR / "scenario" / f"{name}.yaml").exists():
            layers.append(OmegaConf.create({"scenario": name}))
        else:
            studies = sorted(p.stem for p in STUDY_CONF_DIR.glob("*.yaml"))
            scenarios = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))
            raise ConfigError(f"study {name!r}: no conf/study/{name}.yaml and no scenario of that "
                              f"name; studies: {studies}, scenarios: {scenarios}")
    for item in dotlist:
        if "=" not in item:
            raise ConfigError(f"study option {item!r} must be key=value")
    try:
        layers.append(OmegaConf.from_dotlist(list(dotlist)))
        study = OmegaConf.to_object(OmegaConf.merge(*layers))
    except OmegaConfBaseException as exc:  # a wrong type or an unknown key
        raise ConfigError(f"study: {str(exc).splitlines()[0]} "
                          f"(key: {getattr(exc, 'full_key', '?')})") from exc
    if not study.name:
        study.name = name or study.scenario
    return study


def robust_arm_name(arm: str, param: str, scale: float) -> str:
    """The arm that runs ``arm`` with ``param`` scaled: a Hydra-safe key and a readable dir name."""
    return re.sub(r"[^A-Za-z0-9_]", "-", f"{arm}__{param}_x{scale:g}")


def _hydra_quoted(text: str, where: str) -> str:
    """``text`` as a quoted string of Hydra's override grammar."""
    if "'" in text or "\\" in text:
        raise ConfigError(f"{where}: {text!r} must not contain quotes or backslashes")
    return f"'{text}'"


def _quote_items(items: Sequence[str], where: str) -> str:
    return "[" + ",".join(_hydra_quoted(item, where) for item in items) + "]"


def _arm_override(name: str, items: Sequence[str]) -> str:
    return f"++scenario.arms.{name}={_quote_items(items, f'arms.{name}')}"


def _compose(overrides: Sequence[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    register_configs()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            return compose(config_name="config", overrides=list(overrides))
    except HydraException as exc:
        cause = exc.__cause__ or exc
        raise ConfigError(f"study: {str(cause).splitlines()[0]}") from exc


def _scaled(param: str, base: Any, scale: float) -> int | float:
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise ConfigError(f"study.robustness: {param} must be a number to scale, got {base!r}")
    if isinstance(base, int):
        value = round(base * scale)
        if value == base:
            raise ConfigError(
                f"study.robustness: {param} = {base} is too small to scale by {scale:g}")
        return value
    if base == 0.0:
        raise ConfigError(f"study.robustness: {param} is 0 at the calibrated values; scaling "
                          "it changes nothing")
    return float(f"{base * scale:.12g}")


def plan_study(study: StudyConfig) -> dict:
    """Validate a study against the composed configs and lay out every job (the manifest).

    Every arm and robustness setting is composed and range-checked here, before any run starts,
    so a bad arm or a scale that leaves a parameter's range fails with the field named.
    """
    for item in study.overrides:
        key = item.partition("=")[0].lstrip("+~")
        if key in ("arm", "seed", "scenario") or key.startswith("hydra"):
            raise ConfigError(f"study.overrides: {item!r} is set by the study itself")
    try:
        parsed = OverridesParser.create().parse_overrides(list(study.overrides))
    except Exception as exc:  # Hydra's grammar errors have several types
        raise ConfigError(f"study.overrides: {exc}") from exc
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if sweeps:
        raise ConfigError(
            f"study.overrides must not sweep (the study sweeps arms and seeds): {sweeps}")
    arm_defs = [_arm_override(k, v) for k, v in study.extra_arms.items()]
    common = [f"scenario={study.scenario}", *study.overrides, "progress=false"]
    cfg = _compose([*common, *arm_defs])
    scenario_arms = {k: list(v) for k, v in (cfg.scenario.get("arms") or {}).items()}
    arms = list(study.arms) or ["treatment", *scenario_arms]
    unknown = [a for a in arms[1:] if a not in scenario_arms]
    if unknown:
        raise ConfigError(f"study.arms: {unknown} are not arms of scenario {study.scenario!r} "
                          f"nor study.extra_arms; known: {sorted(scenario_arms)}")
    if study.robustness and len(arms) < 2:
        raise ConfigError("study.robustness needs a control arm: the scenario has none and "
                          "study.extra_arms defines none")
    for arm in arms:
        to_run_config(OmegaConf.merge(cfg, {"arm": arm}))
    robust = []
    for param in study.robustness:
        base = OmegaConf.select(cfg, param, default=None)
        if base is None:
            raise ConfigError(f"study.robustness: {param!r} is not a config key with a value")
        for scale in study.robustness_scales:
            value = _scaled(param, base, scale)
            for arm in arms:
                name = robust_arm_name(arm, param, scale)
                items = [f"{param}={value}", *(scenario_arms.get(arm, []))]
                trial = cfg.copy()
                with open_dict(trial):
                    trial.scenario.arms[name] = items
                trial.arm = name
                try:
                    to_run_config(trial)
                except ConfigError as exc:
                    raise ConfigError(f"study.robustness: {param} x{scale:g} = {value} "
                                      f"(arm {arm}): {exc}") from exc
                robust.append({"run_arm": name, "arm": arm, "param": param, "scale": scale,
                               "value": value, "base_value": base, "overrides": items})
    seeds = list(range(study.first_seed, study.first_seed + study.seeds))
    r_seeds = list(range(study.first_seed, study.first_seed + study.robustness_seeds))
    jobs = [{"dir": f"main/{arm}/seed_{s}", "setting": "base", "param": "", "scale": 1.0,
             "value": math.nan, "arm": arm, "run_arm": arm, "seed": s}
            for arm in arms for s in seeds]
    jobs += [{"dir": f"robustness/{r['run_arm']}/seed_{s}",
              "setting": f"{r['param']} x{r['scale']:g}", "param": r["param"],
              "scale": r["scale"], "value": r["value"], "arm": r["arm"], "run_arm": r["run_arm"],
              "seed": s} for r in robust for s in r_seeds]
    return {
        "study": asdict(study),
        "arms": arms,
        "arm_overrides": {a: scenario_arms.get(a, []) for a in arms},
        "common_overrides": common,
        "arm_definitions": arm_defs,
        "seeds": seeds,
        "robustness_seeds": r_seeds,
        "robustness": robust,
        "reference": {k: float(v) for k, v in (cfg.scenario.get("reference") or {}).items()},
        "jobs": jobs,
    }


def multirun_commands(manifest: dict, study_dir: Path) -> list[tuple[str, list[str]]]:
    """The ``python -m experiments.run -m`` command lines of a study: main, then robustness."""
    study = manifest["study"]
    common = [
        sys.executable, "-m", "experiments.run", "-m",
        "hydra/launcher=joblib", f"hydra.launcher.n_jobs={study['n_jobs']}",
        "hydra/hydra_logging=disabled",
        "hydra.sweep.subdir='${arm}/seed_${seed}'",
        "+hydra.callbacks.sweep_progress._target_=experiments.study.core.SweepProgress",
        *manifest["common_overrides"], *manifest["arm_definitions"],
    ]

    def sweep_dir(phase: str) -> str:
        return f"hydra.sweep.dir={_hydra_quoted(str(study_dir / phase), 'study.dir')}"

    seeds = manifest["seeds"]
    out = [("main", [*common, sweep_dir("main"),
                     f"arm={','.join(manifest['arms'])}",
                     f"seed=range({seeds[0]},{seeds[-1] + 1})"])]
    if manifest["robustness"]:
        r_seeds = manifest["robustness_seeds"]
        defs = [_arm_override(r["run_arm"], r["overrides"]) for r in manifest["robustness"]]
        out.append(("robustness", [*common, *defs, sweep_dir("robustness"),
                                   f"arm={','.join(r['run_arm'] for r in manifest['robustness'])}",
                                   f"seed=range({r_seeds[0]},{r_seeds[-1] + 1})"]))
    return out


def study_dir_of(study: StudyConfig) -> Path:
    return Path(study.dir or f"results/studies/{study.name}").resolve()


def run_study(study: StudyConfig, *, dry_run: bool = False) -> Path:
    """Plan, run (main arms, then robustness) and collect a study; returns the study dir."""
    manifest = plan_study(study)
    study_dir = study_dir_of(study)
    commands = multirun_commands(manifest, study_dir)
    n_robust = len(manifest["jobs"]) - len(manifest["arms"]) * len(manifest["seeds"])
    print(f"study {study.name}: scenario {study.scenario}, arms {manifest['arms']}, "
          f"{len(manifest['seeds'])} seeds; robustness: {len(manifest['robustness'])} arm settings"
          f" x {len(manifest['robustness_seeds'])} seeds = {n_robust} runs; into {study_dir}")
    if dry_run:
        for phase, cmd in commands:
            print(f"# {phase}\n" + " ".join(_shell_quote(c) for c in cmd))
        return study_dir
    study_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    manifest["phases"] = {}
    write_json(study_dir / MANIFEST_FILE, manifest)
    for phase, cmd in commands:
        print(f"study {study.name}: {phase} runs", flush=True)
        t = time.perf_counter()
        rc = subprocess.run(cmd, cwd=REPO_ROOT, check=False).returncode
        manifest["phases"][phase] = {"wall_seconds": time.perf_counter() - t, "returncode": rc}
        write_json(study_dir / MANIFEST_FILE, manifest)
        if rc != 0:
            raise RuntimeError(f"study {study.name}: the {phase} multirun exited with code {rc} "
                               "(its messages are above); rerun the same command to resume")
    manifest["wall_seconds"] = time.perf_counter() - t0
    write_json(study_dir / MANIFEST_FILE, manifest)
    collect_study(study_dir)
    return study_dir


def _shell_quote(s: str) -> str:
    return s if re.fullmatch(r"[A-Za-z0-9_./=,:+\-@]+", s) else "'" + s.replace("'", "'\\''") + "'"


def study_runs(study_dir: Path, manifest: dict, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per planned job of a study: its setting, arm, seed, status and metrics."""
    rows = []
    for job in manifest["jobs"]:
        rec = read_job(Path(study_dir) / job["dir"], metrics)
        rows.append({**{k: job[k] for k in STUDY_RUN_COLUMNS[:8]}, **rec})
    runs = pd.DataFrame(rows).reindex(columns=[*STUDY_RUN_COLUMNS, *(
        c for c in pd.DataFrame(rows).columns if c not in STUDY_RUN_COLUMNS)])
    metric_cols = [c for c in runs.columns if c not in STUDY_RUN_COLUMNS]
    runs[metric_cols] = runs[metric_cols].apply(pd.to_numeric, errors="coerce")
    return runs


def collect_study(
    study_dir: Path, metrics: Sequence[str] | None = None, key_metrics: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Turn a study dir's runs into study_table, robustness, study_runs (.csv/.parquet), study.md
    and study.png. ``metrics``/``key_metrics`` replace the study's own lists if given."""
    study_dir = Path(study_dir)
    manifest = json.loads((study_dir / MANIFEST_FILE).read_text())
    study = manifest["study"]
    prefixes = list(metrics) if metrics else study["metrics"]
    runs = study_runs(study_dir, manifest, prefixes)
    ok = runs[runs["status"] == "ok"]
    metric_cols = [c for c in runs.columns if c not in STUDY_RUN_COLUMNS]
    if ok.empty:
        raise RuntimeError(f"study {study['name']}: no run finished; see the error.txt files "
                           f"under {study_dir}")
    if not metric_cols:
        raise ValueError(f"study {study['name']}: no numeric value under {prefixes} in any "
                         "summary.json; pass other prefixes (e.g. --metrics price)")
    keys = _key_metrics(list(key_metrics) if key_metrics else study["key_metrics"],
                        metric_cols, manifest["reference"])
    arms = manifest["arms"]
    level = study["level"]
    base_ok = ok[ok["setting"] == "base"]
    table = arm_table(base_ok, metric_cols, arms, manifest["reference"], level)
    robust = robustness_table(ok, metric_cols, arms, level) if manifest["robustness"] else (
        pd.DataFrame())
    write_table(runs, study_dir / "study_runs")
    write_table(table, study_dir / "study_table")
    if not robust.empty:
        write_table(robust, study_dir / "robustness")
    _save_figure(study_figure(base_ok, keys, arms, manifest["reference"], level),
                 study_dir / "study.png")
    text = study_markdown(manifest, runs, table, robust, keys)
    _atomic(study_dir / "study.md", lambda tmp: Path(tmp).write_text(text))
    print(f"study {study['name']}: {int((runs['status'] == 'ok').sum())}/{len(runs)} runs ok; "
          f"tables, study.md and study.png in {study_dir}", flush=True)
    return {"runs": runs, "study_table": table, "robustness": robust}


def _key_metrics(
    requested: Sequence[str], available: Sequence[str], reference: Mapping
) -> list[str]:
    missing = [m for m in requested if m not in available]
    if missing:
        raise ValueError(f"key_metrics {missing} are not among the collected metrics "
                         f"{list(available)}")
    if requested:
        return list(requested)
    with_ref = [m for m in available if np.isfinite(_reference_for(m, reference))]
    return with_ref or list(available)


def study_figure(runs: pd.DataFrame, metrics: Sequence[str], arms: Sequence[str],
                 reference: Mapping[str, float], level: float = 0.95):
    """Per metric (at most 12), every run per arm (dots), the arm mean with its t-interval, and the
    reference figure (dashed) where the scenario has one."""
    plt = _pyplot()
    shown = list(metrics)[:12]
    ncols = min(3, max(1, len(shown)))
    nrows = math.ceil(len(shown) / ncols) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    jitter = np.random.default_rng(0)  # fixed: the figure is reproducible byte for byte
    for ax, metric in zip(axes.flat, shown, strict=False):
        for i, arm in enumerate(arms):
            vals = runs.loc[runs["arm"] == arm, metric].to_numpy(dtype=float)
            vals = vals[np.isfinite(vals)]
            ax.scatter(i + jitter.uniform(-0.15, 0.15, vals.size), vals, s=10, alpha=0.5,
                       color=f"C{i}")
            if vals.size:
                iv = t_interval(vals, level)
                ax.errorbar(i + 0.3, iv.mean, yerr=[[iv.mean - iv.lo], [iv.hi - iv.mean]]
                            if np.isfinite(iv.lo) else None, fmt="o", color="black", capsize=3)
        ref = _reference_for(metric, reference)
        if np.isfinite(ref):
            ax.axhline(ref, color="tab:red", ls="--", lw=1, label="reference")
            ax.legend(fontsize=7, loc="best")
        ax.set_xticks(range(len(arms)), arms, rotation=15, fontsize=8)
        ax.set_title(metric, fontsize=9)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(f"runs per arm, mean and {level:.0%} t-interval", fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(x) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.4g}" if isinstance(x, (float, np.floating)) else str(x)


def study_markdown(manifest: dict, runs: pd.DataFrame, table: pd.DataFrame,
                   robust: pd.DataFrame, keys: Sequence[str]) -> str:
    """A short markdown report of a study for its key metrics."""
    study = manifest["study"]
    arms, level = manifest["arms"], study["level"]
    main = runs[runs["setting"] == "base"]
    n_ok = int((main["status"] == "ok").sum())
    lines = [
        f"# Study {study['name']}: scenario {study['scenario']}",
        "",
        f"{len(main)} runs ({len(arms)} arms x {len(manifest['seeds'])} seeds, seeds "
        f"{manifest['seeds'][0]}–{manifest['seeds'][-1]}): {n_ok} ok, {len(main) - n_ok} failed "
        "or missing.",
    ]
    if "wall_seconds" in manifest:
        lines.append(f"Wall time {manifest['wall_seconds']:.0f} s with n_jobs={study['n_jobs']}.")
    lines += ["", "Arms:"]
    for arm in arms:
        items = manifest["arm_overrides"].get(arm) or []
        lines.append(f"- `{arm}`: {', '.join(f'`{i}`' for i in items) or 'as configured'}")
    extra = [o for o in manifest["common_overrides"]
             if not o.startswith(("scenario=", "progress="))]
    if extra:
        lines.append(f"- every run: {', '.join(f'`{o}`' for o in extra)}")
    lines += [
        "",
        f"Means with {level:.0%} t-intervals; *difference* = treatment − control paired by seed, "
        "p from the paired t-test (Welch's unpaired p is in study_table.csv); "
        "sim/ref = treatment mean / the scenario's reference figure.",
        "",
        "| metric | " + " | ".join(arms) + " | " + " | ".join(f"diff vs {a}" for a in arms[1:])
        + (" | p" * (len(arms) - 1)) + " | reference | sim/ref |",
        "|" + "---|" * (2 * len(arms) + len(arms) - 1 + 2),
    ]
    for metric in keys:
        rows = table[table["metric"] == metric].set_index("arm")
        cells = [f"{_fmt(rows.at[a, 'mean'])} [{_fmt(rows.at[a, 'ci_lo'])}, "
                 f"{_fmt(rows.at[a, 'ci_hi'])}]" for a in arms]
        diffs = [f"{_fmt(rows.at[a, 'diff_mean'])} [{_fmt(rows.at[a, 'diff_ci_lo'])}, "
                 f"{_fmt(rows.at[a, 'diff_ci_hi'])}]" for a in arms[1:]]
        ps = [_fmt(rows.at[a, "p_paired"]) for a in arms[1:]]
        t = rows.loc[arms[0]]
        lines.append(f"| {metric} | " + " | ".join([*cells, *diffs, *ps]) +
                     f" | {_fmt(t['reference'])} | {_fmt(t['ratio_to_reference'])} |")
    failed = runs[runs["status"] != "ok"]
    if not robust.empty:
        settings = [s for s in dict.fromkeys(robust["setting"]) if s != "base"]
        lines += ["", f"## Robustness ({len(settings)} settings, "
                  f"{len(manifest['robustness_seeds'])} seeds each)", "",
                  "An effect *holds* at a setting when its difference has the sign it has at the "
                  "calibrated values and its CI excludes zero (defined only where the calibrated "
                  "difference is significant); with few seeds per setting an interval is wide, so "
                  "*same sign* also counts the settings whose mean difference merely keeps the "
                  "calibrated sign. All settings are in robustness.csv.", "",
                  "| metric | control | base difference | holds in | same sign in "
                  "| does not hold at |",
                  "|---|---|---|---|---|---|"]
        for metric in keys:
            for control in arms[1:]:
                sub = robust[(robust["metric"] == metric) & (robust["control"] == control)]
                at = sub[sub["setting"] != "base"]
                base = sub[sub["setting"] == "base"].iloc[0]
                base_txt = (f"{_fmt(base['diff_mean'])} [{_fmt(base['diff_ci_lo'])}, "
                            f"{_fmt(base['diff_ci_hi'])}]")
                same = at["same_sign_as_base"].fillna(False).astype(bool)
                same_txt = f"{int(same.sum())}/{len(at)}"
                if at["effect_holds"].isna().all():
                    lines.append(f"| {metric} | {control} | {base_txt} | – (not significant at "
                                 f"the calibrated values) | {same_txt} | |")
                    continue
                holds = at["effect_holds"].fillna(False).astype(bool)
                lines.append(f"| {metric} | {control} | {base_txt} | {int(holds.sum())}/{len(at)}"
                             f" | {same_txt}"
                             f" | {', '.join(at.loc[~holds.to_numpy(), 'setting']) or '–'} |")
    if not failed.empty:
        lines += ["", f"## Runs that did not finish ({len(failed)})", ""]
        for row in failed.itertuples(index=False):
            lines.append(f"- `{row.dir}`: {row.status}{': ' + str(row.error) if row.error else ''}")
    lines += ["", "Files: study_table.csv/.parquet (every metric), robustness.csv/.parquet, "
              "study_runs.csv/.parquet (one row per run), study.png.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- command line
def _collect_cli(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    if (target / MANIFEST_FILE).exists():
        collect_study(target, args.metrics, args.key_metrics)
        return 0
    figures = [{"x": x, "y": y, "metric": m} for x, y, m in args.figure or []]
    if not figures and (target / "multirun.yaml").exists():
        saved = OmegaConf.load(target / "multirun.yaml")
        for cb in (OmegaConf.select(saved, "hydra.callbacks", default=None) or {}).values():
            if str(cb.get("_target_", "")).endswith(".CollectSweep"):
                figures += _figure_specs(cb.get("figures") or [])
    table = collect_sweep(target, figures)
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    print(f"{len(table)} jobs ({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none'}) "
          f"into {target / 'sweep_table.parquet'} and .csv" +
          (f"; figures ({len(figures)}) in {target / 'figures'}" if figures else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``run [STUDY] [key=value ...] [--dry-run] [-- run overrides]`` or ``collect DIR ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m experiments.study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a study (conf/study/<STUDY>.yaml or a scenario name)")
    run.add_argument("items", nargs="*", help="STUDY first (optional), then key=value options")
    run.add_argument("--dry-run", action="store_true", help="validate and print the commands")
    col = sub.add_parser("collect", help="re-collect a sweep dir or a study dir")
    col.add_argument("dir")
    col.add_argument("--figure", nargs=3, action="append", metavar=("X", "Y", "METRIC"))
    col.add_argument("--metrics", nargs="+", help="study: summary.json prefixes to tabulate")
    col.add_argument("--key-metrics", nargs="+", help="study: metrics for study.md/study.png")
    # options may come after the key=value items, which argparse's subcommands cannot mix
    dry_run = "--dry-run" in argv
    args = parser.parse_args([a for a in argv if a != "--dry-run"])
    try:
        if args.command == "collect":
            return _collect_cli(args)
        items = list(args.items)
        name = items.pop(0) if items and "=" not in items[0] else None
        study = load_study(name, items)
        if extra:
            study.overrides = [*study.overrides, *extra]
        run_study(study, dry_run=dry_run)
    except (ValueError, FileNotFoundError) as exc:  # ConfigError included: names the field
        print(f"hedgeloop study: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
