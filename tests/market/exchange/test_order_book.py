"""Unit tests of the limit order book: order types, priority, queries, bad input, halts, bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.exchange.order_book import BUY, SELL, HaltedError, OrderBook, OrderBookError, Trade


def snapshot(book: OrderBook):
    """Everything observable about a book, for "left exactly as it was" checks."""
    records = [book.order_record(i) for i in range(1, book.n_orders + 1)]
    return (
        book.depth(1000),
        list(book.trades),
        book.n_events,
        book.n_orders,
        records,
        book.halted,
        book.halt_reason,
        book.band("halt"),
        book.band("block"),
    )


@pytest.fixture
def book() -> OrderBook:
    return OrderBook(tick_size=0.01)


def seeded(book: OrderBook) -> dict[str, int]:
    """Bids 99 x 10 (a), 99 x 5 (b), 98 x 20 (c); asks 101 x 7 (d), 102 x 8 (e)."""
    return {
        "a": book.limit(1, BUY, 99, 10),
        "b": book.limit(2, BUY, 99, 5),
        "c": book.limit(3, BUY, 98, 20),
        "d": book.limit(4, SELL, 101, 7),
        "e": book.limit(5, SELL, 102, 8),
    }


# ---------------------------------------------------------------------- order types
def test_limit_orders_rest_and_queries_see_them(book):
    ids = seeded(book)
    assert list(ids.values()) == [1, 2, 3, 4, 5]
    assert (book.best_bid, book.best_ask, book.spread, book.mid) == (99, 101, 2, 100.0)
    assert book.depth() == ([(99, 15), (98, 20)], [(101, 7), (102, 8)])
    assert book.depth(1) == ([(99, 15)], [(101, 7)])
    assert book.trades == [] and book.last_trade is None
    assert book.n_events == 5
    rec = book.order_record(ids["a"])
    assert (
        rec.owner,
        rec.side,
        rec.price,
        rec.kind,
        rec.submitted,
        rec.remaining,
        rec.filled,
        rec.cancelled,
        rec.status,
    ) == (1, BUY, 99, "limit", 10, 10, 0, 0, "resting")


def test_empty_book_queries(book):
    assert book.best_bid is None and book.best_ask is None
    assert book.spread is None and book.mid is None
    assert book.depth() == ([], [])
    assert book.size_within(BUY, 3) == 0 and book.size_within(SELL, 0) == 0
    book.limit(1, BUY, 50, 1)
    assert book.spread is None and book.mid is None and book.best_bid == 50


def test_marketable_limit_walks_the_book_at_resting_prices(book):
    ids = seeded(book)
    book.now = 12.5
    oid = book.limit(9, BUY, 102, 20)
    assert book.trades == [
        Trade(12.5, 101, 7, BUY, oid, ids["d"], 9, 4),
        Trade(12.5, 102, 8, BUY, oid, ids["e"], 9, 5),
    ]
    # the unfilled 5 rest at the limit price and become the best bid
    assert book.remaining(oid) == 5
    assert (book.best_bid, book.best_ask) == (102, None)
    rec = book.order_record(oid)
    assert (rec.filled, rec.remaining, rec.status) == (15, 5, "resting")
    assert book.order_record(ids["d"]).status == "filled"
    assert book.last_trade == Trade(12.5, 102, 8, BUY, oid, ids["e"], 9, 5)


def test_marketable_sell_limit_prints_at_bid_prices(book):
    ids = seeded(book)
    oid = book.limit(9, SELL, 98, 12)
    assert [(t.price, t.qty, t.resting_id, t.aggressor_side) for t in book.trades] == [
        (99, 10, ids["a"], SELL),
        (99, 2, ids["b"], SELL),
    ]
    assert book.remaining(oid) == 0 and book.remaining(ids["b"]) == 3
    assert book.depth()[0] == [(99, 3), (98, 20)]


def test_market_order_partial_fill_cancels_remainder(book):
    ids = seeded(book)
    oid = book.market(7, BUY, 20)
    assert sum(t.qty for t in book.trades) == 15
    rec = book.order_record(oid)
    assert (rec.price, rec.kind, rec.filled, rec.cancelled, rec.remaining, rec.status) == (
        None,
        "market",
        15,
        5,
        0,
        "cancelled",
    )
    assert book.best_ask is None
    assert book.order_record(ids["e"]).status == "filled"


def test_market_order_fully_filled(book):
    seeded(book)
    oid = book.market(7, SELL, 12)
    rec = book.order_record(oid)
    assert (rec.filled, rec.cancelled, rec.status) == (12, 0, "filled")
    assert book.depth()[0] == [(99, 3), (98, 20)]


def test_market_order_into_empty_side_fills_nothing(book):
    oid = book.market(7, BUY, 5)
    assert book.order_record(oid).cancelled == 5 and book.trades == []


def test_ioc_fills_up_to_limit_and_cancels_rest(book):
    ids = seeded(book)
    oid = book.ioc(8, BUY, 101, 10)
    assert [(t.price, t.qty) for t in book.trades] == [(101, 7)]
    rec = book.order_record(oid)
    assert (rec.kind, rec.filled, rec.cancelled, rec.remaining) == ("ioc", 7, 3, 0)
    assert book.best_bid == 99  # nothing rested
    assert book.remaining(ids["e"]) == 8


def test_ioc_not_marketable_is_cancelled_whole(book):
    seeded(book)
    oid = book.ioc(8, SELL, 100, 4)
    assert book.trades == [] and book.order_record(oid).cancelled == 4
    assert book.best_ask == 101


def test_price_time_priority_within_a_level(book):
    first = book.limit(1, SELL, 100, 5)
    second = book.limit(2, SELL, 100, 5)
    better = book.limit(3, SELL, 99, 1)
    book.market(4, BUY, 8)
    assert [(t.resting_id, t.qty, t.price) for t in book.trades] == [
        (better, 1, 99),
        (first, 5, 100),
        (second, 2, 100),
    ]
    assert book.remaining(second) == 3


# ---------------------------------------------------------------------- cancel and reduce
def test_cancel_removes_and_reports_quantity(book):
    ids = seeded(book)
    assert book.cancel(ids["a"]) == 10
    assert book.depth()[0] == [(99, 5), (98, 20)]
    rec = book.order_record(ids["a"])
    assert (rec.cancelled, rec.remaining, rec.status) == (10, 0, "cancelled")
    # cancelling the last order at the best level moves the best price
    book.cancel(ids["b"])
    assert book.best_bid == 98
    book.cancel(ids["d"])
    assert book.best_ask == 102
    # a cancelled order is skipped by matching
    book.market(9, SELL, 20)
    assert [t.resting_id for t in book.trades] == [ids["c"]]


def test_cancel_of_deep_level_keeps_best(book):
    ids = seeded(book)
    book.cancel(ids["c"])
    assert book.best_bid == 99 and book.depth()[0] == [(99, 15)]
    book.cancel(ids["e"])
    assert book.depth()[1] == [(101, 7)]


def test_cancel_after_partial_fill(book):
    ids = seeded(book)
    book.market(9, SELL, 4)
    assert book.cancel(ids["a"]) == 6
    rec = book.order_record(ids["a"])
    assert (rec.filled, rec.cancelled, rec.submitted, rec.status) == (4, 6, 10, "cancelled")


def test_reduce_keeps_queue_priority(book):
    first = book.limit(1, BUY, 99, 10)
    second = book.limit(2, BUY, 99, 10)
    book.reduce(first, 3)
    assert book.remaining(first) == 3 and book.queue_position(second) == 3
    assert book.depth()[0] == [(99, 13)]
    book.market(3, SELL, 4)
    assert [(t.resting_id, t.qty) for t in book.trades] == [(first, 3), (second, 1)]
    rec = book.order_record(first)
    assert (rec.filled, rec.cancelled, rec.status) == (3, 7, "filled")


def test_reduce_accepts_integral_float(book):
    oid = book.limit(1, SELL, 105, 10)
    book.reduce(oid, 4.0)
    assert book.remaining(oid) == 4 and book.n_events == 2


# ---------------------------------------------------------------------- queries
def test_queue_position_counts_live_quantity_ahead(book):
    ids = seeded(book)
    assert book.queue_position(ids["a"]) == 0
    assert book.queue_position(ids["b"]) == 10
    third = book.limit(6, BUY, 99, 4)
    assert book.queue_position(third) == 15
    book.cancel(ids["a"])
    assert book.queue_position(third) == 5
    assert book.level_orders(BUY, 99) == [ids["b"], third]
    assert book.level_orders(SELL, 120) == []


def test_size_within(book):
    seeded(book)
    book.limit(6, BUY, 95, 100)
    assert book.size_within(BUY, 0) == 15
    assert book.size_within(BUY, 1) == 35
    assert book.size_within(BUY, 3) == 35
    assert book.size_within(BUY, 4) == 135
    assert book.size_within(SELL, 0) == 7
    assert book.size_within(SELL, 1) == 15


def test_depth_levels_argument(book):
    for p in range(90, 100):
        book.limit(1, BUY, p, p - 89)
    bids, asks = book.depth(3)
    assert bids == [(99, 10), (98, 9), (97, 8)] and asks == []
    assert len(book.depth(50)[0]) == 10


def test_remaining_and_records_of_finished_orders(book):
    ids = seeded(book)
    book.market(9, BUY, 7)
    assert book.remaining(ids["d"]) == 0
    assert book.order_record(ids["d"]).status == "filled"


def test_n_events_counts_accepted_messages(book):
    ids = seeded(book)
    book.market(1, BUY, 1)
    book.ioc(1, SELL, 99, 1)
    book.cancel(ids["c"])
    book.reduce(ids["e"], 2)
    assert book.n_events == 9 and book.n_orders == 7


def test_trade_log_views(book):
    seeded(book)
    book.now = 3.0
    book.market(9, BUY, 10)
    assert len(book.trades) == 2 and book.trades[-1].price == 102
    assert book.trades[0:1] == [Trade(3.0, 101, 7, BUY, 6, 4, 9, 4)]
    assert book.trades.since(1) == [book.trades[1]]
    cols = book.trades.columns()
    assert cols["price"].tolist() == [101, 102] and cols["qty"].tolist() == [7, 3]
    assert cols["time"].dtype == np.float64
    assert book.trades.columns(5)["price"].size == 0


# ---------------------------------------------------------------------- bad input
BAD_MESSAGES = [
    (lambda b: b.limit(1, 0, 100, 5), "side must be +1 (buy) or -1 (sell)"),
    (lambda b: b.limit(1, 2, 100, 5), "side must be +1 (buy) or -1 (sell)"),
    (lambda b: b.limit(1, True, 100, 5), "side must be +1"),
    (lambda b: b.limit(1, math.nan, 100, 5), "side must be +1"),
    (lambda b: b.limit(1, BUY, 100, 0), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100, -3), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100, math.nan), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100, 2.5), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100, True), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100, "5"), "qty must be a positive whole number"),
    (lambda b: b.limit(1, BUY, 100.5, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.limit(1, BUY, math.nan, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.limit(1, BUY, math.inf, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.limit(1, BUY, 0, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.limit(1, SELL, -4, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.limit(1.5, SELL, 104, 5), "owner must be an integer"),
    (lambda b: b.market(1, 3, 5), "side must be +1"),
    (lambda b: b.market(1, BUY, 0), "qty must be a positive whole number"),
    (lambda b: b.ioc(1, BUY, 99.9, 5), "price must be a positive integer number of ticks"),
    (lambda b: b.ioc(1, BUY, 100, -1), "qty must be a positive whole number"),
    (lambda b: b.cancel(999), "unknown order id 999"),
    (lambda b: b.cancel(0), "unknown order id 0"),
    (lambda b: b.cancel(-2), "unknown order id -2"),
    (lambda b: b.cancel(1.0), "order_id must be an integer"),
    (lambda b: b.cancel(5), "order 5 is already filled"),
    (lambda b: b.cancel(3), "order 3 is already cancelled"),
    (lambda b: b.reduce(999, 1), "unknown order id 999"),
    (lambda b: b.reduce(5, 1), "order 5 is already filled"),
    (lambda b: b.reduce(1, 10), "0 < new_qty < remaining (10)"),
    (lambda b: b.reduce(1, 12), "0 < new_qty < remaining (10)"),
    (lambda b: b.reduce(1, 0), "0 < new_qty < remaining (10)"),
    (lambda b: b.reduce(1, -1), "0 < new_qty < remaining (10)"),
    (lambda b: b.reduce(1, 2.5), "0 < new_qty < remaining (10)"),
    (lambda b: b.reduce(1, math.nan), "0 < new_qty < remaining (10)"),
    (lambda b: b.queue_position(5), "order 5 is already filled"),
    (lambda b: b.depth(0), "levels must be an integer >= 1"),
    (lambda b: b.size_within(BUY, -1), "k must be an integer >= 0"),
    (lambda b: b.size_within(0, 1), "side must be +1"),
    (lambda b: b.set_band(10, 5, "halt"), "band needs lo <= hi"),
    (lambda b: b.set_band(10, None, "pause"), "mode must be 'halt' or 'block'"),
    (lambda b: b.set_band(10.5, None, "block"), "lo must be None or a positive integer tick"),
    (lambda b: b.halt(""), "reason must be a non-empty string"),
    (lambda b: b.reopen(), "reopen() needs a halted book"),
]


@pytest.mark.parametrize(("message", "expected"), BAD_MESSAGES)
def test_bad_input_is_refused_and_book_unchanged(message, expected):
    book = OrderBook()
    book.limit(1, BUY, 99, 10)  # 1 resting
    book.limit(2, SELL, 101, 10)  # 2 resting
    third = book.limit(3, SELL, 102, 5)
    book.cancel(third)  # 3 cancelled
    book.limit(4, SELL, 100, 5)
    book.market(5, BUY, 5)  # 4 and 5 filled
    before = snapshot(book)
    with pytest.raises(
        OrderBookError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")
    ):
        message(book)
    assert snapshot(book) == before


def test_integral_float_and_numpy_arguments_are_accepted(book):
    oid = book.limit(np.int64(3), np.int64(-1), 101.0, np.float64(4.0))
    rec = book.order_record(oid)
    assert (rec.owner, rec.side, rec.price, rec.submitted) == (3, SELL, 101, 4)
    assert all(type(v) is int for v in (rec.owner, rec.side, rec.price, rec.submitted))
    assert book.cancel(np.int64(oid)) == 4


def test_bad_tick_size():
    with pytest.raises(OrderBookError, match="tick_size must be a positive"):
        OrderBook(tick_size=0)
    assert OrderBook(tick_size=0.25).tick_size == 0.25


# ---------------------------------------------------------------------- halts and the auction
def test_halt_holds_limits_refuses_market_and_ioc(book):
    ids = seeded(book)
    book.now = 50.0
    book.halt("news")
    assert book.halted and book.halt_reason == "news" and book.halted_at == 50.0
    held = book.limit(6, BUY, 103, 9)  # would cross: held, not traded
    assert book.trades == [] and book.remaining(held) == 9
    assert book.best_bid == 103 and book.spread == -2  # crossed only while halted
    before = snapshot(book)
    with pytest.raises(HaltedError, match="market order refused: the book is halted"):
        book.market(7, SELL, 1)
    with pytest.raises(HaltedError, match="IOC order refused"):
        book.ioc(7, BUY, 101, 1)
    assert snapshot(book) == before
    book.reduce(ids["c"], 5)
    assert book.cancel(ids["c"]) == 5
    book.halt("still news")  # re-halting only relabels
    assert book.halt_reason == "still news" and book.halted_at == 50.0


def test_reopen_auction_hand_worked_example(book):
    """Bids 101x30, 100x20, 99x40; asks 98x25, 99x30, 100x25, 102x10.

    demand(p) = 90, 90, 50, 30, 0 and supply(p) = 25, 55, 80, 80, 90 at p = 98..102, so the
    executable volume min(demand, supply) = 25, 55, 50, 30, 0 peaks at 99 with 55 shares.
    """
    book.halt("auction test")
    b1 = book.limit(1, BUY, 101, 30)
    a1 = book.limit(2, SELL, 98, 25)
    b2 = book.limit(3, BUY, 100, 20)
    a2 = book.limit(4, SELL, 99, 30)
    b3 = book.limit(5, BUY, 99, 40)
    book.limit(6, SELL, 100, 25)
    book.limit(7, SELL, 102, 10)
    assert book.auction_price() == (99, 55)
    book.now = 900.0
    prints = book.reopen()
    # price-time priority on each side; the later order of each pair is named the aggressor
    assert prints == [
        Trade(900.0, 99, 25, SELL, a1, b1, 2, 1),
        Trade(900.0, 99, 5, SELL, a2, b1, 4, 1),
        Trade(900.0, 99, 20, SELL, a2, b2, 4, 3),
        Trade(900.0, 99, 5, BUY, b3, a2, 5, 4),
    ]
    assert list(book.trades) == prints
    assert book.auctions == [(900.0, 99, 55)]
    assert not book.halted and book.halt_reason is None
    assert book.depth() == ([(99, 35)], [(100, 25), (102, 10)])
    assert book.remaining(b3) == 35 and book.order_record(a2).status == "filled"
    # continuous trading has resumed
    book.market(8, BUY, 5)
    assert book.last_trade.price == 100


def trade_at(book: OrderBook, price: int) -> None:
    book.limit(90, SELL, price, 1)
    book.market(91, BUY, 1)
    assert book.last_trade.price == price


@pytest.mark.parametrize(("last", "expected"), [(105, 102), (90, 100), (101, 101), (None, 100)])
def test_auction_ties_go_to_last_trade_price(book, last, expected):
    # 10 x 102 bid against 10 x 100 ask: 10 shares at any price 100..102 with zero imbalance
    if last is not None:
        trade_at(book, last)
    book.halt("tie")
    book.limit(1, BUY, 102, 10)
    book.limit(2, SELL, 100, 10)
    assert book.auction_price() == (expected, 10)
    assert {t.price for t in book.reopen()} == {expected}


def test_auction_can_print_between_levels(book):
    trade_at(book, 104)
    book.halt("gap")
    book.limit(1, BUY, 110, 10)
    book.limit(2, SELL, 100, 10)
    assert book.auction_price() == (104, 10)


def test_auction_prefers_smaller_imbalance(book):
    # at 100: demand 15, supply 10 (imbalance 5); at 101: demand 10, supply 10 (imbalance 0)
    trade_at(book, 90)
    book.halt("imbalance")
    book.limit(1, BUY, 101, 10)
    book.limit(2, BUY, 100, 5)
    book.limit(3, SELL, 100, 10)
    assert book.auction_price() == (101, 10)


def test_reopen_of_uncrossed_book_prints_nothing(book):
    seeded(book)
    book.halt("quiet")
    assert book.auction_price() == (0, 0)
    assert book.reopen() == [] and book.auctions == [] and not book.halted


# ---------------------------------------------------------------------- price bands
def ladder(book: OrderBook) -> list[int]:
    return [book.limit(10 + i, SELL, 100 + i, 10) for i in range(4)]  # asks 100..103 x 10


def test_halt_band_stops_matching_and_holds_limit_remainder(book):
    ladder(book)
    book.set_band(None, 101, "halt")
    assert book.band("halt") == (None, 101)
    book.now = 7.0
    oid = book.limit(1, BUY, 103, 35)
    assert [t.price for t in book.trades] == [100, 101]
    assert book.halted and book.halt_reason == "band" and book.band_breach == 102
    assert book.halted_at == 7.0
    assert book.remaining(oid) == 15 and book.order_record(oid).price == 103
    assert book.best_bid == 103 and book.best_ask == 102  # held crossed for the auction
    with pytest.raises(HaltedError):
        book.market(2, BUY, 1)
    # auction: 15 bid at 103 against 10 at 102 + 10 at 103 executes most (15) at 103
    prints = book.reopen()
    assert [(t.price, t.qty) for t in prints] == [(103, 10), (103, 5)]
    assert book.depth() == ([], [(103, 5)])


def test_sweep_limit_bounds_one_orders_sweep_from_the_touch_it_meets(book):
    ladder(book)  # asks 100..103 x 10
    book.set_sweep_limit(2, "StopLogic")
    assert book.sweep_limit == (2, "StopLogic")
    oid = book.limit(1, BUY, 103, 35)  # may trade at 100..102, not at 103
    assert [t.price for t in book.trades] == [100, 101, 102]
    assert book.halted and book.halt_reason == "band" and book.band_breach == 103
    assert book.band_breach_names == ("StopLogic",)
    assert book.remaining(oid) == 5  # held for the auction at its limit


def test_sweep_limit_moves_with_each_order_so_small_orders_walk_freely(book):
    ladder(book)
    book.set_sweep_limit(1, "StopLogic")
    for _ in range(4):  # each takes one level: never more than 1 tick
        book.market(1, BUY, 10)
    assert [t.price for t in book.trades] == [100, 101, 102, 103] and not book.halted
    # a stale last print does not matter: only the touch the order meets does
    book.limit(2, SELL, 150, 10)
    book.limit(3, SELL, 151, 10)
    book.market(4, BUY, 15)
    assert [t.price for t in book.trades][-2:] == [150, 151] and not book.halted
    book.set_sweep_limit(None)
    assert book.sweep_limit == (None, None)


def test_sweep_limit_on_the_sell_side_and_with_a_band(book):
    for i in range(4):
        book.limit(10 + i, BUY, 100 - i, 10)  # bids 100..97
    book.set_band(97, None, "block", "LULD")
    book.set_sweep_limit(1, "StopLogic")
    oid = book.market(1, SELL, 40)  # 100, 99 trade; 98 is past the sweep limit
    assert [t.price for t in book.trades] == [100, 99]
    assert book.halted and book.band_breach_names == ("StopLogic",)
    assert book.order_record(oid).cancelled == 20


def test_a_price_past_both_the_sweep_limit_and_a_block_band_halts(book):
    book.limit(1, BUY, 100, 10)
    book.limit(2, BUY, 95, 10)  # a gap: the next bid is past both bounds
    book.set_band(97, None, "block", "LULD")
    book.set_sweep_limit(1, "StopLogic")
    book.market(3, SELL, 20)
    assert [t.price for t in book.trades] == [100]
    assert book.halted and book.band_breach == 95  # halt bands (the sweep limit) come first
    assert book.band_breach_names == ("StopLogic",)
    assert book.band("halt") == (None, None) and book.band("block") == (97, None)


@pytest.mark.parametrize("ticks", [0, -1, 1.5, "2", True])
def test_sweep_limit_refuses_a_bad_width_and_keeps_the_old_one(book, ticks):
    book.set_sweep_limit(3)
    with pytest.raises(OrderBookError, match="ticks must be None or a positive integer"):
        book.set_sweep_limit(ticks)
    assert book.sweep_limit == (3, "sweep")


def test_halt_band_cancels_market_remainder(book):
    book.limit(1, BUY, 100, 10)
    book.limit(2, BUY, 99, 10)
    book.limit(3, BUY, 98, 10)
    book.set_band(99, None, "halt")
    oid = book.market(4, SELL, 25)
    assert [t.price for t in book.trades] == [100, 99]
    rec = book.order_record(oid)
    assert (rec.filled, rec.cancelled) == (20, 5)
    assert book.halted and book.band_breach == 98


def test_block_band_reprices_limit_remainder_to_band_edge(book):
    ladder(book)
    book.set_band(None, 101, "block")
    oid = book.limit(1, BUY, 103, 35)
    assert [t.price for t in book.trades] == [100, 101]
    assert not book.halted and book.band_breach == 102
    rec = book.order_record(oid)
    assert (rec.price, rec.remaining, rec.status) == (101, 15, "resting")
    assert (book.best_bid, book.best_ask) == (101, 102)  # not crossed


def test_block_band_for_sells_and_market_orders(book):
    for i in range(4):
        book.limit(10 + i, BUY, 100 - i, 10)  # bids 100..97
    book.set_band(99, None, "block")
    mkt = book.market(1, SELL, 30)
    assert [t.price for t in book.trades] == [100, 99]
    assert book.order_record(mkt).cancelled == 10 and not book.halted
    oid = book.limit(2, SELL, 95, 10)
    assert book.order_record(oid).price == 99 and book.best_ask == 99 and book.best_bid == 98
    ioc = book.ioc(3, SELL, 90, 5)
    assert book.order_record(ioc).cancelled == 5


def test_both_bands_together_and_clearing(book):
    ladder(book)
    book.set_band(None, 102, "halt")
    book.set_band(None, 100, "block")
    book.market(1, BUY, 15)  # block band stops at 101 first; no halt
    assert [t.price for t in book.trades] == [100] and not book.halted
    book.set_band(None, None, "block")
    assert book.band("block") == (None, None)
    book.market(1, BUY, 25)  # now the halt band stops at 103
    assert [t.price for t in book.trades] == [100, 101, 102] and book.halted
    book.reopen()
    book.set_band(None, None, "halt")
    book.market(1, BUY, 5)
    assert book.last_trade.price == 103


def test_band_does_not_affect_fills_inside(book):
    ladder(book)
    book.set_band(90, 110, "halt")
    book.market(1, BUY, 40)
    assert sum(t.qty for t in book.trades) == 40 and not book.halted


def test_named_bands_are_kept_apart(book):
    ladder(book)
    book.set_band(None, 103, "halt", name="wide")
    book.set_band(None, 101, "halt", name="tight")
    assert book.bands == {"wide": (None, 103, "halt"), "tight": (None, 101, "halt")}
    assert book.band("halt") == (None, 101)  # the intersection
    assert book.band("halt", "wide") == (None, 103)
    assert book.band("block", "wide") == (None, None)  # a name of the other mode
    book.market(1, BUY, 25)
    assert book.halted and book.band_breach == 102 and book.band_breach_names == ("tight",)
    book.reopen()
    book.set_band(None, None, "halt", name="tight")
    assert book.bands == {"wide": (None, 103, "halt")}
    book.market(1, BUY, 25)
    assert not book.halted and book.last_trade.price == 103
    with pytest.raises(OrderBookError, match="name must be None or a non-empty string"):
        book.set_band(1, 2, "halt", name="")


def test_block_band_reprices_to_band_edge_across_a_gap(book):
    book.limit(10, SELL, 100, 10)
    book.limit(11, SELL, 104, 10)  # nothing between 101 and 103
    book.set_band(None, 101, "block")
    oid = book.limit(1, BUY, 104, 15)
    assert [t.price for t in book.trades] == [100]
    assert book.order_record(oid).price == 101  # the band edge, not just below the ask
    assert (book.best_bid, book.best_ask) == (101, 104)


def test_auction_skips_cancelled_orders_at_the_front_of_a_level(book):
    book.halt("open")
    dead = [book.limit(1, BUY, 101, 5), book.limit(2, BUY, 101, 5)]
    live = book.limit(3, BUY, 101, 5)
    book.limit(4, SELL, 100, 8)
    for oid in dead:
        book.cancel(oid)
    prints = book.reopen()
    assert [
        (t.qty, t.resting_id if t.aggressor_side == SELL else t.aggressor_id) for t in prints
    ] == [(5, live)]
    assert book.depth() == ([], [(100, 3)])
