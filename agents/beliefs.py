"""Beliefs about value: what a background trader holds instead of the fundamental itself.

Nobody in a real market sees the value of what it trades; traders hold opinions, revise them
from the price they watch (Kyle 1985, Econometrica 53:1315; Glosten & Milgrom 1985, J. Financial
Economics 14:71: a trade is partly read as information, so uninformed flow moves prices for
good) and now and then from research of their own, which is noisy and partly wrong in the same
direction for everyone (a common sentiment: De Long, Shleifer, Summers & Waldmann 1990, J.
Political Economy 98:703; Black 1986, "Noise", J. Finance 41:529). The background traders of
:mod:`agents.background` hold such a belief when ``beliefs`` is on, after the value agents of
ABIDES (Byrd, Hybinette & Balch 2020, arXiv:1904.12066), whose large observation noise is what
keeps their price from snapping to value.

Each trader ``i`` holds ``b_i``, a log value. It is revised only when the trader acts (so the cost
grows with actions, not with traders x steps), using the time ``dt`` since its last revision::

    b_i <- b_i + k_p * (log p - b_i)                      learn from the price (every action)
    with probability 1 - exp(-lambda_F * dt):             a look at value (rare)
        b_i <- b_i + k_F * (log F + S_t + eta_i - b_i)

``k_p`` = ``price_learning``, ``lambda_F`` = ``value_look_rate``, ``k_F`` = ``value_look_weight``.
``eta_i`` ~ N(0, ``belief_error_sd``) is the trader's own persistent error, drawn once. ``S_t`` is
the crowd's common sentiment, an Ornstein-Uhlenbeck process in log units with stationary s.d.
``sentiment_sd`` and half-life ``sentiment_half_life``, started from its stationary law and
advanced exactly once per step (:class:`Sentiment`).

The trader's fundamentalist term then reads ``log(exp(b_i) / p)`` instead of ``log(F / p)``, and it
expects the gap to close over its own value horizon ``tau_f,i``, drawn log-uniform in
[``value_horizon_min``, ``value_horizon_max``] (a spread of horizons, as in LeBaron 2001,
Macroeconomic Dynamics 5:225; by default half an hour to five trading days), instead of the single
``fundamental_horizon``. With horizons of days only (1-20) and one look a day the price loses
nearly all its tie to value within a session: on calibration seeds 0-1 the R^2 of 30-minute
returns on F fell to about 0.01. Even at the defaults the mode is off by default: on unseen
seeds (``python -m experiments.facts --seeds 1001 1002 --days 5 --impact-seeds 1001 1002
--sizes 0.01 0.03``) it lengthens the half-life of log(mid/F) from 2.7 minutes to 12.5 hours and
makes impact persist (I(T+60 min)/I_peak 0.51, slope 0.22 over two sizes) but cuts the R^2 of
30-minute returns on F from 0.75 to 0.00 and lowers VR(30 min) from 0.96 to 0.50: pulling the
price towards beliefs that are mostly a lagged average of the price is a transient mean
reversion, which shows as negative return autocorrelation at 5-30 minutes.

``value_learning`` still works: a look sees ``F * exp(value_learning * g)``, the anchor of the
crowd that learns value from prices, instead of ``F``.

Two pieces serve the latent investors of :mod:`agents.latent_liquidity` as well:
:class:`LearntValue`, a value ``F * exp(learning * g)`` learnt from an average ``g`` of
``log(mid / F)``, whose changes shift every latent reservation price, and :class:`Sentiment`
with a start value, their optional scripted mood.

Units: log values and s.d.s as log returns, rates per second per trader, times in seconds.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


class Sentiment:
    """A common belief error ``S_t`` (log units): an exact OU step per call.

    ``sd`` is the stationary standard deviation, ``half_life`` (seconds) the half-life of its
    mean reversion. The first :meth:`advance` draws ``S`` from the stationary law, unless a
    ``start`` value (and its ``time``) is given: then ``S`` starts there, so that a run opens
    where its config says even with a sentiment on.
    """

    def __init__(
        self, sd: float, half_life: float, start: float | None = None, time: float = 0.0
    ) -> None:
        if not (sd >= 0 and half_life > 0):
            raise ValueError(f"sentiment: need sd >= 0 and half_life > 0, got {sd}, {half_life}")
        self.sd = float(sd)
        self.half_life = float(half_life)
        #: with ``start`` given, ``S`` starts there at ``time`` (seconds) instead of being drawn
        self.value = 0.0 if start is None else float(start)
        self._time: float | None = None if start is None else float(time)

    def advance(self, now: float, z: float) -> float:
        """Move ``S`` to time ``now`` with the standard normal draw ``z``; return it."""
        if self._time is None:
            self.value = self.sd * z
        elif now > self._time:
            a = 0.5 ** ((now - self._time) / self.half_life)
            self.value = a * self.value + self.sd * math.sqrt(1.0 - a * a) * z
        self._time = now
        return self.value


def revise(
    belief: float, log_price: float, price_learning: float, look: float | None, look_weight: float
) -> float:
    """The belief after one action: learn from ``log_price``, then (if ``look`` is not None)
    move ``look_weight`` of the way to the value seen, ``look`` (log)."""
    belief += price_learning * (log_price - belief)
    if look is not None:
        belief += look_weight * (look - belief)
    return belief


def look_probability(rate: float, elapsed: float) -> float:
    """Probability of at least one look at value in ``elapsed`` seconds at ``rate`` per second."""
    return -math.expm1(-rate * elapsed) if elapsed > 0 else 0.0


def log_uniform(stream: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` draws log-uniform in ``[lo, hi]`` (value horizons and opinion half-lives, seconds)."""
    return np.exp(stream.uniform(math.log(lo), math.log(hi), n))


class LearntValue:
    """A learnt log value ``log F + learning * g``: value read partly from the price.

    ``g`` is an average of ``log(mid / F)`` with half-life ``horizon`` seconds (0 at the start):
    a gap between price and known value that lasts is taken in part (``learning``, 0-1) as
    news the holder lacks (Kyle 1985; Gennotte & Leland 1990). :meth:`update` returns the change
    of ``learning * g``, the part of the learnt value's move that is not ``F``'s own: a holder
    who revises its prices by it adopts about ``learning`` of a price move that stands for a few
    horizons, and undoes it only as the price itself returns.

    With ``news_horizon`` (seconds) the gap is read net of the news still in transit, ``N``:
    ``F``'s log moves, each fading with that half-life, the time the price takes to absorb news.
    ``g`` then averages ``log(mid / F) + N``: a gap that fresh news explains is not the market
    knowing better, so it is not learnt away. Without it (None) ``N`` stays 0.
    """

    def __init__(self, learning: float, horizon: float, news_horizon: float | None = None) -> None:
        if not (0.0 <= learning <= 1.0 and horizon > 0):
            raise ValueError(
                f"learnt value: need 0 <= learning <= 1 and horizon > 0, got {learning}, {horizon}"
            )
        if news_horizon is not None and not news_horizon > 0:
            raise ValueError(f"learnt value: news horizon must be > 0 seconds, got {news_horizon}")
        self.learning = float(learning)
        self.horizon = float(horizon)
        self.news_horizon = news_horizon
        self.gap = 0.0  # g, log
        self.news_in_transit = 0.0  # N, log: F's recent moves the price has yet to absorb
        self._last_log_value: float | None = None

    @property
    def anchor(self) -> float:
        """``learning * g`` (log): how far the learnt value stands from ``F``."""
        return self.learning * self.gap

    def update(
        self,
        dt: float,
        log_mid: float,
        log_value: float,
        horizon_scale: float = 1.0,
        explained: float = 0.0,
    ) -> float:
        """Average ``log_mid - log_value`` (plus ``N``) into ``g`` over ``dt`` seconds, with the
        half-life ``horizon * horizon_scale`` (>= 1 stretches it: a noisier price is learnt
        from more slowly); return the change of ``learning * g`` (log). ``explained`` (0-1) is
        the share of that gap a known mechanical flow accounts for: only ``1 - explained`` of it
        is averaged in as information."""
        if self.learning == 0.0 or dt <= 0.0:
            return 0.0
        target = log_mid - log_value
        if self.news_horizon is not None:
            last = self._last_log_value if self._last_log_value is not None else log_value
            self._last_log_value = log_value
            fade = 0.5 ** (dt / self.news_horizon)
            self.news_in_transit = fade * self.news_in_transit + (log_value - last)
            target += self.news_in_transit
        target *= 1.0 - explained
        half_life = self.horizon * horizon_scale
        step = -math.expm1(-math.log(2.0) * dt / half_life) * (target - self.gap)
        self.gap += step
        return self.learning * step


#: the longest timescale of a power-law impact memory (s): 20 trading days
IMPACT_MEMORY_LONGEST = 468_000.0
#: exponentials that make up a power-law impact memory
IMPACT_MEMORY_WINDOWS = 8


class ImpactMemory:
    """The level a flow's impact holds value at: impulses that fade with a kernel ``G(tau)``.

    ``G`` is a sum of exponentials with ``half_lives`` (s) and ``weights`` summing to 1, so an
    impulse counts in full at once (``G(0) = 1``). No half-lives: nothing fades (permanent). One:
    an exponential fade. Several log-spaced with weights ``~ half_life ** -beta``
    (:meth:`power_law`): ``G(tau)`` falls about as ``tau ** -beta`` between the shortest and
    the longest (steeper within a decade of the longest, where the sum is cut): the decaying
    impact kernel of the propagator model (Bouchaud, Gefen, Potters & Wyart 2004, Quantitative
    Finance 4:176), under which a flow whose signs have long memory (correlation ``~ lag **
    -gamma``) leaves the price diffusive when ``beta = (1 - gamma) / 2``.
    """

    def __init__(self, half_lives: list[float], weights: list[float]) -> None:
        if len(half_lives) != len(weights) or any(h <= 0 for h in half_lives):
            raise ValueError(f"impact memory: bad half-lives {half_lives} or weights {weights}")
        if half_lives and not math.isclose(sum(weights), 1.0):
            raise ValueError(f"impact memory: weights must sum to 1, got {sum(weights)}")
        self.half_lives = np.asarray(half_lives, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.parts = np.zeros(len(half_lives))
        self.level = 0.0  # log

    @classmethod
    def power_law(cls, shortest: float, beta: float) -> ImpactMemory:
        """``IMPACT_MEMORY_WINDOWS`` half-lives log-spaced from ``shortest`` to
        ``IMPACT_MEMORY_LONGEST`` with weights ``~ half_life ** -beta`` summing to 1."""
        k = IMPACT_MEMORY_WINDOWS
        h = shortest * (IMPACT_MEMORY_LONGEST / shortest) ** (np.arange(k) / (k - 1))
        w = h**-beta
        return cls(h.tolist(), (w / w.sum()).tolist())

    def add(self, dt: float, impulse: float) -> float:
        """Fade the level over ``dt`` seconds, add ``impulse`` (log); return the level's change."""
        before = self.level
        if self.parts.size:
            if dt > 0.0:
                self.parts *= 0.5 ** (dt / self.half_lives)
            self.parts += self.weights * impulse
            self.level = float(self.parts.sum())
        else:
            self.level += impulse
        return self.level - before


def hedging_explained_share(
    dealer_gex: ArrayLike, daily_notional: ArrayLike, discount: float
) -> np.ndarray:
    """The share of a lasting price/value gap put down to option dealers' hedges:
    ``min(1, discount * max(0, -GEX) / notional)``, 0 where no notional has traded yet.

    ``dealer_gex`` is the dealers' gamma exposure per 1% move (currency; negative = short
    gamma), ``daily_notional`` the notional traded per day (currency). ``-GEX / notional`` is the
    share of a day's trading the dealers' hedges add per 1% move in the direction of the move;
    only a short book's hedges push a move on, so a long book explains nothing. In a linear
    market whose other traders absorb a lasting move ``x`` against a depth ``D``, hedges that
    buy ``h x`` add ``h / D`` of the move they chase (the loop gain), so a crowd that knows the
    dealers' book reads ``1 - h / D`` of a gap as news; ``discount`` stands for ``1 / D`` in
    units of daily notional per 1% move.
    """
    gex = np.asarray(dealer_gex, dtype=float)
    notional = np.asarray(daily_notional, dtype=float)
    safe = np.where(notional > 0.0, notional, 1.0)
    share = np.minimum(1.0, discount * np.maximum(0.0, -gex) / safe)
    return np.where(notional > 0.0, share, 0.0)
