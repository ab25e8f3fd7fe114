"""The stale-quote taker (book mode): a fast trader that takes option quotes the underlying left
behind.

Dealers re-quote once a step, before anyone acts, at the underlying's mid of the step's start and
only when a series' theoretical value moved by ``requote_ticks`` (:mod:`agents.dealer_quoting`).
Between their passes the underlying keeps trading, and a quote priced off the old mid is a free
option to whoever is faster: in real markets latency-arbitrage traders take such stale quotes
(Budish, Cramton & Shim 2015, "The high-frequency trading arms race", QJE; Foucault, Kozhan & Tham
2017, "Toxic arbitrage", RFS), which is why market makers re-quote on every move of the
underlying and curtail after a burst of executions.

At its own Poisson rate a :class:`StaleQuoteTaker` looks at the option books' top of book
(:meth:`agents.world.World.option_tops`) against a fair value of every live series it computes
itself: Black-Scholes (:func:`market.options.pricing.bs_price`) at the public implied-vol surface
and the live mid of the underlying's book (read at the look, so fresher than the dealers' marks),
vectorised over the chain. A series whose best ask lies more than ``edge_ticks`` below the fair
value is bought, one whose best bid lies more than ``edge_ticks`` above it is sold: one
immediate-or-cancel order at that stale price (:meth:`agents.world.World.take_option`), for the
size shown there but at most ``max_contracts`` and what keeps ``|position|`` within
``max_position_contracts`` in that series, the ``max_orders_per_look`` series with the largest
edge first. The option venue charges no fee, so the edge is the whole hurdle.

It does not hedge: it holds what it takes until it expires or the run ends, financed at no
interest from an account that starts with no cash. Its figures: IOCs sent and refused, contracts
taken (of which from dealers' quotes), its P&L with options marked at their surface value at the
underlying's mid (:meth:`StaleQuoteTaker.pnl_at_mid`), and the adverse-selection cost its fills
put on the other side, ``sum (fair - price) * side * qty * multiplier`` (currency, with the fair
value of the look that sent the order), in total and for the dealers' quotes alone.

Units: prices on the option books in integer option ticks, fair values and costs in currency
(per share where stated), quantities in contracts, rates in looks per second; side +1 buy / -1
sell (the taker's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from agents.base import Participant, Population
from agents.world import OptionTops, World
from market.exchange.clock import SECONDS_PER_YEAR
from market.options.pricing import bs_price
from market.validation import Validated, param

#: the sources of the takers' parameters (docs/options_market.md has the titles)
_STALE_SOURCES = "Budish, Cramton & Shim 2015; Foucault, Kozhan & Tham 2017"


@dataclass(frozen=True)
class StaleTakerParams(Validated):
    """How the stale-quote takers trade (units as the module's); checked when built. The
    ``market.options.stale_*`` fields are declared from these."""

    n: int = param(
        0,
        lo=0,
        hi=1000,
        unit="agents",
        doc="stale-quote takers in book mode (0: none, the market as without them); fast "
        "traders taking quotes the underlying's move left behind (Budish, Cramton & Shim 2015, "
        "'The high-frequency trading arms race'; Foucault, Kozhan & Tham 2017, 'Toxic "
        "arbitrage')",
    )
    rate: float = param(
        1.0,
        lo=0.0,
        hi=1000.0,
        lo_open=True,
        unit="looks/s",
        doc="each stale-quote taker's Poisson rate of looking at the option books; latency "
        "arbitrageurs react within milliseconds, so at the default one-second step about "
        f"once a step ({_STALE_SOURCES})",
    )
    edge_ticks: float = param(
        1.0,
        lo=0.0,
        hi=10_000.0,
        unit="option ticks",
        doc="a quote is taken when its price is more than this beyond the taker's fair value "
        "(Black-Scholes at the surface and the live underlying mid); the option venue charges "
        f"no fee, so this is the whole hurdle ({_STALE_SOURCES})",
    )
    max_contracts: int = param(
        10,
        lo=1,
        hi=100_000,
        unit="contracts",
        doc="size of a stale-quote taker's order at most (and at most the size shown at the "
        "stale price); the default is one dealer quote (`quote_size`), a modelling choice",
    )
    max_orders_per_look: int = param(
        3,
        lo=1,
        hi=10_000,
        unit="orders",
        doc="a look sends at most this many immediate-or-cancel orders, the largest edges first "
        "(a modelling choice that bounds one look's work)",
    )
    max_position_contracts: int = param(
        100,
        lo=1,
        hi=10_000_000,
        unit="contracts",
        doc="a stale-quote taker's position in one series stays within +/- this (it does not "
        "hedge and holds what it takes; a modelling choice that bounds what it accumulates)",
    )


class StaleOrder(NamedTuple):
    """One order a look decided: ``contract`` (chain row), ``side``, limit ``price`` (option
    ticks, the stale quote's), ``qty`` (contracts), ``fair`` (currency per share) and ``edge``
    (option ticks, > ``edge_ticks``)."""

    contract: int
    side: int
    price: int
    qty: int
    fair: float
    edge: float


def fair_values(world: World, spot: float) -> tuple[np.ndarray, np.ndarray]:
    """The chain rows live now and their Black-Scholes values (currency per share) at the
    surface's vol for the underlying at ``spot`` (currency), in one vectorised call."""
    chain = world.chain
    rows = np.flatnonzero(chain.live(world.now))
    if rows.size == 0:
        return rows, np.zeros(0)
    strike = np.asarray(chain.strike, dtype=float)[rows]
    call = np.asarray(chain.is_call, dtype=bool)[rows]
    t = (np.asarray(chain.expiry, dtype=float)[rows] - world.now) / SECONDS_PER_YEAR
    vol = np.asarray(world.surface.vol(strike, t, spot), dtype=float)
    fair = np.asarray(bs_price(spot, strike, t, vol, call=call), dtype=float)
    return rows, np.atleast_1d(fair)


def stale_orders(
    tops: OptionTops,
    rows: np.ndarray,
    fair: np.ndarray,
    held: np.ndarray,
    params: StaleTakerParams,
) -> list[StaleOrder]:
    """The orders one look sends: for each of ``rows`` (with ``fair`` values in currency per
    share and the taker's positions ``held``, contracts) whose best ask is more than
    ``edge_ticks`` below fair (buy) or best bid more than that above it (sell), at that price,
    sized within ``max_contracts``, the size shown and ``max_position_contracts``; the
    ``max_orders_per_look`` largest edges first (ties by chain row)."""
    fair_ticks = fair / tops.tick
    ask, ask_sz = tops.ask_px[rows], tops.ask_sz[rows]
    bid, bid_sz = tops.bid_px[rows], tops.bid_sz[rows]
    limit, size = params.max_position_contracts, params.max_contracts
    buy_qty = np.minimum(np.minimum(ask_sz, size), limit - held)
    sell_qty = np.minimum(np.minimum(bid_sz, size), limit + held)
    buy_edge = np.where((ask > 0) & (buy_qty > 0), fair_ticks - ask, -np.inf)
    sell_edge = np.where((bid > 0) & (sell_qty > 0), bid - fair_ticks, -np.inf)
    buys = buy_edge >= sell_edge
    edge = np.where(buys, buy_edge, sell_edge)
    chosen = np.flatnonzero(edge > params.edge_ticks)
    chosen = chosen[np.argsort(-edge[chosen], kind="stable")][: params.max_orders_per_look]
    return [
        StaleOrder(
            int(rows[i]),
            1 if buys[i] else -1,
            int(ask[i] if buys[i] else bid[i]),
            int(buy_qty[i] if buys[i] else sell_qty[i]),
            float(fair[i]),
            float(edge[i]),
        )
        for i in chosen.tolist()
    ]


class StaleQuoteTaker(Participant):
    """One stale-quote taker (see the module docstring). Counters: ``looks``, ``iocs``,
    ``refused`` (IOCs the venue refused), ``contracts_taken``, ``contracts_from_dealers``,
    ``adverse_cost`` and ``dealer_adverse_cost`` (currency)."""

    population: ClassVar[str] = "stale_takers"

    def __init__(self, world: World, stream: np.random.Generator, params: StaleTakerParams) -> None:
        super().__init__(world, stream, params.rate)
        self.params = params
        self.looks = 0
        self.iocs = 0
        self.refused = 0
        self.contracts_taken = 0
        self.contracts_from_dealers = 0
        self.adverse_cost = 0.0
        self.dealer_adverse_cost = 0.0

    def underlying_mid(self) -> float:
        """The underlying's mid now (currency): the live book's, or the last observed when a
        side of the book is empty."""
        mid = self.world.book_view.mid
        return float(mid) * self.world.tick if mid is not None else float(self.world.state.mid)

    def look(self) -> list[StaleOrder]:
        """The orders a look now would send (none in rfq mode, while the books are halted, or
        without a positive mid)."""
        w = self.world
        tops = w.option_tops()
        spot = self.underlying_mid()
        if tops is None or tops.halted or not spot > 0:
            return []
        rows, fair = fair_values(w, spot)
        if rows.size == 0:
            return []
        held = np.asarray(w.ledger.options[self.account, rows], dtype=np.int64)
        return stale_orders(tops, rows, fair, held, self.params)

    def act(self) -> None:
        self.looks += 1
        mult = self.world.ledger.multiplier
        for order in self.look():
            take = self.world.take_option(
                self.account, order.contract, order.side, order.price, order.qty
            )
            self.iocs += 1
            self.refused += take.refused
            self.contracts_taken += take.filled
            self.contracts_from_dealers += take.dealer_filled
            self.adverse_cost += (order.fair - take.price) * order.side * take.filled * mult
            self.dealer_adverse_cost += (
                (order.fair - take.dealer_price) * order.side * take.dealer_filled * mult
            )

    def pnl_at_mid(self) -> float:
        """Cash (from an account that started with none) plus its live option positions at their
        surface value at the underlying's mid (currency)."""
        w = self.world
        led = w.ledger
        cash = float(led.cash[self.account]) / 100.0 - self.initial_cash
        spot = float(w.state.mid)
        rows, fair = fair_values(w, spot)
        if rows.size == 0 or not spot > 0:
            return cash
        held = np.asarray(led.options[self.account, rows], dtype=float)
        return cash + float(held @ fair) * led.multiplier


class StaleTakersPopulation(Population):
    """The stale-quote takers: ``cfg.n`` of them sharing one stream (:class:`StaleTakerParams`)."""

    name = "stale_takers"

    @classmethod
    def build(
        cls, world: World, cfg: StaleTakerParams, stream: np.random.Generator
    ) -> StaleTakersPopulation:
        members: list[Participant] = [StaleQuoteTaker(world, stream, cfg) for _ in range(cfg.n)]
        return cls(cfg, stream, members)

    def summary(self) -> dict[str, Any] | None:
        takers = [m for m in self.members if isinstance(m, StaleQuoteTaker)]
        if not takers:
            return None
        return {
            "takers": len(takers),
            "looks": sum(t.looks for t in takers),
            "iocs": sum(t.iocs for t in takers),
            "refused": sum(t.refused for t in takers),
            "contracts_taken": sum(t.contracts_taken for t in takers),
            "contracts_from_dealers": sum(t.contracts_from_dealers for t in takers),
            "pnl_at_mid": sum(t.pnl_at_mid() for t in takers),
            "adverse_selection_cost": sum(t.adverse_cost for t in takers),
            "dealers_adverse_selection_cost": sum(t.dealer_adverse_cost for t in takers),
        }
