"""Inference on samples of finite values: t-intervals, paired differences, Welch's test, and the
Wilson score interval of a proportion (how often something happens over seeds).

Every function is vectorised over an axis (a (metrics, seeds) array gives one result per metric)
and ignores NaNs (a seed without a finished run). Confidence ``level`` is a fraction in (0, 1);
p-values are two-sided. Pure numpy/scipy; bad arguments raise
:class:`market.validation.ConfigError` naming the argument and its range.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from market.validation import ConfigError, check_range


class Interval(NamedTuple):
    """Mean, standard deviation and two-sided t-interval ``[lo, hi]`` of ``n`` finite values."""

    mean: np.ndarray
    sd: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray


class Proportion(NamedTuple):
    """A share ``k / n`` (a fraction in [0, 1]) with its Wilson score interval ``[lo, hi]``."""

    share: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray


class Difference(NamedTuple):
    """Paired difference a - b: mean, t-interval ``[lo, hi]``, paired-t p-value, pairs used."""

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p: np.ndarray
    n: np.ndarray


def check_level(level: float) -> None:
    """Raise :class:`ConfigError` unless ``level`` is a confidence level in (0, 1)."""
    # a bool is a number to Python, never a level: refuse it with the range, like any bad level
    if isinstance(level, bool):
        raise ConfigError(f"level must be in (0, 1), got {level!r}")
    check_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)


def moments(values: ArrayLike, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample variance (ddof 1) and count of the finite values along ``axis``."""
    x = np.moveaxis(np.atleast_1d(np.asarray(values, dtype=float)), axis, -1)
    ok = np.isfinite(x)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=-1) / n
        dev = np.where(ok, x - mean[..., None], 0.0)
        var = np.where(n > 1, (dev**2).sum(axis=-1) / (n - 1), np.nan)
    return mean, var, n


def t_interval(values: ArrayLike, level: float = 0.95, axis: int = -1) -> Interval:
    """Mean and Student-t confidence interval of ``values`` along ``axis``, NaNs ignored.

    Vectorised: a (metrics, seeds) array gives one interval per metric. ``lo``/``hi`` are NaN
    where fewer than two finite values exist; the mean is NaN where there are none.

    >>> iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> round(float(iv.lo), 4), round(float(iv.hi), 4)
    (1.0368, 4.9632)
    """
    check_level(level)
    mean, var, n = moments(values, axis)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2.0, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return Interval(mean[()], sd[()], (mean - half)[()], (mean + half)[()], n[()])


def paired_difference(
    a: ArrayLike, b: ArrayLike, level: float = 0.95, axis: int = -1
) -> Difference:
    """Mean of ``a - b`` paired position by position (the same seed), with its t-interval and the
    two-sided paired t-test p-value; pairs with a NaN on either side are dropped.

    Zero spread gives p = 0 for a non-zero mean and NaN for a zero mean (no evidence either way).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    iv = t_interval(a - b, level, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = iv.mean / (iv.sd / np.sqrt(iv.n))
        p = np.where(iv.n > 1, 2.0 * stats.t.sf(np.abs(t), np.maximum(iv.n - 1, 1)), np.nan)
    return Difference(iv.mean, iv.lo, iv.hi, p[()], iv.n)


def welch_p(a: ArrayLike, b: ArrayLike, axis: int = -1) -> np.ndarray:
    """Two-sided p-value of Welch's unequal-variance t-test of mean(a) = mean(b), NaNs ignored."""
    ma, va, na = moments(a, axis)
    mb, vb, nb = moments(b, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        sa, sb = va / na, vb / nb
        t = (ma - mb) / np.sqrt(sa + sb)
        df = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
        p = 2.0 * stats.t.sf(np.abs(t), df)
    return np.where((na > 1) & (nb > 1), p, np.nan)[()]


def wilson_interval(successes: ArrayLike, n: ArrayLike, level: float = 0.95) -> Proportion:
    """The share ``successes / n`` and its Wilson score interval (Wilson 1927, JASA 22:209).

    Unlike the Wald interval ``p +/- z sqrt(p(1-p)/n)`` it stays inside [0, 1] and does not
    collapse to a point at 0 or n successes, which matters for "the crisis happened in 0 of 20
    seeds" (Newcombe 1998, Stat. Med. 17:857, method 3). Vectorised over equal-shaped arrays;
    ``n = 0`` gives NaN. ``successes`` and ``n`` must be whole numbers with 0 <= successes <= n.

    >>> iv = wilson_interval(0, 20)
    >>> round(float(iv.lo), 4), round(float(iv.hi), 4)
    (0.0, 0.1611)
    """
    check_level(level)
    k, m = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(m))):
        raise ConfigError(f"successes and n must be finite counts, got {successes!r}, {n!r}")
    if np.any(k != np.round(k)) or np.any(m != np.round(m)) or np.any((k < 0) | (k > m)):
        raise ConfigError(
            f"successes and n must be whole numbers with 0 <= successes <= n, "
            f"got {successes!r}, {n!r}"
        )
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m))
    # at 0 (n) successes the lower (upper) bound is exactly 0 (1); the formula has rounding there
    lo = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    lo, hi = np.where(m > 0, lo, np.nan), np.where(m > 0, hi, np.nan)
    return Proportion(p[()], lo[()], hi[()], m[()])
