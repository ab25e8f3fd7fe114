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

Activity feedback (traders come to the market when it moves). The population's rate is
multiplied by ``m = min(activity_max_multiplier, max(1, sigma / reference) ** activity_feedback)``
where ``sigma`` blends the model's EWMA volatility with a slower average of it (half-life
``activity_memory``, weight ``activity_memory_weight``) and ``reference`` is
``activity_reference_vol`` or, if higher, the volatility the crowd has grown used to (an average
with half-life ``activity_habituation``). Resting orders arrive at
``m ** (1 - aggression_feedback)`` times their base rate, so the extra actions of a moving
market are mostly aggressive: moves bring aggressive flow, which thins the book and moves the
price further, until habituation and the fundamentalists calm it. Volatility clusters emerge
from this loop; no volatility process is scripted.

Learning value from prices (Gennotte & Leland 1990). Traders who cannot tell hedging supply
from information read part of a persistent gap between the price and the value they know as news
they lack. The crowd keeps ``g``, an average of ``log(p / F)`` with half-life
``value_learning_horizon`` seconds, and the fundamentalists' anchor becomes
``F * exp(value_learning * g)``. With ``value_learning = 0`` (the default) the anchor is ``F``.
When the price follows the fundamental, ``g`` stays near 0 and nothing changes; when selling that
nobody can see the reason for (portfolio insurance) holds the price below value, the anchor
follows it down and value buyers step back, so the fall goes further than the selling alone
would push it, and it is undone only slowly (time scale ``horizon / (1 - value_learning)``).

Endowment: ``initial_shares`` shares and ``initial_cash`` currency each. This population may sell
short and borrow cash (negative ledger positions are allowed): it stands for the rest of the
market, whose balance sheet is outside the model.

Units: rates in actions per second per agent; horizons, lifetimes and memories in seconds;
``noise_sd``, ``fundamental_noise``, ``max_expected_return`` as log returns; ``limit_offset`` as a
fraction of the price; volatilities annualised (0.2 = 20%); sizes in shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from agents.base import Participant, Population
from agents.world import World
from market.validation import ConfigError, Validated, param

_BUFFER = 4096


@dataclass
class BackgroundConfig(Validated):
    """Parameters of the background population (units in the module docstring).

    Weights are drawn per agent as ``|Laplace(0, scale)|`` (the chartist weight then negated for
    a ``contrarian_share`` of the agents); a scale of 0 switches that component off. Horizons are
    uniform in ``[horizon_min, horizon_max]``.
    """

    config_path: ClassVar[str] = "agents.background"

    n: int = param(905, lo=0, hi=1_000_000, unit="agents", doc="number of traders")
    rate: float = param(
        0.003,
        lo=0.0,
        hi=100.0,
        unit="actions/s",
        doc="base rate per trader, before the activity multiplier `m`",
    )
    fundamentalist_scale: float = param(
        1.0, lo=0.0, hi=1e6, doc="scale of the fundamentalist weight; 0 switches it off"
    )
    chartist_scale: float = param(
        1.0, lo=0.0, hi=1e6, doc="scale of the chartist weight; 0 switches it off"
    )
    noise_scale: float = param(
        1.0,
        lo=0.0,
        hi=1e6,
        doc="scale of the noise weight; 0 switches it off (the three scales not all 0)",
    )
    contrarian_share: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of traders whose chartist weight is negated",
    )
    horizon_min: float = param(
        30.0,
        lo=0.0,
        hi=86_400.0,
        lo_open=True,
        unit="s",
        doc="lower end of the uniform draw of the horizon `tau_i`",
    )
    horizon_max: float = param(
        900.0, lo="horizon_min", hi=86_400.0, unit="s", doc="upper end of that draw"
    )
    fundamental_horizon: float = param(
        1800.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="`tau_F`: a trader expects `min(1, tau_i / tau_F)` of the gap to value to close",
    )
    fundamental_noise: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="log return",
        doc="s.d. of the error with which an action sees the fundamental",
    )
    noise_sd: float = param(
        0.0005,
        lo=0.0,
        hi=1.0,
        unit="log return",
        doc="s.d. of the noise term of the expected return",
    )
    max_expected_return: float = param(
        0.003, lo=0.0, hi=1.0, lo_open=True, unit="log return", doc="clip on the expected return"
    )
    market_order_fraction: float = param(
        0.3,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="share of actions that are market orders at base activity",
    )
    marketable_fraction: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="share of limit orders priced marketable (opposite best or `p_hat`) at base activity",
    )
    limit_offset: float = param(
        0.0015,
        lo=0.0,
        hi=0.5,
        unit="fraction of price",
        doc="mean shading of a passive limit away from `p_hat`",
    )
    offset_shape: int = param(
        2,
        lo=1,
        hi=20,
        unit="stages",
        doc="Erlang shape of the shading; 1 = exponential, depth peaking at the touch",
    )
    order_lifetime: float = param(
        300.0,
        lo=0.0,
        hi=1e6,
        lo_open=True,
        unit="s",
        doc="mean of the exponential lifetime after which a resting order is cancelled",
    )
    lot_size: int = param(100, lo=1, hi=1_000_000, unit="shares", doc="shares per lot")
    size_tail_exponent: float = param(
        1.3, lo=0.0, hi=100.0, lo_open=True, doc="`P(lots >= k) = k ** -exponent`"
    )
    max_lots: int = param(300, lo=1, hi=1_000_000, unit="lots", doc="cap on an order's size")
    activity_feedback: float = param(
        2.0, lo=0.0, hi=10.0, doc="exponent of `sigma / reference` in `m`; 0 = constant rate"
    )
    activity_reference_vol: float = param(
        0.12,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="annualised",
        doc="volatility up to which `m = 1` (the habituated level instead, if higher)",
    )
    activity_max_multiplier: float = param(
        2.0, lo=1.0, hi=1000.0, unit="multiple", doc="cap on `m`"
    )
    activity_memory: float = param(
        1800.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="half-life of the slow average of the EWMA volatility",
    )
    activity_memory_weight: float = param(
        0.5, lo=0.0, hi=1.0, unit="fraction", doc="weight of that slow average in `sigma`"
    )
    activity_habituation: float = param(
        7200.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="half-life of the volatility the crowd grows used to",
    )
    aggression_feedback: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        doc="resting orders arrive at `m ** (1 - x)` times base: 0 keeps the mix, 1 makes every "
        "extra action aggressive",
    )
    value_learning: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        hi_open=True,
        doc="weight of the remembered price/value gap `g` in the fundamentalists' anchor; 0 = off",
    )
    value_learning_horizon: float = param(
        3600.0, lo=0.0, hi=1e8, lo_open=True, unit="s", doc="half-life of `g`"
    )
    initial_shares: int = param(
        1000, lo=-1e12, hi=1e12, unit="shares", doc="endowment per trader (may go short)"
    )
    initial_cash: float = param(
        100_000.0, lo=-1e15, hi=1e15, unit="currency", doc="endowment per trader (may borrow)"
    )

    def check(self) -> None:
        if self.fundamentalist_scale + self.chartist_scale + self.noise_scale <= 0.0:
            raise ConfigError(
                "agents.background: fundamentalist_scale, chartist_scale and noise_scale "
                "must not all be 0"
            )


class BackgroundCrowd:
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
        self._slow_var: float | None = None
        self._slow_decay = 1.0
        self._habit_var = 0.0
        self._habit_decay = 1.0
        self.multiplier_sum = 0.0
        self.multiplier_steps = 0
        self.value_gap = 0.0  # g: the average log(price / fundamental) the crowd has seen
        self.anchor_factor = 1.0  # exp(value_learning * g), set once a step, read every action
        self._gap_decay = None
        self.shade_scale = cfg.limit_offset / cfg.offset_shape
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
        """Set the activity ``multiplier`` (>= 1) and the order-type thresholds that go with it.

        Resting orders arrive at ``multiplier ** (1 - aggression_feedback)`` times their base
        rate; market and marketable orders share the rest in their base proportion.
        """
        if not multiplier >= 1.0:
            raise ValueError(f"background: activity multiplier must be >= 1, got {multiplier}")
        cfg = self.cfg
        base_market = cfg.market_order_fraction
        base_aggressive = base_market + (1.0 - base_market) * cfg.marketable_fraction
        aggressive = 1.0 - (1.0 - base_aggressive) / multiplier**cfg.aggression_feedback
        self.multiplier = multiplier
        self.p_aggressive = aggressive
        self.p_market = aggressive * base_market / base_aggressive if base_aggressive > 0 else 0.0

    def activity_multiplier(self, state, dt: float, fundamental: float | None = None) -> float:
        """The population's rate factor from the market's recent volatility (once per step).

        ``state`` is the market's :class:`market.exchange.market_state.MarketState`, ``dt`` the
        step in seconds, ``fundamental`` the value the crowd learns against (None: no learning this
        step). Repeated calls within one step return the same value.
        """
        if state.n == self._seen_step:
            return self.multiplier
        self._seen_step = state.n
        cfg = self.cfg
        if fundamental is not None:
            self.learn_value(state.mid, fundamental, dt)
        fast_var = state.vol**2
        if self._slow_var is None:
            self._slow_var = self._habit_var = fast_var
            self._slow_decay = 0.5 ** (dt / cfg.activity_memory)
            self._habit_decay = 0.5 ** (dt / cfg.activity_habituation)
        else:
            self._slow_var += (1.0 - self._slow_decay) * (fast_var - self._slow_var)
            self._habit_var += (1.0 - self._habit_decay) * (fast_var - self._habit_var)
        w = cfg.activity_memory_weight
        sigma = math.sqrt((1.0 - w) * fast_var + w * self._slow_var)
        reference = max(cfg.activity_reference_vol, math.sqrt(self._habit_var))
        ratio = sigma / reference
        # a calm market keeps the base rate; only moves beyond the usual draw traders in
        m = min(cfg.activity_max_multiplier, ratio**cfg.activity_feedback) if ratio > 1.0 else 1.0
        self.set_mix(m)
        self.multiplier_sum += m
        self.multiplier_steps += 1
        return m

    def learn_value(self, mid: float, fundamental: float, dt: float) -> None:
        """Update ``value_gap`` with this step's ``log(mid / fundamental)`` (once per step)."""
        cfg = self.cfg
        if not cfg.value_learning or not (mid > 0 and fundamental > 0):
            return
        if self._gap_decay is None:
            self._gap_decay = 0.5 ** (dt / cfg.value_learning_horizon)
        self.value_gap += (1.0 - self._gap_decay) * (math.log(mid / fundamental) - self.value_gap)
        self.anchor_factor = math.exp(cfg.value_learning * self.value_gap)

    @property
    def mean_multiplier(self) -> float:
        """Average activity multiplier over the steps so far (1 before any step)."""
        return self.multiplier_sum / self.multiplier_steps if self.multiplier_steps else 1.0


class BackgroundTrader(Participant):
    """One fundamentalist / chartist / noise trader (see the module docstring).

    Attributes: ``w_fundamental``, ``w_chartist``, ``w_noise`` (weights), ``horizon`` (seconds),
    ``crowd`` (the shared :class:`BackgroundCrowd`), counters of actions ``n_market``,
    ``n_marketable`` (limit orders that crossed on arrival) and ``n_passive``.
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
    ) -> None:
        super().__init__(world, stream, rate)
        if not (horizon > 0 and math.isfinite(horizon)):
            raise ValueError(f"background: horizon must be finite and > 0 seconds, got {horizon}")
        self.crowd = crowd
        self.horizon = float(horizon)
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

    @property
    def reach(self) -> float:
        """Share of the gap to the fundamental this trader expects to close within its horizon."""
        return min(1.0, self.horizon / self.crowd.cfg.fundamental_horizon)

    def expected_log_return(
        self, price: float, fundamental: float, trend: float, eps: float
    ) -> float:
        """Expected log return over the horizon (the clipped ``r_hat`` of the module docstring).

        ``price`` and ``fundamental`` in currency, ``trend`` the log return of the mid over the
        last ``horizon`` seconds, ``eps`` a standard normal draw. Positive: the trader buys.
        """
        cfg = self.crowd.cfg
        f = math.log(fundamental / price) * self.reach
        r = self.w_fundamental * f + self.w_chartist * trend + self.w_noise * cfg.noise_sd * eps
        r *= self._inv_total
        cap = cfg.max_expected_return
        return cap if r > cap else -cap if r < -cap else r

    def act(self) -> None:
        m = self.world
        crowd = self.crowd
        cfg = crowd.cfg
        st = m.state
        p = st.mid
        fundamental = m.fundamental
        fundamental *= crowd.anchor_factor  # 1.0 unless the crowd learns value from prices
        if cfg.fundamental_noise:
            fundamental *= math.exp(cfg.fundamental_noise * crowd.normal())
        trend = st.log_return(self.horizon) if self.w_chartist else 0.0
        r_hat = self.expected_log_return(p, fundamental, trend, crowd.normal())
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
        if u < crowd.p_market:
            venue.market(acc, side, qty)
            self.n_market += 1
            return
        target = p * math.exp(r_hat) / m.tick
        book = m.book_view
        opp = book.best_ask if side > 0 else book.best_bid
        if u < crowd.p_aggressive and opp is not None:
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
        )
        a.initial_shares = cfg.initial_shares
        a.initial_cash = cfg.initial_cash
        members.append(a)
    return members
