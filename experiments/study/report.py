"""``study.md``: a short markdown report of a study for its key metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from market.stats.modality import BIMODAL_THRESHOLD


def _fmt(x) -> str:
    """A table cell: 4 significant digits, "–" for a missing or non-finite value."""
    if x is None or x is pd.NA or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.4g}" if isinstance(x, (float, np.floating)) else str(x)


def _ci(row, mean: str, lo: str, hi: str) -> str:
    """``mean [lo, hi]`` of one table row."""
    return f"{_fmt(row[mean])} [{_fmt(row[lo])}, {_fmt(row[hi])}]"


def _header_lines(manifest: dict, runs: pd.DataFrame) -> list[str]:
    """The title, the run counts, the wall time and the arms' overrides."""
    study = manifest["study"]
    arms = manifest["arms"]
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
    extra = [
        o for o in manifest["common_overrides"] if not o.startswith(("scenario=", "progress="))
    ]
    if extra:
        lines.append(f"- every run: {', '.join(f'`{o}`' for o in extra)}")
    return lines


def _key_metric_lines(
    arms: Sequence[str], level: float, table: pd.DataFrame, keys: Sequence[str]
) -> list[str]:
    """Per key metric: each arm's mean and interval, the differences, p and the reference."""
    lines = [
        "",
        f"Means with {level:.0%} t-intervals; *difference* = treatment − control paired by seed, "
        "p from the paired t-test (Welch's unpaired p is in study_table.csv); "
        "sim/ref = treatment mean / the scenario's reference figure.",
        "",
        "| metric | "
        + " | ".join(arms)
        + " | "
        + " | ".join(f"diff vs {a}" for a in arms[1:])
        + (" | p" * (len(arms) - 1))
        + " | reference | sim/ref |",
        "|" + "---|" * (2 * len(arms) + len(arms) - 1 + 2),
    ]
    for metric in keys:
        rows = table[table["metric"] == metric].set_index("arm")
        cells = [
            f"{_fmt(rows.at[a, 'mean'])} [{_fmt(rows.at[a, 'ci_lo'])}, {_fmt(rows.at[a, 'ci_hi'])}]"
            for a in arms
        ]
        diffs = [
            f"{_fmt(rows.at[a, 'diff_mean'])} [{_fmt(rows.at[a, 'diff_ci_lo'])}, "
            f"{_fmt(rows.at[a, 'diff_ci_hi'])}]"
            for a in arms[1:]
        ]
        ps = [_fmt(rows.at[a, "p_paired"]) for a in arms[1:]]
        t = rows.loc[arms[0]]
        lines.append(
            f"| {metric} | "
            + " | ".join([*cells, *diffs, *ps])
            + f" | {_fmt(t['reference'])} | {_fmt(t['ratio_to_reference'])} |"
        )
    return lines


def _f_part_lines(arms: Sequence[str], table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """Per key metric with F's part and arm: the mean, F's move over the same window, F's own
    fall or rally there, the metric net of F and F's share (empty if no key metric has one)."""
    rows = table[table["metric"].isin(keys) & table["fundamental_mean"].notna()]
    if rows.empty:
        return []
    lines = [
        "",
        "## F's part",
        "",
        "Means over the seeds where the metric, F's part and the net are all defined: *F's "
        "move* = the fundamental value's move over the metric's own window (for a fall or "
        "rally: between the price's peak and trough, or low and high), *F's own* = F's own "
        "largest fall or rise inside that window, *net of F* = metric − F's move, *F's share* = "
        "F's move / the metric (1: the move is F's news; 0: the market's own).",
        "",
        "| metric | arm | mean | F's move | F's own | net of F | F's share |",
        "|---|---|---|---|---|---|---|",
    ]
    order = {a: i for i, a in enumerate(arms)}
    for metric in keys:
        sub = rows[rows["metric"] == metric].sort_values("arm", key=lambda a: a.map(order))
        for r in sub.itertuples(index=False):
            lines.append(
                f"| {metric} | {r.arm} | {_fmt(r.mean)} | {_fmt(r.fundamental_mean)} | "
                f"{_fmt(r.fundamental_own_extreme_mean)} | {_fmt(r.net_of_fundamental_mean)} | "
                f"{_fmt(r.fundamental_share)} |"
            )
    return lines


def _spread_cell(row) -> str:
    """``median [q10, q90]`` and the bimodality coefficient, flagged when above 5/9."""
    cell = f"{_fmt(row['median'])} [{_fmt(row['q10'])}, {_fmt(row['q90'])}]"
    bc = row["bimodality_coefficient"]
    if bc is None or not math.isfinite(float(bc)):
        return cell
    if row["bimodal"] is not pd.NA and bool(row["bimodal"]):
        flag = " **bimodal**"
    elif float(bc) > BIMODAL_THRESHOLD:
        flag = " (tail or outlying seeds)"
    else:
        flag = ""
    return f"{cell}, b {_fmt(bc)}{flag}"


def _spread_lines(arms: Sequence[str], table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """Per key metric and arm: the median, 10%-90% range of the seeds and Sarle's bimodality
    coefficient b, flagged **bimodal** above 5/9."""
    lines = [
        "",
        "## Spread over seeds",
        "",
        "Median [10%, 90% quantiles] of the seeds' values and Sarle's bimodality coefficient b "
        "(1/3 for a normal sample, 5/9 for a uniform one): **bimodal** = b > 5/9 with negative "
        "excess kurtosis, two clusters (the smaller holding at least about a fifth of the seeds) "
        "whose mean describes no run; *tail or outlying seeds* = b > 5/9 with positive kurtosis, "
        "a skewed sample or a few seeds far from the rest; study.png shows every seed.",
        "",
        "| metric | " + " | ".join(arms) + " |",
        "|" + "---|" * (len(arms) + 1),
    ]
    for metric in keys:
        rows = table[table["metric"] == metric].set_index("arm")
        lines.append(f"| {metric} | " + " | ".join(_spread_cell(rows.loc[a]) for a in arms) + " |")
    return lines


def _crisis_condition(crisis: dict) -> str:
    """The crisis definition in words: ``metric < x and other > y``."""
    parts = []
    for metric, cond in crisis.items():
        if "above" in cond:
            parts.append(f"`{metric}` > {_fmt(float(cond['above']))}")
        if "below" in cond:
            parts.append(f"`{metric}` < {_fmt(float(cond['below']))}")
    return " and ".join(parts)


def _crisis_lines(manifest: dict, crises: pd.DataFrame | None) -> list[str]:
    """How often the crisis happened per arm (Wilson interval), then per robustness setting."""
    crisis = manifest.get("crisis") or {}
    if not crisis or crises is None or crises.empty:
        return []
    level = manifest["study"]["level"]
    arms = manifest["arms"]
    base = crises[crises["setting"] == "base"].set_index("arm")
    lines = [
        "",
        "## How often the crisis happens",
        "",
        f"The scenario's crisis: {_crisis_condition(crisis)}. Share of the seeds where it "
        f"happens with its {level:.0%} Wilson interval (runs whose crisis metric is undefined "
        "are not counted); per run in study_runs (`crisis`), per setting in crisis.csv.",
        "",
        "| arm | crisis in | share [interval] |",
        "|---|---|---|",
    ]
    for arm in arms:
        r = base.loc[arm]
        lines.append(
            f"| {arm} | {r['n_crisis']}/{r['n_judged']} | "
            f"{_fmt(r['share'])} [{_fmt(r['share_ci_lo'])}, {_fmt(r['share_ci_hi'])}] |"
        )
    others = crises[crises["setting"] != "base"]
    if not others.empty:
        lines += ["", "| robustness setting | " + " | ".join(arms) + " |"]
        lines.append("|" + "---|" * (len(arms) + 1))
        for setting, sub in others.groupby("setting", sort=False):
            by_arm = sub.set_index("arm")
            cells = [f"{by_arm.at[a, 'n_crisis']}/{by_arm.at[a, 'n_judged']}" for a in arms]
            lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return lines


def _robustness_row(metric: str, control: str, sub: pd.DataFrame) -> str:
    """One metric and control: the base difference and where the effect holds."""
    at = sub[sub["setting"] != "base"]
    base_txt = _ci(sub[sub["setting"] == "base"].iloc[0], "diff_mean", "diff_ci_lo", "diff_ci_hi")
    same = at["same_sign_as_base"].fillna(False).astype(bool)
    same_txt = f"{int(same.sum())}/{len(at)}"
    if at["effect_holds"].isna().all():
        return (
            f"| {metric} | {control} | {base_txt} | – (not significant at "
            f"the calibrated values) | {same_txt} | |"
        )
    holds = at["effect_holds"].fillna(False).astype(bool)
    return (
        f"| {metric} | {control} | {base_txt} | {int(holds.sum())}/{len(at)}"
        f" | {same_txt}"
        f" | {', '.join(at.loc[~holds.to_numpy(), 'setting']) or '–'} |"
    )


def _robustness_lines(manifest: dict, robust: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """The robustness section: per key metric and control, in how many settings the effect
    holds (empty without robustness settings)."""
    if robust.empty:
        return []
    settings = [s for s in dict.fromkeys(robust["setting"]) if s != "base"]
    lines = [
        "",
        f"## Robustness ({len(settings)} settings, {len(manifest['robustness_seeds'])} seeds each)",
        "",
        "An effect *holds* at a setting when its difference has the sign it has at the "
        "calibrated values and its CI excludes zero (defined only where the calibrated "
        "difference is significant); with few seeds per setting an interval is wide, so "
        "*same sign* also counts the settings whose mean difference merely keeps the "
        "calibrated sign. All settings are in robustness.csv.",
        "",
        "| metric | control | base difference | holds in | same sign in | does not hold at |",
        "|---|---|---|---|---|---|",
    ]
    for metric in keys:
        for control in manifest["arms"][1:]:
            sub = robust[(robust["metric"] == metric) & (robust["control"] == control)]
            lines.append(_robustness_row(metric, control, sub))
    return lines


def _failed_lines(runs: pd.DataFrame) -> list[str]:
    """The runs that did not finish, with their first error line."""
    failed = runs[runs["status"] != "ok"]
    if failed.empty:
        return []
    lines = ["", f"## Runs that did not finish ({len(failed)})", ""]
    for row in failed.itertuples(index=False):
        lines.append(f"- `{row.dir}`: {row.status}{': ' + str(row.error) if row.error else ''}")
    return lines


def study_markdown(
    manifest: dict,
    runs: pd.DataFrame,
    table: pd.DataFrame,
    robust: pd.DataFrame,
    keys: Sequence[str],
    crises: pd.DataFrame | None = None,
) -> str:
    """A short markdown report of a study for its key metrics: each arm's mean and the
    differences, how often the crisis happens, the spread over seeds, F's part, robustness."""
    arms = manifest["arms"]
    lines = [
        *_header_lines(manifest, runs),
        *_key_metric_lines(arms, manifest["study"]["level"], table, keys),
        *_crisis_lines(manifest, crises),
        *_spread_lines(arms, table, keys),
        *_f_part_lines(arms, table, keys),
        *_robustness_lines(manifest, robust, keys),
        *_failed_lines(runs),
        "",
        "Files: study_table.csv/.parquet (every metric), "
        + ("robustness.csv/.parquet, " if not robust.empty else "")
        + "study_runs.csv/.parquet (one row per run), "
        + ("crisis.csv/.parquet, " if crises is not None and not crises.empty else "")
        + "study.png.",
        "",
    ]
    return "\n".join(lines)
