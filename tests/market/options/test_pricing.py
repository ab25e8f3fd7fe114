"""Black-Scholes-Merton pricing, Greeks, implied volatility and the cost adjustments."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.options.pricing import (
    Greeks,
    OptionInputError,
    bs_delta,
    bs_greeks,
    bs_price,
    implied_vol,
    leland_number,
    leland_volatility,
    unchecked_bs_price,
    whalley_wilmott_halfwidth,
)

# A broad grid: axes spot x strike x t x vol x (rate, div).
SPOTS = np.array([50.0, 100.0, 3000.0]).reshape(-1, 1, 1, 1, 1)
MONEYNESS = np.array([0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0]).reshape(1, -1, 1, 1, 1)
TIMES = np.array([1 / (252 * 6.5), 5 / 252, 0.25, 1.0, 3.0]).reshape(1, 1, -1, 1, 1)
VOLS = np.array([0.05, 0.2, 0.6, 1.5]).reshape(1, 1, 1, -1, 1)
RATES = np.array([0.0, 0.05, -0.01, 0.03]).reshape(1, 1, 1, 1, -1)
DIVS = np.array([0.0, 0.0, 0.02, 0.06]).reshape(1, 1, 1, 1, -1)


# ---- prices ------------------------------------------------------------------------------


def test_put_call_parity_on_a_broad_grid():
    strikes = SPOTS * MONEYNESS
    call = bs_price(SPOTS, strikes, TIMES, VOLS, RATES, DIVS, True)
    put = bs_price(SPOTS, strikes, TIMES, VOLS, RATES, DIVS, False)
    forward_value = SPOTS * np.exp(-DIVS * TIMES) - strikes * np.exp(-RATES * TIMES)
    assert call.shape == (3, 7, 5, 4, 4)
    np.testing.assert_allclose(
        call - put, np.broadcast_to(forward_value, call.shape), rtol=0, atol=1e-11 * SPOTS.max()
    )
    assert (call >= 0).all() and (put >= 0).all()


def test_known_value_and_bool_array_for_call():
    # Hull's textbook example: S=42, K=40, r=10%, sigma=20%, T=0.5 -> call 4.76, put 0.81.
    prices = bs_price(42.0, 40.0, 0.5, 0.2, 0.1, 0.0, np.array([True, False]))
    np.testing.assert_allclose(prices, [4.7594, 0.8086], atol=1e-4)


def test_scalar_inputs_give_python_floats_and_arrays_broadcast():
    assert isinstance(bs_price(100.0, 100.0, 0.5, 0.2), float)
    assert isinstance(bs_greeks(100.0, 100.0, 0.5, 0.2).gamma, float)
    strikes = np.array([90.0, 100.0, 110.0])  # (3,)
    times = np.array([[0.1], [1.0]])  # (2, 1)
    calls = np.array([[True], [False]])  # (2, 1)
    out = bs_price(100.0, strikes, times, 0.2, call=calls)
    assert out.shape == (2, 3)
    assert out[0, 2] == pytest.approx(bs_price(100.0, 110.0, 0.1, 0.2, call=True))
    assert out[1, 0] == pytest.approx(bs_price(100.0, 90.0, 1.0, 0.2, call=False))
    greeks = bs_greeks(np.full((4, 1, 1), 100.0), strikes, times, 0.2, call=calls)
    assert isinstance(greeks, Greeks)
    assert all(np.shape(g) == (4, 2, 3) for g in greeks)
    assert bs_delta(100.0, strikes, times, 0.2).shape == (2, 3)


# ---- Greeks against finite differences ----------------------------------------------------


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(("rate", "div"), [(0.0, 0.0), (0.05, 0.02), (-0.01, 0.04)])
def test_greeks_match_central_finite_differences(call, rate, div):
    spot = 100.0
    strike = np.array([70.0, 90.0, 100.0, 104.0, 130.0])[:, None, None]
    t = np.array([0.02, 0.25, 2.0])[None, :, None]
    vol = np.array([0.1, 0.3, 0.9])[None, None, :]
    g = bs_greeks(spot, strike, t, vol, rate, div, call)

    def price(s=spot, tt=t, v=vol):
        return bs_price(s, strike, tt, v, rate, div, call)

    def delta(s=spot, tt=t, v=vol):
        return bs_delta(s, strike, tt, v, rate, div, call)

    hs, hv, ht = 1e-3, 1e-5, 1e-6
    fd_delta = (price(s=spot + hs) - price(s=spot - hs)) / (2 * hs)
    fd_gamma = (price(s=spot + 0.005) - 2 * price() + price(s=spot - 0.005)) / 0.005**2
    fd_vega = (price(v=vol + hv) - price(v=vol - hv)) / (2 * hv)
    fd_theta = -(price(tt=t + ht) - price(tt=t - ht)) / (2 * ht)
    fd_vanna = (delta(v=vol + hv) - delta(v=vol - hv)) / (2 * hv)
    fd_charm = -(delta(tt=t + ht) - delta(tt=t - ht)) / (2 * ht)
    np.testing.assert_allclose(g.delta, fd_delta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.gamma, fd_gamma, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(g.vega, fd_vega, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.theta, fd_theta, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g.vanna, fd_vanna, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.charm, fd_charm, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g.delta, delta())


def test_greek_units_and_signs():
    g = bs_greeks(100.0, 100.0, 0.25, 0.2)
    # vega is per 1.00 of vol: a 1-point move changes the price by vega / 100
    move = bs_price(100.0, 100.0, 0.25, 0.21) - bs_price(100.0, 100.0, 0.25, 0.2)
    assert move == pytest.approx(g.vega / 100, rel=1e-2)
    assert g.theta < 0 and g.gamma > 0 and 0.5 < g.delta < 0.6
    put = bs_greeks(100.0, 100.0, 0.25, 0.2, call=False)
    assert put.delta == pytest.approx(g.delta - 1.0)
    assert put.gamma == pytest.approx(g.gamma) and put.vega == pytest.approx(g.vega)


# ---- degenerate and extreme inputs --------------------------------------------------------


def test_expiry_and_zero_vol_give_discounted_intrinsic_on_the_forward_without_warnings():
    spot = 100.0
    strike = np.array([80.0, 100.0, 120.0])
    rate, div = 0.05, 0.02
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise", over="raise"):
        warnings.simplefilter("error")
        at_expiry_call = bs_price(spot, strike, 0.0, 0.3, rate, div, True)
        at_expiry_put = bs_price(spot, strike, np.zeros(3), 0.3, rate, div, False)
        g0 = bs_greeks(spot, strike, np.zeros(3), 0.3, rate, div, True)
        zero_vol = bs_price(spot, strike, 0.5, np.zeros(3), rate, div, True)
        g_zero_vol = bs_greeks(spot, strike, 0.5, 0.0, rate, div, np.array([True, True, False]))
        tiny = bs_greeks(spot, strike, 1e-14, 0.3, rate, div, True)
    np.testing.assert_allclose(at_expiry_call, [20.0, 0.0, 0.0])
    np.testing.assert_allclose(at_expiry_put, [0.0, 0.0, 20.0])
    np.testing.assert_allclose(g0.delta, [1.0, 0.5, 0.0])  # 0.5 exactly at the strike
    assert (g0.gamma == 0).all() and (g0.vega == 0).all() and (g0.vanna == 0).all()
    forward_value = spot * math.exp(-div * 0.5) - strike * math.exp(-rate * 0.5)
    np.testing.assert_allclose(zero_vol, np.maximum(forward_value, 0.0))
    df_q = math.exp(-div * 0.5)
    np.testing.assert_allclose(g_zero_vol.delta, [df_q, df_q, -df_q])  # the 120 put is ITM
    assert (g_zero_vol.gamma == 0).all()
    # theta of the zero-vol ITM call is d/d(elapsed) of S e^{-q t} - K e^{-r t}
    theta_itm = div * spot * df_q - rate * 80.0 * math.exp(-rate * 0.5)
    assert g_zero_vol.theta[0] == pytest.approx(theta_itm)
    # continuity: a moment before expiry, away from the strike, matches the limit
    np.testing.assert_allclose(tiny.delta[[0, 2]], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(tiny.gamma[[0, 2]], 0.0, atol=1e-12)


def test_deep_in_and_out_of_the_money_are_finite():
    strikes = np.array([1e-6, 1e-2, 1e4, 1e8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calls = bs_price(100.0, strikes, 2.0, 0.4, 0.03, 0.01, True)
        greeks = bs_greeks(100.0, strikes, 2.0, 0.4, 0.03, 0.01, False)
    assert np.isfinite(calls).all() and all(np.isfinite(g).all() for g in greeks)
    assert calls[0] == pytest.approx(100.0 * math.exp(-0.02) - 1e-6 * math.exp(-0.06), rel=1e-12)
    assert calls[-1] == 0.0 or calls[-1] < 1e-100


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"spot": -1.0}, "spot"),
        ({"strike": 0.0}, "strike"),
        ({"t": -0.1}, "t"),
        ({"vol": float("nan")}, "vol"),
        ({"rate": float("inf")}, "rate"),
        ({"call": "yes"}, "call"),
        ({"call": np.array([2, 0])}, "call"),
    ],
)
def test_bad_inputs_are_refused_with_the_argument_named(kwargs, name):
    args = {"spot": 100.0, "strike": 100.0, "t": 0.5, "vol": 0.2, "rate": 0.0, "call": True}
    args |= kwargs
    with pytest.raises(OptionInputError, match=name):
        bs_price(**args)
    assert issubclass(OptionInputError, ValueError)


# ---- implied volatility -------------------------------------------------------------------


@pytest.mark.parametrize("call", [True, False])
def test_implied_vol_round_trip_on_a_grid(call):
    spot = 100.0
    strike = spot * np.exp(np.linspace(-1.5, 1.5, 31))[:, None, None]
    t = np.array([1 / (252 * 6.5), 1 / 252, 5 / 252, 0.25, 1.0, 4.0])[None, :, None]
    vol = np.array([0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0])[None, None, :]
    rate, div = 0.03, 0.01
    price = bs_price(spot, strike, t, vol, rate, div, call)
    strike_b, t_b, vol_b = np.broadcast_arrays(strike, t, vol)
    intrinsic = np.maximum(
        (1 if call else -1) * (spot * np.exp(-div * t_b) - strike_b * np.exp(-rate * t_b)), 0.0
    )
    # Time value must be resolvable in floating point, and the price not pinned at a bound.
    time_value = price - intrinsic
    upper = spot * np.exp(-div * t_b) if call else strike_b * np.exp(-rate * t_b)
    ok = (time_value > 1e-9 * spot) & (price < upper * (1 - 1e-12)) & (price > 1e-250)
    assert ok.sum() > 600
    solved = implied_vol(price[ok], spot, strike_b[ok], t_b[ok], rate, div, call)
    repriced = bs_price(spot, strike_b[ok], t_b[ok], solved, rate, div, call)
    np.testing.assert_allclose(repriced, price[ok], rtol=1e-9, atol=1e-10)
    # Where the price is sensitive to vol, the vol itself comes back.
    vega = bs_greeks(spot, strike_b[ok], t_b[ok], vol_b[ok], rate, div, call).vega
    sensitive = vega * vol_b[ok] > 1e-6 * price[ok]
    np.testing.assert_allclose(solved[sensitive], vol_b[ok][sensitive], rtol=1e-8)


def test_implied_vol_of_tiny_out_of_the_money_prices():
    strikes = np.array([150.0, 300.0, 1000.0])
    price = bs_price(100.0, strikes, 0.05, 0.3)
    assert price.min() < 1e-200
    np.testing.assert_allclose(implied_vol(price, 100.0, strikes, 0.05), 0.3, rtol=1e-10)
    put = bs_price(100.0, 70.0, 1 / 252, 0.25, call=False)
    assert 0.0 < put < 1e-100
    assert implied_vol(put, 100.0, 70.0, 1 / 252, call=False) == pytest.approx(0.25, rel=1e-10)


def test_implied_vol_is_scalar_for_scalars_and_broadcasts():
    assert isinstance(implied_vol(10.45, 100.0, 100.0, 1.0, 0.05), float)
    assert implied_vol(10.4506, 100.0, 100.0, 1.0, 0.05) == pytest.approx(0.2, abs=1e-5)
    prices = bs_price(100.0, np.array([[90.0], [110.0]]), np.array([0.5, 1.0, 2.0]), 0.25)
    solved = implied_vol(prices, 100.0, np.array([[90.0], [110.0]]), np.array([0.5, 1.0, 2.0]))
    assert solved.shape == (2, 3)
    np.testing.assert_allclose(solved, 0.25, rtol=1e-10)


@pytest.mark.parametrize(
    ("price", "call", "fragment"),
    [
        (4.0, True, "price 4.0"),  # below the intrinsic value 5 of a 95 call on 100
        (100.0, True, "price 100.0"),  # at the upper bound (the spot)
        (95.0, False, "price 95.0"),  # at the upper bound of a put (the strike)
        (-1.0, False, "price -1.0"),
    ],
)
def test_implied_vol_refuses_prices_outside_the_bounds(price, call, fragment):
    with pytest.raises(OptionInputError, match=fragment) as info:
        implied_vol(price, 100.0, 95.0, 0.5, call=call)
    assert "bounds" in str(info.value)


def test_implied_vol_names_the_first_bad_element_of_an_array():
    with pytest.raises(OptionInputError, match=r"flat index 1 \(1 of 3 outside\)"):
        implied_vol([6.0, 120.0, 7.0], 100.0, 100.0, 0.5)
    with pytest.raises(OptionInputError, match="t must be > 0"):
        implied_vol(1.0, 100.0, 100.0, 0.0)
    with pytest.raises(OptionInputError, match="outside must be"):
        implied_vol(1.0, 100.0, 100.0, 0.5, outside="clip")


def test_implied_vol_can_return_nan_for_unsolvable_prices():
    strikes = np.array([100.0, 100.0, 100.0, 60.0, 100.0])
    times = np.array([0.5, 0.5, 0.5, 5 / 252, 0.0])
    good = bs_price(100.0, 100.0, 0.5, 0.3)
    # below intrinsic, above the spot, fine, ITM with time value lost to rounding, expired
    prices = np.array([-0.5, 101.0, good, 40.0, 1.0])
    assert bs_price(100.0, 60.0, 5 / 252, 0.3) == 40.0  # the deep ITM price really is at the bound
    vols = implied_vol(prices, 100.0, strikes, times, outside="nan")
    assert np.isnan(vols[[0, 1, 3, 4]]).all()
    assert vols[2] == pytest.approx(0.3, rel=1e-12)
    with pytest.raises(OptionInputError, match=r"flat index 0 \(4 of 5 outside\)"):
        implied_vol(prices, 100.0, strikes, times)
    assert np.isnan(implied_vol(-1.0, 100.0, 100.0, 0.5, outside="nan"))


# ---- Leland and Whalley-Wilmott -----------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "dt", "le", "vol_adj", "plain", "adjusted"),
    [
        (5 / 252, 1 / (252 * 6.5), 0.080730, 0.415833, 2.247488, 2.336423),
        (7 / 365, 1 / (365 * 24), 0.186695, 0.435742, 2.209618, 2.407001),
    ],
)
def test_leland_worked_example(t, dt, le, vol_adj, plain, adjusted):
    assert leland_number(0.4, 0.001, dt) == pytest.approx(le, abs=1e-6)
    sigma_adj = leland_volatility(0.4, 0.001, dt)
    assert sigma_adj == pytest.approx(vol_adj, abs=1e-6)
    assert bs_price(100.0, 100.0, t, 0.4) == pytest.approx(plain, abs=1e-5)
    assert bs_price(100.0, 100.0, t, sigma_adj) == pytest.approx(adjusted, abs=1e-5)


def test_leland_long_side_lowers_vol_and_needs_le_below_one():
    dt = 1 / (252 * 6.5)
    short = leland_volatility(0.4, 0.001, dt)
    long = leland_volatility(0.4, 0.001, dt, option_side=+1)
    assert long < 0.4 < short
    assert long == pytest.approx(0.4 * math.sqrt(1 - leland_number(0.4, 0.001, dt)))
    with pytest.raises(OptionInputError, match="Leland number < 1"):
        leland_volatility(0.1, 0.01, dt, option_side=+1)
    with pytest.raises(OptionInputError, match="option_side"):
        leland_volatility(0.4, 0.001, dt, option_side=0)
    vols = leland_volatility(np.array([0.2, 0.4]), 0.001, np.array([[dt], [4 * dt]]))
    assert vols.shape == (2, 2) and (vols[0] > vols[1]).all()  # more frequent = costlier


def test_whalley_wilmott_scalings():
    base = whalley_wilmott_halfwidth(100.0, 0.04, 0.0005, 0.1)
    expected = (3 * 0.0005 * 100.0 * 0.04**2 / (2 * 0.1)) ** (1 / 3)
    assert base == pytest.approx(expected)
    assert whalley_wilmott_halfwidth(100.0, 0.04, 8 * 0.0005, 0.1) == pytest.approx(2 * base)
    assert whalley_wilmott_halfwidth(100.0, 0.04, 0.0005, 8 * 0.1) == pytest.approx(base / 2)
    assert whalley_wilmott_halfwidth(100.0, 8 * 0.04, 0.0005, 0.1) == pytest.approx(4 * base)
    assert whalley_wilmott_halfwidth(100.0, -0.04, 0.0005, 0.1) == pytest.approx(base)
    discounted = whalley_wilmott_halfwidth(100.0, 0.04, 0.0005, 0.1, t_remaining=1.0, rate=0.3)
    assert discounted == pytest.approx(base * math.exp(-0.1))
    widths = whalley_wilmott_halfwidth(100.0, np.array([0.01, 0.02, 0.04]), 0.0005, 0.1)
    assert widths.shape == (3,) and np.all(np.diff(widths) > 0)
    with pytest.raises(OptionInputError, match="risk_aversion"):
        whalley_wilmott_halfwidth(100.0, 0.04, 0.0005, 0.0)


# ---- properties ---------------------------------------------------------------------------

finite_spot = st.floats(1.0, 1e4)
moneyness = st.floats(0.3, 3.0)
maturity = st.floats(1e-3, 5.0)
volatility = st.floats(0.01, 2.0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(finite_spot, moneyness, maturity, volatility, st.floats(-0.02, 0.1), st.floats(0, 0.08))
def test_parity_property(spot, m, t, vol, rate, div):
    strike = spot * m
    call = bs_price(spot, strike, t, vol, rate, div, True)
    put = bs_price(spot, strike, t, vol, rate, div, False)
    parity = spot * math.exp(-div * t) - strike * math.exp(-rate * t)
    assert call - put == pytest.approx(parity, abs=1e-10 * max(spot, strike))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(finite_spot, moneyness, maturity, volatility, st.booleans())
def test_price_increases_with_vol_and_time_at_zero_rates(spot, m, t, vol, call):
    strike = spot * m
    base = bs_price(spot, strike, t, vol, call=call)
    rounding = 1e-14 * max(spot, strike)  # deep in the money, time value is below resolution
    assert bs_price(spot, strike, t, vol * 1.1, call=call) >= base - rounding
    assert bs_price(spot, strike, t * 1.1, vol, call=call) >= base - rounding
    intrinsic = max((spot - strike) if call else (strike - spot), 0.0)
    assert base >= intrinsic - 1e-12 * spot


def test_unchecked_price_is_the_checked_price_bit_for_bit():
    # the quote pass prices on the unchecked path; everything else on the checked one
    rng = np.random.default_rng(3)
    strike = rng.uniform(50.0, 150.0, 300)
    t = np.concatenate(([0.0], rng.uniform(0.0, 0.5, 299)))
    vol = np.concatenate(([0.2, 0.0], rng.uniform(0.01, 2.0, 298)))
    call = rng.random(300) < 0.5
    want = bs_price(101.3, strike, t, vol, call=call)
    got = unchecked_bs_price(101.3, strike, t, vol, np.where(call, 1.0, -1.0))
    assert got.tolist() == want.tolist()
