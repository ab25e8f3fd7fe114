"""A deliberately naive order book that the real one is tested against.

It keeps its live orders in one dict and sorts them by (price priority, arrival) for each match;
its reopening auction tries every integer price in the crossed range; bands are checked one by
one by name. It imports nothing of the production book but its error types and side constants,
so a shared mistake is unlikely. Prices are integer ticks, side +1 buy / -1 sell.
"""

from __future__ import annotations

import math

from market.exchange.order_book import BUY, HaltedError, OrderBookError

#: the grid's highest price in ticks, as the book documents it (2**62 - 1)
TOP_TICK = 2**62 - 1


class ReferenceBook:
    """A slow, obviously-correct book with the real one's public message API."""

    def __init__(self) -> None:
        self.now = 0.0
        self.orders: dict[int, dict] = {}  # every order ever accepted
        self.live: dict[int, dict] = {}  # resting (or held) limit orders
        self.trades: list[tuple] = []
        self.halted = False
        self.breach_names: tuple[str, ...] = ()
        self.next_id = 1
        self.bands: dict[str, tuple[int | None, int | None, str]] = {}
        self.sweep: tuple[int, str] | None = None

    # ------------------------------------------------------------------ helpers
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

    def _side(self, side: int) -> list[dict]:
        live = [o for o in self.live.values() if o["side"] == side and o["rem"] > 0]
        # price priority (bids high first, asks low first), then arrival
        return sorted(live, key=lambda o: (-side * o["price"], o["id"]))

    def _breached(self, mode: str, price: int) -> list[str]:
        return [
            name
            for name, (lo, hi, m) in self.bands.items()
            if m == mode and ((lo is not None and price < lo) or (hi is not None and price > hi))
        ]

    def _match(self, order: dict, limit: float) -> str | None:
        """Match against the other side; returns "halt"/"block" if a band stopped it."""
        others = self._side(-order["side"])
        touch = others[0]["price"] if others else None
        for other in others:
            if order["rem"] == 0:
                break
            p = other["price"]
            if not (p <= limit if order["side"] == BUY else p >= limit):
                break
            halts = self._breached("halt", p)
            if self.sweep is not None and abs(p - touch) > self.sweep[0]:
                halts.append(self.sweep[1])
            if halts:
                self.halted = True
                self.breach_names = tuple(halts)
                return "halt"
            if self._breached("block", p):
                return "block"
            fill = min(order["rem"], other["rem"])
            owners = (order["owner"], other["owner"])
            for o in (order, other):
                self._fill(o, fill)
            self.trades.append(
                (self.now, p, fill, order["side"], order["id"], other["id"], *owners)
            )
        return None

    def _fill(self, order: dict, qty: int) -> None:
        order["rem"] -= qty
        order["filled"] += qty
        if order["rem"] == 0:
            order["status"] = "filled"
            self.live.pop(order["id"], None)

    def _cancel_rest(self, order: dict) -> None:
        if order["rem"]:
            order["cancelled"] += order["rem"]
            order["rem"] = 0
            order["status"] = "cancelled"
            self.live.pop(order["id"], None)

    # ------------------------------------------------------------------ messages
    def limit(self, owner, side, price, qty) -> int:
        order = self._new(owner, side, price, qty, "limit")
        if self.halted or self._match(order, price) != "block":
            if order["rem"]:
                self.live[order["id"]] = order
            return order["id"]
        # rest inside the block bands without crossing the book, if the grid has such a price
        others = [o["price"] for o in self._side(-side)]
        block = [(lo, hi) for lo, hi, m in self.bands.values() if m == "block"]
        if side == BUY:
            his = [hi for _, hi in block if hi is not None]
            new = min([price, min(others) - 1, *his])
        else:
            los = [lo for lo, _ in block if lo is not None]
            new = max([price, max(others) + 1, *los])
        if 1 <= new <= TOP_TICK:
            order["price"] = new
            self.live[order["id"]] = order
        else:
            self._cancel_rest(order)
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
        order = self.live.get(order_id)
        if order is None:
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

    def halt(self, reason: str = "test") -> None:
        self.halted = True

    def set_band(self, lo, hi, mode, name=None) -> None:
        name = mode if name is None else name
        if lo is None and hi is None:
            self.bands.pop(name, None)
        else:
            self.bands[name] = (lo, hi, mode)

    def set_sweep_limit(self, ticks, name="sweep") -> None:
        self.sweep = None if ticks is None else (ticks, name)

    def remaining(self, order_id) -> int:
        return self.orders[order_id]["rem"]

    def reopen(self) -> None:
        bids, asks = self._side(BUY), self._side(-BUY)
        if bids and asks and bids[0]["price"] >= asks[0]["price"]:
            self._auction(bids, asks)
        self.halted = False

    def _auction(self, bids: list[dict], asks: list[dict]) -> None:
        ref = self.trades[-1][1] if self.trades else None

        def key(p):
            demand = sum(o["rem"] for o in bids if o["price"] >= p)
            supply = sum(o["rem"] for o in asks if o["price"] <= p)
            gap = 0 if ref is None else abs(p - ref)
            return (-min(demand, supply), abs(demand - supply), gap, p)

        low, high = asks[0]["price"], bids[0]["price"]
        candidates = range(low, high + 1)
        if high - low > 10_000:  # a wide crossed range: the levels, the gaps' ends, the last print
            points = {o["price"] for o in bids + asks} | ({ref} if ref is not None else set())
            candidates = sorted(q for p in points for q in (p - 1, p, p + 1) if low <= q <= high)  # type: ignore[assignment]
        price = min(candidates, key=key)
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
            owners = (late["owner"], early["owner"])
            self.trades.append(
                (self.now, price, fill, late["side"], late["id"], early["id"], *owners)
            )
            volume -= fill

    def depth(self) -> tuple[list, list]:
        out = []
        for side in (BUY, -BUY):
            levels: dict[int, int] = {}
            for o in self._side(side):
                levels[o["price"]] = levels.get(o["price"], 0) + o["rem"]
            out.append(list(levels.items()))
        return out[0], out[1]
