"""Measures of how dealers' gamma hedging moves the underlying: pure functions over numpy arrays.

The paired gamma experiment (``python -m experiments.facts.gamma``) runs the same seed with the
dealers short gamma, long gamma and not hedging, and compares the price paths with these
functions.

Conventions (as in :mod:`market.stats.facts`):

- Prices enter as natural-log prices on a regular grid; a return is the difference of two grid
  points (dimensionless, 0.01 = 1%).
- A *day* is one row of ``per_day + 1`` log prices: the previous close (the first open, on day 0)
  then the ``per_day`` grid points of the session up to the close. The market clock skips nights,
  so a day's first point is also the previous day's last. A return never spans two days unless it
  is the close-to-close return itself.
- A *segment* is one independent sample path (one seed and arm); pooled statistics never form a
  return across two segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.validation import ConfigError, check_array, check_range

FloatArray = NDArray[np.float64]


def day_rows(log_prices: ArrayLike, per_day: int) -> FloatArray:
    """The log prices of a many-day path as a ``(days, per_day + 1)`` array (module docstring).

    ``log_prices`` holds ``days * per_day + 1`` grid points, the first at the first open; a path
    that is not a whole number of days raises :class:`ConfigError`.
    """
    x = check_array("log_prices", log_prices)
    check_range("per_day", per_day, 1)
    per_day = int(per_day)
    days, rest = divmod(x.size - 1, per_day)
    if days < 1 or rest:
        raise ConfigError(
            f"log_prices must hold days * {per_day} + 1 grid points (days >= 1), got {x.size}"
        )
    idx = np.arange(days)[:, None] * per_day + np.arange(per_day + 1)[None, :]
    out: FloatArray = x[idx]
    return out


def intraday_returns(days: ArrayLike, step: int) -> FloatArray:
    """Non-overlapping returns over ``step`` grid steps inside each day of ``days`` (rows of
    :func:`day_rows`), starting at each day's first point; an incomplete last block is dropped."""
    d = np.atleast_2d(np.asarray(days, dtype=float))
    check_range("step", step, 1)
    step = int(step)
    if step > d.shape[1] - 1:
        raise ConfigError(f"step must be at most the steps of a day ({d.shape[1] - 1}), got {step}")
    return np.diff(d[:, ::step], axis=1).ravel()


def close_to_close(days: ArrayLike) -> FloatArray:
    """Each day's return from the previous close to its close (rows of :func:`day_rows`)."""
    d = np.atleast_2d(np.asarray(days, dtype=float))
    out: FloatArray = d[:, -1] - d[:, 0]
    return out


def rms(returns: ArrayLike) -> float:
    """Root mean square of ``returns`` about zero: the realised volatility per return (a drift
    is part of what hedging moves, so it is not removed). NaN for an empty sample."""
    r = np.asarray(returns, dtype=float).ravel()
    r = r[np.isfinite(r)]
    return float(np.sqrt(np.mean(r * r))) if r.size else float("nan")


def vol_ratio(returns: ArrayLike, reference: ArrayLike) -> float:
    """Realised volatility of ``returns`` over that of ``reference`` (:func:`rms` of each); NaN
    when either is empty or the reference does not move."""
    den = rms(reference)
    if not np.isfinite(den) or den <= 0.0:
        return float("nan")
    return rms(returns) / den


def lag1_autocorrelation(segments: Sequence[ArrayLike]) -> float:
    """Lag-1 autocorrelation of returns pooled over independent segments (each a return series):
    ``sum (r_t - m)(r_t+1 - m) / pairs`` over ``sum (r_t - m)^2 / n``, with ``m`` the pooled mean.
    Negative values mean bounce-back (e.g. a price held near a level by resting orders)."""
    segs = [np.asarray(s, dtype=float).ravel() for s in segments]
    segs = [s[np.isfinite(s)] for s in segs]
    pooled = np.concatenate(segs) if segs else np.empty(0)
    pairs = sum(max(s.size - 1, 0) for s in segs)
    if pairs == 0:
        raise ConfigError("lag1_autocorrelation needs a segment of at least 2 returns")
    m = float(pooled.mean())
    c0 = float(np.mean((pooled - m) ** 2))
    if c0 <= 0.0:
        raise ConfigError("the returns are constant: their autocorrelation is undefined")
    c1 = sum(float((s[:-1] - m) @ (s[1:] - m)) for s in segs if s.size > 1) / pairs
    return c1 / c0


class Regression(NamedTuple):
    """Least squares of y on x with an intercept: ``slope``, its ``t`` statistic (classical
    standard error, ``n - 2`` degrees of freedom), the ``intercept`` and ``n`` observations."""

    slope: float
    t: float
    intercept: float
    n: int


def ols_slope(y: ArrayLike, x: ArrayLike) -> Regression:
    """Slope of ``y`` on ``x`` (with an intercept) and its t statistic; needs 3 or more points
    and an ``x`` that varies."""
    yv, xv = check_array("y", y), check_array("x", x)
    if yv.size != xv.size or yv.size < 3:
        raise ConfigError(f"y and x need the same length >= 3, got {yv.size} and {xv.size}")
    xc = xv - xv.mean()
    sxx = float(xc @ xc)
    if sxx <= 0.0:
        raise ConfigError("x is constant: the slope is undefined")
    slope = float(xc @ (yv - yv.mean())) / sxx
    intercept = float(yv.mean() - slope * xv.mean())
    resid = yv - intercept - slope * xv
    s2 = float(resid @ resid) / (yv.size - 2)
    se = float(np.sqrt(s2 / sxx))
    t = slope / se if se > 0.0 else float("inf") * np.sign(slope)
    return Regression(slope, float(t), intercept, int(yv.size))


def last_half_hour(days: ArrayLike, last_steps: int) -> tuple[FloatArray, FloatArray]:
    """Per day: the rest-of-day return (previous close to ``last_steps`` grid steps before the
    close) and the last-period return (from there to the close), the two sides of the intraday
    momentum regression of Baltussen, Da, Lammers & Martens (2021, JFE 142:377)."""
    d = np.atleast_2d(np.asarray(days, dtype=float))
    check_range("last_steps", last_steps, 1)
    k = int(last_steps)
    if k >= d.shape[1] - 1:
        raise ConfigError(f"last_steps must be below the steps of a day ({d.shape[1] - 1})")
    cut = d[:, -1 - k]
    return cut - d[:, 0], d[:, -1] - cut


def intraday_momentum(days: ArrayLike, last_steps: int) -> Regression:
    """Regression of the last-period return on the rest-of-day return over all ``days``
    (:func:`last_half_hour`): a positive slope is intraday momentum (short-gamma hedging buys
    late after a rise), a negative one reversal (long-gamma hedging sells it)."""
    rest, last = last_half_hour(days, last_steps)
    return ols_slope(last, rest)
