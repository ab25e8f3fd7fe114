"""Portfolio insurers: CPPI and synthetic-put replication that sell into declines.

Each insurer runs one of two dynamic strategies on its own account (cash plus shares of the one
underlying), the way 1987's portfolio insurers did (Brady report 1988):

* **CPPI** (constant proportion portfolio insurance): with portfolio value ``V`` (currency, marked
  at the mid) and a floor ``F = cppi_floor * V0``, the target equity exposure is
  ``E = cppi_multiplier * max(V - F, 0)``, capped at ``max_leverage * V``.
* **Synthetic put**: the insurer's initial wealth buys ``N0`` units of "stock plus a protective
  put" (strike ``K = put_strike * S0``, horizon ``put_horizon_days`` from the first open, Black-
  Scholes-Merton at ``put_vol``), ``N0 = V0 / (S0 + P0)``. Replicating the put means holding
  ``N0 * (1 + put delta)`` shares (the stock-plus-put delta; ``= N(d1)`` with no dividend yield)
  and the rest in cash.

Both sell as the price falls and buy as it rises. They rebalance either when the target is more
than ``threshold`` of the portfolio value away from the holding (``rebalance=threshold``) or on a
fixed schedule every ``schedule_s`` seconds (``rebalance=schedule``). Orders are market orders or
aggressive IOC limits, each capped by an execution capacity (``max_shares_per_action`` and
optionally ``max_participation`` of recent market volume), so when the model demands large sales
in a decline, execution lags: every insurer records what its model **demanded** and what it
actually **executed**, separately.

Units and signs: shares are shares, side +1 buy / -1 sell; ``demanded``, ``executed`` and
``backlog`` are signed share counts (negative = sales); money in currency.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from agents.base import Participant, Population, as_enum
from agents.world import World
from market.exchange.clock import SECONDS_PER_YEAR, TRADING_DAYS_PER_YEAR
from market.options.pricing import as_checked_array, bs_delta, bs_price
from market.validation import Validated, param


class InsurerStrategy(Enum):
    """The replication rule an insurer follows."""

    cppi = "cppi"
    synthetic_put = "synthetic_put"


class RebalanceMode(Enum):
    """When an insurer re-evaluates its target: a no-trade band or a fixed schedule."""

    threshold = "threshold"
    schedule = "schedule"


class InsurerOrderStyle(Enum):
    """How an insurer executes: market orders, or IOC limits a few ticks through the far touch."""

    market = "market"
    aggressive_limit = "aggressive_limit"


@dataclass
class InsurersConfig(Validated):
    """Parameters of the portfolio-insurer population (see the module docstring).

    ``V`` is an insurer's portfolio value at the mid (currency).
    """

    config_path: ClassVar[str] = "agents.insurers"

    n: int = param(
        10,
        lo=0,
        hi=100_000,
        unit="agents",
        doc="number of insurers; plausible: a few dozen managers ran portfolio insurance in "
        "1987, three of them most of it (Brady report 1988)",
        plausible=(3, 40),
    )
    rate: float = param(
        0.1, lo=0.0, hi=100.0, lo_open=True, unit="actions/s", doc="looks at the market per insurer"
    )
    static: bool = param(
        False,
        choices=(True, False),
        doc="control arm: hold the initial position and never trade (demand still recorded)",
    )
    cppi_share: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="the first `round(n * share)` run CPPI, the rest replicate a put",
    )
    wealth_fraction: float = param(
        0.05,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="fraction",
        doc="combined initial wealth as a share of the market value of `shares_outstanding`, "
        "split equally; plausible: $60-90 bn insured against a US market of about $3 tn in "
        "October 1987, 2-3% (Brady report 1988), at most 5%",
        plausible=(0.01, 0.05),
    )
    shares_outstanding: int | None = param(
        None,
        lo=1,
        hi=10**15,
        optional=True,
        unit="shares",
        doc="the base of `wealth_fraction`; `null` = the shares endowed to the populations "
        "built before",
    )
    cppi_floor: float = param(
        0.75,
        lo=0.0,
        hi=1.0,
        hi_open=True,
        unit="fraction of initial wealth",
        doc="CPPI floor `F`; plausible: floors of 70-95% of the initial value (Black and Perold "
        "1992)",
        plausible=(0.7, 0.95),
    )
    cppi_multiplier: float = param(
        4.0,
        lo=0.0,
        hi=50.0,
        lo_open=True,
        unit="multiple",
        doc="CPPI exposure = this * `max(V - F, 0)`; plausible: practitioners' multipliers of "
        "2-6 (Black and Perold 1992)",
        plausible=(2.0, 6.0),
    )
    max_leverage: float = param(
        1.0,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="multiple of `V`",
        doc="cap on equity exposure; 1 = no borrowing",
    )
    put_strike: float = param(
        0.95,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="fraction of initial price",
        doc="strike of the replicated put",
    )
    put_horizon_days: float = param(
        252.0,
        lo=0.0,
        hi=10_000.0,
        lo_open=True,
        unit="trading days",
        doc="expiry of the replicated put, from the first open",
    )
    put_vol: float = param(
        0.20,
        lo=0.0,
        hi=5.0,
        lo_open=True,
        unit="annualised",
        doc="volatility of the put's Black-Scholes price and delta",
    )
    interest_rate: float = param(
        0.0,
        lo=-1.0,
        hi=1.0,
        unit="annual, continuous",
        doc="rate in the put's Black-Scholes (used nowhere else)",
    )
    dividend_yield: float = param(
        0.0,
        lo=-1.0,
        hi=1.0,
        unit="annual, continuous",
        doc="dividend yield in the put's Black-Scholes",
    )
    rebalance: RebalanceMode = param(
        RebalanceMode.threshold,
        choices=RebalanceMode,
        doc="`threshold` (when `|target - held| * price > threshold * V`) or `schedule`",
    )
    threshold: float = param(
        0.02,
        lo=0.0,
        hi=1.0,
        unit="fraction of `V`",
        doc="no-trade band; inside it an unexecuted older demand is dropped",
    )
    schedule_s: float = param(
        300.0,
        lo=0.0,
        hi=10**7,
        lo_open=True,
        unit="s",
        doc="`schedule`: time between rebalances; each insurer's first falls in [0, `schedule_s`)",
    )
    order_style: InsurerOrderStyle = param(
        InsurerOrderStyle.market,
        choices=InsurerOrderStyle,
        doc="`market` orders or `aggressive_limit` (IOC through the far touch)",
    )
    aggression_ticks: int = param(
        10,
        lo=0,
        hi=10**6,
        unit="ticks",
        doc="how far through the far touch an `aggressive_limit` order is priced",
    )
    # at most 1e9 shares, as a parent order: at the largest initial price (1e6) an order is
    # worth at most 1e15, which one trade can move through the ledger's 64-bit integer cents
    max_shares_per_action: int = param(
        2_000, lo=1, hi=10**9, unit="shares", doc="largest order per action"
    )
    max_participation: float | None = param(
        0.2,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        optional=True,
        unit="fraction",
        doc="own fills at most this share of market volume over `participation_window_s`; "
        "`null` = no cap; plausible: insurers sold 12-24% of the futures volume on 19 October "
        "1987 (Brady report 1988), so caps of 5-30%",
        plausible=(0.05, 0.3),
    )
    participation_window_s: float = param(
        60.0, lo=0.0, hi=86_400.0, lo_open=True, unit="s", doc="window of that cap"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # the insurers compare against members, while a config file gives the values
        p = self.config_path
        self.rebalance = as_enum(f"{p}.rebalance", self.rebalance, RebalanceMode)
        self.order_style = as_enum(f"{p}.order_style", self.order_style, InsurerOrderStyle)


# ---------------------------------------------------------------------------- pure functions
def cppi_exposure(value, floor, multiplier, max_leverage=1.0):
    """CPPI target equity exposure in currency, ``min(m * max(V - F, 0), lev * max(V, 0))``.

    ``value`` (portfolio value V) and ``floor`` (F) in currency, ``lev = max_leverage``;
    broadcasts over arrays and returns a float for all-scalar input.
    """
    v = as_checked_array("value", value)
    f = as_checked_array("floor", floor, at_least=0.0)
    m = as_checked_array("multiplier", multiplier, above=0.0)
    lev = as_checked_array("max_leverage", max_leverage, above=0.0)
    out = np.minimum(m * np.maximum(v - f, 0.0), lev * np.maximum(v, 0.0))
    return float(out) if out.ndim == 0 else out


def synthetic_put_equity_fraction(spot, strike, t, vol, rate=0.0, div=0.0):
    """Shares held per insured unit when replicating a protective put: ``1 + put delta``.

    An insured unit is one share plus one put of strike ``strike``; holding ``1 + delta_put``
    shares (and cash) replicates it, so ``-delta_put`` of the original stock has been sold.
    ``t`` in trading years; ``rate``, ``div`` continuous annual rates. With ``div = 0`` the result
    is ``N(d1)``. Broadcasts; a float for all-scalar input.
    """
    return 1.0 + bs_delta(spot, strike, t, vol, rate, div, call=False)


# ---------------------------------------------------------------------------- the agent
class PortfolioInsurer(Participant):
    """One insurer. Public figures (signed shares; negative = selling):

    - ``demanded``: cumulative trade the model has called for (its latest target minus the
      initial holding);
    - ``executed``: cumulative shares actually traded (sum of its fills);
    - ``backlog``: ``demanded - executed``;
    - ``strategy``: ``"cppi"`` or ``"synthetic_put"``; ``n_rebalances``, ``n_orders``.
    """

    population = "insurers"
    wants_fills = True

    def __init__(
        self,
        world: World,
        stream: np.random.Generator,
        rate: float,
        cfg: InsurersConfig,
        strategy: InsurerStrategy,
        wealth: float,
        first_rebalance: float = 0.0,
    ) -> None:
        super().__init__(world, stream, rate)
        if not (wealth > 0.0 and math.isfinite(wealth)):
            raise ValueError(f"insurers: initial wealth must be finite and > 0, got {wealth}")
        self.cfg = cfg
        self.strategy = InsurerStrategy(strategy).value
        self._is_cppi = self.strategy == InsurerStrategy.cppi.value
        self.static = cfg.static
        s0 = world.initial_price
        self.initial_wealth = float(wealth)
        self.floor = cfg.cppi_floor * wealth
        self.strike = cfg.put_strike * s0
        self.horizon_years = cfg.put_horizon_days / TRADING_DAYS_PER_YEAR
        put0 = bs_price(
            s0,
            self.strike,
            self.horizon_years,
            cfg.put_vol,
            cfg.interest_rate,
            cfg.dividend_yield,
            call=False,
        )
        self.insured_units = wealth / (s0 + put0)
        self._put_key: tuple[float, int] | None = None
        self._put_fraction = 1.0
        shares0 = self.target_shares(s0, 0.0, wealth)
        self.initial_shares = shares0
        self.initial_cash = wealth - shares0 * s0
        self.target = shares0
        self.demanded = 0
        self.executed = 0
        self.n_rebalances = 0
        self.n_orders = 0
        self.next_rebalance = float(first_rebalance)
        self._recent: deque = deque()  # (time, qty) of own fills, for the participation cap
        self._recent_qty = 0

    @property
    def backlog(self) -> int:
        """Demanded minus executed, signed shares (negative = sales still to do)."""
        return self.demanded - self.executed

    @property
    def held(self) -> int:
        """Shares held now: the initial holding plus everything executed."""
        return self.initial_shares + self.executed

    def target_shares(self, price: float, now: float, value: float) -> int:
        """The strategy's target holding in shares at ``price`` (currency), time ``now`` (clock
        seconds) and portfolio value ``value`` (currency; used by CPPI only)."""
        cfg = self.cfg
        if self._is_cppi:
            exposure = min(
                cfg.cppi_multiplier * max(value - self.floor, 0.0),
                cfg.max_leverage * max(value, 0.0),
            )
            return int(exposure / price)
        # Delta moves little within a minute at an unchanged price, and Black-Scholes is the
        # costly part of an action, so it is reused until the mid or the minute changes.
        key = (price, int(now // 60.0))
        if key != self._put_key:
            # Past the horizon the put has expired; a one-second remainder keeps delta defined
            # (it is then the step function, i.e. all stock above the strike, none below).
            t = max(self.horizon_years - now / SECONDS_PER_YEAR, 1.0 / SECONDS_PER_YEAR)
            self._put_fraction = 1.0 + bs_delta(
                price, self.strike, t, cfg.put_vol, cfg.interest_rate, cfg.dividend_yield, False
            )
            self._put_key = key
        return int(self.insured_units * self._put_fraction)

    def portfolio_value(self, price: float) -> float:
        """Cash plus shares marked at ``price``, in currency (from the ledger)."""
        ledger = self.world.ledger
        a = self.account
        return ledger.cash[a] / 100.0 + int(ledger.shares[a]) * price

    def capacity(self) -> int:
        """Largest order this action may send (shares), from the per-action and volume caps."""
        cfg = self.cfg
        cap = cfg.max_shares_per_action
        if cfg.max_participation is not None:
            world = self.world
            window = cfg.participation_window_s
            recent = self._recent
            cutoff = world.now - window
            while recent and recent[0][0] < cutoff:
                self._recent_qty -= recent.popleft()[1]
            allowed = cfg.max_participation * world.state.volume(window) - self._recent_qty
            cap = min(cap, int(allowed))
        return max(cap, 0)

    def act(self) -> None:
        world = self.world
        now = world.now
        price = world.state.mid
        cfg = self.cfg
        held = self.initial_shares + self.executed
        if cfg.rebalance is RebalanceMode.schedule:
            if now >= self.next_rebalance:
                self.target = self.target_shares(price, now, self.portfolio_value(price))
                self.n_rebalances += 1
                self.next_rebalance = now + cfg.schedule_s
        else:
            value = self.portfolio_value(price)
            target = self.target_shares(price, now, value)
            band = cfg.threshold * value
            if abs(target - held) * price > band:
                self.target = target
                self.n_rebalances += 1
            elif self.target != held:
                # Inside the band the model is content with the current holding, so an
                # unexecuted remainder of an older demand is dropped rather than worked.
                self.target = held
        self.demanded = self.target - self.initial_shares
        if self.static:
            return
        gap = self.target - held
        if gap == 0 or world.book_view.halted:
            return
        qty = min(abs(gap), self.capacity())
        if qty <= 0:
            return
        side = 1 if gap > 0 else -1
        if cfg.order_style is InsurerOrderStyle.market:
            world.venue.market(self.account, side, qty)
        else:
            book = world.book_view
            far = book.best_ask if side > 0 else book.best_bid
            if far is None:
                return
            limit = max(1, far + side * cfg.aggression_ticks)
            world.venue.ioc(self.account, side, limit, qty)
        self.n_orders += 1

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        self.executed += side * qty
        if self.cfg.max_participation is not None:
            self._recent.append((self.world.now, qty))
            self._recent_qty += qty


def insurer_totals(members: list[PortfolioInsurer], price: float) -> dict[str, float]:
    """Population figures: signed shares demanded / executed / backlog, and their currency value
    at ``price``, split by strategy (``cppi_*``, ``synthetic_put_*``) and in total."""
    out: dict[str, float] = {}
    for key in ("demanded", "executed", "backlog"):
        total = 0
        for strat in InsurerStrategy:
            s = sum(getattr(m, key) for m in members if m.strategy == strat.value)
            out[f"{strat.value}_{key}"] = float(s)
            total += s
        out[key] = float(total)
        out[f"{key}_value"] = float(total * price)
    return out


class InsurersPopulation(Population):
    """The portfolio insurers; records what their models demanded and what they executed."""

    name = "insurers"
    RECORDED: ClassVar[dict[str, str]] = {
        "insurer_demanded": "demanded",
        "insurer_executed": "executed",
    }

    @classmethod
    def build(
        cls, world: World, cfg: InsurersConfig, stream: np.random.Generator
    ) -> InsurersPopulation:
        return cls(cfg, stream, list(populate(world, cfg, stream)))


def populate(
    world: World, cfg: InsurersConfig, stream: np.random.Generator
) -> list[PortfolioInsurer]:
    """Build ``cfg.n`` insurers sharing ``cfg.wealth_fraction`` of the market equally.

    The first ``round(n * cppi_share)`` run CPPI, the rest replicate a put. With scheduled
    rebalancing each insurer's first rebalance is drawn uniformly in ``[0, schedule_s)`` so they do
    not all trade in the same second.
    """
    if cfg.n == 0:
        return []
    s0 = world.initial_price
    base = cfg.shares_outstanding
    if base is None:
        base = world.shares_endowed()
        if base <= 0:
            raise ValueError(
                "agents.insurers.shares_outstanding is None but the populations built before the "
                "insurers hold no shares; set agents.insurers.shares_outstanding to an integer >= 1"
            )
    wealth = cfg.wealth_fraction * base * s0 / cfg.n
    n_cppi = round(cfg.n * cfg.cppi_share)
    offsets = stream.uniform(0.0, cfg.schedule_s, cfg.n)
    members = []
    for i in range(cfg.n):
        strategy = InsurerStrategy.cppi if i < n_cppi else InsurerStrategy.synthetic_put
        members.append(
            PortfolioInsurer(
                world, stream, cfg.rate, cfg, strategy, wealth, first_rebalance=float(offsets[i])
            )
        )
    return members
