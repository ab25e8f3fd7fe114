"""The exchange as participants meet it: one order book, its trading rules and trade settlement.

Every message from every participant goes through a :class:`Venue`. After each message the venue
hands every new print to ``on_trade`` (the simulator settles it in the ledger), so no fill is ever
missed or settled twice. Owners are opaque integers: the venue, like the book, knows nothing of
who they are.

Difference from the raw book, on purpose for simulation: a market or IOC order sent while trading
is halted returns ``None`` instead of raising, and cancelling an order that has already finished
returns 0. Participants act on views that may be a message old, and those cases are ordinary
market events, not programming errors. Malformed orders still raise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from market.exchange.order_book import HaltedError, OrderBook, Trade


class Venue:
    """Routes orders to ``book``, settles prints through ``on_trade`` and runs ``rules``.

    ``rules`` follow the protocol of :mod:`market.exchange.rules`: ``rule.update(now, book)`` arms price
    bands, starts and ends halts (reopening with the book's auction).
    """

    def __init__(
        self,
        book: OrderBook,
        rules: Sequence = (),
        on_trade: Callable[[Trade], None] | None = None,
    ) -> None:
        self.book = book
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
            self.n_refused += 1
            return None
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
