"""Differential fuzz (slow suite): a few hundred thousand random messages into the order book and
into the naive reference book of :mod:`tests.market.exchange.reference_book`, which must agree on
every answer, every print and the depth.

The streams cover the middle of the price grid and both of its edges (the first ticks and the last
ticks below the bound), stacked named bands of both modes with the sweep limit, halts with
reopening auctions, thin one-sided books, and malformed messages. Two production books take the
stream: one with the default compaction and one that compacts every few dozen orders, so the
bounded-memory bookkeeping is fuzzed as well.
"""

from __future__ import annotations

import random

import pytest

from market.exchange.order_book import (
    BUY,
    MAX_TICKS,
    SELL,
    HaltedError,
    OrderBook,
    OrderBookError,
)
from tests.market.exchange.reference_book import ReferenceBook

#: the lowest price of each regime's 12-tick window: the grid's first ticks, its middle, its end
REGIMES = {"bottom": 1, "middle": 10_000, "top": MAX_TICKS - 11}
MESSAGES_PER_STREAM = 50_000


class Fuzzer:
    """One seeded message stream into two production books and the reference."""

    def __init__(self, seed: int, base: int) -> None:
        self.rng = random.Random(seed)
        self.base = base
        self.books = [OrderBook(), OrderBook(compact_every=37)]
        self.ref = ReferenceBook()
        self.n_checked = 0  # prints compared so far

    def price(self) -> int:
        return self.base + min(11, max(0, int(self.rng.gauss(5.5, 3.0))))

    def send(self, method: str, *args) -> None:
        results = []
        for target in (*self.books, self.ref):
            try:
                results.append(("ok", getattr(target, method)(*args)))
            except HaltedError:
                results.append(("halted", None))
            except OrderBookError:
                results.append(("refused", None))
        assert results.count(results[0]) == 3, (method, args, results)

    def control(self, method: str, *args) -> None:
        for target in (*self.books, self.ref):
            getattr(target, method)(*args)

    def step(self) -> None:
        rng, ref = self.rng, self.ref
        roll = rng.random()
        side = rng.choice((BUY, SELL))
        qty = rng.choice((1, 2, 3, 5, 8, 13, 40))
        owner = rng.randrange(8)
        if roll < 0.55:
            self.send("limit", owner, side, self.price(), qty)
        elif roll < 0.61:
            self.send("market", owner, side, qty)
        elif roll < 0.67:
            self.send("ioc", owner, side, self.price(), qty)
        elif roll < 0.85:
            live = list(ref.live)
            pick = (
                rng.choice(live) if live and rng.random() < 0.9 else rng.randrange(ref.next_id + 2)
            )
            if rng.random() < 0.8:
                self.send("cancel", pick)
            else:
                self.send("reduce", pick, rng.randrange(-1, 14))
        elif roll < 0.86:
            # thin books: clear one side at a stroke
            for order_id in [o["id"] for o in ref.live.values() if o["side"] == side]:
                self.send("cancel", order_id)
        elif roll < 0.89:
            # bands mostly around the middle of the window, often cleared; two names stack
            lo = None if rng.random() < 0.4 else self.base + rng.randrange(7)
            hi = None if rng.random() < 0.4 else self.base + 4 + rng.randrange(8)
            if lo is not None and hi is not None and lo > hi:
                lo, hi = hi, lo
            self.control(
                "set_band", lo, hi, rng.choice(("halt", "block", "block")), rng.choice("AB")
            )
        elif roll < 0.91:
            self.control("set_sweep_limit", rng.choice((None, 1, 2, 3)))
        elif roll < 0.92:
            if not ref.halted:
                self.control("halt", "fuzz")
        elif roll >= 0.99:  # from 0.92 to 0.99 no message: only the clock and a reopening
            bad = rng.choice((MAX_TICKS + 1, 2**62 + rng.randrange(9), 0, -3))
            for book in self.books:
                with pytest.raises(OrderBookError):
                    book.limit(owner, side, bad, qty)
        if ref.halted and rng.random() < 0.1:
            self.control("reopen")
        if rng.random() < 0.01:
            now = self.books[0].now + rng.random() * 5
            for target in (*self.books, ref):
                target.now = now

    def check(self) -> None:
        ref = self.ref
        new = ref.trades[self.n_checked :]
        for book in self.books:
            assert [tuple(t) for t in book.trades.since(self.n_checked)] == new
            assert book.depth(1000) == ref.depth()
            assert book.halted == ref.halted
        self.n_checked = len(ref.trades)

    def run(self, n: int) -> None:
        for i in range(n):
            self.step()
            if i % 25 == 0:
                self.check()
        self.check()
        lean = self.books[1]
        for order_id in range(1, self.ref.next_id):
            assert lean.remaining(order_id) == self.ref.remaining(order_id)
        columns = self.books[0].trades.columns()
        assert columns["qty"].sum() == sum(t[2] for t in self.ref.trades)


@pytest.mark.slow
@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("seed", [0, 1])
def test_order_book_matches_the_reference_on_random_streams(regime, seed):
    fuzzer = Fuzzer(seed * 1000 + len(regime), REGIMES[regime])
    fuzzer.run(MESSAGES_PER_STREAM)
    assert len(fuzzer.ref.trades) > MESSAGES_PER_STREAM // 10  # the stream did trade
