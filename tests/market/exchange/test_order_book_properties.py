"""Stateful property test: the order book against a slow, obviously-correct reference book.

The reference keeps every live order in one list and sorts it by (price priority, arrival) for
each match; its reopening auction tries every integer price. Every message goes to both books and
their prints, depth and per-order accounting must agree exactly. Invariants: never crossed at
rest while trading, submitted = remaining + filled + cancelled, shares bought = shares sold, bad
input leaves the book unchanged, and replaying the message log into a fresh book reproduces the
same prints.
"""

from __future__ import annotations

import contextlib
import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from market.exchange.order_book import BUY, SELL, HaltedError, OrderBook, OrderBookError

PRICES = st.integers(96, 104)
QTYS = st.integers(1, 12)
SIDES = st.sampled_from([BUY, SELL])
OWNERS = st.integers(0, 5)


class ReferenceBook:
    """A deliberately naive book: a list of orders, sorted on every use."""

    def __init__(self) -> None:
        self.now = 0.0
        self.orders: dict[int, dict] = {}
        self.trades: list[tuple] = []
        self.halted = False
        self.next_id = 1
        self.bands = {"halt": (None, None), "block": (None, None)}

    def _new(self, owner, side, price, qty, kind) -> dict:
        order = {
            "id": self.next_id,
            "owner": owner,
            "side": side,
            "price": price,
            "kind": kind,
            "submitted": qty,
            "rem": qty,
            "filled": 0,
            "cancelled": 0,
            "status": "resting",
        }
        self.orders[self.next_id] = order
        self.next_id += 1
        return order

    def _live(self, side: int) -> list[dict]:
        live = [
            o
            for o in self.orders.values()
            if o["side"] == side and o["rem"] > 0 and o["kind"] == "limit"
        ]
        # price priority (bids high first, asks low first), then arrival
        return sorted(live, key=lambda o: (-side * o["price"], o["id"]))

    def _outside(self, mode: str, price: int) -> bool:
        lo, hi = self.bands[mode]
        return (lo is not None and price < lo) or (hi is not None and price > hi)

    def _match(self, order: dict, limit: float) -> str | None:
        """Match against the other side; returns "halt"/"block" if a band stopped it."""
        for other in self._live(-order["side"]):
            if order["rem"] == 0:
                break
            crosses = other["price"] <= limit if order["side"] == BUY else other["price"] >= limit
            if not crosses:
                break
            if self._outside("halt", other["price"]):
                self.halted = True
                return "halt"
            if self._outside("block", other["price"]):
                return "block"
            fill = min(order["rem"], other["rem"])
            for o in (order, other):
                self._fill(o, fill)
            self.trades.append(
                (
                    self.now,
                    other["price"],
                    fill,
                    order["side"],
                    order["id"],
                    other["id"],
                    order["owner"],
                    other["owner"],
                )
            )

    @staticmethod
    def _fill(order: dict, qty: int) -> None:
        order["rem"] -= qty
        order["filled"] += qty
        if order["rem"] == 0:
            order["status"] = "filled"

    @staticmethod
    def _cancel_rest(order: dict) -> None:
        if order["rem"]:
            order["cancelled"] += order["rem"]
            order["rem"] = 0
            order["status"] = "cancelled"

    def limit(self, owner, side, price, qty) -> int:
        order = self._new(owner, side, price, qty, "limit")
        if not self.halted and self._match(order, price) == "block":
            # rest inside the block band without crossing the book
            lo, hi = self.bands["block"]
            others = [o["price"] for o in self._live(-side)]
            if side == BUY:
                order["price"] = min([price, min(others) - 1] + ([hi] if hi else []))
            else:
                order["price"] = max([price, max(others) + 1] + ([lo] if lo else []))
        return order["id"]

    def market(self, owner, side, qty) -> int:
        if self.halted:
            raise HaltedError("halted")
        order = self._new(owner, side, None, qty, "market")
        self._match(order, math.inf if side == BUY else -math.inf)
        self._cancel_rest(order)
        return order["id"]

    def ioc(self, owner, side, price, qty) -> int:
        if self.halted:
            raise HaltedError("halted")
        order = self._new(owner, side, price, qty, "ioc")
        self._match(order, price)
        self._cancel_rest(order)
        return order["id"]

    def _resting(self, order_id) -> dict:
        order = self.orders.get(order_id)
        if order is None or order["rem"] == 0:
            raise OrderBookError("unknown or finished")
        return order

    def cancel(self, order_id) -> int:
        order = self._resting(order_id)
        qty = order["rem"]
        self._cancel_rest(order)
        return qty

    def reduce(self, order_id, new_qty) -> None:
        order = self._resting(order_id)
        if not 0 < new_qty < order["rem"]:
            raise OrderBookError("bad new_qty")
        order["cancelled"] += order["rem"] - new_qty
        order["rem"] = new_qty

    def halt(self) -> None:
        self.halted = True

    def set_band(self, lo, hi, mode) -> None:
        self.bands[mode] = (lo, hi)

    def reopen(self) -> None:
        bids, asks = self._live(BUY), self._live(SELL)
        if bids and asks and bids[0]["price"] >= asks[0]["price"]:
            ref = self.trades[-1][1] if self.trades else None

            def key(p):
                demand = sum(o["rem"] for o in bids if o["price"] >= p)
                supply = sum(o["rem"] for o in asks if o["price"] <= p)
                return (
                    -min(demand, supply),
                    abs(demand - supply),
                    0 if ref is None else abs(p - ref),
                    p,
                )

            price = min(range(asks[0]["price"], bids[0]["price"] + 1), key=key)
            volume = -key(price)[0]
            bids = [o for o in bids if o["price"] >= price]
            asks = [o for o in asks if o["price"] <= price]
            while volume:
                bid = next(o for o in bids if o["rem"])
                ask = next(o for o in asks if o["rem"])
                fill = min(bid["rem"], ask["rem"], volume)
                for o in (bid, ask):
                    self._fill(o, fill)
                late, early = (bid, ask) if bid["id"] > ask["id"] else (ask, bid)
                self.trades.append(
                    (
                        self.now,
                        price,
                        fill,
                        late["side"],
                        late["id"],
                        early["id"],
                        late["owner"],
                        early["owner"],
                    )
                )
                volume -= fill
        self.halted = False

    def depth(self) -> tuple[list, list]:
        out = []
        for side in (BUY, SELL):
            levels: dict[int, int] = {}
            for o in self._live(side):
                levels[o["price"]] = levels.get(o["price"], 0) + o["rem"]
            out.append(list(levels.items()))
        return out[0], out[1]


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
]


class OrderBookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook()
        self.ref = ReferenceBook()
        self.log: list[tuple[float, str, tuple]] = []

    def _send(self, method: str, *args):
        """Send one message to both books; both must accept it or both refuse it alike."""
        self.log.append((self.book.now, method, args))
        results = []
        for target in (self.book, self.ref):
            try:
                results.append(("ok", getattr(target, method)(*args)))
            except HaltedError:
                results.append(("halted", None))
            except OrderBookError:
                results.append(("refused", None))
        assert results[0] == results[1], (method, args, results)
        return results[0]

    @initialize(orders=st.lists(st.tuples(OWNERS, SIDES, PRICES, QTYS), max_size=12))
    def seed_book(self, orders):
        # a populated book from the first step, so that most messages meet resting orders
        for owner, side, price, qty in orders:
            self._send("limit", owner, side, price, qty)

    @rule(dt=st.floats(0.0, 5.0))
    def advance_clock(self, dt):
        self.book.now += dt
        self.ref.now = self.book.now

    @rule(owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def limit(self, owner, side, price, qty):
        self._send("limit", owner, side, price, qty)

    @rule(owner=OWNERS, side=SIDES, qty=QTYS)
    def market(self, owner, side, qty):
        self._send("market", owner, side, qty)

    @rule(owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def ioc(self, owner, side, price, qty):
        self._send("ioc", owner, side, price, qty)

    @rule(data=st.data())
    def cancel(self, data):
        # any id issued so far, finished ones and one past the end included
        order_id = data.draw(st.integers(1, self.ref.next_id))
        self._send("cancel", order_id)

    @rule(data=st.data(), new_qty=st.integers(-1, 13))
    def reduce(self, data, new_qty):
        order_id = data.draw(st.integers(1, self.ref.next_id))
        self._send("reduce", order_id, new_qty)

    @precondition(lambda self: not self.book.halted)
    @rule(roll=st.integers(0, 3))
    def halt(self, roll):
        # halting on one roll in four keeps most of the run in continuous trading
        if roll:
            return
        self.log.append((self.book.now, "halt", ("test",)))
        self.book.halt("test")
        self.ref.halt()

    @rule(
        mode=st.sampled_from(["halt", "block"]),
        lo=st.none() | st.integers(96, 101),
        width=st.none() | st.integers(0, 4),
    )
    def set_band(self, mode, lo, width):
        hi = None if width is None else (lo or 99) + width
        self.log.append((self.book.now, "set_band", (lo, hi, mode)))
        self.book.set_band(lo, hi, mode)
        self.ref.set_band(lo, hi, mode)
        assert self.book.band(mode) == (lo, hi)

    @precondition(lambda self: self.book.halted)
    @rule()
    def reopen(self):
        self.log.append((self.book.now, "reopen", ()))
        self.book.reopen()
        self.ref.reopen()
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
        assert self.book.depth(100) == self.ref.depth()
        assert self.book.halted == self.ref.halted

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
            if rec.side == BUY:
                bought += rec.filled
            else:
                sold += rec.filled
        assert bought == sold == sum(t.qty for t in self.book.trades)

    @invariant()
    def queue_positions_follow_time_priority(self):
        for side in (BUY, SELL):
            for price, _ in self.book.depth(100)[0 if side == BUY else 1]:
                ids = self.book.level_orders(side, price)
                assert ids == sorted(ids)
                ahead = 0
                for order_id in ids:
                    assert self.book.queue_position(order_id) == ahead
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
