"""The order book at the edges: the price grid's bounds, band repricing at the grid's edge, stacked
bands with the sweep limit, and the bounded memory of finished orders and prints."""

from __future__ import annotations

import tracemalloc

import pytest

from market.exchange.order_book import (
    BUY,
    MAX_QTY,
    MAX_TICKS,
    SELL,
    OrderBook,
    OrderBookError,
    Trade,
)


def snapshot(book: OrderBook):
    """What a refused message must leave unchanged (records of orders still held included)."""
    return (
        book.depth(1000),
        list(book.trades),
        book.n_events,
        book.n_orders,
        [book.remaining(i) for i in range(1, book.n_orders + 1)],
        book.halted,
        book.best_bid,
        book.best_ask,
    )


# ---------------------------------------------------------------------- the price grid's bound
@pytest.mark.parametrize("price", [MAX_TICKS + 1, 2**62, 2**63, 2**80, float(2**62)])
@pytest.mark.parametrize(
    "send",
    [
        lambda b, p: b.limit(7, BUY, p, 3),
        lambda b, p: b.limit(7, SELL, p, 3),
        lambda b, p: b.ioc(7, BUY, p, 3),
        lambda b, p: b.set_band(None, p, "block"),
        lambda b, p: b.set_band(p, None, "halt"),
    ],
)
def test_prices_beyond_the_grid_are_refused_before_any_change(send, price):
    book = OrderBook()
    book.limit(1, SELL, 100, 5)
    book.limit(2, SELL, 101, 5)
    book.limit(3, BUY, 99, 5)
    before = snapshot(book)
    with pytest.raises(OrderBookError, match=rf"at most {MAX_TICKS}"):
        send(book, price)
    assert snapshot(book) == before
    # the refused message consumed no id
    assert book.limit(4, BUY, 98, 1) == 4


def test_the_highest_price_on_the_grid_rests_visibly_and_trades():
    book = OrderBook()
    ask = book.limit(1, SELL, MAX_TICKS, 5)
    assert book.best_ask == MAX_TICKS and book.depth(1)[1] == [(MAX_TICKS, 5)]
    book.market(2, BUY, 2)
    assert book.trades[-1].price == MAX_TICKS and book.remaining(ask) == 3
    bid = book.limit(3, BUY, MAX_TICKS, 4)  # takes the last 3, rests 1 at the top of the grid
    assert book.remaining(bid) == 1 and book.best_bid == MAX_TICKS and book.best_ask is None
    assert book.trades.columns()["price"].tolist() == [MAX_TICKS, MAX_TICKS]


@pytest.mark.parametrize("qty", [MAX_QTY + 1, 2**63, 10**30])
def test_quantities_beyond_the_int64_columns_are_refused(qty):
    book = OrderBook()
    book.limit(1, SELL, 100, 5)
    before = snapshot(book)
    with pytest.raises(OrderBookError, match=rf"qty must be .* at most {MAX_QTY}"):
        book.limit(2, BUY, 100, qty)
    assert snapshot(book) == before


# ---------------------------------------------------------------------- repricing at the edge
def test_a_blocked_buy_that_cannot_rest_on_the_grid_is_cancelled():
    book = OrderBook()
    book.limit(1, SELL, 1, 5)  # an ask on the lowest tick, below the band
    book.set_band(2, None, "block")
    oid = book.limit(2, BUY, 3, 2)
    # no price >= 1 tick lies below the ask, so the remainder cannot rest without crossing
    assert list(book.trades) == [] and book.best_bid is None
    assert book.depth(5) == ([], [(1, 5)])
    rec = book.order_record(oid)
    assert (rec.price, rec.remaining, rec.cancelled, rec.status) == (3, 0, 2, "cancelled")
    assert book.spread is None and not book.halted


def test_a_blocked_sell_that_cannot_rest_on_the_grid_is_cancelled():
    book = OrderBook()
    book.limit(1, BUY, MAX_TICKS, 5)  # a bid on the highest tick, above the band
    book.set_band(None, MAX_TICKS - 1, "block")
    oid = book.limit(2, SELL, MAX_TICKS - 2, 2)
    assert list(book.trades) == [] and book.best_ask is None
    assert book.depth(5) == ([(MAX_TICKS, 5)], [])
    assert book.order_record(oid).status == "cancelled"


def test_a_blocked_buy_one_tick_above_the_floor_still_rests():
    book = OrderBook()
    book.limit(1, SELL, 2, 5)
    book.set_band(3, None, "block")
    oid = book.limit(2, BUY, 4, 2)
    assert book.best_bid == 1 and book.order_record(oid).status == "resting"


# ---------------------------------------------------------------------- stacked bands
@pytest.mark.parametrize("band_hi", [100, 101])
def test_the_sweep_limit_halts_even_when_a_block_band_is_as_tight(band_hi):
    book = OrderBook()
    book.limit(1, SELL, 100, 1)
    book.limit(1, SELL, 102, 1)
    book.set_sweep_limit(1)  # the sweep may reach 101
    book.set_band(None, band_hi, "block")
    book.market(2, BUY, 2)
    # 102 is past both; the sweep limit is a halt band and halt bands come first
    assert [t.price for t in book.trades] == [100]
    assert book.halted and book.halt_reason == "band" and book.band_breach == 102
    assert book.band_breach_names == ("sweep",)


def test_the_sweep_limit_halts_a_sell_when_a_block_band_is_tighter():
    book = OrderBook()
    book.limit(1, BUY, 100, 1)
    book.limit(1, BUY, 98, 1)
    book.set_sweep_limit(1)
    book.set_band(100, None, "block", "LULD")
    oid = book.limit(2, SELL, 98, 2)
    assert [t.price for t in book.trades] == [100]
    assert book.halted and book.band_breach_names == ("sweep",)
    assert book.order_record(oid).remaining == 1  # held for the auction at its limit


def test_a_block_band_still_blocks_inside_the_sweep_limit():
    book = OrderBook()
    book.limit(1, SELL, 100, 1)
    book.limit(1, SELL, 101, 1)
    book.set_sweep_limit(3)
    book.set_band(None, 100, "block", "LULD")
    oid = book.limit(2, BUY, 101, 2)  # 101 is inside the sweep limit, outside the block band
    assert [t.price for t in book.trades] == [100] and not book.halted
    assert book.band_breach_names == ("LULD",)
    assert book.order_record(oid).price == 100


def test_a_halt_band_and_the_sweep_limit_are_both_named():
    book = OrderBook()
    book.limit(1, SELL, 100, 1)
    book.limit(1, SELL, 105, 1)
    book.set_sweep_limit(2, "StopLogic")
    book.set_band(None, 103, "halt", "MWCB")
    book.market(2, BUY, 2)
    assert book.halted and set(book.band_breach_names) == {"StopLogic", "MWCB"}


# ---------------------------------------------------------------------- bounded memory
def churn(book: OrderBook, n: int) -> list[int]:
    """``n`` rounds of: a bid and an ask that rest, a marketable buy, one cancel."""
    ids = []
    for i in range(n):
        book.now = float(i)
        bid = book.limit(1, BUY, 99, 3)
        ask = book.limit(2, SELL, 101, 2)
        buy = book.limit(3, BUY, 101, 2)  # fills the ask
        book.cancel(bid)
        ids += [bid, ask, buy]
    return ids


def test_finished_orders_are_dropped_but_their_status_is_kept():
    book = OrderBook(compact_every=16)
    keep = book.limit(9, BUY, 90, 4)  # stays live throughout
    ids = churn(book, 200)
    assert book.n_held_orders <= 16 + 1  # only the live order and the newest few are held
    bid, ask, buy = ids[:3]
    assert book.remaining(bid) == 0 and book.remaining(keep) == 4
    with pytest.raises(OrderBookError, match=f"order {bid} is already cancelled"):
        book.cancel(bid)
    with pytest.raises(OrderBookError, match=f"order {ask} is already filled"):
        book.reduce(ask, 1)
    with pytest.raises(OrderBookError, match=f"order {buy} is already filled.*keep_records"):
        book.order_record(buy)
    with pytest.raises(OrderBookError, match="unknown order id 9999"):
        book.cancel(9999)
    assert book.order_record(keep).status == "resting" and book.queue_position(keep) == 0
    assert book.n_orders == 601 and book.n_events == 801


def test_keep_records_keeps_every_finished_record():
    book = OrderBook(compact_every=16, keep_records=True)
    ids = churn(book, 50)
    records = [book.order_record(i) for i in ids]
    assert [r.status for r in records[:3]] == ["cancelled", "filled", "filled"]
    assert all(r.submitted == r.remaining + r.filled + r.cancelled for r in records)


def test_compaction_does_not_change_what_the_book_does():
    small, large = OrderBook(compact_every=8), OrderBook(keep_records=True)
    for book in (small, large):
        churn(book, 100)
        book.limit(4, SELL, 100, 50)
        book.market(5, BUY, 20)
    assert list(small.trades) == list(large.trades)
    assert small.depth(10) == large.depth(10) and small.n_events == large.n_events


def test_prints_move_to_columns_and_read_back_exactly():
    book = OrderBook(compact_every=8)
    churn(book, 300)
    log = book.trades
    assert log.n_columnar > 0  # most prints live in the numpy columns now
    first = log[0]
    assert first == Trade(0.0, 101, 2, BUY, 3, 2, 3, 2)
    assert all(type(v) is int for v in first[1:]) and type(first.time) is float
    assert log[-1] == log[len(log) - 1] and log[-1].time == 299.0
    assert log[1:3] == [log[1], log[2]] and log.since(len(log) - 2) == log[-2:]
    assert list(log) == log[:] and log.since(0) == list(log)
    book.limit(4, SELL, 100, 3)
    book.market(5, BUY, 3)  # a print after the last packing, so both stores are read
    assert 0 < log.n_columnar < len(log)
    everything = list(log)
    assert [log[i] for i in range(len(log))] == everything
    assert [log[-i] for i in range(1, len(log) + 1)] == everything[::-1]
    cols = log.columns(10)
    assert cols["time"].tolist() == [t.time for t in log.since(10)]
    assert book.last_trade == log[-1]
    with pytest.raises(IndexError):
        log[len(log)]


def test_memory_per_order_is_flat_apart_from_the_prints():
    book = OrderBook(compact_every=4096)  # the finished records held at most: about 0.6 MB
    churn(book, 5_000)  # past the first compactions
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        n_trades = len(book.trades)
        churn(book, 40_000)  # 120,000 more orders, 40,000 more prints
        book.trades.columns()  # the prints packed into their columns
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    prints = (len(book.trades) - n_trades) * 64  # bytes of the new prints' columns
    # what finished orders leave is one bit each: the rest is the prints and a bounded buffer
    # (keeping every order's record and every print as a tuple took about 25 MB here)
    assert grown < prints + 2_000_000, (grown, prints)
