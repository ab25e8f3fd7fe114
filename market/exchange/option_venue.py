"""The options venue: one limit order book per listed option series, with two-sided mass quotes,
a mass cancel, price protection, venue-wide halts, top-of-book arrays and exact settlement.

Conventions are the order book's (:mod:`market.exchange.order_book`): side ``+1`` buy / ``-1``
sell; prices in integer **ticks** of premium per share (``tick_size`` currency a tick, 0.01 by
default, on the whole grid); quantities in **contracts**; owners are ledger accounts (opaque
integers). A series is named by ``contract``, its row in the option chain, ``0 <= contract <
n_contracts``. Time is ``clock()`` (seconds) read once per message.

Event sequence
--------------
Every accepted message (orders, cancels, replaces, quotes, mass cancels, listings, delistings,
halts, reopens) takes the next number of the shared :class:`EventClock` ``events``, then each
print the message caused takes the next ones, in the order they printed. A cross (a package
leg printed off the book) is a print of the complex book's message, not a message of its own:
it takes one number, so a package trade's legs follow the number the package took. A refused
message (return value ``None``) or bad input (``ValueError``) takes none and changes nothing,
except as stated for :meth:`OptionVenue.quote`.

Prints and settlement
---------------------
After each message every new print is handed to ``on_trade`` as an :class:`OptionPrint`, exactly
once; :class:`OptionSettlement` is the adapter that settles one into a
:class:`~market.exchange.clearing.Ledger` (premium = price ticks x ``tick_size`` per share).
``on_trade`` must not send messages; top listeners (:meth:`OptionVenue.add_top_listener`) may:
they are called after the message's prints are settled, with each contract whose top of book
(best prices and sizes at the touch) differs from what listeners were last told.

Messages that are refused rather than raised (participants act on views a message old):

* ``"halted"``: an IOC while the venue is halted (limits and quotes are held for the reopening
  auction, as the order book holds them);
* ``"price_protection"``: a buy priced more than ``max_cross_ticks`` above the best ask, or a sell
  more than ``max_cross_ticks`` below the best bid, whatever the order type (limit, IOC, either
  side of a quote, replace). The order is refused, not clipped: a clipped order would trade at a
  price its sender never chose. There are no option market orders at all. Every continuous print
  of an order therefore lies within ``max_cross_ticks`` of the opposite best it met;
* ``"not_listed"``: any order message to a series not listed (never listed, or expired);
* ``"order_finished"``: a replace of an order that has already filled or been cancelled (placing
  the new order would double the sender's exposure).

Counts are in ``n_refused[reason]``.

Quotes
------
``quote(owner, contract, bid_px, bid_qty, ask_px, ask_qty)`` first pulls the owner's previous
quote in that series (both sides), then enters each new side as a limit order, bid first. A quote
that crosses resting orders trades as a limit order would (at the resting prices, remainder
rests), subject to price protection side by side; a side refused by protection is not entered
and the other side still is (the message itself is accepted). The two sides may not lock or cross
each other (``bid_px < ask_px``). There is no self-trade prevention, as in the underlying book: a
quote may trade with its owner's own resting limit orders, which moves nothing in the ledger. A
:meth:`replace` of a quote side keeps it that quote side. So at most one bid and one ask resting
per owner per series come from quotes.

A quote sent with ``post_only=True`` never takes liquidity (an exchange's "price adjust" of market
makers' quotes): once the owner's previous quote is pulled, a bid at or above the best ask resting
is repriced to that ask minus one tick, an ask at or below the best bid resting to that bid plus
one tick (both read before either new side is entered, so the quote's own bid does not move its
ask); a bid that would fall below one tick is not entered. So market makers' quotes never lock or
cross one another and no quote prints against a resting order. Repriced sides are counted in
``n_repriced`` (``"bid"``, ``"ask"``; ``"bid_dropped"`` and ``"ask_dropped"`` for sides not
entered: a bid below one tick, an ask above the highest price).

Tick grid
---------
Every book has one tick. A two-tier grid (0.01 below 3.00, 0.05 at or above) is added without
touching the book: keep the book's tick at 0.01 (0.05 is five of them) and give the venue a
price-grid function ``on_grid(price_ticks) -> bool`` (``price < 300 or price % 5 == 0``) that
order entry checks beside the other arguments, refusing off-grid prices with a ``ValueError``;
price protection and the top arrays are unchanged, and quoting agents round with the same grid.

Top of book
-----------
:meth:`OptionVenue.top` returns ``bid_px, bid_sz, ask_px, ask_sz`` (int64, indexed by contract).
An empty side shows price 0 and size 0 (0 is below every valid price); a series not listed
shows -1 in all four. Only the series touched since the previous call are recomputed. While
top listeners are registered, the touched series' top is also read after each message (four
attribute reads) to tell whether it changed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from market.exchange.event_clock import EventClock
from market.exchange.option_records import (  # re-exported: the venue's public names
    OptionPrint,
    OptionSettlement,
    OptionVenueError,
    Pulled,
    _owner,
    _price,
    _qty,
    _quote_side,
    _side,
    _whole,
)
from market.exchange.order_book import BUY, MAX_TICKS, SELL, OrderBook
from market.exchange.venue import BookView

__all__ = [
    "REFUSAL_REASONS",
    "OptionPrint",
    "OptionSettlement",
    "OptionVenue",
    "OptionVenueError",
    "Pulled",
]

#: why a message was refused (the keys of ``OptionVenue.n_refused``)
REFUSAL_REASONS = ("halted", "price_protection", "not_listed", "order_finished")
# the top of one series: best bid, size there, best ask, size there (0, 0 for an empty side)
_Top = tuple[int, int, int, int]
_UNLISTED_TOP: _Top = (-1, -1, -1, -1)


class _Series:
    """One listed series: its book, the view participants read, the prints already settled and
    the owner of every order resting in it."""

    __slots__ = ("book", "owners", "seen", "view")

    def __init__(self, tick_size: float) -> None:
        self.book = OrderBook(tick_size)
        self.view = BookView(self.book)
        self.seen = 0
        self.owners: dict[int, int] = {}  # resting order id -> owner


class OptionVenue:
    """Routes option messages to one :class:`OrderBook` per listed series (see the module
    docstring for the conventions, refusals, quotes and the event sequence).

    ``n_contracts`` is the chain's size; ``clock()`` the current time in seconds; ``on_trade``
    receives every print; ``events`` is the shared event counter (a new one if not given);
    ``tick_size`` is currency per tick of premium; ``max_cross_ticks`` (>= 0) how far beyond the
    opposite best an order may be priced.
    """

    def __init__(
        self,
        n_contracts: int,
        clock: Callable[[], float],
        on_trade: Callable[[OptionPrint], None] | None = None,
        *,
        events: EventClock | None = None,
        tick_size: float = 0.01,
        max_cross_ticks: int = 50,
    ) -> None:
        n = _whole(n_contracts, "n_contracts", 1, 1 << 20)
        if (
            isinstance(tick_size, bool)
            or not isinstance(tick_size, (int, float))
            or not 0 < tick_size < float("inf")
        ):
            raise OptionVenueError(f"tick_size must be a positive finite amount, got {tick_size}")
        if not callable(clock):
            raise OptionVenueError(f"clock must be a callable returning seconds, got {clock!r}")
        self.max_cross_ticks = _whole(max_cross_ticks, "max_cross_ticks", 0, MAX_TICKS)
        if events is not None and not isinstance(events, EventClock):
            raise OptionVenueError(f"events must be an EventClock or None, got {events!r}")
        self.n_contracts = n
        self.tick_size = float(tick_size)
        self.clock = clock
        self.on_trade = on_trade
        self.events = events if events is not None else EventClock()
        self.message_seq = 0  # the event number of the latest accepted message
        self.halt_reason: str | None = None
        self.n_messages = 0
        self.n_prints = 0
        self.n_refused = dict.fromkeys(REFUSAL_REASONS, 0)
        self.n_repriced = {
            "bid": 0,
            "ask": 0,
            "bid_dropped": 0,
            "ask_dropped": 0,
        }  # post-only quote sides
        self._series: dict[int, _Series] = {}
        self._orders_of: dict[int, set[tuple[int, int]]] = {}  # owner -> {(contract, order id)}
        self._quotes: dict[tuple[int, int], list[int]] = {}  # (owner, contract) -> [bid, ask] ids
        self._tops = np.full((4, n), -1, dtype=np.int64)
        self._top_views = tuple(self._read_only(row) for row in self._tops)
        self._dirty: set[int] = set()
        self._top_listeners: list[Callable[[int], None]] = []
        self._told: dict[int, _Top] = {}  # contract -> the top listeners were last told of
        self._now = 0.0

    @staticmethod
    def _read_only(row: NDArray[np.int64]) -> NDArray[np.int64]:
        view = row.view()
        view.flags.writeable = False
        return view

    # ------------------------------------------------------------------ state
    @property
    def halted(self) -> bool:
        """True between :meth:`halt_all` and :meth:`reopen_all`."""
        return self.halt_reason is not None

    @property
    def n_events(self) -> int:
        """Event numbers this venue has taken: accepted messages plus prints."""
        return self.n_messages + self.n_prints

    def next_seq(self) -> int:
        """Take the next event number from the shared counter (for another book's messages)."""
        return self.events.next()

    def listed(self, contract: int) -> bool:
        """Whether ``contract`` is listed now."""
        return self._contract(contract) in self._series

    @property
    def listed_contracts(self) -> list[int]:
        """The listed contracts, ascending."""
        return sorted(self._series)

    def view(self, contract: int) -> BookView:
        """The read-only view of a listed series' book (prices in ticks, sizes in contracts)."""
        return self._listed(contract).view

    def orders_of(self, owner: int) -> list[tuple[int, int]]:
        """``(contract, order id)`` of every order ``owner`` has resting, sorted."""
        return sorted(self._orders_of.get(_owner(owner), ()))

    def front_order(self, contract: int, side: int) -> tuple[int, int, int, int] | None:
        """``(order id, owner, price, remaining)`` of the order first in time priority at the
        best price on ``side`` (+1 the bids, -1 the asks) of a listed series, ``None`` if that
        side is empty (or the series not listed)."""
        series = self._series.get(self._contract(contract))
        _side(side)
        if series is None:
            return None
        book = series.book
        price = book.best_bid if side == BUY else book.best_ask
        if price is None:
            return None
        oid = book.level_orders(side, price)[0]
        return oid, series.owners[oid], price, book.remaining(oid)

    def quote_ids(self, owner: int, contract: int) -> tuple[int, int]:
        """Order ids of ``owner``'s current quote in ``contract`` (bid, ask; 0 = no such side);
        an id may have filled since."""
        bid, ask = self._quotes.get((_owner(owner), self._contract(contract)), (0, 0))
        return bid, ask

    def _contract(self, contract: object) -> int:
        return _whole(contract, "contract", 0, self.n_contracts - 1)

    def _listed(self, contract: object) -> _Series:
        c = self._contract(contract)
        series = self._series.get(c)
        if series is None:
            raise OptionVenueError(f"contract {c} is not listed")
        return series

    def _refuse(self, reason: str) -> None:
        self.n_refused[reason] += 1

    def _begin(self) -> float:
        """Accept a message: take its event number and read the clock once."""
        self.message_seq = self.events.next()
        self.n_messages += 1
        self._now = now = float(self.clock())
        return now

    # ------------------------------------------------------------------ listing
    def list_series(self, contract: int) -> None:
        """Create the book of ``contract`` (halted if the venue is halted)."""
        c = self._contract(contract)
        if c in self._series:
            raise OptionVenueError(f"contract {c} is already listed")
        self._begin()
        series = self._series[c] = _Series(self.tick_size)
        if self.halt_reason is not None:
            series.book.halt(self.halt_reason)
        self._after({c})

    def delist(self, contract: int) -> list[Pulled]:
        """Cancel every order resting in ``contract`` and remove its book (expiry); returns the
        orders pulled, by order id."""
        series = self._listed(contract)
        c = int(contract)
        self._begin()
        pulled = [self._cancel_resting(c, series, oid) for oid in sorted(series.owners)]
        del self._series[c]
        for key in [k for k in self._quotes if k[1] == c]:
            del self._quotes[key]
        self._after({c})
        return pulled

    def _cancel_resting(self, contract: int, series: _Series, oid: int) -> Pulled:
        owner = series.owners.pop(oid)
        self._orders_of[owner].discard((contract, oid))
        return Pulled(owner, contract, oid, series.book.cancel(oid))

    # ------------------------------------------------------------------ orders
    def _protected(self, book: OrderBook, side: int, price: int) -> bool:
        """True if ``price`` is within ``max_cross_ticks`` of the opposite best (or there is
        none)."""
        if side == BUY:
            ask = book.best_ask
            return ask is None or price <= ask + self.max_cross_ticks
        bid = book.best_bid
        return bid is None or price >= bid - self.max_cross_ticks

    def _order_args(self, contract: object, side: object, price: object, qty: object) -> int:
        """Check an order's arguments (all before any state changes); returns the contract."""
        c = self._contract(contract)
        _side(side)
        _price(price)
        _qty(qty)
        return c

    def _rest(
        self, owner: int, contract: int, series: _Series, side: int, price: int, qty: int
    ) -> int:
        """Enter a limit order in an accepted message; record it if it rests."""
        book = series.book
        oid = book.limit(owner, side, price, qty)
        # The venue arms no price bands, so whatever the order did not fill rests; its fills are
        # among the prints not yet settled (cheaper to add up than asking the book, measured).
        trades = book.trades
        n = len(trades)
        if n == series.seen or qty > sum(
            tr.qty
            for tr in map(trades.__getitem__, range(series.seen, n))
            if tr.aggressor_id == oid
        ):
            series.owners[oid] = owner
            self._orders_of.setdefault(owner, set()).add((contract, oid))
        return oid

    def limit(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
        """A limit order: trades what it crosses, rests the remainder (held while halted).

        Returns the order id, or ``None`` if refused (not listed, price protection).
        """
        owner = _owner(owner)
        c = self._order_args(contract, side, price, qty)
        series = self._series.get(c)
        if series is None:
            self._refuse("not_listed")
            return None
        if not self._protected(series.book, int(side), int(price)):
            self._refuse("price_protection")
            return None
        series.book.now = self._begin()
        oid = self._rest(owner, c, series, int(side), int(price), int(qty))
        self._after({c})
        return oid

    def ioc(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
        """An immediate-or-cancel order: returns the contracts filled (0 if nothing crossed), or
        ``None`` if refused (halted, not listed, price protection)."""
        owner = _owner(owner)
        c = self._order_args(contract, side, price, qty)
        series = self._series.get(c)
        if series is None:
            self._refuse("not_listed")
            return None
        if self.halt_reason is not None:
            self._refuse("halted")
            return None
        if not self._protected(series.book, int(side), int(price)):
            self._refuse("price_protection")
            return None
        series.book.now = self._begin()
        series.book.ioc(owner, int(side), int(price), int(qty))
        filled = sum(p.qty for p in self._settle(c, series, auction=False))
        self._after({c})
        return filled

    def cancel(self, contract: int, order_id: int) -> int:
        """Cancel a resting order; returns the contracts cancelled, 0 if it had already finished
        (or its series is no longer listed: refused as ``"not_listed"``)."""
        c = self._contract(contract)
        series = self._series.get(c)
        if series is None:
            self._refuse("not_listed")
            return 0
        oid = _whole(order_id, "order_id", 1, series.book.n_orders)
        self._begin()
        qty = self._cancel_resting(c, series, oid).qty if oid in series.owners else 0
        self._after({c})
        return qty

    def replace(self, contract: int, order_id: int, price: int, qty: int) -> int | None:
        """Cancel a resting order and enter a new limit order for the same owner and side at
        ``price`` for ``qty`` (it loses time priority), in one message; a quote side stays that
        quote side. Returns the new order id, or ``None`` if refused (not listed, the order has
        finished, price protection: the old order then stays)."""
        c = self._contract(contract)
        _price(price)
        _qty(qty)
        series = self._series.get(c)
        if series is None:
            self._refuse("not_listed")
            return None
        oid = _whole(order_id, "order_id", 1, series.book.n_orders)
        owner = series.owners.get(oid)
        if owner is None:
            self._refuse("order_finished")
            return None
        side = series.book.order_record(oid).side
        if not self._protected(series.book, side, int(price)):
            self._refuse("price_protection")
            return None
        series.book.now = self._begin()
        self._cancel_resting(c, series, oid)
        new = self._rest(owner, c, series, side, int(price), int(qty))
        slots = self._quotes.get((owner, c))
        if slots is not None and oid in slots:
            slots[slots.index(oid)] = new
        self._after({c})
        return new

    def quote(
        self,
        owner: int,
        contract: int,
        bid_px: int | None,
        bid_qty: int,
        ask_px: int | None,
        ask_qty: int,
        *,
        post_only: bool = False,
    ) -> tuple[int | None, int | None]:
        """Replace ``owner``'s two-sided quote in ``contract`` (see the module docstring).

        A side is missing when its quantity is 0 (its price is then ignored; ``None`` is usual).
        With ``post_only`` each side is repriced one tick behind the opposite best resting once
        the previous quote is pulled (a bid below one tick is not entered), so it never trades.
        Returns the new ``(bid id, ask id)``, ``None`` for a side missing, not entered or refused
        by price protection; ``(None, None)`` with the message refused if the series is not listed.
        """
        owner = _owner(owner)
        c = self._contract(contract)
        bid = _quote_side(bid_px, bid_qty, "bid")
        ask = _quote_side(ask_px, ask_qty, "ask")
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            raise OptionVenueError(f"a quote needs bid_px < ask_px, got {bid[0]} >= {ask[0]}")
        if not isinstance(post_only, bool):
            raise OptionVenueError(f"post_only must be True or False, got {post_only!r}")
        series = self._series.get(c)
        if series is None:
            self._refuse("not_listed")
            return None, None
        series.book.now = self._begin()
        slots = self._quotes.setdefault((owner, c), [0, 0])
        for old in slots:
            if old in series.owners:
                self._cancel_resting(c, series, old)
        if post_only:
            bid, ask = self._behind_book(series.book, bid, ask)
        ids: list[int | None] = []
        for i, (side, wanted) in enumerate(((BUY, bid), (SELL, ask))):
            slots[i] = 0
            if wanted is None:
                ids.append(None)
            elif not self._protected(series.book, side, wanted[0]):
                self._refuse("price_protection")
                ids.append(None)
            else:
                slots[i] = self._rest(owner, c, series, side, *wanted)
                ids.append(slots[i])
                if series.seen != len(series.book.trades):
                    self._settle(c, series, auction=False)
        self._after({c})
        return ids[0], ids[1]

    def _behind_book(
        self, book: OrderBook, bid: tuple[int, int] | None, ask: tuple[int, int] | None
    ) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """A post-only quote's ``(price, qty)`` sides, each one tick behind the opposite best
        resting in ``book`` (a side pushed off the price range is dropped); counts what it moved."""
        best_bid, best_ask = book.best_bid, book.best_ask
        if bid is not None and best_ask is not None and bid[0] >= best_ask:
            if best_ask > 1:
                bid = (best_ask - 1, bid[1])
                self.n_repriced["bid"] += 1
            else:
                bid = None
                self.n_repriced["bid_dropped"] += 1
        if ask is not None and best_bid is not None and ask[0] <= best_bid:
            if best_bid < MAX_TICKS:
                ask = (best_bid + 1, ask[1])
                self.n_repriced["ask"] += 1
            else:
                ask = None
                self.n_repriced["ask_dropped"] += 1
        return bid, ask

    def mass_cancel(self, owner: int) -> list[Pulled]:
        """Pull every order and quote ``owner`` has resting in every series (a curtailment);
        returns what was pulled, by contract and order id."""
        owner = _owner(owner)
        self._begin()
        pulled = [
            self._cancel_resting(c, self._series[c], oid)
            for c, oid in sorted(self._orders_of.get(owner, ()))
        ]
        for key in [k for k in self._quotes if k[0] == owner]:
            del self._quotes[key]
        self._after({p.contract for p in pulled})
        return pulled

    def cross(
        self,
        contract: int,
        buyer: int,
        seller: int,
        qty: int,
        price: int,
        package_id: int = 0,
    ) -> OptionPrint:
        """Print ``qty`` contracts of ``contract`` from ``seller`` to ``buyer`` at ``price`` ticks
        off the book (a complex-order package leg); settled through ``on_trade`` like any print.

        The caller chooses the price (inside the leg's quotes); raises while the venue is halted,
        since no print may happen then. A cross is a print, not a message: it takes one event
        number, so the legs of one package trade follow the number the package itself took.
        """
        c = self._contract(contract)
        self._listed(c)
        buyer, seller = _owner(buyer, "buyer"), _owner(seller, "seller")
        if buyer == seller:
            raise OptionVenueError(f"a cross needs two accounts, got buyer = seller = {buyer}")
        qty, price = _qty(qty), _price(price)
        package_id = _whole(package_id, "package_id", 0, MAX_TICKS)
        if self.halt_reason is not None:
            raise OptionVenueError(f"cross refused: the venue is halted ({self.halt_reason})")
        self._now = now = float(self.clock())
        record = OptionPrint(
            self.events.next(), now, c, price, qty, buyer, seller, 0, 0, 0, package_id
        )
        self._publish(record)
        self._after(set())
        return record

    # ------------------------------------------------------------------ halts
    def halt_all(self, reason: str) -> None:
        """Halt every series: IOCs are refused, limits and quotes held. Halting again only
        replaces the reason."""
        if not isinstance(reason, str) or not reason:
            raise OptionVenueError(f"reason must be a non-empty string, got {reason!r}")
        self._begin()
        self.halt_reason = reason
        for series in self._series.values():
            series.book.halt(reason)
        self._after(set())

    def reopen_all(self) -> list[OptionPrint]:
        """Reopen every series with its single-price auction (ascending contract order) and
        resume trading; returns the auction prints (``aggressor_side`` 0)."""
        if self.halt_reason is None:
            raise OptionVenueError("reopen_all() needs a halted venue; it is trading")
        now = self._begin()
        self.halt_reason = None
        prints: list[OptionPrint] = []
        for c in sorted(self._series):
            series = self._series[c]
            series.book.now = now
            series.book.reopen()
            prints.extend(self._settle(c, series, auction=True))
        self._after(set(self._series))
        return prints

    # ------------------------------------------------------------------ settlement
    def _settle(self, contract: int, series: _Series, *, auction: bool) -> list[OptionPrint]:
        """Number, publish and return the series' prints since the last settlement; forget the
        resting orders they finished."""
        trades = series.book.trades
        n = len(trades)
        out: list[OptionPrint] = []
        remaining = series.book.remaining
        for i in range(series.seen, n):
            tr = trades[i]
            if tr.aggressor_side == BUY:
                buyer, seller = tr.aggressor_owner, tr.resting_owner
                buy_id, sell_id = tr.aggressor_id, tr.resting_id
            else:
                buyer, seller = tr.resting_owner, tr.aggressor_owner
                buy_id, sell_id = tr.resting_id, tr.aggressor_id
            side = 0 if auction else tr.aggressor_side
            record = OptionPrint(
                self.events.next(),
                self._now,
                contract,
                tr.price,
                tr.qty,
                buyer,
                seller,
                side,
                buy_id,
                sell_id,
                0,
            )
            for oid in (buy_id, sell_id):
                owner = series.owners.get(oid)
                if owner is not None and not remaining(oid):
                    del series.owners[oid]
                    self._orders_of[owner].discard((contract, oid))
            self._publish(record)
            out.append(record)
        series.seen = n
        return out

    def _publish(self, record: OptionPrint) -> None:
        self.n_prints += 1
        if self.on_trade is not None:
            self.on_trade(record)

    def _after(self, touched: set[int]) -> None:
        """End of a message: settle the touched series' prints, mark their tops stale and tell
        the top listeners of every top that changed."""
        for c in touched:
            series = self._series.get(c)
            if series is not None and series.seen != len(series.book.trades):
                self._settle(c, series, auction=False)
        self._dirty |= touched
        if not self._top_listeners:
            return
        for c in sorted(touched):
            now = self._top_of(c)
            if self._told.get(c) != now:
                self._told[c] = now
                for listener in self._top_listeners:
                    listener(c)

    # ------------------------------------------------------------------ top of book
    def _top_of(self, contract: int) -> _Top:
        series = self._series.get(contract)
        if series is None:
            return _UNLISTED_TOP
        book = series.book
        bid, ask = book.best_bid, book.best_ask
        return (
            bid or 0,
            book.size_within(BUY, 0) if bid else 0,
            ask or 0,
            book.size_within(SELL, 0) if ask else 0,
        )

    def top(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """``bid_px, bid_sz, ask_px, ask_sz`` of every contract (ticks and contracts; 0 / 0 for an
        empty side, -1 everywhere for a series not listed).

        The arrays are read-only views that the next call refreshes in place: copy to keep one.
        """
        tops = self._tops
        for c in self._dirty:
            tops[:, c] = self._top_of(c)
        self._dirty.clear()
        bid_px, bid_sz, ask_px, ask_sz = self._top_views
        return bid_px, bid_sz, ask_px, ask_sz

    def add_top_listener(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(contract)`` after each message that changed the contract's top of book."""
        if not callable(fn):
            raise OptionVenueError(f"a top listener must be callable, got {fn!r}")
        if not self._top_listeners:
            self._told = {c: self._top_of(c) for c in self._series}
        self._top_listeners.append(fn)
