"""The news experiment: paired runs with and without one public jump of the fundamental value.

For each impact seed the control day of the impact experiment (the baseline with its own parent
order removed) runs once more next to the same seed with a single ``fundamental_shock`` of
``sign * news_size`` (a log return) at ``start``; signs alternate by seed, the first negative, so
that a drift of the market cannot pose as absorption. Until the news arrives the two runs are
identical (common random numbers), so the difference of their mids afterwards is the news'
doing plus the divergence it sets off.

Absorption at horizon h: ``A(h) = log(mid_with / mid_without)(start + h) / (sign * news_size)``,
1 = the news is fully in the price, > 1 an overshoot. Real markets take public news in within
minutes (Busse & Green 2002; Andersen, Bollerslev, Diebold & Vega 2003).

The impact and the news experiment of a seed share its control day (:func:`run_seed_pairs`, one
job per seed), so it runs once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from experiments.events import EventConfig, EventKind
from experiments.facts.config import FactsConfig
from experiments.facts.impact import (
    ControlDay,
    PairedRuns,
    control_day,
    mean_se,
    mid_path,
    run_day,
    run_paired,
)
from market.stats import facts as fx
from market.validation import ConfigError


@dataclass
class NewsRun:
    """One seed's pair: ``size`` is the jump as a signed log return (``sign * news_size``);
    ``absorption[k]`` is A at ``horizons_s[k]`` seconds after the news (NaN: past the close)."""

    seed: int
    sign: int
    size: float
    horizons_s: list[float]
    absorption: list[float]
    #: largest |log(mid_with / mid_without)| before the news: 0 when the pairing is exact
    pre_arrival_max: float


def news_sign(position: int) -> int:
    """The sign of the news on the seed at ``position`` (0-based): -1, +1, -1, ..."""
    return -1 if position % 2 == 0 else 1


def _news_event(size: float, cfg: FactsConfig) -> EventConfig:
    return EventConfig(kind=EventKind.fundamental_shock, day=0, at=cfg.start, size=size)


def run_news_pair(
    seed: int, sign: int, cfg: FactsConfig, control: ControlDay | None = None
) -> NewsRun:
    """The control day of ``seed`` (run here unless given) and the same day with news of ``sign *
    cfg.news_size`` at ``cfg.start``, read at every horizon of ``cfg.news_read_s``."""
    if sign not in (1, -1):
        raise ConfigError(f"sign must be +1 (good news) or -1 (bad news), got {sign!r}")
    size = sign * cfg.news_size
    control = control if control is not None else control_day(seed, cfg)
    times, mid_without = control.times, control.mids
    times_with, mid_with = mid_path(run_day(seed, cfg, [_news_event(size, cfg)]))
    if not np.array_equal(times, times_with):
        raise RuntimeError(f"seed {seed}: the paired days recorded different times")
    horizons = cfg.news_read_s
    absorption = fx.news_absorption(times, mid_with, mid_without, cfg.start_s, size, horizons)
    gap = fx.pre_arrival_gap(times, mid_with, mid_without, cfg.start_s)
    return NewsRun(seed, sign, size, horizons, [float(a) for a in absorption], gap)


def run_seed_pairs(seed: int, position: int, cfg: FactsConfig) -> tuple[PairedRuns, NewsRun]:
    """Both paired experiments of the impact seed at ``position`` on one control day: the parent
    orders on side +1 (even position) or -1, the news bad (even) or good."""
    control = control_day(seed, cfg)
    side = 1 if position % 2 == 0 else -1
    return run_paired(seed, side, cfg, control), run_news_pair(
        seed, news_sign(position), cfg, control
    )


def news_rows(runs: Sequence[NewsRun]) -> list[dict]:
    """One row per horizon: mean and s.e. of A over the seeds that reached it, and their
    number."""
    if not runs:
        raise ConfigError("news_rows needs at least one seed")
    table = np.array([r.absorption for r in runs], dtype=float)  # (seeds, horizons)
    rows = []
    for k, h in enumerate(runs[0].horizons_s):
        mean, se = mean_se(table[:, k])
        n = int(np.count_nonzero(np.isfinite(table[:, k])))
        rows.append({"horizon_s": float(h), "absorption": mean, "absorption_se": se, "n": n})
    return rows


def news_facts(rows: Sequence[dict], runs: Sequence[NewsRun]) -> dict:
    """The table's news facts: mean A at 5 and 30 minutes (with s.e. and seeds) and the largest
    pre-arrival difference of any pair (must be 0)."""
    by_h = {r["horizon_s"]: r for r in rows}
    facts: dict[str, object] = {"news_pre_arrival_max": max(r.pre_arrival_max for r in runs)}
    for minutes in (5, 30):
        row = by_h.get(60.0 * minutes, {})
        facts[f"news_absorption_{minutes}m"] = row.get("absorption")
        facts[f"news_absorption_{minutes}m_se"] = row.get("absorption_se")
        facts[f"news_seeds_{minutes}m"] = row.get("n", 0)
    return facts
