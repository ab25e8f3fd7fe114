"""The simulation clock and the year convention, stated once for the whole project.

Time is measured in seconds since the first open. A trading day is 6.5 hours, 23,400 seconds
(09:30 to 16:00 exchange time); nights and weekends are skipped, so the clock only counts trading
seconds and day ``d`` (0-based) spans ``[d * 23400, (d + 1) * 23400)``.

Options use a trading-time year: ``year fraction = trading seconds / (252 * 23,400)``. Every
pricing function in :mod:`market.options.pricing` takes time to expiry in these years.
"""

from __future__ import annotations

import math
import re
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


#: "HH:MM" or "HH:MM:SS", minutes and seconds two digits below 60
_WALL_CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?")


def wall_clock(text: str) -> float:
    """Seconds since the open for a wall-clock time ``"HH:MM"`` or ``"HH:MM:SS"`` (e.g.
    ``"15:25"`` -> 21300).

    Minutes and seconds must be two digits below 60 (``"10:30:99"`` is refused, not read as
    10:31:39) and the time must lie between 09:30 and 16:00; ``ValueError`` otherwise.
    """
    match = _WALL_CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"wall-clock time {text!r} must be 'HH:MM' or 'HH:MM:SS' with minutes and seconds 00-59"
        )
    hh, mm, ss = (int(g or 0) for g in match.groups())
    seconds = hh * 3600 + mm * 60 + ss - OPEN_CLOCK_SECONDS
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError(f"wall-clock time {text!r} must lie between 09:30 and 16:00")
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


def intraday_profile(
    tod: float | NDArray[Any],
    open_boost: float = 0.0,
    close_boost: float = 0.0,
    tau_open: float = 1200.0,
    tau_close: float = 1200.0,
) -> float | NDArray[np.float64]:
    """The intraday activity profile ``s(t)`` at ``tod`` seconds since the open; mean 1 over a day.

    ``s(t) = a + b e^{-t/tau_open} + c e^{-(T-t)/tau_close}`` with ``T`` = 23,400 s, written as
    ``(1 + open_boost e^{-t/tau_open} + close_boost e^{-(T-t)/tau_close}) / Z``: ``open_boost`` and
    ``close_boost`` are the extra activity at the open and at the close as multiples of the midday
    level, and ``Z`` makes the day's mean exactly 1, so multiplying a Poisson rate by ``s(t)``
    moves activity towards the ends of the day without changing the expected daily count.
    Boosts of 0 give ``s = 1`` (a flat day). The U shape of volume and volatility: Wood, McInish &
    Ord (1985), J. Finance 40:723; Harris (1986), J. Financial Economics 16:99; the exponential
    form as a non-homogeneous Poisson intensity is the usual way simulators impose it.
    Scalars and arrays (``tod`` outside ``[0, T]`` is not folded: pass the time of day).
    """
    if open_boost < 0 or close_boost < 0 or tau_open <= 0 or tau_close <= 0:
        raise ValueError(
            "intraday_profile needs boosts >= 0 and time constants > 0, got "
            f"{open_boost!r}, {close_boost!r}, {tau_open!r}, {tau_close!r}"
        )
    T = float(SECONDS_PER_DAY)
    z = (
        1.0
        + open_boost * tau_open * -math.expm1(-T / tau_open) / T
        + close_boost * tau_close * -math.expm1(-T / tau_close) / T
    )
    t = np.asarray(tod, dtype=float)
    s = (1.0 + open_boost * np.exp(-t / tau_open) + close_boost * np.exp(-(T - t) / tau_close)) / z
    return s if np.ndim(tod) else float(s)
