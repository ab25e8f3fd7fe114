"""Mid-market marks of the listed options, shared by a dealer population.

A mark is what a dealer prices around: the surface vol of a contract, its Black-Scholes price at
that vol (the mid) and its Greeks, per share of underlying. Times in clock seconds, maturities in
trading years, prices in currency.
"""

from __future__ import annotations

from typing import NamedTuple

from agents.world import World
from market.exchange.clock import SECONDS_PER_YEAR
from market.options.pricing import bs_greeks, bs_price


class ContractMarks(NamedTuple):
    """Mid-market marks of one contract at one instant (per share of underlying)."""

    t: float  # years to expiry
    vol: float  # surface vol
    mid: float  # Black-Scholes price at the surface vol
    delta: float
    gamma: float
    vega: float


class SurfaceMarks:
    """Per-contract surface marks shared by one dealer population.

    A customer's request is put to every dealer in turn at the same instant; the marks (surface
    vol, mid price, Greeks) are the same for all of them, so they are computed once and reused
    while ``(surface, time, spot, contract)`` is unchanged. Each dealer still prices its own side.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._surface = None
        self._value: ContractMarks | None = None
        self.computed = 0

    def get(self, world: World, contract: int, spot: float) -> ContractMarks:
        surface = world.surface
        key = (world.now, spot, contract)
        if self._key == key and self._surface is surface:
            return self._value
        chain = world.chain
        strike = float(chain.strike[contract])
        call = bool(chain.is_call[contract])
        t = max(float(chain.expiry[contract]) - world.now, 0.0) / SECONDS_PER_YEAR
        vol = float(surface.vol(strike, t, spot))
        g = bs_greeks(spot, strike, t, vol, call=call)
        mid = bs_price(spot, strike, t, vol, call=call)
        self._value = ContractMarks(t, vol, mid, g.delta, g.gamma, g.vega)
        self._key = key
        self._surface = surface
        self.computed += 1
        return self._value
