"""The options venue message by message: listing, orders, price protection, quotes, mass cancel,
crosses, halts, top of book, the event sequence and settlement into a ledger."""

from __future__ import annotations

import numpy as np
import pytest

from market.exchange.clearing import Ledger
from market.exchange.event_clock import EventClock
from market.exchange.option_venue import (
    REFUSAL_REASONS,
    OptionPrint,
    OptionSettlement,
    OptionVenue,
    OptionVenueError,
    Pulled,
)
from market.exchange.order_book import BUY, SELL

N_SERIES = 4


class Recorder:
    """A venue over ``N_SERIES`` series with a settable clock and every print kept."""

    def __init__(self, max_cross_ticks: int = 5, events: EventClock | None = None) -> None:
        self.now = 0.0
        self.prints: list[OptionPrint] = []
        self.venue = OptionVenue(
            N_SERIES,
            clock=lambda: self.now,
            on_trade=self.prints.append,
            events=events,
            max_cross_ticks=max_cross_ticks,
        )


@pytest.fixture
def rec() -> Recorder:
    r = Recorder()
    r.venue.list_series(0)
    r.venue.list_series(1)
    return r


# ---------------------------------------------------------------------- listing
def test_listing_creates_an_empty_book_and_unlisted_series_show_minus_one(rec):
    v = rec.venue
    assert v.listed_contracts == [0, 1]
    assert v.listed(0) and not v.listed(2)
    assert v.view(0).tick_size == 0.01
    bid_px, bid_sz, ask_px, ask_sz = v.top()
    for row in (bid_px, bid_sz, ask_px, ask_sz):
        assert row.tolist() == [0, 0, -1, -1]
    with pytest.raises(OptionVenueError, match="contract 1 is already listed"):
        v.list_series(1)
    with pytest.raises(OptionVenueError, match="contract must be an integer in"):
        v.list_series(N_SERIES)
    with pytest.raises(OptionVenueError, match="contract 2 is not listed"):
        v.view(2)


def test_delisting_cancels_every_resting_order_and_refuses_later_messages(rec):
    v = rec.venue
    a = v.limit(7, 1, BUY, 100, 3)
    b = v.limit(8, 1, SELL, 103, 2)
    v.quote(9, 1, 99, 4, 104, 4)
    kept = v.limit(7, 0, BUY, 50, 1)  # order ids are per series: this is 1 again
    pulled = v.delist(1)
    assert pulled == [
        Pulled(7, 1, a, 3),
        Pulled(8, 1, b, 2),
        Pulled(9, 1, 3, 4),
        Pulled(9, 1, 4, 4),
    ]
    assert v.orders_of(7) == [(0, kept)] and v.orders_of(9) == []
    assert v.quote_ids(9, 1) == (0, 0)
    assert v.top()[0].tolist() == [50, -1, -1, -1]
    before = v.events.last
    assert v.limit(7, 1, BUY, 100, 1) is None
    assert v.ioc(7, 1, BUY, 100, 1) is None
    assert v.cancel(1, a) == 0
    assert v.replace(1, a, 100, 1) is None
    assert v.quote(9, 1, 99, 1, 100, 1) == (None, None)
    assert v.n_refused["not_listed"] == 5
    assert v.events.last == before
    v.list_series(1)  # a fresh book: ids start again
    assert v.limit(7, 1, BUY, 100, 1) == 1


def test_a_series_listed_while_halted_is_halted(rec):
    v = rec.venue
    v.halt_all("underlying halted")
    v.list_series(3)
    assert v.view(3).halted
    assert v.ioc(1, 3, BUY, 10, 1) is None


# ---------------------------------------------------------------------- orders
def test_limit_rests_then_trades_at_the_resting_price_with_seq_after_the_message(rec):
    v = rec.venue
    rec.now = 12.5
    ask = v.limit(1, 0, SELL, 110, 5)
    assert v.orders_of(1) == [(0, ask)]
    bid = v.limit(2, 0, BUY, 112, 3)
    message_seq = v.message_seq
    assert rec.prints == [OptionPrint(message_seq + 1, 12.5, 0, 110, 3, 2, 1, BUY, bid, ask, 0)]
    assert v.view(0).remaining(ask) == 2
    assert v.orders_of(2) == []  # filled at once: it never rested
    assert v.n_prints == 1 and v.n_messages == 4 and v.n_events == 5 == v.events.last


def test_front_order_is_the_first_in_time_at_the_best_price(rec):
    v = rec.venue
    assert v.front_order(0, 1) is None and v.front_order(2, 1) is None  # empty, unlisted
    v.limit(7, 0, 1, 40, 3)
    first = v.limit(8, 0, 1, 41, 5)
    v.limit(9, 0, 1, 41, 2)
    v.limit(9, 0, -1, 45, 1)
    assert v.front_order(0, 1) == (first, 8, 41, 5)
    assert v.front_order(0, -1)[1:] == (9, 45, 1)
    v.ioc(6, 0, -1, 41, 4)
    assert v.front_order(0, 1) == (first, 8, 41, 1)
    with pytest.raises(OptionVenueError, match="side"):
        v.front_order(0, 0)


def test_ioc_returns_the_quantity_filled_and_never_rests(rec):
    v = rec.venue
    v.limit(1, 0, BUY, 100, 2)
    v.limit(1, 0, BUY, 99, 2)
    assert v.ioc(2, 0, SELL, 99, 5) == 4
    assert [(p.price, p.qty, p.aggressor_side, p.seller) for p in rec.prints] == [
        (100, 2, SELL, 2),
        (99, 2, SELL, 2),
    ]
    assert v.ioc(2, 0, SELL, 99, 5) == 0  # nothing left to cross
    assert v.top()[2][0] == 0  # the remainder was cancelled, not rested
    assert v.orders_of(1) == [] and v.orders_of(2) == []


def test_ioc_while_halted_is_refused_and_counted(rec):
    v = rec.venue
    v.limit(1, 0, SELL, 100, 2)
    v.halt_all("news")
    seq = v.events.last
    assert v.ioc(2, 0, BUY, 100, 1) is None
    assert v.n_refused["halted"] == 1 and v.events.last == seq
    assert rec.prints == []


@pytest.mark.parametrize("method", ["limit", "ioc"])
def test_price_protection_refuses_orders_beyond_max_cross_ticks(rec, method):
    v = rec.venue  # max_cross_ticks = 5
    v.limit(1, 0, SELL, 100, 10)
    v.limit(1, 0, BUY, 90, 10)
    send = getattr(v, method)
    assert send(2, 0, BUY, 106, 1) is None
    assert send(2, 0, SELL, 84, 1) is None
    assert v.n_refused["price_protection"] == 2
    assert send(2, 0, BUY, 105, 1) is not None
    assert send(2, 0, SELL, 85, 1) is not None
    assert [p.price for p in rec.prints] == [100, 90]
    # with no opposite side there is nothing to protect against
    assert v.limit(3, 1, BUY, 10_000, 1) is not None


def test_zero_max_cross_ticks_allows_only_the_touch():
    r = Recorder(max_cross_ticks=0)
    r.venue.list_series(0)
    r.venue.limit(1, 0, SELL, 100, 1)
    r.venue.limit(1, 0, SELL, 101, 1)
    assert r.venue.ioc(2, 0, BUY, 101, 2) is None
    assert r.venue.ioc(2, 0, BUY, 100, 2) == 1


def test_cancel_returns_the_quantity_and_zero_once_finished(rec):
    v = rec.venue
    oid = v.limit(1, 0, BUY, 100, 4)
    assert v.cancel(0, oid) == 4
    assert v.orders_of(1) == []
    assert v.cancel(0, oid) == 0
    with pytest.raises(OptionVenueError, match="order_id must be an integer in"):
        v.cancel(0, 99)


def test_replace_moves_the_order_and_loses_time_priority(rec):
    v = rec.venue
    first = v.limit(1, 0, BUY, 100, 4)
    second = v.limit(2, 0, BUY, 100, 4)
    new = v.replace(0, first, 100, 6)
    assert new not in (None, first)
    view = v.view(0)
    assert view.remaining(first) == 0 and view.remaining(new) == 6
    assert view.level_orders(BUY, 100) == [second, new]
    assert v.orders_of(1) == [(0, new)]
    assert v.ioc(3, 0, SELL, 100, 5) == 5
    assert [p.buyer for p in rec.prints] == [2, 1]


def test_replace_of_a_finished_order_or_beyond_protection_is_refused(rec):
    v = rec.venue
    ask = v.limit(1, 0, SELL, 100, 1)
    bid = v.limit(2, 0, BUY, 95, 1)
    assert v.ioc(3, 0, BUY, 100, 1) == 1
    assert v.replace(0, ask, 101, 1) is None
    assert v.n_refused["order_finished"] == 1
    v.limit(1, 0, SELL, 100, 1)
    assert v.replace(0, bid, 106, 1) is None  # 6 ticks through the ask
    assert v.n_refused["price_protection"] == 1
    assert v.view(0).remaining(bid) == 1  # the old order stays
    with pytest.raises(OptionVenueError, match="qty must be an integer in"):
        v.replace(0, bid, 96, 0)
    assert v.view(0).remaining(bid) == 1


# ---------------------------------------------------------------------- quotes
def test_a_quote_replaces_the_owners_previous_quote(rec):
    v = rec.venue
    bid1, ask1 = v.quote(5, 0, 100, 10, 104, 10)
    bid2, ask2 = v.quote(5, 0, 101, 8, 103, 8)
    view = v.view(0)
    assert view.remaining(bid1) == view.remaining(ask1) == 0
    assert (view.best_bid, view.best_ask) == (101, 103)
    assert v.quote_ids(5, 0) == (bid2, ask2)
    assert v.top()[1][0] == 8
    bid3, ask3 = v.quote(5, 0, None, 0, 102, 1)  # one-sided: the bid is pulled
    assert bid3 is None and view.best_bid is None and view.best_ask == 102
    assert v.quote_ids(5, 0) == (0, ask3)
    assert v.quote(5, 0, None, 0, None, 0) == (None, None)  # pulls the quote
    assert view.best_ask is None


def test_a_crossing_quote_trades_as_a_limit_order_would(rec):
    v = rec.venue
    v.limit(1, 0, SELL, 100, 3)
    v.limit(1, 0, BUY, 95, 3)
    bid, ask = v.quote(5, 0, 101, 5, 104, 5)
    assert [(p.price, p.qty, p.buyer, p.seller, p.aggressor_side) for p in rec.prints] == [
        (100, 3, 5, 1, BUY)
    ]
    assert v.view(0).remaining(bid) == 2 and v.view(0).remaining(ask) == 5


def test_a_quote_side_beyond_protection_is_refused_and_the_other_side_still_enters(rec):
    v = rec.venue  # max_cross_ticks = 5
    v.limit(1, 0, SELL, 100, 3)
    bid, ask = v.quote(5, 0, 106, 5, 120, 5)
    assert bid is None and ask is not None
    assert v.n_refused["price_protection"] == 1
    assert v.quote_ids(5, 0) == (0, ask)


def test_protection_for_a_quote_is_checked_after_the_old_quote_is_pulled(rec):
    v = rec.venue
    v.quote(5, 0, 100, 1, 101, 1)
    v.limit(1, 0, SELL, 130, 1)
    # the new bid is 19 ticks above the owner's old ask, but within 5 of the other ask
    bid, _ = v.quote(5, 0, 125, 1, 140, 1)
    assert bid is not None and rec.prints == []


def test_a_post_only_quote_is_repriced_one_tick_behind_the_other_owners_best(rec):
    v = rec.venue
    v.quote(1, 0, 100, 5, 104, 5)
    bid, ask = v.quote(2, 0, 104, 3, 108, 3, post_only=True)  # its bid would take 104
    assert rec.prints == [] and v.view(0).depth(5) == ([(103, 3), (100, 5)], [(104, 5), (108, 3)])
    assert v.view(0).remaining(bid) == 3 and v.quote_ids(2, 0) == (bid, ask)
    v.quote(2, 0, 96, 3, 99, 3, post_only=True)  # its ask would take 100
    assert rec.prints == [] and v.view(0).depth(1) == ([(100, 5)], [(101, 3)])
    assert v.n_repriced == {"bid": 1, "ask": 1, "bid_dropped": 0, "ask_dropped": 0}
    # the owner's own previous quote is pulled first, so it never reprices against itself
    v.quote(2, 0, 102, 3, 103, 3, post_only=True)
    assert v.view(0).depth(1) == ([(102, 3)], [(103, 3)]) and v.n_repriced["bid"] == 1
    # a quote that crosses nothing is entered as sent, and without post_only it still trades
    v.quote(3, 1, 50, 1, 60, 1, post_only=True)
    assert v.view(1).depth(1) == ([(50, 1)], [(60, 1)]) and sum(v.n_repriced.values()) == 2
    v.quote(3, 0, 103, 1, 110, 1)
    assert [(p.price, p.qty, p.buyer, p.seller) for p in rec.prints] == [(103, 1, 3, 2)]


def test_a_post_only_bid_that_cannot_reach_a_tick_is_not_entered(rec):
    v = rec.venue
    v.quote(1, 0, None, 0, 1, 4)
    bid, ask = v.quote(2, 0, 1, 2, 3, 2, post_only=True)
    assert bid is None and ask is not None and v.quote_ids(2, 0) == (0, ask)
    assert v.n_repriced["bid_dropped"] == 1 and rec.prints == []
    assert v.view(0).best_bid is None and v.view(0).best_ask == 1
    with pytest.raises(OptionVenueError, match="post_only must be True or False"):
        v.quote(2, 0, 1, 2, 3, 2, post_only=1)
    assert v.quote_ids(2, 0) == (0, ask)


def test_a_replaced_quote_side_stays_the_quote_side(rec):
    v = rec.venue
    bid, _ = v.quote(5, 0, 100, 1, 104, 1)
    moved = v.replace(0, bid, 99, 2)
    assert v.quote_ids(5, 0)[0] == moved
    v.quote(5, 0, 98, 1, 104, 1)
    assert v.view(0).remaining(moved) == 0
    assert v.view(0).depth(5)[0] == [(98, 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((101, 1, 101, 1), "bid_px < ask_px"),
        ((None, 3, 101, 1), "bid_qty must be 0 when bid_px is None"),
        ((100, -1, 101, 1), "bid_qty must be an integer"),
        ((100, 1, 101.5, 1), "ask_px must be an integer"),
    ],
)
def test_a_malformed_quote_changes_nothing(rec, args, message):
    v = rec.venue
    ids = v.quote(5, 0, 90, 1, 110, 1)
    seq = v.events.last
    with pytest.raises(OptionVenueError, match=message):
        v.quote(5, 0, *args)
    assert v.events.last == seq and v.quote_ids(5, 0) == ids


# ---------------------------------------------------------------------- mass cancel
def test_mass_cancel_pulls_every_order_and_quote_of_one_owner(rec):
    v = rec.venue
    v.quote(5, 0, 100, 2, 104, 2)
    v.quote(5, 1, 50, 1, 60, 1)
    v.limit(5, 1, BUY, 49, 7)
    other = v.limit(6, 0, BUY, 99, 1)
    pulled = v.mass_cancel(5)
    assert pulled == [
        Pulled(5, 0, 1, 2),
        Pulled(5, 0, 2, 2),
        Pulled(5, 1, 1, 1),
        Pulled(5, 1, 2, 1),
        Pulled(5, 1, 3, 7),
    ]
    assert v.orders_of(5) == [] and v.quote_ids(5, 0) == (0, 0)
    assert v.orders_of(6) == [(0, other)]
    assert v.top()[0].tolist() == [99, 0, -1, -1]
    assert v.mass_cancel(5) == []


# ---------------------------------------------------------------------- crosses
def test_a_cross_prints_off_book_through_the_same_sequence_and_callback(rec):
    v = rec.venue
    outside = EventClock()
    rec.now = 3.0
    p = v.cross(1, buyer=4, seller=6, qty=2, price=55, package_id=9)
    assert p == OptionPrint(v.message_seq + 1, 3.0, 1, 55, 2, 4, 6, 0, 0, 0, 9)
    assert rec.prints == [p] and v.n_prints == 1
    assert v.top()[0][1] == 0  # the book is untouched
    assert outside.last == 0
    with pytest.raises(OptionVenueError, match="two accounts"):
        v.cross(1, 4, 4, 1, 55)
    with pytest.raises(OptionVenueError, match="contract 2 is not listed"):
        v.cross(2, 4, 6, 1, 55)
    v.halt_all("news")
    with pytest.raises(OptionVenueError, match="venue is halted"):
        v.cross(1, 4, 6, 1, 55)


# ---------------------------------------------------------------------- halts
def test_halt_holds_limits_and_reopen_runs_each_books_auction(rec):
    v = rec.venue
    v.halt_all("underlying halted")
    assert v.halted and v.view(0).halted and v.view(1).halted
    v.halt_all("still halted")
    assert v.halt_reason == "still halted"
    v.limit(1, 0, BUY, 105, 3)
    v.limit(2, 0, SELL, 101, 2)
    v.quote(3, 1, 60, 1, 70, 1)
    v.limit(4, 1, SELL, 58, 1)
    assert rec.prints == []
    rec.now = 8.0
    seq = v.events.last
    auction = v.reopen_all()
    assert not v.halted and not v.view(0).halted
    assert [(p.contract, p.qty, p.aggressor_side, p.time) for p in auction] == [
        (0, 2, 0, 8.0),
        (1, 1, 0, 8.0),
    ]
    assert len({p.price for p in auction if p.contract == 0}) == 1
    assert [p.seq for p in auction] == [seq + 2, seq + 3]
    assert rec.prints == auction
    with pytest.raises(OptionVenueError, match="needs a halted venue"):
        v.reopen_all()


# ---------------------------------------------------------------------- top of book
def test_top_is_recomputed_only_for_touched_series_and_is_read_only(rec):
    v = rec.venue
    v.limit(1, 0, BUY, 100, 2)
    v.limit(1, 0, BUY, 100, 3)
    v.limit(1, 1, SELL, 40, 1)
    bid_px, bid_sz, ask_px, ask_sz = v.top()
    assert (bid_px[0], bid_sz[0], ask_px[1], ask_sz[1]) == (100, 5, 40, 1)
    with pytest.raises(ValueError, match="read-only"):
        bid_px[0] = 1
    v._tops[0, 1] = 12345  # a stale value in an untouched series stays as it is
    v.limit(1, 0, BUY, 101, 1)
    assert v.top()[0].tolist() == [101, 12345, -1, -1]


def test_top_listeners_hear_of_changed_tops_only_and_may_send_messages(rec):
    v = rec.venue
    heard: list[int] = []

    def listener(contract: int) -> None:
        heard.append(contract)
        if contract == 0 and v.view(0).best_ask == 100:
            v.ioc(9, 0, BUY, 100, 1)  # takes the new ask at once

    v.limit(1, 1, BUY, 10, 1)
    v.add_top_listener(listener)
    v.limit(1, 1, BUY, 9, 1)  # behind the best bid: no change
    assert heard == []
    v.limit(1, 0, SELL, 100, 1)
    assert heard == [0, 0]  # the new ask, then the ask taken by the listener
    assert [(p.buyer, p.seller) for p in rec.prints] == [(9, 1)]
    v.delist(1)
    assert heard == [0, 0, 1]
    with pytest.raises(OptionVenueError, match="callable"):
        v.add_top_listener(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- event sequence
def test_one_event_clock_orders_two_venues_and_another_books_messages():
    shared = EventClock()
    a, b = Recorder(events=shared), Recorder(events=shared)
    a.venue.list_series(0)
    b.venue.list_series(0)
    assert a.venue.next_seq() == 3
    a.venue.limit(1, 0, SELL, 10, 1)
    b.venue.limit(1, 0, SELL, 10, 1)
    b.venue.ioc(2, 0, BUY, 10, 1)
    assert (a.venue.message_seq, b.venue.message_seq) == (4, 6)
    assert b.prints[0].seq == 7 == shared.last
    assert a.venue.n_events == 2 and b.venue.n_events == 4


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("limit", (1, 0, 0, 100, 1), "side must be"),
        ("limit", (1, 0, BUY, 0, 1), "price must be an integer"),
        ("limit", (1, 0, BUY, 100.0, 1), "price must be an integer"),
        ("limit", (1, 0, BUY, 100, True), "qty must be an integer"),
        ("limit", (True, 0, BUY, 100, 1), "owner must be an integer"),
        ("ioc", (1, -1, BUY, 100, 1), "contract must be an integer"),
        ("ioc", (1, 0, SELL, 100, 2**62), "qty must be an integer"),
        ("cancel", (0, 0), "order_id must be an integer"),
        ("mass_cancel", (1.0,), "owner must be an integer"),
        ("cross", (0, 1, 2, 1, 0), "price must be an integer"),
        ("halt_all", ("",), "reason must be a non-empty string"),
    ],
)
def test_bad_input_raises_and_takes_no_event_number(rec, method, args, message):
    seq, messages = rec.venue.events.last, rec.venue.n_messages
    with pytest.raises(OptionVenueError, match=message):
        getattr(rec.venue, method)(*args)
    assert (rec.venue.events.last, rec.venue.n_messages) == (seq, messages)


def test_numpy_integers_are_accepted(rec):
    oid = rec.venue.limit(np.int64(1), np.int32(0), np.int8(-1), np.int64(100), np.int64(2))
    assert oid == 1 and rec.venue.top()[2][0] == 100


def test_constructor_arguments_are_checked():
    with pytest.raises(OptionVenueError, match="n_contracts"):
        OptionVenue(0, clock=lambda: 0.0)
    with pytest.raises(OptionVenueError, match="max_cross_ticks"):
        OptionVenue(2, clock=lambda: 0.0, max_cross_ticks=-1)
    with pytest.raises(OptionVenueError, match="tick_size"):
        OptionVenue(2, clock=lambda: 0.0, tick_size=0.0)
    with pytest.raises(OptionVenueError, match="tick_size"):
        OptionVenue(2, clock=lambda: 0.0, tick_size=True)
    with pytest.raises(OptionVenueError, match="clock must be a callable"):
        OptionVenue(2, clock=0.0)  # type: ignore[arg-type]
    with pytest.raises(OptionVenueError, match="events"):
        OptionVenue(2, clock=lambda: 0.0, events=3)  # type: ignore[arg-type]
    assert set(OptionVenue(2, clock=lambda: 0.0).n_refused) == set(REFUSAL_REASONS)


# ---------------------------------------------------------------------- settlement
def test_settlement_moves_exact_cents_and_contracts():
    ledger = Ledger(n_accounts=4, n_contracts=2, multiplier=100)
    settle = OptionSettlement(ledger, tick_size=0.01)
    venue = OptionVenue(2, clock=lambda: 0.0, on_trade=settle)
    venue.list_series(1)
    venue.limit(1, 1, SELL, 7, 3)  # 0.07 a share: the float 0.07 * 100 is not exact
    venue.ioc(2, 1, BUY, 7, 2)
    venue.cross(1, buyer=3, seller=1, qty=1, price=123)
    assert ledger.cash.tolist() == [0, 2 * 7 * 100 + 123 * 100, -2 * 700, -12300]
    assert ledger.options[:, 1].tolist() == [0, -3, 2, 1]
    assert settle.cents == 2 * 700 + 12300
    ledger.check()


def test_settlement_refuses_a_tick_that_is_not_whole_cents():
    with pytest.raises(OptionVenueError, match="whole number of cents"):
        OptionSettlement(Ledger(2, 1, multiplier=1), tick_size=0.001)
    assert OptionSettlement(Ledger(2, 1, multiplier=100), tick_size=0.05).cents_per_tick == 500


def test_settlement_refuses_a_premium_a_float_cannot_hold_to_the_cent():
    ledger = Ledger(n_accounts=3, n_contracts=1)
    settle = OptionSettlement(ledger)
    huge = OptionPrint(1, 0.0, 0, 2**54 + 1, 1, 1, 2, BUY, 1, 2, 0)
    with pytest.raises(OptionVenueError, match="not a whole number of cents"):
        settle(huge)
    assert ledger.cash.tolist() == [0, 0, 0] and settle.cents == 0
    settle(huge._replace(price=2**40))
    assert ledger.cash.tolist() == [0, -(2**40) * 100, 2**40 * 100]
