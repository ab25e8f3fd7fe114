"""Dealer gamma exposure: reference vectors, sign conventions, profile, flip, regime, pinning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.options.chain import DEALER, OptionChain, expiry_of_day
from market.options.gex import (
    DEALERS_LONG_CALLS_SHORT_PUTS,
    DEALERS_SHORT_CALLS_LONG_PUTS,
    GexInputError,
    Legs,
    dollar_gamma,
    gex_by_strike,
    gex_profile,
    observer_gex,
    observer_positions,
    pin_concentration,
)
from market.options.gex_regime import GammaFlip, classify_regime, gamma_flip

T30 = 30 / 365  # the reference vectors' calendar year fraction, passed directly as t
REF_LEGS = {"strike": [3000.0, 2800.0], "is_call": [True, False], "open_interest": [10_000, 20_000]}
REF_CALL_GEX = 208.645e6
REF_PUT_GEX = 195.462e6


def _closed_form_gamma(spot, strike, t, vol, rate=0.0, div=0.0):
    """Black-Scholes gamma written out independently of the pricing module."""
    d1 = (np.log(spot / strike) + (rate - div + 0.5 * vol**2) * t) / (vol * np.sqrt(t))
    return np.exp(-div * t) * norm.pdf(d1) / (spot * vol * np.sqrt(t))


def test_dollar_gamma_is_pure_and_broadcasts():
    g = np.array([0.001, 0.002])
    out = dollar_gamma(g, [10, -20], 100.0, multiplier=50)
    np.testing.assert_allclose(out, g * [10, -20] * 50 * 100.0**2 * 0.01)
    np.testing.assert_array_equal(g, [0.001, 0.002])
    assert dollar_gamma(0.001, 1, [[100.0], [200.0]]).shape == (2, 1)
    assert dollar_gamma(0.001, 1, 100.0) == pytest.approx(10.0)


def test_reference_vectors_true_positions():
    report = gex_by_strike(REF_LEGS, 3000.0, 0.20, t=T30, positions=[-10_000, 20_000])
    assert report.per_contract[0] == pytest.approx(-REF_CALL_GEX, abs=1e3)
    assert report.per_contract[1] == pytest.approx(REF_PUT_GEX, abs=1e3)
    assert report.total == pytest.approx(REF_PUT_GEX - REF_CALL_GEX, abs=2e3)
    gamma = _closed_form_gamma(3000.0, np.array([3000.0, 2800.0]), T30, 0.2)
    np.testing.assert_allclose(
        report.per_contract, gamma * [-10_000, 20_000] * 100 * 3000.0**2 * 0.01, rtol=1e-10
    )


def test_reference_vectors_observer_both_conventions():
    default = observer_gex(REF_LEGS, 3000.0, 0.20, t=T30)
    np.testing.assert_allclose(default.per_contract, [-REF_CALL_GEX, REF_PUT_GEX], atol=1e3)
    opposite = observer_gex(REF_LEGS, 3000.0, 0.20, t=T30, sign_convention=(1, -1))
    np.testing.assert_allclose(opposite.per_contract, [REF_CALL_GEX, -REF_PUT_GEX], atol=1e3)
    assert opposite.total == pytest.approx(-default.total)
    assert DEALERS_SHORT_CALLS_LONG_PUTS == (-1.0, 1.0)
    assert DEALERS_LONG_CALLS_SHORT_PUTS == (1.0, -1.0)
    all_short = observer_gex(REF_LEGS, 3000.0, 0.20, t=T30, sign_convention=(-1, -1))
    assert all_short.total == pytest.approx(-(REF_CALL_GEX + REF_PUT_GEX), abs=2e3)


def test_observer_positions():
    np.testing.assert_array_equal(
        observer_positions([True, False, True], [1, 2, 3]), [-1.0, 2.0, -3.0]
    )
    np.testing.assert_array_equal(
        observer_positions([True, False], [1, 2], DEALERS_LONG_CALLS_SHORT_PUTS), [1.0, -2.0]
    )
    for bad in [(2, 1), (-1,), "ab", None]:
        with pytest.raises(GexInputError, match="sign_convention"):
            observer_positions([True], [1], bad)
        with pytest.raises(GexInputError, match="sign_convention"):
            observer_gex(REF_LEGS, 3000.0, 0.2, t=T30, sign_convention=bad)


def _chain_with_customer_flow(customers_buy_puts: bool) -> OptionChain:
    chain = OptionChain.listed(100.0, strikes_pct=10.0, expiry_days=(9,), strike_step=5.0)
    rng = np.random.default_rng(1)
    for i in range(len(chain)):
        qty = int(rng.integers(1, 50))
        if chain.is_call[i] or customers_buy_puts:
            chain.record_trade(i, qty, buyer="customer", seller=DEALER)
        else:
            chain.record_trade(i, qty, buyer=DEALER, seller="customer")
    return chain


def test_true_gex_equals_observer_when_dealers_match_the_convention():
    # Customers buy calls and sell puts to dealers: dealers short calls, long puts.
    chain = _chain_with_customer_flow(customers_buy_puts=False)
    true = gex_by_strike(chain, 100.0, 0.25, now=0.0)
    seen = observer_gex(chain, 100.0, 0.25, now=0.0)
    np.testing.assert_allclose(true.by_strike, seen.by_strike, rtol=1e-12)
    assert true.total == pytest.approx(seen.total, rel=1e-12)


def test_true_gex_differs_from_observer_when_dealers_do_not_match():
    # Customers buy both calls and puts (the other common claim about index options):
    # dealers are short puts too.
    chain = _chain_with_customer_flow(customers_buy_puts=True)
    true = gex_by_strike(chain, 100.0, 0.25, now=0.0)
    seen = observer_gex(chain, 100.0, 0.25, now=0.0)
    assert true.put_total < 0 < seen.put_total
    assert true.call_total == pytest.approx(seen.call_total)
    assert true.total < seen.total
    # Customer-to-customer open interest is invisible to the true figure but not to the observer.
    chain.record_trade(0, 500, buyer="fund", seller="overwriter")
    assert gex_by_strike(chain, 100.0, 0.25, now=0.0).total == pytest.approx(true.total)
    assert observer_gex(chain, 100.0, 0.25, now=0.0).total != pytest.approx(seen.total)


def test_gex_by_strike_aggregates_calls_and_puts_over_expiries():
    legs = Legs(
        strike=[100.0, 100.0, 100.0, 110.0],
        is_call=[True, False, True, False],
        multiplier=[100, 100, 10, 100],
    )
    t = [0.1, 0.1, 0.5, 0.1]
    report = gex_by_strike(legs, 105.0, [0.2, 0.25, 0.2, 0.3], t=t, positions=[-5, 3, 7, 2])
    np.testing.assert_array_equal(report.strikes, [100.0, 110.0])
    pc = report.per_contract
    np.testing.assert_allclose(report.by_strike, [pc[0] + pc[1] + pc[2], pc[3]])
    np.testing.assert_allclose(report.call_by_strike, [pc[0] + pc[2], 0.0])
    np.testing.assert_allclose(report.put_by_strike, [pc[1], pc[3]])
    assert report.total == pytest.approx(report.by_strike.sum())
    gamma = _closed_form_gamma(105.0, legs.strike, np.array(t), np.array([0.2, 0.25, 0.2, 0.3]))
    np.testing.assert_allclose(pc, dollar_gamma(gamma, [-5, 3, 7, 2], 105.0, legs.multiplier))


def test_rate_and_dividend_change_gamma():
    base = gex_by_strike(REF_LEGS, 3000.0, 0.2, t=1.0, positions=[1, 1])
    carry = gex_by_strike(REF_LEGS, 3000.0, 0.2, t=1.0, positions=[1, 1], rate=0.05, div=0.02)
    expected = _closed_form_gamma(3000.0, np.array([3000.0, 2800.0]), 1.0, 0.2, 0.05, 0.02)
    np.testing.assert_allclose(carry.per_contract, dollar_gamma(expected, 1, 3000.0))
    assert not np.allclose(base.per_contract, carry.per_contract)


def test_chain_time_from_now_and_expired_legs_carry_no_gamma():
    chain = OptionChain(
        strike=[100.0, 100.0],
        expiry=[expiry_of_day(0), expiry_of_day(2)],
        is_call=[True, True],
        open_interest=[10, 10],
        dealer_position=[-10, -10],
    )
    now = 0.5 * SECONDS_PER_DAY
    report = gex_by_strike(chain, 100.0, 0.2, now=now)
    years = (chain.expiry - now) / SECONDS_PER_YEAR
    np.testing.assert_allclose(
        report.per_contract, dollar_gamma(_closed_form_gamma(100.0, 100.0, years, 0.2), -10, 100.0)
    )
    at_close = gex_by_strike(chain, 100.0, 0.2, now=expiry_of_day(0))
    assert at_close.per_contract[0] == 0.0 and at_close.per_contract[1] < 0
    assert np.all(np.isfinite(at_close.per_contract))
    chain.expire(expiry_of_day(0))
    after = gex_by_strike(chain, 100.0, 0.2, now=0.0)  # expired rows stay out even for early now
    assert after.per_contract[0] == 0.0


def test_vol_function_is_used():
    def smile(spot, strike, t):
        return 0.2 + 0.5 * np.log(strike / spot) ** 2

    flat = gex_by_strike(REF_LEGS, 3000.0, 0.2, t=T30, positions=[1, 1])
    smiled = gex_by_strike(REF_LEGS, 3000.0, smile, t=T30, positions=[1, 1])
    assert smiled.per_contract[0] == pytest.approx(flat.per_contract[0])
    assert smiled.per_contract[1] != pytest.approx(flat.per_contract[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": T30, "now": 0.0}, "exactly one"),
        ({}, "exactly one"),
        ({"now": 0.0}, "expiry"),
        ({"t": -0.1}, "t must be"),
        ({"t": [0.1, 0.2, 0.3]}, "per contract"),
        ({"t": T30, "vols": 0.0}, "vols"),
        ({"t": T30, "vols": [0.2, 0.2, 0.2]}, "vols"),
        ({"t": T30, "vols": lambda s, k, t: np.full(2, np.nan)}, "vols"),
        ({"t": T30, "spot": -1.0}, "spot"),
        ({"t": T30, "spot": [1.0, 2.0]}, "gex_profile"),
        ({"t": T30, "positions": [1, 2], "sign_convention": (-1, 1)}, "not both"),
        ({"t": T30, "positions": [1, np.inf]}, "positions"),
        ({"t": T30, "positions": [1, 2, 3]}, "positions"),
    ],
)
def test_gex_validation(kwargs, match):
    args = {"spot": 3000.0, "vols": 0.2, "positions": [1, 1]}
    args.update(kwargs)
    spot, vols = args.pop("spot"), args.pop("vols")
    with pytest.raises(GexInputError, match=match):
        gex_by_strike(REF_LEGS, spot, vols, **args)


@pytest.mark.parametrize(
    ("chain", "match"),
    [
        ({"strike": [0.0], "is_call": [True]}, "strike"),
        ({"strike": [1.0], "is_call": [1]}, "is_call"),
        ({"strike": [1.0, 2.0], "is_call": [True, False, True]}, "is_call"),
        ({"strike": [1.0], "is_call": [True], "multiplier": -1}, "multiplier"),
        ({"strike": [1.0], "is_call": [True], "open_interest": [-1]}, "open_interest"),
        ({"strike": [1.0], "is_call": [True], "colour": [1]}, "unknown chain field"),
        ([1.0, 2.0], "OptionChain, Legs or a mapping"),
    ],
)
def test_chain_input_validation(chain, match):
    with pytest.raises(GexInputError, match=match):
        gex_by_strike(chain, 100.0, 0.2, t=0.1, positions=1)


def test_missing_positions_or_open_interest():
    with pytest.raises(GexInputError, match="dealer_position"):
        gex_by_strike({"strike": [1.0], "is_call": [True]}, 1.0, 0.2, t=0.1)
    with pytest.raises(GexInputError, match="open_interest"):
        observer_gex({"strike": [1.0], "is_call": [True]}, 1.0, 0.2, t=0.1)


# Dealers long low-strike puts and short high-strike calls: long gamma below, short above.
FLIP_LEGS = {"strike": [2800.0, 3200.0], "is_call": [False, True], "open_interest": [2e4, 2e4]}


def test_profile_matches_pointwise_reports_and_keeps_the_grid_shape():
    grid = np.linspace(2500.0, 3500.0, 21)
    profile = gex_profile(grid, FLIP_LEGS, 0.2, t=T30, sign_convention=(-1, 1))
    pointwise = [
        observer_gex(FLIP_LEGS, s, 0.2, t=T30, sign_convention=(-1, 1)).total for s in grid
    ]
    np.testing.assert_allclose(profile, pointwise, rtol=1e-12)
    assert profile[0] > 0 > profile[-1]
    square = gex_profile(grid.reshape(3, 7), FLIP_LEGS, 0.2, t=T30, sign_convention=(-1, 1))
    assert square.shape == (3, 7)
    np.testing.assert_allclose(square.ravel(), profile)
    assert gex_profile(3000.0, FLIP_LEGS, 0.2, t=T30, sign_convention=(-1, 1)).shape == ()


def test_profile_with_a_vol_function_and_with_no_positions():
    def sticky_moneyness(spot, strike, t):
        return 0.2 - 0.3 * np.log(strike / spot)

    grid = np.array([2900.0, 3000.0, 3100.0])
    fixed = gex_profile(grid, FLIP_LEGS, 0.2, t=T30, sign_convention=(-1, 1))
    moving = gex_profile(grid, FLIP_LEGS, sticky_moneyness, t=T30, sign_convention=(-1, 1))
    pointwise = [
        gex_by_strike(FLIP_LEGS, s, sticky_moneyness, t=T30, sign_convention=(-1, 1)).total
        for s in grid
    ]
    np.testing.assert_allclose(moving, pointwise, rtol=1e-12)
    assert not np.allclose(fixed, moving)
    np.testing.assert_array_equal(gex_profile(grid, FLIP_LEGS, 0.2, t=T30, positions=0), 0.0)
    with pytest.raises(GexInputError, match="vols"):
        gex_profile(grid, FLIP_LEGS, -0.2, t=T30, positions=0)


@settings(max_examples=25, deadline=None)
@given(
    spots=st.lists(st.floats(50.0, 200.0), min_size=1, max_size=8),
    positions=st.lists(st.integers(-100, 100), min_size=4, max_size=4),
)
def test_profile_is_the_sum_of_leg_gex(spots, positions):
    legs = {"strike": [90.0, 100.0, 100.0, 120.0], "is_call": [True, True, False, False]}
    t = np.array([0.05, 0.2, 0.2, 0.5])
    profile = gex_profile(spots, legs, 0.3, t=t, positions=positions)
    s = np.asarray(spots)[:, None]
    gamma = _closed_form_gamma(s, np.array(legs["strike"]), t, 0.3)
    np.testing.assert_allclose(
        profile, dollar_gamma(gamma, positions, s).sum(axis=1), rtol=1e-9, atol=1e-6
    )


def test_gamma_flip_is_found_by_root_finding():
    flip = gamma_flip(FLIP_LEGS, 0.2, spot=3000.0, t=T30, sign_convention=(-1, 1))
    assert isinstance(flip, GammaFlip) and flip.found
    assert 2800.0 < flip.level < 3200.0
    at_level = gex_profile(flip.level, FLIP_LEGS, 0.2, t=T30, sign_convention=(-1, 1))
    scale = observer_gex(FLIP_LEGS, 3000.0, 0.2, t=T30, sign_convention=(1, 1)).total
    assert abs(float(at_level)) < 1e-6 * scale
    assert flip.crossings == (flip.level,)
    assert flip.distance_pct == pytest.approx((flip.level - 3000.0) / 30.0)
    assert flip.search_range == pytest.approx((2400.0, 3600.0))
    # Unbalanced open interest moves the flip toward the lighter side.
    heavier_puts = dict(FLIP_LEGS, open_interest=[4e4, 2e4])
    moved = gamma_flip(heavier_puts, 0.2, spot=3000.0, t=T30, sign_convention=(-1, 1))
    assert moved.level > flip.level


def test_no_flip_when_total_gex_keeps_its_sign():
    flip = gamma_flip(FLIP_LEGS, 0.2, spot=3000.0, t=T30, positions=[5e3, 5e3])
    assert flip.level is None and flip.crossings == () and not flip.found
    assert flip.distance_pct is None
    narrow = gamma_flip(FLIP_LEGS, 0.2, spot=3300.0, t=T30, sign_convention=(-1, 1), range_pct=2.0)
    assert narrow.level is None


def test_several_flips_nearest_is_reported_and_all_are_listed():
    legs = {"strike": [2700.0, 3000.0, 3300.0], "is_call": [False, True, True]}
    # Long gamma at 2700 and 3300, short at 3000: two crossings around 3000.
    flip = gamma_flip(legs, 0.1, spot=2950.0, t=T30, positions=[2e4, -2e4, 2e4])
    assert len(flip.crossings) == 2
    low, high = flip.crossings
    assert 2700.0 < low < 3000.0 < high < 3300.0
    assert flip.level == min(flip.crossings, key=lambda x: abs(x - 2950.0))
    assert flip.level == low


def test_flip_on_a_custom_grid():
    default = gamma_flip(FLIP_LEGS, 0.2, spot=3000.0, t=T30, sign_convention=(-1, 1))
    custom = gamma_flip(
        FLIP_LEGS,
        0.2,
        spot=3000.0,
        t=T30,
        sign_convention=(-1, 1),
        spot_grid=np.array([2600.0, 2950.0, 3100.0, 3400.0]),
    )
    assert custom.level == pytest.approx(default.level, rel=1e-8)
    assert custom.search_range == (2600.0, 3400.0)


def test_flip_inside_a_run_of_exact_zeros():
    # Very short-dated, low-vol legs far apart: gamma underflows to exactly 0 between them.
    legs = {"strike": [100.0, 200.0], "is_call": [False, True]}
    grid = np.linspace(90.0, 210.0, 121)
    profile = gex_profile(grid, legs, 0.05, t=0.01, positions=[1e4, -1e4])
    assert profile[10] > 0 > profile[110] and np.count_nonzero(profile == 0.0) > 20
    flip = gamma_flip(legs, 0.05, spot=150.0, t=0.01, positions=[1e4, -1e4], spot_grid=grid)
    assert len(flip.crossings) == 1
    assert 100.0 < flip.level < 200.0
    assert gex_profile(flip.level, legs, 0.05, t=0.01, positions=[1e4, -1e4]) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"range_pct": 0.0}, "range_pct"),
        ({"grid_points": 2}, "grid_points"),
        ({"spot_grid": [3000.0, 2900.0]}, "increasing"),
        ({"xtol": 0.0}, "xtol"),
        ({"spot": [3000.0, 3100.0]}, "scalar"),
    ],
)
def test_gamma_flip_validation(kwargs, match):
    args = {"spot": 3000.0, "t": T30, "sign_convention": (-1, 1)}
    args.update(kwargs)
    with pytest.raises(GexInputError, match=match):
        gamma_flip(FLIP_LEGS, 0.2, **args)


def test_classify_regime_labels_and_reasons():
    short = classify_regime(-1e8, skew=0.10, term_slope=-0.02, spot=3000.0, flip=3015.0)
    assert short.label == "short_gamma"
    assert short.qualifiers == ("steep_skew", "inverted_term", "near_flip")
    assert short.flip_distance_pct == pytest.approx(0.5)
    assert set(short.reasons) == {"label", "skew", "term", "flip"}
    assert "< 0" in short.reasons["label"]
    json.dumps(short.to_dict())

    calm = classify_regime(2e8, skew=0.04, term_slope=0.01)
    assert calm.label == "long_gamma" and calm.qualifiers == ()
    assert calm.flip_distance_pct is None
    assert "no gamma flip" in calm.reasons["flip"]
    assert "normal" in calm.reasons["skew"] and "normal" in calm.reasons["term"]

    squeeze = classify_regime(-5e7, skew=-0.01, term_slope=0.0, spot=100.0, flip=110.0)
    assert squeeze.qualifiers == ("call_skew",)
    assert "beyond" in squeeze.reasons["flip"]
    assert classify_regime(0.0, 0.0, 0.0).label == "long_gamma"


def test_classify_regime_thresholds_and_flip_object():
    assert "steep_skew" in classify_regime(1.0, 0.05, 0.0, steep_skew_at=0.04).qualifiers
    assert "steep_skew" not in classify_regime(1.0, 0.05, 0.0).qualifiers
    assert "inverted_term" in classify_regime(1.0, 0.0, 0.005, inverted_term_below=0.01).qualifiers
    assert (
        "near_flip"
        in classify_regime(1.0, 0.0, 0.0, spot=100, flip=103, near_flip_pct=5).qualifiers
    )
    flip = gamma_flip(FLIP_LEGS, 0.2, spot=3000.0, t=T30, sign_convention=(-1, 1))
    regime = classify_regime(-1.0, 0.0, 0.0, flip=flip)
    assert regime.flip_distance_pct == pytest.approx(flip.distance_pct)
    none_found = GammaFlip(spot=3000.0, level=None, crossings=(), search_range=(1.0, 2.0))
    assert classify_regime(-1.0, 0.0, 0.0, flip=none_found).flip_distance_pct is None


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.nan, 0.0, 0.0), {}, "total_gex"),
        ((1.0, np.inf, 0.0), {}, "skew"),
        ((1.0, 0.0, np.nan), {}, "term_slope"),
        ((1.0, 0.0, 0.0), {"flip": 3000.0}, "spot"),
        ((1.0, 0.0, 0.0), {"flip": -1.0, "spot": 3000.0}, "flip"),
        ((1.0, 0.0, 0.0), {"steep_skew_at": 0.0}, "steep_skew_at"),
        ((1.0, 0.0, 0.0), {"near_flip_pct": -1.0}, "near_flip_pct"),
        ((1.0, 0.0, 0.0), {"inverted_term_below": np.nan}, "inverted_term_below"),
    ],
)
def test_classify_regime_validation(args, kwargs, match):
    with pytest.raises(GexInputError, match=match):
        classify_regime(*args, **kwargs)


def test_pin_concentration():
    strikes = np.array([90.0, 99.0, 100.0, 101.5, 110.0])
    gex = np.array([10.0, -20.0, 30.0, 15.0, -25.0])
    assert pin_concentration(strikes, gex, 100.0, band_pct=1.0) == pytest.approx(50.0 / 100.0)
    assert pin_concentration(strikes, gex, 100.0, band_pct=2.0) == pytest.approx(65.0 / 100.0)
    np.testing.assert_allclose(
        pin_concentration(strikes, gex, 100.0, band_pct=[0.0, 1.0, 10.0]), [0.3, 0.5, 1.0]
    )
    assert pin_concentration(strikes, np.zeros(5), 100.0) == 0.0
    report = gex_by_strike(FLIP_LEGS, 3000.0, 0.2, t=T30, positions=[1, -1])
    assert report.pin_concentration(7.0) == pytest.approx(1.0)
    assert report.pin_concentration(5.0) == 0.0
    with pytest.raises(GexInputError, match="band_pct"):
        pin_concentration(strikes, gex, 100.0, band_pct=-1.0)
    with pytest.raises(GexInputError, match="same length"):
        pin_concentration(strikes, gex[:3], 100.0)


def test_legs_expired_mask_zeroes_gamma_even_with_explicit_t():
    legs = Legs(strike=[100.0, 100.0], is_call=[True, False], expired=[True, False])
    report = gex_by_strike(legs, 100.0, 0.2, t=0.1, positions=[5, 5])
    assert report.per_contract[0] == 0.0 and report.per_contract[1] > 0.0
    with pytest.raises(GexInputError, match="expired"):
        Legs(strike=[1.0], is_call=[True], expired=[1])
