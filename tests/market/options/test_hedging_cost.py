"""Hedging costs: the initial hedge, expected rebalancing cost and Monte-Carlo discrete hedging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.exchange.clock import SECONDS_PER_YEAR
from market.options.hedging_cost import (
    BandRule,
    HedgingSimulation,
    TimeRule,
    expected_dollar_gamma,
    expected_rebalancing_cost,
    initial_hedging_cost,
    simulate_discrete_hedging,
)
from market.options.pricing import OptionInputError, bs_greeks, bs_price, leland_volatility

WEEK = 5 / 252
HOUR = 3600 / SECONDS_PER_YEAR


def dollar_gamma(spot, strike, t, vol, rate=0.0, div=0.0):
    return bs_greeks(spot, strike, t, vol, rate, div).gamma * spot**2


# ---- initial hedge -----------------------------------------------------------------------


def test_initial_hedging_cost_is_the_cost_of_the_delta_trade():
    # sell 10 calls of delta 0.5: buy 500 shares at 100 paying 5 bp -> 25 currency units
    assert initial_hedging_cost(0.5, -10, 100.0, 0.0005) == pytest.approx(25.0)
    assert initial_hedging_cost(0.5, 10, 100.0, 0.0005) == pytest.approx(25.0)
    assert initial_hedging_cost(-0.3, 1, 100.0, 0.001, multiplier=10) == pytest.approx(0.3)
    costs = initial_hedging_cost(np.array([0.2, 0.5, 0.9]), np.array([[1], [2]]), 50.0, 0.001)
    assert costs.shape == (2, 3)
    np.testing.assert_allclose(costs[1], 2 * costs[0])
    with pytest.raises(OptionInputError, match="cost"):
        initial_hedging_cost(0.5, 1, 100.0, -0.001)


# ---- expected dollar gamma and rebalancing cost -------------------------------------------


def test_expected_dollar_gamma_is_flat_in_time_when_vols_agree():
    elapsed = np.linspace(0.0, 0.25, 6)
    for strike in (80.0, 100.0, 125.0):
        expected = expected_dollar_gamma(100.0, strike, 0.25, elapsed, 0.3)
        np.testing.assert_allclose(expected, dollar_gamma(100.0, strike, 0.25, 0.3), rtol=1e-12)
    # with a rate it grows like exp(rate * u): discounted, the cost rate is flat again
    grown = expected_dollar_gamma(100.0, 100.0, 0.5, elapsed, 0.3, rate=0.05, div=0.0)
    start = dollar_gamma(100.0, 100.0, 0.5, 0.3, 0.05)
    np.testing.assert_allclose(grown, start * np.exp(0.05 * elapsed), rtol=1e-12)


def test_expected_dollar_gamma_matches_monte_carlo_with_different_vols():
    rng = np.random.default_rng(11)
    spot, strike, t, u, hedge_vol, realised = 100.0, 105.0, 0.5, 0.3, 0.2, 0.35
    z = rng.standard_normal(400_000)
    s_u = spot * np.exp(-0.5 * realised**2 * u + realised * math.sqrt(u) * z)
    sample = dollar_gamma(s_u, strike, t - u, hedge_vol)
    exact = expected_dollar_gamma(spot, strike, t, u, hedge_vol, realised)
    assert exact == pytest.approx(sample.mean(), abs=4 * sample.std() / math.sqrt(z.size))
    assert exact != pytest.approx(expected_dollar_gamma(spot, strike, t, u, hedge_vol), rel=0.05)
    with pytest.raises(OptionInputError, match="elapsed"):
        expected_dollar_gamma(spot, strike, t, 0.6, hedge_vol)


def test_expected_rebalancing_cost_closed_form_and_leland_premium():
    spot = strike = 100.0
    sigma, k = 0.4, 0.001
    per_option = expected_rebalancing_cost(spot, strike, WEEK, sigma, k / 2, HOUR, multiplier=1)
    # 32 full hours then a half hour to the close of the fifth day
    sqrt_sum = 32 * math.sqrt(HOUR) + math.sqrt(WEEK - 32 * HOUR)
    closed = (k / 2) * dollar_gamma(spot, strike, WEEK, sigma) * sigma * math.sqrt(2 / math.pi)
    assert per_option == pytest.approx(closed * sqrt_sum, rel=1e-10)
    # ... which is what Leland's adjusted volatility charges, to first order
    premium = bs_price(spot, strike, WEEK, leland_volatility(sigma, k, HOUR)) - bs_price(
        spot, strike, WEEK, sigma
    )
    assert per_option == pytest.approx(premium, rel=0.05)
    # linear in cost, contracts and multiplier; costlier when rebalancing more often
    scaled = expected_rebalancing_cost(spot, strike, WEEK, sigma, k, HOUR, contracts=-3)
    assert scaled == pytest.approx(2 * 3 * 100 * per_option, rel=1e-12)
    quarter = expected_rebalancing_cost(spot, strike, WEEK, sigma, k / 2, HOUR / 4, multiplier=1)
    assert quarter == pytest.approx(2 * per_option, rel=0.02)


def test_expected_rebalancing_cost_grouping_and_broadcasting():
    kwargs = {"cost": 0.0005, "rebalance_interval": 60 / SECONDS_PER_YEAR, "rate": 0.04}
    # half a year of minutes is 49,140 rebalances: summed one by one, then in groups
    exact = expected_rebalancing_cost(
        100.0, 95.0, 0.5, 0.25, hedge_vol=0.2, max_dates=50_000, **kwargs
    )
    grouped = expected_rebalancing_cost(100.0, 95.0, 0.5, 0.25, hedge_vol=0.2, **kwargs)
    coarse = expected_rebalancing_cost(
        100.0, 95.0, 0.5, 0.25, hedge_vol=0.2, max_dates=50, **kwargs
    )
    assert grouped == pytest.approx(exact, rel=1e-4)
    assert coarse == pytest.approx(exact, rel=1e-2)
    with pytest.raises(OptionInputError, match="max_dates"):
        expected_rebalancing_cost(100.0, 95.0, 0.5, 0.25, max_dates=0, **kwargs)
    strikes = np.array([90.0, 100.0, 110.0])
    times = np.array([[0.0], [WEEK], [0.5]])
    costs = expected_rebalancing_cost(100.0, strikes, times, 0.25, **kwargs)
    assert costs.shape == (3, 3)
    assert (costs[0] == 0).all() and (costs[1:] > 0).all()
    assert costs[2, 1] == pytest.approx(
        expected_rebalancing_cost(100.0, 100.0, 0.5, 0.25, **kwargs), rel=1e-12
    )
    with pytest.raises(OptionInputError, match="rebalance_interval"):
        expected_rebalancing_cost(100.0, 100.0, 0.5, 0.25, 0.0005, 0.0)


# ---- Monte-Carlo discrete hedging ---------------------------------------------------------


def simulate(**overrides) -> HedgingSimulation:
    args = {
        "spot": 100.0,
        "strike": 100.0,
        "t": WEEK,
        "implied_vol": 0.3,
        "realised_vol": 0.3,
        "rule": TimeRule(300.0),
        "cost": 0.0,
        "n_paths": 8000,
        "rng": np.random.default_rng(2024),
    }
    args |= overrides
    return simulate_discrete_hedging(**args)


def test_fair_vol_and_fine_hedging_break_even_and_error_shrinks_with_frequency():
    fine = simulate(rule=TimeRule(300.0))
    stats = fine.summary()
    premium = bs_price(100.0, 100.0, WEEK, 0.3)
    assert abs(stats["pnl_mean"]) < 4 * stats["pnl_stderr"] + 0.002 * premium
    assert stats["pnl_std"] < 0.05 * premium
    # Derman-Kamal: hedging error std ~ 1 / sqrt(number of rebalances)
    quarter_hour = simulate(rule=TimeRule(900.0), rng=np.random.default_rng(5))
    hourly = simulate(rule=TimeRule(3600.0), rng=np.random.default_rng(5))
    ratio = quarter_hour.pnl.std() / hourly.pnl.std()
    assert ratio == pytest.approx(0.5, abs=0.07)
    assert hourly.pnl.std() > fine.pnl.std()


def test_realised_above_implied_costs_the_short_hedger_its_gamma():
    t, implied, realised = 21 / 252, 0.2, 0.3
    result = simulate(t=t, implied_vol=implied, realised_vol=realised, rule=TimeRule(1800.0))
    stats = result.summary()
    # E[P&L] = -integral of 1/2 E[S^2 Gamma] (realised^2 - implied^2) du, Gamma at implied
    grid = (np.arange(400) + 0.5) * t / 400
    cash_gamma = expected_dollar_gamma(100.0, 100.0, t, grid, implied, realised)
    expected = -0.5 * (realised**2 - implied**2) * cash_gamma.mean() * t
    assert stats["pnl_mean"] < 0
    assert stats["pnl_mean"] == pytest.approx(expected, rel=0.05, abs=4 * stats["pnl_stderr"])
    vega = bs_greeks(100.0, 100.0, t, implied).vega
    assert 0.6 < stats["pnl_mean"] / (vega * (implied - realised)) < 1.4
    # the mirror image: a long option hedger earns it
    long = simulate(
        t=t, implied_vol=implied, realised_vol=realised, position=1, rule=TimeRule(1800.0)
    )
    assert long.pnl.mean() == pytest.approx(-stats["pnl_mean"], rel=0.1)


def test_leland_price_covers_hourly_hedging_costs():
    sigma, k = 0.4, 0.001
    sigma_adj = leland_volatility(sigma, k, HOUR)
    common = {"t": WEEK, "realised_vol": sigma, "rule": TimeRule(3600.0), "cost": k / 2}
    common |= {"n_paths": 20_000}
    paid_leland = simulate(implied_vol=sigma_adj, rng=np.random.default_rng(1), **common)
    paid_plain = simulate(implied_vol=sigma, rng=np.random.default_rng(1), **common)
    premium = bs_price(100.0, 100.0, WEEK, sigma_adj) - bs_price(100.0, 100.0, WEEK, sigma)

    after_costs = paid_leland.pnl - paid_leland.trading_cost  # initial purchase excluded
    stderr = after_costs.std() / math.sqrt(after_costs.size)
    assert abs(after_costs.mean()) < 3 * stderr
    plain_after_costs = paid_plain.pnl - paid_plain.trading_cost
    assert plain_after_costs.mean() == pytest.approx(-premium, rel=0.1)
    assert premium > 10 * stderr  # the test can tell the two apart
    # the simulated cost matches the Leland approximation of it
    expected = expected_rebalancing_cost(100.0, 100.0, WEEK, sigma, k / 2, HOUR, multiplier=1)
    assert paid_plain.trading_cost.mean() == pytest.approx(expected, rel=0.05)
    assert paid_plain.n_trades.max() == 33  # 32 hourly rebalances and the expiry adjustment


def test_band_rules():
    every_step = simulate(rule=TimeRule(300.0), cost=0.0005, rng=np.random.default_rng(3))
    zero_band = simulate(rule=BandRule(0.0), cost=0.0005, rng=np.random.default_rng(3))
    np.testing.assert_allclose(zero_band.pnl, every_step.pnl, rtol=0, atol=1e-12)
    np.testing.assert_allclose(zero_band.trading_cost, every_step.trading_cost, atol=1e-12)

    narrow = simulate(rule=BandRule(0.02), cost=0.0005, rng=np.random.default_rng(3))
    wide = simulate(rule=BandRule(0.1), cost=0.0005, rng=np.random.default_rng(3))
    assert wide.n_trades.mean() < narrow.n_trades.mean() < every_step.n_trades.mean()
    assert wide.trading_cost.mean() < narrow.trading_cost.mean() < every_step.trading_cost.mean()
    assert wide.pnl.std() > narrow.pnl.std() > every_step.pnl.std()
    to_edge = simulate(rule=BandRule(0.1, "edge"), cost=0.0005, rng=np.random.default_rng(3))
    assert to_edge.n_trades.mean() > wide.n_trades.mean()  # small trades, more often
    assert not np.allclose(to_edge.pnl, wide.pnl)


def test_positions_puts_rates_and_accounting():
    short = simulate(rng=np.random.default_rng(9), cost=0.001, rule=TimeRule(1800.0))
    double = simulate(rng=np.random.default_rng(9), cost=0.001, rule=TimeRule(1800.0), position=-2)
    long = simulate(rng=np.random.default_rng(9), cost=0.001, rule=TimeRule(1800.0), position=1)
    np.testing.assert_allclose(double.pnl, 2 * short.pnl, atol=1e-10)
    np.testing.assert_allclose(long.pnl, -short.pnl, atol=1e-10)
    np.testing.assert_allclose(long.trading_cost, short.trading_cost, atol=1e-12)
    np.testing.assert_allclose(short.net_pnl, short.pnl - short.initial_cost - short.trading_cost)
    assert short.initial_cost[0] == pytest.approx(
        0.001 * 100.0 * bs_greeks(100.0, 100.0, WEEK, 0.3).delta
    )
    # financing, dividends and a real-world drift leave a fair hedge unbiased, puts included
    for overrides in (
        {"call": False, "strike": 95.0},
        {"rate": 0.08, "div": 0.03, "t": 0.1, "rule": TimeRule(3600.0), "n_paths": 4000},
        {"drift": 0.5, "t": 0.1, "rule": TimeRule(3600.0), "n_paths": 4000},
    ):
        stats = simulate(**overrides).summary()
        assert abs(stats["pnl_mean"]) < 4 * stats["pnl_stderr"] + 0.002
    stats = short.summary()
    assert set(stats) >= {"pnl_mean", "net_pnl_q05", "trading_cost_mean", "n_trades_std"}
    assert stats["net_pnl_mean"] < stats["pnl_mean"]


def test_same_seed_same_paths_and_terminal_spot():
    a = simulate(n_paths=500, rng=np.random.default_rng(4))
    b = simulate(n_paths=500, rng=np.random.default_rng(4), rule=TimeRule(3600.0))
    np.testing.assert_array_equal(a.terminal_spot, b.terminal_spot)
    c = simulate(n_paths=500, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a.pnl, c.pnl)
    # odd-length expiry: the last step is shorter, and the terminal spot still has the right law
    d = simulate(
        t=0.1234,
        n_paths=20_000,
        rng=np.random.default_rng(8),
        rule=TimeRule(23_400.0),
        steps_per_day=13,
    )
    log_returns = np.log(d.terminal_spot / 100.0)
    assert log_returns.std() == pytest.approx(0.3 * math.sqrt(0.1234), rel=0.02)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"rule": TimeRule(1000.0)}, "whole multiple"),
        ({"rule": "hourly"}, "rule must be"),
        ({"rng": 42}, "rng must be"),
        ({"n_paths": 0}, "n_paths"),
        ({"position": 0}, "position"),
        ({"t": 0.0}, "t must be"),
        ({"realised_vol": -0.1}, "realised_vol"),
        ({"steps_per_day": 0}, "steps_per_day"),
        ({"call": [True, False]}, "call"),
    ],
)
def test_simulation_refuses_bad_input(overrides, fragment):
    with pytest.raises(OptionInputError, match=fragment):
        simulate(**overrides)


def test_rule_validation():
    with pytest.raises(OptionInputError, match="interval_seconds"):
        TimeRule(0.0)
    with pytest.raises(OptionInputError, match="half_width"):
        BandRule(-0.1)
    with pytest.raises(OptionInputError, match="rebalance_to"):
        BandRule(0.1, "middle")
