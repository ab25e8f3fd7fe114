"""The trade log's spill file: old prints move to disk and every reader still sees them all."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from market.exchange.order_book import BUY, SELL, OrderBook, Trade


def churn(book: OrderBook, n: int, start: int = 0) -> None:
    """``n`` rounds of a resting ask and a buy that fills it (one print each), with the price
    and the owners varying so that every column is checked."""
    for i in range(start, start + n):
        book.now = float(i)
        book.limit(10 + i % 7, SELL, 100 + i % 5, 2 + i % 3)
        book.limit(20 + i % 11, BUY, 104, 2 + i % 3)


def twins(tmp_path, days: int = 4, per_day: int = 500) -> tuple[OrderBook, OrderBook]:
    """A book whose log spills at each "close" and one that keeps every print in memory, fed
    the same messages."""
    spilled, kept = OrderBook(compact_every=64), OrderBook(compact_every=64)
    spilled.trades.spill_to(tmp_path)
    for day in range(days):
        for book in (spilled, kept):
            churn(book, per_day, day * per_day)
        spilled.trades.spill()
    return spilled, kept


def test_a_spilled_log_reads_like_one_held_in_memory(tmp_path):
    spilled, kept = twins(tmp_path)
    a, b = spilled.trades, kept.trades
    assert a.n_spilled == len(a) - 1 and b.n_spilled == 0  # all but the newest print on disk
    churn(spilled, 3, 10_000)
    churn(kept, 3, 10_000)  # prints after the spill: the disk, a chunk and tuples are all read
    n = len(b)
    assert len(a) == n and list(a) == list(b) and a == b
    assert a[0] == b[0] == Trade(0.0, 100, 2, BUY, 2, 1, 20, 10)
    assert [a[i] for i in (0, 1, 499, 500, n - 4, -1, -5)] == [
        b[i] for i in (0, 1, 499, 500, n - 4, -1, -5)
    ]
    assert a[490:510] == b[490:510] and a[::97] == b[::97] and a.since(1_995) == b.since(1_995)
    assert spilled.last_trade == kept.last_trade
    for start, stop in ((0, None), (7, 1_234), (1_999, 2_001), (n - 2, None), (5, 5)):
        got, want = a.columns(start, stop), b.columns(start, stop)
        for name in Trade._fields:
            assert got[name].dtype == want[name].dtype
            np.testing.assert_array_equal(got[name], want[name])
            assert not got[name].flags.writeable


def test_column_pieces_cover_the_range_in_bounded_pieces(tmp_path):
    spilled, kept = twins(tmp_path)
    pieces = list(spilled.trades.column_pieces(3, 1_900, size=256))
    assert max(len(p["qty"]) for p in pieces) <= 256 and len(pieces) >= 1_897 // 256
    joined = np.concatenate([p["qty"] for p in pieces])
    np.testing.assert_array_equal(joined, kept.trades.columns(3, 1_900)["qty"])


def test_a_log_without_a_spill_file_keeps_its_prints():
    book = OrderBook(compact_every=64)
    churn(book, 300)
    book.trades.spill()  # nothing to spill to: a no-op
    assert book.trades.n_spilled == 0 and len(book.trades) == 300
    with pytest.raises(ValueError, match="already spills"):
        book.trades.spill_to(None)
        book.trades.spill_to(None)


def test_spilling_keeps_the_memory_of_prints_flat(tmp_path):
    book = OrderBook(compact_every=4096)
    book.trades.spill_to(tmp_path)
    churn(book, 2_000)
    book.trades.spill()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for day in range(5):
            churn(book, 20_000, 2_000 + day * 20_000)  # 100,000 prints: 6.4 MB as columns
            book.trades.spill()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert book.trades.n_spilled == len(book.trades) - 1
    # only a day's prints are ever held (and the book's bounded buffers)
    assert grown < 2_000_000, grown
