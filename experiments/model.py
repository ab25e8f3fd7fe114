"""The hedgeloop model: the clock, the scheduled events, the populations and the shared book.

One :class:`HedgeLoopModel` step is ``market.step_seconds`` of trading, in named phases:

1. open a new day (:meth:`~HedgeLoopModel._open_day`; the fundamental takes the night's news),
2. fire the scenario events that are due (:mod:`experiments.events`: fundamental shocks, desk
   parent orders, volatility surface shifts, rule changes, fundamental volatility),
3. let the trading rules look at the book (halts start and end, reopening auctions),
4. move the fundamental value one step,
5. observe: each population that may act looks at the market once
   (:meth:`agents.base.Population.observe`, which sets its activity multiplier),
6. act: draw who acts from the Poisson clocks (one vectorised draw per population) and call
   only those, in a random order,
7. cancel orders whose lifetime ran out,
8. update :class:`market.exchange.market_state.MarketState`,
9. settle the close at the day's last step (expiries, then every agent's ``on_close``), and
10. record a row every ``market.record_interval`` seconds with Mesa's DataCollector.

Cost grows with the number of actions, not with agents x steps. Every print is settled the
moment it happens (the :class:`market.exchange.venue.Venue` hands it to
:class:`market.exchange.clearing.Clearing`), so cash, shares and option positions stay
conserved; :meth:`HedgeLoopModel.finish` checks that and raises if not.

Randomness: Mesa's generators come from ``seed``; every population (and the fundamental, and the
activation clocks) gets its own stream from ``SeedSequence(seed, spawn_key=(crc32(name),))``, so
adding or resizing one population leaves every other population's draws unchanged.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Callable, Sequence

import mesa
import numpy as np

from agents.background import BackgroundPopulation
from agents.base import Participant, Population
from agents.closing_flow import ClosingFlowPopulation
from agents.customers import CustomersPopulation
from agents.dealer_book import opening_book_trades
from agents.dealers import DealersPopulation
from agents.desk.population import DeskPopulation
from agents.insurers import InsurersPopulation
from agents.latent_liquidity import LatentPopulation
from agents.liquidity import LiquidityPopulation
from agents.stale_quote_taker import StaleTakersPopulation
from agents.world import OptionFill, OptionTake, OptionTops
from experiments.config import RunConfig
from experiments.events import fire, schedule, scheduled_times
from experiments.option_market import OptionMarket
from experiments.recording import PackedDataCollector
from market.exchange.auctions import CallAuctions
from market.exchange.clearing import Clearing, Ledger
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR, intraday_profile
from market.exchange.event_clock import EventClock
from market.exchange.market_state import MarketState
from market.exchange.order_book import OrderBook
from market.exchange.rules import LimitUpLimitDown, MarketWideCircuitBreaker
from market.exchange.stop_logic import StopLogic
from market.exchange.venue import BookView, Venue
from market.options.chain import OptionChain, covering_strikes_pct, expiry_schedule
from market.options.surface import VolSurface

#: population name -> its Population class, in build order (which fixes every agent's id)
POPULATIONS: dict[str, type[Population]] = {
    "background": BackgroundPopulation,
    "liquidity": LiquidityPopulation,
    "customers": CustomersPopulation,
    "dealers": DealersPopulation,
    "insurers": InsurersPopulation,
    "desk": DeskPopulation,
    "closing_flow": ClosingFlowPopulation,
    "latent": LatentPopulation,  # last: the ids of the others stay as they were
}
POPULATION_NAMES = tuple(POPULATIONS)
#: populations a run has only when its config asks for them (after the others: their ids stay)
OPTIONAL_POPULATIONS: dict[str, type[Population]] = {"stale_takers": StaleTakersPopulation}
#: population columns in the order the time series has always had them (any others follow)
_RECORDED_ORDER = (
    "dealer_delta",
    "dealer_gamma",
    "dealer_gex",
    "dealer_hedge_flow",
    "insurer_demanded",
    "insurer_executed",
    "desk_filled",
    "lp_quoting",
)


def population_stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of population ``name``: independent of every other population's."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),))
    )


class PopulationClock:
    """Poisson activity clocks of one population, drawn in one vectorised call per step."""

    def __init__(self, population: Population, stream: np.random.Generator) -> None:
        self.population = population
        self.members = population.members
        self.stream = stream
        rates = np.array([m.rate for m in self.members], dtype=float)
        self.total_rate = float(rates.sum())
        self.uniform = bool(rates.size and np.all(rates == rates[0]))
        self.p = rates / self.total_rate if self.total_rate > 0 else None

    @property
    def live(self) -> bool:
        """Whether any member may ever act (a clock with no rate never draws)."""
        return self.total_rate > 0.0

    def draw(self, dt: float, intensity: float = 1.0) -> list[Participant]:
        """The members whose clocks fire in a step of ``dt`` seconds (repeats allowed);
        ``intensity`` scales every rate (the intraday profile ``s(t)``)."""
        if self.total_rate <= 0.0:
            return []
        lam = self.total_rate * dt * self.population.activity_multiplier * intensity
        k = self.stream.poisson(lam) if lam > 0 else 0
        if k == 0:
            return []
        n = len(self.members)
        idx = self.stream.integers(0, n, k) if self.uniform else self.stream.choice(n, k, p=self.p)
        m = self.members
        return [m[i] for i in idx]


class HedgeLoopModel(mesa.Model):
    """Every participant trading one underlying through one shared order book.

    The model is the participants' :class:`agents.world.World`: ``venue`` (orders),
    ``book_view`` (the book, read-only), ``state`` (observations), ``ledger``, ``chain`` (listed
    options and open interest), ``surface`` (implied vols), ``fundamental`` (currency), ``now``
    (seconds since the first open), ``day``, ``days``, ``scheduled_event_times``, ``dt``,
    ``tick`` (currency per tick), ``initial_price``, ``expiry_days``, ``book_amendments``, and
    the methods :meth:`to_ticks`, :meth:`cancel_at`, :meth:`trade_option`, :meth:`fill_option`,
    :meth:`option_tops`, :meth:`take_option`, :meth:`dealer_opening_book` and
    :meth:`shares_endowed`. Everything else (``cfg``, the raw
    ``book`` its reporters and the run output read, ``clearing``, ``populations``) is the
    simulator's own.
    """

    def __init__(self, cfg: RunConfig) -> None:
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        m = cfg.market
        self._init_calendar()
        self._build_market()
        self.populations: dict[str, Population] = {}
        self._build_populations()
        self.clearing = self._build_clearing()
        self.ledger = self.clearing.ledger
        self.venue.on_trade = self.clearing.settle_trade
        if self.populations["dealers"]:
            self.chain.designate_dealers(a.unique_id for a in self.populations["dealers"])
        self.clocks = [
            PopulationClock(pop, population_stream(cfg.seed, f"clock:{name}"))
            for name, pop in self.populations.items()
            if pop
        ]

        # s(t) of every step of a day, at the step's middle (market.exchange.clock); the news
        # profile has the same shape with its boosts scaled (1 = the activity profile itself)
        day_steps = (np.arange(self.steps_per_day) + 0.5) * self.dt
        day = m.intraday
        self._intensity, self._news_intensity = (
            intraday_profile(
                day_steps,
                scale * day.open_boost,
                scale * day.close_boost,
                day.tau_open,
                day.tau_close,
            )
            for scale in (1.0, day.news_boost_scale)
        )
        self._fund_stream = population_stream(cfg.seed, "fundamental")
        # dealer ties get their own stream: drawn from the shared one (which orders the actors),
        # the option flow would reshuffle every later step and unpair runs that differ only in it
        self._tie_stream = population_stream(cfg.seed, "dealer_ties")
        # book mode only: in rfq mode nothing of the option books exists or draws
        self.option_market: OptionMarket | None = None
        if m.options.book:
            self.option_market = OptionMarket(
                self,
                population_stream(cfg.seed, "option_coverage"),
                population_stream(cfg.seed, "option_orders"),
                events=self.events,
                complex_rngs=(
                    population_stream(cfg.seed, "complex_ties"),
                    population_stream(cfg.seed, "complex_orders"),
                ),
                take_rng=population_stream(cfg.seed, "dealer_stale_takes"),
            )
        self.set_fundamental_vol(m.fundamental_vol)
        self._expiries: list[tuple[float, int, int]] = []  # (time, seq, order id)
        self._seq = 0
        self._events = schedule(cfg.scenario.events)
        self._record_every = max(1, round(m.record_interval / self.dt))
        self.datacollector = PackedDataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ wiring
    def _init_calendar(self) -> None:
        """The run's fixed quantities (tick, step, days, the public calendar) and the clock and
        prices at the first open."""
        cfg = self.cfg
        m = cfg.market
        self.tick = m.tick_size
        self.initial_price = m.initial_price
        self.expiry_days = tuple(m.chain.expiry_days)
        self.dt = m.step_seconds
        self.days = cfg.scenario.days
        self.scheduled_event_times = tuple(scheduled_times(cfg.scenario.events))
        self.n_steps = round(self.days * SECONDS_PER_DAY / self.dt)
        self.steps_per_day = round(SECONDS_PER_DAY / self.dt)
        self.now = 0.0
        self.day = 0
        self.fundamental = m.initial_price
        #: log: the sum of F's public jumps so far (the night's news, scheduled news events), the
        #: part of its moves everyone hears of at once, unlike its diffusion
        self.public_news = 0.0
        self.prev_close = m.initial_price
        self.closes: list[float] = []

    def _build_market(self) -> None:
        """The book with its venue and rules (clearing is wired once the participants exist),
        the observed market state, the implied-vol surface and the listed option chain."""
        m = self.cfg.market
        self.book = OrderBook(tick_size=m.tick_size)
        self.rules = self._build_rules()
        calls = self.rules.get("auctions")
        # book mode: one event counter numbers the underlying's and the option books' messages
        # and prints, so their order across books is exact; rfq mode numbers nothing
        self.events: EventClock | None = EventClock() if m.options.book else None
        # clearing is wired later, once the participants exist
        self.venue = Venue(self.book, self.rules.values(), calls=calls, events=self.events)
        self.book_view: BookView = self.venue.view
        self.state = MarketState(
            self.book, m.initial_price, self.dt, self.n_steps, initial_vol=m.surface.atm_vol
        )
        self.surface = VolSurface.from_params(
            atm_vol=m.surface.atm_vol,
            skew=m.surface.skew,
            curvature=m.surface.curvature,
            term_slope=m.surface.term_slope,
        )
        self.chain = self._list_chain()

    def _list_chain(self) -> OptionChain:
        """The option chain of the whole run: ``market.chain.expiry_days`` from the start, then
        rolling expiries (:func:`market.options.chain.expiry_schedule`) listed as the run goes,
        each with strikes that cover the price's drift until its last day in the run."""
        m = self.cfg.market
        c = m.chain
        last_day = self.days - 1
        days, listing = expiry_schedule(
            c.expiry_days, c.expiry_cycle_days, c.listing_horizon_days, last_day
        )
        vol = max(m.fundamental_vol, m.surface.atm_vol)
        base = 100.0 * c.strike_step_pct * c.n_strikes_each_side
        year = SECONDS_PER_YEAR / SECONDS_PER_DAY
        pct = [
            covering_strikes_pct(base, vol, min(d, last_day), c.strike_cover_sd, year) for d in days
        ]
        return OptionChain.listed(
            spot=m.initial_price,
            strikes_pct=[min(p, 99.0) for p in pct],
            expiry_days=days,
            strike_step=m.initial_price * c.strike_step_pct,
            multiplier=c.multiplier,
            listing_days=listing,
        )

    def _build_rules(self) -> dict:
        r = self.cfg.market.rules
        tick = self.cfg.market.tick_size
        rules: dict = {}
        a = self.cfg.market.auctions
        if a.open_seconds > 0 or a.close_seconds > 0:  # first: it takes over halts at the close
            rules["auctions"] = CallAuctions(
                a.open_seconds, a.close_seconds, self.dt, tick, a.collar, a.market_orders_join
            )
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
                max_move=r.stop_max_move,
                pause_seconds=r.stop_pause_seconds,
                tick_size=tick,
                reference=r.stop_reference,
                lookback_seconds=r.stop_lookback_seconds,
            )
        return rules

    def _population_classes(self) -> dict[str, type[Population]]:
        """The run's populations in build order: :data:`POPULATIONS`, then the stale-quote
        takers when book mode has ``market.options.stale_takers`` (none otherwise, so a run
        without them has exactly the populations, columns and groups it always had)."""
        out = dict(POPULATIONS)
        opts = self.cfg.market.options
        if opts.book and opts.stale_takers > 0:
            out["stale_takers"] = OPTIONAL_POPULATIONS["stale_takers"]
        return out

    def _population_config(self, name: str) -> object:
        cfg = self.cfg
        if name == "desk":
            return cfg.desk
        if name == "stale_takers":
            return cfg.market.options.stale_taker_params()
        return getattr(cfg.agents, name)

    def _build_populations(self) -> None:
        """Every population from its own stream, in build order (an empty or switched-off
        population gets no members and draws nothing)."""
        cfg = self.cfg
        for name, pop_cls in self._population_classes().items():
            pop_cfg = self._population_config(name)
            stream = population_stream(cfg.seed, name)
            if getattr(pop_cfg, "n", 1) == 0 or not getattr(pop_cfg, "enabled", True):
                self.populations[name] = pop_cls.empty(self, pop_cfg, stream)
            else:
                self.populations[name] = pop_cls.build(self, pop_cfg, stream)

    def _build_clearing(self) -> Clearing:
        """The ledger, sized and endowed once every population exists, and its clearing."""
        n_accounts = max((a.unique_id for a in self.agents), default=0) + 1
        ledger = Ledger(n_accounts, len(self.chain), multiplier=self.cfg.market.chain.multiplier)
        # accounts outside every population (e.g. a clearing account) count as "other"
        group_of = np.full(n_accounts, len(self.populations), dtype=np.int64)
        for p, members in enumerate(self.populations.values()):
            for a in members:
                group_of[a.unique_id] = p
                ledger.endow(a.unique_id, cash=a.initial_cash, shares=a.initial_shares)
        return Clearing(
            ledger,
            group_of,
            len(self.populations) + 1,
            cents_per_tick=round(self.tick * 100),
            clock=lambda: self.now,
            listeners={a.unique_id: a for a in self.agents if a.wants_fills},
            options=self.chain,
        )

    # ------------------------------------------------------------------ the world of agents
    def to_ticks(self, price: float) -> int:
        """Nearest tick of a currency price (at least one tick)."""
        return max(1, round(price / self.tick))

    def cancel_at(self, order_id: int, when: float) -> None:
        """Cancel ``order_id`` at clock time ``when`` if it is still live then (order lifetimes)."""
        self._seq += 1
        heapq.heappush(self._expiries, (when, self._seq, order_id))

    def trade_option(self, account: int, contract: int, side: int, qty: int) -> float | None:
        """Account ``account`` trades ``qty`` contracts on ``side`` (+1 buys) at the best dealer
        quote.

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
        best_dealer = tied[0] if len(tied) == 1 else tied[int(self._tie_stream.integers(len(tied)))]
        dealer = best_dealer.unique_id
        buyer, seller = (account, dealer) if side > 0 else (dealer, account)
        self.clearing.settle_option(buyer, seller, contract, qty, best)
        best_dealer.on_option_trade(contract, -side * qty, best)
        return best

    def fill_option(self, account: int, contract: int, side: int, qty: int) -> OptionFill:
        """A customer's option order: :meth:`trade_option` in rfq mode (all or nothing), an
        order on the series' book in book mode (:mod:`experiments.option_market`)."""
        if self.option_market is not None:
            return self.option_market.customer_order(account, contract, side, qty)
        price = self.trade_option(account, contract, side, qty)
        return OptionFill(0, 0.0) if price is None else OptionFill(qty, price)

    def option_package_shares(self) -> tuple[float, float, float, float]:
        """``market.options.spread_share`` and the shares of straddles, calendars and diagonals
        among the packages (``spread_straddle_share``, ``spread_calendar_share``,
        ``spread_diagonal_share``) in book mode, zeros in rfq mode (no complex order book)."""
        if self.option_market is None:
            return 0.0, 0.0, 0.0, 0.0
        cfg = self.cfg.market.options
        return (
            float(cfg.spread_share),
            float(cfg.spread_straddle_share),
            float(cfg.spread_calendar_share),
            float(cfg.spread_diagonal_share),
        )

    def fill_option_package(
        self, account: int, legs: Sequence[tuple[int, int]], side: int, qty: int
    ) -> OptionFill:
        """A customer's package order on the complex order book (book mode only,
        :meth:`experiments.option_market.OptionMarket.customer_package`)."""
        if self.option_market is None:
            raise ValueError("fill_option_package needs market.options.venue=book, got rfq")
        return self.option_market.customer_package(account, legs, side, qty)

    def option_tops(self) -> OptionTops | None:
        """The option books' top of book now (book mode), None in rfq mode."""
        return None if self.option_market is None else self.option_market.tops()

    def take_option(
        self, account: int, contract: int, side: int, price: int, qty: int
    ) -> OptionTake:
        """An immediate-or-cancel order on ``contract``'s book at ``price`` option ticks (book
        mode only, :meth:`experiments.option_market.OptionMarket.take`)."""
        if self.option_market is None:
            raise ValueError("take_option needs market.options.venue=book, got rfq")
        return self.option_market.take(account, contract, side, price, qty)

    def dealer_opening_book(self) -> list[tuple[int, int, int]]:
        """The customer trades that give the dealers ``agents.dealers.initial_book`` (see
        :mod:`agents.dealer_book`)."""
        dealers_cfg = self.cfg.agents.dealers
        if dealers_cfg.n <= 0:
            return []
        return opening_book_trades(dealers_cfg, self.chain, self.initial_price)

    @property
    def dealer_gex(self) -> float:
        """The hedging dealers' summed GEX per 1% move (currency;
        :attr:`agents.world.World.dealer_gex`)."""
        return self.populations["dealers"].total("hedged_gex")

    @property
    def book_amendments(self) -> int:
        """Cancel and reduce messages the book has accepted so far."""
        return self.book.n_events - self.book.n_orders

    def shares_endowed(self) -> int:
        """Shares endowed to the members of every population built so far."""
        return sum(a.initial_shares for pop in self.populations.values() for a in pop)

    # ------------------------------------------------------------------ settlement figures
    @property
    def population_of(self) -> np.ndarray:
        """Population index of every account (the last index: outside every population)."""
        return self.clearing.group_of

    @property
    def pop_volume(self) -> np.ndarray:
        """Shares each population traded on either side (population order, then "other")."""
        return self.clearing.volume

    @property
    def pop_net(self) -> np.ndarray:
        """Net shares each population bought (population order, then "other")."""
        return self.clearing.net

    @property
    def flow_window(self) -> float:
        """Seconds per window of :attr:`flow_matrices`."""
        return self.clearing.flow_window

    @property
    def flow_matrices(self) -> dict[int, np.ndarray]:
        """Window -> shares by (seller population, buyer population)."""
        return self.clearing.flow_matrices

    @property
    def option_volume(self) -> int:
        """Option contracts traded."""
        return self.clearing.option_volume

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        k = self.steps  # Mesa increments steps before step() runs
        self.now = (k - 1) * self.dt
        self.book.now = self.now
        day = int(self.now // SECONDS_PER_DAY)
        if day != self.day:
            self._open_day(day)
        self._fire_due_events()
        self.venue.update_rules(self.now)
        self._move_fundamental()
        om = self.option_market
        if om is not None:
            om.before_act()
        self._observe()
        self._act()
        if om is not None:
            om.sync_halt()  # a price band may have halted the book during the step
        self._expire_orders()
        self.state.update()
        if k % self.steps_per_day == 0:
            self._close_day(day)
        if k % self._record_every == 0:
            self.datacollector.collect(self)
            if om is not None:
                om.record()
        if k >= self.n_steps:
            self.running = False

    def _open_day(self, day: int) -> None:
        self.day = day
        self.chain.open_listings(self.now)  # rolling expiries due today start trading
        cb = self.rules.get("circuit_breakers")
        if cb is not None:
            cb.new_day(self.prev_close)
        self._overnight_news()

    def _overnight_news(self) -> None:
        """The night's news, released at the open: one driftless log-normal jump of the
        fundamental whose variance is ``market.intraday.overnight_variance`` times a session's.
        The clock skips nights, so without it every close-to-open move would be zero; with it
        the opening call and the first minutes are where the market finds the new value
        (Admati & Pfleiderer 1988: the open concentrates the overnight information)."""
        share = self.cfg.market.intraday.overnight_variance
        if share <= 0.0 or self.day == 0:
            return
        sd = self._fund_sd * math.sqrt(share * self.steps_per_day)
        jump = sd * self._fund_stream.standard_normal() - 0.5 * sd**2
        self.fundamental *= math.exp(jump)
        self.public_news += jump

    def _fire_due_events(self) -> None:
        while self._events and self._events[0][0] <= self.now:
            fire(self._events.pop(0)[2], self)

    def _move_fundamental(self) -> None:
        """One step of the fundamental value: a driftless log-normal move (its mean is kept);
        with ``market.intraday.news`` its variance is scaled by the news profile (s(t) with its
        boosts times ``news_boost_scale``; mean 1 over the day, so the day's variance is kept)."""
        sd = self._fund_sd
        if self.cfg.market.intraday.news:
            sd *= math.sqrt(self._news_intensity[(self.steps - 1) % self.steps_per_day])
        self.fundamental *= math.exp(sd * self._fund_stream.standard_normal() - 0.5 * sd**2)

    def _observe(self) -> None:
        """Each population that may act looks at the market once, before the clocks draw."""
        for clock in self.clocks:
            if clock.live:
                clock.population.observe(self)

    def _act(self) -> None:
        """Draw who acts from the Poisson clocks and let them act, in a random order."""
        actors: list[Participant] = []
        s = float(self._intensity[(self.steps - 1) % self.steps_per_day])
        for clock in self.clocks:
            actors.extend(clock.draw(self.dt, s))
        if len(actors) > 1:
            self.random.shuffle(actors)
        for a in actors:
            a.act()

    def _expire_orders(self) -> None:
        exp = self._expiries
        while exp and exp[0][0] <= self.now:
            self.venue.cancel(heapq.heappop(exp)[2])

    def _close_day(self, day: int) -> None:
        close = self.state.last
        self.prev_close = close
        self.closes.append(close)
        close_time = (day + 1) * SECONDS_PER_DAY
        expired = self.chain.expire(close_time)
        if self.option_market is not None:
            self.option_market.delist_expired()
        for c, strike, is_call in zip(
            expired.indices, expired.strike, expired.is_call, strict=True
        ):
            payoff = max(close - strike, 0.0) if is_call else max(strike - close, 0.0)
            self.ledger.settle_expiry(int(c), payoff)
        for a in self.agents:
            a.on_close(day)
        # the day's prints go to the trade log's spill file, if it has one (see experiments.run)
        self.book.trades.spill()

    def set_fundamental_vol(self, vol: float) -> None:
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
        for p, name in enumerate(self.populations):
            rep[f"net_{name}"] = lambda m, p=p: int(m.pop_net[p])
        columns: dict[str, Callable[[], float]] = {}
        for pop in self.populations.values():
            columns.update(pop.recorded_columns())
        order = [c for c in _RECORDED_ORDER if c in columns]
        order += [c for c in columns if c not in _RECORDED_ORDER]
        for col in order:
            rep[col] = lambda m, value=columns[col]: value()
        return rep

    def population_sum(self, population: str, attr: str) -> float:
        """Sum of ``attr`` over one population's members (0 for an empty population)."""
        return self.populations[population].total(attr)

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
        """Each population's own figures for summary.json (populations with nothing to add
        are left out)."""
        out = {}
        for name, pop in self.populations.items():
            figures = pop.summary()
            if figures is not None:
                out[name] = figures
        if self.option_market is not None:
            out["options_market"] = self.option_market.summary()
        return out

    def extra_tables(self) -> dict:
        """Every population's own tables for Parquet, by table name."""
        out = {}
        for pop in self.populations.values():
            out.update(pop.tables())
        if self.option_market is not None:
            out.update(self.option_market.tables())
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
