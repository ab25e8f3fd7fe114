"""The study's statistical tables: per arm and metric the mean and t-interval, *treatment minus
control* paired by seed, and the same differences at every robustness setting.

``runs`` is one row per finished run with columns ``arm``, ``seed`` (and, for the robustness
table, ``setting``, ``param``, ``scale``, ``value``) and one column per metric. Differences are
*treatment minus control*; ``level`` is the confidence level (a fraction in (0, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from market.stats.inference import check_level, paired_difference, t_interval, welch_p


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
        iv = t_interval(_arm_matrix(runs, arm, metrics, seeds), level)
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
