"""Closing flow: index funds and leveraged ETFs that trade at the close, in the closing call.

Funds whose benchmark is the closing price trade at the close; closing auctions carry of order
5-10% of US equity volume (Bogousslavsky & Muravyev 2023, "Who trades at the close?
Implications for price discovery and liquidity", J. Financial Markets). Two kinds of member:

* **Index funds** (``n_index``). Each day each fund has a rebalancing order (creations and
  redemptions, index changes) of ``q ~ N(0, index_flow * V)`` shares, ``V`` the shares traded so
  far today, so the flow keeps its share of the day's volume whatever the market's size. Buyers
  and sellers are independent funds, so most of the flow pairs off in the cross and only the net
  imbalance moves the close. A fund sends a limit-on-close order (LOC) whose limit lies a
  uniform fraction of ``index_limit_bp`` beyond the last trade (buyers above, sellers below);
  those limits are the call's own depth, which prices the imbalance instead of letting it run to
  the collar. ``index_limit_bp`` 0 makes them market-on-close orders (MOC).
* **Leveraged ETFs** (``n_letf``, ``letf_aum`` each, leverage ``letf_leverage``). A fund that
  keeps a constant leverage ``L`` must trade ``AUM * (L^2 - L) * r_day`` of currency at the
  close, ``r_day`` the day's return (last trade over the previous close, minus 1); ``L^2 - L > 0``
  for leveraged and inverse funds alike, so they buy after up days and sell after down days,
  short-gamma flow (Cheng & Madhavan 2009, "The dynamics of leveraged and inverse exchange-traded
  funds", J. Investment Management). Sent as MOC orders; AUM is held fixed over the run.

Timing: every member sends its day's order once, at its first Poisson activation in the
window from ``window_seconds`` to ``cutoff_seconds`` before the close; whoever has not sent it by
the cutoff sends it then (a fund does not miss its close). With the default closing call
(``market.auctions.close_seconds``) covering the window, the orders are collected by the call
and cross in the closing uncross; a market order sent during a call joins it at the collar edge
(:mod:`market.exchange.auctions`). Without a closing call the same orders trade in the last
minute of continuous trading. Whatever is left after the close is cancelled.
Side +1 buys; quantities in shares; prices in currency unless named ticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import Participant, Population
from agents.world import World
from market.exchange.clock import SECONDS_PER_DAY, time_of_day
from market.validation import ConfigError, Validated, param

INDEX, LETF = "index", "letf"


@dataclass
class ClosingFlowConfig(Validated):
    """Parameters of the closing-flow population (see the module docstring)."""

    config_path: ClassVar[str] = "agents.closing_flow"

    enabled: bool = param(True, choices=(True, False), doc="the closing flow trades at all")
    n_index: int = param(20, lo=0, hi=10_000, unit="funds", doc="index funds")
    index_flow: float = param(
        0.011,
        lo=0.0,
        hi=1.0,
        unit="fraction of the day's volume so far",
        doc="s.d. of one index fund's daily order",
    )
    index_limit_bp: float = param(
        30.0,
        lo=0.0,
        hi=1000.0,
        unit="bp",
        doc="an index fund's limit lies up to this far beyond the last trade (0: market orders)",
    )
    n_letf: int = param(2, lo=0, hi=1000, unit="funds", doc="leveraged ETFs")
    # at most 1e12 (the largest funds of any kind hold about 5e11): a rebalance trades
    # `AUM (L^2 - L) r` of value, at most 3e13 on a day's return r of 1 with |L| <= 5, far
    # inside the 1e15 an order may be worth for the ledger's 64-bit integer cents
    letf_aum: float = param(
        5e7, lo=0.0, hi=1e12, unit="currency", doc="assets of one leveraged ETF (held fixed)"
    )
    letf_leverage: float = param(
        3.0, lo=-5.0, hi=5.0, unit="x", doc="daily leverage L; inverse funds are negative"
    )
    window_seconds: float = param(
        50.0,
        lo=0.0,
        hi=3600.0,
        lo_open=True,
        unit="s before the close",
        doc="orders are sent from this long before the close (keep it inside the closing call)",
    )
    cutoff_seconds: float = param(
        5.0,
        lo=1.0,
        hi="window_seconds",
        unit="s before the close",
        doc="every order is in by this long before the close (the MOC/LOC cutoff)",
    )
    rate: float = param(
        0.1,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="actions/s",
        doc="a member's activity in the window; the first activation sends its order",
    )

    def check(self) -> None:
        if 0.0 < self.letf_leverage < 1.0 or self.letf_leverage == 1.0:
            raise ConfigError(
                "agents.closing_flow.letf_leverage must be <= 0 or > 1 (a leveraged or inverse "
                f"fund), got {self.letf_leverage}"
            )


def letf_rebalance(aum: float, leverage: float, r_day: float, price: float) -> int:
    """Shares a constant-leverage fund trades at the close: ``AUM (L^2 - L) r_day / price``.

    ``aum`` and ``price`` in currency, ``r_day`` the day's simple return (decimal); positive =
    buy. Cheng & Madhavan (2009).
    """
    if price <= 0.0:
        raise ConfigError(f"price must be > 0, got {price}")
    return round(aum * (leverage * leverage - leverage) * r_day / price)


def index_order(stream: np.random.Generator, flow: float, volume_today: float) -> int:
    """One index fund's order for the day: ``N(0, flow * volume_today)`` shares, rounded."""
    return round(float(stream.normal(0.0, flow * volume_today))) if volume_today > 0 else 0


class ClosingFund(Participant):
    """An index fund or a leveraged ETF: one order a day, sent into the close."""

    population = "closing_flow"

    def __init__(
        self, world: World, stream: np.random.Generator, cfg: ClosingFlowConfig, kind: str
    ) -> None:
        super().__init__(world, stream, cfg.rate)
        self.cfg = cfg
        self.kind = kind
        self.prev_close = world.initial_price
        self.sent_day = -1
        self.sent = 0  # signed shares sent over the run
        self.sent_gross = 0  # shares sent over the run, either side
        self.orders: list[int] = []

    def in_window(self) -> bool:
        """Whether now lies between the window's start and the cutoff."""
        left = SECONDS_PER_DAY - time_of_day(self.world.now)
        return self.cfg.cutoff_seconds <= left <= self.cfg.window_seconds

    def act(self) -> None:
        if self.in_window() and self.sent_day != self.world.day:
            self.send()

    def quantity(self) -> int:
        """Today's signed order in shares (the module docstring's rule for this kind)."""
        w = self.world
        if self.kind == LETF:
            last = w.state.last
            return letf_rebalance(
                self.cfg.letf_aum, self.cfg.letf_leverage, last / self.prev_close - 1.0, last
            )
        today = w.state.volume(time_of_day(w.now) + w.dt)
        return index_order(self.stream, self.cfg.index_flow, today)

    def send(self) -> None:
        """Send today's order (once a day; nothing when it rounds to zero shares)."""
        w = self.world
        self.sent_day = w.day
        q = self.quantity()
        if q == 0:
            return
        side, qty = (1 if q > 0 else -1), abs(q)
        if self.kind == INDEX and self.cfg.index_limit_bp > 0.0:
            beyond = side * self.stream.uniform() * self.cfg.index_limit_bp * 1e-4
            oid: int | None = w.venue.limit(
                self.account, side, w.to_ticks(w.state.last * (1.0 + beyond)), qty
            )
        else:
            oid = w.venue.market(self.account, side, qty)
        if oid is not None:
            self.orders.append(oid)
            self.sent += q
            self.sent_gross += qty

    def on_close(self, day: int) -> None:
        for oid in self.orders:
            self.world.venue.cancel(oid)  # a close order never outlives its close
        self.orders.clear()
        self.prev_close = self.world.state.last


class ClosingFlowPopulation(Population):
    """The index funds and leveraged ETFs; at the cutoff, every late member sends its order."""

    name = "closing_flow"

    def __init__(self, cfg: Any, stream: np.random.Generator, funds: list[ClosingFund]) -> None:
        super().__init__(cfg, stream, list[Participant](funds))
        #: the members, typed (the same objects as ``members``)
        self.funds = funds

    @classmethod
    def build(
        cls, world: World, cfg: ClosingFlowConfig, stream: np.random.Generator
    ) -> ClosingFlowPopulation:
        funds = [ClosingFund(world, stream, cfg, INDEX) for _ in range(cfg.n_index)]
        funds += [ClosingFund(world, stream, cfg, LETF) for _ in range(cfg.n_letf)]
        return cls(cfg, stream, funds)

    def observe(self, world: World) -> None:
        left = SECONDS_PER_DAY - time_of_day(world.now)
        if left <= self.cfg.cutoff_seconds < left + world.dt:  # the cutoff's step
            for m in self.funds:
                if m.sent_day != world.day:
                    m.send()

    def summary(self) -> dict[str, Any] | None:
        if not self.members:
            return None
        out: dict[str, Any] = {}
        for kind in (INDEX, LETF):
            funds = [m for m in self.funds if m.kind == kind]
            out[f"{kind}_net_shares"] = sum(m.sent for m in funds)
            out[f"{kind}_gross_shares"] = sum(m.sent_gross for m in funds)
        return out
