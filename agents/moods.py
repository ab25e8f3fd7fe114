"""Moods of optimists and pessimists (Lux & Marchesi 1999, Nature 397:498; ``mood_share`` > 0 turns
them on). Every trader is an optimist or a pessimist (half each at the start); the mood index
``x = (n_optimists - n_pessimists) / n`` is the crowd's opinion. At each firing of its clock a
pessimist turns optimist with probability ``p0 * exp(U)`` and an optimist pessimist with ``p0 *
exp(-U)``, ``U = mood_imitation * x + mood_trend * z - mood_value * v``: traders imitate the
crowd's mood and follow the price's trend ``z`` (its log move over ``mood_trend_horizon`` in
standard deviations of that horizon at the market's volatility), and turn against a price that
looks far from value, ``v = log(mid / F)`` in daily standard deviations (the fundamentalists'
side of Lux & Marchesi's switching: without it the loop of flow, price and moods has no floor
and runs away). With ``mood_anchor_learning`` ``a`` > 0 the value is partly the crowd's learnt
value, ``v = log(mid / (F * exp(a * value_learning * g)))``
(:class:`agents.beliefs.LearntValue`): at 1 a gap the crowd has learnt no longer sours the
moods, so the herd stops pulling the price back to F (seeds 2-3 x 5 days: VR(1 day) 0.69 ->
1.09, but no 30-minute variance added, R^2 0.76 -> 0.79; docs/facts.md). ``p0`` makes a trader
reconsider about once per ``mood_persistence`` seconds of base activity. A speculator's action
follows its mood with probability ``mood_share``: its expected return keeps its size but takes
the mood's sign (the mood picks the side, not how far the trader pays; a mood that shifted the
expected price instead made every speculator sweep further and the price bounce minute to
minute). A herd of optimists thus sends a lasting net buying flow that moves the price through
the book, and the price's rise in turn recruits optimists. Nothing shifts a price directly.
Imitation near 1 makes the index swing wide and slowly; the trend term is the dangerous one: the
loop of flow, price and moods runs away once it is strong (calibration below).

The methods here are those of :class:`agents.background.BackgroundCrowd` that keep the moods
and the herding between speculators and investors (Kirman 1993's recruitment, described in
:mod:`agents.background`): the crowd holds ``cfg`` (a
:class:`agents.background_config.BackgroundConfig`), ``members``, ``n_optimists``,
``mood_switch`` (``p0``), ``trend_z``, ``value_z``, ``n_speculators``, ``switch_probability`` and
its ``uniform`` draws.

Calibration of the moods in the crowd (seeds 2-3 x 5 days, ``python -m experiments.facts --seeds
2 3 --days 5 ...`` and single runs of the same samples): the loop of flow, price and moods is on
a knife edge once the latent investors learn value from the price. Without the value term
(``mood_value = 0``) a trend weight of 0.025-0.1 either did little (R^2 of 30-minute returns on
F 0.7-0.8) or ran away (log(mid/F) s.d. 2-15%, over 100 stop-logic pauses a day,
minute-to-minute bounces: VR(5 min) 0.4); where the run went depended on the seed's path, not
only on the weights. With ``mood_value`` 0.3 the herd sours on a price far from value and the
runs stay bounded: R^2 0.55 (0.78 without moods), log(mid/F) s.d. 0.18% with a 19-minute
half-life, VR 0.83 / 1.07 / 0.58 at 5 min / 30 min / 1 day. ``mood_value`` 1 pins the price to F
again (R^2 0.84); 0.15 lets momentum in (VR(30 min) 1.28); a trend weight of 0.03 with
``mood_value`` 0.2 keeps every ratio near 1 up to 30 minutes but leaves R^2 at 0.75.

Units: probabilities per firing, horizons in seconds, the trend in standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR


class CrowdMoods:
    """The mood and herding part of the background crowd (see the module docstring)."""

    cfg: Any
    members: list[Any]
    n_optimists: int
    mood_switch: float
    trend_z: float
    value_z: float
    uniform: Callable[[], float]  # the crowd's U(0, 1) draws
    n_speculators: int
    switch_probability: float

    # ------------------------------------------------------------------ herding
    def speculating_share(self) -> float:
        """``x``: the share of traders in the speculator state (one half with no traders)."""
        return self.n_speculators / len(self.members) if self.members else 0.5

    def herd(self, trader: Any) -> None:
        """One firing of ``trader``'s clock: it may change state (Kirman 1993's recruitment).

        With ``switch_probability`` it changes state on its own (the idiosyncratic rate that
        pulls ``x`` back to one half over ``herding_persistence``), and with
        ``herding_recruitment`` it meets a trader at random and adopts that one's state, so the
        share wanders over days (Franke & Westerhoff 2012's herding of the chartist share).
        """
        state = trader.speculator
        if self.uniform() < self.switch_probability:
            state = not state
        elif self.members and self.uniform() < self.cfg.herding_recruitment:
            state = self.members[int(self.uniform() * len(self.members))].speculator
        if state != trader.speculator:
            trader.speculator = state
            self.n_speculators += 1 if state else -1

    def mood_index(self) -> float:
        """``x = (n_optimists - n_pessimists) / n`` in [-1, 1] (0 with no traders)."""
        n = len(self.members)
        return (2 * self.n_optimists - n) / n if n else 0.0

    def trend_signal(self, state) -> float:
        """The mid's log return over ``mood_trend_horizon`` in standard deviations of that
        horizon at the market's current volatility, clipped to +/- 5 (0 with no volatility)."""
        h = self.cfg.mood_trend_horizon
        sd = state.vol * math.sqrt(h / SECONDS_PER_YEAR)
        z = state.log_return(h) / sd if sd > 0.0 else 0.0
        return max(-5.0, min(5.0, z))

    def value_signal(self, state, fundamental: float) -> float:
        """``log(mid / F)`` in daily standard deviations at the market's current volatility,
        clipped to +/- 5 (0 with no volatility): how rich the price looks (+) or cheap (-)."""
        sd = state.vol * math.sqrt(SECONDS_PER_DAY / SECONDS_PER_YEAR)
        if not (sd > 0.0 and state.mid > 0.0 and fundamental > 0.0):
            return 0.0
        return max(-5.0, min(5.0, math.log(state.mid / fundamental) / sd))

    def sway(self, trader: Any) -> None:
        """One firing of ``trader``'s clock: it may change mood (Lux & Marchesi 1999).

        A pessimist turns optimist with probability ``mood_switch * exp(U)``, an optimist
        pessimist with ``mood_switch * exp(-U)``, ``U = mood_imitation * x + mood_trend * z -
        mood_value * v`` (``x`` the mood index, ``z`` the trend signal, ``v`` the value signal):
        traders follow the crowd's mood and the price's recent direction, and sour on a price
        far above value. Nothing here moves a price: only the orders the moods tilt do.
        """
        cfg = self.cfg
        u = cfg.mood_imitation * self.mood_index() + cfg.mood_trend * self.trend_z
        u -= cfg.mood_value * self.value_z
        p = self.mood_switch * math.exp(-u if trader.optimist else u)
        if self.uniform() < p:
            trader.optimist = not trader.optimist
            self.n_optimists += 1 if trader.optimist else -1
