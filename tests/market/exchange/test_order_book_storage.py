"""How the order book stores its state for speed: attributes in slots, per-order state in lists for
the orders since the last compaction (older live orders in dicts), prints packed between
compactions. None of it may show in what the book does."""

from __future__ import annotations

from market.exchange.order_book import _PACK_EVERY, BUY, SELL, OrderBook, Trade


def test_the_book_keeps_its_attributes_in_slots():
    # an instance dict past about 30 names makes every attribute access a hash lookup
    book = OrderBook()
    assert not hasattr(book, "__dict__")
    book.set_sweep_limit(2)  # arming and clearing the sweep limit swaps the matchers in slots
    assert book.sweep_limit == (2, "sweep")
    book.set_sweep_limit(None)
    assert book.sweep_limit == (None, None)


def test_prints_are_packed_between_compactions_without_dropping_records():
    book = OrderBook()  # compacts every 65,536 orders; packs prints every _PACK_EVERY
    first = book.limit(1, SELL, 101, 5)
    book.limit(2, BUY, 101, 5)
    for i in range(_PACK_EVERY // 2):
        book.now = float(i)
        book.limit(3, SELL, 101, 1)
        book.market(4, BUY, 1)
    log = book.trades
    assert 0 < log.n_columnar < len(log)  # packed already, the newest prints still buffered
    assert log[0] == Trade(0.0, 101, 5, BUY, 2, first, 2, 1)
    assert log[-1].time == float(_PACK_EVERY // 2 - 1)
    # no compaction yet: every finished order's record is still held
    assert book.order_record(first).status == "filled"
    assert book.n_held_orders == book.n_orders


def play(book: OrderBook) -> list[object]:
    """Orders that rest across compactions, then trade, reduce, cancel and cross in an auction;
    returns everything observable along the way."""
    seen: list[object] = []
    old_bid = book.limit(1, BUY, 100, 10)
    old_ask = book.limit(2, SELL, 103, 10)
    old_far = book.limit(3, SELL, 105, 4)
    for i in range(12):  # churn that finishes at once, past several compactions of the lean book
        book.limit(4, BUY, 99 - i % 3, 1)
        book.cancel(book.n_orders)
    book.reduce(old_ask, 8)  # an order older than the last compaction
    seen.append(book.market(5, SELL, 4))  # a partial fill of it
    seen.append(book.ioc(6, BUY, 105, 9))  # sweeps the old ask and part of the far one
    seen += [book.remaining(i) for i in (old_bid, old_ask, old_far)]
    seen += [book.order_record(i) for i in (old_bid, old_far)]
    seen.append(book.cancel(old_far))
    book.limit(7, BUY, 100, 3)  # queued behind the old bid
    seen += [book.queue_position(book.n_orders), book.level_orders(BUY, 100)]
    book.halt("test")
    book.limit(8, SELL, 99, 8)  # crosses the old bid and the new one
    seen.append(book.reopen())
    seen += [book.depth(5), list(book.trades), book.n_events]
    for oid in (old_bid, old_ask, old_far):
        seen.append(book.remaining(oid))
    return seen


def test_orders_from_before_a_compaction_behave_as_new_ones():
    lean = OrderBook(compact_every=2)  # the three old orders move to the dicts at once
    full = OrderBook(keep_records=True)  # never drops a record: every order stays in the lists
    assert play(lean) == play(full)
    assert lean.n_held_orders < full.n_held_orders
