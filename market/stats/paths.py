"""Pure metrics of one price path: the largest fall and rally, the retrace after a low, the worst
window return and annualised volatility.

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
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_YEAR
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


def worst_window_return(prices: ArrayLike, window: int) -> float:
    """Most negative percent return over any ``window`` consecutive samples (vectorised)."""
    p = _as_path(prices)
    _checked(check_range, "window", window, 1)
    if p.size <= window:
        return float(100.0 * (p[-1] / p[0] - 1.0)) if p.size > 1 else 0.0
    return float(100.0 * np.min(p[window:] / p[:-window] - 1.0))


def annualised_vol(minute_returns: ArrayLike) -> float:
    """Annualised volatility of one-minute log returns (not demeaned); NaN for none."""
    r = np.asarray(minute_returns, dtype=float)
    if r.size == 0:
        return math.nan
    return float(np.sqrt(np.mean(r**2) * SECONDS_PER_YEAR / MINUTE))
