"""The hedgeloop model: the clock, the scheduled events, the populations and the shared book.

One :class:`HedgeLoopModel` step is ``market.step_seconds`` of trading. In a step the model

1. opens a new day or settles the close (expiries, then every agent's ``on_close``),
2. fires the scenario events that are due (fundamental shocks, desk parent orders, volatility
   surface shifts, rule changes),
3. lets the trading rules look at the book (halts start and end, reopening auctions),
4. moves the fundamental value one step,
5. draws which agents act from their Poisson clocks (one vectorised draw per population) and calls
   only those, in a random order,
6. cancels orders whose lifetime ran out, updates :class:`market.exchange.market_state.MarketState`, and
7. records a row every ``market.record_interval`` seconds with Mesa's DataCollector.

Cost grows with the number of actions, not with agents x steps. Every print is settled in the
ledger the moment it happens (through :class:`market.exchange.venue.Venue`), so cash, shares and option
positions stay conserved; :meth:`HedgeLoopModel.finish` checks that and raises if not.

Randomness: Mesa's generators come from ``seed``; every population (and the fundamental, and the
activation clocks) gets its own stream from ``SeedSequence(seed, spawn_key=(crc32(name),))``, so
adding or resizing one population leaves every other population's draws unchanged.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Iterable

import mesa
import numpy as np

from agents import background, customers, dealers, desk, insurers, liquidity
from agents.base import Participant
from experiments.config import EventConfig, EventKind, RunConfig
from market.exchange.clearing import Ledger
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.exchange.market_state import MarketState
from market.exchange.order_book import OrderBook, Trade
from market.exchange.rules import LimitUpLimitDown, MarketWideCircuitBreaker, StopLogic
from market.exchange.venue import Venue
from market.options.chain import OptionChain
from market.options.surface import VolSurface

#: population name -> the agent module that builds it (its ``populate(model, cfg, stream)``)
POPULATIONS = {
    "background": background,
    "liquidity": liquidity,
    "customers": customers,
    "dealers": dealers,
    "insurers": insurers,
    "desk": desk,
}
POPULATION_NAMES = tuple(POPULATIONS)


def population_stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of population ``name``: independent of every other population's."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),))
    )


class PopulationClock:
    """Poisson activity clocks of one population, drawn in one vectorised call per step."""

    def __init__(self, members: list[Participant], stream: np.random.Generator) -> None:
        self.members = members
        self.stream = stream
        rates = np.array([m.rate for m in members], dtype=float)
        self.total_rate = float(rates.sum())
        self.uniform = bool(rates.size and np.all(rates == rates[0]))
        self.p = rates / self.total_rate if self.total_rate > 0 else None
        self.cls = type(members[0]) if members else None

    def draw(self, dt: float, model: mesa.Model) -> list[Participant]:
        if self.total_rate <= 0.0:
            return []
        lam = self.total_rate * dt * self.cls.activity_multiplier(model)
        k = self.stream.poisson(lam) if lam > 0 else 0
        if k == 0:
            return []
        n = len(self.members)
        idx = self.stream.integers(0, n, k) if self.uniform else self.stream.choice(n, k, p=self.p)
        m = self.members
        return [m[i] for i in idx]


class HedgeLoopModel(mesa.Model):
    """Every participant trading one underlying through one shared order book.

    Public attributes agents use: ``venue`` (orders), ``state`` (observations), ``ledger``,
    ``chain`` (listed options and open interest), ``surface`` (implied vols), ``fundamental``
    (currency), ``now`` (seconds since the first open), ``day``, ``tick`` (currency per tick),
    ``cfg`` (the run config).
    """

    def __init__(self, cfg: RunConfig) -> None:
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        m = cfg.market
        self.tick = m.tick_size
        self.cents_per_tick = round(m.tick_size * 100)
        self.dt = m.step_seconds
        self.days = cfg.scenario.days
        self.n_steps = round(self.days * SECONDS_PER_DAY / self.dt)
        self.steps_per_day = round(SECONDS_PER_DAY / self.dt)
        self.now = 0.0
        self.day = 0
        self.fundamental = m.initial_price
        self.prev_close = m.initial_price
        self.closes: list[float] = []

        self.book = OrderBook(tick_size=m.tick_size)
        self.rules = self._build_rules()
        self.venue = Venue(self.book, self.rules.values(), on_trade=self._on_trade)
        self.state = MarketState(
            self.book, m.initial_price, self.dt, self.n_steps, initial_vol=m.surface.atm_vol
        )
        self.surface = VolSurface.from_params(
            atm_vol=m.surface.atm_vol,
            skew=m.surface.skew,
            curvature=m.surface.curvature,
            term_slope=m.surface.term_slope,
        )
        self.chain = OptionChain.listed(
            spot=m.initial_price,
            strikes_pct=100.0 * m.chain.strike_step_pct * m.chain.n_strikes_each_side,
            expiry_days=list(m.chain.expiry_days),
            strike_step=m.initial_price * m.chain.strike_step_pct,
            multiplier=m.chain.multiplier,
        )

        # populations, each from its own stream; the ledger is sized once they exist
        self.populations: dict[str, list[Participant]] = {}
        for name, module in POPULATIONS.items():
            pop_cfg = cfg.desk if name == "desk" else getattr(cfg.agents, name)
            if getattr(pop_cfg, "n", 1) == 0 or not getattr(pop_cfg, "enabled", True):
                members = []  # an empty or switched-off population is not built at all
            else:
                members = module.populate(self, pop_cfg, population_stream(cfg.seed, name))
            self.populations[name] = members
        n_accounts = max((a.unique_id for a in self.agents), default=0) + 1
        self.ledger = Ledger(n_accounts, len(self.chain), multiplier=m.chain.multiplier)
        # accounts outside every population (e.g. a clearing account) count as "other"
        self.population_of = np.full(n_accounts, len(POPULATIONS), dtype=np.int64)
        for p, (_name, members) in enumerate(self.populations.items()):
            for a in members:
                self.population_of[a.unique_id] = p
                self.ledger.endow(a.unique_id, cash=a.initial_cash, shares=a.initial_shares)
        self._listeners = {a.unique_id: a for a in self.agents if a.wants_fills}
        if self.populations["dealers"]:
            self.chain.designate_dealers(a.unique_id for a in self.populations["dealers"])
        self.clocks = [
            PopulationClock(ms, population_stream(cfg.seed, f"clock:{name}"))
            for name, ms in self.populations.items()
            if ms
        ]

        n_pop = len(POPULATIONS) + 1
        self.pop_volume = np.zeros(n_pop, dtype=np.int64)
        self.pop_net = np.zeros(n_pop, dtype=np.int64)
        self.flow_window = 1800.0
        self.flow_matrices: dict[int, np.ndarray] = {}
        self.option_volume = 0

        self._fund_stream = population_stream(cfg.seed, "fundamental")
        self._set_fundamental_vol(m.fundamental_vol)
        self._expiries: list[tuple[float, int, int]] = []  # (time, seq, order id)
        self._seq = 0
        self._events = self._schedule_events(cfg.scenario.events)
        self._record_every = max(1, round(m.record_interval / self.dt))
        self._last_record_volume = 0.0
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ wiring
    def _build_rules(self) -> dict:
        r = self.cfg.market.rules
        tick = self.cfg.market.tick_size
        rules: dict = {}
        if r.circuit_breakers:
            rules["circuit_breakers"] = MarketWideCircuitBreaker(
                self.prev_close,
                pcts=tuple(r.cb_levels),
                halt_seconds=r.cb_halt_seconds,
                cutoff=r.cb_cutoff,
                tick_size=tick,
            )
        if r.luld:
            rules["luld"] = LimitUpLimitDown(
                band_pct=r.luld_band_pct,
                limit_state_seconds=r.luld_limit_state_seconds,
                pause_seconds=r.luld_pause_seconds,
                tick_size=tick,
            )
        if r.stop_logic:
            rules["stop_logic"] = StopLogic(
                max_move=r.stop_max_move, pause_seconds=r.stop_pause_seconds, tick_size=tick,
                reference=r.stop_reference,
            )
        return rules

    def _schedule_events(
        self, events: Iterable[EventConfig]
    ) -> list[tuple[float, int, EventConfig]]:
        q = [(ev.day * SECONDS_PER_DAY + ev.time_of_day(), i, ev) for i, ev in enumerate(events)]
        q.sort(key=lambda x: (x[0], x[1]))
        return q

    # ------------------------------------------------------------------ helpers for agents
    def to_ticks(self, price: float) -> int:
        """Nearest tick of a currency price (at least one tick)."""
        return max(1, round(price / self.tick))

    def cancel_at(self, order_id: int, when: float) -> None:
        """Cancel ``order_id`` at clock time ``when`` if it is still live then (order lifetimes)."""
        self._seq += 1
        heapq.heappush(self._expiries, (when, self._seq, order_id))

    def trade_option(
        self, customer: Participant, contract: int, side: int, qty: int
    ) -> float | None:
        """A customer trades ``qty`` contracts on ``side`` (+1 buys) at the best dealer quote.

        Returns the premium per share paid or received, or ``None`` when no dealer quotes.
        Dealers answer ``quote(contract, side, qty)`` with the price at which they take the other
        side, and are told of the trade through ``on_option_trade``.
        """
        best, tied = None, []
        for d in self.populations["dealers"]:
            px = d.quote(contract, side, qty)
            if px is None:
                continue
            if best is None or (side > 0 and px < best) or (side < 0 and px > best):
                best, tied = px, [d]
            elif px == best:
                tied.append(d)
        if not tied:
            return None
        # equal quotes are common (prices sit on a tick grid): split them at random, not by id
        best_dealer = tied[0] if len(tied) == 1 else tied[self.random.randrange(len(tied))]
        buyer, seller = (customer, best_dealer) if side > 0 else (best_dealer, customer)
        self.ledger.settle_option(buyer.unique_id, seller.unique_id, contract, qty, best)
        self.chain.record_trade(contract, qty, buyer=buyer.unique_id, seller=seller.unique_id)
        best_dealer.on_option_trade(contract, -side * qty, best)
        self.option_volume += qty
        return best

    # ------------------------------------------------------------------ settlement
    def _on_trade(self, tr: Trade) -> None:
        if tr.aggressor_side > 0:
            buyer, seller = tr.aggressor_owner, tr.resting_owner
        else:
            buyer, seller = tr.resting_owner, tr.aggressor_owner
        self.ledger.settle_trade(buyer, seller, tr.qty, tr.price * self.cents_per_tick)
        pb, ps = self.population_of[buyer], self.population_of[seller]
        self.pop_volume[pb] += tr.qty
        self.pop_volume[ps] += tr.qty
        self.pop_net[pb] += tr.qty
        self.pop_net[ps] -= tr.qty
        w = int(self.now // self.flow_window)
        mat = self.flow_matrices.get(w)
        if mat is None:
            mat = self.flow_matrices[w] = np.zeros((len(POPULATIONS) + 1,) * 2, dtype=np.int64)
        mat[ps, pb] += tr.qty
        listeners = self._listeners
        if tr.aggressor_owner in listeners:
            listeners[tr.aggressor_owner].on_fill(
                tr.aggressor_id, tr.aggressor_side, tr.qty, tr.price, True
            )
        if tr.resting_owner in listeners:
            listeners[tr.resting_owner].on_fill(
                tr.resting_id, -tr.aggressor_side, tr.qty, tr.price, False
            )

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        k = self.steps  # Mesa increments steps before step() runs
        self.now = (k - 1) * self.dt
        self.book.now = self.now
        day = int(self.now // SECONDS_PER_DAY)
        if day != self.day:
            self._open_day(day)
        while self._events and self._events[0][0] <= self.now:
            self._fire(self._events.pop(0)[2])
        self.venue.update_rules(self.now)
        self.fundamental *= math.exp(
            self._fund_sd * self._fund_stream.standard_normal() - 0.5 * self._fund_sd**2
        )
        actors: list[Participant] = []
        for clock in self.clocks:
            actors.extend(clock.draw(self.dt, self))
        if len(actors) > 1:
            self.random.shuffle(actors)
        for a in actors:
            a.act()
        exp = self._expiries
        while exp and exp[0][0] <= self.now:
            self.venue.cancel(heapq.heappop(exp)[2])
        self.state.update()
        if k % self.steps_per_day == 0:
            self._close_day(day)
        if k % self._record_every == 0:
            self.datacollector.collect(self)
        if k >= self.n_steps:
            self.running = False

    def _open_day(self, day: int) -> None:
        self.day = day
        cb = self.rules.get("circuit_breakers")
        if cb is not None:
            cb.new_day(self.prev_close)

    def _close_day(self, day: int) -> None:
        close = self.state.last
        self.prev_close = close
        self.closes.append(close)
        close_time = (day + 1) * SECONDS_PER_DAY
        expired = self.chain.expire(close_time)
        for c, strike, is_call in zip(
            expired.indices, expired.strike, expired.is_call, strict=True
        ):
            payoff = max(close - strike, 0.0) if is_call else max(strike - close, 0.0)
            self.ledger.settle_expiry(int(c), payoff)
        for a in self.agents:
            a.on_close(day)

    def _fire(self, ev: EventConfig) -> None:
        if ev.kind is EventKind.fundamental_shock:
            self.fundamental *= math.exp(ev.size)
        elif ev.kind is EventKind.parent_order:
            for d in self.populations["desk"]:
                d.add_parent(ev)
        elif ev.kind is EventKind.surface_shift:
            s = self.surface
            if ev.dlevel:
                s = s.shift_level(ev.dlevel)
            if ev.dskew:
                s = s.shift_skew(ev.dskew)
            if ev.dterm:
                s = s.shift_term(ev.dterm)
            self.surface = s
        elif ev.kind is EventKind.rule_change:
            rule_name, _, param = ev.target.partition(".")
            rule = self.rules.get(rule_name)
            if rule is None or not hasattr(rule, param):
                raise ValueError(f"rule_change target {ev.target!r} names no rule parameter")
            setattr(rule, param, type(getattr(rule, param))(ev.value))
        elif ev.kind is EventKind.fundamental_vol:
            self._set_fundamental_vol(ev.value)

    def _set_fundamental_vol(self, vol: float) -> None:
        """The fundamental value's volatility from now on (annualised), as a per-step s.d."""
        self._fund_sd = vol * math.sqrt(self.dt / SECONDS_PER_YEAR)

    # ------------------------------------------------------------------ recording
    def _reporters(self) -> dict:
        rep = {
            "time": "now",
            "mid": lambda m: m.state.mid,
            "last": lambda m: m.state.last,
            "spread_ticks": lambda m: m.state.spread_ticks,
            "bid_depth": lambda m: m.book.size_within(1, 5),
            "ask_depth": lambda m: m.book.size_within(-1, 5),
            "volume": lambda m: m.state.volume(m.cfg.market.record_interval),
            "halted": lambda m: m.book.halted,
            "fundamental": "fundamental",
            "vol_ewma": lambda m: m.state.vol,
        }
        for p, name in enumerate(POPULATIONS):
            rep[f"net_{name}"] = lambda m, p=p: int(m.pop_net[p])
        sums = {
            "dealer_delta": ("dealers", "net_delta"),
            "dealer_gamma": ("dealers", "net_gamma"),
            "dealer_gex": ("dealers", "gex"),
            "dealer_hedge_flow": ("dealers", "hedge_flow"),
            "insurer_demanded": ("insurers", "demanded"),
            "insurer_executed": ("insurers", "executed"),
            "desk_filled": ("desk", "filled_total"),
        }
        for col, (pop, attr) in sums.items():
            rep[col] = lambda m, pop=pop, attr=attr: m.population_sum(pop, attr)
        rep["lp_quoting"] = lambda m: m.population_sum("liquidity", "quoting")
        for col in desk.HPI_REPORT_COLUMNS:
            rep[col] = lambda m, col=col: desk.hpi_report(m, col)
        return rep

    def population_sum(self, population: str, attr: str) -> float:
        """Sum of ``attr`` over one population's members (0 for an empty population)."""
        return float(sum(getattr(a, attr) for a in self.populations[population]))

    def halt_records(self) -> list[dict]:
        """Every halt, pause and limit state the trading rules recorded, in time order."""
        out = []
        for name, rule in self.rules.items():
            for ev in getattr(rule, "events", []):
                rec = ev._asdict() if hasattr(ev, "_asdict") else dict(vars(ev))
                rec["rule"] = name
                out.append(rec)
        return sorted(out, key=lambda r: r.get("start", r.get("time", 0.0)))

    def population_summaries(self) -> dict:
        """Each population's own figures for summary.json (from its ``summary(members)``)."""
        out = {}
        for name, module in POPULATIONS.items():
            fn = getattr(module, "summary", None)
            if fn is not None and self.populations[name]:
                out[name] = fn(self.populations[name], self)
        return out

    def extra_tables(self) -> dict:
        """Per-population tables for Parquet (from each module's ``tables(members, model)``)."""
        out = {}
        for name, module in POPULATIONS.items():
            fn = getattr(module, "tables", None)
            if fn is not None and self.populations[name]:
                out.update(fn(self.populations[name], self))
        return out

    def run(self, progress=None) -> None:
        """Step to the end of the scenario; ``progress`` is an optional callable(steps_done)."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.steps)

    def finish(self) -> dict[str, float]:
        """Check conservation; returns the residuals or raises ConservationError."""
        return self.ledger.check()
