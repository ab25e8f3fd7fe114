"""Dealers taking stale resting orders of others (book mode, ``market.options.dealers_take_stale``).

A customer's limit order (and later a desk's passive leg) rests at a price that was fair when it
was sent; when the underlying or the surface moves, it can end up through the dealers' own
quotes. Each step, after the quote pass, every order first in time priority at a series' best
price is screened: a bid at least one tick plus ``dealer_take_edge_ticks`` above the theoretical
value, or an ask as far below it. If the front order is not a dealer's own quote, the dealers
covering that series and not curtailed are asked in random order (their own stream); the first
whose own price on the other side the order is through by at least the edge
(:meth:`agents.dealer_quoting.DealerQuoter.stale_take`, which also applies its limits) sends an
immediate-or-cancel order at the resting price for up to its quote size. That is the adverse
selection of passive orders of the design note (section 5.5), explicit and switchable; dealers
never take one another's quotes this way (their quotes are post-only and never cross).

Units: prices in option ticks, sizes in contracts; side +1 buy / -1 sell.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from agents.dealer_quoting import SeriesMarks


class StaleOrderTaking:
    """The dealers' stale-order taking of one option market (``market`` an
    :class:`experiments.option_market.OptionMarket`); ``rng`` orders the dealers asked.

    Counters: ``orders`` (IOCs sent), ``contracts`` (taken), ``by_dealer`` (contracts by dealer
    account)."""

    def __init__(self, market: Any, rng: np.random.Generator, edge_ticks: int) -> None:
        self.market = market
        self.rng = rng
        self.edge = int(edge_ticks)
        covering: dict[int, list[int]] = {}
        for account, q in market.quoters.items():
            for row in q.rows.tolist():
                covering.setdefault(row, []).append(account)
        self.covering = covering
        self._last_marks: SeriesMarks | None = None
        self.orders = 0
        self.contracts = 0
        self.by_dealer: Counter[int] = Counter()

    def candidates(self, marks: SeriesMarks, live: np.ndarray) -> list[tuple[int, int]]:
        """``(contract, resting side)`` of the live series whose best bid (+1) or best ask (-1)
        is through the theo by more than a dealer's narrowest half-spread plus the edge."""
        bid_px, _, ask_px, _ = self.market.venue.top()
        theo = marks.theo / self.market.tick
        reach = 1 + self.edge
        bids = np.flatnonzero(live & (bid_px > 0) & (bid_px >= theo + reach))
        asks = np.flatnonzero(live & (ask_px > 0) & (ask_px <= theo - reach))
        return [(c, 1) for c in bids.tolist()] + [(c, -1) for c in asks.tolist()]

    def run(
        self, marks: SeriesMarks, live: np.ndarray, stress: float, charge: np.ndarray | None
    ) -> None:
        """One step's taking (see the module docstring), on steps with new marks only (the mid
        or the surface moved): a resting order goes stale as the theo moves; a dealer's own
        width changing in between (inventory, stress) is seen at the next move."""
        om = self.market
        venue = om.venue
        if venue.halted or marks is self._last_marks:
            return
        self._last_marks = marks
        now = om.now
        for contract, side in self.candidates(marks, live):
            front = venue.front_order(contract, side)
            if front is None or front[1] in om.quoters:
                continue
            _, _, price, remaining = front
            dealers = [
                a for a in self.covering.get(contract, ()) if not om.monitor.curtailed(a, now)
            ]
            for i in self.rng.permutation(len(dealers)).tolist():
                q = om.quoters[dealers[i]]
                qty = q.stale_take(
                    contract, side, price, remaining, marks, now, stress, charge, self.edge
                )
                if qty:
                    took = om.take(dealers[i], contract, -side, price, qty)
                    self.orders += 1
                    self.contracts += took.filled
                    self.by_dealer[dealers[i]] += took.filled
                    break

    def summary(self) -> dict[str, Any]:
        """The figures for summary.json: IOCs sent and contracts taken, by dealer."""
        return {
            "orders": self.orders,
            "contracts": self.contracts,
            "by_dealer": {str(a): n for a, n in sorted(self.by_dealer.items())},
        }
