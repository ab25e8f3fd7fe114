"""Stylized-fact statistics: known distributions and processes, hand examples, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.exchange.clock import SECONDS_PER_YEAR
from market.stats.stylized import (
    StylizedInputError,
    autocorrelation,
    excess_kurtosis,
    hill_tail_index,
    log_returns,
    max_drawdown_pct,
    realised_volatility,
    resample_last,
    stylized_facts,
)


def _garch_returns(n: int, rng: np.random.Generator, omega=1e-6, alpha=0.1, beta=0.85):
    r = np.empty(n)
    var = omega / (1 - alpha - beta)
    z = rng.standard_normal(n)
    for i in range(n):
        r[i] = np.sqrt(var) * z[i]
        var = omega + alpha * r[i] ** 2 + beta * var
    return r


def test_log_returns_hand_example():
    np.testing.assert_allclose(log_returns([100.0, 110.0, 99.0]), [np.log(1.1), np.log(0.9)])
    two_paths = log_returns([[1.0, 2.0], [4.0, 2.0]])
    np.testing.assert_allclose(two_paths, [[np.log(2)], [-np.log(2)]])


@pytest.mark.parametrize("bad", [[1.0, 0.0, 2.0], [1.0, -1.0], [1.0, np.nan]])
def test_log_returns_refuses_non_positive_or_nan(bad):
    with pytest.raises(StylizedInputError, match="prices"):
        log_returns(bad)


def test_resample_last_hand_example():
    times = [0.0, 30.0, 59.0, 61.0, 200.0]
    prices = [100.0, 101.0, 102.0, 103.0, 99.0]
    grid, values = resample_last(times, prices, interval=60.0, start=0.0, end=240.0)
    np.testing.assert_array_equal(grid, [0.0, 60.0, 120.0, 180.0, 240.0])
    # 60: last at or before 60 is 102 (t=59); 120, 180: forward-filled 103; 240: 99.
    np.testing.assert_array_equal(values, [100.0, 102.0, 103.0, 103.0, 99.0])


def test_resample_last_nan_before_first_price_and_ties_take_later():
    grid, values = resample_last([10.0, 10.0, 25.0], [1.0, 2.0, 3.0], 10.0, 0.0, 25.0)
    np.testing.assert_array_equal(grid, [0.0, 10.0, 20.0])
    assert np.isnan(values[0])
    np.testing.assert_array_equal(values[1:], [2.0, 2.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"times": [1.0, 0.0], "prices": [1.0, 1.0]}, "non-decreasing"),
        ({"times": [0.0], "prices": [1.0, 2.0]}, "same length"),
        ({"interval": 0.0}, "interval"),
        ({"start": 5.0, "end": 1.0}, "start <= end"),
    ],
)
def test_resample_last_validation(kwargs, match):
    args = {"times": [0.0, 1.0], "prices": [1.0, 2.0], "interval": 1.0, "start": 0.0, "end": 2.0}
    args.update(kwargs)
    with pytest.raises(StylizedInputError, match=match):
        resample_last(**args)


def test_gaussian_returns_have_zero_excess_kurtosis_and_a_thin_tail():
    r = np.random.default_rng(7).standard_normal(50_000)
    assert abs(excess_kurtosis(r)) < 0.1
    assert hill_tail_index(r, tail_fraction=0.05) > 4.5


def test_student_t3_has_hill_index_near_three():
    r = np.random.default_rng(11).standard_t(3, 50_000)
    # The 2% tail keeps the estimator's bias (downward at wider tails) inside the tolerance.
    assert hill_tail_index(r, tail_fraction=0.02) == pytest.approx(3.0, abs=0.35)
    assert hill_tail_index(r, tail_fraction=0.01, side="left") == pytest.approx(3.0, abs=0.45)
    assert hill_tail_index(r, tail_fraction=0.01, side="right") == pytest.approx(3.0, abs=0.45)
    assert excess_kurtosis(r) > 3.0


def test_hill_tail_fraction_and_side_change_the_estimate():
    rng = np.random.default_rng(3)
    # Losses heavy (t with 2 d.o.f.), gains light (normal): the two sides must disagree.
    r = np.where(
        rng.random(40_000) < 0.5,
        -np.abs(rng.standard_t(2, 40_000)),
        np.abs(rng.standard_normal(40_000)),
    )
    left = hill_tail_index(r, 0.02, side="left")
    right = hill_tail_index(r, 0.02, side="right")
    assert left < 3.0 < right
    assert hill_tail_index(r, 0.02) != hill_tail_index(r, 0.05)


def test_hill_hand_example():
    # |r| sorted: 8, 4, 2, 1, ...; k = floor(0.3 * 10) = 3 -> mean(log(8/1), log(4/1), log(2/1)).
    r = np.array([8.0, -4.0, 2.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    expected = 1.0 / np.mean(np.log([8.0, 4.0, 2.0]))
    assert hill_tail_index(r, tail_fraction=0.3) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tail_fraction": 0.0}, "tail_fraction"),
        ({"tail_fraction": 0.01}, "k=0"),
        ({"side": "up"}, "side"),
    ],
)
def test_hill_validation(kwargs, match):
    with pytest.raises(StylizedInputError, match=match):
        hill_tail_index(np.linspace(-1, 1, 50), **kwargs)


def test_autocorrelation_of_ar1_matches_phi_power_lag():
    rng = np.random.default_rng(5)
    phi, n = 0.6, 50_000
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    lags = np.array([0, 1, 2, 3, 5])
    np.testing.assert_allclose(autocorrelation(x, lags), phi**lags, atol=0.02)


def test_garch_returns_cluster_in_absolute_value_only():
    r = _garch_returns(20_000, np.random.default_rng(2))
    acf_r = autocorrelation(r, [1, 2, 3, 4, 5])
    acf_abs = autocorrelation(np.abs(r), [1, 5, 10, 30])
    noise_band = 3.0 / np.sqrt(r.size)  # about three standard errors of a white-noise ACF
    assert np.all(np.abs(acf_r) < 1.5 * noise_band)
    assert np.all(acf_abs[:3] > 0.05)
    assert acf_abs[3] > noise_band
    assert acf_abs[0] > acf_abs[-1]


@pytest.mark.parametrize(
    ("x", "lags", "match"),
    [
        ([1.0, 2.0, 3.0], [3], "lags"),
        ([1.0, 2.0, 3.0], [1.5], "integers"),
        ([2.0, 2.0], [1], "variance"),
    ],
)
def test_autocorrelation_validation(x, lags, match):
    with pytest.raises(StylizedInputError, match=match):
        autocorrelation(x, lags)


def test_realised_volatility_uses_the_periods_given():
    r = np.full(100, 0.001)
    assert realised_volatility(r, 98_280) == pytest.approx(0.001 * np.sqrt(98_280))
    assert realised_volatility(r, 252) == pytest.approx(0.001 * np.sqrt(252))
    with pytest.raises(StylizedInputError, match="periods_per_year"):
        realised_volatility(r, 0)


def test_max_drawdown_hand_example():
    assert max_drawdown_pct([100, 120, 90, 110, 60, 130]) == pytest.approx(50.0)
    assert max_drawdown_pct([1.0, 2.0, 3.0]) == 0.0
    np.testing.assert_allclose(max_drawdown_pct([[100, 80], [100, 90]]), [20.0, 10.0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=40))
def test_max_drawdown_is_a_percentage_of_the_peak(prices):
    dd = max_drawdown_pct(prices)
    assert 0.0 <= dd < 100.0
    p = np.asarray(prices)
    worst = max(100 * (1 - p[j] / p[: j + 1].max()) for j in range(p.size))
    assert dd == pytest.approx(worst)


def _random_walk_path(seconds: float, rng: np.random.Generator):
    times = np.sort(rng.uniform(0.0, seconds, int(seconds / 5)))
    steps = 0.0004 * rng.standard_t(3, times.size)
    return times, 100.0 * np.exp(np.cumsum(steps))


def test_stylized_facts_names_sizes_and_json():
    rng = np.random.default_rng(4)
    times, prices = _random_walk_path(5 * 23_400, rng)
    facts = stylized_facts(times, prices, start=0.0, end=5 * 23_400.0)
    expected = {
        "n_returns_1m",
        "n_returns_5m",
        "excess_kurtosis_1m",
        "hill_tail_index_5m",
        "hill_left_tail_index_5m",
        "hill_right_tail_index_5m",
        "realised_vol_1m_annual",
        "max_drawdown_pct",
        *(f"acf_r_1m_lag_{k}" for k in (1, 2, 3, 4, 5)),
        *(f"acf_abs_r_1m_lag_{k}" for k in (1, 5, 10, 30)),
    }
    assert set(facts) == expected
    # The first grid point precedes the first observation and is dropped.
    assert facts["n_returns_1m"] == 5 * 390 - 1
    assert facts["n_returns_5m"] == 5 * 78 - 1
    assert facts["excess_kurtosis_1m"] > 0
    assert all(abs(facts[f"acf_r_1m_lag_{k}"]) < 0.1 for k in range(1, 6))
    json.dumps(facts, allow_nan=False)

    _, p1 = resample_last(times, prices, 60.0, 0.0, 5 * 23_400.0)
    r1 = log_returns(p1[np.isfinite(p1)])
    assert facts["realised_vol_1m_annual"] == pytest.approx(
        realised_volatility(r1, SECONDS_PER_YEAR / 60)
    )
    assert facts["acf_abs_r_1m_lag_5"] == pytest.approx(autocorrelation(np.abs(r1), [5])[0])


def test_stylized_facts_options_change_the_output():
    rng = np.random.default_rng(9)
    times, prices = _random_walk_path(2 * 23_400, rng)
    default = stylized_facts(times, prices)
    custom = stylized_facts(
        times,
        prices,
        tail_fraction=0.1,
        return_lags=(1, 10),
        abs_return_lags=(2,),
        base_interval=30.0,
        tail_interval=600.0,
    )
    assert "acf_r_1m_lag_10" in custom and "acf_r_1m_lag_2" not in custom
    assert {k for k in custom if k.startswith("acf_abs")} == {"acf_abs_r_1m_lag_2"}
    assert custom["n_returns_1m"] > default["n_returns_1m"]
    assert custom["n_returns_5m"] < default["n_returns_5m"]
    assert custom["hill_tail_index_5m"] != default["hill_tail_index_5m"]


def test_stylized_facts_short_or_flat_paths_report_none():
    facts = stylized_facts([0.0, 60.0, 120.0], [100.0, 100.0, 100.0])
    assert facts["n_returns_1m"] == 2
    assert facts["excess_kurtosis_1m"] is None
    assert facts["hill_tail_index_5m"] is None
    assert facts["acf_abs_r_1m_lag_30"] is None
    assert facts["max_drawdown_pct"] == 0.0
    json.dumps(facts, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prices": [100.0, -1.0]}, "prices"),
        ({"tail_fraction": 1.5}, "tail_fraction"),
        ({"return_lags": (0, 1)}, "return_lags"),
        ({"tail_interval": -5.0}, "tail_interval"),
    ],
)
def test_stylized_facts_validation(kwargs, match):
    args = {"times": [0.0, 60.0], "prices": [100.0, 101.0]}
    args.update(kwargs)
    times, prices = args.pop("times"), args.pop("prices")
    with pytest.raises(StylizedInputError, match=match):
        stylized_facts(times, prices, **args)
