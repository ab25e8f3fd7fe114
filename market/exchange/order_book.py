"""The shared limit order book: a continuous double auction with price-time priority.

Conventions (stated once, used everywhere in the project):

* Side: ``BUY = +1``, ``SELL = -1``.
* Prices inside the book are **integer ticks**; ``tick_size`` converts to currency
  (``currency = ticks * tick_size``). Every price argument must be a positive integer number of
  ticks (an integral float such as ``101.0`` or a numpy integer is accepted and converted) of at
  most ``MAX_TICKS`` (2**62 - 1): the grid is 1..MAX_TICKS, and the value above it is the book's
  "no ask" marker, so a larger price is refused rather than lost in the marker.
* Quantities are positive whole shares, at most ``MAX_QTY`` (2**62 - 1, so prints fit int64).
* Time is the simulation clock of :mod:`market.exchange.clock` (seconds since the first open).
  The book does not keep its own clock: the caller sets ``book.now = t`` before submitting, and
  every trade is stamped with it.

Matching
--------
An incoming order trades against the opposite side best price first and, within a price, oldest
first (price-time priority). Every print is at the **resting** order's price. A limit order's
unfilled remainder rests at its limit price; a market or IOC order's remainder is cancelled.
While continuous trading is running the book is never left crossed (best bid < best ask).

Every print is a :class:`Trade` appended to ``book.trades``, a :class:`TradeLog`
(:mod:`market.exchange.trade_log`): an append-only,
read-only sequence that indexes, slices, iterates and compares like a list of ``Trade`` and also
offers ``since(i)`` and numpy ``columns(i)`` for readers that keep a cursor. Prints are kept as
numpy columns (64 bytes each) apart from the newest few. ``aggressor_side`` is
the side of the order named by ``aggressor_id``: in continuous trading the incoming order; in a
reopening auction, the later-arriving order of the matched pair (the one that completed the
cross), so ``buyer = aggressor_owner if aggressor_side == BUY else resting_owner`` holds for every
print. Auctions are also listed in ``book.auctions`` as ``(time, price, volume)``.

Order accounting
----------------
Order ids are consecutive integers from 1. For every order, at all times,
``submitted == remaining + filled + cancelled``. ``order_record(id)`` returns an
:class:`OrderRecord`; its ``status`` is ``"resting"`` (remaining > 0), ``"filled"`` (finished by
a fill) or ``"cancelled"`` (finished by a cancel, a market/IOC remainder that could not fill, or
a limit remainder a block band left no price for). Quantity removed by ``reduce`` counts as
cancelled but does not by itself make the status "cancelled".

Memory stays flat however long the run: every ``compact_every`` orders (65,536 by default) the
book drops the records of finished orders, keeping one bit each (finished by a cancel or by a
fill). So ``remaining(id)`` of any order ever issued is answered (0 once finished), cancelling or
reducing a finished order is still refused with "order 17 is already filled" (or "cancelled"),
distinct from "unknown order id", but ``order_record`` of a dropped order is refused.
``OrderBook(keep_records=True)`` keeps every record (for tests and small studies). Prints are
packed into the numpy columns every 8,192 orders, while they are still in the processor's cache.

Bad input
---------
Every message is validated before any state changes: a side outside {+1, -1}, a quantity that is
not a positive whole number (zero, negative, NaN, a fractional float, a bool), a price that is not a
positive integer tick (off-grid float, NaN, zero or negative), an unknown or finished order id, or a
``reduce`` to ``new_qty <= 0`` or ``>= remaining`` raises :class:`OrderBookError` naming the
argument and the allowed values, and leaves the book exactly as it was (no id is consumed, the
message is not counted in ``n_events``).

Halts and the reopening auction
-------------------------------
``halt(reason)`` stops continuous trading: no trade prints while halted. Limit orders are
accepted and **held** without matching (they are visible in the book, which may therefore be
crossed only while halted); market and IOC orders are refused with :class:`HaltedError`; cancels
and reduces work as usual. ``halt`` while already halted only replaces the reason (a trading rule
uses this to take over a band halt), ``halted_at`` keeps the original start time.

``reopen()`` runs a single-price call auction over the whole book and then resumes continuous
trading. The auction price is the price that maximises executed volume
``min(demand(p), supply(p))``, where demand counts bids priced at or above ``p`` and supply asks at
or below ``p``. Ties are broken by the smallest order imbalance ``|demand - supply|``, then by the
distance to the last trade price (prices between two book levels are eligible, so an auction
inside a wide crossed range prints at the last trade price when it can), then by the lower price
(also the rule when there has been no trade yet). All crossing orders execute at that one price in
price-time priority (bids highest first, asks lowest first, oldest first within a price); prints
are stamped with ``now``. Afterwards the book is uncrossed. Bands are not applied to the auction
itself: a trading rule re-arms its band around the new price.

Price bands
-----------
``set_band(lo, hi, mode, name=None)`` arms a band of integer ticks (``None`` = unbounded on that
side; ``lo = hi = None`` clears it). Bands are named (the name defaults to the mode), so each
trading rule keeps its own band and several can be armed at once. Before any continuous fill at a
price outside an armed band (halt bands are checked first):

* ``mode="halt"``: matching stops, the book halts with reason ``"band"``, the refused price is kept
  in ``band_breach`` and the names of the bands it left in ``band_breach_names``; an aggressing
  limit order's remainder is held for the auction (at its limit price), a market/IOC remainder is
  cancelled.
* ``mode="block"`` (limit-up/limit-down): no fill outside the band; a market/IOC remainder is
  cancelled and a limit order's remainder is repriced so that it rests inside the band without
  crossing the book: a buy at ``min(limit, hi, best_ask - 1)``, a sell at
  ``max(limit, lo, best_bid + 1)`` (the band edge in the usual case). When that price is off the
  grid (a buy against an ask on tick 1, a sell against a bid on ``MAX_TICKS``) the remainder is
  cancelled instead, as a market remainder is.

Resting orders are never repriced by ``set_band``; the band only governs prints. The hot path
compares each price level it would trade at with the intersection of all bands (two integer
comparisons), so an unarmed band costs nothing measurable.

A sweep limit, ``set_sweep_limit(ticks, name)``, is a halt band that moves with each incoming
order: the order may trade at most ``ticks`` beyond the opposite best price it met on arrival.
A fill further away halts the book exactly as a breached halt band does (``band_breach_names``
then holds the sweep limit's name), also when a block band is as tight or tighter: each band
keeps its own action, and a fill past both a block band and the sweep limit halts. It bounds one
order's own sweep, however stale the last trade price is.

Speed
-----
Levels are ``price -> deque`` of order ids, with the level's live total in a second dict; the
occupied prices of each side are a sorted list whose last element is the best price, so the best
prices are O(1) attributes. Per-order state is kept in lists indexed by order id since the last
compaction (older live orders in small dicts), and the book's attributes in slots. Cancels are
lazy: a cancelled id stays in its deque with zero remaining and is skipped when it reaches the
front (compaction removes it); a level whose total reaches zero is dropped from the price list at
once.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterator
from itertools import compress, count
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from market.exchange.trade_log import Trade as Trade
from market.exchange.trade_log import TradeLog as TradeLog
from market.exchange.trade_log import _as_trade, _TradeRow

BUY, SELL = 1, -1

# Sentinels that keep the hot path free of None checks: an empty ask side has best ask _NO_ASK
# (above any price), an empty bid side has best bid 0 (below any valid price).
_NO_ASK = 1 << 62
_NO_BID = 0
#: the highest price on the grid, in ticks: one below the empty-ask sentinel, so that no order can
#: rest where an empty side is signalled (every price is checked against it on entry)
MAX_TICKS = _NO_ASK - 1
#: the largest order quantity, in shares: every print's quantity then fits the int64 columns
MAX_QTY = MAX_TICKS

# Per-order state: the remaining quantity and an immutable tuple of side, price, owner,
# submitted, kind. For the orders since the last compaction they sit in two lists indexed by
# ``id - _info_base`` (``_rems``, ``_infos``: one append each per order, the cheapest store there
# is); for the older orders still live at the last compaction, in two small dicts (``_rem_old``,
# ``_info_old``). Beside them, dicts keyed by order id: ``_cxl`` (quantity cancelled when the
# order finished, only where nonzero) and ``_reduced`` (quantity removed by reduce()); filled is
# submitted - remaining - cancelled - reduced. Lists and dicts of ints and int-only tuples are
# untracked by the cyclic garbage collector, which keeps collections cheap. Every
# ``compact_every`` orders the finished orders are dropped (see OrderBook._compact): only a bit
# per order, "finished by a cancel", outlives them, so memory stays flat however long the run.
_SIDE, _PRICE, _OWNER, _SUBMITTED, _KIND = range(5)
_LIMIT, _MARKET, _IOC = 0, 1, 2
_KIND_NAMES = ("limit", "market", "ioc")
# One order's fixed facts, indexed by _SIDE, _PRICE, _OWNER, _SUBMITTED, _KIND. The price of a
# market order is None: such orders never rest, so no level code reads it.
_OrderInfo = tuple[int, int, int, int, int]
_BAND_MODES = ("halt", "block")
# Orders between two packings of the buffered prints into numpy columns. Packing converts every
# field of every print; a few thousand prints at a time are still in the processor's cache when
# they are converted, which makes packing about twice as fast as at every compaction (measured).
_PACK_EVERY = 8192
# A matching loop as a plain function: (book, order id, owner, limit price, qty) -> unfilled qty.
_Matcher = Callable[["OrderBook", int, int, int, int], int]


class OrderBookError(ValueError):
    """A message the book refuses (bad argument, unknown or finished order id)."""


class HaltedError(OrderBookError):
    """A market or IOC order sent while the book is halted."""


class OrderRecord(NamedTuple):
    """The accounting of one order: ``submitted == remaining + filled + cancelled``.

    ``price`` is in ticks (``None`` for market orders; the repriced price after a block-band
    repricing); ``kind`` is ``"limit"``, ``"market"`` or ``"ioc"``.
    """

    order_id: int
    owner: int
    side: int
    price: int | None
    kind: str
    submitted: int
    filled: int
    cancelled: int
    remaining: int
    status: str


def _as_whole(value: object, name: str, what: str, top: int | None = None) -> int:
    """A positive whole number (at most ``top`` if given) from an int, numpy integer or integral
    float, else OrderBookError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise OrderBookError(f"{name} must be {what}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, Integral):
        number = int(value)
    else:
        v = float(value)
        if not math.isfinite(v) or v != math.floor(v):
            raise OrderBookError(f"{name} must be {what}, got {value!r}")
        number = int(v)
    if number <= 0 or (top is not None and number > top):
        raise OrderBookError(f"{name} must be {what}, got {value!r}")
    return number


def _checked_side(side: object) -> int:
    if isinstance(side, bool) or not isinstance(side, Real) or side not in (1, -1):
        raise OrderBookError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
    # numbers.Real declares no __int__, but every real type that reaches here (int, float, numpy
    # scalars) has one.
    return int(side)  # type: ignore[call-overload,no-any-return]


def _checked_owner(owner: object) -> int:
    if isinstance(owner, bool) or not isinstance(owner, Integral):
        raise OrderBookError(f"owner must be an integer account id, got {owner!r}")
    return int(owner)


_PRICE_RULE = f"a positive integer number of ticks (on the tick grid) at most {MAX_TICKS}"


def _checked_price(price: object, name: str = "price") -> int:
    return _as_whole(price, name, _PRICE_RULE, MAX_TICKS)


def _checked_qty(qty: object) -> int:
    return _as_whole(qty, "qty", f"a positive whole number of shares at most {MAX_QTY}", MAX_QTY)


class OrderBook:
    """A price-time priority limit order book over integer ticks (see the module docstring)."""

    # Slots, not an instance dict: every message reads and writes a dozen attributes, and an
    # instance dict is only fast while it is a small key-sharing one (on CPython 3.11 fewer than
    # 30 names, and not once ``__dict__`` has been read); past that every access is a hash
    # lookup, about 3% of the book's throughput (measured). Slots keep each access a fixed offset
    # however many attributes the book has.
    __slots__ = (
        "_ask_keys",
        "_ask_qty",
        "_asks",
        "_ba",
        "_band_hit",
        "_bands",
        "_bb",
        "_bid_keys",
        "_bid_qty",
        "_bids",
        "_block_hi",
        "_block_lo",
        "_cancelled_bits",
        "_compact_at",
        "_compact_every",
        "_cxl",
        "_hi",
        "_housekeep_at",
        "_info_base",
        "_info_old",
        "_infos",
        "_lo",
        "_match_buy",
        "_match_sell",
        "_n_amends",
        "_next_id",
        "_reduced",
        "_rem_old",
        "_rems",
        "_sweep",
        "_sweep_cap",
        "_sweep_name",
        "auctions",
        "band_breach",
        "band_breach_names",
        "halt_reason",
        "halted",
        "halted_at",
        "keep_records",
        "now",
        "tick_size",
        "trades",
    )

    def __init__(
        self,
        tick_size: float | Real = 0.01,
        *,
        keep_records: bool = False,
        compact_every: int = 1 << 16,
    ) -> None:
        if (
            isinstance(tick_size, bool)
            or not isinstance(tick_size, Real)
            or not math.isfinite(tick_size)
            or tick_size <= 0
        ):
            raise OrderBookError(
                f"tick_size must be a positive finite currency amount, got {tick_size!r}"
            )
        self.tick_size = float(tick_size)
        self.now = 0.0
        self.trades = TradeLog()
        self.auctions: list[tuple[float, int, int]] = []
        self.halted = False
        self.halt_reason: str | None = None
        self.halted_at: float | None = None
        self.band_breach: int | None = None
        self._n_amends = 0  # accepted cancels and reduces; n_events adds the orders
        if not isinstance(keep_records, bool):
            raise OrderBookError(f"keep_records must be True or False, got {keep_records!r}")
        self.keep_records = keep_records
        self._compact_every = self._checked_count(compact_every, "compact_every", 1)
        self._compact_at = 1 + self._compact_every  # the order id that triggers a compaction
        # the order id that triggers the next packing of prints (or the compaction, if sooner)
        self._housekeep_at = min(1 + _PACK_EVERY, self._compact_at)
        # bit ``id`` set: a compacted order finished by a cancel (a clear bit: by a fill)
        self._cancelled_bits = bytearray()
        self._next_id = 1
        self._cxl: dict[int, int] = {}  # order id -> quantity cancelled when it finished (> 0)
        self._reduced: dict[int, int] = {}  # order id -> quantity removed by reduce()
        # The remaining quantity and record of every order from id _info_base on, in id order
        # (lists: an append or an indexed read is much cheaper than a dict insert or lookup; the
        # dicts cost the book about 15% of its throughput, measured), and of the older orders
        # that were live at the last compaction (few, so dicts).
        self._rems: list[int] = []
        self._infos: list[_OrderInfo] = []
        self._info_base = 1
        self._rem_old: dict[int, int] = {}
        self._info_old: dict[int, _OrderInfo] = {}
        # price -> deque of order ids in time priority. Deques are kept (emptied) when their level
        # empties, because thin books re-open the same levels constantly, until the next
        # compaction; a level is live exactly when its price is a key of the quantity dict.
        self._bids: dict[int, deque[int]] = {}
        self._asks: dict[int, deque[int]] = {}
        self._bid_qty: dict[int, int] = {}  # live level price -> total live quantity
        self._ask_qty: dict[int, int] = {}
        self._bid_keys: list[int] = []  # bid prices ascending: best bid is the last
        self._ask_keys: list[int] = []  # negated ask prices ascending: best ask is the last
        self._bb = _NO_BID
        self._ba = _NO_ASK
        self.band_breach_names: tuple[str, ...] = ()
        self._bands: dict[str, tuple[int | None, int | None, str]] = {}  # name -> (lo, hi, mode)
        self._block_lo = 0
        self._block_hi = _NO_ASK
        # combined bounds of both bands, so the hot path makes one comparison per price level
        self._lo = 0
        self._hi = _NO_ASK
        self._band_hit = 0  # set by the matching loops: 0 none, 1 halt band, 2 block band
        # The sweep limit: ticks beyond the touch met on arrival (0 = none), its name, and the
        # (lo, hi) it allows while one order is matching.
        self._sweep = 0
        self._sweep_name: str | None = None
        self._sweep_cap: tuple[int, int] | None = None
        # The functions that match an incoming buy / sell (called with the book first): the plain
        # loops, or their sweep-limited wrappers while a limit is armed, so the unarmed hot path
        # pays nothing for the feature. Plain functions, not bound methods: a bound method kept
        # on the book would make a reference cycle that only the cyclic collector frees.
        self._match_buy: _Matcher = OrderBook._take_asks
        self._match_sell: _Matcher = OrderBook._take_bids

    # ------------------------------------------------------------------ order entry
    def limit(self, owner: int, side: int, price: int, qty: int) -> int:
        """Submit a limit order; the marketable part trades now, the remainder rests.

        Returns the order id. While halted the whole order is held for the reopening auction.
        """
        if (
            type(qty) is not int
            or type(price) is not int
            or type(side) is not int
            or type(owner) is not int
            or not 0 < qty <= MAX_QTY
            or not 0 < price <= MAX_TICKS
            or (side != 1 and side != -1)
        ):
            owner, side, price, qty = (
                _checked_owner(owner),
                _checked_side(side),
                _checked_price(price),
                _checked_qty(qty),
            )
        oid = self._next_id
        if oid >= self._housekeep_at:
            self._housekeep()
        self._next_id = oid + 1
        rem = qty
        if side == 1:
            if price >= self._ba and not self.halted:
                rem = self._match_buy(self, oid, owner, price, qty)
                if self._band_hit:
                    if self._band_hit == 2:
                        rem, price = self._reprice(oid, 1, price, rem, owner, qty)
                    self._band_hit = 0
            self._infos.append((1, price, owner, qty, 0))
            self._rems.append(rem)
            if rem:
                bid_qty = self._bid_qty
                if price in bid_qty:
                    bid_qty[price] += rem
                    self._bids[price].append(oid)
                else:
                    bid_qty[price] = rem
                    level = self._bids.get(price)
                    if level is None:
                        self._bids[price] = deque((oid,))
                    else:
                        level.append(oid)
                    if price > self._bb:
                        self._bid_keys.append(price)
                        self._bb = price
                    else:
                        insort(self._bid_keys, price)
        else:
            if price <= self._bb and not self.halted:
                rem = self._match_sell(self, oid, owner, price, qty)
                if self._band_hit:
                    if self._band_hit == 2:
                        rem, price = self._reprice(oid, -1, price, rem, owner, qty)
                    self._band_hit = 0
            self._infos.append((-1, price, owner, qty, 0))
            self._rems.append(rem)
            if rem:
                ask_qty = self._ask_qty
                if price in ask_qty:
                    ask_qty[price] += rem
                    self._asks[price].append(oid)
                else:
                    ask_qty[price] = rem
                    level = self._asks.get(price)
                    if level is None:
                        self._asks[price] = deque((oid,))
                    else:
                        level.append(oid)
                    if price < self._ba:
                        self._ask_keys.append(-price)
                        self._ba = price
                    else:
                        insort(self._ask_keys, -price)
        return oid

    def _reprice(
        self, oid: int, side: int, price: int, rem: int, owner: int, qty: int
    ) -> tuple[int, int]:
        """The ``(remaining, price)`` a block band leaves a limit order's remainder: repriced to
        rest inside the band without crossing the book, or, when no such price exists on the grid
        (the opposite best sits on its first or last tick), cancelled at its own limit price."""
        if side == 1:
            new = min(price, self._block_hi, self._ba - 1)
        else:
            new = max(price, self._block_lo, self._bb + 1)
        if 0 < new <= MAX_TICKS:
            return rem, new
        self._cxl[oid] = rem
        return 0, price

    def market(self, owner: int, side: int, qty: int) -> int:
        """Submit a market order; whatever does not fill at once is cancelled (never rested)."""
        if (
            type(qty) is not int
            or type(side) is not int
            or type(owner) is not int
            or not 0 < qty <= MAX_QTY
            or (side != 1 and side != -1)
        ):
            owner, side, qty = _checked_owner(owner), _checked_side(side), _checked_qty(qty)
        if self.halted:
            raise HaltedError(f"market order refused: the book is halted ({self.halt_reason})")
        oid = self._next_id
        if oid >= self._housekeep_at:
            self._housekeep()
        self._next_id = oid + 1
        if side == 1:
            rem = self._match_buy(self, oid, owner, MAX_TICKS, qty)
        else:
            rem = self._match_sell(self, oid, owner, 1, qty)
        self._band_hit = 0
        if rem:
            self._cxl[oid] = rem
        self._infos.append((side, None, owner, qty, _MARKET))  # type: ignore[arg-type]
        self._rems.append(0)
        return oid

    def ioc(self, owner: int, side: int, price: int, qty: int) -> int:
        """Submit an immediate-or-cancel limit order; the unfilled remainder is cancelled."""
        if (
            type(qty) is not int
            or type(price) is not int
            or type(side) is not int
            or type(owner) is not int
            or not 0 < qty <= MAX_QTY
            or not 0 < price <= MAX_TICKS
            or (side != 1 and side != -1)
        ):
            owner, side, price, qty = (
                _checked_owner(owner),
                _checked_side(side),
                _checked_price(price),
                _checked_qty(qty),
            )
        if self.halted:
            raise HaltedError(f"IOC order refused: the book is halted ({self.halt_reason})")
        oid = self._next_id
        if oid >= self._housekeep_at:
            self._housekeep()
        self._next_id = oid + 1
        rem = qty
        if side == 1:
            if price >= self._ba:
                rem = self._match_buy(self, oid, owner, price, qty)
        elif price <= self._bb:
            rem = self._match_sell(self, oid, owner, price, qty)
        self._band_hit = 0
        if rem:
            self._cxl[oid] = rem
        self._infos.append((side, price, owner, qty, _IOC))
        self._rems.append(0)
        return oid

    def cancel(self, order_id: int) -> int:
        """Cancel a resting (or held) order; returns the quantity cancelled."""
        if type(order_id) is not int or not 0 < order_id < self._next_id:
            order_id = self._checked_id(order_id)
        i = order_id - self._info_base
        if i >= 0:
            rem = self._rems[i]
            if not rem:
                raise OrderBookError(self._finished_message(order_id))
            # the id stays in its level's queue with 0 remaining (a lazy cancel)
            self._rems[i] = 0
            side, price, _, _, _ = self._infos[i]
        else:
            rem = self._rem_old.get(order_id, 0)
            if not rem:
                raise OrderBookError(self._finished_message(order_id))
            self._rem_old[order_id] = 0
            side, price, _, _, _ = self._info_old[order_id]
        self._cxl[order_id] = rem
        if side == 1:
            left = self._bid_qty[price] - rem
            if left:
                self._bid_qty[price] = left
            else:
                self._drop_bid_level(price)
        else:
            left = self._ask_qty[price] - rem
            if left:
                self._ask_qty[price] = left
            else:
                self._drop_ask_level(price)
        self._n_amends += 1
        return rem

    def reduce(self, order_id: int, new_qty: int) -> None:
        """Reduce a resting order's remaining quantity to ``new_qty``, keeping its queue place.

        Requires ``0 < new_qty < remaining``; use :meth:`cancel` to remove an order entirely.
        """
        if type(order_id) is not int or not 0 < order_id < self._next_id:
            order_id = self._checked_id(order_id)
        rem = self._remaining(order_id)
        if not rem:
            raise OrderBookError(self._finished_message(order_id))
        if (
            isinstance(new_qty, bool)
            or not isinstance(new_qty, Real)
            or (
                not isinstance(new_qty, Integral)
                and not (math.isfinite(new_qty) and new_qty == math.floor(new_qty))
            )
            or not 0 < new_qty < rem
        ):
            raise OrderBookError(
                f"new_qty must be a whole number with 0 < new_qty < remaining ({rem}) "
                f"for order {order_id}, got {new_qty!r}"
            )
        new_qty = int(new_qty)
        cut = rem - new_qty
        self._set_remaining(order_id, new_qty)
        # reductions are kept apart from final cancels so that a reduced order that later fills
        # completely still reports "filled"
        self._reduced[order_id] = self._reduced.get(order_id, 0) + cut
        side, price, _, _, _ = self._live_info(order_id)
        if side == 1:
            self._bid_qty[price] -= cut
        else:
            self._ask_qty[price] -= cut
        self._n_amends += 1

    # ------------------------------------------------------------------ matching
    def _take_asks(self, oid: int, owner: int, limit: int, qty: int) -> int:
        """Match an incoming buy against asks priced <= ``limit``; returns the unfilled qty."""
        asks = self._asks
        ask_qty = self._ask_qty
        keys = self._ask_keys
        rems = self._rems
        infos = self._infos
        base = self._info_base
        append = self.trades._rows.append
        now = self.now
        while qty:
            p = self._ba
            if p > limit:
                break
            if p > self._hi or p < self._lo:
                self._band_stop(p)
                break
            level = asks[p]
            total = ask_qty[p]
            while qty:
                other = level[0]
                i = other - base
                if i >= 0:
                    avail = rems[i]
                    if not avail:  # lazily cancelled
                        level.popleft()
                        continue
                    if avail <= qty:
                        fill = avail
                        rems[i] = 0
                        level.popleft()
                    else:
                        fill = qty
                        rems[i] = avail - qty
                    resting_owner = infos[i][2]
                else:
                    fill = self._fill_old(level, other, qty)
                    if not fill:
                        continue
                    resting_owner = self._info_old[other][2]
                qty -= fill
                total -= fill
                append((now, p, fill, 1, oid, other, owner, resting_owner))
                if not total:
                    break
            if total:
                ask_qty[p] = total
            else:
                level.clear()
                del ask_qty[p]
                keys.pop()
                self._ba = -keys[-1] if keys else _NO_ASK
        return qty

    def _take_bids(self, oid: int, owner: int, limit: int, qty: int) -> int:
        """Match an incoming sell against bids priced >= ``limit``; returns the unfilled qty."""
        bids = self._bids
        bid_qty = self._bid_qty
        keys = self._bid_keys
        rems = self._rems
        infos = self._infos
        base = self._info_base
        append = self.trades._rows.append
        now = self.now
        while qty:
            p = self._bb
            if p < limit:
                break
            if p < self._lo or p > self._hi:
                self._band_stop(p)
                break
            level = bids[p]
            total = bid_qty[p]
            while qty:
                other = level[0]
                i = other - base
                if i >= 0:
                    avail = rems[i]
                    if not avail:  # lazily cancelled
                        level.popleft()
                        continue
                    if avail <= qty:
                        fill = avail
                        rems[i] = 0
                        level.popleft()
                    else:
                        fill = qty
                        rems[i] = avail - qty
                    resting_owner = infos[i][2]
                else:
                    fill = self._fill_old(level, other, qty)
                    if not fill:
                        continue
                    resting_owner = self._info_old[other][2]
                qty -= fill
                total -= fill
                append((now, p, fill, -1, oid, other, owner, resting_owner))
                if not total:
                    break
            if total:
                bid_qty[p] = total
            else:
                level.clear()
                del bid_qty[p]
                keys.pop()
                self._bb = keys[-1] if keys else _NO_BID
        return qty

    def _fill_old(self, level: deque[int], oid: int, qty: int) -> int:
        """Fill up to ``qty`` from ``oid``, the front of ``level`` and older than the last
        compaction; returns the fill. The id leaves the queue when it finishes, or at once with a
        fill of 0 when it was cancelled."""
        old = self._rem_old
        avail = old[oid]
        if avail <= qty:
            level.popleft()
            old[oid] = 0
            return avail
        old[oid] = avail - qty
        return qty

    # With a sweep limit armed these two replace _take_asks / _take_bids as the book's matchers
    # (see set_sweep_limit), so the matching loops pay nothing for it while it is off: the order's
    # bound narrows the combined band for the one call.
    # The cap is noted even when a band is at least as tight: a fill the band stops may lie past
    # the cap too, and then the sweep limit's halt must win over a block band (_band_stop).
    def _take_asks_swept(self, oid: int, owner: int, limit: int, qty: int) -> int:
        cap, hi = self._ba + self._sweep, self._hi
        self._hi, self._sweep_cap = min(cap, hi), (0, cap)
        try:
            return OrderBook._take_asks(self, oid, owner, limit, qty)
        finally:
            self._hi, self._sweep_cap = hi, None

    def _take_bids_swept(self, oid: int, owner: int, limit: int, qty: int) -> int:
        cap, lo = self._bb - self._sweep, self._lo
        self._lo, self._sweep_cap = max(cap, lo), (cap, _NO_ASK)
        try:
            return OrderBook._take_bids(self, oid, owner, limit, qty)
        finally:
            self._lo, self._sweep_cap = lo, None

    def _band_stop(self, price: int) -> None:
        """A fill at ``price`` would leave a band or the sweep limit: note which, halting if any
        halt band (the sweep limit is one) is hit."""
        self.band_breach = price
        hit = {
            mode: tuple(
                name
                for name, (lo, hi, m) in self._bands.items()
                if m == mode
                and ((lo is not None and price < lo) or (hi is not None and price > hi))
            )
            for mode in _BAND_MODES
        }
        cap = self._sweep_cap
        if cap is not None and not cap[0] <= price <= cap[1]:
            # a cap exists only while a limit is armed, and arming always names it
            hit["halt"] += (self._sweep_name,)  # type: ignore[operator]
        if hit["halt"]:
            self.band_breach_names = hit["halt"]
            self._band_hit = 1
            self.halted = True
            self.halt_reason = "band"
            self.halted_at = self.now
        else:
            self.band_breach_names = hit["block"]
            self._band_hit = 2

    # ------------------------------------------------------------------ level upkeep
    def _drop_bid_level(self, price: int) -> None:
        self._bids[price].clear()
        del self._bid_qty[price]
        keys = self._bid_keys
        if price == keys[-1]:
            keys.pop()
            self._bb = keys[-1] if keys else _NO_BID
        else:
            del keys[bisect_left(keys, price)]

    def _drop_ask_level(self, price: int) -> None:
        self._asks[price].clear()
        del self._ask_qty[price]
        keys = self._ask_keys
        if -price == keys[-1]:
            keys.pop()
            self._ba = -keys[-1] if keys else _NO_ASK
        else:
            del keys[bisect_left(keys, -price)]

    # ------------------------------------------------------------------ compaction
    def _housekeep(self) -> None:
        """Pack the prints into numpy columns every ``_PACK_EVERY`` orders, and compact every
        ``compact_every`` orders; runs between messages."""
        if self._next_id >= self._compact_at:
            self._compact()
        else:
            self.trades._pack()
        self._housekeep_at = min(self._next_id + _PACK_EVERY, self._compact_at)

    def _compact(self) -> None:
        """Drop what finished orders left behind, and move the prints into numpy columns.

        Runs every ``compact_every`` orders, between messages, and changes nothing observable:
        lazily cancelled ids leave their queues (they would be skipped anyway), the queues of
        empty levels go, and each finished order keeps only its "finished by a cancel" bit (with
        ``keep_records=True`` its whole record stays). The cost is linear in the orders since the
        previous compaction plus the book's size, so it adds O(1) per order.
        """
        remaining = self._remaining
        for levels, totals in ((self._bids, self._bid_qty), (self._asks, self._ask_qty)):
            for price in [p for p in levels if p not in totals]:
                del levels[price]
            for level in levels.values():
                if not all(map(remaining, level)):
                    kept = [oid for oid in level if remaining(oid)]
                    level.clear()
                    level.extend(kept)
        if not self.keep_records:
            bits = self._cancelled_bits
            bits.extend(bytes((self._next_id >> 3) + 1 - len(bits)))
            if self._cxl:
                ids = np.fromiter(self._cxl, np.int64, len(self._cxl))
                view = np.frombuffer(bits, np.uint8)
                np.bitwise_or.at(view, ids >> 3, np.left_shift(1, ids & 7).astype(np.uint8))
                del view  # the bytearray cannot grow while a view of it exists
            base, rems = self._info_base, self._rems
            live = {oid: q for oid, q in self._rem_old.items() if q}
            for oid in compress(count(base), rems):  # the live orders of the window
                live[oid] = rems[oid - base]
            info = self._live_info
            self._info_old = {oid: info(oid) for oid in live}
            self._rem_old = live
            self._rems = []
            self._infos = []
            self._info_base = self._next_id
            self._cxl = {}
            self._reduced = {oid: q for oid, q in self._reduced.items() if oid in live}
        self._compact_at = self._next_id + self._compact_every
        self.trades._pack()

    # ------------------------------------------------------------------ ids and records
    def _checked_id(self, order_id: object) -> int:
        if isinstance(order_id, bool) or not isinstance(order_id, Integral):
            raise OrderBookError(f"order_id must be an integer order id, got {order_id!r}")
        order_id = int(order_id)
        if not 0 < order_id < self._next_id:
            raise OrderBookError(
                f"unknown order id {order_id}: ids issued so far are 1..{self._next_id - 1}"
            )
        return order_id

    def _live_info(self, order_id: int) -> _OrderInfo:
        """The fixed facts of an order that is live, or was when the book last compacted."""
        base = self._info_base
        return self._infos[order_id - base] if order_id >= base else self._info_old[order_id]

    def _remaining(self, order_id: int) -> int:
        """Quantity still resting for an issued order id (0 once finished)."""
        i = order_id - self._info_base
        if i >= 0:
            return self._rems[i]
        return self._rem_old.get(order_id, 0)

    def _set_remaining(self, order_id: int, qty: int) -> None:
        """Set the remaining quantity of a live order."""
        i = order_id - self._info_base
        if i >= 0:
            self._rems[i] = qty
        else:
            self._rem_old[order_id] = qty

    def _record(self, order_id: int) -> _OrderInfo | None:
        """The fixed facts of an order, or None once compaction has dropped them."""
        index = order_id - self._info_base
        if index >= 0:
            return self._infos[index]
        return self._info_old.get(order_id)

    def _status(self, order_id: int) -> str:
        if self._remaining(order_id):
            return "resting"
        if order_id in self._cxl:
            return "cancelled"
        if self._record(order_id) is not None:
            return "filled"
        bits = self._cancelled_bits
        return "cancelled" if bits[order_id >> 3] >> (order_id & 7) & 1 else "filled"

    def _finished_message(self, order_id: int) -> str:
        return f"order {order_id} is already {self._status(order_id)}"

    def remaining(self, order_id: int) -> int:
        """Quantity still resting (or held) for this order; 0 once it is finished."""
        return self._remaining(self._checked_id(order_id))

    def order_record(self, order_id: int) -> OrderRecord:
        """The full accounting of one order: a live one, or a finished one whose record is still
        kept (always with ``keep_records=True``, else until the next compaction)."""
        order_id = self._checked_id(order_id)
        info = self._record(order_id)
        if info is None:
            raise OrderBookError(
                self._finished_message(order_id) + "; the records of finished orders are "
                "dropped (OrderBook(keep_records=True) keeps them)"
            )
        side, price, owner, submitted, kind = info
        rem = self._remaining(order_id)
        cxl = self._cxl.get(order_id, 0) + self._reduced.get(order_id, 0)
        return OrderRecord(
            order_id,
            owner,
            side,
            price,
            _KIND_NAMES[kind],
            submitted,
            submitted - rem - cxl,
            cxl,
            rem,
            self._status(order_id),
        )

    @property
    def n_orders(self) -> int:
        """Number of orders accepted so far (the highest order id)."""
        return self._next_id - 1

    @property
    def n_events(self) -> int:
        """Messages processed: accepted limit/market/IOC orders, cancels and reduces."""
        return self._next_id - 1 + self._n_amends

    @property
    def n_held_orders(self) -> int:
        """Orders whose full record the book holds now: the live ones, the finished ones since
        the last compaction, and with ``keep_records=True`` every finished one."""
        return len(self._infos) + len(self._info_old)

    # ------------------------------------------------------------------ queries
    @property
    def best_bid(self) -> int | None:
        """Highest resting bid in ticks, or None when the bid side is empty."""
        return self._bb if self._bb != _NO_BID else None

    @property
    def best_ask(self) -> int | None:
        """Lowest resting ask in ticks, or None when the ask side is empty."""
        return self._ba if self._ba != _NO_ASK else None

    @property
    def spread(self) -> int | None:
        """Best ask minus best bid in ticks (negative only while halted and crossed)."""
        if self._bb == _NO_BID or self._ba == _NO_ASK:
            return None
        return self._ba - self._bb

    @property
    def mid(self) -> float | None:
        """Midpoint of the best bid and ask in ticks, or None when a side is empty."""
        if self._bb == _NO_BID or self._ba == _NO_ASK:
            return None
        return (self._ba + self._bb) / 2

    @property
    def last_trade(self) -> Trade | None:
        """The most recent print, or None before the first trade."""
        return self.trades[-1] if len(self.trades) else None

    @staticmethod
    def _checked_count(value: object, name: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
            raise OrderBookError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return int(value)

    def depth(self, levels: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The top ``levels`` price levels per side as ``(price ticks, total qty)``, best first."""
        levels = self._checked_count(levels, "levels", 1)
        bids = [(p, self._bid_qty[p]) for p in self._bid_keys[: -levels - 1 : -1]]
        asks = [(-k, self._ask_qty[-k]) for k in self._ask_keys[: -levels - 1 : -1]]
        return bids, asks

    def size_within(self, side: int, k: int) -> int:
        """Resting quantity on ``side`` priced within ``k`` ticks of that side's best price.

        ``k = 0`` is the size at the touch; an empty side gives 0.
        """
        side = _checked_side(side)
        k = self._checked_count(k, "k", 0)
        total = 0
        if side == 1:
            floor = self._bb - k
            for p in reversed(self._bid_keys):
                if p < floor:
                    break
                total += self._bid_qty[p]
        else:
            cap = self._ba + k
            for key in reversed(self._ask_keys):
                if -key > cap:
                    break
                total += self._ask_qty[-key]
        return total

    def queue_position(self, order_id: int) -> int:
        """Quantity resting ahead of this order at its price level (0 at the front)."""
        order_id = self._checked_id(order_id)
        if not self._remaining(order_id):
            raise OrderBookError(self._finished_message(order_id) + "; it has no queue position")
        side, price = self._live_info(order_id)[:2]
        level = (self._bids if side == 1 else self._asks)[price]
        ahead = 0
        for other in level:
            if other == order_id:
                break
            ahead += self._remaining(other)
        return ahead

    def level_orders(self, side: int, price: int) -> list[int]:
        """Ids of the live orders at one price level, in time priority (front first)."""
        side = _checked_side(side)
        price = _checked_price(price)
        level = (self._bids if side == 1 else self._asks).get(price, ())
        return [oid for oid in level if self._remaining(oid)]

    def band(self, mode: str, name: str | None = None) -> tuple[int | None, int | None]:
        """The armed ``(lo, hi)`` in ticks of one named band, or with ``name=None`` the
        intersection of every band of ``mode``; ``None`` marks an unbounded side."""
        if mode not in _BAND_MODES:
            raise OrderBookError(f"mode must be 'halt' or 'block', got {mode!r}")
        if name is not None:
            lo, hi, armed_mode = self._bands.get(name, (None, None, mode))
            return (lo, hi) if armed_mode == mode else (None, None)
        los = [lo for lo, _, m in self._bands.values() if m == mode and lo is not None]
        his = [hi for _, hi, m in self._bands.values() if m == mode and hi is not None]
        return (max(los) if los else None, min(his) if his else None)

    @property
    def bands(self) -> dict[str, tuple[int | None, int | None, str]]:
        """Every armed band: ``name -> (lo, hi, mode)``."""
        return dict(self._bands)

    # ------------------------------------------------------------------ halts and bands
    def halt(self, reason: str) -> None:
        """Stop continuous trading; limit orders are held, market/IOC orders refused.

        If the book is already halted only the reason changes (``halted_at`` is kept).
        """
        if not isinstance(reason, str) or not reason:
            raise OrderBookError(f"reason must be a non-empty string, got {reason!r}")
        if not self.halted:
            self.halted = True
            self.halted_at = self.now
        self.halt_reason = reason

    def reopen(self) -> list[Trade]:
        """Run the single-price reopening auction, then resume continuous trading.

        Returns the auction's prints (empty if the book was not crossed). Raises
        :class:`OrderBookError` if the book is not halted.
        """
        if not self.halted:
            raise OrderBookError("reopen() needs a halted book; the book is trading")
        prints: list[Trade] = []
        if self._bb != _NO_BID and self._ba != _NO_ASK and self._bb >= self._ba:
            price, volume = self.auction_price()
            prints = self._execute_auction(price, volume)
            self.auctions.append((self.now, price, volume))
        self.halted = False
        self.halt_reason = None
        self.halted_at = None
        return prints

    def auction_price(self) -> tuple[int, int]:
        """The reopening auction's ``(price ticks, volume)`` if the book reopened now.

        ``(0, 0)`` when the book is not crossed (no auction volume). Read-only.
        """
        low, high = self._ba, self._bb
        if low == _NO_ASK or high == _NO_BID or high < low:
            return 0, 0
        bid_levels = [p for p in self._bid_keys if p >= low]  # ascending
        ask_levels = [-k for k in reversed(self._ask_keys) if -k <= high]  # ascending
        points = sorted(set(bid_levels) | set(ask_levels))
        # demand(p) counts bids at >= p, supply(p) asks at <= p
        demand_at: dict[int, int] = {}
        running = 0
        for p in reversed(points):
            running += self._bid_qty.get(p, 0)
            demand_at[p] = running
        supply_at: dict[int, int] = {}
        running = 0
        for p in points:
            running += self._ask_qty.get(p, 0)
            supply_at[p] = running
        # candidate segments [a, b]: every book price, and every gap strictly between two of them
        # (inside a gap demand equals demand at its upper end and supply at its lower end)
        segments: list[tuple[int, int, int, int]] = []
        for i, p in enumerate(points):
            segments.append((p, p, demand_at[p], supply_at[p]))
            if i + 1 < len(points) and points[i + 1] - p >= 2:
                segments.append((p + 1, points[i + 1] - 1, demand_at[points[i + 1]], supply_at[p]))
        ref = self.trades[-1].price if len(self.trades) else None

        def rank(segment: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            a, b, demand, supply = segment
            distance = 0 if ref is None else max(a - ref, ref - b, 0)
            return (-min(demand, supply), abs(demand - supply), distance, a)

        a, b, demand, supply = min(segments, key=rank)
        price = a if ref is None else min(max(ref, a), b)
        return price, min(demand, supply)

    def _execute_auction(self, price: int, volume: int) -> list[Trade]:
        remaining = self._remaining
        info = self._live_info

        def queue(levels: dict[int, deque[int]], prices: list[int]) -> Iterator[int]:
            for p in prices:
                for oid in levels[p]:
                    if remaining(oid):
                        yield oid

        bids = queue(self._bids, [p for p in reversed(self._bid_keys) if p >= price])
        asks = queue(self._asks, [-k for k in reversed(self._ask_keys) if -k <= price])
        now = self.now
        prints: list[_TradeRow] = []
        # bid levels, ask levels: price -> quantity executed there
        filled_at: tuple[dict[int, int], dict[int, int]] = ({}, {})
        bid = next(bids)
        ask = next(asks)
        left = volume
        while left:
            if not remaining(bid):
                bid = next(bids)
            if not remaining(ask):
                ask = next(asks)
            fill = min(remaining(bid), remaining(ask), left)
            for oid, touched in ((bid, filled_at[0]), (ask, filled_at[1])):
                self._set_remaining(oid, remaining(oid) - fill)
                level_price = info(oid)[_PRICE]
                touched[level_price] = touched.get(level_price, 0) + fill
            late, early = (bid, ask) if bid > ask else (ask, bid)
            prints.append(
                (
                    now,
                    price,
                    fill,
                    info(late)[_SIDE],
                    late,
                    early,
                    info(late)[_OWNER],
                    info(early)[_OWNER],
                )
            )
            left -= fill
        for levels, totals, touched, drop in (
            (self._bids, self._bid_qty, filled_at[0], self._drop_bid_level),
            (self._asks, self._ask_qty, filled_at[1], self._drop_ask_level),
        ):
            for p, filled in touched.items():
                left_qty = totals[p] - filled
                if left_qty:
                    totals[p] = left_qty
                    level = levels[p]
                    while not remaining(level[0]):
                        level.popleft()
                else:
                    drop(p)
        self.trades._rows.extend(prints)
        return list(map(_as_trade, prints))

    def set_sweep_limit(self, ticks: int | None, name: str = "sweep") -> None:
        """Arm (or with ``ticks=None`` clear) the sweep limit: an incoming order may trade at most
        ``ticks`` (a positive integer) beyond the opposite best price it met on arrival; a fill
        further away halts the book, with ``name`` in ``band_breach_names``."""
        if ticks is None:
            self._sweep, self._sweep_name = 0, None
            self._match_buy, self._match_sell = OrderBook._take_asks, OrderBook._take_bids
            return
        ticks = _as_whole(ticks, "ticks", "None or a positive integer number of ticks")
        if not isinstance(name, str) or not name:
            raise OrderBookError(f"name must be a non-empty string, got {name!r}")
        self._sweep, self._sweep_name = ticks, name
        self._match_buy = OrderBook._take_asks_swept
        self._match_sell = OrderBook._take_bids_swept

    @property
    def sweep_limit(self) -> tuple[int | None, str | None]:
        """``(ticks, name)`` of the armed sweep limit, ``(None, None)`` when there is none."""
        return (self._sweep or None, self._sweep_name)

    def set_band(self, lo: int | None, hi: int | None, mode: str, name: str | None = None) -> None:
        """Arm (or with ``lo = hi = None`` clear) a price band of ``mode`` ("halt" or "block").

        ``lo``/``hi`` are integer ticks, ``None`` meaning unbounded on that side, ``lo <= hi``.
        ``name`` (default: the mode) lets several rules keep their own band; a fill is checked
        against every armed band, and ``band_breach_names`` tells whose band stopped it.
        """
        if mode not in _BAND_MODES:
            raise OrderBookError(f"mode must be 'halt' or 'block', got {mode!r}")
        rule = f"None or a positive integer tick at most {MAX_TICKS}"
        lo = None if lo is None else _as_whole(lo, "lo", rule, MAX_TICKS)
        hi = None if hi is None else _as_whole(hi, "hi", rule, MAX_TICKS)
        if lo is not None and hi is not None and lo > hi:
            raise OrderBookError(f"band needs lo <= hi, got lo={lo}, hi={hi}")
        if name is None:
            name = mode
        elif not isinstance(name, str) or not name:
            raise OrderBookError(f"name must be None or a non-empty string, got {name!r}")
        if lo is None and hi is None:
            self._bands.pop(name, None)
        else:
            self._bands[name] = (lo, hi, mode)
        block_lo, block_hi = self.band("block")
        self._block_lo = 0 if block_lo is None else block_lo
        self._block_hi = _NO_ASK if block_hi is None else block_hi
        los = [lo for lo, _, _ in self._bands.values() if lo is not None]
        his = [hi for _, hi, _ in self._bands.values() if hi is not None]
        self._lo = max(los) if los else 0
        self._hi = min(his) if his else _NO_ASK
