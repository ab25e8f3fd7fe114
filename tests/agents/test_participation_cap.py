"""The dealers' participation ceiling: crossing hedges capped at a share of the market's volume,
and the outer band widened by what the ceiling holds back.

The in-model cases use the scripted share book of tests/agents/test_dealers.py; the market's
volume is printed by a customer account trading against it, so the window's volume is under the
test's control.
"""

from __future__ import annotations

import math

import pytest

from agents.dealers import DealersConfig
from agents.hedge_execution import ParticipationCap
from tests.agents.test_dealers import ScriptedBook, contract, parts, small_model


def test_the_allowance_keeps_the_crossing_share_of_all_volume_at_the_cap():
    cap = ParticipationCap(0.2, 60.0)
    others = 10_000
    room = cap.allowance(0.0, others)
    assert room == pytest.approx(2_500)  # 0.2 / 0.8 of what the others printed
    cap.record(0.0, 2_500, crossing=True)
    assert cap.allowance(1.0, others + 2_500) == pytest.approx(0.0)
    assert 2_500 / (others + 2_500) == pytest.approx(0.2)


def test_the_desks_own_passive_prints_are_not_counted_as_the_markets():
    cap = ParticipationCap(0.2, 60.0)
    cap.record(0.0, 6_000, crossing=False)  # filled passively: the others' crossing flow
    assert cap.allowance(1.0, 10_000) == pytest.approx(0.25 * 4_000)


def test_fills_older_than_the_window_no_longer_count():
    cap = ParticipationCap(0.2, 60.0)
    cap.record(0.0, 2_500, crossing=True)
    assert cap.allowance(30.0, 2_500) == 0.0
    assert cap.allowance(61.0, 2_500) == pytest.approx(0.25 * 2_500)


def test_a_cap_of_one_is_no_ceiling_and_a_limit_cuts_toward_zero():
    assert ParticipationCap(1.0, 60.0).allowance(0.0, 0.0) == math.inf
    cap = ParticipationCap(0.5, 60.0)
    assert cap.limit(-700, 0.0, 300.5) == -300  # 0.5 / 0.5 * 300.5, cut toward zero
    assert cap.limit(200, 0.0, 300.0) == 200
    assert cap.binds == 1


def test_the_widening_never_narrows_and_relaxes_with_a_half_life_of_the_window():
    cap = ParticipationCap(0.2, 60.0)
    assert cap.band_multiple(0.0) == 1.0
    cap.widen(0.0, 3.0)
    assert cap.band_multiple(60.0) == pytest.approx(2.0)
    cap.widen(60.0, 1.5)  # narrower than now: kept at 2
    assert cap.band_multiple(60.0) == pytest.approx(2.0)
    assert cap.band_multiple(1e6) == pytest.approx(1.0)


@pytest.mark.parametrize(("cap", "window"), [(0.0, 60.0), (1.5, 60.0), (0.2, 0.0)])
def test_a_cap_outside_its_range_is_refused(cap, window):
    with pytest.raises(ValueError):
        ParticipationCap(cap, window)


@pytest.mark.parametrize("kw", [{"participation_cap": 0.0}, {"participation_window_seconds": -1.0}])
def test_the_config_names_the_field_out_of_range(kw):
    (name,) = kw
    with pytest.raises(ValueError, match=f"agents.dealers.{name}"):
        DealersConfig(**kw)


def dealer_after_volume(cap: float, market_shares: int, relax: float = 0.0, side: int = 1):
    """A banded dealer about 5,000 shares from neutral (band 1,000, outer 2,500) after the rest
    of the market printed ``market_shares`` at the scripted touch; short calls (short gamma)
    when the customer buys (``side`` +1), long calls when it sells."""
    m = small_model(
        policy="fixed_band",
        band_shares=1000.0,
        min_trade_shares=1,
        execution="banded",
        outer_band_multiple=2.5,
        max_order_size=100_000,
        passive_urgency_floor=1.0,
        participation_cap=cap,
        participation_window_seconds=60.0,
        participation_relax_seconds=relax,
    )
    book = ScriptedBook(m, depth=50_000)
    book.set(100.0, half_spread_ticks=2)
    (d,), (cust, other) = parts(m)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), side, 100)
    if market_shares:
        m.venue.market(other.account, 1, market_shares)
    m.state.update()  # the step's volume, as the model records it after every step
    return m, d


def test_the_ceiling_binds_the_crossing_hedge_to_its_share_of_the_volume():
    _, d = dealer_after_volume(cap=0.2, market_shares=4_000)
    gap = -d.net_delta
    assert gap > 4_000  # 2,500 or more to cross without the ceiling
    d.act()
    assert d.hedge_flow == 1_000  # 0.2 / 0.8 * 4,000
    assert d.hedge_flow / (4_000 + d.hedge_flow) == pytest.approx(0.2)
    assert d.cap.binds == 1


def test_without_the_ceiling_the_same_hedge_crosses_to_the_outer_band():
    _, d = dealer_after_volume(cap=1.0, market_shares=4_000)
    d.act()
    assert -d.net_delta == pytest.approx(2_500, abs=1)
    assert d.cap.binds == 0


def test_when_the_ceiling_binds_the_band_widens_and_the_gap_rests_instead_of_crossing():
    m, d = dealer_after_volume(cap=0.2, market_shares=4_000, relax=60.0)
    d.act()
    left = -d.net_delta
    assert d.cap.band_multiple(m.now) == pytest.approx(left / 2_500)
    resting = m.book_view.remaining(d.passive.order_id)
    assert resting == pytest.approx(left - 1_000, abs=1)  # the wider band's part rests
    orders = d.hedge_orders
    d.act()  # no new volume: nothing more crosses, the gap stays open
    assert d.hedge_orders == orders
    assert -d.net_delta == pytest.approx(left)


def test_with_no_volume_in_the_window_nothing_crosses():
    _, d = dealer_after_volume(cap=0.2, market_shares=0)
    d.act()
    assert d.hedge_orders == 0
    assert d.passive.order_id is not None  # it still bids for its hedge


def test_a_long_gamma_book_is_not_held_back():
    """Only a short-gamma hedge feeds on its own impact; a long-gamma dealer's crossing is
    sent in full with the same volume behind it."""
    _, d = dealer_after_volume(cap=0.2, market_shares=4_000, side=-1)
    assert d.net_gamma > 0
    d.act()
    assert d.net_delta == pytest.approx(2_500, abs=1)  # crossed back to the outer band
    assert d.cap.binds == 0


def test_without_widening_the_part_held_back_crosses_as_the_market_trades():
    """``participation_relax_seconds`` 0: the band stays the policy's, so the gap held back is
    crossed at later looks, at the ceiling's pace as the rest of the market prints."""
    m, d = dealer_after_volume(cap=0.2, market_shares=4_000)
    d.act()
    assert d.cap.band_multiple(m.now) == 1.0
    first = d.hedge_flow
    d.act()  # no new volume: the allowance is spent
    assert d.hedge_flow == first
    other = m.populations["customers"][1]
    m.venue.market(other.account, 1, 2_000)
    m.state.update()
    d.act()
    assert d.hedge_flow == first + 500  # 0.2 / 0.8 of the new 2,000
