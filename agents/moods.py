"""Moods of optimists and pessimists (Lux & Marchesi 1999, Nature 397:498; ``mood_share`` > 0
turns them on). Every trader is an optimist or a pessimist (half each at the start); the mood
index ``x = (n_optimists - n_pessimists) / n`` is the crowd's opinion. At each firing of its
clock a pessimist turns optimist with probability ``p0 * exp(U)`` and an optimist pessimist with
``p0 * exp(-U)``, ``U = mood_imitation * x + mood_trend * z - mood_value * v``: traders
imitate the crowd's mood and follow the price's trend ``z`` (its log move over
``mood_trend_horizon`` in standard deviations of that horizon at the market's volatility), and
turn against a price that looks far from value, ``v = log(mid / F)`` in daily standard
deviations (the fundamentalists' side of Lux & Marchesi's switching: without it the loop of
flow, price and moods has no floor and runs away). ``p0`` makes a trader reconsider about
once per ``mood_persistence`` seconds of base activity. A speculator's action follows its mood
with probability ``mood_share``: its expected return keeps its size but takes the mood's sign
(the mood picks the side, not how far the trader pays; a mood that shifted the expected price
instead made every speculator sweep further and the price bounce minute to minute). A herd of
optimists thus sends a lasting net buying flow that moves the price through the book, and the
price's rise in turn recruits optimists. Nothing shifts a price directly. Imitation near 1 makes
the index swing wide and slowly; the trend term is the dangerous one: the loop of flow, price
and moods runs away once it is strong (calibration in :mod:`agents.background`).

The methods here are those of :class:`agents.background.BackgroundCrowd` that keep the moods:
the crowd holds ``cfg`` (a :class:`agents.background_config.BackgroundConfig`), ``members``,
``n_optimists``, ``mood_switch`` (``p0``), ``trend_z``, ``value_z`` and its ``uniform`` draws.

Units: probabilities per firing, horizons in seconds, the trend in standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR


class CrowdMoods:
    """The mood part of the background crowd (see the module docstring)."""

    cfg: Any
    members: list[Any]
    n_optimists: int
    mood_switch: float
    trend_z: float
    value_z: float
    uniform: Callable[[], float]  # the crowd's U(0, 1) draws

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
