"""Latent liquidity: reservation-price traders who stay out of the book until the price comes.

After Toth et al. (2011, Phys. Rev. X 1:021006), Mastromatteo, Toth & Bouchaud (2014, Phys. Rev. E
89:042805) and the latent order book (LLOB) of Donier, Bonart, Mastromatteo & Bouchaud (2015,
Quantitative Finance 15:1109). Most of the liquidity of a market is not in the visible book: it
sits with investors who would buy below, or sell above, a price of their own and who show it only
when the price comes to them. This module keeps that latent book as numpy arrays of log
reservation prices ``x``, sides (+1 buy, -1 sell) and sizes (lots), one entry per latent order:

* **deposited** at ``deposit_rate`` orders per second (half buyers, half sellers), buyers
  uniformly in ``[a - deposit_width, a]`` and sellers in ``[a, a + deposit_width]`` around the
  anchor ``a``, the log mid averaged with half-life ``anchor_half_life`` seconds (0: the mid
  itself). The anchor is how reservation prices follow the price: a lagging anchor keeps
  depositing around the old price after a move and so pulls the price back (transient impact);
  one that follows the mid lets a move stand.
* **diffusing**: each reservation price moves as a Brownian motion, ``dx = sqrt(2 D) dW`` with
  ``D = diffusion`` (log price squared per second).
* **hearing public news**: every reservation price (and the anchor) moves by ``news_tracking``
  (1 by default) times each public jump of the fundamental ``F`` (the night's news, a news
  event; ``World.public_news``), as market makers reprice on an announcement. Without it a
  15% announcement reached the price only as fast as the informed crowd could sell it in:
  about a fifth of it in an hour (docs/facts.md, "The default market now").
* optionally **following value** (``value_tracking`` > 0; 0 by default): every reservation price
  (and the anchor) moves by ``value_tracking`` times each other log move of ``F``, its diffusion,
  as if latent investors saw it. By default they do not: they read it, with everything else,
  from the flow (the metaorder revision below), so the informed crowd's trading is what carries
  those moves into their prices. Without that revision, ``value_tracking = 0`` would lean the
  latent book against value as much as against order flow and pin the price.
* optionally **learning value from the price** (``learning`` > 0; 0 by default; Kyle 1985,
  Econometrica 53:1315; Gennotte & Leland 1990, American Economic Review 80:999): the latent
  investors cannot tell uninformed flow from news, so they read a lasting gap between the price and
  ``F`` as value they lack. They keep ``g``, an average of ``log(mid / F)`` with half-life
  ``learning_horizon``, and value at ``F * exp(learning * g)``
  (:class:`agents.beliefs.LearntValue`); every pass shifts all reservation prices and the anchor by
  the change of ``learning * g``. A move that flow makes and that stands for a few horizons is then
  adopted by about ``learning`` of it (permanent impact), the rest reverts as the book leans against
  it; within the horizon the V-shaped book still makes impact concave. With ``learning = 0`` a dense
  latent book absorbs the crowd's flow and leaves the price as ``F`` plus tens of minutes of noise.
* optionally **revising value by the others' flow** (``flow_impact`` > 0; off by default):
  every pass moves every reservation price and the anchor by ``flow_impact`` (bp per million
  shares) times the aggressor-signed volume traded since the previous pass, less what the
  latent orders themselves took (their own crossing orders, other latent investors' resting
  orders included). This is Kyle's (1985) market maker, who cannot tell informed flow from
  noise and so revises value linearly in the net order flow; linear so that a round trip
  neither moves value nor pays (Huberman & Stanzl 2004, Econometrica 72:1247). Unlike
  ``learning`` it neither amplifies a standing move nor forgets it, unless
  ``flow_impact_half_life`` makes the level it holds fade back to value (Bucci et al. 2019
  measure impact that decays slowly over days). ``flow_level_log`` in the summary is that
  level at the end: the part of log(mid / F) the flow's impact holds.
* **revising value by each trader's metaorder** (``metaorder_impact`` > 0, 20 bp by default; 0
  switches it off): every other account's run of same-side aggressive trading is read as one
  metaorder whose value impact grows as the square root of its shares and keeps
  ``metaorder_permanent`` of its peak when it ends (:mod:`agents.metaorder_impact`; Farmer, Gerig,
  Lillo & Waelbroeck 2013). Concave per order where ``flow_impact`` is linear in the flow's sum, so
  many overlapping orders add variance in proportion to the volume they trade rather than to its
  square. The option dealers' delta hedges can be read at ``metaorder_dealer_weight`` of that
  (1 by default; below 1 hedging flow, predictable from the public open interest, counts as
  partly uninformed). ``metaorder_level_log`` in the summary is the level the episodes hold
  value at at the end.
* optionally a scripted **common sentiment** ``S`` (``sentiment_sd``, off by default): an
  Ornstein-Uhlenbeck process of stationary s.d. ``sentiment_sd`` and half-life
  ``sentiment_half_life`` starting at 0 (:class:`agents.beliefs.Sentiment`), whose moves shift
  every reservation price: the noise traders' mood of De Long, Shleifer, Summers & Waldmann
  (1990, J. Political Economy 98:703). It moves the price without any flow behind it, so the
  default leaves it off and lets the crowd's flow carry the price's non-``F`` moves.
* **thinner in storms, thicker in calm**: deposits arrive at ``deposit_rate`` times
  ``(storm_reference_vol / sigma_mem) ** eta``, floored at ``storm_floor`` and capped at
  ``storm_cap``, where ``eta`` is ``storm_exponent`` above the reference volatility and
  ``storm_calm_exponent`` below it (:func:`storm_multiplier`), with ``sigma_mem`` the latent
  investors' memory of the market's 5-minute volatility (:mod:`agents.volatility_memory`:
  ``storm_memory_windows`` log-spaced windows of half-lives ``storm_memory_min`` to
  ``storm_memory_max``, weights ``k ** -storm_memory_alpha``). Liquidity providers cut size and
  step back when the market is volatile (Bouchaud, Bonart, Donier & Gould 2018, "Trades, Quotes
  and Prices", on liquidity and volatility; Kirilenko, Kyle, Samadi & Tuzun 2017 on 6 May 2010);
  in the LLOB the density ``L`` is a ratio of volume to volatility (Donier et al. 2015). A
  thinner latent book means more impact per share, so a storm feeds on itself and the book
  refills only as the memory fades: the volatility clusters through the agents, with ``F``'s
  volatility constant. The floor and the cap bound the loop, and the memory is fed the
  volatility capped where the floor binds (:func:`storm_ceiling`), so a crash is not remembered
  for weeks. The two sides differ because they feed back differently: thinning raises the
  impact of every share traded, so a strong storm side lets any flow that chases the price
  (short-gamma hedges, stops) feed on the volatility it makes, while thickening in calm only
  damps. ``storm_exponent = 0`` never thins, ``storm_calm_exponent = 0`` never thickens, both 0
  deposit at ``deposit_rate`` whatever the volatility.
* **forgotten** at ``forget_rate`` per second (an exponential lifetime drawn at deposit).
* **revealed** when the price reaches it: a latent buyer whose reservation price is at or above the
  best ask sends a limit buy at its reservation price (``floor`` to the tick) for its size, which
  takes the asks up to that price and rests any remainder as the new best bid (for at most
  ``visible_lifetime`` seconds); likewise a seller at or below the best bid. An order is
  priced no further than ``max_sweep`` through the touch, so a jump of value that carries many
  reservation prices through the price reaches it over seconds rather than in one sweep (the
  trading rules then see each level on the way). A revealed order
  leaves the latent book for good (it is "annihilated" at the price).
* **slow to react** (``reveal_time`` > 0): an investor whose price the market has reached does
  not send at once; each such order is converted into a real one at rate ``1 / reveal_time``
  (at each look with probability ``1 - exp(-elapsed / reveal_time)``, ``elapsed`` the seconds
  since the population's previous look, halts included). Dall'Amico, Fosset, Bouchaud &
  Benzaquen (2019, J. Stat. Mech. 013404, "How does latent liquidity get revealed in the limit
  order book?") show that when the conversion is slow against the flow, the revealed book
  empties while the latent one is still full: a liquidity crisis. A seller faster than the
  conversion meets an empty book, and the investors it has reached arrive minutes later, which
  is how a flash crash falls and comes back (6 May 2010). 0 (the default) reveals at once.

Because latent orders are consumed at the price and refilled by diffusion (their own and the
price's), the stationary latent density is V-shaped around the price: ``rho(u) ~ L |u|`` at a
log distance ``u`` small against ``sqrt(D_rel / nu)``, with ``L = (lambda_side / W) /
sqrt(nu D_rel)`` (``lambda_side = deposit_rate / 2``, ``W = deposit_width``, ``nu =
forget_rate``, ``D_rel`` the latent orders' diffusion relative to the price: ``D`` plus the
price's own). An order of ``Q`` shares that eats the latent sellers moves the price by ``I`` with
``L I**2 / 2 = Q``: the square-root law ``I = sqrt(2 Q / L)``. Only the tip near the price is
ever visible. With ``forget_rate`` slow against the order (hours), the book does not refill
during it and impact is concave; a fast one refills it and impact turns linear.

Calibration: the learning, the flow's impact and what they do to the share of ``F`` in
returns in docs/facts.md; the storms against short- and long-gamma dealers in docs/gamma.md
("Storms that thin the book gently").

Timing, for speed: the whole book (forgetting, diffusion, deposits, the anchor) is advanced every
``update_interval`` seconds on average (Poisson times, so no fixed period shows in the flow), in
one vectorised pass. Between those passes the population's single member acts every second
(``rate``) and compares the touch with the highest latent buyer and the lowest latent seller
(cached), so a sweep through latent prices reveals them within the second; the full scan runs
only when something crosses. While the book is halted nothing is revealed.

The book starts stationary: at build it is run for ``4 / forget_rate`` seconds against a
synthetic random-walk price with the market's initial volatility estimate, and whatever that
walk would have revealed is dropped (no trades are made before the open).

Units: rates per second, times in seconds, prices as natural logs of currency (``x``) in the
book and integer ticks in orders, sizes in lots of ``lot_size`` shares. Side +1 buy, -1 sell.
The population's single account may go short and borrow cash: it stands for investors outside
the model's balance sheet.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.base import Participant, Population
from agents.beliefs import ImpactMemory, LearntValue, Sentiment
from agents.latent_config import LatentConfig
from agents.metaorder_impact import MetaorderImpact
from agents.volatility_memory import VolatilityMemory, log_spaced, power_weights
from agents.world import World
from market.exchange.clock import SECONDS_PER_YEAR
from market.exchange.market_state import DailyVolume

#: warm-up length in units of the latent memory 1 / forget_rate, and its step (s)
_WARMUP_MEMORIES = 4.0
_WARMUP_STEP = 300.0
#: log distance from the mid within which a pass sorts latent orders into the fronts; a touch
#: that leaves this band forces a new pass (50 bp: far more than the price moves between passes)
_FRONT = 0.005
#: seconds between the grid points of the common sentiment
_MOOD_STEP = 60.0


def storm_multiplier(cfg: LatentConfig, sigma_mem: float) -> float:
    """The deposit multiplier for a remembered volatility ``sigma_mem`` (annualised):
    ``(sigma_ref / sigma_mem) ** eta`` floored at ``storm_floor`` above the reference and
    ``(sigma_ref / sigma_mem) ** eta_calm`` capped at ``storm_cap`` below it. Non-increasing in
    ``sigma_mem``, 1 at the reference; exactly 1 everywhere with both exponents 0."""
    if sigma_mem <= 0.0:
        return cfg.storm_cap if cfg.storm_calm_exponent > 0.0 else 1.0
    ratio = cfg.storm_reference_vol / sigma_mem
    if ratio >= 1.0:
        return min(cfg.storm_cap, ratio**cfg.storm_calm_exponent)
    return max(cfg.storm_floor, ratio**cfg.storm_exponent)


def storm_ceiling(cfg: LatentConfig) -> float:
    """The volatility (annualised) at which the multiplier reaches ``storm_floor``:
    ``sigma_ref * floor ** (-1 / eta)`` (infinite with ``eta = 0``). The memory is fed the
    market's volatility capped there: investors who have withdrawn all they will remember a
    crash as no worse than that, so a 5% crash thins the book for a day or two, not for as long
    as the longest window remembers its squared volatility."""
    if cfg.storm_exponent == 0.0:
        return math.inf
    return cfg.storm_reference_vol * cfg.storm_floor ** (-1.0 / cfg.storm_exponent)


def storm_memory(cfg: LatentConfig) -> VolatilityMemory:
    """The latent investors' memory of realised variance: all of its weight on the windows (the
    deposits integrate over hours anyway, so the 5-minute estimate adds only noise)."""
    k = cfg.storm_memory_windows
    return VolatilityMemory(
        log_spaced(cfg.storm_memory_min, cfg.storm_memory_max, k),
        power_weights(k, cfg.storm_memory_alpha, 1.0),
    )


def flow_memory(cfg: LatentConfig) -> ImpactMemory:
    """How the level the flow's impact holds value at fades: not at all, exponentially with
    ``flow_impact_half_life``, or as a power law of exponent ``flow_impact_decay_exponent``
    from there."""
    hl, beta = cfg.flow_impact_half_life, cfg.flow_impact_decay_exponent
    if beta > 0.0:
        return ImpactMemory.power_law(hl, beta)
    return ImpactMemory([hl], [1.0]) if hl > 0.0 else ImpactMemory([], [])


class LatentBook:
    """The latent orders: log reservation prices ``x``, ``side`` (+1 buy), ``lots`` and ``death``
    (the clock second at which each is forgotten). Pure numpy and lists; it never touches the
    market.

    A full pass (:meth:`advance`) forgets, diffuses, moves the anchor, deposits and then sorts the
    orders within ``_FRONT`` (log distance) of the mid into two fronts: buyers highest first,
    sellers lowest first. Between passes :meth:`reveal` only pops front heads, so checking the
    touch costs O(1) whatever the size of the book. A revealed order is marked by a NaN price and
    dropped at the next pass.
    """

    def __init__(
        self, cfg: LatentConfig, stream: np.random.Generator, log_price: float, now: float
    ) -> None:
        self.cfg = cfg
        self.stream = stream
        self.time = now
        self.anchor = log_price
        self.x = np.empty(0)
        self.side = np.empty(0, dtype=np.int8)
        self.death = np.empty(0)
        #: sorted fronts of (-x, index) for buyers and (x, index) for sellers, most eager first
        self._buyers: list[tuple[float, int]] = []
        self._sellers: list[tuple[float, int]] = []
        self._reach = (log_price - _FRONT, log_price + _FRONT)
        self.n_deposited = 0
        self.n_forgotten = 0

    def __len__(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.x)))

    def advance(
        self,
        now: float,
        log_mid: float,
        news: float = 0.0,
        mood: float = 0.0,
        public: float = 0.0,
        fronts: bool = True,
        deposit_multiplier: float = 1.0,
    ) -> None:
        """A full pass from the last one to ``now`` (seconds): drop the revealed and forgotten
        orders, shift every reservation price and the anchor by ``value_tracking * (news -
        public) + news_tracking * public + mood`` (``news``: the log move of value since the
        last pass, ``public`` the part of it that was public jumps; ``mood``: the common move of
        the investors' views that is not value's, learnt from the price or a sentiment), diffuse,
        move the anchor towards ``log_mid``, deposit, rebuild the fronts around ``log_mid``
        (unless ``fronts`` is False). Reveals nothing. Deposits arrive at ``deposit_multiplier``
        (>= 0) times ``deposit_rate``."""
        cfg = self.cfg
        dt = now - self.time
        if dt < 0.0:
            return
        self.time = now
        keep = self.death > now  # NaN prices (revealed) are dropped below
        self.n_forgotten += int(np.count_nonzero(~keep & ~np.isnan(self.x)))
        keep &= ~np.isnan(self.x)
        if not keep.all():
            self.x, self.side, self.death = self.x[keep], self.side[keep], self.death[keep]
        shift = cfg.value_tracking * (news - public) + cfg.news_tracking * public + mood
        if shift:
            self.x += shift
            self.anchor += shift
        if cfg.diffusion > 0.0 and self.x.size and dt > 0.0:
            self.x += math.sqrt(2.0 * cfg.diffusion * dt) * self.stream.standard_normal(self.x.size)
        hl = cfg.anchor_half_life
        w = 1.0 if hl <= 0.0 else 1.0 - 0.5 ** (dt / hl)
        self.anchor += w * (log_mid - self.anchor)
        rate = cfg.deposit_rate * deposit_multiplier
        self._deposit(int(self.stream.poisson(rate * dt)) if dt > 0 else 0, now)
        if fronts:
            self._build_fronts(log_mid)

    def _deposit(self, k: int, now: float) -> None:
        if k <= 0:
            return
        cfg = self.cfg
        s = self.stream
        side = np.where(s.random(k) < 0.5, 1, -1).astype(np.int8)
        x = self.anchor - side * cfg.deposit_width * s.random(k)
        death = now + s.standard_exponential(k) / cfg.forget_rate
        self.x = np.concatenate((self.x, x))
        self.side = np.concatenate((self.side, side))
        self.death = np.concatenate((self.death, death))
        self.n_deposited += k

    def _build_fronts(self, log_mid: float) -> None:
        lo, hi = log_mid - _FRONT, log_mid + _FRONT
        self._reach = (lo, hi)
        x, buy = self.x, self.side > 0
        idx = np.flatnonzero(buy & (x > lo))
        order = np.argsort(-x[idx])
        self._buyers = list(zip((-x[idx[order]]).tolist(), idx[order].tolist(), strict=True))
        idx = np.flatnonzero(~buy & (x < hi))
        order = np.argsort(x[idx])
        self._sellers = list(zip(x[idx[order]].tolist(), idx[order].tolist(), strict=True))
        self._buyers.reverse()  # most eager last: popped from the end
        self._sellers.reverse()

    def stale(self, log_bid: float, log_ask: float) -> bool:
        """Whether the touch has left the band the fronts cover (a full pass is then due)."""
        lo, hi = self._reach
        return log_ask > hi or log_bid < lo

    def crosses(self, log_bid: float, log_ask: float) -> bool:
        """Whether a latent buyer is at or above ``log_ask`` or a seller at or below ``log_bid``
        (O(1): the fronts' heads)."""
        b, s = self._buyers, self._sellers
        return bool((b and -b[-1][0] >= log_ask) or (s and s[-1][0] <= log_bid))

    def reveal(
        self, log_bid: float, log_ask: float, elapsed: float = math.inf
    ) -> list[tuple[int, float]]:
        """Remove and return the latent orders the touch has reached as ``(side, x)``, the
        buyers first (highest reservation first), then the sellers (lowest first).

        ``log_bid`` / ``log_ask`` are the logs of the best prices in currency (-inf / +inf for an
        empty side: nothing is revealed against it). With ``reveal_time`` > 0 each reached
        order is converted only with probability ``1 - exp(-elapsed / reveal_time)``
        (``elapsed``: seconds since the previous look); the others stay at the fronts' heads,
        in their order, for the next look.
        """
        tau = self.cfg.reveal_time
        p = 1.0 if tau <= 0.0 else -math.expm1(-max(elapsed, 0.0) / tau)
        out: list[tuple[int, float]] = []
        x = self.x
        for front, side in ((self._buyers, 1), (self._sellers, -1)):
            waiting = []
            while front and (-front[-1][0] >= log_ask if side > 0 else front[-1][0] <= log_bid):
                head = front.pop()
                if p < 1.0 and self.stream.random() >= p:
                    waiting.append(head)
                    continue
                xi = -head[0] if side > 0 else head[0]
                out.append((side, xi))
                x[head[1]] = math.nan
            front.extend(reversed(waiting))  # back at the heads, most eager last
        return out

    def density(self, log_price: float, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent orders of buyers and of sellers per bin of log distance ``x - log_price``
        (``edges`` increasing), for inspection and tests."""
        live = ~np.isnan(self.x)
        u = self.x[live] - log_price
        buy = self.side[live] > 0
        return np.histogram(u[buy], edges)[0], np.histogram(u[~buy], edges)[0]

    def warm_up(self, vol: float, duration: float) -> None:
        """Bring the book near its stationary state before the open: run it for ``duration``
        seconds (ending at the book's current time) against a synthetic log random walk of
        annualised volatility ``vol`` that ends at the current anchor, dropping whatever the walk
        reaches (no orders are sent)."""
        end, centre = self.time, self.anchor
        steps = max(1, math.ceil(duration / _WARMUP_STEP))
        dt = duration / steps
        sd = vol * math.sqrt(dt / SECONDS_PER_YEAR)
        walk = np.cumsum(sd * self.stream.standard_normal(steps))
        walk += centre - walk[-1]  # the walk ends at the opening price
        self.time = end - duration
        self.anchor = float(walk[0])
        for i in range(steps):
            p = float(walk[i])
            self.advance(end - duration + (i + 1) * dt, p, fronts=False)
            x, buy = self.x, self.side > 0
            x[(buy & (x >= p)) | (~buy & (x <= p))] = math.nan
        self.advance(end, centre)


class LatentTrader(Participant):
    """The latent investors' single account: advances the latent book and sends what the price
    reveals (see the module docstring). ``n_revealed`` / ``shares_revealed`` count the orders
    and shares sent."""

    population = "latent"

    def __init__(self, world: World, stream: np.random.Generator, cfg: LatentConfig) -> None:
        super().__init__(world, stream, cfg.rate)
        self.cfg = cfg
        self.latent = LatentBook(cfg, stream, math.log(world.state.mid), world.now)
        self.latent.warm_up(world.state.vol, _WARMUP_MEMORIES / cfg.forget_rate)
        self._next_update = world.now
        self._last_look = world.now  # the previous look at the touch (not during halts)
        self._log_value = math.log(world.fundamental)
        self._public_news = world.public_news
        #: the latent investors' learnt value: the change of ``learning * g`` shifts the book
        self.learnt = LearntValue(cfg.learning, cfg.learning_horizon)
        #: log move per share of net purchase (Kyle's lambda); see ``flow_impact``
        self._lambda = cfg.flow_impact * 1e-4 / 1e6
        self._state_step = world.state.n  # the market's last step counted into the flow
        self._own_aggressive = 0  # signed shares the latent orders took since the last pass
        self.flow_rate = 0.0  # the running estimate of the others' flow, shares/s
        #: the level (log) the flow's impact holds value at now: its shifts less what has faded
        self.flow_memory = flow_memory(cfg)
        #: the others' episodes of same-side trading and the value they hold (off at 0)
        self.metaorders = MetaorderImpact(
            cfg.metaorder_impact * 1e-4, cfg.metaorder_permanent, cfg.metaorder_gap
        )
        self._dealers_weighted = False  # the dealers' weight is set at the first read
        if cfg.metaorder_impact > 0.0:
            world.state.track_account_flow()
        self.daily_volume = DailyVolume(world.state, world.now)
        #: S starts at 0 so that the open is where the run says it is
        self.sentiment = Sentiment(cfg.sentiment_sd, cfg.sentiment_half_life, 0.0, world.now)
        # S on a fixed clock grid from a stream of its own (spawned at build, before any draw
        # the market could change): the same path whatever the market does, so that two runs
        # of one seed differ only by what differs between them
        self._mood_stream = stream.spawn(1)[0]
        self._mood_time = world.now
        self.n_revealed = 0
        self.shares_revealed = 0
        self._memory = storm_memory(cfg)
        self._ceiling = storm_ceiling(cfg)
        self.deposit_multiplier = 1.0  # of the last pass (see storm_multiplier)
        self.multiplier_sum = 0.0
        self.n_passes = 0

    def act(self) -> None:
        m = self.world
        book = m.book_view
        now = m.now
        latent = self.latent
        if book.halted:
            return  # the book's clock keeps running: the next pass covers the halt
        bid, ask = book.best_bid, book.best_ask
        tick = m.tick
        log_bid = math.log(bid * tick) if bid is not None else -math.inf
        log_ask = math.log(ask * tick) if ask is not None else math.inf
        if now >= self._next_update or latent.stale(log_bid, log_ask):
            log_value = math.log(m.fundamental)
            log_mid = math.log(m.state.mid)
            dt = now - latent.time  # since the last pass: the book's own clock
            mood = self.learnt.update(dt, log_mid, log_value)
            mood += self._move_sentiment(now) + self._absorbed_flow_shift(dt)
            mood += self._metaorder_shift(now)
            latent.advance(
                now,
                log_mid,
                log_value - self._log_value,
                mood,
                public=m.public_news - self._public_news,
                deposit_multiplier=self._storm(dt),
            )
            self._log_value, self._public_news = log_value, m.public_news
            self._next_update = now + self.cfg.update_interval * self.stream.standard_exponential()
        elapsed, self._last_look = now - self._last_look, now
        if latent.crosses(log_bid, log_ask):
            self._send(latent.reveal(log_bid, log_ask, elapsed), log_bid, log_ask)

    def _absorbed_flow_shift(self, dt: float) -> float:
        """The shift (log) for the others' net flow over the ``dt`` seconds since the previous
        pass: ``flow_impact`` times the aggressor-signed shares traded, less the latent
        investors' own crossing orders (they act on value; the flow they absorb is the
        others'), less what has faded of the level earlier flow holds (``flow_impact_half_life``).
        Buyers who take liquidity are read as knowing something (Kyle 1985), so value is revised
        up; linear in the flow, so a round trip leaves nothing and pays for nothing (Huberman &
        Stanzl 2004). With ``flow_expectation_half_life`` only the surprise moves value: the
        flow less the running rate estimate times ``dt`` (Lillo & Farmer 2004: a flow that is
        predictable from its own past carries no news, which keeps the price a martingale while
        order signs have long memory)."""
        if self._lambda == 0.0:
            return 0.0
        state = self.world.state
        signed = float(state.signed_volumes[self._state_step + 1 : state.n + 1].sum())
        self._state_step = state.n
        flow = signed - self._own_aggressive
        self._own_aggressive = 0
        return self.flow_memory.add(dt, self._lambda * (flow - self._expected_flow(flow, dt)))

    def _metaorder_shift(self, now: float) -> float:
        """The change (log) of the value the others' episodes hold since the previous pass
        (:class:`agents.metaorder_impact.MetaorderImpact`); their own account's prints are not
        the others'. The daily volume an episode is measured against is the volume traded so far
        over the trading time elapsed (at least 30 minutes of it), per trading day."""
        if self.cfg.metaorder_impact <= 0.0:
            return 0.0
        state = self.world.state
        daily = self.daily_volume.update(now)
        if not self._dealers_weighted:
            # designated once the dealers exist, after this agent is built
            for key in self.world.chain.dealers:
                if isinstance(key, int):
                    self.metaorders.set_weight(key, self.cfg.metaorder_dealer_weight)
            self._dealers_weighted = True
        accounts, signed = state.take_account_flow()
        others = accounts != self.unique_id
        if daily <= 0.0:
            return 0.0  # nothing traded yet: no episode to read
        return self.metaorders.update(now, accounts[others], signed[others], daily)

    def _expected_flow(self, flow: float, dt: float) -> float:
        """The flow (shares) the running rate estimate predicted for these ``dt`` seconds; then
        moves the estimate towards this pass's rate (half-life ``flow_expectation_half_life``)."""
        hl = self.cfg.flow_expectation_half_life
        if hl <= 0.0 or dt <= 0.0:
            return 0.0
        expected = self.flow_rate * dt
        self.flow_rate -= math.expm1(-math.log(2.0) * dt / hl) * (flow / dt - self.flow_rate)
        return expected

    def _storm(self, dt: float) -> float:
        """Feed the market's 5-minute variance over the ``dt`` seconds since the last pass into
        the memory and return the deposit multiplier for this pass (:func:`storm_multiplier` of
        the remembered volatility)."""
        vol = min(self.world.state.vol, self._ceiling)
        sigma2 = self._memory.update(vol * vol, max(dt, 0.0))
        mult = storm_multiplier(self.cfg, math.sqrt(max(sigma2, 0.0)))
        self.deposit_multiplier = mult
        self.multiplier_sum += mult
        self.n_passes += 1
        return mult

    def _move_sentiment(self, now: float) -> float:
        """Advance the common sentiment ``S`` to the last grid time (every ``_MOOD_STEP``
        seconds) at or before ``now``, in exact Ornstein-Uhlenbeck steps of stationary s.d.
        ``sentiment_sd``; return its change (log price)."""
        mood = self.sentiment
        steps = math.floor((now - self._mood_time) / _MOOD_STEP)
        if mood.sd <= 0.0 or steps <= 0:
            return 0.0
        before = mood.value
        for z in self._mood_stream.standard_normal(steps).tolist():
            self._mood_time += _MOOD_STEP
            mood.advance(self._mood_time, z)
        return mood.value - before

    def _send(self, revealed: list[tuple[int, float]], log_bid: float, log_ask: float) -> None:
        """Send each revealed order as a limit order at its reservation price (ticks, rounded
        towards the holder's side: a buyer never pays above its reservation), or at most
        ``max_sweep`` through the touch the reveal was checked against."""
        m = self.world
        venue = m.venue
        acc = self.unique_id
        cfg = self.cfg
        qty = cfg.order_lots * cfg.lot_size
        cap_buy, cap_sell = log_ask + cfg.max_sweep, log_bid - cfg.max_sweep
        for s, xi in revealed:
            px = math.exp(min(xi, cap_buy) if s > 0 else max(xi, cap_sell)) / m.tick
            price = max(1, math.floor(px) if s > 0 else math.ceil(px))
            oid = venue.limit(acc, s, price, qty)
            if self._lambda:
                # what it took at once, its own resting orders included (those are other latent
                # investors: no outsider's flow either way)
                self._own_aggressive += s * (qty - m.book_view.remaining(oid))
            self.n_revealed += 1
            self.shares_revealed += qty
            if m.book_view.remaining(oid):
                m.cancel_at(oid, m.now + cfg.visible_lifetime)


class LatentPopulation(Population):
    """The latent liquidity: one :class:`LatentTrader` holding the whole latent book."""

    name = "latent"

    @classmethod
    def build(
        cls, world: World, cfg: LatentConfig, stream: np.random.Generator
    ) -> LatentPopulation:
        trader = LatentTrader(world, stream, cfg)
        trader.initial_shares = cfg.initial_shares
        trader.initial_cash = cfg.initial_cash
        return cls(cfg, stream, [trader])

    def summary(self) -> dict[str, Any] | None:
        if not self.members:
            return None
        t = self.members[0]
        assert isinstance(t, LatentTrader)
        return {
            "latent_orders": len(t.latent),
            "deposited": t.latent.n_deposited,
            "forgotten": t.latent.n_forgotten,
            "revealed": t.n_revealed,
            "shares_revealed": t.shares_revealed,
            "mean_deposit_multiplier": t.multiplier_sum / max(1, t.n_passes),
            "flow_level_log": t.flow_memory.level,
            "metaorder_level_log": t.metaorders.level,
            "metaorder_kept_log": t.metaorders.kept,
            "metaorder_episodes": t.metaorders.episodes,
        }
