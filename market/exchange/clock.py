"""The simulation clock and the year convention, stated once for the whole project.

Time is measured in seconds since the first open. A trading day is 6.5 hours, 23,400 seconds
(09:30 to 16:00 exchange time); nights and weekends are skipped, so the clock only counts trading
seconds and day ``d`` (0-based) spans ``[d * 23400, (d + 1) * 23400)``.

Options use a trading-time year: ``year fraction = trading seconds / (252 * 23,400)``. Every
pricing function in :mod:`market.options.pricing` takes time to expiry in these years.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_DAY = 23_400
TRADING_DAYS_PER_YEAR = 252
SECONDS_PER_YEAR = TRADING_DAYS_PER_YEAR * SECONDS_PER_DAY
OPEN_CLOCK_SECONDS = 9 * 3600 + 30 * 60  # 09:30 wall clock, for labels only


def day_of(t):
    """Trading day index (0-based) of clock time ``t`` seconds; scalars and arrays."""
    return (
        np.floor_divide(t, SECONDS_PER_DAY).astype(int) if np.ndim(t) else int(t // SECONDS_PER_DAY)
    )


def time_of_day(t):
    """Seconds since that day's open for clock time ``t``; scalars and arrays."""
    return np.mod(t, SECONDS_PER_DAY)


def wall_clock(hhmm: str) -> float:
    """Seconds since the open for a wall-clock time ``"HH:MM"`` (e.g. ``"15:25"`` -> 21300)."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    seconds = hh * 3600 + mm * 60 - OPEN_CLOCK_SECONDS
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError(f"wall-clock time {hhmm!r} must lie between 09:30 and 16:00")
    return float(seconds)


def years(seconds):
    """Trading seconds to the year fraction used by option pricing."""
    return (
        np.asarray(seconds, dtype=float) / SECONDS_PER_YEAR
        if np.ndim(seconds)
        else seconds / SECONDS_PER_YEAR
    )
