"""Tests of implementation shortfall, the additive cost decomposition, markouts and CVaR."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.execution.costs import (
    COST_COMPONENTS,
    HedgeTermFit,
    cvar,
    decompose_costs,
    fit_hedge_term,
    hedge_term,
    implementation_shortfall,
    markouts,
)

# ---------------------------------------------------------------- implementation shortfall


def test_shortfall_hand_example_buy_with_underfill():
    # Buy 1000 at arrival mid 100; 600 filled at 100.05; the price ran to 100.20 by the end.
    sf = implementation_shortfall(1, 100.0, [100.05], [600], 1000, final_mid=100.20)
    assert sf.executed_bps == pytest.approx(3.0)
    assert sf.opportunity_bps == pytest.approx(8.0)
    assert sf.total_bps == pytest.approx(11.0)
    assert sf.fill_rate == pytest.approx(0.6)
    assert sf.vwap == pytest.approx(100.05)


def test_shortfall_sign_for_a_seller():
    sf = implementation_shortfall(-1, 50.0, [49.9, 49.8], [100, 100], 200)
    assert sf.executed_bps == pytest.approx(1e4 * (0.1 * 100 + 0.2 * 100) / (200 * 50))
    assert sf.opportunity_bps == 0.0
    gain = implementation_shortfall(-1, 50.0, [50.1], [200], 200)
    assert gain.total_bps < 0


def test_shortfall_with_no_fills():
    sf = implementation_shortfall(1, 100.0, [], [], 500, final_mid=99.0)
    assert sf.executed_bps == 0.0
    assert sf.opportunity_bps == pytest.approx(-100.0)
    assert math.isnan(sf.vwap)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"side": 0}, "side"),
        ({"arrival_mid": 0.0}, "arrival_mid"),
        ({"fill_qtys": [2000]}, "target_qty"),
        ({"final_mid": None}, "final_mid"),
        ({"fill_prices": [np.nan]}, "fill_prices"),
        ({"fill_qtys": [-5]}, "fill_qtys"),
    ],
)
def test_shortfall_rejects_bad_input(kwargs, field):
    args = {
        "side": 1,
        "arrival_mid": 100.0,
        "fill_prices": [100.0],
        "fill_qtys": [500],
        "target_qty": 1000,
        "final_mid": 100.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=field):
        implementation_shortfall(**args)


# ---------------------------------------------------------------- decomposition


def test_child_decomposition_hand_example():
    # Buy; parent arrival 100.00; child decided at mid 100.02 with a 0.02 half-spread; filled all
    # aggressively at 100.05; 30 s later the mid sits at 100.03.
    d = decompose_costs(1, 100.0, 100.02, 0.02, 100.05, 100, 100.03)
    row = d.children.iloc[0]
    assert row["delay"] == pytest.approx(2.0)
    assert row["spread"] == pytest.approx(2.0)
    assert row["temp"] == pytest.approx(0.0)
    assert row["perm"] == pytest.approx(1.0)
    assert row["hedge"] == 0.0
    assert row["residual"] == 0.0
    assert row["total"] == pytest.approx(5.0)
    assert d.parent is None


def test_passive_fill_earns_the_half_spread():
    d = decompose_costs(1, 100.0, 100.0, 0.02, 99.98, 100, 100.0, aggressive_share=0.0)
    row = d.children.iloc[0]
    assert row["spread"] == pytest.approx(-2.0)
    assert row["temp"] == pytest.approx(0.0)
    mixed = decompose_costs(1, 100.0, 100.0, 0.02, 100.0, 100, 100.0, aggressive_share=0.5)
    assert mixed.children.iloc[0]["spread"] == pytest.approx(0.0)


def test_hedge_term_and_own_impact_split_the_permanent_drift():
    betas = [1.0, 0.5, 2.0]
    d = decompose_costs(
        -1,
        100.0,
        100.0,
        0.01,
        99.99,
        100,
        99.90,
        hpi=2.0,
        vol_state=1.0,
        queue_fragility=0.5,
        betas=betas,
        expected_perm_bps=3.0,
    )
    row = d.children.iloc[0]
    drift = 1e4 * 0.10 / 100.0  # a seller watching the mid fall 10 cents
    hedge = 2.0 * (1.0 + 0.5 * 1.0 + 2.0 * 0.5)
    assert row["hedge"] == pytest.approx(hedge)
    assert row["perm"] == pytest.approx(3.0)
    assert row["residual"] == pytest.approx(drift - hedge - 3.0)
    no_model = decompose_costs(
        -1,
        100.0,
        100.0,
        0.01,
        99.99,
        100,
        99.90,
        hpi=2.0,
        vol_state=1.0,
        queue_fragility=0.5,
        betas=betas,
    )
    assert no_model.children.iloc[0]["perm"] == pytest.approx(drift - hedge)
    assert no_model.children.iloc[0]["residual"] == pytest.approx(0.0)


prices = st.floats(90.0, 110.0)


@settings(max_examples=60, deadline=None)
@given(
    side=st.sampled_from([1, -1]),
    m0=prices,
    n=st.integers(1, 6),
    data=st.data(),
    with_betas=st.booleans(),
    with_perm=st.booleans(),
    fill_share=st.floats(0.05, 1.0),
    final=prices,
)
def test_parts_sum_exactly_to_the_shortfall(
    side, m0, n, data, with_betas, with_perm, fill_share, final
):
    arr = st.lists(prices, min_size=n, max_size=n)
    decision = np.array(data.draw(arr))
    fill = np.array(data.draw(arr))
    after = np.array(data.draw(arr))
    half = np.array(data.draw(st.lists(st.floats(0.0, 0.5), min_size=n, max_size=n)))
    aggr = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    weights = np.array(data.draw(st.lists(st.floats(0.1, 1.0), min_size=n, max_size=n)))
    target = 1000.0
    qty = weights / weights.sum() * target * fill_share
    hpi = np.array(data.draw(st.lists(st.floats(-4, 4), min_size=n, max_size=n)))
    d = decompose_costs(
        side,
        m0,
        decision,
        half,
        fill,
        qty,
        after,
        aggressive_share=aggr,
        hpi=hpi,
        vol_state=0.7,
        queue_fragility=0.3,
        betas=[0.8, -0.2, 1.1] if with_betas else None,
        expected_perm_bps=1.5 if with_perm else None,
        target_qty=target,
        final_mid=final,
    )
    kids = d.children
    np.testing.assert_allclose(kids[list(COST_COMPONENTS)].sum(axis=1), kids["total"], atol=1e-9)
    parts = sum(d.parent[k] for k in (*COST_COMPONENTS, "opportunity"))
    sf = implementation_shortfall(side, m0, fill, qty, target, final)
    assert parts == pytest.approx(sf.total_bps, abs=1e-9)
    assert d.parent["total"] == pytest.approx(sf.total_bps, abs=1e-9)
    assert d.parent["opportunity"] == pytest.approx(sf.opportunity_bps, abs=1e-9)
    assert d.parent["fill_rate"] == pytest.approx(fill_share)


def test_fully_filled_parent_needs_no_final_mid():
    d = decompose_costs(
        1, 100.0, [100.0, 100.1], 0.01, [100.01, 100.12], [500, 500], 100.1, target_qty=1000
    )
    assert d.parent["opportunity"] == 0.0
    assert d.parent["total"] == pytest.approx(
        implementation_shortfall(1, 100.0, [100.01, 100.12], [500, 500], 1000).total_bps
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"side": [1, -1]}, "side"),
        ({"aggressive_share": 1.5}, "aggressive_share"),
        ({"half_spread": -0.01}, "half_spread"),
        ({"fill_qty": 0.0}, "fill_qty"),
        ({"target_qty": 50.0}, "target_qty"),
        ({"target_qty": 500.0}, "final_mid"),
        ({"betas": [1.0, 2.0]}, "betas"),
        ({"final_mid": 100.0}, "target_qty"),
        ({"decision_mid": [100.0, 100.0, 100.0], "fill_price": [100.0, 100.0]}, "broadcast"),
    ],
)
def test_decomposition_rejects_bad_input(kwargs, field):
    args = {
        "side": 1,
        "arrival_mid": 100.0,
        "decision_mid": 100.0,
        "half_spread": 0.01,
        "fill_price": 100.01,
        "fill_qty": 100.0,
        "mid_after": 100.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=field):
        decompose_costs(**args)


# ---------------------------------------------------------------- fitting the hedge term


def _hedge_sample(n: int, seed: int, hetero: bool):
    rng = np.random.default_rng(seed)
    hpi = rng.normal(0.0, 1.5, n)
    vol = rng.uniform(0.0, 2.0, n)
    frag = rng.uniform(0.0, 1.0, n)
    noise = rng.normal(0.0, 1.0, n) * (1.0 + 2.0 * np.abs(hpi) if hetero else 1.0)
    y = 0.5 + hedge_term([2.0, 1.0, -1.5], hpi, vol, frag) + noise
    return hpi, vol, frag, y


def test_fit_recovers_the_betas():
    hpi, vol, frag, y = _hedge_sample(4000, 3, hetero=False)
    fit = fit_hedge_term(hpi, vol, frag, y)
    assert isinstance(fit, HedgeTermFit)
    assert np.all(np.abs(fit.betas - [2.0, 1.0, -1.5]) < 4 * fit.std_errors)
    assert fit.intercept == pytest.approx(0.5, abs=4 * fit.intercept_se)
    assert 0.5 < fit.r_squared < 1.0
    np.testing.assert_allclose(fit.predict(1.0, 1.0, 1.0), fit.betas.sum())


def test_robust_errors_are_wider_under_heteroscedasticity():
    hpi, vol, frag, y = _hedge_sample(4000, 4, hetero=True)
    robust = fit_hedge_term(hpi, vol, frag, y, robust=True)
    classical = fit_hedge_term(hpi, vol, frag, y, robust=False)
    np.testing.assert_allclose(robust.betas, classical.betas)
    assert robust.std_errors[0] > 1.2 * classical.std_errors[0]


def test_fit_without_intercept_puts_the_mean_elsewhere():
    hpi, vol, frag, y = _hedge_sample(4000, 5, hetero=False)
    with_const = fit_hedge_term(hpi, vol, frag, y + 5.0)
    without = fit_hedge_term(hpi, vol, frag, y + 5.0, fit_intercept=False)
    assert without.intercept == 0.0
    assert with_const.intercept == pytest.approx(5.5, abs=0.2)
    assert not np.allclose(with_const.betas, without.betas, atol=0.05)


def test_fit_refuses_a_collinear_design():
    hpi = np.linspace(-1, 1, 50)
    with pytest.raises(ValueError, match="rank deficient"):
        fit_hedge_term(hpi, 1.0, np.linspace(0, 1, 50) ** 2, hpi)
    with pytest.raises(ValueError, match="cost_residual"):
        fit_hedge_term(hpi, hpi, hpi, np.full(50, np.nan))


# ---------------------------------------------------------------- markouts


def test_markouts_hand_example_and_sign():
    times = np.array([0.0, 5.0, 30.0, 120.0])
    mids = np.array([100.0, 99.9, 99.8, 100.1])
    out = markouts(1, 0.0, 100.0, times, mids)
    np.testing.assert_allclose(out, [10.0, 20.0, -10.0])
    sell = markouts(-1, 0.0, 100.0, times, mids)
    np.testing.assert_allclose(sell, -out)


def test_markouts_use_the_last_mid_and_nan_past_the_tape():
    times = np.array([0.0, 10.0, 60.0])
    mids = np.array([50.0, 50.5, 49.5])
    out = markouts([1, -1], [0.0, 2.0], [50.0, 50.0], times, mids, horizons=(9, 30, 120))
    assert out.shape == (2, 3)
    assert out[0, 0] == 0.0  # at 9 s the last mid is still the 0 s one
    assert out[1, 0] == pytest.approx(-1e4 * (50.0 - 50.5) / 50.0)
    assert out[0, 1] == pytest.approx(1e4 * (50.0 - 50.5) / 50.0)
    assert np.isnan(out[:, 2]).all()


def test_markouts_reject_bad_input():
    with pytest.raises(ValueError, match="horizons"):
        markouts(1, 0.0, 100.0, [0.0, 1.0], [100.0, 100.0], horizons=(-1,))
    with pytest.raises(ValueError, match="times"):
        markouts(1, 0.0, 100.0, [1.0, 0.0], [100.0, 100.0])


# ---------------------------------------------------------------- CVaR


def test_cvar_hand_examples():
    x = np.arange(1.0, 101.0)
    assert cvar(x, 0.95) == pytest.approx(98.0)  # mean of 96..100
    assert cvar(x, 0.0) == pytest.approx(50.5)
    assert cvar(x, 0.999) == 100.0
    # Fractional tail: 7.5 observations = 94..100 in full and half of 93.
    assert cvar(x, 0.925) == pytest.approx((sum(range(94, 101)) + 0.5 * 93) / 7.5)
    assert cvar(np.random.default_rng(0).permutation(x), 0.95) == pytest.approx(98.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=200), st.floats(0.0, 0.99))
def test_cvar_lies_between_the_quantile_and_the_maximum(x, level):
    arr = np.array(x)
    c = cvar(arr, level)
    assert c <= arr.max() + 1e-9
    assert c >= arr.mean() - 1e-9


def test_cvar_rejects_bad_input():
    with pytest.raises(ValueError, match="level"):
        cvar([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="x"):
        cvar([])
