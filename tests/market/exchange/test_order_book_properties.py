"""Stateful property test: the order book against a slow, obviously-correct reference book.

The reference (:mod:`tests.market.exchange.reference_book`) keeps its live orders in one dict and
sorts them by (price priority, arrival) for each match; its reopening auction tries every integer
price. Every message goes to a book that keeps every record, a lean book that compacts every few
orders, and the reference: answers, prints, depth and per-order accounting must agree exactly.
Prices lie in a few ticks at the grid's first ticks, its middle or its last ticks below the bound;
named bands of both modes stack with the sweep limit (a rule arms a band as tight as the limit or
tighter at the touch); one side of the book can be emptied at a stroke, and a rule quotes on the
grid's first or last tick with a block band that excludes it. Invariants: never crossed at rest
while trading, best prices on the grid and visible, submitted = remaining + filled + cancelled,
shares bought = shares sold, compaction changes nothing, bad input (prices beyond the grid
included) leaves the book unchanged, and replaying the message log into a fresh book reproduces the
same prints.
"""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from market.exchange.order_book import (
    BUY,
    MAX_TICKS,
    SELL,
    HaltedError,
    OrderBook,
    OrderBookError,
)
from tests.market.exchange.reference_book import ReferenceBook

# prices are the machine's base plus an offset: few prices, so bands and levels meet often
OFFSETS = st.integers(0, 6)
QTYS = st.integers(1, 12)
SIDES = st.sampled_from([BUY, SELL])
OWNERS = st.integers(0, 5)
#: where the machine's prices lie: the grid's first ticks, the middle, its last ticks
BASES = st.sampled_from([1, 96, MAX_TICKS - 6])
BAND_NAMES = st.sampled_from(["A", "B", None])


BAD_CALLS = [
    ("limit", (1, 0, 100, 5)),
    ("limit", (1, BUY, 100, 0)),
    ("limit", (1, BUY, 100.5, 5)),
    ("limit", (1, SELL, math.nan, 5)),
    ("limit", (1, SELL, 100, math.nan)),
    ("limit", (1, BUY, -100, 5)),
    ("limit", (1, True, 100, 5)),
    ("limit", (1, BUY, 100, 2.5)),
    ("market", (1, 5, 3)),
    ("market", (1, SELL, -3)),
    ("ioc", (1, BUY, 0, 3)),
    ("ioc", (1, BUY, 100, False)),
    ("cancel", (10_000,)),
    ("cancel", (-1,)),
    ("reduce", (10_000, 1)),
    ("limit", (1, BUY, MAX_TICKS + 1, 5)),
    ("limit", (1, SELL, 2**62 + 7, 5)),
    ("ioc", (1, BUY, 2**63, 1)),
    ("limit", (1, BUY, 100, 2**62)),
    ("set_band", (None, 2**62, "block")),
]


class OrderBookMachine(RuleBasedStateMachine):
    """Drives a book that keeps every record (for the per-order accounting), a lean book that
    compacts every few orders, and the reference, with the same messages."""

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook(keep_records=True, compact_every=5)
        self.lean = OrderBook(compact_every=3)
        self.ref = ReferenceBook()
        self.log: list[tuple[float, str, tuple]] = []
        self.base = 96

    def _send(self, method: str, *args):
        """Send one message to every book; all must accept it or all refuse it alike."""
        self.log.append((self.book.now, method, args))
        results = []
        for target in (self.book, self.lean, self.ref):
            try:
                results.append(("ok", getattr(target, method)(*args)))
            except HaltedError:
                results.append(("halted", None))
            except OrderBookError:
                results.append(("refused", None))
        assert results[0] == results[1] == results[2], (method, args, results)
        if self.book.halted and self.book.halt_reason == "band":
            # the bands that stopped the order: every halt band it left, the sweep limit too
            assert set(self.book.band_breach_names) == set(self.ref.breach_names)
        return results[0]

    def _both(self, method: str, *args) -> None:
        """A control message every book accepts (halt, bands, sweep limit, reopen)."""
        self.log.append((self.book.now, method, args))
        for target in (self.book, self.lean, self.ref):
            getattr(target, method)(*args)

    @initialize(
        base=BASES,
        orders=st.lists(st.tuples(OWNERS, SIDES, OFFSETS, QTYS), max_size=12),
    )
    def seed_book(self, base, orders):
        # a populated book from the first step, so that most messages meet resting orders
        self.base = base
        for owner, side, offset, qty in orders:
            self._send("limit", owner, side, base + offset, qty)

    @rule(dt=st.floats(0.0, 5.0))
    def advance_clock(self, dt):
        self.book.now += dt
        self.lean.now = self.ref.now = self.book.now

    @rule(owner=OWNERS, side=SIDES, offset=OFFSETS, qty=QTYS)
    def limit(self, owner, side, offset, qty):
        self._send("limit", owner, side, self.base + offset, qty)

    @rule(owner=OWNERS, side=SIDES, qty=QTYS | st.integers(13, 40))
    def market(self, owner, side, qty):
        # large ones sweep several levels, into the bands and the sweep limit
        self._send("market", owner, side, qty)

    @rule(owner=OWNERS, side=SIDES, offset=OFFSETS, qty=QTYS)
    def ioc(self, owner, side, offset, qty):
        self._send("ioc", owner, side, self.base + offset, qty)

    @rule(data=st.data())
    def cancel(self, data):
        # any id issued so far, finished ones and one past the end included
        order_id = data.draw(st.integers(1, self.ref.next_id))
        self._send("cancel", order_id)

    @rule(data=st.data(), new_qty=st.integers(-1, 13))
    def reduce(self, data, new_qty):
        order_id = data.draw(st.integers(1, self.ref.next_id))
        self._send("reduce", order_id, new_qty)

    @rule(side=SIDES)
    def empty_side(self, side):
        # a one-sided book: orders then rest on the grid's first or last ticks, and a band can
        # leave no price to reprice to
        for price, _ in self.book.depth(100)[0 if side == BUY else 1]:
            for order_id in self.book.level_orders(side, price):
                self._send("cancel", order_id)

    @precondition(lambda self: not self.book.halted)
    @rule(roll=st.integers(0, 3))
    def halt(self, roll):
        # halting on one roll in four keeps most of the run in continuous trading
        if roll:
            return
        self._both("halt", "test")

    @rule(
        mode=st.sampled_from(["halt", "block"]),
        lo=st.none() | st.integers(0, 4),
        width=st.none() | st.integers(0, 3),
        name=BAND_NAMES,
    )
    def set_band(self, mode, lo, width, name):
        # bands of either mode under two names stack, so tight and loose bands meet
        lo = None if lo is None else self.base + lo
        hi = None if width is None else min((lo or self.base + 3) + width, MAX_TICKS)
        self._both("set_band", lo, hi, mode, name)
        assert self.book.band(mode, name or mode) == ((lo, hi) if lo or hi else (None, None))

    @rule(ticks=st.none() | st.integers(1, 3))
    def set_sweep_limit(self, ticks):
        self._both("set_sweep_limit", ticks)

    @rule(
        ticks=st.integers(1, 3),
        inside=st.integers(-1, 3),
        side=SIDES,
        mode=st.sampled_from(["halt", "block"]),
    )
    def stack_band_on_the_sweep_limit(self, ticks, inside, side, mode):
        # a band as tight as the sweep limit or tighter, on the side an order would sweep
        touch = self.book.best_ask if side == BUY else self.book.best_bid
        if touch is None:
            return
        edge = min(max(touch + side * min(inside, ticks), 1), MAX_TICKS)
        self._both("set_sweep_limit", ticks)
        self._both("set_band", *((None, edge) if side == BUY else (edge, None)), mode, "A")

    @rule(qty=QTYS, band=st.booleans())
    def quote_on_the_grid_edge(self, qty, band):
        # an order on the grid's first tick (a sell) or last tick (a buy) in a one-sided book,
        # perhaps with a block band that excludes it: an incoming order may then have no price
        # on the grid to rest at
        if self.base == 96:
            return
        side = SELL if self.base == 1 else BUY
        self.empty_side(-side)
        self._send("limit", 0, side, 1 if side == SELL else MAX_TICKS, qty)
        if band:
            edges = (2, None) if side == SELL else (None, MAX_TICKS - 1)
            self._both("set_band", *edges, "block", "B")

    @precondition(lambda self: self.book.halted)
    @rule()
    def reopen(self):
        self._both("reopen")
        bid, ask = self.book.best_bid, self.book.best_ask
        assert bid is None or ask is None or bid < ask

    @rule(call=st.sampled_from(BAD_CALLS))
    def bad_message(self, call):
        method, args = call
        before = (
            self.book.depth(100),
            len(self.book.trades),
            self.book.n_events,
            self.book.n_orders,
        )
        # the reference does not validate: only the real book sees the malformed message
        self.log.append((self.book.now, method, args))
        try:
            getattr(self.book, method)(*args)
        except HaltedError as exc:  # pragma: no cover - would be a bug
            raise AssertionError(f"{method}{args} reported a halt, not bad input") from exc
        except OrderBookError:
            pass
        else:
            raise AssertionError(f"{method}{args} was accepted")
        assert (
            self.book.depth(100),
            len(self.book.trades),
            self.book.n_events,
            self.book.n_orders,
        ) == before

    # ------------------------------------------------------------------ invariants
    @invariant()
    def same_prints_and_depth_as_reference(self):
        assert [tuple(t) for t in self.book.trades] == self.ref.trades
        assert self.lean.trades == self.book.trades
        assert self.book.depth(100) == self.ref.depth() == self.lean.depth(100)
        assert self.book.halted == self.ref.halted == self.lean.halted

    @invariant()
    def best_prices_are_on_the_grid_and_visible(self):
        for book in (self.book, self.lean):
            bids, asks = book.depth(1)
            assert book.best_bid == (bids[0][0] if bids else None)
            assert book.best_ask == (asks[0][0] if asks else None)
            for price in (book.best_bid, book.best_ask):
                assert price is None or 1 <= price <= MAX_TICKS

    @invariant()
    def never_crossed_while_trading(self):
        bid, ask = self.book.best_bid, self.book.best_ask
        if not self.book.halted and bid is not None and ask is not None:
            assert bid < ask

    @invariant()
    def per_order_accounting(self):
        bought = sold = 0
        for order_id in range(1, self.book.n_orders + 1):
            rec = self.book.order_record(order_id)
            ref = self.ref.orders[order_id]
            assert rec.submitted == rec.remaining + rec.filled + rec.cancelled
            assert (rec.remaining, rec.filled, rec.cancelled, rec.status) == (
                ref["rem"],
                ref["filled"],
                ref["cancelled"],
                ref["status"],
            )
            assert self.lean.remaining(order_id) == rec.remaining
            if rec.side == BUY:
                bought += rec.filled
            else:
                sold += rec.filled
        assert bought == sold == sum(t.qty for t in self.book.trades)

    @invariant()
    def compaction_keeps_only_live_orders_and_changes_nothing(self):
        # compaction is unobservable, so running it at any point must not change what follows
        self.lean._compact()
        assert self.lean.n_held_orders == len(self.ref.live)

    @invariant()
    def queue_positions_follow_time_priority(self):
        for side in (BUY, SELL):
            for price, _ in self.book.depth(100)[0 if side == BUY else 1]:
                ids = self.book.level_orders(side, price)
                assert ids == sorted(ids) == self.lean.level_orders(side, price)
                ahead = 0
                for order_id in ids:
                    assert self.book.queue_position(order_id) == ahead
                    assert self.lean.queue_position(order_id) == ahead
                    ahead += self.book.remaining(order_id)

    def teardown(self):
        # determinism: the same message stream into a fresh book gives identical prints
        replay = OrderBook()
        for now, method, args in self.log:
            replay.now = now
            with contextlib.suppress(OrderBookError):
                getattr(replay, method)(*args)
        assert list(replay.trades) == list(self.book.trades)
        assert replay.depth(100) == self.book.depth(100)


OrderBookMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderBookAgainstReference = OrderBookMachine.TestCase


class LongOrderBookMachine(OrderBookMachine):
    """The same machine with many more examples: the edge cases need several steps in a row
    (a one-sided book on the grid's edge, then a band, then an order), which 200 examples reach
    only sometimes."""


LongOrderBookMachine.TestCase.settings = settings(
    max_examples=2000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderBookAgainstReferenceLong = pytest.mark.slow(LongOrderBookMachine.TestCase)
