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

from agents.base import Participant, Population
from agents.world import World
from market.exchange.clock import SECONDS_PER_YEAR, TRADING_DAYS_PER_YEAR
from market.options.pricing import as_checked_array, bs_delta, bs_price


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


def _check(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False) -> None:
    # Imported here: experiments.config imports this module for the schema.
    from experiments.config import check_range

    check_range(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


@dataclass
class InsurersConfig:
    """Parameters of the portfolio-insurer population (times in seconds, fractions in [0, 1]).

    - ``n``: number of insurers; ``rate``: how often each one looks at the market (per second).
    - ``static``: control arm; insurers hold their initial position and never trade (their model
      still computes what it would have demanded).
    - ``cppi_share``: fraction of the insurers running CPPI (the rest replicate a put).
    - ``wealth_fraction``: the insurers' combined initial wealth as a fraction of the market value
      (at the initial price) of ``shares_outstanding``.
    - ``shares_outstanding``: the share count that fraction refers to; ``None`` = the shares
      endowed to the populations built before the insurers.
    - ``cppi_floor`` (fraction of initial wealth), ``cppi_multiplier``, ``max_leverage`` (cap on
      equity exposure as a multiple of portfolio value, 1 = no borrowing).
    - ``put_strike`` (fraction of the initial price), ``put_horizon_days`` (trading days from the
      first open), ``put_vol`` (annualised), ``interest_rate``, ``dividend_yield`` (annualised,
      continuous, trading-time year).
    - ``rebalance``: ``threshold`` (rebalance when ``|target - held| * price > threshold * V``) or
      ``schedule`` (every ``schedule_s`` seconds).
    - ``order_style``: ``market`` or ``aggressive_limit`` (IOC ``aggression_ticks`` through the
      far touch).
    - ``max_shares_per_action``; ``max_participation``: cap on the insurer's own share of market
      volume over the last ``participation_window_s`` seconds (``None`` = no such cap).
    """

    n: int = 10
    rate: float = 0.1
    static: bool = False
    cppi_share: float = 0.5
    wealth_fraction: float = 0.05
    shares_outstanding: int | None = None
    cppi_floor: float = 0.75
    cppi_multiplier: float = 4.0
    max_leverage: float = 1.0
    put_strike: float = 0.95
    put_horizon_days: float = 252.0
    put_vol: float = 0.20
    interest_rate: float = 0.0
    dividend_yield: float = 0.0
    rebalance: RebalanceMode = RebalanceMode.threshold
    threshold: float = 0.02
    schedule_s: float = 300.0
    order_style: InsurerOrderStyle = InsurerOrderStyle.market
    aggression_ticks: int = 10
    max_shares_per_action: int = 2_000
    max_participation: float | None = 0.2
    participation_window_s: float = 60.0

    def __post_init__(self) -> None:
        p = "agents.insurers."
        _check(p + "n", self.n, 0, 100_000)
        _check(p + "rate", self.rate, 0.0, 100.0, lo_open=True)
        if not isinstance(self.static, bool):
            raise ValueError(f"{p}static must be true or false, got {self.static!r}")
        _check(p + "cppi_share", self.cppi_share, 0.0, 1.0)
        _check(p + "wealth_fraction", self.wealth_fraction, 0.0, 100.0, lo_open=True)
        if self.shares_outstanding is not None:
            _check(p + "shares_outstanding", self.shares_outstanding, 1, 10**15)
        _check(p + "cppi_floor", self.cppi_floor, 0.0, 1.0, hi_open=True)
        _check(p + "cppi_multiplier", self.cppi_multiplier, 0.0, 50.0, lo_open=True)
        _check(p + "max_leverage", self.max_leverage, 0.0, 10.0, lo_open=True)
        _check(p + "put_strike", self.put_strike, 0.0, 10.0, lo_open=True)
        _check(p + "put_horizon_days", self.put_horizon_days, 0.0, 10_000.0, lo_open=True)
        _check(p + "put_vol", self.put_vol, 0.0, 5.0, lo_open=True)
        _check(p + "interest_rate", self.interest_rate, -1.0, 1.0)
        _check(p + "dividend_yield", self.dividend_yield, -1.0, 1.0)
        self.rebalance = RebalanceMode(self.rebalance)
        self.order_style = InsurerOrderStyle(self.order_style)
        _check(p + "threshold", self.threshold, 0.0, 1.0)
        _check(p + "schedule_s", self.schedule_s, 0.0, 10**7, lo_open=True)
        _check(p + "aggression_ticks", self.aggression_ticks, 0, 10**6)
        _check(p + "max_shares_per_action", self.max_shares_per_action, 1, 10**12)
        if self.max_participation is not None:
            _check(p + "max_participation", self.max_participation, 0.0, 1.0, lo_open=True)
        _check(p + "participation_window_s", self.participation_window_s, 0.0, 86_400.0,
               lo_open=True)


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

    def __init__(self, world: World, stream: np.random.Generator, rate: float,
                 cfg: InsurersConfig, strategy: InsurerStrategy, wealth: float,
                 first_rebalance: float = 0.0) -> None:
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
        put0 = bs_price(s0, self.strike, self.horizon_years, cfg.put_vol, cfg.interest_rate,
                        cfg.dividend_yield, call=False)
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
            exposure = min(cfg.cppi_multiplier * max(value - self.floor, 0.0),
                           cfg.max_leverage * max(value, 0.0))
            return int(exposure / price)
        # Delta moves little within a minute at an unchanged price, and Black-Scholes is the
        # costly part of an action, so it is reused until the mid or the minute changes.
        key = (price, int(now // 60.0))
        if key != self._put_key:
            # Past the horizon the put has expired; a one-second remainder keeps delta defined
            # (it is then the step function, i.e. all stock above the strike, none below).
            t = max(self.horizon_years - now / SECONDS_PER_YEAR, 1.0 / SECONDS_PER_YEAR)
            self._put_fraction = 1.0 + bs_delta(price, self.strike, t, cfg.put_vol,
                                                cfg.interest_rate, cfg.dividend_yield, False)
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
        members.append(PortfolioInsurer(world, stream, cfg.rate, cfg, strategy, wealth,
                                        first_rebalance=float(offsets[i])))
    return members
