"""Is a sample of per-seed results one cluster or two? Sarle's bimodality coefficient.

A scenario whose crisis happens in some seeds and not in others gives a two-cluster sample
(e.g. worst five minutes near -0.3% in half the seeds and near -5% in the rest); its mean lies
between the clusters, where no seed is. The bimodality coefficient flags such samples so the
report shows the clusters instead of a mean that describes no run.

``b = (G1**2 + 1) / (G2 + 3 (n-1)**2 / ((n-2)(n-3)))`` with ``G1`` the sample skewness and
``G2`` the sample excess kurtosis, both with the usual small-sample corrections (SAS/STAT
User's Guide, PROC CLUSTER; Pfister et al. 2013, Front. Psychol. 4:700). It is 1/3 for a normal
population, 5/9 for a uniform one (the flat boundary between one hump and two) and tends to 1
for two equal point masses; ``b > 5/9`` suggests bimodality.

Why this and not a gap test: it needs no tuning constant (a gap test needs a gap size relative
to some spread and a least cluster size), it is the coefficient the literature states a
threshold for, and it reads the whole sample. Its known weakness is skew: a unimodal sample with
a long tail or a few far outliers also exceeds 5/9 (an exponential sample of 20 does so more
often than not, a half-normal one in a fifth of samples). So :func:`is_bimodal` also asks for
negative excess kurtosis, which Muratov & Gnedin (2010, ApJ 718:1266) use as a necessary (not
sufficient) condition for bimodality: two separated humps have it as long as the smaller holds
more than about a fifth of the values (for two point masses with shares p and 1-p the excess
kurtosis is (1 - 6p(1-p)) / (p(1-p)) < 0 for p > 0.21), while skewed unimodal samples have
positive kurtosis. Samples of 20: a normal one is flagged in under 1% of draws, a half-normal or
lognormal one in 3-6%, two clusters of 5 and 15 in 95%. A crisis in fewer than about a fifth of
the seeds is then not "bimodal" but a few outlying seeds: b > 5/9 with positive kurtosis, which
:func:`excess_kurtosis` lets a report tell apart.

Pure numpy; NaNs are ignored (a seed without a finished run).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

#: b above this suggests two clusters (the uniform distribution's value, 5/9)
BIMODAL_THRESHOLD = 5.0 / 9.0
#: the coefficient's small-sample corrections need at least this many values
MIN_VALUES = 4


def _shape(x: np.ndarray) -> tuple[float, float]:
    """Sample skewness G1 and excess kurtosis G2 (small-sample corrected) of one 1-D array of
    finite values; NaN if fewer than 4 or no spread."""
    n = x.size
    if n < MIN_VALUES:
        return float("nan"), float("nan")
    dev = x - x.mean()
    m2 = float(np.mean(dev**2))
    # a spread lost in rounding (identical values read back from a file) counts as none
    if m2 <= (1e-12 * max(float(np.abs(x).max()), 1e-300)) ** 2:
        return float("nan"), float("nan")
    g1 = float(np.mean(dev**3)) / m2**1.5
    g2 = float(np.mean(dev**4)) / m2**2 - 3.0
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    kurt = ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))
    return float(skew), float(kurt)


def _coefficient(x: np.ndarray) -> float:
    """The coefficient of one 1-D array of finite values (NaN if fewer than 4 or no spread)."""
    n = x.size
    skew, kurt = _shape(x)
    if not np.isfinite(kurt):
        return float("nan")
    return float((skew**2 + 1.0) / (kurt + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def _per_row(fn: Callable[[np.ndarray], float], values: ArrayLike, axis: int) -> np.ndarray:
    """``fn`` of each 1-D slice's finite values along ``axis``."""
    x = np.moveaxis(np.atleast_1d(np.asarray(values, dtype=float)), axis, -1)
    flat = x.reshape(-1, x.shape[-1])
    out = np.array([fn(row[np.isfinite(row)]) for row in flat], dtype=float)
    return out.reshape(x.shape[:-1])[()]


def bimodality_coefficient(values: ArrayLike, axis: int = -1) -> np.ndarray:
    """Sarle's bimodality coefficient of the finite ``values`` along ``axis`` (in (0, 1]).

    Vectorised: a (metrics, seeds) array gives one coefficient per metric. NaN where fewer than
    four finite values remain or they are all equal (one cluster, nothing to split).
    """
    return _per_row(_coefficient, values, axis)


def excess_kurtosis(values: ArrayLike, axis: int = -1) -> np.ndarray:
    """The sample excess kurtosis G2 (0 for a normal sample, small-sample corrected) of the
    finite ``values`` along ``axis``; NaN like :func:`bimodality_coefficient`."""
    return _per_row(lambda row: _shape(row)[1], values, axis)


def is_bimodal(values: ArrayLike, axis: int = -1) -> np.ndarray:
    """Two humps: ``bimodality_coefficient > 5/9`` and negative excess kurtosis (False where
    either is undefined); see the module docstring for why both."""
    b = np.asarray(bimodality_coefficient(values, axis), dtype=float)
    k = np.asarray(excess_kurtosis(values, axis), dtype=float)
    with np.errstate(invalid="ignore"):
        return ((b > BIMODAL_THRESHOLD) & (k < 0.0))[()]
