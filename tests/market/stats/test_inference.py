"""Inference: t-intervals, paired differences and Welch's test against hand examples and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from market.stats.inference import paired_difference, t_interval, welch_p, wilson_interval


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


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        # Newcombe (1998, Stat. Med. 17:857), Table I, method 3 (Wilson score, no correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_textbook_values(k, n, lo, hi):
    iv = wilson_interval(k, n)
    assert iv.share == pytest.approx(k / n)
    assert (iv.lo, iv.hi) == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_interval_is_symmetric_vectorised_and_widens_with_level():
    iv = wilson_interval([0, 5, 10], [10, 10, 10])
    # k and n - k mirror each other around 1/2; 5 of 10 is centred on 1/2
    assert iv.lo[0] == pytest.approx(1.0 - iv.hi[2]) and iv.hi[0] == pytest.approx(1.0 - iv.lo[2])
    assert (iv.lo[1] + iv.hi[1]) / 2 == pytest.approx(0.5)
    # unlike the Wald interval it does not collapse at 0 or n successes
    assert iv.lo[0] == 0.0 and iv.hi[0] > 0.2 and iv.hi[2] == 1.0 and iv.lo[2] < 0.8
    wide = wilson_interval(5, 10, level=0.99)
    assert wide.lo < iv.lo[1] and wide.hi > iv.hi[1]
    assert np.isnan(wilson_interval(0, 0)[:3]).all()


@pytest.mark.parametrize(("k", "n"), [(3, 2), (-1, 5), (1.5, 4), (np.nan, 4)])
def test_wilson_interval_refuses_impossible_counts(k, n):
    with pytest.raises(ValueError, match="successes and n must be"):
        wilson_interval(k, n)
