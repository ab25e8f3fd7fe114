"""The impact experiment: paired runs with and without one POV parent order of the desk.

For each seed one control day runs without any parent order (the baseline's own order removed);
its traded volume is the day's volume V. Then, for each size Q/V, the same seed runs again with a
single parent order of Q = size x V shares arriving at ``start`` (common random numbers: until
the order arrives the two runs are identical, so the difference of the mid paths is the order's
doing plus the divergence it sets off). Seeds alternate buy and sell so that a drift of the
market cannot pose as impact.

Per run: the impact path ``I(t) = side * log(mid_with / mid_without)``, read at the order's
completion (``I_peak``) and ``after_s`` later (``I_after``, NaN when that falls after the close or
the order never completed), and again at each of ``decay_after_s``. Over seeds and sizes: the
slope of log mean I_peak on log Q/V (square-root law: 0.5), ``Y = I_peak / (sigma_daily *
sqrt(Q/V))`` and the share of the peak still there ``after_s`` later, pooled over sizes, with a
seed-bootstrap interval (the decay curve gives the same at every horizon of ``decay_after_s``).
After completion the two runs of a pair drift apart by the market's own noise, so what remains of
a few basis points of impact an hour later is resolved only over many seeds: the interval says how
many are enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from experiments.events import EventConfig, EventKind
from experiments.facts.config import FactsConfig
from experiments.facts.runs import run_config
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.stats import facts as fx
from market.validation import ConfigError


@dataclass
class PairedRuns:
    """One seed's control and one order per size. Impacts are decimal log returns; ``end`` is
    the clock second each order completed (NaN: it did not complete by the close)."""

    seed: int
    side: int
    volume: int
    q_over_v: list[float]
    qty: list[int]
    end: list[float]
    peak: list[float]
    after: list[float]
    #: the horizons (s after completion) of ``decay``
    decay_after_s: list[float]
    #: per size, the impact at each horizon of ``decay_after_s`` after completion (NaN: after the
    #: close, or the order never completed)
    decay: list[list[float]]
    #: largest |I| before the orders arrive: 0 when the pairing is exact
    pre_arrival_max: float


def _parent_event(side: int, qty: int, cfg: FactsConfig) -> EventConfig:
    return EventConfig(
        kind=EventKind.parent_order,
        day=0,
        at=cfg.start,
        side=side,
        qty=qty,
        algo="pov",
        participation=cfg.participation,
        urgency=0.5,
    )


def run_day(seed: int, cfg: FactsConfig, events: list[EventConfig]) -> HedgeLoopModel:
    """One day of the baseline on ``seed`` with ``events`` as its only scheduled events (none:
    the control day, the baseline's own parent order removed), run to the close."""
    run_cfg = run_config(seed, 1, cfg.overrides)
    run_cfg.scenario.events = events  # only these: the scenario's own events removed
    model = HedgeLoopModel(run_cfg)
    model.run()
    model.finish()
    return model


def mid_path(model: HedgeLoopModel) -> tuple[np.ndarray, np.ndarray]:
    """The recorded ``(times, mids)`` of a finished day (seconds since the open, currency)."""
    frame = model.datacollector.get_model_vars_dataframe()
    return frame["time"].to_numpy(dtype=float), frame["mid"].to_numpy(dtype=float)


@dataclass
class ControlDay:
    """The control day of a seed, as the paired experiments read it: recorded times (s), mids
    (currency) and the shares traded (V)."""

    times: np.ndarray
    mids: np.ndarray
    volume: int


def control_day(seed: int, cfg: FactsConfig) -> ControlDay:
    """Run the control day of ``seed`` (no scheduled event) once, for every pair on that seed."""
    model = run_day(seed, cfg, [])
    times, mids = mid_path(model)
    return ControlDay(times, mids, int(model.book.trades.columns()["qty"].sum()))


def run_paired(
    seed: int, side: int, cfg: FactsConfig, control: ControlDay | None = None
) -> PairedRuns:
    """The control day of ``seed`` (run here unless given) and one day per size with a parent
    order on ``side``."""
    control = control if control is not None else control_day(seed, cfg)
    times, mid_without, volume = control.times, control.mids, control.volume
    out = PairedRuns(seed, side, volume, [], [], [], [], [], list(cfg.decay_after_s), [], 0.0)
    for size in cfg.sizes:
        qty = max(1, round(size * volume))
        model = run_day(seed, cfg, [_parent_event(side, qty, cfg)])
        path = fx.impact_path(mid_path(model)[1], mid_without, side)
        parent = model.populations["desk"][0].parents[0]
        done = parent.status == "completed"
        end = float(parent.end_time) if done else float("nan")
        out.q_over_v.append(qty / volume)
        out.qty.append(qty)
        out.end.append(end)
        out.peak.append(fx.value_at(times, path, end if done else SECONDS_PER_DAY))
        out.after.append(_later(times, path, end, cfg.after_s))
        out.decay.append([_later(times, path, end, h) for h in cfg.decay_after_s])
        before = path[times < cfg.start_s]
        if before.size:
            out.pre_arrival_max = max(out.pre_arrival_max, float(np.max(np.abs(before))))
    return out


def _later(times: np.ndarray, path: np.ndarray, end: float, after: float) -> float:
    """The impact ``after`` seconds after completion at ``end`` (NaN past the close or if the
    order never completed, ``end`` NaN)."""
    t = end + after
    return fx.value_at(times, path, t) if np.isfinite(t) and t <= SECONDS_PER_DAY else float("nan")


def decay_curve(runs: Sequence[PairedRuns], horizons: Sequence[float]) -> list[dict]:
    """Per horizon (s after completion): the pooled share of the peak still there, with its 90%
    seed-bootstrap interval (a fixed stream, so a table is reproducible)."""
    peak = np.array([r.peak for r in runs], dtype=float)
    stream = np.random.default_rng(0)
    rows = []
    for k, h in enumerate(horizons):
        after = np.array([[d[k] for d in r.decay] for r in runs], dtype=float)
        ratio, lo, hi = fx.bootstrap_decay_ratio(peak, after, stream)
        rows.append({"after_s": float(h), "ratio": ratio, "lo": lo, "hi": hi})
    return rows


def mean_se(values: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and standard error over the finite ``values`` (None: no value, or one for the s.e.)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None, None
    se = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
    return float(v.mean()), se


def size_rows(runs: Sequence[PairedRuns], sigma_daily: float) -> list[dict]:
    """One row per size: mean Q/V, mean and s.e. of I_peak and I_after over seeds, Y, ratio."""
    rows = []
    for j in range(len(runs[0].qty)):
        qv = float(np.mean([r.q_over_v[j] for r in runs]))
        peak, peak_se = mean_se(np.array([r.peak[j] for r in runs]))
        after, after_se = mean_se(np.array([r.after[j] for r in runs]))
        y = float(fx.square_root_prefactor(peak, sigma_daily, qv)) if peak is not None else None
        rows.append(
            {
                "q_over_v": qv,
                "n_seeds": len(runs),
                "n_completed": int(sum(np.isfinite(r.end[j]) for r in runs)),
                "i_peak": peak,
                "i_peak_se": peak_se,
                "i_after": after,
                "i_after_se": after_se,
                "y": y,
                "after_over_peak": after / peak if after is not None and peak else None,
            }
        )
    return rows


def impact_summary(runs: Sequence[PairedRuns], sigma_daily: float) -> dict:
    """The impact facts (``impact_slope``, ``impact_y``, ``impact_after_over_peak``) and rows.

    The slope is fitted on the sizes whose mean I_peak is positive (a log needs it), with a 90%
    seed-bootstrap interval (``impact_slope_lo`` / ``_hi``: whether the seeds resolve it);
    ``impact_y`` is the geometric mean of their Y; the after/peak ratio pools the sizes (sum of
    mean I_after over sum of mean I_peak, over the sizes where both exist), which weights the
    large orders whose impact stands clear of the noise.
    """
    if not runs:
        raise ConfigError("impact_summary needs at least one seed")
    rows = size_rows(runs, sigma_daily)
    pos = [r for r in rows if r["i_peak"] is not None and r["i_peak"] > 0.0]
    slope = None
    if len(pos) >= 2:
        slope = fx.fit_log_log([r["q_over_v"] for r in pos], [r["i_peak"] for r in pos])[0]
    y = float(np.exp(np.mean(np.log([r["y"] for r in pos])))) if pos else None
    peak = np.array([r.peak for r in runs], dtype=float)
    after = np.array([r.after for r in runs], dtype=float)
    ratio, lo, hi = fx.bootstrap_decay_ratio(peak, after, np.random.default_rng(0))
    qv = np.array([r.q_over_v for r in runs], dtype=float)
    _, slope_lo, slope_hi = fx.bootstrap_impact_slope(qv, peak, np.random.default_rng(0))
    facts = {
        "impact_slope": slope,
        "impact_slope_lo": _finite(slope_lo),
        "impact_slope_hi": _finite(slope_hi),
        "impact_y": y,
        "impact_after_over_peak": _finite(ratio),
        "impact_after_over_peak_lo": _finite(lo),
        "impact_after_over_peak_hi": _finite(hi),
        "impact_sizes_positive": len(pos),
        "impact_pre_arrival_max": max(r.pre_arrival_max for r in runs),
    }
    return {"facts": facts, "rows": rows, "decay": decay_curve(runs, runs[0].decay_after_s)}


def _finite(v: float) -> float | None:
    return v if np.isfinite(v) else None
