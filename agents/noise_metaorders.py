"""Slow noise traders: uninformed metaorders of power-law size, worked over time.

Some of the background crowd's traders (``slow_share`` of them; 0 switches them off) are slow
noise traders: each works one metaorder at a time, a side picked at random (+1 buy, -1 sell,
half each: no information) and a number of child orders ``L`` drawn from a discrete power law::

    P(L >= k) = (m / k) ** metaorder_tail,   k >= m = metaorder_min_children,
                                             capped at metaorder_max_children

Every action of the trader is then one child order on that side (its price and type chosen as
any action of the crowd's: market, marketable or passive, its size the crowd's usual lot draw);
when the last child is sent the next action starts a new metaorder. The children come on the
trader's own Poisson clock, at ``metaorder_activity`` times the crowd's base rate and scaled
like every trader's by the crowd's activity multiplier, so a metaorder is worked at a roughly
fixed fraction of the market's volume, and a metaorder of ``L`` children takes about ``L`` times
the trader's mean time between actions. Few busy slow traders carry more imbalance than many
idle ones with the same volume: ``n`` independent metaorders net out as ``sqrt(n)``.

Why (Lillo, Mike & Farmer 2005, Phys. Rev. E 71:066122): splitting metaorders whose sizes follow
a power law with tail exponent ``alpha`` makes the market's order signs autocorrelated with a
correlation decaying as ``lag ** -(alpha - 1)``, the long memory of order flow seen in every
market (Lillo & Farmer 2004; Bouchaud, Gefen, Potters & Wyart 2004, Quantitative Finance 4:176;
``alpha`` near 1.5 gives their exponent near 0.5). Returns stay close to uncorrelated only
because the rest of the market learns from the flow: here the latent investors adopt a move
that stands (:class:`agents.beliefs.LearntValue`) and the crowd's fundamentalists learn value
from the price, so a metaorder's impact is partly permanent, uninformed as it is (Kyle 1985;
Black 1986, "Noise"). Flow that lasts and whose impact is adopted adds variance to the price
that does not revert to ``F`` within the hour, which is what lowers the share of ``F``'s news in
30-minute returns without making those returns autocorrelated.

Calibration (seeds 2-3 x 5 days, confirmed on 0, 1, 4, 5; docs/facts.md has the table): off by
default. The flow does open lasting gaps to ``F`` (the half-life of log(mid / F) grows from
about an hour to 3-18 hours) and lowers the daily R^2 on ``F``, but the 30-minute R^2 moves
only from 0.79 to 0.69-0.75, and every setting that adds variance makes returns revert within
the half hour (VR(30 min) 0.47-0.85): the crowd's fundamentalists lean against an anchor that
learns the price with a lag of minutes and the latent book adopts a move over half an hour, so
most of what minutes of flow do is undone. Weaker fundamentalists (0.3 of the default scale)
tip the crowd into a run-away instead.

Units: counts of child orders; the tail exponent is dimensionless.
"""

from __future__ import annotations

from collections.abc import Callable


def metaorder_children(u: float, tail: float, cap: int, least: int = 1) -> int:
    """Child orders of a new metaorder from the uniform draw ``u`` in [0, 1).

    ``floor(least * (1 - u) ** (-1 / tail))`` capped at ``cap``: ``P(L >= k) = (least / k) **
    tail`` for ``least <= k <= cap`` (and ``L >= least`` always).
    """
    if not (tail > 0 and 1 <= least <= cap):
        raise ValueError(
            f"metaorders: need tail > 0 and 1 <= least <= cap, got {tail}, {least}, {cap}"
        )
    return min(cap, int(least * (1.0 - u) ** (-1.0 / tail)))


class Metaorder:
    """The metaorder a slow noise trader works: its side and the child orders it has left.

    ``tail``, ``cap`` and ``least`` are the power law of the number of children (see the module
    docstring). ``side`` is 0 before the first action. ``started`` counts the metaorders begun.
    """

    __slots__ = ("cap", "least", "left", "side", "started", "tail")

    def __init__(self, tail: float, cap: int, least: int = 1) -> None:
        metaorder_children(0.0, tail, cap, least)  # checks the law
        self.tail = float(tail)
        self.cap = int(cap)
        self.least = int(least)
        self.side = 0
        self.left = 0
        self.started = 0

    def next_side(self, uniform: Callable[[], float]) -> int:
        """The side (+1 buy, -1 sell) of the next child order; starts a new metaorder when the
        last one is done, drawing its side and size from ``uniform`` (U(0, 1) draws)."""
        if self.left <= 0:
            self.side = 1 if uniform() < 0.5 else -1
            self.left = metaorder_children(uniform(), self.tail, self.cap, self.least)
            self.started += 1
        self.left -= 1
        return self.side
