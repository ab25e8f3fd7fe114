"""Two-band hedge execution: the pure rule, the passive price, and a dealer working its hedge.

The in-model tests use the scripted share book of tests/agents/test_dealers.py (account 0 quotes
around a chosen mid), so the dealer's deviation and the touch are under the test's control.
"""

from __future__ import annotations

import math

import pytest

from agents.hedge_execution import BandCounts, band_action, passive_price
from tests.agents.test_dealers import ScriptedBook, contract, parts, small_model


@pytest.mark.parametrize(
    ("deviation", "mode", "qty"),
    [
        (0.0, "hold", 0),
        (900.0, "hold", 0),
        (-1000.0, "hold", 0),  # on the inner edge: still inside
        (1500.0, "passive", 500),
        (-2400.0, "passive", -1400),
        (2500.0, "cross", 1500),  # on the outer edge: cross
        (-9000.0, "cross", -8000),
    ],
)
def test_band_action_holds_inside_rests_between_and_crosses_beyond(deviation, mode, qty):
    assert band_action(deviation, 1000.0, 2500.0) == (mode, qty)


def test_band_action_with_an_infinite_band_never_trades():
    assert band_action(1e9, math.inf, math.inf).mode == "hold"


def test_band_action_rejects_an_outer_band_inside_the_inner():
    with pytest.raises(ValueError):
        band_action(10.0, 100.0, 50.0)


@pytest.mark.parametrize(
    ("side", "bid", "ask", "inside", "price"),
    [
        (1, 100, 104, 0, 100),  # join the bid
        (1, 100, 104, 1, 101),  # one tick inside
        (1, 100, 104, 9, 103),  # never at or through the ask
        (-1, 100, 104, 1, 103),
        (-1, 100, 104, 9, 101),
        (1, 100, 101, 1, 100),  # one-tick spread: join, do not cross
        (-1, 100, 101, 1, 101),
        (1, None, 104, 1, 103),  # empty near side: one tick under the far touch
        (1, None, None, 1, None),
    ],
)
def test_passive_price_sits_at_or_inside_the_touch_and_never_crosses(side, bid, ask, inside, price):
    assert passive_price(side, bid, ask, inside) == price


def test_band_counts_are_fractions_of_looks():
    c = BandCounts()
    for d in (0.0, 150.0, 300.0, -50.0):
        c.observe(d, 100.0, 250.0)
    assert c.looks == 4
    assert c.fraction_outside_inner == 0.5
    assert c.fraction_outside_outer == 0.25


def banded_dealer(band_shares=1000.0, depth=1_000, **kw):
    m = small_model(
        policy="fixed_band",
        band_shares=band_shares,
        min_trade_shares=1,
        execution="banded",
        outer_band_multiple=2.5,
        max_order_size=100_000,
        **kw,
    )
    book = ScriptedBook(m, depth=depth)
    book.set(100.0, half_spread_ticks=2)
    (d,), (cust, _) = parts(m)
    return m, d, cust, book


def test_between_the_bands_the_dealer_rests_a_passive_order_inside_the_touch():
    m, d, cust, _ = banded_dealer(band_shares=3000.0)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)  # about -5,000 delta
    d.act()
    deviation = -d.net_delta
    assert 3000.0 < deviation < 7500.0
    assert d.hedge_flow == 0 and d.hedge_orders == 0  # nothing crossed
    oid = d.passive.order_id
    assert oid is not None
    assert m.book_view.remaining(oid) == round(deviation - 3000.0)
    assert d.passive.price == m.book_view.best_bid  # one tick inside the old bid: the new bid
    assert m.book_view.best_ask - d.passive.price == 3
    d.act()  # nothing changed: the order is kept, not replaced
    assert d.passive.order_id == oid and d.passive.orders == 1


def test_a_passive_fill_moves_the_hedge_and_is_costed_against_its_decision_mid():
    m, d, cust, _ = banded_dealer(band_shares=3000.0)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)
    d.act()
    price, qty = d.passive.price, m.book_view.remaining(d.passive.order_id)
    m.venue.market(0, -1, qty)  # someone sells into the dealer's bid
    assert d.hedge_flow == qty
    assert d.passive.filled == qty
    # bought below the mid: a gain against the decision mid (100.00)
    assert d.pnl_hedge_cost == pytest.approx(qty * (100.0 - price * m.tick))
    assert d.pnl_hedge_cost > 0
    d.act()  # back at the inner edge: holds, nothing rests
    assert d.passive.order_id is None
    assert d.bands.looks == 2 and d.bands.outside_inner == 1


def test_beyond_the_outer_band_the_dealer_crosses_back_to_the_inner_edge():
    m, d, cust, _ = banded_dealer(band_shares=1000.0, depth=50_000)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)  # about -5,000 > 2,500
    before = -d.net_delta
    d.act()
    assert d.hedge_orders >= 1
    assert d.passive.order_id is None
    assert d.hedge_flow == pytest.approx(before - 1000.0, abs=1)
    assert -d.net_delta == pytest.approx(1000.0, abs=1)
    assert d.bands.outside_outer == 1


def test_a_resting_hedge_is_cancelled_at_the_close():
    m, d, cust, _ = banded_dealer(band_shares=3000.0)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)
    d.act()
    oid = d.passive.order_id
    d.on_close(0)
    assert d.passive.order_id is None
    assert m.book_view.remaining(oid) == 0
