"""Inference: t-intervals, paired differences and Welch's test against hand examples and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from market.stats.inference import paired_difference, t_interval, welch_p


def test_t_interval_hand_example():
    iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, sd sqrt(2.5), t(0.975, 4) = 2.776445 -> half width 1.963243
    assert iv.mean == pytest.approx(3.0)
    assert iv.sd == pytest.approx(math.sqrt(2.5))
    assert (iv.lo, iv.hi) == pytest.approx((3 - 1.963243, 3 + 1.963243), abs=1e-6)
    assert iv.n == 5


def test_t_interval_vectorised_ignores_nan_and_needs_two_values():
    x = np.array(
        [
            [1.0, 2.0, 3.0, 4.0, 5.0],
            [2.0, np.nan, 4.0, np.nan, 6.0],
            [7.0, np.nan, np.nan, np.nan, np.nan],
        ]
    )
    iv = t_interval(x, level=0.9)
    np.testing.assert_array_equal(iv.n, [5, 3, 1])
    np.testing.assert_allclose(iv.mean, [3.0, 4.0, 7.0])
    half = stats.t.ppf(0.95, 2) * 2.0 / math.sqrt(3)
    assert (iv.lo[1], iv.hi[1]) == pytest.approx((4 - half, 4 + half))
    assert np.isnan(iv.lo[2]) and np.isnan(iv.hi[2])
    # the axis argument: the same numbers laid out by column
    np.testing.assert_allclose(t_interval(x.T, level=0.9, axis=0).hi, iv.hi)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, True])
def test_level_out_of_range_is_refused(level):
    with pytest.raises(ValueError, match="level must be in"):
        t_interval([1.0, 2.0], level=level)


def test_paired_difference_and_welch_match_scipy():
    rng = np.random.default_rng(3)
    a = rng.normal(1.0, 1.0, 12)
    b = a - 0.4 + rng.normal(0.0, 0.5, 12)
    d = paired_difference(a, b)
    ref = stats.ttest_rel(a, b)
    lo, hi = stats.t.interval(0.95, 11, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert d.mean == pytest.approx(np.mean(a - b))
    assert (d.lo, d.hi) == pytest.approx((lo, hi))
    assert d.p == pytest.approx(ref.pvalue)
    c = rng.normal(0.0, 3.0, 7)
    assert welch_p(a, c) == pytest.approx(stats.ttest_ind(a, c, equal_var=False).pvalue)


def test_paired_difference_drops_incomplete_pairs_and_zero_spread():
    d = paired_difference([1.0, 2.0, np.nan, 5.0], [0.0, 1.0, 1.0, 4.0])
    assert d.n == 3 and d.mean == pytest.approx(1.0) and d.p == 0.0
    same = paired_difference([1.0, 2.0], [1.0, 2.0])
    assert same.mean == 0.0 and np.isnan(same.p)
