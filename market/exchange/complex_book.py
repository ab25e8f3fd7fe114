"""The complex order book: multi-leg option strategies traded as one package.

Conventions: side ``+1`` buys the package, ``-1`` sells it. A :class:`Strategy` holds legs
``(contract, ratio)``; buying ``q`` packages buys ``q * r`` contracts of each leg with ``r > 0``
and sells ``q * |r|`` of each leg with ``r < 0``. Net prices are integer ticks of the leg books,
``net = sum_j r_j * p_j`` (negative when the package pays its buyer); quantities of complex orders
are packages, of leg orders contracts. Owners are opaque integers, as in the leg books.

The book routes each leg through a :class:`LegVenue` (the options venue: one order book per
series and a shared event counter). An incoming complex order goes, in order, to

1. **a one-step auction (COA)**, when enabled and the order is marketable or within
   ``coa_buffer_ticks`` of the derived (implied-in) best bid and offer of its strategy: every
   registered :class:`PackageResponder` may answer with package quotes; the best prices fill
   first and equal prices share pro rata, remainders going one package each to quotes drawn by
   the book's seeded generator;
2. **resting contra complex orders** of the same strategy, price then time priority, at the
   resting order's price, or the nearest price inside the derived quote when the resting price
   lies outside it (leg prices must lie inside the leg quotes);
3. **leg-in**: only if the whole remaining quantity can be filled in the leg books (within
   ``leg_in_levels`` price levels of each leg's touch) at a net price within the limit; every leg
   is checked first, then one IOC goes to each leg;
4. the rest **rests** (``tif="day"``) or is cancelled (``tif="ioc"``).

Package trades of routes 1 and 2 print every leg off-book through ``LegVenue.cross`` with one
package id. Leg prices settle the net price exactly, each inside its leg's best bid and offer at
the time and at least one tick (:func:`market.exchange.leg_allocation.allocate_leg_prices`); a leg
with an empty side gives no allocation, and without an allocation there is no trade. A package
trade first takes its own sequence number from the venue's shared counter and its leg prints take
the next ones, so one package is one consecutive range ``seq .. seq + n_legs`` (the venue numbers
each print as it is made, and nothing else runs in between).

Implied liquidity only ever meets real orders: the derived quote is built from the leg books and
is never posted back into them (no implied-out orders), so implied cannot trade against implied.

Resting orders are re-checked when a leg's top changes (:meth:`ComplexOrderBook.on_leg_top_changed`,
called by the venue's owner): crossed resting orders of one strategy trade with each other, then
each resting order legs in if it now can. Only strategies with resting orders are looked at. A
notice that arrives while the book is itself trading is queued and handled when it is done.

While the venue is halted (or any leg book of the strategy is), submissions are refused: ``submit``
returns ``None`` and the refusal is counted by reason; nothing is re-checked. Malformed input
raises :class:`ComplexOrderError` naming the argument before anything changes (a responder's
malformed quote too, before any package of that auction trades).
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import count
from typing import NamedTuple, Protocol

import numpy as np

from market.exchange.leg_allocation import DerivedBBO, LegTop, allocate_leg_prices, net_quote
from market.exchange.venue import BookView

BUY, SELL = 1, -1
MIN_LEGS, MAX_LEGS = 2, 4
#: the largest |ratio| of a normalised strategy, and the largest max/min |ratio|
MAX_RATIO = 3
#: the largest complex order, in packages, and the largest |net price|, in ticks
MAX_PACKAGES = 1 << 40
MAX_NET_TICKS = 1 << 40
TIFS = ("day", "ioc")
ROUTES = ("coa", "contra", "legged")


class ComplexOrderError(ValueError):
    """A complex order, strategy or quote the book refuses (names the argument and range)."""


class LegInError(RuntimeError):
    """A leg IOC filled short after every leg was checked: the venue changed under the book."""


def _whole(value: object, name: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]`` (numpy integers accepted), else ComplexOrderError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ComplexOrderError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ComplexOrderError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _normalise(legs: Iterable[tuple[int, int]]) -> tuple[tuple[tuple[int, int], ...], int]:
    """Normal legs (sorted by contract, ratios over their gcd, first ratio positive) and the sign
    that maps the given legs onto them (+1 same package, -1 its reverse)."""
    pairs = tuple(legs)
    if not MIN_LEGS <= len(pairs) <= MAX_LEGS:
        raise ComplexOrderError(
            f"legs must hold {MIN_LEGS} to {MAX_LEGS} (contract, ratio) pairs, got {len(pairs)}"
        )
    checked = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ComplexOrderError(f"each leg must be a (contract, ratio) pair, got {pair!r}")
        contract = _whole(pair[0], "leg contract", 0, (1 << 62) - 1)
        ratio = _whole(pair[1], "leg ratio", -MAX_PACKAGES, MAX_PACKAGES)
        if ratio == 0:
            raise ComplexOrderError(f"leg ratio must be nonzero, got 0 for contract {contract}")
        checked.append((contract, ratio))
    contracts = [c for c, _ in checked]
    if len(set(contracts)) != len(contracts):
        raise ComplexOrderError(f"legs must name distinct contracts, got {contracts}")
    checked.sort()
    divisor = math.gcd(*(r for _, r in checked))
    sign = 1 if checked[0][1] > 0 else -1
    normal = tuple((c, sign * r // divisor) for c, r in checked)
    sizes = [abs(r) for _, r in normal]
    if max(sizes) > MAX_RATIO or max(sizes) > MAX_RATIO * min(sizes):
        raise ComplexOrderError(
            f"leg ratios (normalised) must have |ratio| in [1, {MAX_RATIO}] and max/min |ratio| "
            f"<= {MAX_RATIO}, got {[r for _, r in normal]}"
        )
    return normal, sign


class Strategy:
    """A normalised multi-leg strategy: 2 to 4 legs ``(contract, ratio)`` sorted by contract,
    ratios divided by their gcd, the first ratio positive, |ratio| <= 3 and max/min |ratio| <= 3.

    ``Strategy(legs)`` normalises any orientation; :meth:`oriented` also says whether the given
    legs were reversed (then an order for them is the opposite side at the negated net price).
    Strategies with the same normal legs are equal and hash equal.
    """

    __slots__ = ("_legs",)

    def __init__(self, legs: Iterable[tuple[int, int]]) -> None:
        self._legs, _ = _normalise(legs)

    @classmethod
    def oriented(cls, legs: Iterable[tuple[int, int]]) -> tuple[Strategy, int]:
        """The strategy and the sign (+1, or -1 when ``legs`` are its reverse) to apply to an
        order's side and net price."""
        pairs = tuple(legs)
        _, sign = _normalise(pairs)
        return cls(pairs), sign

    @property
    def legs(self) -> tuple[tuple[int, int], ...]:
        return self._legs

    @property
    def contracts(self) -> tuple[int, ...]:
        return tuple(c for c, _ in self._legs)

    @property
    def ratios(self) -> tuple[int, ...]:
        return tuple(r for _, r in self._legs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Strategy) and other._legs == self._legs

    def __hash__(self) -> int:
        return hash(self._legs)

    def __repr__(self) -> str:
        return f"Strategy({list(self._legs)!r})"


class PackageQuote(NamedTuple):
    """A responder's answer in an auction: ``qty`` packages at net ``price`` ticks for ``owner``,
    on the side opposite the incoming order."""

    owner: int
    price: int
    qty: int


class PackageResponder(Protocol):
    """Answers an auction for ``qty`` packages of ``strategy`` that an order of ``side`` (the
    incoming order's side) started, given the strategy's derived best bid and offer."""

    def __call__(
        self, strategy: Strategy, side: int, qty: int, bbo: DerivedBBO
    ) -> Iterable[PackageQuote]: ...


class LegVenue(Protocol):
    """What the complex book uses of the options venue (one order book per listed series)."""

    @property
    def halted(self) -> bool: ...

    def view(self, contract: int) -> BookView: ...

    def ioc(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
        """Filled quantity in contracts, ``None`` if the order was refused."""
        ...

    def cross(
        self, contract: int, buyer: int, seller: int, qty: int, price: int, package_id: int = 0
    ) -> object:
        """Print an off-book leg trade (taking the next sequence number)."""
        ...

    def next_seq(self) -> int:
        """Take the next number of the shared event counter."""
        ...


class PackageTrade(NamedTuple):
    """One package trade of route ``"coa"`` or ``"contra"``: ``qty`` packages at ``net_price``
    ticks, leg prices in ticks in the strategy's leg order; ``seq`` is the package's own number,
    its leg prints are ``seq + 1 .. seq + n_legs``."""

    package_id: int
    strategy: Strategy
    route: str
    buyer: int
    seller: int
    qty: int
    net_price: int
    leg_prices: tuple[int, ...]
    seq: int


class SubmitResult(NamedTuple):
    """What a submitted complex order did: packages filled at once, its id if it rests (else
    ``None``), and the sequence number it was accepted at."""

    filled: int
    order_id: int | None
    seq: int


@dataclass(slots=True)
class _ComplexOrder:
    order_id: int
    owner: int
    strategy: Strategy
    side: int
    limit: int
    qty: int
    seq: int
    remaining: int
    cancelled: int = 0
    resting: bool = False

    @property
    def filled(self) -> int:
        return self.qty - self.remaining - self.cancelled

    def crosses(self, price: int) -> bool:
        """Whether this order may trade at net ``price`` (a buy at or below, a sell at or above)."""
        return self.side * (self.limit - price) >= 0


def _priority(order: _ComplexOrder) -> tuple[int, int]:
    """Price then time: best price first (highest bid, lowest ask), then earliest arrival."""
    return (-order.side * order.limit, order.seq)


class _StrategyBook:
    """The resting complex orders of one strategy, each side in priority order."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: list[_ComplexOrder] = []
        self.asks: list[_ComplexOrder] = []

    def side(self, side: int) -> list[_ComplexOrder]:
        return self.bids if side == BUY else self.asks

    def add(self, order: _ComplexOrder) -> None:
        insort(self.side(order.side), order, key=_priority)

    def remove(self, order: _ComplexOrder) -> None:
        self.side(order.side).remove(order)

    def __bool__(self) -> bool:
        return bool(self.bids or self.asks)


def split_pro_rata(sizes: list[int], qty: int, rng: np.random.Generator) -> list[int]:
    """Share ``qty`` over quotes of ``sizes`` in proportion, rounding down; the packages left by
    rounding go one each to quotes drawn at random (each then still within its size)."""
    total = sum(sizes)
    if qty >= total:
        return list(sizes)
    shares = [qty * s // total for s in sizes]
    left = qty - sum(shares)
    # fewer packages are left than quotes, and rounding down left room in every quote
    for i in rng.permutation(len(sizes))[:left]:
        shares[int(i)] += 1
    return shares


class ComplexOrderBook:
    """Complex orders of every strategy over the leg books of ``venue`` (see the module docstring).

    ``rng`` breaks ties between auction quotes. ``coa`` switches the auction on;
    ``coa_buffer_ticks`` is how far (net ticks) an order's limit may be short of the derived
    contra price and still start one. ``leg_in_levels`` is how many price levels of each leg book
    a leg-in may reach (1: only the touch). ``on_package`` is handed every package trade.
    """

    def __init__(
        self,
        venue: LegVenue,
        rng: np.random.Generator,
        *,
        coa: bool = True,
        coa_buffer_ticks: int = 0,
        leg_in_levels: int = 1,
        on_package: Callable[[PackageTrade], None] | None = None,
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ComplexOrderError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        self.coa_buffer_ticks = _whole(coa_buffer_ticks, "coa_buffer_ticks", 0, MAX_NET_TICKS)
        self.leg_in_levels = _whole(leg_in_levels, "leg_in_levels", 1, 1000)
        self.venue = venue
        self.rng = rng
        self.coa = bool(coa)
        self.on_package = on_package
        self.packages: list[PackageTrade] = []
        #: packages traded per route ("coa", "contra", "legged")
        self.packages_by_route = dict.fromkeys(ROUTES, 0)
        #: submissions refused, per reason ("halted": the venue, "leg_halted": a leg book)
        self.refusals = {"halted": 0, "leg_halted": 0}
        #: package trades passed over because no leg prices settle their net price
        self.n_no_allocation = 0
        self._responders: list[PackageResponder] = []
        self._orders: dict[int, _ComplexOrder] = {}
        self._books: dict[Strategy, _StrategyBook] = {}
        # contract -> the strategies with resting orders that use it (insertion-ordered)
        self._watch: dict[int, dict[Strategy, None]] = {}
        self._order_ids = count(1)
        self._package_ids = count(1)
        self._pending: dict[int, None] = {}
        self._busy = False

    def add_responder(self, responder: PackageResponder) -> None:
        """Register a responder that every auction asks for package quotes."""
        if not callable(responder):
            raise ComplexOrderError(f"responder must be callable, got {responder!r}")
        self._responders.append(responder)

    # ---- reading -------------------------------------------------------------------------

    def derived_bbo(self, strategy: Strategy) -> DerivedBBO:
        """The strategy's net best bid and offer implied by its legs' tops (None: empty side)."""
        tops = []
        for contract in strategy.contracts:
            view = self.venue.view(contract)
            bid, ask = view.best_bid, view.best_ask
            tops.append(
                LegTop(
                    bid,
                    0 if bid is None else view.size_within(BUY, 0),
                    ask,
                    0 if ask is None else view.size_within(SELL, 0),
                )
            )
        return net_quote(strategy.ratios, tops)

    def remaining(self, order_id: int) -> int:
        """Packages of ``order_id`` still resting (0 once filled or cancelled)."""
        return self._order(order_id).remaining

    def filled(self, order_id: int) -> int:
        """Packages of ``order_id`` filled so far, by any route."""
        return self._order(order_id).filled

    def resting_orders(self, strategy: Strategy, side: int) -> list[tuple[int, int, int]]:
        """``(order id, net limit, remaining)`` of the resting orders on one side of a
        strategy, in priority order."""
        book = self._books.get(strategy)
        return [] if book is None else [(o.order_id, o.limit, o.remaining) for o in book.side(side)]

    def _order(self, order_id: int) -> _ComplexOrder:
        oid = _whole(order_id, "order_id", 1, (1 << 62) - 1)
        order = self._orders.get(oid)
        if order is None:
            raise ComplexOrderError(f"unknown complex order id {oid}")
        return order

    # ---- messages ------------------------------------------------------------------------

    def submit(
        self,
        owner: int,
        strategy: Strategy,
        side: int,
        net_limit: int,
        qty: int,
        tif: str = "day",
    ) -> SubmitResult | None:
        """Submit a complex order for ``qty`` packages at net limit ``net_limit`` ticks; returns
        what it did, or ``None`` when refused because the venue or a leg book is halted."""
        owner = _whole(owner, "owner", 0, (1 << 62) - 1)
        if not isinstance(strategy, Strategy):
            raise ComplexOrderError(f"strategy must be a Strategy, got {strategy!r}")
        side = _whole(side, "side (+1 buy, -1 sell)", SELL, BUY)
        if side == 0:
            raise ComplexOrderError("side must be +1 (buy) or -1 (sell), got 0")
        net_limit = _whole(net_limit, "net_limit", -MAX_NET_TICKS, MAX_NET_TICKS)
        qty = _whole(qty, "qty", 1, MAX_PACKAGES)
        if tif not in TIFS:
            raise ComplexOrderError(f"tif must be one of {TIFS}, got {tif!r}")
        views = [self.venue.view(c) for c in strategy.contracts]
        if self.venue.halted:
            self.refusals["halted"] += 1
            return None
        if any(v.halted for v in views):
            self.refusals["leg_halted"] += 1
            return None
        seq = self.venue.next_seq()
        order = _ComplexOrder(
            next(self._order_ids), owner, strategy, side, net_limit, qty, seq, qty
        )
        self._orders[order.order_id] = order
        self._busy = True
        try:
            self._execute(order)
            if order.remaining and tif == "day":
                self._rest(order)
            else:
                order.cancelled, order.remaining = order.remaining, 0
        finally:
            self._busy = False
        self._drain()
        return SubmitResult(order.filled, order.order_id if order.resting else None, order.seq)

    def cancel(self, order_id: int) -> int:
        """Cancel a resting complex order; returns the packages cancelled (0 if it had already
        finished)."""
        order = self._order(order_id)
        if not order.resting:
            return 0
        self._unrest(order)
        left = order.cancelled = order.remaining
        order.remaining = 0
        return left

    def on_leg_top_changed(self, contract: int) -> None:
        """A leg book's best price or size changed: re-check the resting orders that use it."""
        if self.venue.halted:
            return
        self._pending[contract] = None
        if not self._busy:
            self._drain()

    # ---- routes --------------------------------------------------------------------------

    def _execute(self, order: _ComplexOrder) -> None:
        """Auction, then resting contra orders, then leg-in, as far as each goes."""
        if self.coa and self._responders:
            bbo = self.derived_bbo(order.strategy)
            if self._near_marketable(order, bbo):
                self._auction(order, bbo)
        if order.remaining:
            self._match_contra(order)
        if order.remaining:
            self._leg_in(order)

    def _near_marketable(self, order: _ComplexOrder, bbo: DerivedBBO) -> bool:
        """Marketable against the derived contra price, or short of it by at most the buffer."""
        contra = bbo.ask if order.side == BUY else bbo.bid
        return contra is not None and order.side * (order.limit - contra) >= -self.coa_buffer_ticks

    def _auction(self, order: _ComplexOrder, bbo: DerivedBBO) -> None:
        """Ask every responder; fill the best quoted prices first, equal prices pro rata."""
        quotes: list[PackageQuote] = []
        for responder in self._responders:
            for quote in responder(order.strategy, order.side, order.remaining, bbo):
                checked = _checked_quote(quote)
                if order.crosses(checked.price):
                    quotes.append(checked)
        # best price for the incoming order first: lowest offers for a buy, highest bids for a sell
        for price in sorted({q.price for q in quotes}, key=lambda p: order.side * p):
            if not order.remaining:
                break
            leg_prices = self._allocate(order.strategy, price)
            if leg_prices is None:
                continue
            level = [q for q in quotes if q.price == price]
            shares = split_pro_rata([q.qty for q in level], order.remaining, self.rng)
            for quote, n in zip(level, shares, strict=True):
                if n:
                    self._package(order, quote.owner, n, price, leg_prices, "coa")

    def _match_contra(self, order: _ComplexOrder) -> None:
        """Trade with the strategy's resting opposite orders in priority, at their prices (see
        :meth:`_pair_price`)."""
        book = self._books.get(order.strategy)
        if book is None:
            return
        done = []
        for contra in book.side(-order.side):
            if not order.remaining or not order.crosses(contra.limit):
                break
            price = self._pair_price(contra, order)
            leg_prices = None if price is None else self._allocate(order.strategy, price)
            if price is None or leg_prices is None:
                continue
            n = min(order.remaining, contra.remaining)
            self._package(order, contra.owner, n, price, leg_prices, "contra")
            contra.remaining -= n
            if not contra.remaining:
                done.append(contra)
        for contra in done:
            self._unrest(contra)

    def _pair_price(self, first: _ComplexOrder, later: _ComplexOrder) -> int | None:
        """The net price two crossing orders trade at: the earlier order's limit, moved to the
        nearest price inside the derived quote when it lies outside it (no leg split exists
        there); ``None`` (counted as no allocation) when that is beyond either limit."""
        bbo = self.derived_bbo(first.strategy)
        price = first.limit
        if bbo.bid is not None:
            price = max(price, bbo.bid)
        if bbo.ask is not None:
            price = min(price, bbo.ask)
        if first.crosses(price) and later.crosses(price):
            return price
        self.n_no_allocation += 1
        return None

    def _allocate(self, strategy: Strategy, net_price: int) -> tuple[int, ...] | None:
        """Leg prices for a package trade at ``net_price`` inside the legs' current BBO."""
        views = [self.venue.view(c) for c in strategy.contracts]
        leg_prices = allocate_leg_prices(
            strategy.ratios, [v.best_bid for v in views], [v.best_ask for v in views], net_price
        )
        if leg_prices is None:
            self.n_no_allocation += 1
        return leg_prices

    def _package(
        self,
        order: _ComplexOrder,
        counterparty: int,
        qty: int,
        net_price: int,
        leg_prices: tuple[int, ...],
        route: str,
    ) -> None:
        """Print one package trade of ``order`` against ``counterparty``: one leg print each."""
        buyer, seller = (
            (order.owner, counterparty) if order.side == BUY else (counterparty, order.owner)
        )
        package_id = next(self._package_ids)
        seq = self.venue.next_seq()
        for (contract, ratio), price in zip(order.strategy.legs, leg_prices, strict=True):
            # the package buyer buys the long legs and sells the short ones
            leg_buyer, leg_seller = (buyer, seller) if ratio > 0 else (seller, buyer)
            self.venue.cross(contract, leg_buyer, leg_seller, qty * abs(ratio), price, package_id)
        trade = PackageTrade(
            package_id, order.strategy, route, buyer, seller, qty, net_price, leg_prices, seq
        )
        order.remaining -= qty
        self.packages.append(trade)
        self.packages_by_route[route] += qty
        if self.on_package is not None:
            self.on_package(trade)

    def _leg_in_plan(self, order: _ComplexOrder) -> list[tuple[int, int, int, int]] | None:
        """Per leg ``(contract, side, worst price, contracts)`` that fills the whole remaining
        quantity within ``leg_in_levels`` levels, or ``None`` if any leg lacks the size or the
        net price at the worst levels breaks the limit."""
        plan = []
        net = 0
        for contract, ratio in order.strategy.legs:
            view = self.venue.view(contract)
            if view.halted:
                return None
            leg_side = order.side * (1 if ratio > 0 else -1)
            need = order.remaining * abs(ratio)
            bids, asks = view.depth(self.leg_in_levels)
            worst = _worst_price(asks if leg_side == BUY else bids, need)
            if worst is None:
                return None
            net += ratio * worst
            plan.append((contract, leg_side, worst, need))
        return plan if order.crosses(net) else None

    def _leg_in(self, order: _ComplexOrder) -> bool:
        """Fill the whole remaining quantity with one IOC per leg if every leg can; True if so."""
        plan = self._leg_in_plan(order)
        if plan is None:
            return False
        for contract, leg_side, price, need in plan:
            got = self.venue.ioc(order.owner, contract, leg_side, price, need)
            if got != need:
                raise LegInError(
                    f"leg IOC on contract {contract} filled {got} of {need} contracts after the "
                    f"book checked every leg (complex order {order.order_id})"
                )
        self.packages_by_route["legged"] += order.remaining
        order.remaining = 0
        return True

    # ---- resting orders ------------------------------------------------------------------

    def _rest(self, order: _ComplexOrder) -> None:
        book = self._books.get(order.strategy)
        if book is None:
            book = self._books[order.strategy] = _StrategyBook()
            for contract in order.strategy.contracts:
                self._watch.setdefault(contract, {})[order.strategy] = None
        book.add(order)
        order.resting = True

    def _unrest(self, order: _ComplexOrder) -> None:
        book = self._books[order.strategy]
        book.remove(order)
        order.resting = False
        if not book:
            del self._books[order.strategy]
            for contract in order.strategy.contracts:
                watched = self._watch[contract]
                del watched[order.strategy]
                if not watched:
                    del self._watch[contract]

    def _drain(self) -> None:
        """Re-check the strategies on every contract whose top changed, until none is left."""
        self._busy = True
        try:
            while self._pending and not self.venue.halted:
                contract = next(iter(self._pending))
                del self._pending[contract]
                for strategy in list(self._watch.get(contract, ())):
                    self._recheck(strategy)
            self._pending.clear()
        finally:
            self._busy = False

    def _recheck(self, strategy: Strategy) -> None:
        """Trade crossed resting orders of ``strategy`` together, then leg in any that can."""
        if any(self.venue.view(c).halted for c in strategy.contracts):
            return
        self._cross_resting(strategy)
        book = self._books.get(strategy)
        if book is None:
            return
        for order in [*book.bids, *book.asks]:
            if order.resting and self._leg_in(order):
                self._unrest(order)

    def _cross_resting(self, strategy: Strategy) -> None:
        """While the best resting bid and ask cross, the later one trades with the earlier one
        (at the price of :meth:`_pair_price`)."""
        book = self._books.get(strategy)
        while book and book.bids and book.asks and book.bids[0].limit >= book.asks[0].limit:
            bid, ask = book.bids[0], book.asks[0]
            first, later = (bid, ask) if bid.seq < ask.seq else (ask, bid)
            price = self._pair_price(first, later)
            leg_prices = None if price is None else self._allocate(strategy, price)
            if price is None or leg_prices is None:
                return
            n = min(bid.remaining, ask.remaining)
            self._package(later, first.owner, n, price, leg_prices, "contra")
            first.remaining -= n
            for order in (bid, ask):
                if not order.remaining:
                    self._unrest(order)
            book = self._books.get(strategy)


def _worst_price(levels: list[tuple[int, int]], need: int) -> int | None:
    """The deepest price an order for ``need`` reaches over ``levels`` (best first), or None if
    they hold less."""
    total = 0
    for price, size in levels:
        total += size
        if total >= need:
            return price
    return None


def _checked_quote(quote: object) -> PackageQuote:
    """A responder's quote as a PackageQuote of integers, else ComplexOrderError."""
    if not isinstance(quote, tuple) or len(quote) != 3:
        raise ComplexOrderError(f"a responder quote must be (owner, price, qty), got {quote!r}")
    owner, price, qty = quote
    return PackageQuote(
        _whole(owner, "quote owner", 0, (1 << 62) - 1),
        _whole(price, "quote price", -MAX_NET_TICKS, MAX_NET_TICKS),
        _whole(qty, "quote qty", 1, MAX_PACKAGES),
    )
