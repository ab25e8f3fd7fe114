"""Statistics of returns: the stylized facts a realistic price path must show.

Pure functions over numpy arrays. Returns are natural-log returns (dimensionless); times are clock
seconds since the first open (see :mod:`market.exchange.clock`), so nights and weekends are already
skipped and a 1-minute grid has 390 points per trading day. Volatility is annualised with the
trading-time year of :mod:`market.exchange.clock` (252 days x 23,400 s).

The facts (Cont 2001) and the figures they are compared with are in the project's reference notes:
heavy tails (Hill index about 3, positive excess kurtosis), no linear autocorrelation of returns,
and volatility clustering (slowly decaying autocorrelation of absolute returns).

Names of the statistics returned by :func:`stylized_facts` (stable: run summaries carry them):

``n_returns_1m``, ``n_returns_5m``
    sample sizes of the 1-minute and 5-minute return series.
``excess_kurtosis_1m``
    excess kurtosis (normal = 0) of 1-minute returns.
``hill_tail_index_5m``, ``hill_left_tail_index_5m``, ``hill_right_tail_index_5m``
    Hill tail index of 5-minute returns on ``|r|``, losses and gains, each from the largest
    ``tail_fraction`` of the whole 5-minute sample (default 5%).
``acf_r_1m_lag_{k}``
    autocorrelation of 1-minute returns at lag ``k`` minutes (default ``k`` = 1..5).
``acf_abs_r_1m_lag_{k}``
    autocorrelation of absolute 1-minute returns at lag ``k`` minutes (default 1, 5, 10, 30).
``realised_vol_1m_annual``
    annualised realised volatility from the 1-minute returns (decimal, 0.2 = 20%).
``max_drawdown_pct``
    largest fall from a running peak of the 1-minute price path, in percent (positive).

A statistic that the sample cannot support (too few returns for the lag or tail, zero variance)
is ``None`` rather than NaN, so that it serialises to JSON ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_YEAR

TailSide = Literal["both", "left", "right"]

MINUTE = 60.0
DEFAULT_RETURN_LAGS = (1, 2, 3, 4, 5)
DEFAULT_ABS_LAGS_MINUTES = (1, 5, 10, 30)


FloatArray = NDArray[np.float64]
# A reduction over one axis: a numpy float for 1-D input, else an array.
FloatOrArray = np.float64 | FloatArray


class StylizedInputError(ValueError):
    """An argument to a returns statistic is outside its allowed range."""


def _as_1d_finite(name: str, values: ArrayLike, min_len: int = 0) -> FloatArray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise StylizedInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise StylizedInputError(f"{name} must be finite (no NaN or infinity)")
    if arr.size < min_len:
        raise StylizedInputError(f"{name} needs at least {min_len} values, got {arr.size}")
    return arr


def log_returns(prices: ArrayLike) -> FloatArray:
    """Natural-log returns ``log(p[t] / p[t-1])`` along the last axis.

    ``prices`` must be positive and finite; the result has one element fewer along the last axis.
    """
    p = np.asarray(prices, dtype=float)
    if p.ndim == 0:
        raise StylizedInputError("prices must be an array of at least one dimension")
    if not np.all(np.isfinite(p)) or np.any(p <= 0.0):
        raise StylizedInputError("prices must be finite and > 0")
    return np.diff(np.log(p), axis=-1)


def resample_last(
    times: ArrayLike, prices: ArrayLike, interval: float, start: float, end: float
) -> tuple[NDArray[np.floating[Any]], FloatArray]:
    """Last observed price on a regular clock grid, forward-filled.

    The grid is ``start, start + interval, ...`` up to and including ``end`` when it falls on the
    grid. The value at a grid time is the last price observed at or before it (so it is the close
    of the interval that ends there); an interval without observations repeats the previous value.
    Grid times before the first observation are NaN: there is nothing to carry forward yet.

    ``times`` (clock seconds) must be non-decreasing; at equal times the later entry wins.
    Returns ``(grid_times, grid_prices)``.
    """
    t = _as_1d_finite("times", times)
    p = _as_1d_finite("prices", prices)
    if t.shape != p.shape:
        raise StylizedInputError(
            f"times and prices must have the same length, got {t.size} and {p.size}"
        )
    if t.size > 1 and np.any(np.diff(t) < 0.0):
        raise StylizedInputError("times must be non-decreasing")
    if not (np.isfinite(interval) and interval > 0.0):
        raise StylizedInputError(f"interval must be a finite number of seconds > 0, got {interval}")
    if not (np.isfinite(start) and np.isfinite(end) and end >= start):
        raise StylizedInputError(f"need finite start <= end, got start={start}, end={end}")
    # The small slack keeps ``end`` on the grid despite floating-point division.
    n_points = int(np.floor((end - start) / interval + 1e-9)) + 1
    grid: NDArray[np.floating[Any]] = start + interval * np.arange(n_points)
    last = np.searchsorted(t, grid, side="right") - 1
    values = np.where(last >= 0, p[np.clip(last, 0, None)] if p.size else np.nan, np.nan)
    return grid, values.astype(float)


def excess_kurtosis(r: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Excess kurtosis ``m4 / m2**2 - 3`` (normal = 0) along ``axis``; population moments.

    Needs at least 4 observations and non-zero variance.
    """
    x = np.asarray(r, dtype=float)
    if x.ndim == 0 or x.shape[axis] < 4:
        raise StylizedInputError("r needs at least 4 observations along the axis")
    if not np.all(np.isfinite(x)):
        raise StylizedInputError("r must be finite (no NaN or infinity)")
    d = x - x.mean(axis=axis, keepdims=True)
    m2 = np.mean(d**2, axis=axis)
    if np.any(m2 <= 0.0):
        raise StylizedInputError("r has zero variance: kurtosis is undefined")
    m4 = np.mean(d**4, axis=axis)
    kurtosis: FloatOrArray = m4 / m2**2 - 3.0
    return kurtosis


def _tail_size(n: int, tail_fraction: float) -> int:
    return int(np.floor(tail_fraction * n))


def hill_tail_index(r: ArrayLike, tail_fraction: float = 0.05, side: TailSide = "both") -> float:
    """Hill estimator of the tail index ``alpha`` (``P(|X| > x) ~ x**-alpha``).

    The tail sample is ``|r|`` (``side="both"``), the losses ``-r`` (``"left"``) or the gains
    ``r`` (``"right"``). ``k = floor(tail_fraction * len(r))`` order statistics are used, the
    fraction being of the *whole* sample in every case (so "top 5% per side" means
    ``tail_fraction=0.05`` with ``side="left"`` or ``"right"``)::

        alpha = 1 / mean(log(X_(i) / X_(k+1)), i = 1..k)

    with ``X_(1) >= X_(2) >= ...`` the sorted tail sample. Needs ``k >= 2`` and ``X_(k+1) > 0``.
    A Gaussian sample gives a large index (about 5 or more at 5%), a Student-t with ``nu`` degrees
    of freedom about ``nu``.
    """
    x = _as_1d_finite("r", r)
    if not 0.0 < tail_fraction < 1.0:
        raise StylizedInputError(f"tail_fraction must lie in (0, 1), got {tail_fraction}")
    if side == "both":
        tail = np.abs(x)
    elif side == "left":
        tail = -x
    elif side == "right":
        tail = x
    else:
        raise StylizedInputError(f"side must be 'both', 'left' or 'right', got {side!r}")
    k = _tail_size(x.size, tail_fraction)
    if k < 2 or k + 1 > x.size:
        raise StylizedInputError(
            f"tail_fraction={tail_fraction} of {x.size} returns leaves k={k} order statistics; "
            "need k >= 2"
        )
    top = -np.sort(-tail)[: k + 1]
    threshold = top[k]
    if threshold <= 0.0:
        raise StylizedInputError(
            f"the {k + 1}-th largest {side} tail value is not positive: too few "
            f"{'non-zero' if side == 'both' else side} returns for tail_fraction={tail_fraction}"
        )
    mean_log_excess = np.mean(np.log(top[:k] / threshold))
    if mean_log_excess <= 0.0:
        raise StylizedInputError("the tail sample is constant: the Hill index is undefined")
    return float(1.0 / mean_log_excess)


def autocorrelation(x: ArrayLike, lags: ArrayLike) -> FloatArray:
    """Sample autocorrelation of ``x`` at the given non-negative integer ``lags``.

    ``acf(k) = sum((x[t] - m) * (x[t+k] - m)) / sum((x[t] - m)**2)`` with ``m`` the full-sample
    mean (the standard biased estimator, bounded by 1 in absolute value). Lag 0 is 1.
    """
    v = _as_1d_finite("x", x, min_len=2)
    lag_arr = np.atleast_1d(np.asarray(lags))
    if lag_arr.ndim != 1 or lag_arr.size == 0:
        raise StylizedInputError("lags must be a non-empty sequence of integers")
    if not np.issubdtype(lag_arr.dtype, np.integer):
        if not np.all(np.isfinite(lag_arr)) or np.any(lag_arr != np.round(lag_arr)):
            raise StylizedInputError(f"lags must be integers, got {lags!r}")
        lag_arr = lag_arr.astype(int)
    if np.any(lag_arr < 0) or np.any(lag_arr >= v.size):
        raise StylizedInputError(f"lags must lie in [0, {v.size - 1}] for {v.size} values")
    d = v - v.mean()
    denom = float(d @ d)
    if denom <= 0.0:
        raise StylizedInputError("x has zero variance: autocorrelation is undefined")
    return np.array([float(d[: v.size - k] @ d[k:]) / denom for k in lag_arr])


def realised_volatility(r: ArrayLike, periods_per_year: float, axis: int = -1) -> FloatOrArray:
    """Annualised realised volatility ``sqrt(periods_per_year * mean(r**2))`` (decimal).

    Not demeaned: at intraday horizons the drift is negligible and including it would hide a trend
    inside the volatility. ``periods_per_year`` is the number of return intervals in the
    trading-time year, e.g. ``SECONDS_PER_YEAR / 60`` (98,280) for 1-minute returns.
    """
    x = np.asarray(r, dtype=float)
    if not (np.isfinite(periods_per_year) and periods_per_year > 0.0):
        raise StylizedInputError(f"periods_per_year must be > 0, got {periods_per_year}")
    if x.ndim == 0 or x.shape[axis] < 1:
        raise StylizedInputError("r needs at least one return")
    if not np.all(np.isfinite(x)):
        raise StylizedInputError("r must be finite (no NaN or infinity)")
    vol: FloatOrArray = np.sqrt(periods_per_year * np.mean(x**2, axis=axis))
    return vol


def max_drawdown_pct(prices: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Largest fall from the running peak, in percent of the peak (positive; 0 if none)."""
    p = np.asarray(prices, dtype=float)
    if p.ndim == 0 or p.shape[axis] < 1:
        raise StylizedInputError("prices needs at least one value")
    if not np.all(np.isfinite(p)) or np.any(p <= 0.0):
        raise StylizedInputError("prices must be finite and > 0")
    peak = np.maximum.accumulate(p, axis=axis)
    drawdown: FloatOrArray = 100.0 * np.max(1.0 - p / peak, axis=axis)
    return drawdown


def _safe_acf(x: np.ndarray, lag: int) -> float | None:
    if lag >= x.size or x.size < 2 or np.all(x == x[0]):
        return None
    return float(autocorrelation(x, [lag])[0])


def _safe_hill(r: np.ndarray, tail_fraction: float, side: TailSide) -> float | None:
    try:
        return hill_tail_index(r, tail_fraction, side)
    except StylizedInputError:
        # Short or flat samples are an expected outcome of short runs: report the fact as absent.
        return None


def stylized_facts(
    times: ArrayLike,
    prices: ArrayLike,
    *,
    start: float | None = None,
    end: float | None = None,
    base_interval: float = MINUTE,
    tail_interval: float = 5 * MINUTE,
    tail_fraction: float = 0.05,
    return_lags: Sequence[int] = DEFAULT_RETURN_LAGS,
    abs_return_lags: Sequence[int] = DEFAULT_ABS_LAGS_MINUTES,
) -> dict[str, float | int | None]:
    """The stylized-fact statistics of one price path, under the stable names in the module doc.

    ``times`` (clock seconds, non-decreasing) and ``prices`` (currency, > 0) are trades or mids.
    The path is sampled on grids of ``base_interval`` (1 minute) and ``tail_interval`` (5 minutes)
    from ``start`` (default: first time) to ``end`` (default: last time) by :func:`resample_last`;
    grid points before the first observation are dropped. Lags are in units of ``base_interval``;
    the key names say "1m"/"5m" whatever the intervals, so change them only for tests.
    """
    t = _as_1d_finite("times", times, min_len=1)
    p = _as_1d_finite("prices", prices, min_len=1)
    if np.any(p <= 0.0):
        raise StylizedInputError("prices must be > 0")
    if not 0.0 < tail_fraction < 1.0:
        raise StylizedInputError(f"tail_fraction must lie in (0, 1), got {tail_fraction}")
    if not (np.isfinite(tail_interval) and tail_interval > 0.0):
        raise StylizedInputError(f"tail_interval must be > 0 seconds, got {tail_interval}")
    for name, lags in (("return_lags", return_lags), ("abs_return_lags", abs_return_lags)):
        if any(int(k) != k or k < 1 for k in lags):
            raise StylizedInputError(f"{name} must be integers >= 1, got {list(lags)!r}")
    t0 = float(t[0]) if start is None else float(start)
    t1 = float(t[-1]) if end is None else float(end)

    _, base_prices = resample_last(t, p, base_interval, t0, t1)
    _, tail_prices = resample_last(t, p, tail_interval, t0, t1)
    base_prices = base_prices[np.isfinite(base_prices)]
    tail_prices = tail_prices[np.isfinite(tail_prices)]
    r1 = log_returns(base_prices) if base_prices.size >= 2 else np.empty(0)
    r5 = log_returns(tail_prices) if tail_prices.size >= 2 else np.empty(0)

    facts: dict[str, float | int | None] = {
        "n_returns_1m": int(r1.size),
        "n_returns_5m": int(r5.size),
    }
    flat_1m = r1.size < 4 or bool(np.all(r1 == r1[0]))
    facts["excess_kurtosis_1m"] = None if flat_1m else float(excess_kurtosis(r1))
    facts["hill_tail_index_5m"] = _safe_hill(r5, tail_fraction, "both")
    facts["hill_left_tail_index_5m"] = _safe_hill(r5, tail_fraction, "left")
    facts["hill_right_tail_index_5m"] = _safe_hill(r5, tail_fraction, "right")
    for k in return_lags:
        facts[f"acf_r_1m_lag_{int(k)}"] = _safe_acf(r1, int(k))
    abs_r1 = np.abs(r1)
    for k in abs_return_lags:
        facts[f"acf_abs_r_1m_lag_{int(k)}"] = _safe_acf(abs_r1, int(k))
    facts["realised_vol_1m_annual"] = (
        float(realised_volatility(r1, SECONDS_PER_YEAR / base_interval)) if r1.size else None
    )
    facts["max_drawdown_pct"] = float(max_drawdown_pct(base_prices)) if base_prices.size else None
    return facts
