"""Opening and closing call auctions: the day starts and ends with one uncrossing print.

A call auction collects orders without matching them and then executes everything that crosses
at one price. The order book already has that single-price auction (:meth:`OrderBook.reopen`,
which maximises executed volume, then minimises the imbalance, then stays nearest the last
trade; the standard exchange call-auction algorithm that the NYSE and Nasdaq crosses and Xetra
follow in variants). :class:`CallAuctions` drives it on the trading-day clock, as the trading
rules of :mod:`market.exchange.rules` drive halts (same protocol: ``update(now, book)`` once per
step, ``events``, ``next_deadline``):

* **Opening call.** For the first ``open_seconds`` of each day the book is halted with reason
  ``"opening_call"``: limit orders are held (the book may cross), then one uncrossing print opens
  continuous trading. The orders held since the previous close join it.
* **Closing call.** At ``T - close_seconds`` (``T`` = 23,400 s) continuous trading stops (reason
  ``"closing_call"``; a halt of another rule in force then is taken over), orders are collected,
  and at the start of the day's last step the closing uncross prints: its price is the day's
  last trade, hence the official close the model settles expiries on. The book then stays halted
  (reason ``"closed"``) until the next day's opening call; orders sent in between wait for it.
* **Market orders in a call** (``market_orders_join``): a market order sent while a call is
  collecting joins the auction as a market-on-open/market-on-close order instead of being
  refused. It is entered as a limit order at the collar edge, ``reference * (1 +/- collar)``
  with the last trade as reference, since an unpriced order in a thin call could print anywhere
  (exchanges bound the cross price the same way); whatever of it the uncross does not fill is
  cancelled, as a market order never rests. IOC orders are still refused during a call.

Closing auctions carry of order 5-10% of US equity volume (Bogousslavsky & Muravyev 2023, "Who
trades at the close? Implications for price discovery and liquidity", J. Financial Markets);
the opening concentrates the overnight information (Admati & Pfleiderer 1988, Review of
Financial Studies 1:3). Every uncross is kept in :attr:`CallAuctions.prints` as
``(time, kind, price, volume)`` with ``kind`` ``"open"`` or ``"close"`` (price in currency,
``None`` when nothing crossed).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from market.exchange.clock import SECONDS_PER_DAY, day_of, time_of_day
from market.exchange.order_book import OrderBook, Trade
from market.exchange.rules import RuleError, _positive, _Rule

OPENING_CALL, CLOSING_CALL, CLOSED = "opening_call", "closing_call", "closed"
_CALLS = (OPENING_CALL, CLOSING_CALL)


class AuctionPrint(NamedTuple):
    """One uncross: clock time, ``"open"`` or ``"close"``, price (currency) and shares."""

    time: float
    kind: str
    price: float | None
    volume: int


class CallAuctions(_Rule):
    """Opening and closing call auctions on one book (module docstring).

    ``open_seconds`` and ``close_seconds`` are the call periods (0 switches that call off),
    ``step_seconds`` the cadence of ``update`` calls (the closing uncross runs at the first call
    in the day's last step), ``collar`` the fraction that prices market orders joining a call.
    """

    name = "auctions"
    band_mode = "halt"

    def __init__(
        self,
        open_seconds: float = 60.0,
        close_seconds: float = 300.0,
        step_seconds: float = 1.0,
        tick_size: float = 0.01,
        collar: float = 0.01,
        market_orders_join: bool = True,
    ) -> None:
        super().__init__(tick_size)
        for value, label in ((open_seconds, "open_seconds"), (close_seconds, "close_seconds")):
            if not 0.0 <= value < SECONDS_PER_DAY / 2:
                raise RuleError(f"{label} must lie in [0, {SECONDS_PER_DAY // 2}), got {value!r}")
        self.open_seconds = float(open_seconds)
        self.close_seconds = float(close_seconds)
        self.step_seconds = _positive(step_seconds, "step_seconds")
        self.collar = _positive(collar, "collar")
        if self.collar >= 1.0:
            raise RuleError(f"collar must be below 1, got {collar!r}")
        self.market_orders_join = bool(market_orders_join)
        self.prints: list[AuctionPrint] = []
        self.n_joined = 0  # market orders that joined a call
        self._joined: list[int] = []  # their ids, cancelled after the uncross
        self._opened_day = -1
        self._closed_day = -1

    # ------------------------------------------------------------------ the protocol
    @property
    def next_deadline(self) -> float | None:
        return None  # the calls follow the day clock, which the simulator steps through anyway

    @staticmethod
    def collecting(book: OrderBook) -> bool:
        """Whether a call is collecting orders on ``book`` now."""
        return book.halted and book.halt_reason in _CALLS

    def update(self, now: float, book: OrderBook) -> None:
        now = self._clock(now)
        self._skip_prints(book)
        day, tod = day_of(now), time_of_day(now)
        if self.close_seconds > 0 and day != self._closed_day:
            if tod >= SECONDS_PER_DAY - self.step_seconds - 1e-9:
                self._uncross_close(now, day, book)
                return
            if tod >= SECONDS_PER_DAY - self.close_seconds:
                if book.halt_reason != CLOSING_CALL:
                    book.halt(CLOSING_CALL)
                    self._log(now, "call", None, "closing call: continuous trading stops")
                return
        if day == self._opened_day:
            return
        if self.open_seconds > 0 and tod < self.open_seconds:
            if book.halt_reason != OPENING_CALL:
                book.halt(OPENING_CALL)
                self._log(now, "call", None, "opening call: orders are collected")
            return
        if book.halted and book.halt_reason in (OPENING_CALL, CLOSED):
            self._record(now, "open", book.reopen())
            self._cancel_joined(book)
        self._opened_day = day

    # ------------------------------------------------------------------ orders in a call
    def join(self, book: OrderBook, owner: int, side: int, qty: int) -> int | None:
        """A market order sent during a call: entered at the collar edge (module docstring).

        Returns its order id, or ``None`` when no call is collecting or market orders do not
        join calls.
        """
        if not (self.market_orders_join and self.collecting(book)):
            return None
        last = book.last_trade
        ref = last.price if last is not None else book.mid
        if ref is None:
            return None
        if side > 0:
            price = math.ceil(ref * (1.0 + self.collar))
        else:
            price = max(1, math.floor(ref * (1.0 - self.collar)))
        oid = book.limit(owner, side, price, qty)
        self._joined.append(oid)
        self.n_joined += 1
        return oid

    # ------------------------------------------------------------------ the uncrosses
    def _uncross_close(self, now: float, day: int, book: OrderBook) -> None:
        book.halt(CLOSING_CALL)  # takes over any halt in force (no-op for its own)
        self._record(now, "close", book.reopen())
        self._cancel_joined(book)
        book.halt(CLOSED)
        self._closed_day = day

    def _record(self, now: float, kind: str, prints: list[Trade]) -> None:
        volume = sum(t.qty for t in prints)
        price = prints[0].price if prints else None
        self.prints.append(
            AuctionPrint(now, kind, None if price is None else price * self.tick_size, volume)
        )
        self._log(now, kind, price, f"{kind} auction volume {volume}")

    def _cancel_joined(self, book: OrderBook) -> None:
        for oid in self._joined:
            if book.remaining(oid):
                book.cancel(oid)
        self._joined.clear()

    def volume(self, kind: str) -> int:
        """Shares executed in the uncrosses of ``kind`` (``"open"`` or ``"close"``)."""
        return sum(p.volume for p in self.prints if p.kind == kind)
