"""Hedging policies: who trades when, how much, and how the bands scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.hedging_policies import (
    FixedBand,
    GammaBand,
    HedgePolicyError,
    HedgePolicyKind,
    NoHedge,
    TimeBased,
    WhalleyWilmott,
    band_crossing_interval,
    band_edge_rebalance,
    band_rebalance,
    gamma_band_width,
    make_policy,
)
from market.exchange.clock import SECONDS_PER_YEAR
from market.options.pricing import bs_greeks

SPOT = 100.0
VOL = 0.2


def book_delta_gamma(spot, contracts, strike=100.0, t=5 / 252, call=True, multiplier=100):
    """Delta and gamma (shares, shares per 1) of ``contracts`` options at ``spot``."""
    g = bs_greeks(spot, strike, t, VOL, call=call)
    return contracts * multiplier * g.delta, contracts * multiplier * g.gamma


POLICY_FACTORIES = {
    "fixed_band": lambda: FixedBand(50.0),
    "time_based": lambda: TimeBased(60.0),
    "gamma_band": lambda: GammaBand(50.0, 1.0, 300.0),
    "whalley_wilmott": lambda: WhalleyWilmott(1e-3),
}


def random_walk(seed, n, step_seconds=10.0):
    rng = np.random.default_rng(seed)
    sd = VOL * math.sqrt(step_seconds / SECONDS_PER_YEAR)
    return SPOT * np.exp(np.cumsum(rng.normal(0.0, sd, n)))


def count_trades(policy, path, contracts, t, cost=0.0):
    """Hedge ``contracts`` options along ``path`` (starting hedged); number of hedge trades."""
    delta, gamma = book_delta_gamma(path, contracts, t=t)  # one vectorised call for the path
    shares = -book_delta_gamma(SPOT, contracts, t=t)[0]
    n = 0
    for s, d, g in zip(path, delta, gamma, strict=True):
        trade = policy.decide(d + shares, g, s, VOL, 0.0, cost)
        if trade:
            shares += trade
            n += 1
    return n


# ---------------------------------------------------------------- the pure building blocks


def test_band_rebalance_trades_back_to_neutral_only_outside_the_band():
    out = band_rebalance(np.array([-300.0, -100.0, 0.0, 99.0, 250.0]), 100.0)
    np.testing.assert_allclose(out, [300.0, 0.0, 0.0, 0.0, -250.0])
    assert band_rebalance(150.0, 100.0) == -150.0


def test_band_edge_rebalance_trades_to_the_nearer_edge():
    out = band_edge_rebalance(np.array([-300.0, -50.0, 50.0, 250.0]), 100.0)
    np.testing.assert_allclose(out, [200.0, 0.0, 0.0, -150.0])


def test_gamma_band_width_broadcasts_and_grows_with_gamma():
    gammas = np.array([0.0, 1_000.0, -4_000.0])
    w = gamma_band_width(100.0, 2.0, gammas, SPOT, VOL, 300.0)
    assert w.shape == (3,)
    assert w[0] == pytest.approx(100.0)
    expected = 100.0 + 2.0 * 4_000.0 * SPOT * VOL * math.sqrt(300.0 / SECONDS_PER_YEAR)
    assert w[2] == pytest.approx(expected)
    assert w[0] < w[1] < w[2]


def test_band_crossing_interval_is_infinite_without_gamma_and_shrinks_with_it():
    out = band_crossing_interval(1000.0, np.array([0.0, 1e3, 4e3]), SPOT, VOL)
    assert math.isinf(out[0])
    # four times the gamma -> the delta drifts four times as fast -> 1/16 of the time
    assert out[1] / out[2] == pytest.approx(16.0)
    assert out[1] == pytest.approx((1000.0 / (1e3 * SPOT * VOL)) ** 2 * SECONDS_PER_YEAR)


# ---------------------------------------------------------------- the policies


def test_none_policy_never_trades():
    p = make_policy("none")
    assert isinstance(p, NoHedge)
    rng = np.random.default_rng(1)
    for delta, gamma, now in zip(
        rng.normal(0, 1e6, 200), rng.normal(0, 1e5, 200), np.arange(200.0), strict=True
    ):
        assert p.decide(delta, gamma, SPOT, VOL, now, 0.001) == 0
    assert math.isinf(p.expected_interval(1e5, SPOT, VOL))


def test_fixed_band_trades_back_to_neutral_outside_the_band():
    p = FixedBand(500.0)
    assert p.decide(499.0, 0.0, SPOT, VOL, 0.0) == 0
    assert p.decide(-500.0, 0.0, SPOT, VOL, 0.0) == 0
    assert p.decide(501.4, 0.0, SPOT, VOL, 0.0) == -501
    assert p.decide(-2000.0, 0.0, SPOT, VOL, 0.0) == 2000


def test_min_trade_shares_suppresses_small_trades():
    assert FixedBand(0.0, min_trade_shares=100).decide(99.0, 0.0, SPOT, VOL, 0.0) == 0
    assert FixedBand(0.0, min_trade_shares=100).decide(150.0, 0.0, SPOT, VOL, 0.0) == -150
    assert FixedBand(0.0, min_trade_shares=1).decide(99.0, 0.0, SPOT, VOL, 0.0) == -99


@pytest.mark.parametrize("kind", POLICY_FACTORIES)
def test_short_gamma_hedger_buys_rallies_and_sells_dips(kind):
    """Short 100 calls, delta-hedged at 100: a rise leaves it short delta, so it buys."""
    shares = -book_delta_gamma(SPOT, -100)[0]
    for spot, sign in ((102.0, 1), (98.0, -1)):
        delta, gamma = book_delta_gamma(spot, -100)
        trade = POLICY_FACTORIES[kind]().decide(delta + shares, gamma, spot, VOL, 0.0, 0.0005)
        assert np.sign(trade) == sign, (spot, trade)


@pytest.mark.parametrize("kind", POLICY_FACTORIES)
def test_long_gamma_hedger_sells_rallies_and_buys_dips(kind):
    shares = -book_delta_gamma(SPOT, 100)[0]
    for spot, sign in ((102.0, -1), (98.0, 1)):
        delta, gamma = book_delta_gamma(spot, 100)
        trade = POLICY_FACTORIES[kind]().decide(delta + shares, gamma, spot, VOL, 0.0, 0.0005)
        assert np.sign(trade) == sign, (spot, trade)


def test_time_based_trades_on_schedule_and_only_then():
    p = TimeBased(300.0)
    trade_times = [t for t in range(3600) if p.decide(1000.0, 0.0, SPOT, VOL, float(t)) != 0]
    assert trade_times == list(range(0, 3600, 300))
    assert p.expected_interval(1e6, SPOT, VOL) == 300.0


def test_time_based_with_sparse_looks_trades_at_the_first_look_after_each_due_time():
    p = TimeBased(100.0)
    looks = [5.0, 50.0, 130.0, 170.0, 199.0, 420.0, 430.0]
    traded = [t for t in looks if p.decide(-500.0, 0.0, SPOT, VOL, t) != 0]
    assert traded == [5.0, 130.0, 420.0]


def test_gamma_band_is_wider_at_high_gamma():
    p = GammaBand(200.0, 1.0, 300.0)
    low, high = 1_000.0, 50_000.0
    assert p.band(high, SPOT, VOL) > p.band(low, SPOT, VOL) > 200.0
    net = 0.5 * (p.band(low, SPOT, VOL) + p.band(high, SPOT, VOL))
    assert p.decide(net, low, SPOT, VOL, 0.0) == -round(net)
    assert p.decide(net, high, SPOT, VOL, 0.0) == 0
    # a fixed band of the base width would trade both
    assert FixedBand(200.0).decide(net, high, SPOT, VOL, 0.0) != 0
    # the multiplier is what widens it
    assert GammaBand(200.0, 0.0, 300.0).band(high, SPOT, VOL) == pytest.approx(200.0)


def test_gamma_band_trades_less_often_than_a_fixed_band_on_a_high_gamma_book():
    path = random_walk(7, 2000)
    fixed = count_trades(FixedBand(200.0), path, -300, t=1 / 252)
    widened = count_trades(GammaBand(200.0, 2.0, 300.0), path, -300, t=1 / 252)
    assert 0 < widened < 0.7 * fixed


def test_whalley_wilmott_trades_to_the_band_edge():
    p = WhalleyWilmott(1e-3)
    gamma, cost = -2_000.0, 0.0004
    h = p.halfwidth(gamma, SPOT, cost)
    assert h > 0
    assert p.decide(h * 0.99, gamma, SPOT, VOL, 0.0, cost) == 0
    assert p.decide(h + 300.0, gamma, SPOT, VOL, 0.0, cost) == -300
    assert p.decide(-h - 300.0, gamma, SPOT, VOL, 0.0, cost) == 300


def test_whalley_wilmott_band_scales_with_cost_to_the_one_third():
    p = WhalleyWilmott(1e-3)
    h1 = p.halfwidth(-5_000.0, SPOT, 0.0002)
    h8 = p.halfwidth(-5_000.0, SPOT, 0.0016)
    assert h8 / h1 == pytest.approx(2.0, rel=1e-9)
    # and with gamma to the two-thirds, risk aversion to minus one-third
    assert p.halfwidth(-40_000.0, SPOT, 0.0002) / h1 == pytest.approx(4.0, rel=1e-9)
    assert WhalleyWilmott(8e-3).halfwidth(-5_000.0, SPOT, 0.0002) / h1 == pytest.approx(0.5)
    # no cost: no band, hedge everything
    assert p.decide(10.0, -5_000.0, SPOT, VOL, 0.0, 0.0) == -10


def test_whalley_wilmott_trades_less_often_when_costs_are_higher():
    path = random_walk(3, 3000)
    counts = [
        count_trades(WhalleyWilmott(1e-3), path, -300, t=2 / 252, cost=cost)
        for cost in (0.0001, 0.0008, 0.0064)
    ]
    assert counts[0] > counts[1] > counts[2] > 0


def test_expected_interval_shrinks_with_gamma_for_band_policies():
    for p in (FixedBand(500.0), GammaBand(500.0, 1.0, 300.0), WhalleyWilmott(1e-3)):
        lo = p.expected_interval(1_000.0, SPOT, VOL, 0.0005)
        hi = p.expected_interval(20_000.0, SPOT, VOL, 0.0005)
        assert hi < lo, p.kind


@pytest.mark.parametrize(
    "policy",
    [
        NoHedge(),
        FixedBand(500.0),
        TimeBased(60.0),
        GammaBand(500.0, 1.5, 300.0),
        WhalleyWilmott(1e-3),
    ],
    ids=lambda p: p.kind.value,
)
def test_expected_intervals_are_the_scalar_figures_bit_for_bit(policy):
    # the quote pass prices on the vectorised figures; the dealer's own quotes on the scalar one
    rng = np.random.default_rng(7)
    gamma = np.concatenate(([0.0, 1e-9], rng.lognormal(8.0, 3.0, 200)))
    vol = np.concatenate(([0.2, 0.0], rng.uniform(0.05, 1.5, 200)))
    got = policy.expected_intervals(gamma, SPOT, vol, 0.0007)
    want = [
        policy.expected_interval(float(g), SPOT, float(v), 0.0007)
        for g, v in zip(gamma, vol, strict=True)
    ]
    assert got.shape == gamma.shape
    assert got.tolist() == want
    assert policy.expected_intervals(np.array([]), SPOT, np.array([]), 0.0007).shape == (0,)


def test_make_policy_builds_each_kind_with_its_parameters():
    assert make_policy(HedgePolicyKind.fixed_band, band_shares=123.0).band_shares == 123.0
    assert make_policy("time_based", interval_seconds=42.0).interval_seconds == 42.0
    g = make_policy("gamma_band", band_shares=10.0, gamma_multiplier=3.0, horizon_seconds=60.0)
    assert (g.base_band_shares, g.gamma_multiplier, g.horizon_seconds) == (10.0, 3.0, 60.0)
    assert make_policy("whalley_wilmott", risk_aversion=0.5).risk_aversion == 0.5
    assert {make_policy(k).kind for k in HedgePolicyKind} == set(HedgePolicyKind)


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: FixedBand(-1.0), "band_shares"),
        (lambda: FixedBand(float("nan")), "band_shares"),
        (lambda: TimeBased(0.0), "interval_seconds"),
        (lambda: GammaBand(1.0, -1.0, 10.0), "gamma_multiplier"),
        (lambda: GammaBand(1.0, 1.0, 0.0), "horizon_seconds"),
        (lambda: WhalleyWilmott(0.0), "risk_aversion"),
        (lambda: FixedBand(1.0, min_trade_shares=0), "min_trade_shares"),
        (lambda: make_policy("delta_neutral_ish"), "policy"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(build, name):
    with pytest.raises(HedgePolicyError, match=name):
        build()


def test_inner_band_is_each_policys_no_trade_half_width():
    g, s, v, k = -50_000.0, 100.0, 0.2, 0.0004
    assert make_policy("fixed_band", band_shares=700.0).inner_band(g, s, v, k) == 700.0
    gb = make_policy("gamma_band", band_shares=500.0, gamma_multiplier=2.0)
    assert gb.inner_band(g, s, v, k) == pytest.approx(gb.band(g, s, v))
    ww = make_policy("whalley_wilmott", risk_aversion=1e-4)
    assert ww.inner_band(g, s, v, k) == pytest.approx(ww.halfwidth(g, s, k))
    assert ww.inner_band(2 * g, s, v, k) > ww.inner_band(g, s, v, k)  # widens with gamma
    assert make_policy("time_based").inner_band(g, s, v, k) == 0.0
    assert make_policy("none").inner_band(g, s, v, k) == math.inf
