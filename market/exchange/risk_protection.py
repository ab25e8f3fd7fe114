"""Exchange-side quote risk protection: a market maker's quotes are pulled when it has traded
too much too fast.

Options exchanges count, per market maker, what its quotes executed over a short rolling window
and, past a limit, cancel all its quotes for a while, so a fast move cannot sweep every quote of
one firm before it can react (the "risk monitor" or curtailment of quoting systems).
:class:`QuoteRiskMonitor` keeps those counts and answers whether a firm is curtailed; pulling the
quotes (``OptionVenue.mass_cancel``) is the caller's part.

Units, stated once: time in clock seconds; executed size in **contracts**; delta in shares and
vega in currency per 1.00 of volatility, both as magnitudes ``|delta|`` and ``|vega|`` of each
execution (a buy and a sell both add to the counts: the monitor counts activity, not exposure).
Owners are opaque integers (ledger accounts).
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

#: which limit a curtailment crossed (the ``reason`` of a :class:`Curtailment`)
LIMITS = ("contracts", "delta", "vega")


class Curtailment(NamedTuple):
    """One curtailment: ``owner``'s quotes pulled at ``time`` until ``until`` (seconds) because
    its executions in the window went beyond the ``reason`` limit (one of :data:`LIMITS`)."""

    time: float
    owner: int
    reason: str
    until: float


class _Window:
    """One owner's executions inside the rolling window, with their running sums."""

    __slots__ = ("contracts", "delta", "fills", "vega")

    def __init__(self) -> None:
        self.fills: deque[tuple[float, int, float, float]] = deque()
        self.contracts = 0
        self.delta = 0.0
        self.vega = 0.0


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class QuoteRiskMonitor:
    """Per-owner rolling counts of executed contracts, ``|delta|`` and ``|vega|``.

    ``window_seconds`` is the rolling window; ``max_contracts``, ``max_delta`` and ``max_vega``
    the limits (``math.inf`` switches one off); ``cooldown_seconds`` how long a curtailed owner
    stays curtailed. An execution that takes a count beyond its limit curtails the owner: it is
    logged in ``events`` and counted in ``curtailments[owner]``, and the window is emptied (the
    owner starts afresh when it returns).
    """

    def __init__(
        self,
        window_seconds: float,
        max_contracts: float,
        max_delta: float,
        max_vega: float,
        cooldown_seconds: float,
    ) -> None:
        self.window_seconds = _positive(window_seconds, "window_seconds")
        self.max_contracts = _positive(max_contracts, "max_contracts")
        self.max_delta = _positive(max_delta, "max_delta")
        self.max_vega = _positive(max_vega, "max_vega")
        if (
            isinstance(cooldown_seconds, bool)
            or not isinstance(cooldown_seconds, (int, float))
            or not 0 <= cooldown_seconds < math.inf
        ):
            raise ValueError(f"cooldown_seconds must be finite and >= 0, got {cooldown_seconds!r}")
        self.cooldown_seconds = float(cooldown_seconds)
        self.events: list[Curtailment] = []
        self.curtailments: dict[int, int] = {}
        self._windows: dict[int, _Window] = {}
        self._until: dict[int, float] = {}

    def curtailed(self, owner: int, time: float) -> bool:
        """Whether ``owner`` may not quote at ``time`` (inside a cooldown)."""
        return time < self._until.get(owner, -math.inf)

    def record(self, owner: int, time: float, contracts: int, delta: float, vega: float) -> bool:
        """Count one execution of ``owner`` at ``time``; True if it curtails the owner now.

        ``contracts`` (>= 1) and the magnitudes ``delta`` and ``vega`` (>= 0, finite) are the
        execution's; times must not go back for one owner.
        """
        if isinstance(contracts, bool) or not isinstance(contracts, int) or contracts < 1:
            raise ValueError(f"contracts must be a whole number >= 1, got {contracts!r}")
        for name, value in (("delta", delta), ("vega", vega), ("time", time)):
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if delta < 0 or vega < 0:
            raise ValueError(f"delta and vega are magnitudes (>= 0), got {delta!r}, {vega!r}")
        w = self._windows.setdefault(owner, _Window())
        if w.fills and time < w.fills[-1][0]:
            raise ValueError(f"time {time} is before owner {owner}'s last execution")
        self._expire(w, time)
        w.fills.append((float(time), contracts, float(delta), float(vega)))
        w.contracts += contracts
        w.delta += delta
        w.vega += vega
        reason = self._breached(w)
        if reason is None or self.curtailed(owner, time):
            return False
        until = float(time) + self.cooldown_seconds
        self._until[owner] = until
        self.events.append(Curtailment(float(time), owner, reason, until))
        self.curtailments[owner] = self.curtailments.get(owner, 0) + 1
        self._windows[owner] = _Window()
        return True

    def _expire(self, w: _Window, time: float) -> None:
        """Drop the executions older than the window."""
        start = time - self.window_seconds
        fills = w.fills
        while fills and fills[0][0] <= start:
            _, n, d, v = fills.popleft()
            w.contracts -= n
            w.delta -= d
            w.vega -= v
        if not fills:  # no drift from float sums once the window is empty
            w.delta = w.vega = 0.0

    def _breached(self, w: _Window) -> str | None:
        if w.contracts > self.max_contracts:
            return "contracts"
        if w.delta > self.max_delta:
            return "delta"
        if w.vega > self.max_vega:
            return "vega"
        return None

    def in_window(self, owner: int, time: float) -> tuple[int, float, float]:
        """``owner``'s executed contracts, ``|delta|`` and ``|vega|`` in the window ending at
        ``time``."""
        w = self._windows.get(owner)
        if w is None:
            return 0, 0.0, 0.0
        self._expire(w, time)
        return w.contracts, w.delta, w.vega
