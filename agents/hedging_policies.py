"""When and how much an option dealer trades the underlying to re-hedge its delta.

Conventions, stated once for every policy here:

- ``net_delta_shares``: the hedger's total delta in shares (options' delta times contracts times
  multiplier, plus the shares it holds); + = long the underlying. A policy returns the shares to
  trade as a signed whole number (+ buy, - sell); 0 = do nothing.
- ``gamma_shares``: the book's gamma in shares per 1 currency unit of spot (d net delta / d spot).
  Short options give negative gamma. Only ``|gamma_shares|`` sets band widths.
- ``spot`` in currency, ``vol`` annualised (decimal), ``now`` in clock seconds since the first open
  (:mod:`market.exchange.clock`), ``round_trip_cost`` the proportional cost of buying and then
  selling one unit of underlying (0.0004 = 4 bp round trip, i.e. 2 bp per side).
- The hedge target is delta neutral (net delta 0). Band policies trade back to 0 once the net
  delta leaves the band; Whalley-Wilmott trades only to the nearer band edge.

Each policy is a small stateful object (the time-based one remembers its schedule), one per
dealer. :meth:`HedgePolicy.expected_interval` is the policy's own estimate of the time between
rebalances (seconds), which the dealer feeds into Leland's adjusted volatility when it quotes.
Band-crossing time uses the diffusion of the option delta: over ``dt`` years the net delta moves
by about ``|gamma| * spot * vol * sqrt(dt)`` shares (one standard deviation), so a band of ``B``
shares is crossed after about ``(B / (|gamma| * spot * vol))**2`` years.

The pure functions (:func:`band_rebalance`, :func:`band_edge_rebalance`,
:func:`gamma_band_width`, :func:`band_crossing_interval`) are vectorised and broadcast.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from enum import Enum
from typing import ClassVar

import numpy as np

from market.exchange.clock import SECONDS_PER_YEAR
from market.options.pricing import whalley_wilmott_halfwidth
from market.validation import ConfigError, check_range


class HedgePolicyKind(Enum):
    """The hedging policies a dealer can run (lower-case names for config overrides)."""

    none = "none"
    fixed_band = "fixed_band"
    time_based = "time_based"
    gamma_band = "gamma_band"
    whalley_wilmott = "whalley_wilmott"


class HedgePolicyError(ConfigError):
    """A hedging-policy parameter or argument outside its allowed range."""


def _require(name: str, value, lo: float, *, lo_open: bool = False) -> None:
    """``value`` must be a finite number from ``lo`` up (a band or an interval of inf is no
    policy); raises :class:`HedgePolicyError` naming ``name``."""
    try:
        check_range(name, value, lo, math.inf, lo_open=lo_open, hi_open=True)
    except ConfigError as exc:
        raise HedgePolicyError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# Pure, vectorised building blocks
# --------------------------------------------------------------------------------------------


def band_rebalance(net_delta_shares, band_shares):
    """Shares to trade to get back to delta neutral when ``|net delta| > band`` (else 0)."""
    net = np.asarray(net_delta_shares, dtype=float)
    band = np.asarray(band_shares, dtype=float)
    out = np.where(np.abs(net) > band, -net, 0.0)
    return float(out) if out.ndim == 0 else out


def band_edge_rebalance(net_delta_shares, halfwidth_shares):
    """Shares to trade to reach the nearer edge of ``[-halfwidth, +halfwidth]`` (0 inside)."""
    net = np.asarray(net_delta_shares, dtype=float)
    h = np.asarray(halfwidth_shares, dtype=float)
    out = -np.sign(net) * np.maximum(np.abs(net) - h, 0.0)
    return float(out) if out.ndim == 0 else out


def gamma_band_width(base_band_shares, gamma_multiplier, gamma_shares, spot, vol, horizon_seconds):
    """Band half-width that widens with gamma: ``base + m * |gamma| * spot * vol * sqrt(h)``.

    The second term is the standard deviation of the net delta's drift over the horizon ``h``
    (seconds, converted to trading years): with high gamma the delta moves fast, so a fixed band
    would make the hedger chase every tick; widening it with gamma trades that risk for fewer
    trades (the dealers' rule of thumb: widen the band when gamma increases).
    """
    h_years = np.asarray(horizon_seconds, dtype=float) / SECONDS_PER_YEAR
    out = np.asarray(base_band_shares, dtype=float) + np.asarray(gamma_multiplier, dtype=float) * (
        np.abs(np.asarray(gamma_shares, dtype=float))
        * np.asarray(spot, dtype=float)
        * np.asarray(vol, dtype=float)
        * np.sqrt(h_years)
    )
    return float(out) if out.ndim == 0 else out


def band_crossing_interval(band_shares, gamma_shares, spot, vol):
    """Expected seconds for the net delta to drift one band width: ``(B/(|G| S vol))**2`` years.

    ``inf`` when the book has no gamma or the underlying no volatility (the delta never drifts).
    """
    b = np.asarray(band_shares, dtype=float)
    speed = (
        np.abs(np.asarray(gamma_shares, dtype=float))
        * np.asarray(spot, dtype=float)
        * np.asarray(vol, dtype=float)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        years = np.where(speed > 0.0, np.square(b / np.where(speed > 0.0, speed, 1.0)), np.inf)
    out = years * SECONDS_PER_YEAR
    return float(out) if out.ndim == 0 else out


def _crossing_seconds(band: float, gamma: float, spot: float, vol: float) -> float:
    """Scalar :func:`band_crossing_interval`, for the per-quote path (no array overhead)."""
    speed = abs(gamma) * spot * vol
    if speed <= 0.0:
        return math.inf
    return (band / speed) ** 2 * SECONDS_PER_YEAR


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


class HedgePolicy(ABC):
    """A delta-hedging rule. ``min_trade_shares``: smaller hedge trades are not worth sending."""

    kind: ClassVar[HedgePolicyKind]

    def __init__(self, min_trade_shares: int = 1) -> None:
        _require("min_trade_shares", min_trade_shares, 1)
        self.min_trade_shares = int(min_trade_shares)

    def _whole(self, shares: float) -> int:
        q = round(float(shares))
        return q if abs(q) >= self.min_trade_shares else 0

    @abstractmethod
    def decide(
        self,
        net_delta_shares: float,
        gamma_shares: float,
        spot: float,
        vol: float,
        now: float,
        round_trip_cost: float = 0.0,
    ) -> int:
        """Shares to trade now (signed, + buy); 0 keeps the current hedge."""

    @abstractmethod
    def expected_interval(
        self, gamma_shares: float, spot: float, vol: float, round_trip_cost: float = 0.0
    ) -> float:
        """The policy's expected seconds between rebalances for a book with this gamma."""

    def expected_intervals(
        self, gamma_shares: np.ndarray, spot: float, vol: np.ndarray, round_trip_cost: float = 0.0
    ) -> np.ndarray:
        """:meth:`expected_interval` for arrays of books (``gamma_shares`` and ``vol`` of one
        shape), element for element the same figures; the band policies override it with one
        vectorised expression, for the dealers' quote pass over many series."""
        return np.array(
            [
                self.expected_interval(float(g), spot, float(v), round_trip_cost)
                for g, v in zip(gamma_shares, vol, strict=True)
            ],
            dtype=float,
        )

    def inner_band(
        self, gamma_shares: float, spot: float, vol: float, round_trip_cost: float = 0.0
    ) -> float:
        """Half-width of the policy's no-trade band (shares): the inner band of the two-band
        execution (:mod:`agents.hedge_execution`). 0 for a policy without a band."""
        return 0.0


class NoHedge(HedgePolicy):
    """Never trades: the control arm in which dealers hedge nothing."""

    kind = HedgePolicyKind.none

    def decide(self, net_delta_shares, gamma_shares, spot, vol, now, round_trip_cost=0.0) -> int:
        return 0

    def expected_interval(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return math.inf

    def expected_intervals(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> np.ndarray:
        return np.full(np.shape(gamma_shares), math.inf)

    def inner_band(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return math.inf


class FixedBand(HedgePolicy):
    """Trade back to delta neutral whenever ``|net delta| > band_shares``."""

    kind = HedgePolicyKind.fixed_band

    def __init__(self, band_shares: float, min_trade_shares: int = 1) -> None:
        _require("band_shares", band_shares, 0.0)
        super().__init__(min_trade_shares)
        self.band_shares = float(band_shares)

    def decide(self, net_delta_shares, gamma_shares, spot, vol, now, round_trip_cost=0.0) -> int:
        if abs(net_delta_shares) <= self.band_shares:
            return 0
        return self._whole(-net_delta_shares)

    def expected_interval(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return _crossing_seconds(
            max(self.band_shares, self.min_trade_shares), gamma_shares, spot, vol
        )

    def expected_intervals(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> np.ndarray:
        band = max(self.band_shares, self.min_trade_shares)
        return band_crossing_interval(band, gamma_shares, spot, vol)

    def inner_band(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return self.band_shares


class TimeBased(HedgePolicy):
    """Trade back to delta neutral at every multiple of ``interval_seconds`` on the clock.

    The dealer looks at its book when its own clock fires; the first look at or after each
    scheduled time rebalances, later looks in the same interval do nothing.
    """

    kind = HedgePolicyKind.time_based

    def __init__(self, interval_seconds: float, min_trade_shares: int = 1) -> None:
        _require("interval_seconds", interval_seconds, 0.0, lo_open=True)
        super().__init__(min_trade_shares)
        self.interval_seconds = float(interval_seconds)
        self.next_due = 0.0

    def decide(self, net_delta_shares, gamma_shares, spot, vol, now, round_trip_cost=0.0) -> int:
        if now < self.next_due:
            return 0
        self.next_due = (math.floor(now / self.interval_seconds) + 1.0) * self.interval_seconds
        return self._whole(-net_delta_shares)

    def expected_interval(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return self.interval_seconds

    def expected_intervals(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> np.ndarray:
        return np.full(np.shape(gamma_shares), self.interval_seconds)


class GammaBand(HedgePolicy):
    """A fixed band widened by the book's gamma (see :func:`gamma_band_width`); trade to neutral."""

    kind = HedgePolicyKind.gamma_band

    def __init__(
        self,
        base_band_shares: float,
        gamma_multiplier: float,
        horizon_seconds: float,
        min_trade_shares: int = 1,
    ) -> None:
        _require("base_band_shares", base_band_shares, 0.0)
        _require("gamma_multiplier", gamma_multiplier, 0.0)
        _require("horizon_seconds", horizon_seconds, 0.0, lo_open=True)
        super().__init__(min_trade_shares)
        self.base_band_shares = float(base_band_shares)
        self.gamma_multiplier = float(gamma_multiplier)
        self.horizon_seconds = float(horizon_seconds)
        self._sqrt_h = math.sqrt(self.horizon_seconds / SECONDS_PER_YEAR)

    def band(self, gamma_shares: float, spot: float, vol: float) -> float:
        """Current half-width in shares."""
        return self.base_band_shares + self.gamma_multiplier * abs(gamma_shares) * spot * vol * (
            self._sqrt_h
        )

    def decide(self, net_delta_shares, gamma_shares, spot, vol, now, round_trip_cost=0.0) -> int:
        if abs(net_delta_shares) <= self.band(gamma_shares, spot, vol):
            return 0
        return self._whole(-net_delta_shares)

    def expected_interval(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        width = max(self.band(gamma_shares, spot, vol), self.min_trade_shares)
        return _crossing_seconds(width, gamma_shares, spot, vol)

    def expected_intervals(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> np.ndarray:
        # the terms in band()'s order, so each element is bit for bit the scalar figure
        band = self.base_band_shares + self.gamma_multiplier * np.abs(gamma_shares) * spot * vol * (
            self._sqrt_h
        )
        width = np.maximum(band, self.min_trade_shares)
        return band_crossing_interval(width, gamma_shares, spot, vol)

    def inner_band(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return self.band(gamma_shares, spot, vol)


class WhalleyWilmott(HedgePolicy):
    """Whalley-Wilmott no-trade band around the Black-Scholes delta; trade to the band edge.

    Half-width ``H = (3 * lam * spot * gamma**2 / (2 * risk_aversion))**(1/3)`` shares, with
    ``lam = round_trip_cost / 2`` the cost per side and ``risk_aversion`` the absolute risk
    aversion per currency unit (:func:`market.options.pricing.whalley_wilmott_halfwidth`). Higher
    costs or lower risk aversion widen the band; no costs mean hedging every look.
    """

    kind = HedgePolicyKind.whalley_wilmott

    def __init__(self, risk_aversion: float, min_trade_shares: int = 1) -> None:
        _require("risk_aversion", risk_aversion, 0.0, lo_open=True)
        super().__init__(min_trade_shares)
        self.risk_aversion = float(risk_aversion)

    def halfwidth(self, gamma_shares: float, spot: float, round_trip_cost: float) -> float:
        """Band half-width in shares for the book's gamma and a round-trip cost."""
        return whalley_wilmott_halfwidth(
            spot, gamma_shares, 0.5 * round_trip_cost, self.risk_aversion
        )

    def decide(self, net_delta_shares, gamma_shares, spot, vol, now, round_trip_cost=0.0) -> int:
        h = self.halfwidth(gamma_shares, spot, round_trip_cost)
        excess = abs(net_delta_shares) - h
        if excess <= 0.0:
            return 0
        return self._whole(-math.copysign(excess, net_delta_shares))

    def expected_interval(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        width = max(self.halfwidth(gamma_shares, spot, round_trip_cost), self.min_trade_shares)
        return _crossing_seconds(width, gamma_shares, spot, vol)

    def expected_intervals(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> np.ndarray:
        h = whalley_wilmott_halfwidth(spot, gamma_shares, 0.5 * round_trip_cost, self.risk_aversion)
        width = np.maximum(h, self.min_trade_shares)
        return band_crossing_interval(width, gamma_shares, spot, vol)

    def inner_band(self, gamma_shares, spot, vol, round_trip_cost=0.0) -> float:
        return self.halfwidth(gamma_shares, spot, round_trip_cost)


def make_policy(
    kind: HedgePolicyKind | str,
    *,
    band_shares: float = 1000.0,
    interval_seconds: float = 300.0,
    gamma_multiplier: float = 1.0,
    horizon_seconds: float = 300.0,
    risk_aversion: float = 1e-4,
    min_trade_shares: int = 1,
) -> HedgePolicy:
    """Build the policy ``kind``; each takes the parameters that apply to it.

    fixed_band: ``band_shares``; time_based: ``interval_seconds``; gamma_band: ``band_shares``
    (the base), ``gamma_multiplier``, ``horizon_seconds``; whalley_wilmott: ``risk_aversion``.
    """
    if isinstance(kind, str):
        try:
            kind = HedgePolicyKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in HedgePolicyKind)
            raise HedgePolicyError(f"policy must be one of {allowed}; got {kind!r}") from None
    if kind is HedgePolicyKind.none:
        return NoHedge(min_trade_shares)
    if kind is HedgePolicyKind.fixed_band:
        return FixedBand(band_shares, min_trade_shares)
    if kind is HedgePolicyKind.time_based:
        return TimeBased(interval_seconds, min_trade_shares)
    if kind is HedgePolicyKind.gamma_band:
        return GammaBand(band_shares, gamma_multiplier, horizon_seconds, min_trade_shares)
    if kind is HedgePolicyKind.whalley_wilmott:
        return WhalleyWilmott(risk_aversion, min_trade_shares)
    raise HedgePolicyError(f"policy must be a HedgePolicyKind, got {kind!r}")
