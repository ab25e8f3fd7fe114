"""Two-band hedge execution: the pure rule, the passive price, and a dealer working its hedge.

The in-model tests use the scripted share book of tests/agents/test_dealers.py (account 0 quotes
around a chosen mid), so the dealer's deviation and the touch are under the test's control.
"""

from __future__ import annotations

import math

import pytest

from agents.hedge_execution import BandCounts, CrossTarget, band_action, passive_price
from tests.agents.test_dealers import ScriptedBook, contract, parts, small_model


@pytest.mark.parametrize(
    ("deviation", "cross", "rest"),
    [
        (0.0, 0, 0),
        (900.0, 0, 0),
        (-1000.0, 0, 0),  # on the inner edge: still inside
        (1500.0, 0, 500),
        (-2400.0, 0, -1400),
        (2500.0, 0, 1500),  # on the outer edge: nothing beyond it to cross
        (-9000.0, -6500, -1500),  # only the part beyond the outer band crosses
    ],
)
def test_band_action_crosses_only_the_excess_beyond_the_outer_band(deviation, cross, rest):
    assert band_action(deviation, 1000.0, 2500.0) == (cross, rest)


@pytest.mark.parametrize(
    ("cross_to", "cross"),
    [(CrossTarget.outer, 6500), (CrossTarget.inner, 8000), (CrossTarget.neutral, 9000)],
)
def test_the_earlier_targets_cross_to_the_inner_edge_or_the_whole_gap(cross_to, cross):
    action = band_action(9000.0, 1000.0, 2500.0, cross_to)
    assert action.cross == cross
    assert action.cross + action.rest == (9000 if cross_to is CrossTarget.neutral else 8000)


def test_passive_urgency_rises_with_the_excess_from_the_floor_to_all_of_it():
    rests = [band_action(d, 1000.0, 2000.0, passive_floor=0.2).rest for d in (1100, 1500, 1999)]
    assert rests[0] == round(0.28 * 100)  # u = 0.2 + 0.8 * 0.1
    assert rests[1] == round(0.6 * 500)
    assert rests[2] == pytest.approx(999, abs=1)
    fractions = [r / (d - 1000) for r, d in zip(rests, (1100, 1500, 1999), strict=True)]
    assert fractions == sorted(fractions)
    assert band_action(-1500.0, 1000.0, 2000.0, passive_floor=1.0).rest == -500


def test_band_action_rejects_a_floor_outside_zero_one():
    with pytest.raises(ValueError):
        band_action(10.0, 1.0, 2.0, passive_floor=1.5)


def test_band_action_with_an_infinite_band_never_trades():
    assert band_action(1e9, math.inf, math.inf).mode == "hold"
    assert band_action(1e9, 100.0, math.inf, passive_floor=0.0).rest == 0


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
    kw.setdefault("passive_urgency_floor", 1.0)
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


@pytest.mark.parametrize(
    ("cross_to", "left"),
    [("outer", 2500.0), ("inner", 1000.0), ("neutral", 0.0)],
)
def test_beyond_the_outer_band_the_dealer_crosses_only_the_excess(cross_to, left):
    """Trade to the band: the crossing children take only the gap beyond the outer band, the
    band's width is left resting passively; the earlier targets cross to the inner edge or the
    whole gap."""
    m, d, cust, _ = banded_dealer(band_shares=1000.0, depth=50_000, cross_to=cross_to)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)  # about -5,000 > 2,500
    before = -d.net_delta
    d.act()
    assert d.hedge_orders >= 1
    assert d.hedge_flow == pytest.approx(before - left, abs=1)
    assert -d.net_delta == pytest.approx(left, abs=1)
    assert d.bands.outside_outer == 1
    if cross_to == "outer":  # the band's width rests, one tick inside the bid
        assert m.book_view.remaining(d.passive.order_id) == pytest.approx(1500, abs=1)
    else:
        assert d.passive.order_id is None


def test_a_resting_hedge_is_cancelled_at_the_close():
    m, d, cust, _ = banded_dealer(band_shares=3000.0)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)
    d.act()
    oid = d.passive.order_id
    d.on_close(0)
    assert d.passive.order_id is None
    assert m.book_view.remaining(oid) == 0


@pytest.mark.parametrize(("tolerance", "kept"), [(0.5, True), (0.0, False)])
def test_a_resting_order_is_kept_while_its_size_is_within_the_tolerance(tolerance, kept):
    """Replacing an order that rests inside the spread moves the touch back and forth, so a
    size that only drifts keeps the order (and its queue place) within the tolerance."""
    m, d, _, _ = banded_dealer(passive_resize_tolerance=tolerance)
    d.passive.rest(1000, 100.0)
    first = d.passive.order_id
    d.passive.rest(1200, 100.0)
    assert (d.passive.order_id == first) is kept
    assert d.passive.orders == (1 if kept else 2)
    d.passive.rest(3000, 100.0)  # far beyond any tolerance here: replaced
    assert m.book_view.remaining(d.passive.order_id) == 3000
