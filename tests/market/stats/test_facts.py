"""Facts measures on synthetic data whose answer is known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from market.stats.facts import (
    MINUTES_PER_DAY,
    acf_band,
    ar1_half_life,
    block_returns,
    bootstrap_decay_ratio,
    bootstrap_impact_slope,
    deseasonalise,
    fit_log_log,
    hill_estimate,
    impact_path,
    intraday_ratio,
    log_spaced_lags,
    pooled_autocorrelation,
    pooled_decay_ratio,
    pooled_impact_slope,
    power_law_exponent,
    r_squared,
    square_root_prefactor,
    time_of_day_profile,
    value_at,
    variance_ratio,
)
from market.validation import ConfigError


def test_block_returns_are_non_overlapping_and_drop_the_incomplete_block():
    x = np.arange(11, dtype=float) ** 2
    assert block_returns(x, 5).tolist() == [25.0, 75.0]
    assert block_returns(x, 1).tolist() == np.diff(x).tolist()


def test_r_squared_of_a_signal_plus_independent_noise_is_its_variance_share():
    rng = np.random.default_rng(1)
    f = rng.normal(0.0, 1.0, 200_000)
    noise = rng.normal(0.0, np.sqrt(1.5), f.size)  # R² = 1 / (1 + 1.5) = 0.4
    assert r_squared(f + noise, f) == pytest.approx(0.4, abs=0.01)
    assert r_squared(3.0 * f - 2.0, f) == pytest.approx(1.0)


def test_r_squared_refuses_a_constant_series():
    with pytest.raises(ConfigError, match="vary"):
        r_squared(np.ones(10), np.arange(10.0))


def test_ar1_half_life_of_an_ou_process_with_a_known_rate():
    rng = np.random.default_rng(2)
    b = 0.5 ** (1 / 20)  # half-life 20 steps
    segs = []
    for _ in range(4):
        x = np.zeros(50_000)
        e = rng.standard_normal(x.size)
        for t in range(1, x.size):
            x[t] = b * x[t - 1] + e[t]
        segs.append(x)
    assert ar1_half_life(segs, dt=1.0) == pytest.approx(20.0, rel=0.1)
    assert ar1_half_life(segs, dt=60.0) == pytest.approx(1200.0, rel=0.1)
    explosive = 1.001 ** np.arange(1_000)  # x[t+1] = 1.001 x[t]: moves away, never reverts
    assert ar1_half_life([explosive]) == float("inf")


def test_pooled_autocorrelation_of_iid_noise_is_zero_and_of_an_ar1_is_b_to_the_lag():
    rng = np.random.default_rng(3)
    iid = [rng.standard_normal(20_000) for _ in range(3)]
    acf = pooled_autocorrelation(iid, [0, 1, 5, 30])
    assert acf[0] == pytest.approx(1.0)
    assert np.all(np.abs(acf[1:]) < 2 * acf_band(60_000))
    x = np.zeros(200_000)
    e = rng.standard_normal(x.size)
    for t in range(1, x.size):
        x[t] = 0.8 * x[t - 1] + e[t]
    assert pooled_autocorrelation([x], [1, 3]) == pytest.approx([0.8, 0.512], abs=0.01)


def test_pooled_autocorrelation_never_pairs_values_of_two_segments():
    # each segment alone is a constant offset: pairs inside a segment are all positive, while
    # pairing across segments would mix +1 and -1
    segs = [np.full(10, 1.0), np.full(10, -1.0)]
    assert pooled_autocorrelation(segs, [5])[0] == pytest.approx(1.0)
    assert np.isnan(pooled_autocorrelation(segs, [15])[0])


def test_log_spaced_lags_cover_both_ends_without_repeats():
    lags = log_spaced_lags(1, 390)
    assert lags[0] == 1 and lags[-1] == 390
    assert np.all(np.diff(lags) > 0)


def test_power_law_exponent_of_a_synthetic_power_law():
    lags = log_spaced_lags(1, 2000)
    acf = 0.3 * lags.astype(float) ** -0.35
    beta, used = power_law_exponent(lags, acf, 30, 390)
    assert beta == pytest.approx(0.35)
    assert used >= 5
    acf[lags > 100] = -0.01  # negative values cannot enter a log fit
    assert power_law_exponent(lags, acf, 200, 390) == (pytest.approx(float("nan"), nan_ok=True), 0)


def test_variance_ratio_of_iid_returns_is_one_and_of_mean_reverting_returns_below():
    rng = np.random.default_rng(4)
    iid = [rng.standard_normal(50_000) for _ in range(2)]
    for h in (5, 30, 390):
        assert variance_ratio(iid, h) == pytest.approx(1.0, abs=0.08)
    noise = rng.standard_normal(100_001)
    reverting = [np.diff(noise)]  # returns of pure noise around a constant level
    assert variance_ratio(reverting, 30) == pytest.approx(1 / 30, rel=0.1)


def test_intraday_profile_and_ratio_of_a_synthetic_u():
    minute = np.arange(MINUTES_PER_DAY)
    u = np.where(minute < 30, 3.0, np.where(minute >= 360, 2.0, 1.0))
    values = np.tile(u, 5)
    prof = time_of_day_profile(values)
    assert prof == pytest.approx(u)
    midday = slice(150, 270)
    assert intraday_ratio(prof, slice(0, 30), midday) == pytest.approx(3.0)
    assert intraday_ratio(prof, slice(360, 390), midday) == pytest.approx(2.0)
    coarse = time_of_day_profile(values, bin_width=30)
    assert coarse.size == 13 and coarse[0] == pytest.approx(3.0)
    assert deseasonalise(values, coarse) == pytest.approx(np.ones(values.size))


def test_time_of_day_profile_needs_whole_days():
    with pytest.raises(ConfigError, match="whole days"):
        time_of_day_profile(np.ones(MINUTES_PER_DAY + 1))


def test_hill_estimate_of_student_t_returns_its_degrees_of_freedom():
    rng = np.random.default_rng(5)
    est = hill_estimate(rng.standard_t(3, 400_000), tail_fraction=0.005)
    assert est.k == 2000
    assert est.se == pytest.approx(est.alpha / np.sqrt(2000))
    assert est.alpha == pytest.approx(3.0, abs=0.25)


def test_fit_log_log_recovers_a_square_root_law():
    qv = np.array([0.001, 0.003, 0.01, 0.03, 0.05])
    slope, intercept = fit_log_log(qv, 0.8 * 0.01 * np.sqrt(qv))
    assert slope == pytest.approx(0.5)
    assert np.exp(intercept) == pytest.approx(0.008)
    assert square_root_prefactor(0.8 * 0.01 * np.sqrt(qv), 0.01, qv) == pytest.approx(0.8)


def test_impact_path_is_signed_by_the_side_and_read_at_a_time():
    without = np.array([100.0, 100.0, 100.0, 100.0])
    up = np.array([100.0, 100.0, 101.0, 100.5])
    assert impact_path(up, without, 1) == pytest.approx(np.log(up / 100.0))
    assert impact_path(up, without, -1) == pytest.approx(-np.log(up / 100.0))
    times = np.array([0.0, 10.0, 20.0, 30.0])
    assert value_at(times, up, 25.0) == 101.0
    assert np.isnan(value_at(times, up, -1.0))
    with pytest.raises(ConfigError, match="side"):
        impact_path(up, without, 0)


def test_pooled_decay_ratio_weights_sizes_by_their_peak_and_skips_missing_ones():
    peak = [[2.0, 10.0, 4.0], [4.0, 10.0, np.nan]]
    after = [[1.0, 6.0, np.nan], [1.0, 4.0, np.nan]]
    # sizes 1 and 2 qualify (size 3 has no finite after): (1.0 + 5.0) / (3.0 + 10.0)
    assert pooled_decay_ratio(peak, after) == pytest.approx(6.0 / 13.0)
    assert np.isnan(pooled_decay_ratio([[1.0]], [[np.nan]]))
    assert np.isnan(pooled_decay_ratio([[-1.0]], [[0.5]]))  # no positive peak to share
    with pytest.raises(ConfigError, match="same"):
        pooled_decay_ratio([[1.0, 2.0]], [[1.0]])


def test_bootstrap_interval_covers_the_ratio_and_narrows_with_more_seeds():
    rng = np.random.default_rng(5)

    def sample(n):
        peak = 1.0 + 0.1 * rng.standard_normal((n, 2))
        return peak, 0.6 * peak + 0.5 * rng.standard_normal((n, 2))

    few = bootstrap_decay_ratio(*sample(6), np.random.default_rng(1))
    many = bootstrap_decay_ratio(*sample(400), np.random.default_rng(1))
    for ratio, lo, hi in (few, many):
        assert lo <= ratio <= hi
    assert many[2] - many[1] < 0.5 * (few[2] - few[1])
    assert many[1] < 0.6 < many[2]
    # the same stream gives the same interval
    peak, after = sample(8)
    assert bootstrap_decay_ratio(peak, after, np.random.default_rng(3)) == (
        bootstrap_decay_ratio(peak, after, np.random.default_rng(3))
    )
    with pytest.raises(ConfigError, match="level"):
        bootstrap_decay_ratio(peak, after, np.random.default_rng(3), level=1.0)


def test_pooled_impact_slope_fits_the_seed_means_and_skips_sizes_without_positive_impact():
    q = np.array([[0.001, 0.01, 0.1], [0.001, 0.01, 0.1]])
    peak = 0.02 * np.sqrt(q) * np.array([[0.5], [1.5]])  # seeds differ by a factor only
    assert pooled_impact_slope(q, peak) == pytest.approx(0.5)
    peak[:, 0] = [-1e-3, 0.0]  # the smallest size has no positive mean: left out
    assert pooled_impact_slope(q, peak) == pytest.approx(0.5)
    peak[:, 1] = -1e-3
    assert np.isnan(pooled_impact_slope(q, peak))
    with pytest.raises(ConfigError, match="shape"):
        pooled_impact_slope(q, peak[:, :2])


def test_bootstrap_slope_interval_covers_the_law_and_narrows_with_more_seeds():
    rng = np.random.default_rng(7)
    sizes = np.array([0.003, 0.01, 0.03])

    def sample(n):
        q = np.tile(sizes, (n, 1))
        return q, np.sqrt(q) * 0.01 + 2e-4 * rng.standard_normal((n, sizes.size))

    few = bootstrap_impact_slope(*sample(4), np.random.default_rng(1))
    many = bootstrap_impact_slope(*sample(400), np.random.default_rng(1))
    for slope, lo, hi in (few, many):
        assert lo <= slope <= hi
    assert many[2] - many[1] < 0.5 * (few[2] - few[1])
    assert many[1] - 0.01 < 0.5 < many[2] + 0.01  # resolved: near the law, tightly
