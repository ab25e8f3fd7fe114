"""Pure metrics of one price path: the largest fall and rally, the retrace after a low, the worst
window return and annualised volatility; the one-minute sampling they are measured on; and the
comparison of a price path with the fundamental value's path over the same window.

Conventions: ``prices`` is a one-dimensional array of finite, positive prices, one per sample
(step); indices are sample positions. Returns and moves are percentages, signed: negative = the
price fell, so :func:`peak_to_trough` gives a value <= 0 and :func:`max_rally` one >= 0.
Volatility is annualised with the trading-time year of :mod:`market.exchange.clock`.

Malformed arguments raise :class:`PathMetricsError` (a :class:`market.validation.ConfigError`)
naming the argument and its allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_YEAR
from market.stats.facts import r_squared
from market.validation import ConfigError, check_array, check_range

#: seconds per one-minute return (the sampling :func:`annualised_vol` assumes)
MINUTE = 60.0


class PathMetricsError(ConfigError):
    """A price path or an index argument that cannot be measured."""


def _checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a :mod:`market.validation` check; its error is re-raised as :class:`PathMetricsError`
    so callers catch one type for every malformed path argument."""
    try:
        return check(*args, **kwargs)
    except ConfigError as exc:
        raise PathMetricsError(str(exc)) from None


def _as_path(prices: ArrayLike, name: str = "prices") -> NDArray[np.float64]:
    p = np.asarray(prices, dtype=float)
    if p.ndim != 1 or p.size < 1:
        raise PathMetricsError(f"{name} must be a one-dimensional array of at least 1 price")
    checked: NDArray[np.float64] = _checked(check_array, name, p, 0.0, lo_open=True)
    return checked


def peak_to_trough(prices: ArrayLike) -> tuple[float, int, int]:
    """The largest fall from a running peak: ``(pct <= 0, peak index, trough index)``.

    ``pct = 100 * (p[trough] / p[peak] - 1)``; a path that never falls gives ``(0.0, 0, 0)``.
    """
    p = _as_path(prices)
    peak = np.maximum.accumulate(p)
    dd = p / peak - 1.0
    trough = int(np.argmin(dd))
    if dd[trough] >= 0.0:
        return 0.0, 0, 0
    top = int(np.argmax(p[: trough + 1]))
    return float(100.0 * dd[trough]), top, trough


def max_rally(prices: ArrayLike) -> tuple[float, int, int]:
    """The largest rise from a running low: ``(pct >= 0, low index, high index)``."""
    p = _as_path(prices)
    low = np.minimum.accumulate(p)
    up = p / low - 1.0
    high = int(np.argmax(up))
    if up[high] <= 0.0:
        return 0.0, 0, 0
    bottom = int(np.argmin(p[: high + 1]))
    return float(100.0 * up[high]), bottom, high


def retrace_share(prices: ArrayLike, peak: int, trough: int, within: int) -> float:
    """Percent of the fall ``p[peak] -> p[trough]`` recovered by the best price in the ``within``
    samples after the trough (0 = none, 100 = back to the peak); NaN without a fall."""
    p = _as_path(prices)
    _checked(check_range, "trough", trough, 0, p.size - 1)
    _checked(check_range, "peak", peak, 0, trough)
    _checked(check_range, "within", within, 0)
    fall = p[peak] - p[trough]
    if fall <= 0.0:
        return math.nan
    after = p[trough + 1 : trough + 1 + within]
    best = after.max() if after.size else p[trough]
    return float(100.0 * max(best - p[trough], 0.0) / fall)


def worst_window(prices: ArrayLike, window: int) -> tuple[float, int, int]:
    """Most negative percent return over ``window`` samples: ``(pct, start index, end index)``.

    A path no longer than ``window`` gives its whole return (``(0.0, 0, 0)`` for one sample).
    """
    p = _as_path(prices)
    _checked(check_range, "window", window, 1)
    if p.size <= window:
        return (float(100.0 * (p[-1] / p[0] - 1.0)), 0, p.size - 1) if p.size > 1 else (0.0, 0, 0)
    r = p[window:] / p[:-window] - 1.0
    start = int(np.argmin(r))
    return float(100.0 * r[start]), start, start + window


def worst_window_return(prices: ArrayLike, window: int) -> float:
    """Most negative percent return over any ``window`` consecutive samples (vectorised)."""
    return worst_window(prices, window)[0]


def annualised_vol(minute_returns: ArrayLike) -> float:
    """Annualised volatility of one-minute log returns (not demeaned); NaN for none."""
    r = np.asarray(minute_returns, dtype=float)
    if r.size == 0:
        return math.nan
    return float(np.sqrt(np.mean(r**2) * SECONDS_PER_YEAR / MINUTE))


def minute_indices(n_samples: int, dt: float, minute: float = MINUTE) -> NDArray[np.int64]:
    """Which samples make the one-minute path: the last sample at or before each minute.

    Sample ``i`` is dated ``i * dt`` seconds (sample 0 is the opening value). The result holds,
    for ``t = 0, minute, 2 minute, ...`` up to the last sample's date, the index of the last sample
    dated at or before ``t``, and the last sample itself when the path does not end on a minute,
    so the close is always in. Drawdowns measured on ``prices[minute_indices(...)]`` ignore
    whatever happened and was undone inside a minute (a one-second spike).
    """
    _checked(check_range, "n_samples", n_samples, 1)
    _checked(check_range, "dt", dt, 0.0, lo_open=True)
    _checked(check_range, "minute", minute, 0.0, lo_open=True)
    end = (n_samples - 1) * dt
    grid = minute * np.arange(int(np.floor(end / minute + 1e-9)) + 1)
    idx = np.searchsorted(dt * np.arange(n_samples), grid + 1e-9 * dt, side="right") - 1
    if idx[-1] != n_samples - 1:
        idx = np.append(idx, n_samples - 1)
    return idx.astype(np.int64)


def move_pct(prices: ArrayLike, start: int, end: int) -> float:
    """Percent move of ``prices`` from sample ``start`` to sample ``end``."""
    p = _as_path(prices)
    _checked(check_range, "start", start, 0, p.size - 1)
    _checked(check_range, "end", end, 0, p.size - 1)
    return float(100.0 * (p[end] / p[start] - 1.0))


@dataclass(frozen=True)
class WindowComparison:
    """The fundamental value over the window of one price metric, and the price net of it.

    ``move_pct``: the fundamental's percent move from ``start`` to ``end`` (the same two samples
    the price metric is measured between); ``fall_pct`` (<= 0) and ``rally_pct`` (>= 0): its own
    largest fall and rise inside the window; ``net_pct``: the price's move minus the
    fundamental's move over the window (percentage points; 0 = the price did what the fundamental
    did).
    """

    move_pct: float
    fall_pct: float
    rally_pct: float
    net_pct: float


def _paired(
    prices: ArrayLike, fundamental: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A price path and the fundamental's path over the same samples, both checked."""
    p = _as_path(prices)
    f = _as_path(fundamental, "fundamental")
    if f.size != p.size:
        raise PathMetricsError(
            f"fundamental must have one value per price ({p.size}), got {f.size}"
        )
    return p, f


def against_fundamental(
    prices: ArrayLike, fundamental: ArrayLike, start: int, end: int
) -> WindowComparison:
    """Compare the price's move from ``start`` to ``end`` with the fundamental's (same samples)."""
    p, f = _paired(prices, fundamental)
    _checked(check_range, "end", end, 0, p.size - 1)
    _checked(check_range, "start", start, 0, end)
    f_move = move_pct(f, start, end)
    inside = f[start : end + 1]
    return WindowComparison(
        move_pct=f_move,
        fall_pct=peak_to_trough(inside)[0],
        rally_pct=max_rally(inside)[0],
        net_pct=move_pct(p, start, end) - f_move,
    )


def r_squared_on(prices: ArrayLike, fundamental: ArrayLike, block: int) -> float:
    """R² of the price's log returns on the fundamental's over non-overlapping ``block``-sample
    windows (least squares with an intercept, = squared correlation); NaN with fewer than 3
    windows or when either series does not move."""
    p, f = (np.log(x) for x in _paired(prices, fundamental))
    _checked(check_range, "block", block, 1)
    y, x = np.diff(p[::block]), np.diff(f[::block])
    if y.size < 3:
        return math.nan
    try:
        return r_squared(y, x)
    except ConfigError:  # one of the two did not move: R² is undefined
        return math.nan
