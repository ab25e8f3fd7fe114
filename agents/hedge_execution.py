"""How an option dealer works its hedge in the book: two bands, passive inside, aggressive outside.

The hedging policy (:mod:`agents.hedging_policies`) gives the inner band ``b_in`` (shares): the
no-trade half-width around delta neutral, fixed or Whalley-Wilmott. With ``banded`` execution the
dealer compares its deviation ``d = -net delta`` (the shares it would buy to be neutral) with two
bands at every look:

- ``|d| <= b_in``: do nothing (a resting hedge order is cancelled);
- ``b_in < |d| < b_out``: rest a passive limit order for part of the excess ``e = |d| - b_in``
  (at most ``max_order_size``) at the near touch or ``passive_inside_ticks`` inside it, never
  crossing the spread. The part rises with the excess, from ``passive_floor`` of it at the inner
  band to all of it at the outer band (urgency ``u = floor + (1 - floor) e / (b_out - b_in)``,
  resting ``u e`` shares); the order is replaced at the next look if its size, side or price
  should change, so the excess is worked in child orders over time, like a TWAP that rests in
  the book and hurries as the gap grows;
- ``|d| >= b_out``: cross the spread with IOC children for the part beyond the ``cross_to``
  target, ``b_out = outer_band_multiple * b_in``: ``outer`` crosses only ``|d| - b_out`` (back
  to the outer band edge, Whalley-Wilmott's "trade to the band" rule) and rests the band's
  width ``b_out - b_in`` passively behind it; ``inner`` crosses ``|d| - b_in`` (back to the inner
  edge, the earlier rule); ``neutral`` crosses the whole gap ``|d|`` (back to delta 0).

This is the two-threshold (impulse-control) form of optimal execution with limit and market
orders: post while the inventory deviation is small, cross only when it exceeds an outer
threshold (Cartea, Jaimungal & Penalva 2015, "Algorithmic and High-Frequency Trading", CUP;
Gueant 2016, "The Financial Mathematics of Market Liquidity", CRC). The inner band is the
no-trade region of Whalley & Wilmott (1997, Mathematical Finance 7:307). A long-gamma dealer then
sells into rallies with resting asks and buys dips with resting bids (damping), while a
short-gamma dealer chases the price only beyond ``b_out`` (bounded amplification). Crossing only
the part beyond the outer band keeps each crossing burst small: a burst sized to the whole gap
takes liquidity in one go and lets the price bounce back (a long-gamma book that sells a rally
with a large IOC pushes the price through the level it was reacting to, which shows as a negative
lag-1 autocorrelation of short returns). Whalley & Wilmott (1997) show that with proportional
costs the optimal hedge trades only to the edge of the no-trade region, never to its centre.

``aggressive`` execution is the older rule: every hedge the policy asks for is sent as market or
IOC children at once (no resting orders). Both modes count, at each look, whether ``|d|`` was
beyond ``b_in`` and beyond ``b_out`` (:class:`BandCounts`); looks come from a Poisson clock, so the
fractions estimate the fraction of time spent outside each band.

In both modes a short-gamma dealer's crossing children are cut to a participation ceiling, a
share of the market's recent volume (:class:`ParticipationCap`); the part held back crosses at
later looks as the market trades or, in ``banded`` mode with a relaxation time, widens the outer
band for a while. The counts above are taken against the policy's bands, not the widened one.

Units: shares for deviations, bands and quantities; prices in integer ticks; side +1 buy / -1 sell.
"""

from __future__ import annotations

import math
from collections import deque
from enum import Enum
from typing import NamedTuple

from agents.world import World


class HedgeOrderType(Enum):
    """How crossing hedge orders are sent: market orders, or IOC limits a few ticks through the
    touch."""

    market = "market"
    ioc = "ioc"


class HedgeExecution(Enum):
    """``aggressive``: market/IOC children only; ``banded``: passive inside the outer band."""

    aggressive = "aggressive"
    banded = "banded"


class CrossTarget(Enum):
    """Where a crossing hedge (beyond the outer band) takes the deviation: to the ``outer``
    band edge, to the ``inner`` band edge, or to delta ``neutral`` (the whole gap)."""

    outer = "outer"
    inner = "inner"
    neutral = "neutral"


class BandAction(NamedTuple):
    """What to do at a look: ``cross`` the signed shares (+ buy) to send across the spread now,
    ``rest`` the signed shares to leave resting passively after it; both 0 when holding."""

    cross: int
    rest: int

    @property
    def mode(self) -> str:
        """``"cross"`` if anything crosses, else ``"passive"`` if anything rests, else
        ``"hold"``."""
        return "cross" if self.cross else ("passive" if self.rest else "hold")


def band_action(
    deviation: float,
    inner: float,
    outer: float,
    cross_to: CrossTarget = CrossTarget.outer,
    passive_floor: float = 1.0,
) -> BandAction:
    """The two-band rule for a deviation ``d`` (shares to buy to be delta neutral).

    ``|d| <= inner``: hold. ``inner < |d| < outer``: rest ``sign(d) u e`` with ``e = |d| - inner``
    and urgency ``u = passive_floor + (1 - passive_floor) e / (outer - inner)``. ``|d| >= outer``:
    cross ``sign(d) (|d| - target)`` with the target ``outer``, ``inner`` or 0 (``cross_to``) and
    rest whatever lies between the target and the inner band, ``sign(d) (target - inner)``
    (nothing for ``inner`` and ``neutral``). Quantities are rounded to whole shares.
    """
    if not (inner >= 0.0 and outer >= inner):
        raise ValueError(f"bands must satisfy 0 <= inner <= outer, got {inner}, {outer}")
    if not 0.0 <= passive_floor <= 1.0:
        raise ValueError(f"passive_floor must be in [0, 1], got {passive_floor}")
    size = abs(deviation)
    if not size > inner:
        return BandAction(0, 0)
    if size < outer:
        excess = size - inner
        urgency = passive_floor + (1.0 - passive_floor) * excess / (outer - inner)
        return BandAction(0, round(math.copysign(urgency * excess, deviation)))
    target = {CrossTarget.outer: outer, CrossTarget.inner: inner, CrossTarget.neutral: 0.0}
    edge = target[cross_to]
    cross = round(math.copysign(size - edge, deviation))
    rest = round(math.copysign(max(edge - inner, 0.0), deviation))
    return BandAction(cross, rest)


def passive_price(side: int, best_bid: int | None, best_ask: int | None, inside: int) -> int | None:
    """Limit price (ticks) for a resting hedge: ``inside`` ticks better than the near touch, but
    never at or through the far touch (so it never crosses). ``None`` if the near side is empty
    and there is no far touch to lean on."""
    near = best_bid if side > 0 else best_ask
    far = best_ask if side > 0 else best_bid
    if near is None:
        if far is None:
            return None
        return max(1, far - side)
    price = near + side * max(inside, 0)
    if far is not None:
        price = min(price, far - 1) if side > 0 else max(price, far + 1)
        price = max(price, near) if side > 0 else min(price, near)
    return max(1, price)


class Sent(NamedTuple):
    """What one burst of crossing children did: child ``orders`` sent, ``waits`` (the market
    halted before an order), and the signed shares still ``remaining``."""

    orders: int
    waits: int
    remaining: int


class AggressiveHedge:
    """Crossing hedge children: market orders or IOC limits ``ioc_offset_ticks`` through the far
    touch, at most ``max_order_size`` shares each and ``max_child_orders`` per burst; a child
    not filled in full (empty side, price limit) ends the burst. The owner adds each aggressive
    fill's shares to ``filled`` (its ``on_fill``); ``decision_mid`` (currency) is the mid the
    burst was decided at."""

    def __init__(
        self,
        world: World,
        account: int,
        order_type: HedgeOrderType,
        ioc_offset_ticks: int,
        max_order_size: int,
        max_child_orders: int,
    ) -> None:
        self.world = world
        self.account = account
        self.order_type = order_type
        self.ioc_offset_ticks = int(ioc_offset_ticks)
        self.max_order_size = int(max_order_size)
        self.max_child_orders = int(max_child_orders)
        self.decision_mid = 0.0
        self.filled = 0

    def send(self, trade: int, decision_mid: float) -> Sent:
        venue = self.world.venue
        book = self.world.book_view
        remaining = int(trade)
        orders = waits = 0
        self.decision_mid = decision_mid
        for _ in range(self.max_child_orders):
            side = 1 if remaining > 0 else -1
            qty = min(abs(remaining), self.max_order_size)
            self.filled = 0
            if self.order_type is HedgeOrderType.market:
                oid = venue.market(self.account, side, qty)
            else:
                touch = book.best_ask if side > 0 else book.best_bid
                if touch is None:
                    break
                limit = max(1, touch + side * self.ioc_offset_ticks)
                oid = venue.ioc(self.account, side, limit, qty)
            if oid is None:  # halted between the look and the order
                waits += 1
                break
            orders += 1
            remaining -= side * self.filled
            if self.filled < qty or remaining == 0:
                break
        return Sent(orders, waits, remaining)


class BandCounts:
    """Looks, and looks at which ``|d|`` was beyond the inner and beyond the outer band."""

    def __init__(self) -> None:
        self.looks = 0
        self.outside_inner = 0
        self.outside_outer = 0

    def observe(self, deviation: float, inner: float, outer: float) -> None:
        self.looks += 1
        if abs(deviation) > inner:
            self.outside_inner += 1
            if abs(deviation) >= outer:
                self.outside_outer += 1

    @property
    def fraction_outside_inner(self) -> float:
        return self.outside_inner / self.looks if self.looks else 0.0

    @property
    def fraction_outside_outer(self) -> float:
        return self.outside_outer / self.looks if self.looks else 0.0


class PassiveHedge:
    """One dealer's resting hedge order: placed, kept, replaced or cancelled at each look.

    ``order_id`` is the live order (``None`` when none rests); ``decision_mid`` the mid (currency)
    when it was placed, against which its fills are costed. ``orders`` counts orders placed,
    ``filled`` the shares filled passively.
    """

    def __init__(
        self,
        world: World,
        account: int,
        inside_ticks: int,
        max_order_size: int,
        resize_tolerance: float = 0.0,
    ) -> None:
        self.world = world
        self.account = account
        self.inside_ticks = int(inside_ticks)
        self.max_order_size = int(max_order_size)
        self.resize_tolerance = float(resize_tolerance)
        self.order_id: int | None = None
        self.side = 0
        self.price = 0
        self.decision_mid = 0.0
        self.orders = 0
        self.filled = 0

    def live(self) -> bool:
        """Whether an order rests (dropping one that has been filled in full)."""
        if self.order_id is not None and self.world.book_view.remaining(self.order_id) == 0:
            self.order_id = None
        return self.order_id is not None

    def cancel(self) -> None:
        if self.live():
            self.world.venue.cancel(self.order_id)
        self.order_id = None

    def rest(self, qty: int, decision_mid: float) -> None:
        """Have ``qty`` shares (signed, + buy; at most ``max_order_size``) resting at the passive
        price. An order already resting on that side is kept while it is still at the near touch
        and its remaining size is within ``resize_tolerance`` (a fraction) of ``|qty|``;
        otherwise it is cancelled and a new one placed against the touch of the book without it.
        Each replacement of an order resting inside the spread moves the touch, and so the mid,
        back and forth; the tolerance spares the book that flicker when the wanted size only
        drifts."""
        book = self.world.book_view
        side = 1 if qty > 0 else -1
        size = min(abs(int(qty)), self.max_order_size)
        if (
            self.live()
            and self.side == side
            and abs(book.remaining(self.order_id) - size) <= self.resize_tolerance * size
        ):
            near = book.best_bid if side > 0 else book.best_ask
            if near is not None and side * (self.price - near) >= 0:
                return  # still the best (or tied) on its side: keep its queue place
        self.cancel()  # priced against the book without it, so it never chases itself
        price = passive_price(side, book.best_bid, book.best_ask, self.inside_ticks)
        if price is None or size <= 0:
            return
        self.side, self.price, self.decision_mid = side, price, decision_mid
        oid = self.world.venue.limit(self.account, side, price, size)
        self.orders += 1
        self.order_id = oid if book.remaining(oid) > 0 else None


class ParticipationCap:
    """A ceiling on the share of the market's volume a desk takes with its crossing hedges.

    Over the last ``window`` seconds the desk's crossing fills ``c`` may be at most ``cap`` of
    all the volume printed, counting the other traders' volume ``o`` (the market's, less every
    print of the desk's own, passive or crossing) and ``c`` itself: ``c <= cap (o + c)``, so the
    shares it may still cross now are ``cap / (1 - cap) * o - c`` (never below 0; no ceiling at
    ``cap = 1``). This is the participation (percentage-of-volume) limit execution desks put on
    their orders (Kissell & Glantz 2003, "Optimal Trading Strategies", AMACOM): an order's cost
    grows with the rate at which it trades against the market (Almgren & Chriss 2000, J. Risk
    3:5), and an order that dominates recent volume sets the price it then chases.

    When the ceiling holds back part of a crossing hedge, the desk's outer band is widened to
    the gap it left open (:meth:`widen`), and the widening relaxes back to the policy's band
    with a half-life of ``relax`` seconds (``window`` unless given): the part held back is not
    retried at the next look but waits until the band has relaxed or the gap has grown. A thin
    book, in which the same shares cost more, is where Whalley and Wilmott's band is wider
    anyway (it grows with the cost as ``cost**(1/3)``). With ``relax`` 0 the band is never
    widened and the part held back is retried at every look, at the ceiling's pace (a plain
    percentage-of-volume order).

    Units: shares and clock seconds; in :meth:`limit` side +1 buy / -1 sell.
    """

    def __init__(self, cap: float, window: float, relax: float | None = None) -> None:
        if not 0.0 < cap <= 1.0:
            raise ValueError(f"cap must be in (0, 1], got {cap}")
        if not window > 0.0:
            raise ValueError(f"window must be > 0 seconds, got {window}")
        relax = window if relax is None else relax
        if not relax >= 0.0:
            raise ValueError(f"relax must be >= 0 seconds, got {relax}")
        self.cap = float(cap)
        self.window = float(window)
        self.relax = float(relax)
        self._fills: deque[tuple[float, int, bool]] = deque()  # (time, shares, crossing)
        self._own = 0  # the desk's shares printed in the window, passive and crossing
        self._crossed = 0  # of which crossing
        self._multiple = 1.0  # outer-band multiple when last widened
        self._widened_at = 0.0
        self.binds = 0  # crossing hedges the ceiling cut

    def record(self, now: float, qty: int, crossing: bool) -> None:
        """One of the desk's fills: ``qty`` shares, ``crossing`` if its order took liquidity."""
        self._fills.append((now, int(qty), crossing))
        self._own += int(qty)
        if crossing:
            self._crossed += int(qty)

    def _expire(self, now: float) -> None:
        fills = self._fills
        while fills and fills[0][0] <= now - self.window:
            _, qty, crossing = fills.popleft()
            self._own -= qty
            if crossing:
                self._crossed -= qty

    def allowance(self, now: float, market_volume: float) -> float:
        """Shares the desk may still cross now, given ``market_volume``: all shares printed in
        the last ``window`` seconds, the desk's own included (they are taken out here)."""
        if self.cap >= 1.0:
            return math.inf
        self._expire(now)
        others = max(float(market_volume) - self._own, 0.0)
        return max(self.cap / (1.0 - self.cap) * others - self._crossed, 0.0)

    def limit(self, trade: int, now: float, market_volume: float) -> int:
        """``trade`` (signed shares, + buy) cut to the :meth:`allowance`, toward zero."""
        room = self.allowance(now, market_volume)
        if abs(trade) <= room:
            return int(trade)
        self.binds += 1
        return int(math.copysign(math.floor(room), trade))

    def band_multiple(self, now: float) -> float:
        """The outer band's widening now (1 = the policy's band): the last widening, relaxed
        halfway back to 1 every ``relax`` seconds (never widened when ``relax`` is 0)."""
        if self.relax <= 0.0:
            return 1.0
        decay = 0.5 ** (max(now - self._widened_at, 0.0) / self.relax)
        return 1.0 + (self._multiple - 1.0) * decay

    def widen(self, now: float, multiple: float) -> None:
        """Widen the outer band to ``multiple`` times the policy's (never narrowing it)."""
        self._multiple = max(self.band_multiple(now), float(multiple), 1.0)
        self._widened_at = now
