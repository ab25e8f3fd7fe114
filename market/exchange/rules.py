"""Trading rules: market-wide circuit breakers and limit-up/limit-down; the rules' protocol.

The rules know nothing of agents. They observe prices and time and drive the order book through
its public halt/band API (:meth:`OrderBook.set_band`, :meth:`OrderBook.halt`,
:meth:`OrderBook.reopen`). Prices inside the book are integer ticks; rule parameters and recorded
prices are in currency (``currency = ticks * tick_size``). Time is the clock of
:mod:`market.exchange.clock`: seconds since the first open, 23,400-second trading days.

The rule protocol
-----------------
Every rule has

* ``name: str`` -- also the name of the book band it arms;
* ``band_mode: str`` -- ``"halt"`` or ``"block"``, the kind of band it arms;
* ``events: list[RuleEvent]`` -- what it did, in time order;
* ``update(now: float, book: OrderBook) -> None`` -- called by the simulator after each batch of
  messages (at least once per simulated second, with ``book.now == now``). It reads the prints
  since its previous call, re-arms its band, starts pauses (``book.halt(reason)``) and ends them
  when their time is up (``book.reopen()``, the single-price auction);
* ``next_deadline: float | None`` -- the next time at which an ``update`` call is due for a timed
  step (end of a halt or pause, expiry of a limit state), so the simulator can call exactly then.
  Timed steps happen at the first ``update`` at or after their due time, so the cadence of calls
  is the resolution of the rules' timing.

A rule object watches one book (it keeps a cursor into ``book.trades``).

Ownership of halts: a rule only ends a halt whose ``book.halt_reason`` is its own reason. A band
halt starts with reason ``"band"``; the rule whose band was breached (``book.band_breach_names``)
takes it over by re-halting with its own reason. Several rules may run on one book (for example
circuit breakers plus LULD); :class:`TradingRules` runs a list of them in order. Put the
circuit breaker first: when a fill breaches two halt bands at once, the first rule to look takes
the halt over.

The rules
---------
* :class:`MarketWideCircuitBreaker` -- reference = previous close; levels 1 and 2 (-7 %, -13 %)
  halt trading for ``halt_seconds`` (15 minutes) if reached before the cut-off (15:25), each at most
  once a day; after the cut-off they do not halt; level 3 (-20 %) halts for the rest of the day. A
  level is reached by a print at or below it, or by a fill that the halt band armed at the level
  refused (the band stops matching exactly at the level, so the market cannot trade through it).
* :class:`LimitUpLimitDown` -- reference = arithmetic mean of the prints of the past
  ``reference_window`` seconds, moved only when that mean differs from the reference in force by
  at least ``reference_step`` (1 %, as in the US plan; 0 follows the mean continuously). The
  previous reference is kept while there are no prints; after a pause the reopening auction price
  becomes the reference and starts a fresh window. Bands ``reference * (1 -/+ band_pct)``,
  doubled during the first and last ``open_close_window`` seconds of the day, are armed in
  "block" mode so no print leaves them. The market is in a *limit state* while its quote is
  pinned at a band edge: best ask at or below the lower band (sellers cannot go lower) or best bid
  at or above the upper band (the US plan's definition). A limit state lasting
  ``limit_state_seconds`` becomes a trading pause of ``pause_seconds``, ending with the reopening
  auction.
* :class:`~market.exchange.stop_logic.StopLogic` (in :mod:`market.exchange.stop_logic`, built on
  this module's shared machinery) -- a pause when trading would move more than ``max_move`` too
  fast.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from numbers import Real
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_DAY, day_of, wall_clock
from market.exchange.order_book import OrderBook, Trade

# float noise allowance when snapping a currency amount to the tick grid (in ticks)
_GRID_EPS = 1e-9


class RuleError(ValueError):
    """A rule parameter or call that makes no sense."""


class RuleEvent(NamedTuple):
    """One thing a rule did. ``price`` is in currency (None when not applicable)."""

    time: float
    rule: str
    kind: str  # e.g. "halt", "reopen", "limit_state_start", "limit_state_end", "pause"
    price: float | None
    detail: str


@dataclass
class CircuitBreakerHalt:
    """One market-wide halt: level (1-based), times in clock seconds, trigger price in currency.

    ``end`` is when trading actually resumed (None while the halt is in force);
    ``scheduled_end`` is when the halt was due to end when it started.
    """

    level: int
    start: float
    scheduled_end: float
    trigger_price: float
    end: float | None = None


class TradingRule(Protocol):
    """The protocol every rule follows (see the module docstring)."""

    name: str
    band_mode: str
    events: list[RuleEvent]

    def update(self, now: float, book: OrderBook) -> None: ...

    @property
    def next_deadline(self) -> float | None: ...


# ---------------------------------------------------------------------- validation helpers
# numbers.Real accepts every real type (int, float, numpy scalars) at runtime, but its stub
# declares no comparison with int: the range tests on Real values carry type-ignores.
def _positive(value: object, name: str, what: str = "a positive finite number") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise RuleError(f"{name} must be {what}, got {value!r}")
    return float(value)


def _fraction(value: object, name: str, upper: float = 1.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not 0 < value < upper  # type: ignore[operator]  # Real compares with int at runtime
    ):
        raise RuleError(f"{name} must lie strictly between 0 and {upper}, got {value!r}")
    return float(value)


def _nearest_tick(price: float, tick_size: float) -> int:
    """Nearest tick of a currency price, half-up, never below one tick."""
    return max(1, math.floor(price / tick_size + 0.5 + _GRID_EPS))


def _tick_at_or_above(price: float, tick_size: float) -> int:
    return max(1, math.ceil(price / tick_size - _GRID_EPS))


def _tick_at_or_below(price: float, tick_size: float) -> int:
    return math.floor(price / tick_size + _GRID_EPS)


# ---------------------------------------------------------------------- circuit breaker levels
_PPM = 1_000_000  # percentages are taken to a millionth
_MICRO = 1_000_000  # prices are taken to a millionth of a currency unit
_MAX_PREV_CLOSE = 9.0e6  # keeps micro-units x ppm inside int64


def circuit_breaker_levels(
    prev_close: ArrayLike, pcts: ArrayLike = (0.07, 0.13, 0.20)
) -> NDArray[np.float64]:
    """Circuit-breaker trigger prices ``prev_close * (1 - pct)`` rounded half-up to the cent.

    The product is formed exactly in integers (prices in millionths of a currency unit,
    percentages in millionths), so 2972.37 gives 2764.30 / 2585.96 / 2377.90 with no float
    rounding surprises. Broadcasts: the result has shape ``np.shape(prev_close) + (len(pcts),)``.
    """
    prev = np.asarray(prev_close, dtype=float)
    pct = np.asarray(pcts, dtype=float)
    if pct.ndim != 1 or pct.size == 0:
        raise RuleError(f"pcts must be a non-empty sequence of fractions, got {pcts!r}")
    if not np.all(np.isfinite(pct)) or np.any(pct <= 0) or np.any(pct >= 1):
        raise RuleError(f"pcts must lie strictly between 0 and 1, got {pcts!r}")
    if not np.all(np.isfinite(prev)) or np.any(prev <= 0) or np.any(prev > _MAX_PREV_CLOSE):
        raise RuleError(
            f"prev_close must be a positive price up to {_MAX_PREV_CLOSE:g}, got {prev_close!r}"
        )
    prev_micro = np.rint(prev * _MICRO).astype(np.int64)[..., None]
    keep_ppm = _PPM - np.rint(pct * _PPM).astype(np.int64)
    product = prev_micro * keep_ppm  # currency in units of 1e-12
    unit_per_cent = _MICRO * _PPM // 100
    cents = (product + unit_per_cent // 2) // unit_per_cent
    levels: NDArray[np.float64] = cents / 100.0
    return levels


def luld_band_pct(
    band_pct: ArrayLike, now: ArrayLike, open_close_window: float = 900.0
) -> float | NDArray[np.float64]:
    """The LULD band fraction in force at clock time ``now``: doubled in the first and last
    ``open_close_window`` seconds of the trading day. Scalars and arrays broadcast."""
    tod = np.mod(now, SECONDS_PER_DAY)
    near_edge = (tod < open_close_window) | (tod >= SECONDS_PER_DAY - open_close_window)
    result = np.where(near_edge, 2.0 * np.asarray(band_pct, dtype=float), band_pct)
    return float(result) if np.ndim(result) == 0 else result


# ---------------------------------------------------------------------- shared machinery
class _Rule:
    """Bookkeeping shared by the rules: the trade cursor, the clock check and events."""

    name = "rule"
    band_mode = "halt"

    def __init__(self, tick_size: float) -> None:
        self.tick_size = _positive(tick_size, "tick_size", "a positive currency amount per tick")
        self.events: list[RuleEvent] = []
        self._cursor = 0  # prints of book.trades already seen
        self._last_now = -math.inf

    @property
    def reason(self) -> str:
        return self.name

    def _clock(self, now: object) -> float:
        if isinstance(now, bool) or not isinstance(now, Real) or not math.isfinite(now):
            raise RuleError(f"now must be a finite clock time in seconds, got {now!r}")
        if now < self._last_now:
            raise RuleError(f"now must not go backwards: got {now!r} after {self._last_now!r}")
        self._last_now = float(now)
        return float(now)

    def _skip_prints(self, book: OrderBook) -> None:
        self._cursor = len(book.trades)

    def _new_prints(self, book: OrderBook) -> list[Trade]:
        """The prints since the previous call (and moves the cursor past them)."""
        start = self._cursor
        self._cursor = len(book.trades)
        return book.trades.since(start) if self._cursor > start else []

    def _log(self, time: float, kind: str, price_ticks: int | None, detail: str) -> None:
        price = None if price_ticks is None else price_ticks * self.tick_size
        self.events.append(RuleEvent(time, self.name, kind, price, detail))

    def _arm(self, book: OrderBook, lo: int | None, hi: int | None) -> None:
        if book.band(self.band_mode, self.name) != (lo, hi):
            book.set_band(lo, hi, self.band_mode, self.name)

    def _reopen(self, now: float, book: OrderBook, detail: str) -> None:
        prints = book.reopen()
        if prints:
            volume = sum(t.qty for t in prints)
            self._log(now, "reopen", prints[0].price, f"{detail}; auction volume {volume}")
        else:
            self._log(now, "reopen", None, f"{detail}; no auction volume")


# ---------------------------------------------------------------------- market-wide breakers
class MarketWideCircuitBreaker(_Rule):
    """Market-wide circuit breakers on a decline from the previous close (see module docstring).

    ``pcts`` are the level declines (strictly increasing fractions); every level but the last
    halts for ``halt_seconds`` when reached before ``cutoff`` (wall clock "HH:MM"), each at most
    once a day; the last level halts for the rest of the day. Call :meth:`new_day` at each open.
    """

    name = "MWCB"
    band_mode = "halt"

    def __init__(
        self,
        prev_close: float,
        pcts: Sequence[float] = (0.07, 0.13, 0.20),
        halt_seconds: float = 900.0,
        cutoff: str = "15:25",
        tick_size: float = 0.01,
    ):
        super().__init__(tick_size)
        self.prev_close = _positive(prev_close, "prev_close", "a positive price")
        self.pcts = pcts
        self.halt_seconds = _positive(halt_seconds, "halt_seconds")
        self.cutoff = cutoff
        self.halts: list[CircuitBreakerHalt] = []
        self._active: CircuitBreakerHalt | None = None
        self.new_day(prev_close)

    # parameters that derived figures depend on are properties, so changing one mid-run
    # (a scenario's rule change) takes effect at once
    @property
    def pcts(self) -> tuple[float, ...]:
        return self._pcts

    @pcts.setter
    def pcts(self, pcts: Sequence[float]) -> None:
        try:
            levels = tuple(float(p) for p in pcts)
        except (TypeError, ValueError) as exc:
            raise RuleError(
                f"pcts must be a sequence of declines as fractions, got {pcts!r}"
            ) from exc
        if not levels or any(b <= a for a, b in pairwise(levels)):
            raise RuleError(
                f"pcts must be a non-empty, strictly increasing sequence of declines, got {pcts!r}"
            )
        circuit_breaker_levels(1.0, levels)  # checks each lies strictly between 0 and 1
        self._pcts = levels
        if hasattr(self, "triggered"):
            self.new_day(self.prev_close)

    @property
    def cutoff(self) -> str:
        return self._cutoff

    @cutoff.setter
    def cutoff(self, cutoff: str) -> None:
        try:
            seconds = wall_clock(cutoff)
        except (TypeError, ValueError, AttributeError) as exc:
            raise RuleError(
                f"cutoff must be a wall-clock time 'HH:MM' between 09:30 and 16:00, got {cutoff!r}"
            ) from exc
        self._cutoff = cutoff
        self.cutoff_seconds = seconds  # seconds since the open

    def new_day(self, prev_close: float) -> None:
        """Start a new day: levels from the new previous close, every level untriggered.

        A halt still in force (level 3 runs to the close) is ended by the next :meth:`update`.
        """
        self.prev_close = _positive(prev_close, "prev_close", "a positive price")
        self.levels = circuit_breaker_levels(self.prev_close, self._pcts)
        self.triggered = [False] * len(self._pcts)
        # a print at or below _reach[i] reaches level i; the halt band for level i is _floor[i]
        self._reach = [_tick_at_or_below(lv, self.tick_size) for lv in self.levels.tolist()]
        self._floor = [_tick_at_or_above(lv, self.tick_size) for lv in self.levels.tolist()]

    def _eligible(self, index: int, when: float) -> bool:
        """Whether level ``index`` (0-based) halts when reached at clock time ``when``."""
        if self.triggered[index]:
            return False
        last = index == len(self.levels) - 1
        return last or (when % SECONDS_PER_DAY) < self.cutoff_seconds

    def next_level(self, now: float) -> int | None:
        """The 0-based index of the shallowest level that would halt if reached at ``now``."""
        for i in range(len(self.levels)):
            if self._eligible(i, now):
                return i
        return None

    def arm(self, now: float, book: OrderBook) -> None:
        """Arm this rule's halt band at the next level that can still halt today."""
        i = self.next_level(now)
        self._arm(book, None if i is None else self._floor[i], None)

    def halt_due(self, now: float, book: OrderBook) -> tuple[int, float, int] | None:
        """The halt that should start, as ``(level index, trigger time, trigger price ticks)``.

        Looks at the prints not yet seen by :meth:`update` and at a band halt of this rule's band;
        picks the deepest level that was reached and may halt at the time it was reached.
        Read-only: it does not change the book or the rule.
        """
        prints = book.trades.since(self._cursor) if len(book.trades) > self._cursor else []
        breach = None
        if book.halted and book.halt_reason == "band" and self.name in book.band_breach_names:
            breach = book.band_breach
        reach = [r for r, done in zip(self._reach, self.triggered, strict=True) if not done]
        if breach is None and (not reach or not prints or min(t.price for t in prints) > reach[0]):
            return None  # the common case, decided without a level-by-level scan
        for i in range(len(self.levels) - 1, -1, -1):
            if self.triggered[i]:
                continue
            first = next((t for t in prints if t.price <= self._reach[i]), None)
            if first is not None:
                when, price = first.time, first.price
            elif breach is not None and breach < self._floor[i]:
                # a band breach halts the book, which stamps halted_at
                when, price = float(book.halted_at), breach  # type: ignore[arg-type]
            else:
                continue
            if self._eligible(i, when):
                return i, when, price
        return None

    def halt_over(self, now: float) -> bool:
        """True when a halt of this rule is in force and its time is up at ``now``."""
        return self._active is not None and now >= self._active.scheduled_end

    @property
    def next_deadline(self) -> float | None:
        return None if self._active is None else self._active.scheduled_end

    def update(self, now: float, book: OrderBook) -> None:
        now = self._clock(now)
        active = self._active
        if active is not None:
            if not self.halt_over(now):
                self._skip_prints(book)
                return
            self._active = None
            active.end = now
            self._skip_prints(book)
            if book.halted and book.halt_reason == self._reason(active.level):
                self.arm(now, book)
                # the auction prints stay unread: reopening below a deeper level triggers it
                self._reopen(now, book, f"level {active.level} halt ends")
        due = self.halt_due(now, book)
        self._skip_prints(book)
        if due is not None:
            self._start_halt(book, *due)
            return
        if book.halted and book.halt_reason == "band" and self.name in book.band_breach_names:
            # the band was armed at a level that can no longer halt (the cut-off passed since)
            self.arm(now, book)
            self._reopen(now, book, "band halt released: level no longer halts after the cut-off")
            self._skip_prints(book)
        self.arm(now, book)

    def _start_halt(self, book: OrderBook, index: int, when: float, price: int) -> None:
        for i in range(index + 1):
            self.triggered[i] = True
        level = index + 1
        book.halt(self._reason(level))
        start = book.halted_at if book.halted_at is not None else when
        if index == len(self.levels) - 1:
            end = float((day_of(start) + 1) * SECONDS_PER_DAY)
        else:
            end = start + self.halt_seconds
        halt = CircuitBreakerHalt(level, start, end, price * self.tick_size)
        self.halts.append(halt)
        self._active = halt
        self._log(
            start,
            "halt",
            price,
            f"level {level} ({self._pcts[index]:.0%} below {self.prev_close:g}) until {end:g}",
        )

    def _reason(self, level: int) -> str:
        return f"{self.name} level {level}"


# ---------------------------------------------------------------------- limit-up / limit-down
class LimitUpLimitDown(_Rule):
    """Limit-up/limit-down price bands with limit states and trading pauses (module docstring).

    ``band_pct`` is the band half-width as a fraction of the reference (doubled near the open and
    close); ``reference_window``, ``limit_state_seconds``, ``pause_seconds`` and
    ``open_close_window`` are in seconds. ``reference_step`` is the relative change of the
    five-minute mean that moves the reference. ``reference_price`` (currency) seeds the reference
    before the first print.
    """

    name = "LULD"
    band_mode = "block"

    def __init__(
        self,
        band_pct: float = 0.05,
        reference_window: float = 300.0,
        limit_state_seconds: float = 15.0,
        pause_seconds: float = 300.0,
        open_close_window: float | Real = 900.0,
        tick_size: float = 0.01,
        reference_price: float | None = None,
        reference_step: float | Real = 0.01,
    ) -> None:
        super().__init__(tick_size)
        self.band_pct = _fraction(band_pct, "band_pct", 0.5)
        self.reference_window = _positive(reference_window, "reference_window")
        self.limit_state_seconds = _positive(limit_state_seconds, "limit_state_seconds")
        self.pause_seconds = _positive(pause_seconds, "pause_seconds")
        if (
            isinstance(open_close_window, bool)
            or not isinstance(open_close_window, Real)
            or not 0 <= open_close_window <= SECONDS_PER_DAY / 2  # type: ignore[operator]
        ):
            raise RuleError(
                f"open_close_window must lie in [0, {SECONDS_PER_DAY / 2:g}] seconds, "
                f"got {open_close_window!r}"
            )
        self.open_close_window = float(open_close_window)
        if (
            isinstance(reference_step, bool)
            or not isinstance(reference_step, Real)
            or not 0 <= reference_step < 1  # type: ignore[operator]
        ):
            raise RuleError(f"reference_step must lie in [0, 1), got {reference_step!r}")
        self.reference_step = float(reference_step)
        self.mean_price: float | None = None  # mean of the prints in the window (currency)
        self.reference = (
            None
            if reference_price is None
            else _positive(reference_price, "reference_price", "a positive price")
        )
        self.limit_state_since: float | None = None
        self.pause_until: float | None = None
        self._window: deque[tuple[float, int]] = deque()  # (time, price ticks) of recent prints
        self._window_sum = 0

    def band_pct_at(self, now: float) -> float:
        """The band fraction in force at ``now`` (doubled near the open and the close).

        The scalar twin of :func:`luld_band_pct`, called every update.
        """
        tod = now % SECONDS_PER_DAY
        window = self.open_close_window
        near_edge = tod < window or tod >= SECONDS_PER_DAY - window
        return 2.0 * self.band_pct if near_edge else self.band_pct

    def bands(self, now: float) -> tuple[int, int] | None:
        """The ``(lower, upper)`` band in ticks at ``now``, or None before any reference."""
        if self.reference is None:
            return None
        pct = self.band_pct_at(now)
        return (
            _nearest_tick(self.reference * (1 - pct), self.tick_size),
            _nearest_tick(self.reference * (1 + pct), self.tick_size),
        )

    def _update_reference(self, now: float, book: OrderBook) -> None:
        window = self._window
        for trade in self._new_prints(book):
            window.append((trade.time, trade.price))
            self._window_sum += trade.price
        horizon = now - self.reference_window
        while window and window[0][0] < horizon:
            self._window_sum -= window.popleft()[1]
        if window:
            mean = self._window_sum / len(window) * self.tick_size
            self.mean_price = mean
            ref = self.reference
            # a relative tolerance keeps an exact 1 % move from being lost to float rounding
            if ref is None or abs(mean - ref) >= self.reference_step * ref * (1 - 1e-12):
                self.reference = mean

    @staticmethod
    def pinned(book: OrderBook, bands: tuple[int, int]) -> bool:
        """Whether the quote sits at a band edge (best ask <= lower or best bid >= upper)."""
        lower, upper = bands
        ask, bid = book.best_ask, book.best_bid
        return (ask is not None and ask <= lower) or (bid is not None and bid >= upper)

    @property
    def next_deadline(self) -> float | None:
        if self.pause_until is not None:
            return self.pause_until
        if self.limit_state_since is not None:
            return self.limit_state_since + self.limit_state_seconds
        return None

    def update(self, now: float, book: OrderBook) -> None:
        now = self._clock(now)
        if self.pause_until is not None:
            if now < self.pause_until:
                self._skip_prints(book)
                return
            self.pause_until = None
            self._skip_prints(book)
            if book.halted and book.halt_reason == self.reason:
                prints = book.reopen()
                self._cursor = len(book.trades)
                if prints:
                    # the reopening price is the new reference; the window starts afresh from it
                    self._window.clear()
                    self._window.append((now, prints[0].price))
                    self._window_sum = prints[0].price
                    self.reference = prints[0].price * self.tick_size
                    volume = sum(t.qty for t in prints)
                    self._log(
                        now, "reopen", prints[0].price, f"pause ends; auction volume {volume}"
                    )
                else:
                    self._log(now, "reopen", None, "pause ends; no auction volume")
        self._update_reference(now, book)
        if book.halted:
            # someone else's halt: a limit state cannot persist through it
            self._end_limit_state(now, "trading halted")
            return
        bands = self.bands(now)
        if bands is None:
            self._arm(book, None, None)
            return
        self._arm(book, *bands)
        if not self.pinned(book, bands):
            self._end_limit_state(now, "quote left the band edge")
            return
        if self.limit_state_since is None:
            self.limit_state_since = now
            edge = bands[0] if book.best_ask is not None and book.best_ask <= bands[0] else bands[1]
            self._log(now, "limit_state_start", edge, f"quote pinned at the band {bands}")
        elif now - self.limit_state_since >= self.limit_state_seconds:
            self.limit_state_since = None
            book.halt(self.reason)
            self.pause_until = now + self.pause_seconds
            self._log(
                now,
                "pause",
                None,
                f"limit state lasted {self.limit_state_seconds:g} s; "
                f"trading pause until {self.pause_until:g}",
            )

    def _end_limit_state(self, now: float, why: str) -> None:
        if self.limit_state_since is not None:
            self.limit_state_since = None
            self._log(now, "limit_state_end", None, why)


# ---------------------------------------------------------------------- several rules together
class TradingRules:
    """Several rules run in order on one book (e.g. circuit breakers first, then LULD)."""

    def __init__(self, rules: Iterable[TradingRule]):
        self.rules = list(rules)
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise RuleError(f"rules must have distinct names (they name their bands), got {names}")

    def update(self, now: float, book: OrderBook) -> None:
        for rule in self.rules:
            rule.update(now, book)

    @property
    def events(self) -> list[RuleEvent]:
        """Every rule's events merged in time order (ties keep the rules' order)."""
        merged = [ev for rule in self.rules for ev in rule.events]
        return sorted(merged, key=lambda ev: ev.time)

    @property
    def next_deadline(self) -> float | None:
        due = [d for d in (r.next_deadline for r in self.rules) if d is not None]
        return min(due) if due else None
