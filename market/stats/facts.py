"""Measures of a simulated market against real-market ranges: pure functions over numpy arrays.

These are the building blocks of the facts command (``python -m experiments.facts``); each one is
a textbook statistic, stated here with its units so that a number in the facts table can be
traced back to one formula.

Conventions:

- Prices enter as natural-log prices on a regular grid (``log_prices``); a return is the
  difference of two grid points (dimensionless, 0.01 = 1%).
- A *segment* is one independent sample path (one seed). Statistics pooled over segments never
  form a return, a product or a lag across two segments, so seeds can be pooled without pretending
  that one seed's last minute precedes the next seed's first.
- Trading time: the market clock skips nights (:mod:`market.exchange.clock`), so a day of
  1-minute grid steps has :data:`MINUTES_PER_DAY` returns and the minute of the day of return
  ``i`` is ``i % MINUTES_PER_DAY``.
- Impact is signed by the side of the order (+1 buy, -1 sell): a positive impact means that the
  price moved against the trader (up for a buy, down for a sell).
- News absorption is signed by the news: the share of a jump of the fundamental value (a signed
  log return) that the price has taken on, 1 = all of it whichever way it went.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.stats.stylized import hill_tail_index
from market.validation import ConfigError, check_array, check_range

MINUTES_PER_DAY = 390

FloatArray = NDArray[np.float64]


def _segments(name: str, segments: Sequence[ArrayLike], min_len: int = 1) -> list[FloatArray]:
    """The segments as finite float arrays; at least one must hold ``min_len`` values."""
    out = [check_array(f"{name}[{i}]", s) for i, s in enumerate(segments)]
    if not out or max(s.size for s in out) < min_len:
        raise ConfigError(f"{name} needs a segment of at least {min_len} values")
    return out


def block_returns(log_prices: ArrayLike, block: int) -> FloatArray:
    """Non-overlapping returns over ``block`` grid steps, starting at the first grid point.

    ``log_prices[block] - log_prices[0], log_prices[2 * block] - log_prices[block], ...``; an
    incomplete last block is dropped.
    """
    x = check_array("log_prices", log_prices)
    check_range("block", block, 1)
    return np.diff(x[:: int(block)])


def r_squared(y: ArrayLike, x: ArrayLike) -> float:
    """R² of the least-squares regression of ``y`` on ``x`` with an intercept (= corr(x, y)²)."""
    yv, xv = check_array("y", y), check_array("x", x)
    if yv.size != xv.size or yv.size < 3:
        raise ConfigError(f"y and x need the same length >= 3, got {yv.size} and {xv.size}")
    dy, dx = yv - yv.mean(), xv - xv.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0.0 or syy <= 0.0:
        raise ConfigError("y and x must both vary: R² is undefined for a constant series")
    return float((dx @ dy) ** 2 / (sxx * syy))


def ar1_half_life(segments: Sequence[ArrayLike], dt: float = 1.0) -> float:
    """Half-life of mean reversion of a series, in units of ``dt`` (the grid step).

    Pooled least squares of ``x[t+1]`` on ``x[t]`` with one intercept, within each segment:
    ``x[t+1] = a + b x[t] + e``; the half-life is ``-ln 2 / ln b``. Infinite when ``b >= 1``
    (no mean reversion), 0 when ``b <= 0`` (reverts within one step).
    """
    segs = _segments("segments", segments, min_len=3)
    check_range("dt", dt, 0.0, lo_open=True)
    prev = np.concatenate([s[:-1] for s in segs])
    nxt = np.concatenate([s[1:] for s in segs])
    dp = prev - prev.mean()
    sxx = float(dp @ dp)
    if sxx <= 0.0:
        raise ConfigError("the series is constant: its half-life is undefined")
    b = float(dp @ (nxt - nxt.mean())) / sxx
    if b >= 1.0:
        return float("inf")
    if b <= 0.0:
        return 0.0
    return float(-np.log(2.0) / np.log(b) * dt)


def pooled_autocorrelation(segments: Sequence[ArrayLike], lags: ArrayLike) -> FloatArray:
    """Autocorrelation at integer ``lags`` pooled over independent segments.

    With ``m`` the mean over all values, ``acf(k) = c(k) / c(0)`` where ``c(k)`` is the mean of
    ``(x[t] - m)(x[t+k] - m)`` over every pair ``k`` apart inside one segment. Dividing by the
    number of pairs (not by the number of values) keeps long lags unbiased by the length of the
    sample, which matters when a power law is fitted to them. NaN where no pair exists.
    """
    segs = _segments("segments", segments, min_len=2)
    lag_arr = np.atleast_1d(check_array("lags", lags, 0)).astype(int)
    m = float(np.concatenate(segs).mean())
    devs = [s - m for s in segs]
    n = sum(d.size for d in devs)
    c0 = sum(float(d @ d) for d in devs) / n
    if c0 <= 0.0:
        raise ConfigError("the series is constant: its autocorrelation is undefined")
    out = np.full(lag_arr.size, np.nan)
    for j, k in enumerate(lag_arr):
        pairs = [(d[: d.size - k], d[k:]) for d in devs if d.size > k]
        n_pairs = sum(a.size for a, _ in pairs)
        if n_pairs:
            out[j] = sum(float(a @ b) for a, b in pairs) / n_pairs / c0
    return out


def acf_band(n: int) -> float:
    """Half-width of the 95% band of a sample autocorrelation of ``n`` i.i.d. values: 2/√n."""
    check_range("n", n, 0, lo_open=True)
    return float(2.0 / np.sqrt(n))


def log_spaced_lags(lo: int, hi: int, per_decade: int = 6) -> NDArray[np.int64]:
    """Distinct integer lags from ``lo`` to ``hi`` (both included), about evenly spaced in log."""
    check_range("lo", lo, 1)
    check_range("hi", hi, lo)
    check_range("per_decade", per_decade, 1)
    n = max(2, int(np.ceil(np.log10(hi / lo) * per_decade)) + 1)
    return np.unique(np.round(np.geomspace(lo, hi, n)).astype(np.int64))


def power_law_exponent(lags: ArrayLike, acf: ArrayLike, lo: float, hi: float) -> tuple[float, int]:
    """Exponent ``beta`` of ``acf(k) ~ k**-beta`` fitted on the lags in ``[lo, hi]``.

    Least squares of ``log acf`` on ``log k`` over the lags in range whose ``acf`` is positive
    (a log needs it). Returns ``(beta, points used)``; ``beta`` is NaN with fewer than 2 points.
    """
    k = check_array("lags", lags, 0.0, lo_open=True)
    a = np.asarray(acf, dtype=float)
    if a.shape != k.shape:
        raise ConfigError(f"lags and acf need the same length, got {k.size} and {a.size}")
    use = (k >= lo) & (k <= hi) & np.isfinite(a) & (a > 0.0)
    if use.sum() < 2:
        return float("nan"), int(use.sum())
    slope = np.polyfit(np.log(k[use]), np.log(a[use]), 1)[0]
    return float(-slope), int(use.sum())


def variance_ratio(segments: Sequence[ArrayLike], h: int) -> float:
    """Lo-MacKinlay variance ratio ``VR(h) = Var(r_h) / (h Var(r_1))`` of base-period returns.

    ``segments`` hold base-period returns (e.g. 1-minute); ``r_h`` are the overlapping sums of
    ``h`` consecutive returns inside a segment. Both variances are taken about the pooled mean
    return (times ``h`` for ``r_h``). 1 for a random walk, below 1 under mean reversion, above 1
    under momentum.
    """
    segs = _segments("segments", segments, min_len=int(h) + 1)
    check_range("h", h, 1)
    h = int(h)
    pooled = np.concatenate(segs)
    mu = float(pooled.mean())
    var1 = float(np.mean((pooled - mu) ** 2))
    if var1 <= 0.0:
        raise ConfigError("the returns are constant: the variance ratio is undefined")
    sums = []
    for s in segs:
        if s.size >= h:
            c = np.concatenate([[0.0], np.cumsum(s)])
            sums.append(c[h:] - c[:-h])
    rh = np.concatenate(sums)
    return float(np.mean((rh - h * mu) ** 2) / (h * var1))


def time_of_day_profile(
    values: ArrayLike, per_day: int = MINUTES_PER_DAY, bin_width: int = 1
) -> FloatArray:
    """Mean of ``values`` by time of day, in bins of ``bin_width`` grid steps.

    ``values`` are on a grid of ``per_day`` points a day starting at an open (its length a
    multiple of ``per_day``); the result has ``per_day // bin_width`` bins.
    """
    v = check_array("values", values)
    check_range("per_day", per_day, 1)
    check_range("bin_width", bin_width, 1, per_day)
    if v.size == 0 or v.size % per_day or per_day % bin_width:
        raise ConfigError(
            f"values ({v.size}) must be whole days of per_day={per_day} points and per_day a "
            f"multiple of bin_width={bin_width}"
        )
    return np.asarray(
        v.reshape(-1, per_day // bin_width, bin_width).mean(axis=(0, 2)), dtype=np.float64
    )


def deseasonalise(
    values: ArrayLike, profile: ArrayLike, per_day: int = MINUTES_PER_DAY
) -> FloatArray:
    """``values`` divided by their time-of-day mean (Andersen & Bollerslev 1997).

    ``profile`` is a :func:`time_of_day_profile` of any bin width dividing ``per_day``; each value
    is divided by the profile of its bin. The profile must be positive.
    """
    v = check_array("values", values)
    prof = check_array("profile", profile, 0.0, lo_open=True)
    if v.size % per_day or per_day % prof.size:
        raise ConfigError(f"values must be whole days of {per_day} points, bins must divide it")
    bin_of = (np.arange(v.size) % per_day) // (per_day // prof.size)
    return np.asarray(v / prof[bin_of], dtype=np.float64)


def intraday_ratio(profile: ArrayLike, window: slice, reference: slice) -> float:
    """Mean of ``profile`` over ``window`` divided by its mean over ``reference`` (e.g. midday)."""
    prof = check_array("profile", profile)
    num, den = prof[window], prof[reference]
    if num.size == 0 or den.size == 0:
        raise ConfigError("window and reference must each cover at least one bin")
    if den.mean() <= 0.0:
        raise ConfigError("the reference window has a zero mean: the ratio is undefined")
    return float(num.mean() / den.mean())


@dataclass(frozen=True)
class HillEstimate:
    """Hill tail index ``alpha`` from the ``k`` largest values, with standard error ``alpha/√k``."""

    alpha: float
    k: int
    se: float


def hill_estimate(r: ArrayLike, tail_fraction: float = 0.05) -> HillEstimate:
    """Hill index of ``|r|`` from the largest ``tail_fraction`` of the sample (see
    :func:`market.stats.stylized.hill_tail_index`), with its asymptotic standard error."""
    x = check_array("r", r)
    alpha = hill_tail_index(x, tail_fraction, "both")
    k = int(np.floor(tail_fraction * x.size))
    return HillEstimate(alpha, k, alpha / np.sqrt(k))


def fit_log_log(x: ArrayLike, y: ArrayLike) -> tuple[float, float]:
    """Least squares of ``log y`` on ``log x``: ``(slope, intercept)``; both must be positive."""
    xv = check_array("x", x, 0.0, lo_open=True)
    yv = check_array("y", y, 0.0, lo_open=True)
    if xv.size != yv.size or xv.size < 2 or np.ptp(xv) == 0.0:
        raise ConfigError("x and y need the same length >= 2 and x must vary")
    slope, intercept = np.polyfit(np.log(xv), np.log(yv), 1)
    return float(slope), float(intercept)


def impact_path(mid_with: ArrayLike, mid_without: ArrayLike, side: int) -> FloatArray:
    """Impact of an order: ``side * log(mid_with / mid_without)`` at each common grid time.

    ``mid_with`` and ``mid_without`` are the mid paths (currency, > 0) of the same seed with and
    without the order (common random numbers), on the same grid. Positive = against the trader.
    """
    a = check_array("mid_with", mid_with, 0.0, lo_open=True)
    b = check_array("mid_without", mid_without, 0.0, lo_open=True)
    if a.shape != b.shape:
        raise ConfigError(f"the two mid paths need the same grid, got {a.size} and {b.size}")
    if side not in (1, -1):
        raise ConfigError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
    return np.asarray(side * np.log(a / b), dtype=np.float64)


def news_absorption(
    times: ArrayLike,
    mid_with: ArrayLike,
    mid_without: ArrayLike,
    t0: float,
    size: float,
    horizons: ArrayLike,
) -> FloatArray:
    """How much of a public jump of the fundamental value is in the price ``h`` seconds later:
    ``A(h) = log(mid_with / mid_without)(t0 + h) / size``.

    ``mid_with`` and ``mid_without`` are the mid paths (currency, > 0) of the same seed with and
    without the jump (common random numbers) on the grid ``times`` (seconds, sorted); each is read
    as the last record at or before ``t0 + h``. ``size`` is the jump as a signed log return
    (-0.03 = F down 3%), not 0. 1 = the news is fully in the price, 0 = none of it, > 1 an
    overshoot; the sign of ``size`` cancels, so a fall taken in full also reads 1. NaN for a
    horizon past the last record. ``horizons`` are seconds after ``t0``, each > 0.
    """
    tv = check_array("times", times)
    gap = _log_mid_ratio(mid_with, mid_without, tv.size)
    if size == 0.0 or not np.isfinite(size):
        raise ConfigError(f"size must be a finite nonzero log return, got {size!r}")
    h = check_array("horizons", horizons, 0.0, lo_open=True)
    at = t0 + h
    i = np.searchsorted(tv, at, side="right") - 1
    inside = (i >= 0) & (at <= tv[-1])
    out = np.full(h.shape, np.nan)
    out[inside] = gap[i[inside]] / size
    return out


def pre_arrival_gap(
    times: ArrayLike, mid_with: ArrayLike, mid_without: ArrayLike, t0: float
) -> float:
    """The largest ``|log(mid_with / mid_without)|`` recorded before ``t0`` (seconds): 0 when
    two paired runs are identical until the event at ``t0`` arrives, as common random numbers
    require; 0 as well when nothing was recorded before ``t0``."""
    tv = check_array("times", times)
    gap = _log_mid_ratio(mid_with, mid_without, tv.size)
    before = gap[tv < t0]
    return float(np.max(np.abs(before))) if before.size else 0.0


def _log_mid_ratio(mid_with: ArrayLike, mid_without: ArrayLike, n: int) -> FloatArray:
    """``log(mid_with / mid_without)`` of two positive mid paths on one grid of ``n >= 1`` times
    (:func:`impact_path` of a buy)."""
    gap = impact_path(mid_with, mid_without, 1)
    if n < 1 or gap.shape != (n,):
        raise ConfigError(f"the two mid paths need the grid's {n} times, got {gap.size}")
    return gap


def value_at(times: ArrayLike, values: ArrayLike, t: float) -> float:
    """The last of ``values`` recorded at or before ``t`` (``times`` sorted); NaN if none."""
    tv = check_array("times", times)
    vv = np.asarray(values, dtype=float)
    i = int(np.searchsorted(tv, t, side="right")) - 1
    return float(vv[i]) if 0 <= i < vv.size else float("nan")


def square_root_prefactor(impact: ArrayLike, sigma_daily: float, q_over_v: ArrayLike) -> FloatArray:
    """``Y = I / (sigma_daily * sqrt(Q/V))`` of the square-root law ``I = Y sigma_D sqrt(Q/V)``.

    ``impact`` and ``sigma_daily`` are log returns (decimal), ``q_over_v`` the order's share of
    the day's volume (decimal, 0.01 = 1%).
    """
    check_range("sigma_daily", sigma_daily, 0.0, lo_open=True)
    qv = check_array("q_over_v", q_over_v, 0.0, lo_open=True)
    return np.asarray(
        np.asarray(impact, dtype=float) / (sigma_daily * np.sqrt(qv)), dtype=np.float64
    )


def pooled_decay_ratio(peak: ArrayLike, after: ArrayLike) -> float:
    """The share of the peak impact still there later, pooled over sizes: the sum over sizes of
    the seeds' mean ``after`` over the sum of their mean ``peak``.

    ``peak`` and ``after`` are (seeds, sizes) arrays of impacts (decimal log returns, positive =
    against the trader); NaNs (an order not completed, a horizon after the close) are ignored, and
    a size counts only where both means exist. Pooling weights the large orders, whose impact
    stands clear of the noise. NaN when no size qualifies or the pooled peak is not positive.
    """
    p = np.atleast_2d(np.asarray(peak, dtype=float))
    a = np.atleast_2d(np.asarray(after, dtype=float))
    if p.shape != a.shape:
        raise ConfigError(
            f"peak and after need the same (seeds, sizes) shape, got {p.shape}, {a.shape}"
        )
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a size with no finite seed: NaN mean
        mp, ma = np.nanmean(p, axis=0), np.nanmean(a, axis=0)
    both = np.isfinite(mp) & np.isfinite(ma)
    total = float(mp[both].sum())
    return float(ma[both].sum() / total) if both.any() and total > 0.0 else float("nan")


def bootstrap_decay_ratio(
    peak: ArrayLike,
    after: ArrayLike,
    stream: np.random.Generator,
    n_boot: int = 2000,
    level: float = 0.9,
) -> tuple[float, float, float]:
    """:func:`pooled_decay_ratio` and its seed-bootstrap percentile interval ``(ratio, lo, hi)``.

    Seeds (rows) are resampled with replacement, each keeping its sizes together, because one
    seed's orders share its market. ``level`` is the interval's coverage in (0, 1).
    """
    p = np.atleast_2d(np.asarray(peak, dtype=float))
    a = np.atleast_2d(np.asarray(after, dtype=float))
    return _seed_bootstrap(pooled_decay_ratio, p, a, stream, n_boot, level)


def _seed_bootstrap(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
    stream: np.random.Generator,
    n_boot: int,
    level: float,
) -> tuple[float, float, float]:
    """``statistic(x, y)`` and its percentile interval over ``n_boot`` resamples of the rows
    (seeds) with replacement, each row keeping its columns (sizes) together."""
    check_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("n_boot", n_boot, 1, 10**7)
    value = statistic(x, y)
    idx = stream.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
    draws = np.array([statistic(x[i], y[i]) for i in idx])
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return value, float("nan"), float("nan")
    tail = 50.0 * (1.0 - level)
    lo, hi = np.percentile(draws, [tail, 100.0 - tail])
    return value, float(lo), float(hi)


def pooled_impact_slope(q_over_v: ArrayLike, peak: ArrayLike) -> float:
    """Slope of log mean ``I_peak`` on log mean ``Q/V`` over the sizes whose mean peak is
    positive (a log needs it): the square-root law's exponent (0.5).

    ``q_over_v`` and ``peak`` are (seeds, sizes) arrays (decimal; peak positive = against the
    trader); NaNs are ignored. NaN when fewer than two sizes qualify.
    """
    q = np.atleast_2d(np.asarray(q_over_v, dtype=float))
    p = np.atleast_2d(np.asarray(peak, dtype=float))
    if q.shape != p.shape:
        raise ConfigError(f"q_over_v and peak need one shape, got {q.shape}, {p.shape}")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mq, mp = np.nanmean(q, axis=0), np.nanmean(p, axis=0)
    pos = np.isfinite(mq) & np.isfinite(mp) & (mp > 0.0) & (mq > 0.0)
    if np.count_nonzero(pos) < 2 or np.ptp(mq[pos]) == 0.0:
        return float("nan")
    return fit_log_log(mq[pos], mp[pos])[0]


def bootstrap_impact_slope(
    q_over_v: ArrayLike,
    peak: ArrayLike,
    stream: np.random.Generator,
    n_boot: int = 2000,
    level: float = 0.9,
) -> tuple[float, float, float]:
    """:func:`pooled_impact_slope` and its seed-bootstrap percentile interval ``(slope, lo, hi)``.

    Seeds (rows) are resampled with replacement, each keeping its sizes together. The interval
    says whether the seeds resolve the slope: the paired runs of one seed drift apart by the
    market's own noise (a few basis points within minutes), which swamps the impact of the
    smallest orders unless many seeds are pooled.
    """
    q = np.atleast_2d(np.asarray(q_over_v, dtype=float))
    p = np.atleast_2d(np.asarray(peak, dtype=float))
    return _seed_bootstrap(pooled_impact_slope, q, p, stream, n_boot, level)
