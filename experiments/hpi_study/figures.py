"""The HPI study's figures (``figures/*.png``): the index, the residual by HPI decile, state
occupancy, tails and completion per arm, feature drift, observer vs true GEX, calibration.

Costs are bps of the arrival mid, + = cost; GEX in $m per 1% move.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.hpi_study.tables import ARMS, STATES
from experiments.outputs import save_png

_ARM_COLORS = {"plain": "tab:grey", "hpi": "tab:blue"}
_STATE_COLORS = {
    "calm": "tab:green",
    "pressured": "gold",
    "dislocated": "tab:orange",
    "safe": "tab:red",
}


def _save(fig, path: Path) -> None:
    """Lay out, write (PNG, atomically) and close ``fig``."""
    fig.tight_layout()
    save_png(fig, path, dpi=100)
    plt.close(fig)


def figure_hpi_distribution(hpi: pd.DataFrame, path: Path) -> None:
    """Histogram of the index over all sessions and its distribution per event class."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].hist(hpi["hpi"], bins=80, color="tab:blue", alpha=0.8)
    axes[0].set_xlabel("HPI (sum of robust z-scores)")
    axes[0].set_ylabel("observations")
    axes[0].set_title("HPI distribution, all sessions")
    classes = sorted(hpi["event_class"].unique())
    axes[1].boxplot(
        [hpi.loc[hpi["event_class"] == c, "hpi"] for c in classes],
        tick_labels=classes,
        showfliers=False,
    )
    axes[1].set_title("HPI by event class (per session step)")
    axes[1].axhline(0, color="grey", lw=0.5)
    _save(fig, path)


def figure_residual_deciles(mono, path: Path) -> None:
    """Mean out-of-sample residual of Layer A (p50) per HPI decile, with the alarm."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    t = mono.table
    color = "tab:red" if mono.alarm else "tab:blue"
    ax.bar(t["bin"] + 1, t["residual_mean"], color=color, alpha=0.8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("HPI decile (1 = lowest)")
    ax.set_ylabel("mean residual vs baseline p50 (bps)")
    ax.set_title(
        f"slippage residual by HPI decile: Spearman {mono.spearman:.2f}, top-bottom "
        f"{mono.top_minus_bottom:.2f} bps — {'ALARM' if mono.alarm else 'ok'}"
    )
    _save(fig, path)


def figure_occupancy(occupancy: pd.DataFrame, path: Path) -> None:
    """Share of steps in each state per 10 minutes of the day (live runs, all sessions)."""
    occ = occupancy.pivot_table(
        index="tod_bin", columns="desk_state", values="steps", aggfunc="sum"
    ).fillna(0.0)
    occ = occ.reindex(columns=[s for s in STATES if s in occ.columns])
    share = occ.div(occ.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(10, 4))
    hours = share.index.to_numpy() * 600 / 3600
    ax.stackplot(
        hours,
        share.T.to_numpy(),
        labels=list(share.columns),
        colors=[_STATE_COLORS[s] for s in share.columns],
        alpha=0.85,
    )
    ax.set_xlim(hours.min(), hours.max())
    ax.set_ylim(0, 1)
    ax.set_xlabel("hours since the open")
    ax.set_ylabel("share of steps")
    ax.set_title("policy-state occupancy over the day (HPI desk, all sessions)")
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    _save(fig, path)


def figure_tails(table: pd.DataFrame, path: Path) -> None:
    """p95, CVaR95 and worst-1% implementation shortfall per event class and arm."""
    metrics = [("is_p95", "p95"), ("is_cvar95", "CVaR95"), ("is_worst1pct", "worst 1%")]
    classes = list(table["event_class"].unique())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=False)
    x = np.arange(len(classes))
    for ax, (col, label) in zip(axes, metrics, strict=True):
        for j, arm in enumerate(ARMS):
            vals = [
                float(table[(table.event_class == c) & (table.arm == arm)][col].iloc[0])
                for c in classes
            ]
            ax.bar(x + (j - 0.5) * 0.38, vals, width=0.38, color=_ARM_COLORS[arm], label=arm)
        ax.set_xticks(x, classes, rotation=30, ha="right")
        ax.set_title(f"parent IS {label} (bps)")
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend()
    _save(fig, path)


def figure_completion_delay(paired: pd.DataFrame, path: Path) -> None:
    """Completion against delay cost per session, plain vs HPI desk."""
    fig, ax = plt.subplots(figsize=(8, 5))
    markers = dict(zip(sorted(paired["event_class"].unique()), "osD^vP*X", strict=False))
    for arm in ARMS:
        if f"completion_{arm}" not in paired:
            continue
        for cls, m in markers.items():
            sub = paired[paired["event_class"] == cls]
            ax.scatter(
                sub[f"delay_{arm}"],
                sub[f"completion_{arm}"],
                marker=m,
                alpha=0.75,
                color=_ARM_COLORS[arm],
                label=f"{arm} / {cls}",
            )
    ax.set_xlabel("mean delay cost per parent (bps)")
    ax.set_ylabel("mean completion per session")
    ax.set_title("completion vs delay cost (one point per session and arm)")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def figure_drift(drift: pd.DataFrame, threshold: float, path: Path) -> None:
    """Feature drift statistic per feature and window, with the alarm threshold."""
    fig, ax = plt.subplots(figsize=(12, 4.5))
    windows = list(drift["window"].unique())
    feats = list(drift["feature"].unique())
    x = np.arange(len(feats))
    width = 0.8 / max(len(windows), 1)
    for j, w in enumerate(windows):
        sub = drift[drift["window"] == w].set_index("feature").reindex(feats)
        ax.bar(x + (j - (len(windows) - 1) / 2) * width, sub["statistic"], width=width, label=w)
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label="alarm threshold")
    ax.set_xticks(x, feats, rotation=30, ha="right")
    ax.set_ylabel("drift statistic")
    ax.set_title("feature drift (the gamma proxy first)")
    ax.legend(fontsize=7, ncol=3)
    _save(fig, path)


def figure_gex(gex: pd.DataFrame, path: Path) -> None:
    """The observer's GEX estimate against the dealers' true GEX, per event class."""
    classes = sorted(gex["event_class"].unique())
    fig, axes = plt.subplots(1, len(classes), figsize=(3.6 * len(classes), 3.8), squeeze=False)
    for ax, cls in zip(axes[0], classes, strict=True):
        sub = gex[gex["event_class"] == cls]
        ax.scatter(sub["dealer_gex"] / 1e6, sub["observer_gex"] / 1e6, s=3, alpha=0.3)
        lo = min(sub["dealer_gex"].min(), sub["observer_gex"].min()) / 1e6
        hi = max(sub["dealer_gex"].max(), sub["observer_gex"].max()) / 1e6
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls=":")
        corr = sub[["dealer_gex", "observer_gex"]].corr().iloc[0, 1]
        ax.set_title(f"{cls}: corr {corr:.2f}", fontsize=9)
        ax.set_xlabel("true dealer GEX ($m / 1%)")
    axes[0][0].set_ylabel("observer GEX estimate ($m / 1%)")
    _save(fig, path)


def figure_calibration(calib: pd.DataFrame, path: Path) -> None:
    """Observed share below each predicted quantile (out of sample) against nominal."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for m, color in (("baseline", "tab:grey"), ("baseline+hedge", "tab:blue")):
        sub = calib[calib["model"] == m]
        ax.plot(sub["quantile"], sub["observed"], "o-", color=color, label=m)
    ax.plot([0.45, 1.0], [0.45, 1.0], color="black", lw=0.6, ls=":")
    ax.set_xlabel("nominal quantile")
    ax.set_ylabel("observed share below prediction")
    ax.set_title("out-of-sample calibration")
    ax.legend()
    _save(fig, path)
