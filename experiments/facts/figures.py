"""The three figures of a facts run: |r| ACF, impact against size, the intraday profile."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: the command must run without a display

import matplotlib.pyplot as plt
import numpy as np

from experiments.facts.measure import MIDDAY
from market.stats.facts import MINUTES_PER_DAY


def abs_acf_figure(curve: dict, path: Path) -> None:
    """ACF of deseasonalised |1-minute returns| on log-log axes, with the 95% band and the
    0.2 and 0.5 power laws of real markets through the ACF at 30 minutes for comparison."""
    lags = np.asarray(curve["lags_min"], dtype=float)
    acf = np.asarray(curve["acf"], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    pos = acf > 0
    ax.loglog(lags[pos], acf[pos], "o-", label="simulated")
    ax.axhline(curve["band"], color="grey", ls=":", label="95% band of zero")
    at = lags >= 30
    if at.any() and acf[at][0] > 0:
        k0, a0, ref = lags[at][0], acf[at][0], lags[at]
        for beta in (0.2, 0.5):
            ax.loglog(ref, a0 * (ref / k0) ** -beta, "--", lw=1, label=f"lag^-{beta}")
    ax.axvline(MINUTES_PER_DAY, color="k", lw=0.5)
    ax.set_xlabel("lag (minutes of trading; 390 = 1 day)")
    ax.set_ylabel("ACF of |r| / time-of-day mean")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def impact_figure(rows: list[dict], sigma_daily: float, path: Path) -> None:
    """Mean I_peak and I(T_end + after) over seeds against Q/V on log-log axes (in units of
    the daily s.d.), with the square-root law ``Y = 1`` for comparison. Non-positive means
    cannot be drawn on log axes and are listed in the title."""
    qv = np.array([r["q_over_v"] for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    hidden = []
    for key, marker, label in (("i_peak", "o-", "I_peak"), ("i_after", "s--", "I(T_end + 60 min)")):
        vals = np.array([np.nan if r[key] is None else r[key] for r in rows]) / sigma_daily
        ok = np.isfinite(vals) & (vals > 0)
        hidden += [f"{label} at {q:.1%}" for q in qv[~ok]]
        if ok.any():
            ax.loglog(qv[ok], vals[ok], marker, label=label)
    grid = np.geomspace(qv.min(), qv.max(), 20)
    ax.loglog(grid, np.sqrt(grid), "k:", label="√(Q/V) (Y = 1)")
    ax.set_xlabel("Q/V (share of the day's volume)")
    ax.set_ylabel("impact / σ_daily")
    if hidden:
        ax.set_title("not positive: " + ", ".join(hidden), fontsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def intraday_figure(profiles: dict, path: Path) -> None:
    """Volume and |r| by minute of the day, each over its own midday mean (1 = midday)."""
    minute = np.arange(MINUTES_PER_DAY)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("volume", "volume"), ("abs_r", "|r|")):
        prof = np.asarray(profiles[key], dtype=float)
        mid = prof[MIDDAY].mean()
        smooth = np.convolve(prof, np.ones(5) / 5, mode="same")  # 5-minute moving mean
        ax.plot(minute, smooth / mid if mid > 0 else smooth, label=label)
    ax.axhline(1.5, color="grey", ls=":", label="1.5× midday")
    ax.set_xticks(
        range(0, MINUTES_PER_DAY + 1, 60),
        ["9:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"],
    )
    ax.set_xlabel("time of day")
    ax.set_ylabel("mean / midday mean (12:00–14:00)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
