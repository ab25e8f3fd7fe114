"""The complex order book of the options market in book mode: customers' packages, dealers' COA.

:class:`ComplexMarket` wires one :class:`~market.exchange.complex_book.ComplexOrderBook` over the
option venue of an :class:`experiments.option_market.OptionMarket`:

- legs: the book reaches the series books through :class:`LegAdapter`, the venue itself except
  that it notes the immediate-or-cancel orders of a leg-in, so their prints can be told from
  ordinary ones; every leg print (off-book package legs and leg-in fills alike) goes through the
  venue and so is settled by the option market's own print handler, like every option print;
- tops: the venue's top listener calls ``on_leg_top_changed``, so resting complex orders re-check
  whenever a leg's top moves;
- halts: the venue's halt is the book's: while it is halted submissions are refused (counted) and
  resting complex orders are held, as the series books hold their limit orders;
- responders: one :class:`agents.package_quoting.PackageResponder` per quoting dealer answers the
  auctions (COA);
- customers: :meth:`ComplexMarket.customer_package` sends a customer's package, an IOC at the
  derived (implied-in) contra price or (``rest_share`` of them) a day order at the derived mid
  that rests ``rest_lifetime_seconds``; a customer's resting package of the same strategy is
  cancelled first (no self-trade); resting packages whose legs expire are cancelled.

Units: net prices in option ticks of the legs, quantities in packages (legs in contracts), side
+1 buy / -1 sell of the package as the customer gave its legs.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from agents.dealer_quoting import DealerQuoter, SeriesMarks
from agents.package_quoting import PackageQuotingParams, PackageResponder
from agents.world import OptionFill
from market.exchange.complex_book import ComplexOrderBook, PackageTrade, Strategy
from market.exchange.option_venue import OptionPrint, OptionVenue
from market.exchange.risk_protection import QuoteRiskMonitor
from market.exchange.venue import BookView

#: how the summary names the book's routes
ROUTE_NAMES = {"coa": "coa", "contra": "resting", "legged": "leg_in"}


class OptionMarketView(Protocol):
    """What the complex market uses of :class:`experiments.option_market.OptionMarket`."""

    venue: OptionVenue
    tick: float
    cfg: Any
    quoters: dict[int, DealerQuoter]
    monitor: QuoteRiskMonitor
    last_marks: SeriesMarks | None
    last_stress: float

    @property
    def now(self) -> float: ...

    def is_listed(self, contract: int) -> bool: ...

    def curtail_pending(self) -> None: ...

    def start_message(self) -> list[OptionPrint]: ...


class LegAdapter:
    """The option venue as the complex book's ``LegVenue``; marks leg-in IOCs (``legging``)."""

    def __init__(self, venue: OptionVenue) -> None:
        self.venue = venue
        self.legging = False

    @property
    def halted(self) -> bool:
        return self.venue.halted

    def view(self, contract: int) -> BookView:
        return self.venue.view(contract)

    def ioc(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
        self.legging = True
        try:
            return self.venue.ioc(owner, contract, side, price, qty)
        finally:
            self.legging = False

    def cross(
        self, contract: int, buyer: int, seller: int, qty: int, price: int, package_id: int = 0
    ) -> object:
        return self.venue.cross(contract, buyer, seller, qty, price, package_id)

    def next_seq(self) -> int:
        return self.venue.next_seq()


class ComplexMarket:
    """The complex order book of ``market`` (see the module docstring); ``rng`` breaks ties
    between auction quotes, ``order_rng`` draws which customer packages rest."""

    def __init__(
        self, market: OptionMarketView, rng: np.random.Generator, order_rng: np.random.Generator
    ) -> None:
        self.market = market
        cfg = market.cfg
        self.legs = LegAdapter(market.venue)
        self.book = ComplexOrderBook(self.legs, rng, on_package=self._on_package)
        self._order_rng = order_rng
        params = PackageQuotingParams(
            tick=market.tick,
            max_packages=cfg.package_max_packages,
            vol_points=cfg.package_vol_points,
            gamma_move=cfg.package_gamma_move,
        )
        self.responders = [
            PackageResponder(
                q,
                params,
                marks=lambda: market.last_marks,
                stress=lambda: market.last_stress,
                curtailed=functools.partial(self._curtailed, account),
            )
            for account, q in market.quoters.items()
        ]
        for responder in self.responders:
            self.book.add_responder(responder)
        if cfg.spread_share > 0.0:
            # only customers' packages ever rest, and a listener makes the venue read the
            # touched series' top after every message
            market.venue.add_top_listener(self.book.on_leg_top_changed)
        self.route_of_package: dict[int, str] = {}
        self.leg_in_seqs: set[int] = set()
        self._resting: list[tuple[float, int, Strategy]] = []  # (until, order id, strategy)
        self._own: dict[tuple[int, Strategy], int] = {}  # (account, strategy) -> resting order
        self.customer = dict.fromkeys(("orders", "packages", "filled", "rested", "refused"), 0)

    def _curtailed(self, account: int) -> bool:
        """Whether the exchange curtails dealer ``account`` now."""
        return bool(self.market.monitor.curtailed(account, self.market.now))

    # ------------------------------------------------------------------ customers
    def customer_package(
        self, account: int, legs: Sequence[tuple[int, int]], side: int, qty: int
    ) -> OptionFill:
        """A customer's ``qty`` packages of ``legs`` on ``side``: filled at once (at the
        average net premium per share, currency) and resting (module docstring)."""
        c = self.customer
        c["orders"] += 1
        c["packages"] += qty
        strategy, sign = Strategy.oriented(tuple(legs))
        if not all(self.market.is_listed(k) for k in strategy.contracts):
            c["refused"] += qty
            return OptionFill(0, 0.0)
        self._replace_own(account, strategy)
        side_n = side * sign
        bbo = self.book.derived_bbo(strategy)
        rest = self._order_rng.random() < self.market.cfg.rest_share
        if rest and bbo.bid is not None and bbo.ask is not None:
            mid = (bbo.bid + bbo.ask) / 2
            limit, tif = (math.floor(mid) if side_n > 0 else math.ceil(mid)), "day"
        else:
            contra = bbo.ask if side_n > 0 else bbo.bid
            if contra is None:
                c["refused"] += qty
                return OptionFill(0, 0.0)
            limit, tif = contra, "ioc"
        prints = self.market.start_message()
        result = self.book.submit(account, strategy, side_n, limit, qty, tif)
        self.market.curtail_pending()
        if result is None:
            c["refused"] += qty
            return OptionFill(0, 0.0)
        if result.order_id is not None:
            self._own[(account, strategy)] = result.order_id
            until = self.market.now + self.market.cfg.rest_lifetime_seconds
            heapq.heappush(self._resting, (until, result.order_id, strategy))
        resting = 0 if result.order_id is None else self.book.remaining(result.order_id)
        c["filled"] += result.filled
        c["rested"] += resting
        c["refused"] += qty - result.filled - resting
        price = self._paid_per_package(account, strategy, side, result.filled, prints)
        return OptionFill(result.filled, price * self.market.tick, resting)

    def _paid_per_package(
        self, account: int, strategy: Strategy, side: int, filled: int, prints: Sequence[Any]
    ) -> float:
        """The net premium (ticks per share) of one package just filled, paid when ``side``
        buys, received when it sells: from the account's own leg prints of this message."""
        if not filled:
            return 0.0
        legs = set(strategy.contracts)
        paid = sum(
            (p.qty * p.price if p.buyer == account else -p.qty * p.price)
            for p in prints
            if p.contract in legs and account in (p.buyer, p.seller)
        )
        return side * paid / filled

    def _replace_own(self, account: int, strategy: Strategy) -> None:
        oid = self._own.pop((account, strategy), None)
        if oid is not None:
            self.book.cancel(oid)

    def expire_resting(self, now: float) -> None:
        """Cancel resting customer packages whose lifetime ran out."""
        while self._resting and self._resting[0][0] <= now:
            _, oid, _ = heapq.heappop(self._resting)
            self.book.cancel(oid)
            for key in [k for k, v in self._own.items() if v == oid]:
                del self._own[key]

    def delisted(self, contracts: set[int]) -> None:
        """Cancel every resting package with a leg among ``contracts`` (they expired)."""
        for _, oid, strategy in self._resting:
            if contracts.intersection(strategy.contracts):
                self.book.cancel(oid)

    # ------------------------------------------------------------------ records
    def _on_package(self, trade: PackageTrade) -> None:
        self.route_of_package[trade.package_id] = trade.route

    def note_print(self, seq: int) -> None:
        """A print of the venue just settled: remember it if it is a leg-in fill."""
        if self.legs.legging:
            self.leg_in_seqs.add(seq)

    def route_column(self, package_ids: Sequence[int], seqs: Sequence[int]) -> list[str]:
        """The route name of each print (``""`` for a print of no package)."""
        out = []
        for pid, seq in zip(package_ids, seqs, strict=True):
            if pid:
                out.append(ROUTE_NAMES[self.route_of_package[int(pid)]])
            else:
                out.append(ROUTE_NAMES["legged"] if int(seq) in self.leg_in_seqs else "")
        return out

    def summary(self, prints: Sequence[Any], contracts: int) -> dict[str, Any]:
        """The package figures of the summary (see docs/options_market.md)."""
        by_route = dict.fromkeys(ROUTE_NAMES.values(), 0)
        package_contracts = 0
        for p in prints:
            route = (
                ROUTE_NAMES[self.route_of_package[p.package_id]]
                if p.package_id
                else (ROUTE_NAMES["legged"] if p.seq in self.leg_in_seqs else None)
            )
            if route is not None:
                by_route[route] += p.qty
                package_contracts += p.qty
        answers = [a for r in self.responders for a in r.answers]
        paired = [(h, s) for h, s in answers if s is not None]
        return {
            "packages": int(sum(self.book.packages_by_route.values())),
            "packages_by_route": {
                ROUTE_NAMES[k]: int(v) for k, v in self.book.packages_by_route.items()
            },
            "contracts": package_contracts,
            "contracts_by_route": by_route,
            "share_of_option_contracts": package_contracts / contracts if contracts else None,
            "customers": dict(self.customer),
            "refused_by_book": dict(self.book.refusals),
            "no_allocation": self.book.n_no_allocation,
            "dealer_answers": len(answers),
            "dealer_refusals": {
                k: sum(r.refused[k] for r in self.responders)
                for k in ("curtailed", "no_marks", "limits")
            },
            "median_package_half_ticks": float(np.median([h for h, _ in paired]))
            if paired
            else None,
            "median_legs_half_ticks": float(np.median([s for _, s in paired])) if paired else None,
        }
