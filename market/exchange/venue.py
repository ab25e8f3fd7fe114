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

Event sequence
--------------
Given a shared :class:`~market.exchange.event_clock.EventClock` ``events`` (the one the option
venue and the complex book take theirs from), every accepted message takes the next number
(``message_seq`` holds the latest), then each print the message caused takes the next ones, in
print order, so ``(time, seq)`` orders the underlying's events among every book's exactly. The
accepted messages are limit, market (including one that joins a call auction), IOC, cancel
(also of an order already finished, which cancels nothing) and reduce; and, in
:meth:`Venue.update_rules`, each rule whose update halted, reopened, changed the halt reason,
printed or cancelled orders (one number for that rule's whole action, before its prints).
Re-arming a price band or a sweep limit alone changes no book state that prints are ordered by
and takes none. A refused message (``None``: halted) or a malformed one (raises) takes no number.
The numbers of the prints are kept in an int64 array aligned with ``book.trades``
(:meth:`Venue.print_seqs`; prints made before the venue existed show 0). Without a clock
(``events=None``, the default) nothing is numbered and nothing is kept.

Participants read the book through a :class:`BookView`: the prices, sizes and queue positions a
trader can see on a screen, without any way to send, cancel or halt (those go through the venue,
so every print is settled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from market.exchange.auctions import CallAuctions
from market.exchange.event_clock import EventClock
from market.exchange.order_book import HaltedError, OrderBook, Trade
from market.exchange.rules import TradingRule

#: print numbers the venue's array holds before it first grows (it doubles when full)
_INITIAL_SEQS = 1024


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
    ``events``, if given, numbers every accepted message and print (module docstring).
    """

    def __init__(
        self,
        book: OrderBook,
        rules: Sequence[TradingRule] = (),
        on_trade: Callable[[Trade], None] | None = None,
        calls: CallAuctions | None = None,
        events: EventClock | None = None,
    ) -> None:
        if events is not None and not isinstance(events, EventClock):
            raise ValueError(f"events must be an EventClock or None, got {events!r}")
        self.book = book
        self.calls = calls
        self.view = BookView(book)
        self.rules = list(rules)
        self.on_trade = on_trade
        self._seen = len(book.trades)
        self.n_refused = 0
        self.events = events
        self.message_seq = 0  # the event number of the latest accepted message (0: none yet)
        self._n_seqs = len(book.trades)  # prints numbered so far (earlier ones show 0)
        self._seqs: NDArray[np.int64] = np.zeros(
            0 if events is None else max(_INITIAL_SEQS, 2 * self._n_seqs), dtype=np.int64
        )

    @property
    def halted(self) -> bool:
        return self.book.halted

    # ------------------------------------------------------------------ event sequence
    def print_seqs(self) -> NDArray[np.int64]:
        """The event number of every print, a read-only int64 view aligned with ``book.trades``
        (entry ``i`` is print ``i``'s number; 0 for prints made before the venue existed).

        Raises ``ValueError`` on a venue without an event clock (it numbers nothing)."""
        if self.events is None:
            raise ValueError("print_seqs() needs a venue with an event clock (events=None)")
        view = self._seqs[: self._n_seqs]
        view.flags.writeable = False
        return view

    def print_seq(self, index: int) -> int:
        """The event number of print ``index`` of ``book.trades`` (``0 <= index < len``)."""
        seqs = self.print_seqs()
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ValueError(f"index must be an integer print index, got {index!r}")
        if not 0 <= index < len(seqs):
            raise ValueError(f"index must be in [0, {len(seqs) - 1}], got {index}")
        return int(seqs[index])

    def _accept(self, events: EventClock) -> None:
        """Number an accepted message, then the prints it caused (those not numbered yet)."""
        self.message_seq = events.next()
        n = len(self.book.trades)
        done = self._n_seqs
        if n == done:
            return
        if n > len(self._seqs):
            grown = np.zeros(max(2 * len(self._seqs), n), dtype=np.int64)
            grown[:done] = self._seqs[:done]
            self._seqs = grown
        seqs = self._seqs
        for i in range(done, n):
            seqs[i] = events.next()
        self._n_seqs = n

    # ------------------------------------------------------------------ messages
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
        if self.events is not None:
            self._accept(self.events)
        self._settle()
        return oid

    def market(self, owner: int, side: int, qty: int) -> int | None:
        try:
            oid = self.book.market(owner, side, qty)
        except HaltedError:
            joined = None if self.calls is None else self.calls.join(self.book, owner, side, qty)
            if joined is None:
                self.n_refused += 1
            elif self.events is not None:
                self._accept(self.events)
            return joined
        if self.events is not None:
            self._accept(self.events)
        self._settle()
        return oid

    def ioc(self, owner: int, side: int, price: int, qty: int) -> int | None:
        try:
            oid = self.book.ioc(owner, side, price, qty)
        except HaltedError:
            self.n_refused += 1
            return None
        if self.events is not None:
            self._accept(self.events)
        self._settle()
        return oid

    def cancel(self, order_id: int) -> int:
        if self.book.remaining(order_id) == 0:
            if self.events is not None:
                self._accept(self.events)
            return 0
        qty = self.book.cancel(order_id)
        if self.events is not None:
            self._accept(self.events)
        return qty

    def reduce(self, order_id: int, new_qty: int) -> None:
        self.book.reduce(order_id, new_qty)
        if self.events is not None:
            self._accept(self.events)

    def update_rules(self, now: float) -> None:
        """Let every rule look at the book at time ``now``; settles any auction prints."""
        self.book.now = now
        if self.events is not None:
            self._update_rules_numbered(now, self.events)
        else:
            for rule in self.rules:
                rule.update(now, self.book)
        self._settle()

    def _update_rules_numbered(self, now: float, events: EventClock) -> None:
        """Run the rules one at a time; a rule whose update halted, reopened, changed the halt
        reason, printed or cancelled orders takes one message number, then its prints theirs."""
        book = self.book
        for rule in self.rules:
            before = (book.halted, book.halt_reason, len(book.trades), book.n_events)
            rule.update(now, book)
            if (book.halted, book.halt_reason, len(book.trades), book.n_events) != before:
                self._accept(events)
