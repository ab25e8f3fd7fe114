"""Dealers answering the complex order book's auctions (COA) with package quotes.

A :class:`PackageResponder` stands for one quoting dealer (:class:`agents.dealer_quoting.
DealerQuoter`) in the one-step auctions of :class:`market.exchange.complex_book.ComplexOrderBook`.
Its package price is centred on the ratio-weighted sum of the legs' theoretical values (the
dealer's own marks, the ones its series quotes are centred on), ``F = sum_j r_j theo_j``, and its
half-width is priced on the package's **net** Greeks:

``h = max(min_half_spread_ticks * tick, package_vol_points / 100 * |V| + 0.5 * |G| * (spot *
package_gamma_move)^2) * stress``

with ``V = sum_j r_j vega_j`` and ``G = sum_j r_j gamma_j`` per share (legs keep their ratios'
signs). A package whose legs offset each other (a vertical spread, a calendar) nets its vega and
gamma away and is quoted tighter than the sum of its legs' half-spreads, while one that adds
risk (a straddle) is not. This is the rule of the design note (options venue and legging,
section 5.5, "COA responses and package taking": dealers price COA responses on net Greeks), after
Chaput & Ederington (2003), for whom combination spreads look smaller than the sum of their
legs', and Cboe's practice of quoting complex orders against the package's risk.

The dealer sells the package to an incoming buy at ``ceil((F + h) / tick)`` ticks and buys it from
an incoming sell at ``floor((F - h) / tick)`` (net prices may be negative). It answers for at most
``max_packages`` packages, and not at all while the exchange curtails it, while a leg has no
mark, or when the package would take its ``|net gamma|`` or ``|net vega|`` beyond its limit and
further from zero.

Units: prices in option ticks (``tick`` currency per share each), values in currency per share,
Greeks per share as :func:`market.options.pricing.bs_greeks` gives them, quantities in packages;
side +1 buy / -1 sell (the incoming order's, so the dealer takes the other side).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agents.dealer_quoting import DealerQuoter, SeriesMarks
from market.exchange.complex_book import PackageQuote, Strategy
from market.exchange.leg_allocation import DerivedBBO
from market.validation import Validated, param


@dataclass(frozen=True)
class PackageQuotingParams(Validated):
    """How dealers price packages; the ``package_*`` fields of ``market.options`` are declared
    from these, ``tick`` (currency per share of an option tick) comes from the dealers."""

    tick: float = param(lo=0.0, lo_open=True, unit="currency per share", doc="the option tick")
    max_packages: int = param(
        10,
        lo=1,
        hi=100_000,
        unit="packages",
        doc="a dealer answers an auction for at most this many packages (default: one quote "
        "size, a modelling choice)",
    )
    vol_points: float = param(
        0.5,
        lo=0.0,
        hi=100.0,
        unit="vol points",
        doc="a dealer's package half-width charges this many vol points (0.01) on the "
        "package's net |vega| (legs' vegas with their ratios' signs, so offsetting legs cancel); "
        "a modelling choice, set so that one leg alone is charged about the dealers' quoted "
        "half-spread on a calm book day",
    )
    gamma_move: float = param(
        0.005,
        lo=0.0,
        hi=1.0,
        unit="fraction of spot",
        doc="and `0.5 * |net gamma| * (spot * this)^2` on the package's net |gamma| (the same "
        "modelling choice)",
    )


class PackageResponder:
    """One dealer's answers in complex-order auctions (see the module docstring).

    ``marks()`` returns the marks of the chain now (None before any), ``stress()`` the half-spread
    multiplier of the dealers' quote pass, ``curtailed()`` whether the exchange curtails the
    dealer now. ``answers`` keeps, for every quote sent, the package half-width and the sum over
    the legs of ``|ratio|`` times the dealer's own quoted half-spread of that leg (both in option
    ticks; the second None when the dealer quotes a leg on one side only or not at all).
    """

    def __init__(
        self,
        quoter: DealerQuoter,
        params: PackageQuotingParams,
        marks: Callable[[], SeriesMarks | None],
        stress: Callable[[], float],
        curtailed: Callable[[], bool],
    ) -> None:
        self.quoter = quoter
        self.dealer = quoter.dealer
        self.params = params
        self._marks = marks
        self._stress = stress
        self._curtailed = curtailed
        self.answers: list[tuple[float, float | None]] = []
        self.refused = dict.fromkeys(("curtailed", "no_marks", "limits"), 0)

    def half_width(self, legs: Sequence[tuple[int, int]], marks: SeriesMarks) -> float:
        """The package half-width before stress (currency per share) from its net Greeks."""
        p = self.params
        vega = sum(r * float(marks.vega[c]) for c, r in legs)
        gamma = sum(r * float(marks.gamma[c]) for c, r in legs)
        move = marks.spot * p.gamma_move
        risk = p.vol_points / 100 * abs(vega) + 0.5 * abs(gamma) * move * move
        return max(self.dealer.cfg.min_half_spread_ticks * p.tick, risk)

    def price(
        self, legs: Sequence[tuple[int, int]], side: int, marks: SeriesMarks, stress: float
    ) -> tuple[int, float]:
        """The dealer's net price (ticks) against an incoming order of ``side`` for the package
        ``legs``, and the half-width it used (ticks)."""
        tick = self.params.tick
        centre = sum(r * float(marks.theo[c]) for c, r in legs)
        half = self.half_width(legs, marks) * stress
        if side > 0:
            return math.ceil((centre + half) / tick - 1e-9), half / tick
        return math.floor((centre - half) / tick + 1e-9), half / tick

    def breaches(self, legs: Sequence[tuple[int, int]], side: int, qty: int) -> bool:
        """Whether the dealer's side of ``qty`` packages would take its |net gamma| or |net vega|
        beyond its limit and further from zero (a trade that reduces an exposure never does)."""
        d = self.dealer
        marks = self._marks()
        if marks is None:
            return True
        scale = -side * qty * d.world.ledger.multiplier  # the dealer takes the other side
        d_gamma = scale * sum(r * float(marks.gamma[c]) for c, r in legs)
        d_vega = scale * sum(r * float(marks.vega[c]) for c, r in legs)
        g, v = d.net_gamma, d.net_vega
        cfg = d.cfg
        return (abs(g + d_gamma) > cfg.gamma_limit and abs(g + d_gamma) > abs(g)) or (
            abs(v + d_vega) > cfg.vega_limit and abs(v + d_vega) > abs(v)
        )

    def legs_half_ticks(self, legs: Sequence[tuple[int, int]]) -> float | None:
        """Sum of ``|ratio|`` times the dealer's quoted half-spread of each leg (ticks), or None
        when it does not quote a leg on both sides."""
        q = self.quoter
        total = 0.0
        for c, r in legs:
            bid, ask = int(q.bid[c]), int(q.ask[c])
            if bid <= 0 or ask <= 0:
                return None
            total += abs(r) * (ask - bid) / 2
        return total

    def __call__(
        self, strategy: Strategy, side: int, qty: int, bbo: DerivedBBO
    ) -> list[PackageQuote]:
        """The dealer's quote in an auction started by an order of ``side`` for ``qty``
        packages of ``strategy`` (none when it refuses)."""
        if self._curtailed():
            self.refused["curtailed"] += 1
            return []
        marks = self._marks()
        legs = strategy.legs
        if marks is None or any(not marks.theo[c] > 0 for c in strategy.contracts):
            self.refused["no_marks"] += 1
            return []
        size = min(qty, self.params.max_packages)
        if self.breaches(legs, side, size):
            self.refused["limits"] += 1
            return []
        price, half = self.price(legs, side, marks, self._stress())
        self.answers.append((half, self.legs_half_ticks(legs)))
        return [PackageQuote(self.dealer.account, price, size)]
