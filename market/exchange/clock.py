"""The simulation clock and the year convention, stated once for the whole project.

Time is measured in seconds since the first open. A trading day is 6.5 hours, 23,400 seconds
(09:30 to 16:00 exchange time); nights and weekends are skipped, so the clock only counts trading
seconds and day ``d`` (0-based) spans ``[d * 23400, (d + 1) * 23400)``.

Options use a trading-time year: ``year fraction = trading seconds / (252 * 23,400)``. Every
pricing function in :mod:`market.options.pricing` takes time to expiry in these years.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

SECONDS_PER_DAY = 23_400
TRADING_DAYS_PER_YEAR = 252
SECONDS_PER_YEAR = TRADING_DAYS_PER_YEAR * SECONDS_PER_DAY
OPEN_CLOCK_SECONDS = 9 * 3600 + 30 * 60  # 09:30 wall clock, for labels only


@overload
def day_of(t: float) -> int: ...
@overload
def day_of(t: NDArray[Any]) -> NDArray[np.int_]: ...


def day_of(t: float | NDArray[Any]) -> int | NDArray[np.int_]:
    """Trading day index (0-based) of clock time ``t`` seconds; scalars and arrays."""
    return (
        np.floor_divide(t, SECONDS_PER_DAY).astype(int) if np.ndim(t) else int(t // SECONDS_PER_DAY)
    )


@overload
def time_of_day(t: float) -> float: ...
@overload
def time_of_day(t: NDArray[Any]) -> NDArray[np.float64]: ...


def time_of_day(t: float | NDArray[Any]) -> float | NDArray[np.float64]:
    """Seconds since that day's open for clock time ``t``; scalars and arrays."""
    return np.mod(t, SECONDS_PER_DAY)


def wall_clock(hhmm: str) -> float:
    """Seconds since the open for a wall-clock time ``"HH:MM"`` (e.g. ``"15:25"`` -> 21300)."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    seconds = hh * 3600 + mm * 60 - OPEN_CLOCK_SECONDS
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError(f"wall-clock time {hhmm!r} must lie between 09:30 and 16:00")
    return float(seconds)


@overload
def years(seconds: float) -> float: ...
@overload
def years(seconds: NDArray[Any]) -> NDArray[np.float64]: ...


def years(seconds: float | NDArray[Any]) -> float | NDArray[np.float64]:
    """Trading seconds to the year fraction used by option pricing."""
    return (
        np.asarray(seconds, dtype=float) / SECONDS_PER_YEAR
        if np.ndim(seconds)
        else seconds / SECONDS_PER_YEAR
    )
