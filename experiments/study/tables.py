"""The study's statistical tables: per arm and metric the mean and t-interval, the spread over
seeds (quantiles, bimodality) and F's part; *treatment minus control* paired by seed; the same
differences at every robustness setting; and how often the scenario's crisis happens.

``runs`` is one row per finished run with columns ``arm``, ``seed`` (and, for the robustness
and crisis tables, ``setting``, ``param``, ``scale``, ``value``) and one column per metric.
Differences are *treatment minus control*; ``level`` is the confidence level (a fraction in
(0, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from experiments.scenarios.price_paths import FALLS_AND_RALLIES, NET_OF_FUNDAMENTAL
from market.stats.inference import (
    check_level,
    paired_difference,
    t_interval,
    welch_p,
    wilson_interval,
)
from market.stats.modality import BIMODAL_THRESHOLD, bimodality_coefficient, excess_kurtosis

#: the quantiles of the seeds' values the study reports beside the mean
LOW_QUANTILE, HIGH_QUANTILE = 0.1, 0.9
#: metrics of the ``pin`` section with F's counterpart and the metric net of F beside them
PIN_FUNDAMENTAL = {"close_distance_pct": ("fundamental_distance_pct", "close_distance_net_pct")}
#: the columns arm_table adds for a metric with F's part (NaN for the others)
F_PART_COLUMNS = (
    "fundamental_mean",
    "fundamental_own_extreme_mean",
    "net_of_fundamental_mean",
    "fundamental_share",
)


def _arm_matrix(runs: pd.DataFrame, arm: str, metrics: Sequence[str], seeds) -> np.ndarray:
    """(metrics, seeds) values of one arm; NaN where a seed has no finished run."""
    rows = runs[runs["arm"] == arm]
    if rows["seed"].duplicated().any():
        dup = sorted(rows.loc[rows["seed"].duplicated(), "seed"].unique())
        raise ValueError(f"runs: arm {arm!r} has more than one run for seeds {dup}")
    frame = rows.set_index("seed").reindex(seeds)
    return frame.reindex(columns=list(metrics)).to_numpy(dtype=float).T


def reference_for(metric: str, reference: Mapping[str, float]) -> float:
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
    return pd.DataFrame(
        {
            "metric": list(metrics),
            "n_pairs": np.atleast_1d(d.n),
            "treatment_mean": np.atleast_1d(t_interval(a, level).mean),
            "control_mean": np.atleast_1d(t_interval(b, level).mean),
            "diff_mean": np.atleast_1d(d.mean),
            "diff_ci_lo": np.atleast_1d(d.lo),
            "diff_ci_hi": np.atleast_1d(d.hi),
            "p_paired": np.atleast_1d(d.p),
            "p_welch": np.atleast_1d(welch_p(a, b)),
        }
    )


class FundamentalParts(NamedTuple):
    """The columns holding F's part of a metric: ``move`` (F's move over the metric's window, the
    part ``net`` subtracts, so metric = move + net), ``own_extreme`` (for a fall or rally, F's own
    largest fall or rise inside that window; else None) and ``net`` (the metric net of F)."""

    move: str
    own_extreme: str | None
    net: str


def fundamental_parts(metric: str) -> FundamentalParts | None:
    """The columns of F's part of ``metric`` (names of :mod:`experiments.scenarios.metrics`:
    ``<prefix>.worst_day_pct`` -> ``<prefix>.fundamental.worst_day_pct`` and
    ``<prefix>.net_of_fundamental.worst_day_pct``); None for a metric without one."""
    head, _, name = metric.rpartition(".")
    section = head.rpartition(".")[2]
    prefix = f"{head}." if head else ""
    if name in NET_OF_FUNDAMENTAL and section not in ("fundamental", "net_of_fundamental"):
        fund, net = f"{prefix}fundamental.", f"{prefix}net_of_fundamental.{name}"
        if name in FALLS_AND_RALLIES:
            return FundamentalParts(fund + name.replace("_pct", "_move_pct"), fund + name, net)
        return FundamentalParts(fund + name, None, net)
    if section == "pin" and name in PIN_FUNDAMENTAL:
        move, net = PIN_FUNDAMENTAL[name]
        return FundamentalParts(f"{prefix}{move}", None, f"{prefix}{net}")
    return None


def fundamental_columns(metrics: Sequence[str]) -> list[str]:
    """Every column of F's part of ``metrics``, in order, without repeats (what a study collects
    beside its key metrics)."""
    out: dict[str, None] = {}
    for metric in metrics:
        parts = fundamental_parts(metric)
        if parts is not None:
            out.update(dict.fromkeys(c for c in parts if c is not None))
    return list(out)


def _nan_stat(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` of each row's finite values, NaN for a row with none (no all-NaN warning)."""
    out = np.full(x.shape[0], np.nan)
    for i, row in enumerate(x):
        row = row[np.isfinite(row)]
        if row.size:
            out[i] = fn(row)
    return out


def _spread_columns(x: np.ndarray) -> dict:
    """Per row of a (metrics, seeds) matrix: median, the 10% and 90% quantiles, Sarle's
    bimodality coefficient, the seeds' excess kurtosis and whether the seeds look bimodal."""
    bc = np.atleast_1d(bimodality_coefficient(x))
    kurt = np.atleast_1d(excess_kurtosis(x))
    with np.errstate(invalid="ignore"):
        flag = pd.arrays.BooleanArray((bc > BIMODAL_THRESHOLD) & (kurt < 0.0), ~np.isfinite(bc))
    return {
        "median": _nan_stat(np.median, x),
        "q10": _nan_stat(lambda r: np.quantile(r, LOW_QUANTILE), x),
        "q90": _nan_stat(lambda r: np.quantile(r, HIGH_QUANTILE), x),
        "bimodality_coefficient": bc,
        "bimodal": flag,
        "seed_excess_kurtosis": kurt,
    }


def _fundamental_part_columns(runs: pd.DataFrame, arm: str, metrics: Sequence[str], seeds) -> dict:
    """Per metric with F's part (its columns in ``runs``): the arm's means of F's move, F's own
    extreme (falls, rallies) and the metric net of F, and F's share (mean of F's move / mean of the
    metric), all over the seeds where the metric, F's move and the net are all finite."""
    out = {c: np.full(len(metrics), np.nan) for c in F_PART_COLUMNS}
    for i, metric in enumerate(metrics):
        parts = fundamental_parts(metric)
        if parts is None or not {parts.move, parts.net} <= set(runs.columns):
            continue
        cols = [metric, parts.move, parts.net]
        if parts.own_extreme in runs.columns:
            cols.append(parts.own_extreme)
        x = _arm_matrix(runs, arm, cols, seeds)
        both = np.isfinite(x[:3]).all(axis=0)
        if not both.any():
            continue
        mean = x[:, both].mean(axis=1)
        out["fundamental_mean"][i], out["net_of_fundamental_mean"][i] = mean[1], mean[2]
        if len(cols) == 4:
            own = x[3, both]
            own = own[np.isfinite(own)]
            out["fundamental_own_extreme_mean"][i] = own.mean() if own.size else np.nan
        out["fundamental_share"][i] = mean[1] / mean[0] if mean[0] != 0 else np.nan
    return out


def _arm_rows(
    runs: pd.DataFrame, arms: Sequence[str], arm: str, metrics: Sequence[str], level: float
) -> pd.DataFrame:
    """One arm's rows of the study table, before the reference columns."""
    seeds = sorted(runs["seed"].unique())
    x = _arm_matrix(runs, arm, metrics, seeds)
    iv = t_interval(x, level)
    frame = pd.DataFrame(
        {
            "metric": list(metrics),
            "arm": arm,
            "n": np.atleast_1d(iv.n),
            "mean": np.atleast_1d(iv.mean),
            "sd": np.atleast_1d(iv.sd),
            "ci_lo": np.atleast_1d(iv.lo),
            "ci_hi": np.atleast_1d(iv.hi),
        }
    )
    if arm == arms[0]:
        diff = pd.DataFrame(
            np.nan,
            index=frame.index,
            columns=["n_pairs", "diff_mean", "diff_ci_lo", "diff_ci_hi", "p_paired", "p_welch"],
        )
    else:
        diff = arm_differences(runs, metrics, arms[0], arm, level).drop(
            columns=["metric", "treatment_mean", "control_mean"]
        )
    return pd.concat([frame, diff], axis=1)


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
    ``n_pairs``, ``diff_mean``, ``diff_ci_lo``/``diff_ci_hi``, ``p_paired``, ``p_welch``;
    ``reference`` (the scenario's real-world figure, NaN if none), ``ratio_to_reference`` (mean /
    reference) and ``same_sign_as_reference``; the spread over seeds: ``median``, ``q10``,
    ``q90``, ``bimodality_coefficient`` (Sarle's b, :mod:`market.stats.modality`), ``bimodal``
    (b > 5/9 with negative excess kurtosis: two humps; NA with fewer than four values or none
    distinct) and ``seed_excess_kurtosis`` (b > 5/9 with it positive: a tail or a few outlying
    seeds, not two humps); and, for a metric whose
    F columns are in ``runs`` (:func:`fundamental_parts`), ``fundamental_mean`` (F's move over the
    metric's window), ``fundamental_own_extreme_mean`` (falls and rallies: F's own largest one
    in that window), ``net_of_fundamental_mean`` and ``fundamental_share`` (F's move / the
    metric, means over the seeds where all three are defined; 1 = all F's doing, 0 = none).
    """
    check_level(level)
    if not arms:
        raise ValueError("arms must name at least the treatment arm")
    missing = [m for m in metrics if m not in runs.columns]
    if missing:
        raise ValueError(f"metrics {missing} are not columns of runs")
    reference = reference or {}
    seeds = sorted(runs["seed"].unique())
    ref = np.array([reference_for(m, reference) for m in metrics], dtype=float)
    frames = []
    for arm in arms:
        frame = _arm_rows(runs, arms, arm, metrics, level)
        mean = frame["mean"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["reference"] = ref
            frame["ratio_to_reference"] = np.where(ref != 0, mean / ref, np.nan)
        frame["same_sign_as_reference"] = _same_sign(mean, ref)
        for col, values in _spread_columns(_arm_matrix(runs, arm, metrics, seeds)).items():
            frame[col] = values
        for col, values in _fundamental_part_columns(runs, arm, metrics, seeds).items():
            frame[col] = values
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
    settings = pd.concat(
        [settings[settings["setting"] == "base"], settings[settings["setting"] != "base"]]
    )
    frames = []
    for control in arms[1:]:
        base = arm_differences(runs[runs["setting"] == "base"], metrics, arms[0], control, level)
        base_sign = np.sign(base["diff_mean"].to_numpy())
        base_sig = ((base["diff_ci_lo"] > 0) | (base["diff_ci_hi"] < 0)).to_numpy()
        for row in settings.itertuples(index=False):
            diff = arm_differences(
                runs[runs["setting"] == row.setting], metrics, arms[0], control, level
            )
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


def crisis_column(metric: str, columns: Sequence[str]) -> str:
    """The runs' column of a crisis condition's metric: a scenario metric's name (as in
    ``scenario.reference``) under ``scenario_metrics.``, or the name itself."""
    for name in (f"scenario_metrics.{metric}", metric):
        if name in columns:
            return name
    raise ValueError(
        f"scenario.crisis names {metric!r}, which is not among the collected metrics; "
        "collect scenario_metrics (study.metrics) or fix the name in the scenario's crisis"
    )


def crisis_flags(runs: pd.DataFrame, crisis: Mapping[str, Mapping[str, float]]) -> pd.Series:
    """Per run, whether the scenario's crisis happened: every condition holds (``below``: the
    metric < bound, ``above``: > bound). NA where it cannot be told: no condition fails and
    some condition's metric is NaN (a figure that does not apply to the run)."""
    fails = np.zeros(len(runs), dtype=bool)
    unknown = np.zeros(len(runs), dtype=bool)
    for metric, cond in crisis.items():
        x = runs[crisis_column(metric, list(runs.columns))].to_numpy(dtype=float)
        known = np.isfinite(x)
        holds = np.ones(len(runs), dtype=bool)
        with np.errstate(invalid="ignore"):
            if "below" in cond:
                holds &= x < cond["below"]
            if "above" in cond:
                holds &= x > cond["above"]
        fails |= known & ~holds
        unknown |= ~known
    na = unknown & ~fails
    return pd.Series(pd.arrays.BooleanArray(~fails & ~na, na), index=runs.index, name="crisis")


def crisis_table(
    runs: pd.DataFrame,
    crisis: Mapping[str, Mapping[str, float]],
    arms: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """How often the crisis happened: one row per setting ("base" first, then each robustness
    setting; all "base" without a ``setting`` column) and arm, with ``n_runs`` (finished runs),
    ``n_judged`` (those whose crisis metrics are defined), ``n_crisis``, ``share`` (n_crisis /
    n_judged) and its Wilson interval ``share_ci_lo``/``share_ci_hi`` at ``level``."""
    check_level(level)
    if not crisis:
        return pd.DataFrame()
    runs = runs if "setting" in runs.columns else runs.assign(setting="base")
    flags = crisis_flags(runs, crisis)
    meta = [c for c in ("setting", "param", "scale", "value") if c in runs.columns]
    settings = runs[meta].drop_duplicates("setting")
    settings = pd.concat(
        [settings[settings["setting"] == "base"], settings[settings["setting"] != "base"]]
    )
    rows = []
    for setting in settings.itertuples(index=False):
        for arm in arms:
            at = (runs["setting"] == setting.setting).to_numpy() & (runs["arm"] == arm).to_numpy()
            judged = flags[at].dropna()
            k, n = int(judged.sum()), len(judged)
            iv = wilson_interval(k, n, level)
            rows.append(
                {
                    **setting._asdict(),
                    "arm": arm,
                    "n_runs": int(at.sum()),
                    "n_judged": n,
                    "n_crisis": k,
                    "share": float(iv.share) if n else np.nan,
                    "share_ci_lo": float(iv.lo) if n else np.nan,
                    "share_ci_hi": float(iv.hi) if n else np.nan,
                }
            )
    return pd.DataFrame(rows)
