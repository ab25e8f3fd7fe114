"""Sarle's bimodality coefficient: population values, a clear two-cluster and a one-cluster
sample, the crash-or-not shape of a scenario's seeds, and the undefined cases."""

from __future__ import annotations

import numpy as np
import pytest

from market.stats.modality import (
    BIMODAL_THRESHOLD,
    bimodality_coefficient,
    excess_kurtosis,
    is_bimodal,
)


def test_large_samples_approach_the_population_values():
    rng = np.random.default_rng(0)
    # normal 1/3, uniform 5/9 (the threshold itself), two equal point masses 1
    assert bimodality_coefficient(rng.normal(size=200_000)) == pytest.approx(1 / 3, abs=0.01)
    uniform = bimodality_coefficient(rng.uniform(size=200_000))
    assert uniform == pytest.approx(BIMODAL_THRESHOLD, abs=0.01)
    assert bimodality_coefficient(np.repeat([0.0, 1.0], 5000)) == pytest.approx(1.0, abs=0.01)


def test_two_clusters_of_seeds_are_flagged_and_one_cluster_is_not():
    rng = np.random.default_rng(1)
    # a crash in half of 20 seeds: worst 5 minutes near -0.3% or near -5%
    crash_or_not = np.r_[rng.normal(-0.3, 0.1, 10), rng.normal(-5.0, 0.5, 10)]
    one_cluster = rng.normal(-2.5, 1.0, 20)
    assert bimodality_coefficient(crash_or_not) > BIMODAL_THRESHOLD
    assert bool(is_bimodal(crash_or_not))
    assert bimodality_coefficient(one_cluster) < BIMODAL_THRESHOLD
    assert not bool(is_bimodal(one_cluster))


def test_normal_samples_of_twenty_are_rarely_flagged():
    rng = np.random.default_rng(2)
    flagged = is_bimodal(rng.normal(size=(500, 20)))
    assert flagged.shape == (500,)
    assert flagged.mean() < 0.05


def test_vectorised_nan_ignoring_and_undefined_cases():
    rng = np.random.default_rng(3)
    two = np.r_[np.zeros(8), np.ones(8)] + rng.normal(0, 0.05, 16)
    x = np.vstack([two, rng.normal(size=16)])
    x[0, 3] = np.nan  # a seed without a finished run
    b = bimodality_coefficient(x)
    assert b.shape == (2,) and b[0] > BIMODAL_THRESHOLD > b[1]
    np.testing.assert_allclose(bimodality_coefficient(x.T, axis=0), b)
    assert b[0] == pytest.approx(bimodality_coefficient(np.delete(x[0], 3)))
    # fewer than four values, or all equal: no coefficient, and no flag
    assert np.isnan(bimodality_coefficient([1.0, 2.0, 3.0]))
    assert np.isnan(bimodality_coefficient(np.full(10, 0.7)))
    assert not bool(is_bimodal(np.full(10, 0.7)))


def test_skewed_samples_pass_the_coefficient_but_are_not_called_bimodal():
    rng = np.random.default_rng(5)
    # a long tail lifts b above 5/9 without a second hump: its kurtosis is positive
    tail = rng.exponential(size=(400, 20))
    b = bimodality_coefficient(tail)
    assert (b > BIMODAL_THRESHOLD).mean() > 0.4
    assert (excess_kurtosis(tail) > 0).mean() > 0.7
    assert is_bimodal(tail).mean() < 0.1
    # a crisis in 5 of 20 seeds is two humps; in 2 of 20 it is two outlying seeds
    five = np.r_[rng.normal(-5.0, 0.5, 5), rng.normal(-0.3, 0.1, 15)]
    two = np.r_[rng.normal(-5.0, 0.5, 2), rng.normal(-0.3, 0.1, 18)]
    assert bool(is_bimodal(five)) and excess_kurtosis(five) < 0
    assert bimodality_coefficient(two) > BIMODAL_THRESHOLD and not bool(is_bimodal(two))
    assert excess_kurtosis(rng.normal(size=100_000)) == pytest.approx(0.0, abs=0.05)
