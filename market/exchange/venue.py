"""The exchange as participants meet it: one order book, its trading rules and trade settlement.

Every message from every participant goes through a :class:`Venue`. After each message the venue
hands every new print to ``on_trade`` (in the simulator,
:meth:`market.exchange.clearing.Clearing.settle_trade`), so no fill is ever missed or settled
twice. Owners are opaque integers: the venue, like the book, knows nothing of
who they are.

Difference from the raw book, on purpose for simulation: a market or IOC order sent while trading
is halted returns ``None`` instead of raising (unless a call auction is collecting orders and
takes a market order as market-on-open/close, see :mod:`market.exchange.auctions`), and
cancelling an order that has already finished returns 0. Participants act on views that may be
a message old, and those cases are ordinary market events, not programming errors. Malformed
orders still raise.

Participants read the book through a :class:`BookView`: the prices, sizes and queue positions a
trader can see on a screen, without any way to send, cancel or halt (those go through the venue,
so every print is settled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from market.exchange.auctions import CallAuctions
from market.exchange.order_book import HaltedError, OrderBook, Trade
from market.exchange.rules import TradingRule


class BookView:
    """Read-only view of an :class:`OrderBook` (prices in integer ticks, sizes in shares).

    ``side`` is +1 for bids, -1 for asks. Every read is live: the view holds no copy.
    """

    __slots__ = ("_book",)

    def __init__(self, book: OrderBook) -> None:
        self._book = book

    @property
    def tick_size(self) -> float:
        """Currency per tick."""
        return self._book.tick_size

    @property
    def halted(self) -> bool:
        """True while trading is halted or paused (orders that would trade are refused)."""
        return self._book.halted

    @property
    def best_bid(self) -> int | None:
        return self._book.best_bid

    @property
    def best_ask(self) -> int | None:
        return self._book.best_ask

    @property
    def spread(self) -> int | None:
        """Best ask minus best bid in ticks (None with an empty side)."""
        return self._book.spread

    @property
    def mid(self) -> float | None:
        """Mid price in ticks (None with an empty side)."""
        return self._book.mid

    def depth(self, levels: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The top ``levels`` levels per side as ``(price ticks, total qty)``, best first."""
        return self._book.depth(levels)

    def size_within(self, side: int, k: int) -> int:
        """Resting quantity on ``side`` within ``k`` ticks of that side's best price."""
        return self._book.size_within(side, k)

    def remaining(self, order_id: int) -> int:
        """Shares of ``order_id`` still resting (0 once filled or cancelled)."""
        return self._book.remaining(order_id)

    def queue_position(self, order_id: int) -> int:
        """Shares resting ahead of a live order at its price level (0 at the front)."""
        return self._book.queue_position(order_id)

    def level_orders(self, side: int, price: int) -> list[int]:
        """Ids of the live orders at one price level, front of the queue first."""
        return self._book.level_orders(side, price)


class Venue:
    """Routes orders to ``book``, settles prints through ``on_trade`` and runs ``rules``.

    ``rules`` follow the protocol of :mod:`market.exchange.rules`: ``rule.update(now, book)``
    arms price bands, starts and ends halts (reopening with the book's auction). ``calls``, if
    given, is also one of the rules; a market order sent while it collects joins its auction.
    """

    def __init__(
        self,
        book: OrderBook,
        rules: Sequence[TradingRule] = (),
        on_trade: Callable[[Trade], None] | None = None,
        calls: CallAuctions | None = None,
    ) -> None:
        self.book = book
        self.calls = calls
        self.view = BookView(book)
        self.rules = list(rules)
        self.on_trade = on_trade
        self._seen = len(book.trades)
        self.n_refused = 0

    @property
    def halted(self) -> bool:
        return self.book.halted

    def _settle(self) -> None:
        trades = self.book.trades
        n = len(trades)
        if n != self._seen:
            cb = self.on_trade
            if cb is not None:
                for i in range(self._seen, n):
                    cb(trades[i])
            self._seen = n

    def limit(self, owner: int, side: int, price: int, qty: int) -> int:
        oid = self.book.limit(owner, side, price, qty)
        self._settle()
        return oid

    def market(self, owner: int, side: int, qty: int) -> int | None:
        try:
            oid = self.book.market(owner, side, qty)
        except HaltedError:
            joined = None if self.calls is None else self.calls.join(self.book, owner, side, qty)
            if joined is None:
                self.n_refused += 1
            return joined
        self._settle()
        return oid

    def ioc(self, owner: int, side: int, price: int, qty: int) -> int | None:
        try:
            oid = self.book.ioc(owner, side, price, qty)
        except HaltedError:
            self.n_refused += 1
            return None
        self._settle()
        return oid

    def cancel(self, order_id: int) -> int:
        if self.book.remaining(order_id) == 0:
            return 0
        return self.book.cancel(order_id)

    def reduce(self, order_id: int, new_qty: int) -> None:
        self.book.reduce(order_id, new_qty)

    def update_rules(self, now: float) -> None:
        """Let every rule look at the book at time ``now``; settles any auction prints."""
        self.book.now = now
        for rule in self.rules:
            rule.update(now, self.book)
        self._settle()
