"""Collecting: job dirs into tables (one row per job), and a study dir into its tables, figure
and report.

A sweep dir becomes ``sweep_table.parquet`` / ``.csv`` (one row per job: its overrides as
columns, ``status``, ``error`` and every numeric leaf of its summary.json under a dotted name)
and the heatmaps ``figures/*.png``. A study dir (one holding ``study.json``) becomes
``study_table``, ``robustness``, ``study_runs`` and, for a scenario with a crisis definition,
``crisis`` (.csv/.parquet), ``study.md`` and ``study.png`` (see :mod:`experiments.study`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from experiments.outputs import write_csv, write_parquet, write_text
from experiments.study.figures import figure_specs, save_figure, study_figure, sweep_figure
from experiments.study.jobs import ERROR_FILE, SUMMARY_FILE, read_status
from experiments.study.report import study_markdown
from experiments.study.tables import (
    arm_table,
    crisis_column,
    crisis_flags,
    crisis_table,
    fundamental_columns,
    reference_for,
    robustness_table,
)

MANIFEST_FILE = "study.json"
#: columns of a sweep table that are not overrides or metrics
JOB_COLUMNS = ("job", "status", "error", "job_wall_seconds")
#: columns of a study's per-run table that are not metrics
STUDY_RUN_COLUMNS = (
    "setting",
    "param",
    "scale",
    "value",
    "arm",
    "run_arm",
    "seed",
    "dir",
    "status",
    "error",
    "job_wall_seconds",
)


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
    return sorted(
        p.parent.parent
        for p in Path(sweep_dir).rglob("overrides.yaml")
        if p.parent.name == ".hydra"
    )


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding more than one type (overrides like ``x=1,abc``) become strings."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {
                type(v)
                for v in out[col]
                if v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v))
            }
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return out


def write_table(df: pd.DataFrame, path_stem: Path) -> None:
    """``<stem>.parquet`` and ``<stem>.csv``, each written atomically."""
    path_stem = Path(path_stem)
    write_parquet(path_stem.with_suffix(".parquet"), _parquet_safe(df))
    write_csv(path_stem.with_suffix(".csv"), df)


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
        rows.append(
            {
                "job": job_dir.relative_to(sweep_dir).as_posix(),
                **{k: rec.get(k) for k in JOB_COLUMNS[1:]},
                **overrides,
                **metrics,
            }
        )
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
    specs = figure_specs(figures)
    table = sweep_table(sweep_dir)
    write_table(table, sweep_dir / "sweep_table")
    for spec in specs:
        fig = sweep_figure(table, **spec)
        path = sweep_dir / "figures" / f"{spec['metric']}__by__{spec['x']}__{spec['y']}.png"
        save_figure(fig, path)
    return table


def study_runs(study_dir: Path, manifest: dict, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per planned job of a study: its setting, arm, seed, status and metrics."""
    rows = []
    for job in manifest["jobs"]:
        rec = read_job(Path(study_dir) / job["dir"], metrics)
        rows.append({**{k: job[k] for k in STUDY_RUN_COLUMNS[:8]}, **rec})
    runs = pd.DataFrame(rows).reindex(
        columns=[
            *STUDY_RUN_COLUMNS,
            *(c for c in pd.DataFrame(rows).columns if c not in STUDY_RUN_COLUMNS),
        ]
    )
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
    crisis = manifest.get("crisis") or {}  # absent from manifests written before it existed
    prefixes = _with_companions(
        list(metrics) if metrics else study["metrics"],
        list(key_metrics) if key_metrics else study["key_metrics"],
        manifest["reference"],
        crisis,
    )
    runs = study_runs(study_dir, manifest, prefixes)
    ok = runs[runs["status"] == "ok"]
    metric_cols = [c for c in runs.columns if c not in STUDY_RUN_COLUMNS]
    if ok.empty:
        raise RuntimeError(
            f"study {study['name']}: no run finished; see the error.txt files under {study_dir}"
        )
    if not metric_cols:
        raise ValueError(
            f"study {study['name']}: no numeric value under {prefixes} in any "
            "summary.json; pass other prefixes (e.g. --metrics price)"
        )
    keys = _key_metrics(
        list(key_metrics) if key_metrics else study["key_metrics"],
        metric_cols,
        manifest["reference"],
    )
    # the crisis metrics are always shown: their spread over seeds is where a crisis that happens
    # in some seeds only becomes visible
    keys += [c for c in (crisis_column(m, metric_cols) for m in crisis) if c not in keys]
    arms = manifest["arms"]
    level = study["level"]
    base_ok = ok[ok["setting"] == "base"]
    table = arm_table(base_ok, metric_cols, arms, manifest["reference"], level)
    robust = (
        robustness_table(ok, metric_cols, arms, level)
        if manifest["robustness"]
        else (pd.DataFrame())
    )
    crises = crisis_table(ok, crisis, arms, level)
    if crisis:
        # one concat, not an insert: the runs frame has a column per metric already
        flags = pd.Series(pd.NA, index=runs.index, dtype="boolean", name="crisis")
        flags[ok.index] = crisis_flags(ok, crisis)
        runs = pd.concat([runs, flags], axis=1)
    _write_tables(study_dir, runs, table, robust, crises)
    fig = study_figure(base_ok, keys, arms, manifest["reference"], level, crisis)
    save_figure(fig, study_dir / "study.png")
    text = study_markdown(manifest, runs, table, robust, keys, crises)
    write_text(study_dir / "study.md", text)
    print(
        f"study {study['name']}: {int((runs['status'] == 'ok').sum())}/{len(runs)} runs ok; "
        f"tables, study.md and study.png in {study_dir}",
        flush=True,
    )
    return {"runs": runs, "study_table": table, "robustness": robust}


def _write_tables(
    study_dir: Path,
    runs: pd.DataFrame,
    table: pd.DataFrame,
    robust: pd.DataFrame,
    crises: pd.DataFrame,
) -> None:
    """The study's tables (.csv and .parquet); robustness and crisis only when there are any."""
    write_table(runs, study_dir / "study_runs")
    write_table(table, study_dir / "study_table")
    if not robust.empty:
        write_table(robust, study_dir / "robustness")
    if not crises.empty:
        write_table(crises, study_dir / "crisis")


def _with_companions(
    prefixes: Sequence[str],
    key_metrics: Sequence[str],
    reference: Mapping,
    crisis: Mapping,
) -> list[str]:
    """The study's summary.json prefixes plus what its report needs whatever they say: F's part
    of each key metric and of each scenario metric with a reference figure, and the crisis
    conditions' metrics (names as in ``scenario.reference``, under ``scenario_metrics``)."""
    crisis_metrics = [f"scenario_metrics.{name}" for name in crisis]
    shown = [*key_metrics, *(f"scenario_metrics.{name}" for name in reference), *crisis_metrics]
    # F's part only of metrics that are collected: alone it would be a row without its metric
    collected = [*prefixes, *crisis_metrics]
    shown = [m for m in shown if any(m == p or m.startswith(p + ".") for p in collected)]
    return list(dict.fromkeys([*prefixes, *crisis_metrics, *fundamental_columns(shown)]))


def _key_metrics(
    requested: Sequence[str], available: Sequence[str], reference: Mapping
) -> list[str]:
    missing = [m for m in requested if m not in available]
    if missing:
        raise ValueError(
            f"key_metrics {missing} are not among the collected metrics {list(available)}"
        )
    if requested:
        return list(requested)
    with_ref = [m for m in available if np.isfinite(reference_for(m, reference))]
    return with_ref or list(available)
