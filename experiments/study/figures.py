"""Figures of sweeps (heatmaps of a metric over a two-key grid) and studies (runs per arm)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments.config import check_name
from experiments.outputs import save_png
from experiments.study.tables import HIGH_QUANTILE, LOW_QUANTILE, reference_for
from market.stats.inference import t_interval
from market.stats.modality import is_bimodal


def figure_specs(figures) -> list[dict]:
    """Heatmap specs (``{x, y, metric}`` mappings or DictConfigs) as plain string dicts; a spec
    with other keys is refused naming its position."""
    specs = []
    for i, spec in enumerate(figures or ()):
        spec = OmegaConf.to_container(spec) if isinstance(spec, DictConfig) else dict(spec)
        if set(spec) != {"x", "y", "metric"}:
            raise ValueError(f"figures[{i}] must have exactly the keys x, y and metric, got {spec}")
        spec = {k: str(v) for k, v in spec.items()}
        for key in ("metric", "x", "y"):  # the three name the figure's file
            check_name(f"figures[{i}].{key}", spec[key], max_len=80)
        specs.append(spec)
    return specs


def _pyplot():
    # imported on first use: collecting a sweep without figures, and every sweep job, starts
    # faster without matplotlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """``fig`` as a PNG at ``path`` (atomically), then closed."""
    save_png(fig, path, dpi=110)
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
            raise ValueError(
                f"{role}={col!r} is not a column of the sweep table; "
                f"columns: {sorted(map(str, table.columns))}"
            )
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
                ax.text(
                    j,
                    i,
                    f"{values[i, j]:.3g}\nn={int(count.iat[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if values[i, j] < mid else "black",
                )
    ax.set_title(f"{metric}: mean over seeds ({len(rows)} finished jobs)")
    fig.tight_layout()
    return fig


def _arm_panel(ax, i: int, vals: np.ndarray, level: float, jitter) -> bool:
    """One arm in one panel: every seed a dot (a strip, jittered sideways), the median and the
    10%-90% range of the seeds (grey bar), the mean and its t-interval (black); returns whether
    the seeds look bimodal (Sarle's coefficient > 5/9)."""
    ax.scatter(i + jitter.uniform(-0.15, 0.15, vals.size), vals, s=12, alpha=0.6, color=f"C{i}")
    if not vals.size:
        return False
    q10, med, q90 = np.quantile(vals, [LOW_QUANTILE, 0.5, HIGH_QUANTILE])
    ax.plot([i + 0.22] * 2, [q10, q90], color="0.6", lw=3, solid_capstyle="butt")
    ax.plot([i + 0.17, i + 0.27], [med, med], color="0.3", lw=1.5)
    iv = t_interval(vals, level)
    ax.errorbar(
        i + 0.32,
        iv.mean,
        yerr=[[iv.mean - iv.lo], [iv.hi - iv.mean]] if np.isfinite(iv.lo) else None,
        fmt="o",
        color="black",
        capsize=3,
    )
    return bool(is_bimodal(vals))


def _crisis_bounds(metric: str, crisis: Mapping[str, Mapping[str, float]]) -> list[float]:
    """The crisis condition's bounds on ``metric`` (named as in the scenario or in full)."""
    for name, cond in crisis.items():
        if metric in (name, f"scenario_metrics.{name}"):
            return [float(v) for v in cond.values()]
    return []


def study_figure(
    runs: pd.DataFrame,
    metrics: Sequence[str],
    arms: Sequence[str],
    reference: Mapping[str, float],
    level: float = 0.95,
    crisis: Mapping[str, Mapping[str, float]] | None = None,
):
    """Per metric (at most 12), a strip of every seed's value per arm (dots) so that two clusters
    show as two clusters, the seeds' median and 10%-90% range (grey), the arm mean with its
    t-interval (black), the reference figure (red, dashed) and the crisis threshold (purple,
    dotted) where the scenario has them; "bimodal: <arms>" in a panel's title where Sarle's
    coefficient of the seeds exceeds 5/9."""
    plt = _pyplot()
    shown = list(metrics)[:12]
    ncols = min(3, max(1, len(shown)))
    nrows = math.ceil(len(shown) / ncols) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    jitter = np.random.default_rng(0)  # fixed: the figure is reproducible byte for byte
    for ax, metric in zip(axes.flat, shown, strict=False):
        bimodal = []
        for i, arm in enumerate(arms):
            vals = runs.loc[runs["arm"] == arm, metric].to_numpy(dtype=float)
            if _arm_panel(ax, i, vals[np.isfinite(vals)], level, jitter):
                bimodal.append(arm)
        ref = reference_for(metric, reference)
        if np.isfinite(ref):
            ax.axhline(ref, color="tab:red", ls="--", lw=1, label="reference")
        for k, bound in enumerate(_crisis_bounds(metric, crisis or {})):
            ax.axhline(bound, color="tab:purple", ls=":", lw=1.2, label="crisis" if not k else None)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
        ax.set_xticks(range(len(arms)), arms, rotation=15, fontsize=8)
        title = metric if not bimodal else f"{metric}\nbimodal: {', '.join(bimodal)}"
        ax.set_title(title, fontsize=9)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"dots: every seed; grey: median, 10-90%\nblack: mean, {level:.0%} t-interval", fontsize=9
    )
    fig.tight_layout()
    return fig
