"""The run's one-minute price and fundamental paths, and the figures measured on them.

:class:`RunPaths` holds the arrays every scenario metric reads, taken from a finished model once;
:func:`path_section` measures the price on its one-minute path (falls, rallies, retraces, window
and daily returns) and the fundamental value F over the same windows, with the price net of F.
Names, units and conventions: the docstring of :mod:`experiments.scenarios.metrics`, which puts
these figures at the top level of the scenario metrics and in their ``fundamental`` and
``net_of_fundamental`` sections.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from market.exchange.clock import SECONDS_PER_DAY
from market.stats.paths import (
    MINUTE,
    PathMetricsError,
    against_fundamental,
    max_rally,
    minute_indices,
    peak_to_trough,
    r_squared_on,
    retrace_share,
    worst_window,
)

#: seconds after the low within which a retrace is measured
RETRACE_WINDOW_S = 1800.0

#: bin of the fastest-fall and hedge-flow figures
FIVE_MINUTES = 300.0
#: samples of the one-minute path in a 5-minute window
FIVE_MINUTE_SAMPLES = round(FIVE_MINUTES / MINUTE)
#: the daily R² on the fundamental needs at least this many days (else it is NaN)
MIN_DAYS_FOR_R2_1D = 5
#: the price metrics reported again net of the fundamental value's move over the same window
#: the falls and rallies among them, and which extreme of F inside their window they report
FALLS_AND_RALLIES = {
    "peak_to_trough_pct": "fall_pct",
    "peak_to_trough_in_window_pct": "fall_pct",
    "max_rally_pct": "rally_pct",
}
NET_OF_FUNDAMENTAL = (
    "return_pct",
    "peak_to_trough_pct",
    "retrace_pct",
    "max_rally_pct",
    "worst_5min_return_pct",
    "worst_5min_return_in_window_pct",
    "peak_to_trough_in_window_pct",
    "worst_day_pct",
    "intraday_low_pct",
)
NAN = math.nan


class ScenarioMetricsError(PathMetricsError):
    """The model cannot be measured (nothing simulated yet, or a malformed input)."""


# ---------------------------------------------------------------------------- the run's paths
class RunPaths:
    """The arrays every metric reads, taken from the model once."""

    def __init__(self, model) -> None:
        st = model.state
        n = st.n
        if n < 1:
            raise ScenarioMetricsError("the model has not been stepped: nothing to measure")
        self.model = model
        self.dt = float(model.dt)
        self.mids = np.asarray(st.mids[: n + 1], dtype=float)
        self.volumes = np.asarray(st.volumes[: n + 1], dtype=float)
        self.times = np.arange(n + 1) * self.dt
        self.end = float(self.times[-1])
        win = list(model.cfg.scenario.stress_window)
        self.window = (float(win[0]), float(win[1])) if win else None
        self.ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        self.spd = int(model.steps_per_day)
        # the one-minute paths every fall, rally and window return is measured on
        self.minute = minute_indices(self.mids.size, self.dt)
        self.p1 = self.mids[self.minute]
        self.t1 = self.times[self.minute]
        self.fundamental = self._fundamental_per_step()
        self.f1 = self.fundamental[self.minute]

    def _fundamental_per_step(self) -> np.ndarray:
        """The fundamental value after each step, from the recorded rows (forward-filled).

        Row 0 is recorded before the first step (step 0); a row recorded in step ``k`` is dated
        at the step's start, ``(k - 1) * dt``, and holds the values after it. Exact on the
        one-minute path when the record interval divides a minute; the final value is the
        model's own.
        """
        f = np.full(self.mids.size, float(self.model.cfg.market.initial_price))
        if len(self.ts):
            rec = np.zeros(len(self.ts), dtype=int)
            rec[1:] = np.round(self.ts["time"].to_numpy(dtype=float)[1:] / self.dt).astype(int) + 1
            row = np.searchsorted(rec, np.arange(self.mids.size), side="right") - 1
            f = self.ts["fundamental"].to_numpy(dtype=float)[np.clip(row, 0, None)]
        f[-1] = float(self.model.fundamental)
        return f

    def in_window(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.window is None:
            return np.zeros(t.shape, dtype=bool)
        return (t >= self.window[0]) & (t <= self.window[1])

    def prev_close(self, day: int) -> float:
        if day == 0:
            return float(self.model.cfg.market.initial_price)
        return float(self.model.closes[day - 1])

    def grid_at(self, t: float) -> int:
        """Index on the one-minute path of the last sample at or before clock time ``t``."""
        return max(int(np.searchsorted(self.t1, t + 1e-9, side="right")) - 1, 0)


#: price metric -> (start, end) on the one-minute path it is measured between
Windows = dict[str, tuple[int, int]]


# ---------------------------------------------------------------------------- metric sections
def _falls_and_rallies(run: RunPaths, out: dict, windows: Windows) -> None:
    p, t = run.p1, run.t1
    pct, peak, trough = peak_to_trough(p)
    out["peak_to_trough_pct"] = pct
    out["peak_time_s"] = float(t[peak]) if pct < 0 else NAN
    out["trough_time_s"] = float(t[trough]) if pct < 0 else NAN
    out["time_to_trough_s"] = float(t[trough] - t[peak]) if pct < 0 else NAN
    within = round(RETRACE_WINDOW_S / MINUTE)
    out["retrace_pct"] = retrace_share(p, peak, trough, within) if pct < 0 else NAN
    if pct < 0:
        windows["peak_to_trough_pct"] = (peak, trough)
        best = trough + int(np.argmax(p[trough : trough + 1 + within]))
        windows["retrace_pct"] = (trough, best)
    rally, low, high = max_rally(p)
    out["max_rally_pct"] = rally
    if rally > 0:
        windows["max_rally_pct"] = (low, high)
    out["worst_5min_return_pct"], s, e = worst_window(p, FIVE_MINUTE_SAMPLES)
    windows["worst_5min_return_pct"] = (s, e)
    out["peak_to_trough_in_window_pct"] = out["worst_5min_return_in_window_pct"] = NAN
    inside = np.flatnonzero(run.in_window(t))
    if run.window is not None and inside.size >= 2:
        a, b = int(inside[0]), int(inside[-1])
        pct, peak, trough = peak_to_trough(p[a : b + 1])
        out["peak_to_trough_in_window_pct"] = pct
        if pct < 0:
            windows["peak_to_trough_in_window_pct"] = (a + peak, a + trough)
        out["worst_5min_return_in_window_pct"], s, e = worst_window(
            p[a : b + 1], FIVE_MINUTE_SAMPLES
        )
        windows["worst_5min_return_in_window_pct"] = (a + s, a + e)


def _days(run: RunPaths, out: dict, windows: Windows) -> None:
    p = run.p1
    closes = list(run.model.closes)
    daily = [100.0 * (c / run.prev_close(d) - 1.0) for d, c in enumerate(closes)]
    out["daily_returns_pct"] = daily
    day_span = [
        (run.grid_at(d * SECONDS_PER_DAY), run.grid_at((d + 1) * SECONDS_PER_DAY))
        for d in range(math.ceil(run.end / SECONDS_PER_DAY))
    ]
    if daily:
        worst = int(np.argmin(daily))
        out["worst_day_pct"] = float(daily[worst])
        out["worst_day"] = worst
        out["best_day_pct"] = float(max(daily))
        a, b = day_span[worst]
        out["worst_day_close_above_low_pct"] = (
            100.0 * (closes[worst] / p[a + 1 : b + 1].min() - 1.0) if b > a else NAN
        )
        windows["worst_day_pct"] = (a, b)
    else:
        out.update(
            worst_day_pct=NAN, worst_day=None, best_day_pct=NAN, worst_day_close_above_low_pct=NAN
        )
    lows = []  # (pct against the previous close, day start, index of the low)
    for d, (a, b) in enumerate(day_span):
        if b > a:
            low = a + 1 + int(np.argmin(p[a + 1 : b + 1]))
            lows.append((100.0 * (p[low] / run.prev_close(d) - 1.0), a, low))
    out["intraday_low_pct"] = float(min(lows)[0]) if lows else NAN
    if lows:
        windows["intraday_low_pct"] = min(lows)[1:]


def _price_metrics(run: RunPaths) -> tuple[dict, Windows]:
    """The price's figures on the one-minute path, and the windows they are measured over."""
    out: dict = {"open": float(run.mids[0]), "close": float(run.model.state.last)}
    out["return_pct"] = 100.0 * (out["close"] / out["open"] - 1.0)
    windows: Windows = {"return_pct": (0, run.p1.size - 1)}
    _falls_and_rallies(run, out, windows)
    _days(run, out, windows)
    return out, windows


def _fundamental_metrics(run: RunPaths, price: dict, windows: Windows) -> tuple[dict, dict]:
    """F over each price metric's window, and the price metric net of F's move (see the module
    docstring: sections ``fundamental`` and ``net_of_fundamental``)."""
    p, f = run.p1, run.f1
    fund: dict = {"open": float(f[0]), "close": float(f[-1])}
    net: dict = {}
    for name in NET_OF_FUNDAMENTAL:
        fund[name] = net[name] = NAN
        if name in windows and name != "retrace_pct":
            cmp = against_fundamental(p, f, *windows[name])
            fund[name] = cmp.move_pct
            net[name] = price[name] - cmp.move_pct
    for name, own in FALLS_AND_RALLIES.items():
        # a fall or rally: F's own largest one inside the window, and F's move across it
        move, fund[name] = fund[name], NAN
        fund[name.replace("_pct", "_move_pct")] = move
        if name in windows:
            fund[name] = getattr(against_fundamental(p, f, *windows[name]), own)
    if "retrace_pct" in windows:
        (peak, trough), (_, best) = windows["peak_to_trough_pct"], windows["retrace_pct"]
        # F's move from the low to the best recovery, in the price's currency, as a share of
        # the fall: the part of the retrace the fundamental value accounts for
        share = 100.0 * p[trough] * (f[best] / f[trough] - 1.0) / (p[peak] - p[trough])
        fund["retrace_pct"], net["retrace_pct"] = share, price["retrace_pct"] - share
    ends = [run.grid_at(d * SECONDS_PER_DAY) for d in range(len(run.model.closes) + 1)]
    fund["daily_returns_pct"] = [100.0 * (f[b] / f[a] - 1.0) for a, b in pairwise(ends)]
    per_day = round(SECONDS_PER_DAY / MINUTE)
    fund["r2_30m"] = r_squared_on(p, f, round(1800.0 / MINUTE))
    fund["r2_1d"] = (
        r_squared_on(p, f, per_day) if len(run.model.closes) >= MIN_DAYS_FOR_R2_1D else NAN
    )
    return fund, net


def path_section(run: RunPaths) -> dict:
    """The price's figures with their ``fundamental`` and ``net_of_fundamental`` sections."""
    out, windows = _price_metrics(run)
    out["fundamental"], out["net_of_fundamental"] = _fundamental_metrics(run, out, windows)
    return out
