"""The global event sequence: one integer counter shared by every book that must be replayed in
one order (the underlying venue, the option venue, the complex order book).

Clock time (seconds, :mod:`market.exchange.clock`) orders events only coarsely: many messages
and prints share one simulation step. Every accepted message and every print instead takes the
next number of one :class:`EventClock`, so ``(time, seq)`` orders all events across all books
exactly, and a replay of the same messages gives the same numbers. Numbers start at 1 and never
repeat or go back; 0 means "no event yet".
"""

from __future__ import annotations

from numbers import Integral


class EventClock:
    """A strictly increasing event counter: :meth:`next` returns 1, 2, 3, ...

    ``start`` is the number the counter has already reached (default 0, so the first event is 1),
    for a clock that continues a recorded sequence.
    """

    __slots__ = ("_last",)

    def __init__(self, start: int = 0) -> None:
        if isinstance(start, bool) or not isinstance(start, Integral) or start < 0:
            raise ValueError(f"start must be an integer >= 0, got {start!r}")
        self._last: int = int(start)

    def next(self) -> int:
        """Take the next event number."""
        self._last += 1
        return self._last

    @property
    def last(self) -> int:
        """The most recent event number taken (0 before the first)."""
        return self._last

    def stamp(self, time: float) -> tuple[float, int]:
        """Take the next event number and pair it with clock ``time`` (seconds): ``(time, seq)``,
        the unified timestamp that sorts events of every book in the order they happened."""
        self._last += 1
        return (time, self._last)

    def __repr__(self) -> str:
        return f"EventClock(last={self._last})"
