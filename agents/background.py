"""Background traders: a Chiarella-Iori-Perello population (fundamentalist, chartist, noise).

After Chiarella, Iori & Perello (2009), "The impact of heterogeneous trading rules on the limit
order book and order flows". Every trader ``i`` carries its own weights ``w_f >= 0``
(fundamentalist), ``w_c`` (chartist; negative = contrarian) and ``w_n >= 0`` (noise), and its own
horizon ``tau_i`` in seconds. When its clock fires it forms an expected log return over its
horizon::

    f = log(F / p) * min(1, tau_i / tau_F)     fundamentalist: the gap to the fundamental closes
                                               at the rate 1 / tau_F (tau_F = fundamental_horizon)
    c = log(p_t / p_{t - tau_i})               chartist: the last tau_i seconds' move goes on
    n = noise_sd * eps,  eps ~ N(0, 1)         noise
    r_hat = (w_f * f + w_c * c + w_n * n) / (w_f + |w_c| + w_n),  clipped to +/- max_expected_return

with ``p`` the current mid and ``F`` the model's fundamental value, seen with a log error of
standard deviation ``fundamental_noise``. The clip keeps a trader from chasing a price far beyond
the book: a chartist's marketable order priced at its expected price could otherwise sweep a thin
book and so feed the next chartist's trend. The expected price is ``p_hat = p * exp(r_hat)`` and
the side is the sign of ``r_hat`` (+1 buy, -1 sell). Each action is then one of

* a **market order** (probability ``market_order_fraction`` at base activity);
* a **marketable limit order** (``marketable_fraction`` of the limit orders at base activity):
  priced at the opposite best or at ``p_hat`` if that is further, so it sweeps at most up to its
  own expected price and rests any remainder there;
* a **passive limit order**: ``p_hat`` shaded away from the market by a fraction drawn from a
  gamma (Erlang) distribution with ``offset_shape`` stages and mean ``limit_offset``. Shape 1 is
  exponential (resting depth peaks at the touch); larger shapes put the peak a few ticks behind
  it, as in real books, so that a large order meets more liquidity the further it sweeps. If the
  shaded price is still through the opposite best (a strong opinion) it crosses as well.

A resting order is cancelled after an exponential lifetime of mean ``order_lifetime`` seconds.
Sizes are whole round lots of ``lot_size`` shares, ``lots = floor(U ** (-1 / size_tail_exponent))``
capped at ``max_lots`` (a discrete power law, ``P(lots >= k) = k ** -size_tail_exponent``).

Activity feedback with memory (traders come to the market when it moves, and remember it). The
population's rate is multiplied by ``m = clip((sigma / activity_reference_vol) **
activity_feedback, activity_min_multiplier, activity_max_multiplier)`` with::

    sigma**2 = (1 - sum_k w_k) * v + sum_k w_k * RV_k
    w_k ~ k ** -memory_alpha,  sum_k w_k = memory_weight

``v`` the market's 5-minute EWMA variance and ``RV_k`` averages of ``v`` over ``memory_windows``
log-spaced half-lives from ``memory_min`` to ``memory_max`` (30 minutes to 20 trading days by
default). A superposition of exponentials with log-spaced rates and power-law weights decays
roughly as a power law over the range it covers (Zumbach & Lynch 2001, Physica A 298:521; Corsi
2009's HAR; Borland & Bouchaud 2005), so a storm keeps the crowd busy for days and a calm month
thins it (``m < 1``). Resting orders arrive at ``m ** (1 - aggression_feedback)`` times their base
rate, so the extra actions of a moving market are mostly aggressive (and a calm market's mix is
more passive): moves bring aggressive flow, which thins the book and moves the price further. The
loop's gain is ``activity_feedback`` times the elasticity of volatility to activity (about 1.3
here: with ``m`` held at 0.5 / 1 / 2 / 3 the market's 5-minute volatility is about 0.05 / 0.10 /
0.29 / 0.68 on one-day runs of seed 2); kept below 1 it amplifies and prolongs every shift of
activity, above 1 it locks onto a bound. Earlier versions let the crowd grow used to volatility
(habituation); that erased the memory on purpose and is gone: the reference level is fixed, and
the bounds on ``m`` guard against a run-away. No volatility process is scripted.

Herding between speculators and investors (Kirman 1993; Franke & Westerhoff 2012's structural
volatility: the chartist share wanders with a persistence of days, and volatility with it). Each
trader is a speculator or an investor (half each at the start). Speculators act ``1 +
speculator_activity`` times as often as investors (the base rate stays the average at a share of
one half), their extra actions all aggressive (they rest as many orders as an investor), and
weigh the trend ``speculator_chartist`` times as much: a speculative crowd takes liquidity. At
each firing of its clock a trader changes state on its own with a small probability (which pulls
the share back to one half over ``herding_persistence`` seconds of base activity) or, with
probability ``herding_recruitment``, meets a trader at random and adopts its state. The share
``x`` then wanders like a Beta(a, a) variable with ``a = e * n / herding_recruitment`` (``e`` the
spontaneous probability, ``n`` the number of traders): the dispersion depends on the crowd's
size, as in Kirman's model (:meth:`agents.moods.CrowdMoods.herd`).

Moods of optimists and pessimists (Lux & Marchesi 1999; :mod:`agents.moods`, with their
calibration; off by default, on with ``mood_share`` > 0): speculators take the side of a mood
that spreads by imitation and follows the trend, so a herd's net flow moves the price through
the book for hours.

Slow noise traders (:mod:`agents.noise_metaorders`; ``slow_share`` of the traders): each works
uninformed metaorders one after another, a random side and a power-law number of child orders
(``metaorder_tail``, from ``metaorder_min_children`` up to ``metaorder_max_children``); every
action of such a trader is a child on its metaorder's side, priced and typed as any other action
(or a market order with probability ``metaorder_urgency``), and it acts ``metaorder_activity``
times as often as the base rate. Their flow is the long-memory order flow of Lillo, Mike &
Farmer (2005); whatever of its impact the learning traders adopt stays. Off by default: it did
not bring the R^2 of 30-minute returns on F into its band (:mod:`agents.noise_metaorders`).

Learning value from prices (Gennotte & Leland 1990; Kyle 1985), on by default. Nobody trades on
the fundamental's level: traders who cannot tell hedging or program supply from information read
a persistent gap between the price and the value they know as news they lack. The crowd keeps
``g``, an average of ``log(p / F)`` with half-life ``value_learning_horizon`` seconds (read net
of the news still in transit, :class:`agents.beliefs.LearntValue` with ``news_horizon``), and the
fundamentalists' anchor is ``F * exp(value_learning * g)``: the news in ``F`` moves every anchor at
once, but the level each trader acts on is learnt from the price. Order flow that moves the price
therefore moves value for good: the part the crowd learns before the fundamentalists lean
against it stays (permanent impact), the rest reverts (transient impact), and what stays is undone
only over ``horizon / (1 - value_learning)`` (about 50 minutes at the defaults 30 s and 0.99).
The same race sets how much of ``F``'s news reaches the price within 30 minutes. With
``value_learning = 0`` the anchor is ``F`` and the price is ``F`` plus a few minutes of noise.
With ``value_learning_vol_exponent`` k > 0 the half-life is stretched by ``max(1, sigma /
activity_reference_vol) ** k`` (``sigma`` the crowd's remembered volatility): a price swinging
beyond the usual is a noisier signal and is learnt from more slowly
(:meth:`BackgroundCrowd.learning_slowdown`). With ``value_learning_gamma_discount`` c > 0 the
crowd reads the delta-hedging dealers' public gamma exposure (``World.dealer_gex``) and learns
only ``1 - phi`` of the gap, ``phi = min(1, c * max(0, -GEX) / (p * V))`` the share a short
book's hedges explain (:func:`agents.beliefs.hedging_explained_share`).

The calibration of these defaults and of the volatility memory: docs/participants.md.

Persistent private opinions (``opinion_half_life_min`` / ``_max``: 1 minute to a day by default;
both 0 switch them off). The
noise term is a trader's private opinion rather than a fresh draw at each action: an
Ornstein-Uhlenbeck process in the trader's own time with a N(0, 1) law and a half-life drawn
log-uniform in [min, max] (:meth:`BackgroundTrader.persist_opinion`). A trader with a view keeps
trading on the same side for a while, as investors who split a decision into many orders do, so
the market's order signs are correlated over minutes to hours (Lillo, Mike & Farmer 2005, Phys.
Rev. E 71:066122: long-memory order signs come from split metaorders of power-law sizes; a
log-uniform spread of half-lives gives a slowly decaying sign correlation). Correlated flow is
what lets transient impact coexist with returns that do not revert (Bouchaud, Gefen, Potters &
Wyart 2004, Quantitative Finance 4:176).

Beliefs instead of F (``beliefs``, off by default; :mod:`agents.beliefs`). Each trader holds a
belief about value, revised at its actions from the price (``price_learning``) and, rarely
(``value_look_rate``), from a noisy look at value through a common sentiment (``sentiment_sd``,
``sentiment_half_life``) and its own persistent error (``belief_error_sd``). Its fundamentalist
term reads the belief instead of ``F`` and closes over its own value horizon, log-uniform in
[``value_horizon_min``, ``value_horizon_max``], instead of ``fundamental_horizon``.

Endowment: ``initial_shares`` shares and ``initial_cash`` currency each. This population may sell
short and borrow cash (negative ledger positions are allowed): it stands for the rest of the
market, whose balance sheet is outside the model.

Units: rates in actions per second per agent; horizons, lifetimes and memories in seconds;
``noise_sd``, ``fundamental_noise``, ``max_expected_return`` as log returns; ``limit_offset`` as a
fraction of the price; volatilities annualised (0.2 = 20%); sizes in shares.
"""

from __future__ import annotations

import math

import numpy as np

from agents.background_config import BackgroundConfig
from agents.base import Participant, Population
from agents.beliefs import (
    LearntValue,
    Sentiment,
    hedging_explained_share,
    log_uniform,
    look_probability,
    revise,
)
from agents.moods import CrowdMoods
from agents.noise_metaorders import Metaorder
from agents.volatility_memory import VolatilityMemory, log_spaced, power_weights
from agents.world import World
from market.exchange.market_state import DailyVolume

_BUFFER = 4096


def memory_half_lives(cfg: BackgroundConfig) -> list[float]:
    """Half-lives (s) of the memory windows: ``memory_windows`` log-spaced values."""
    return log_spaced(cfg.memory_min, cfg.memory_max, cfg.memory_windows)


def memory_weights(cfg: BackgroundConfig) -> list[float]:
    """``w_k = memory_weight * k ** -alpha / sum_j j ** -alpha``, k = 1 the shortest window."""
    return power_weights(cfg.memory_windows, cfg.memory_alpha, cfg.memory_weight)


class BackgroundCrowd(CrowdMoods):
    """What one model's background population shares: its random draws and its activity level.

    Draws come from the population's stream in blocks (a Python float popped from a list is far
    cheaper than a scalar call into the generator); their order is fixed by the order of actions,
    so runs stay reproducible. ``multiplier`` is the activity multiplier of the current step,
    ``p_market`` / ``p_aggressive`` the cumulative order-type thresholds that go with it.
    """

    def __init__(self, cfg: BackgroundConfig, stream: np.random.Generator) -> None:
        self.cfg = cfg
        self.stream = stream
        self._u: list[float] = []
        self._z: list[float] = []
        self._e: list[float] = []
        self._seen_step = -1
        #: the memory windows' realised variances (``memory.var``, annualised, shortest first)
        self.memory = VolatilityMemory(
            memory_half_lives(cfg), memory_weights(cfg), 1.0 - cfg.memory_weight
        )
        self.vol_multiplier = 1.0  # the volatility part of `multiplier`
        #: traders in the speculator state, and all traders (set by the population)
        self.n_speculators = 0
        self.members: list[BackgroundTrader] = []
        g = cfg.speculator_activity
        self.speculator_boost = (1.0 + g) / (1.0 + 0.5 * g)  # base rate kept at x = 1/2
        self.investor_share = 1.0 / (1.0 + g)  # an investor acts at this share of the firings
        firings = 2.0 * cfg.herding_persistence * cfg.rate * self.speculator_boost
        self.switch_probability = min(0.5, 1.0 / firings) if firings > 0 else 0.5
        self.multiplier_sum = 0.0
        self.multiplier_steps = 0
        #: Lux-Marchesi moods: traders in the optimist state, the chance a firing reconsiders
        #: the mood at U = 0, and the recent trend in standard deviations (set once a step)
        self.moods = cfg.mood_share > 0.0
        self.n_optimists = 0
        firings = cfg.mood_persistence * cfg.rate * self.speculator_boost
        self.mood_switch = min(0.5, 1.0 / firings) if firings > 0 else 0.5
        self.trend_z = 0.0
        self.value_z = 0.0
        #: the value the crowd learns from the price: g, the average log(price / F) net of the
        #: news still in transit, and how far from F it stands (agents.beliefs.LearntValue)
        self.value = LearntValue(cfg.value_learning, cfg.value_learning_horizon, cfg.news_horizon)
        self.anchor_factor = 1.0  # exp(value_learning * g), set once a step, read every action
        #: the share of the gap put down to the dealers' hedges this step (read_dealers)
        self.hedging_share = 0.0
        self._daily_volume: DailyVolume | None = None
        self.shade_scale = cfg.limit_offset / cfg.offset_shape
        #: the common sentiment S_t of the traders' looks at value (belief mode only)
        self.sentiment = (
            Sentiment(cfg.sentiment_sd, cfg.sentiment_half_life) if cfg.beliefs else None
        )
        self.set_mix(1.0)

    # ------------------------------------------------------------------ draws
    def uniform(self) -> float:
        """A U(0, 1) draw."""
        if not self._u:
            self._u = self.stream.random(_BUFFER).tolist()
        return self._u.pop()

    def normal(self) -> float:
        """A N(0, 1) draw."""
        if not self._z:
            self._z = self.stream.standard_normal(_BUFFER).tolist()
        return self._z.pop()

    def exponential(self) -> float:
        """An Exp(1) draw."""
        if not self._e:
            self._e = self.stream.standard_exponential(_BUFFER).tolist()
        return self._e.pop()

    def lots(self) -> int:
        """Order size in lots: a discrete power law, ``P(lots >= k) = k ** -size_tail_exponent``."""
        cfg = self.cfg
        u = 1.0 - self.uniform()  # in (0, 1]
        return min(cfg.max_lots, int(u ** (-1.0 / cfg.size_tail_exponent)))

    # ------------------------------------------------------------------ activity
    def set_mix(self, multiplier: float) -> None:
        """Set the volatility ``multiplier`` (> 0) and the order-type thresholds that go with it.

        Resting orders arrive at ``multiplier ** (1 - aggression_feedback)`` times their base
        rate; market and marketable orders share the rest in their base proportion. Below 1 (a
        calm market) the mix turns passive, with no aggressive orders at all at the extreme.
        """
        if not multiplier > 0.0:
            raise ValueError(f"background: activity multiplier must be > 0, got {multiplier}")
        cfg = self.cfg
        base_market = cfg.market_order_fraction
        base_aggressive = base_market + (1.0 - base_market) * cfg.marketable_fraction
        aggressive = 1.0 - (1.0 - base_aggressive) / multiplier**cfg.aggression_feedback
        aggressive = max(0.0, aggressive)
        self.vol_multiplier = multiplier
        self.multiplier = multiplier * self.speculator_boost
        self.p_aggressive = aggressive
        market_share = base_market / base_aggressive if base_aggressive > 0 else 0.0
        self.p_market = aggressive * market_share
        # a speculator's extra actions are all aggressive: it rests as many orders as an investor
        spec = 1.0 - (1.0 - aggressive) * self.investor_share
        self.p_aggressive_speculator = spec
        self.p_market_speculator = spec * market_share

    def activity_multiplier(self, state, dt: float, fundamental: float | None = None) -> float:
        """The population's rate factor from the market's recent volatility (once per step).

        ``state`` is the market's :class:`market.exchange.market_state.MarketState`, ``dt`` the
        step in seconds, ``fundamental`` the value the crowd learns against (None: no learning this
        step). Repeated calls within one step return the same value. The factor is the
        volatility multiplier ``m`` times the speculators' boost (investors then pass on part of
        their firings, see :meth:`BackgroundTrader.act`).
        """
        if state.n == self._seen_step:
            return self.multiplier
        self._seen_step = state.n
        cfg = self.cfg
        sigma = math.sqrt(self.remember(state.vol**2, dt))
        if fundamental is not None:
            self.learn_value(state.mid, fundamental, dt, sigma)
        if self.moods:
            self.trend_z = self.trend_signal(state)
            if fundamental is not None:  # the herd's value: F, or partly the crowd's learnt value
                anchor = cfg.mood_anchor_learning * self.value.anchor
                self.value_z = self.value_signal(state, fundamental * math.exp(anchor))
        ratio = sigma / cfg.activity_reference_vol
        # no habituation: a volatile month keeps the crowd busy for as long as it is remembered
        m = ratio**cfg.activity_feedback
        m = min(cfg.activity_max_multiplier, max(cfg.activity_min_multiplier, m))
        self.set_mix(m)
        self.multiplier_sum += m
        self.multiplier_steps += 1
        return self.multiplier

    def remember(self, fast_var: float, dt: float) -> float:
        """Feed this step's 5-minute EWMA variance into the memory windows; return ``sigma**2``.

        ``sigma**2 = (1 - sum w) * fast_var + sum_k w_k * RV_k`` (annualised variances), each
        ``RV_k`` an EWMA of ``fast_var`` with the k-th log-spaced half-life: a superposition of
        exponentials with power-law weights, so a burst fades roughly as a power law over the
        windows' range (Zumbach & Lynch 2001; Corsi 2009). O(windows) per step.
        """
        return self.memory.update(fast_var, dt)

    def learn_value(
        self, mid: float, fundamental: float, dt: float, sigma: float | None = None
    ) -> None:
        """Update the learnt value with this step's ``log(mid / fundamental)`` (once per step).

        :class:`agents.beliefs.LearntValue` with the news correction: the gap is read net of the
        news still in transit, ``N`` (F's log moves, each fading with half-life
        ``news_horizon``, the time the price takes to absorb news). A gap that fresh news
        explains is not the market knowing better, so the crowd does not learn it away.
        ``sigma`` (annualised, the crowd's remembered volatility) stretches the half-life by
        :meth:`learning_slowdown`.
        """
        if not self.cfg.value_learning or not (mid > 0 and fundamental > 0):
            return
        scale = self.learning_slowdown(sigma)
        self.value.update(dt, math.log(mid), math.log(fundamental), scale, self.hedging_share)
        self.anchor_factor = math.exp(self.value.anchor)

    def read_dealers(self, world: World) -> None:
        """Set :attr:`hedging_share` from the dealers' public gamma exposure and the day's
        traded notional (:func:`agents.beliefs.hedging_explained_share` with
        ``value_learning_gamma_discount``); call before :meth:`activity_multiplier`."""
        if self._daily_volume is None:
            self._daily_volume = DailyVolume(world.state, world.now)
        notional = world.state.mid * self._daily_volume.update(world.now)
        discount = self.cfg.value_learning_gamma_discount
        self.hedging_share = float(hedging_explained_share(world.dealer_gex, notional, discount))

    def learning_slowdown(self, sigma: float | None) -> float:
        """The factor on the learnt value's half-life, ``max(1, sigma / reference) ** k`` with
        ``k = value_learning_vol_exponent`` and the reference ``activity_reference_vol``: 1 at
        ``k = 0`` or in a market no more volatile than the crowd finds normal.

        A crowd that reads the price as a signal of value weighs it by how informative it is;
        the weight (a Kalman gain) falls as the price's noise variance rises (Grossman &
        Stiglitz 1980, American Economic Review 70:393; Hellwig 1980, J. Economic Theory
        22:477), so a market swinging well beyond its usual volatility is learnt from more
        slowly, and a flow that moves the price back and forth (hedges chasing it) stops moving
        the crowd's value with it. ``k = 2`` is that variance ratio.
        """
        k = self.cfg.value_learning_vol_exponent
        if not k or sigma is None:
            return 1.0
        return max(1.0, sigma / self.cfg.activity_reference_vol) ** k

    @property
    def value_gap(self) -> float:
        """``g``: the average log(price / fundamental) the crowd has seen, net of news."""
        return self.value.gap

    @property
    def news_in_transit(self) -> float:
        """``N``: F's recent log moves the price is still expected to absorb."""
        return self.value.news_in_transit

    @property
    def mean_multiplier(self) -> float:
        """Average activity multiplier over the steps so far (1 before any step)."""
        return self.multiplier_sum / self.multiplier_steps if self.multiplier_steps else 1.0


class BackgroundTrader(Participant):
    """One fundamentalist / chartist / noise trader (see the module docstring).

    Attributes: ``w_fundamental``, ``w_chartist``, ``w_noise`` (weights), ``horizon`` (seconds),
    ``crowd`` (the shared :class:`BackgroundCrowd`), counters of actions ``n_market``,
    ``n_marketable`` (limit orders that crossed on arrival) and ``n_passive``. In belief mode
    (:mod:`agents.beliefs`) also ``belief`` (log value; None before the first action, which is a
    look at value), ``belief_time`` (seconds, its last revision), ``value_horizon``
    (``tau_f,i``, seconds) and ``belief_error`` (``eta_i``); otherwise ``value_horizon`` is None
    and the fundamental horizon of the config applies.
    """

    population = "background"

    def __init__(
        self,
        world: World,
        stream: np.random.Generator,
        rate: float,
        crowd: BackgroundCrowd,
        w_fundamental: float,
        w_chartist: float,
        w_noise: float,
        horizon: float,
        value_horizon: float | None = None,
        belief_error: float = 0.0,
        opinion_half_life: float | None = None,
    ) -> None:
        super().__init__(world, stream, rate)
        if not (horizon > 0 and math.isfinite(horizon)):
            raise ValueError(f"background: horizon must be finite and > 0 seconds, got {horizon}")
        self.crowd = crowd
        self.horizon = float(horizon)
        if value_horizon is not None and not (value_horizon > 0 and math.isfinite(value_horizon)):
            raise ValueError(
                f"background: value horizon must be finite and > 0, got {value_horizon}"
            )
        self.value_horizon = None if value_horizon is None else float(value_horizon)
        self.belief_error = float(belief_error)
        self.belief: float | None = None
        self.belief_time = 0.0
        if opinion_half_life is not None and not (
            opinion_half_life > 0 and math.isfinite(opinion_half_life)
        ):
            raise ValueError(
                f"background: opinion half-life must be finite and > 0, got {opinion_half_life}"
            )
        self.opinion_half_life = opinion_half_life
        self.opinion: float | None = None
        self.opinion_time = 0.0
        #: speculator (True) or investor: speculators act more often and may chase trends harder
        self.speculator = False
        #: Lux-Marchesi mood (optimist or pessimist): a speculator's orders lean towards it
        self.optimist = False
        #: the metaorder a slow noise trader works (agents.noise_metaorders); None: not one
        self.metaorder: Metaorder | None = None
        self.set_weights(w_fundamental, w_chartist, w_noise)
        self.n_market = 0
        self.n_marketable = 0
        self.n_passive = 0

    def set_weights(self, w_fundamental: float, w_chartist: float, w_noise: float) -> None:
        """Set the three weights (``w_chartist < 0``: contrarian); checked before any change."""
        if not (w_fundamental >= 0 and w_noise >= 0):
            raise ValueError(
                "background: w_fundamental and w_noise must be >= 0, "
                f"got {w_fundamental}, {w_noise}"
            )
        total = w_fundamental + abs(w_chartist) + w_noise
        if not (total > 0 and math.isfinite(total)):
            raise ValueError("background: the weights must be finite and not all 0")
        self.w_fundamental = float(w_fundamental)
        self.w_chartist = float(w_chartist)
        self.w_noise = float(w_noise)
        self._inv_total = 1.0 / total
        gain = self.crowd.cfg.speculator_chartist
        self._speculator_chartist = gain * self.w_chartist
        self._speculator_inv_total = 1.0 / (w_fundamental + abs(gain * w_chartist) + w_noise)

    @property
    def reach(self) -> float:
        """Share of the gap to the fundamental this trader expects to close within its horizon."""
        tau_f = self.value_horizon or self.crowd.cfg.fundamental_horizon
        return min(1.0, self.horizon / tau_f)

    def revise_belief(self, price: float) -> float:
        """Revise the belief at this action from ``price`` (and maybe a look); return it (log).

        See :mod:`agents.beliefs`. The first action is a look at value with weight 1.
        """
        m = self.world
        crowd = self.crowd
        cfg = crowd.cfg
        now = m.now
        first = self.belief is None
        look = None
        if first or crowd.uniform() < look_probability(cfg.value_look_rate, now - self.belief_time):
            s = crowd.sentiment.value if crowd.sentiment is not None else 0.0
            look = math.log(m.fundamental * crowd.anchor_factor) + s + self.belief_error
            if cfg.fundamental_noise:
                look += cfg.fundamental_noise * crowd.normal()
        if first:
            self.belief = look
        else:
            self.belief = revise(
                self.belief, math.log(price), cfg.price_learning, look, cfg.value_look_weight
            )
        self.belief_time = now
        return self.belief

    def persist_opinion(self, z: float) -> float:
        """This action's opinion (a standard normal) from the fresh draw ``z``.

        The opinion is an Ornstein-Uhlenbeck process in the trader's own time, with half-life
        ``opinion_half_life`` seconds and a N(0, 1) stationary law: the first action takes ``z``,
        later ones keep ``a = 0.5 ** (elapsed / half_life)`` of the previous opinion and add
        ``sqrt(1 - a**2) * z``, so the trader's order signs stay correlated over its half-life.
        """
        hl = self.opinion_half_life
        now = self.world.now
        if hl is None:
            return z
        if self.opinion is None:
            self.opinion = z
        else:
            a = 0.5 ** ((now - self.opinion_time) / hl)
            self.opinion = a * self.opinion + math.sqrt(1.0 - a * a) * z
        self.opinion_time = now
        return self.opinion

    def expected_log_return(
        self, price: float, fundamental: float, trend: float, eps: float
    ) -> float:
        """Expected log return over the horizon (the clipped ``r_hat`` of the module docstring).

        ``price`` and ``fundamental`` in currency, ``trend`` the log return of the mid over the
        last ``horizon`` seconds, ``eps`` a standard normal draw. Positive: the trader buys.
        """
        cfg = self.crowd.cfg
        f = math.log(fundamental / price) * self.reach
        if self.speculator:
            w_c, inv_total = self._speculator_chartist, self._speculator_inv_total
        else:
            w_c, inv_total = self.w_chartist, self._inv_total
        r = self.w_fundamental * f + w_c * trend + self.w_noise * cfg.noise_sd * eps
        r *= inv_total
        cap = cfg.max_expected_return
        return cap if r > cap else -cap if r < -cap else r

    def follow_mood(self, r_hat: float) -> float:
        """``r_hat`` turned to the side of the trader's mood (+ optimist), its size kept: the
        mood picks the side, not how far the trader will pay."""
        return abs(r_hat) if self.optimist else -abs(r_hat)

    def act(self) -> None:
        """One firing of the clock: maybe change state (herding), then maybe :meth:`trade`."""
        crowd = self.crowd
        crowd.herd(self)
        if crowd.moods:
            crowd.sway(self)
        # the clock fires at the speculators' rate; an investor acts on a share of its firings
        if self.speculator or crowd.uniform() < crowd.investor_share:
            self.trade()

    def expected_move(self, p: float) -> float:
        """This action's expected log return ``r_hat`` at mid ``p``: value, trend and opinion,
        then the mood's side (speculators) or the metaorder's side (slow noise traders)."""
        m = self.world
        crowd = self.crowd
        cfg = crowd.cfg
        st = m.state
        if crowd.sentiment is not None:  # belief mode: the value this trader believes in
            fundamental = math.exp(self.revise_belief(p))
        else:
            fundamental = m.fundamental
            fundamental *= crowd.anchor_factor  # 1.0 unless the crowd learns value from prices
            if cfg.fundamental_noise:
                fundamental *= math.exp(cfg.fundamental_noise * crowd.normal())
        trend = st.log_return(self.horizon) if self.w_chartist else 0.0
        r_hat = self.expected_log_return(
            p, fundamental, trend, self.persist_opinion(crowd.normal())
        )
        if crowd.moods and self.speculator and crowd.uniform() < cfg.mood_share:
            r_hat = self.follow_mood(r_hat)
        if self.metaorder is not None:  # a slow noise trader: the child takes its metaorder's side
            r_hat = abs(r_hat) if self.metaorder.next_side(crowd.uniform) > 0 else -abs(r_hat)
        return r_hat

    def trade(self) -> None:
        """One action: form ``r_hat`` and send a market, marketable or passive order."""
        m = self.world
        crowd = self.crowd
        cfg = crowd.cfg
        p = m.state.mid
        r_hat = self.expected_move(p)
        if r_hat > 0.0:
            side = 1
        elif r_hat < 0.0:
            side = -1
        else:
            side = 1 if crowd.uniform() < 0.5 else -1
        qty = crowd.lots() * cfg.lot_size
        venue = m.venue
        acc = self.unique_id
        u = crowd.uniform()
        if self.speculator:
            p_market, p_aggressive = crowd.p_market_speculator, crowd.p_aggressive_speculator
        else:
            p_market, p_aggressive = crowd.p_market, crowd.p_aggressive
        if u < p_market or (self.metaorder is not None and crowd.uniform() < cfg.metaorder_urgency):
            venue.market(acc, side, qty)
            self.n_market += 1
            return
        target = p * math.exp(r_hat) / m.tick
        book = m.book_view
        opp = book.best_ask if side > 0 else book.best_bid
        if u < p_aggressive and opp is not None:
            price = max(opp, int(target)) if side > 0 else min(opp, math.ceil(target))
            self.n_marketable += 1
        else:
            e = crowd.exponential()
            for _ in range(cfg.offset_shape - 1):
                e += crowd.exponential()
            shade = crowd.shade_scale * e
            if side > 0:
                price = int(target * (1.0 - shade))
                crossed = opp is not None and price >= opp
            else:
                price = math.ceil(target * (1.0 + shade))
                crossed = opp is not None and price <= opp
            if crossed:
                self.n_marketable += 1
            else:
                self.n_passive += 1
        if price < 1:
            price = 1
        oid = venue.limit(acc, side, price, qty)
        if book.remaining(oid):
            m.cancel_at(oid, m.now + cfg.order_lifetime * crowd.exponential())


def _laplace_abs(stream: np.random.Generator, scale: float, n: int) -> np.ndarray:
    return np.abs(stream.laplace(0.0, scale, n)) if scale > 0 else np.zeros(n)


class BackgroundPopulation(Population):
    """The background traders and their shared :class:`BackgroundCrowd` (``crowd``).

    Each step the crowd reads the market's volatility (and, when it learns value from prices,
    the gap to the fundamental) and sets the population's activity multiplier.
    """

    name = "background"

    def __init__(
        self,
        cfg: BackgroundConfig,
        stream: np.random.Generator,
        members: list[Participant],
        crowd: BackgroundCrowd | None = None,
    ) -> None:
        super().__init__(cfg, stream, members)
        self.crowd = crowd if crowd is not None else BackgroundCrowd(cfg, stream)

    @classmethod
    def build(
        cls, world: World, cfg: BackgroundConfig, stream: np.random.Generator
    ) -> BackgroundPopulation:
        crowd = BackgroundCrowd(cfg, stream)  # draws nothing until the first action
        return cls(cfg, stream, _traders(world, cfg, stream, crowd) if cfg.n else [], crowd)

    def observe(self, world: World) -> None:
        crowd = self.crowd
        if crowd.sentiment is not None:
            crowd.sentiment.advance(world.now, crowd.normal())
        if self.cfg.value_learning_gamma_discount > 0.0:
            crowd.read_dealers(world)
        self.activity_multiplier = self.crowd.activity_multiplier(
            world.state, world.dt, world.fundamental
        )


def populate(
    world: World, cfg: BackgroundConfig, stream: np.random.Generator
) -> list[BackgroundTrader]:
    """Create ``cfg.n`` background traders with their own weights and horizons."""
    if cfg.n == 0:
        return []
    return _traders(world, cfg, stream, BackgroundCrowd(cfg, stream))


def _traders(
    world: World, cfg: BackgroundConfig, stream: np.random.Generator, crowd: BackgroundCrowd
) -> list[BackgroundTrader]:
    n = cfg.n
    w_f = _laplace_abs(stream, cfg.fundamentalist_scale, n)
    w_c = _laplace_abs(stream, cfg.chartist_scale, n)
    w_c = np.where(stream.random(n) < cfg.contrarian_share, -w_c, w_c)
    w_n = _laplace_abs(stream, cfg.noise_scale, n)
    # an agent whose weights all came out 0 would have no opinion at all: give it a little noise
    w_n = np.where(w_f + np.abs(w_c) + w_n > 0, w_n, 1e-9)
    horizons = stream.uniform(cfg.horizon_min, cfg.horizon_max, n)
    # drawn after the rest, so that the draws above are the same with beliefs off
    if cfg.beliefs:
        tau_f = log_uniform(stream, cfg.value_horizon_min, cfg.value_horizon_max, n).tolist()
        eta = (cfg.belief_error_sd * stream.standard_normal(n)).tolist()
    else:
        tau_f, eta = [None] * n, [0.0] * n
    if cfg.opinion_half_life_max > 0.0:
        opinion_hl: list[float | None] = log_uniform(
            stream, cfg.opinion_half_life_min, cfg.opinion_half_life_max, n
        ).tolist()
    else:
        opinion_hl = [None] * n
    members = []
    for i in range(n):
        a = BackgroundTrader(
            world,
            stream,
            cfg.rate,
            crowd,
            float(w_f[i]),
            float(w_c[i]),
            float(w_n[i]),
            float(horizons[i]),
            tau_f[i],
            eta[i],
            opinion_hl[i],
        )
        a.initial_shares = cfg.initial_shares
        a.initial_cash = cfg.initial_cash
        members.append(a)
    # drawn last, so that the draws above stay as they were: half the traders start speculating
    for a, speculating in zip(members, (stream.random(n) < 0.5).tolist(), strict=True):
        a.speculator = speculating
    crowd.members = members
    crowd.n_speculators = sum(a.speculator for a in members)
    if crowd.moods:  # drawn after everything else: with moods off the draws are as they were
        for a, optimist in zip(members, (stream.random(n) < 0.5).tolist(), strict=True):
            a.optimist = optimist
        crowd.n_optimists = sum(a.optimist for a in members)
    if cfg.slow_share > 0.0:  # drawn last as well: with no slow noise traders nothing changes
        for a, slow in zip(members, (stream.random(n) < cfg.slow_share).tolist(), strict=True):
            if slow:
                a.metaorder = Metaorder(
                    cfg.metaorder_tail, cfg.metaorder_max_children, cfg.metaorder_min_children
                )
                a.rate = cfg.rate * cfg.metaorder_activity
    return members
