"""CME-style stop logic: a pause when trading would move more than ``max_move`` too fast.

:class:`StopLogic` follows the rule protocol of :mod:`market.exchange.rules` (``update(now, book)``,
``events``, ``next_deadline``, the ownership of halts) and shares its bookkeeping. Prices inside the
book are integer ticks; ``max_move`` and recorded prices are in currency; times are clock seconds.

Three references say what the move is measured from:

- ``reference="window"``: CME Globex *velocity logic* (CME Group, "Velocity Logic", CME Globex
  client documentation), which detects a move of more than a set number of ticks up or down
  within a set lookback time. The rule keeps the prints of the last ``lookback_seconds`` and
  the price in force when that lookback began, and arms a "halt" band
  ``[highest - max_move, lowest + max_move]`` over them, so no print may lie more than
  ``max_move`` from any price of the lookback. The band is re-armed at each ``update`` call;
  prints between two calls are checked against the lookback as it stood at the first, and if
  together they moved more than ``max_move`` the pause starts at the second call (the velocity
  test at the resolution of the calls). A pause, by this rule or any other, restarts the
  lookback at the reopening price.
- ``reference="step"``: the last trade price at each ``update`` call, a "halt" band at
  reference -/+ ``max_move``: a velocity check over the call interval that many small orders
  can breach together, and that a quote which drifted away from a stale print without trading
  can breach with one small fill.
- ``reference="order"``: the opposite best price each incoming order meets (the book's sweep
  limit): the market pauses only when one order would sweep more than ``max_move`` through
  the book, as CME's stop logic fires when one order (with the stops it elects) would trade
  through its threshold.

Either way the book halts at once; the pause lasts ``pause_seconds`` from that moment and ends
with the reopening auction. The pause cancels no resting order: the triggering order's
unfilled remainder is cancelled if it is a market or IOC order and held for the auction at its
limit if it is a limit order (CME likewise eliminates a triggering Fill-and-Kill or market
order; it goes further and keeps the market open in that case, which this rule does not).
"""

from __future__ import annotations

from collections import deque

from market.exchange.order_book import OrderBook, Trade
from market.exchange.rules import RuleError, _nearest_tick, _positive, _Rule


class StopLogic(_Rule):
    """CME-style stop/velocity logic: trading that would move more than ``max_move`` (currency)
    pauses for ``pause_seconds``, then the reopening auction runs (module docstring).

    ``reference``: ``"window"`` (velocity logic: no print may lie more than ``max_move`` from any
    print of the last ``lookback_seconds``), ``"step"`` (a band at the last price at each
    ``update`` call -/+ ``max_move``) or ``"order"`` (the book's sweep limit: one incoming order
    may not trade more than ``max_move`` beyond the touch it meets).
    """

    name = "StopLogic"
    band_mode = "halt"
    REFERENCES = ("window", "step", "order")

    def __init__(
        self,
        max_move: float = 6.0,
        pause_seconds: float = 5.0,
        tick_size: float = 0.01,
        reference: str = "step",
        lookback_seconds: float = 1.0,
    ):
        super().__init__(tick_size)
        self.max_move = max_move
        self.pause_seconds = _positive(pause_seconds, "pause_seconds")
        self.lookback_seconds = _positive(lookback_seconds, "lookback_seconds")
        if reference not in self.REFERENCES:
            raise RuleError(
                f"reference must be one of {', '.join(self.REFERENCES)}, got {reference!r}"
            )
        self.reference_mode = reference
        self.reference: float | None = None
        self.pause_until: float | None = None
        # "window": the prints of the lookback (time, price ticks), and the price in force when
        # the lookback began (the last print that left it)
        self._path: deque[tuple[float, int]] = deque()
        self._entry: int | None = None

    @property
    def max_move(self) -> float:
        return self._max_move

    @max_move.setter
    def max_move(self, value: float) -> None:
        # a rule_change event may move the threshold mid-run; the width in ticks follows it
        self._max_move = _positive(value, "max_move", "a positive currency amount")
        self._move_ticks = _nearest_tick(self._max_move, self.tick_size)

    @property
    def next_deadline(self) -> float | None:
        return self.pause_until

    def update(self, now: float, book: OrderBook) -> None:
        now = self._clock(now)
        prints = self._new_prints(book)
        if self.pause_until is not None:
            if now < self.pause_until:
                return
            self.pause_until = None
            if book.halted and book.halt_reason == self.reason:
                self._reopen(now, book, "pause ends")
                # the reopening price starts a fresh lookback
                prints = self._new_prints(book)
                self._path.clear()
                if prints:
                    self._entry = None
                    prints = prints[:1]
        if self.reference_mode == "window":
            self._remember(now, prints)
        if book.halted:
            if book.halt_reason == "band" and self.name in book.band_breach_names:
                self._take_over(book)
            elif book.halt_reason != self.reason:
                # another rule's halt: its reopening price starts a fresh lookback
                self._path.clear()
                self._entry = None
            return
        if self.reference_mode == "order":
            if book.sweep_limit != (self._move_ticks, self.name):
                book.set_sweep_limit(self._move_ticks, self.name)
            return
        if self.reference_mode == "window":
            self._arm_window(now, book)
            return
        last = book.last_trade
        if last is None:
            self.reference = None
            self._arm(book, None, None)
            return
        self.reference = last.price * self.tick_size
        move = self._move_ticks
        self._arm(book, max(1, last.price - move), last.price + move)

    def _take_over(self, book: OrderBook) -> None:
        """A fill left this rule's band: the band halt becomes this rule's pause."""
        start = float(book.halted_at)  # type: ignore[arg-type]  # halted: stamped
        book.halt(self.reason)
        self.pause_until = start + self.pause_seconds
        if self.reference_mode == "order":
            why = f"an order would sweep more than {self.max_move:g} through the book"
        elif self.reference_mode == "window":
            why = (
                f"print more than {self.max_move:g} from a print of the last "
                f"{self.lookback_seconds:g} s"
            )
        else:
            why = f"print outside {self.reference:g} -/+ {self.max_move:g}"
        self._log(start, "pause", book.band_breach, f"{why}; pause until {self.pause_until:g}")

    # ------------------------------------------------------------------ the lookback window
    def _remember(self, now: float, prints: list[Trade]) -> None:
        """Adds ``prints`` to the lookback and lets the prints older than it go."""
        path = self._path
        path.extend((t.time, t.price) for t in prints)
        horizon = now - self.lookback_seconds
        while path and path[0][0] < horizon:
            self._entry = path.popleft()[1]

    def window_range(self) -> tuple[int, int] | None:
        """Lowest and highest price (ticks) traded over the lookback, counting the price in
        force when it began; None before any print."""
        prices = [p for _, p in self._path]
        if self._entry is not None:
            prices.append(self._entry)
        return (min(prices), max(prices)) if prices else None

    def _arm_window(self, now: float, book: OrderBook) -> None:
        """Arms the band that keeps every print within ``max_move`` of every print of the
        lookback; pauses at once if the prints between two calls already moved further."""
        span = self.window_range()
        if span is None:
            self.reference = None
            self._arm(book, None, None)
            return
        low, high = span
        move = self._move_ticks
        self.reference = self._path[-1][1] * self.tick_size if self._path else low * self.tick_size
        if high - low > move:
            # the move happened between two calls, inside the band armed at the first: the
            # velocity test is met at this call's resolution
            book.halt(self.reason)
            self.pause_until = now + self.pause_seconds
            self._log(
                now,
                "pause",
                None,
                f"prints moved {(high - low) * self.tick_size:g} within "
                f"{self.lookback_seconds:g} s; pause until {self.pause_until:g}",
            )
            return
        self._arm(book, max(1, high - move), low + move)
