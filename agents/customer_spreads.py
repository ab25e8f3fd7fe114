"""The two-leg packages option customers send to the complex order book in book mode.

With probability ``market.options.spread_share`` a customer's new trade (not a close, not the
dealers' opening book) becomes one package built around the contract its flow picked:

- a **vertical** (what the other shares leave): the picked contract and the next listed strike
  further out of the money in the same expiry and type (the next higher strike for a call, the
  next lower for a put), legs ``[(picked, +1), (next out, -1)]``; a buying flow buys it (buy the
  picked strike, sell the next out: a debit spread), a selling flow sells it (a credit spread);
- a **straddle** (``straddle_share``): the picked contract and the other type at the same strike
  and expiry, both ratio +1, bought or sold as the flow trades its picked contract;
- a **calendar** (``calendar_share``): the picked contract and the same strike and type at the
  next later listed expiry, legs ``[(picked, +1), (later, -1)]`` (bought by a buying flow: the
  near leg bought, the far one sold, the shape of a roll);
- a **diagonal** (``diagonal_share``): the picked contract and the next strike further out at
  the next later expiry, legs ``[(picked, +1), (later and further out, -1)]``.

Verticals, calendars and diagonals dominate complex volume, straddles are a small fraction of it,
and many packages roll a position's strike or expiry (Li, Musto & Pearson, "A Simple Role for
Complex Options", 2023). When the second leg does not exist (no strike further out, no later
expiry, or no twin listed and live) there is no package and the customer trades its single
contract.

Units: legs are ``(chain row, ratio)``; side +1 buy / -1 sell of the package; quantities in
packages.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: legs of a package: (chain row, ratio)
Legs = tuple[tuple[int, int], ...]


class ChainRows(NamedTuple):
    """The chain's rows as the package builders read them: strike (currency), expiry (clock
    seconds), whether a call, and whether live now; one entry per row."""

    strike: np.ndarray
    expiry: np.ndarray
    is_call: np.ndarray
    live: np.ndarray


def next_strike_out(
    contract: int,
    chain: ChainRows,
) -> int | None:
    """The live row of the same expiry and type as ``contract`` at the next strike further out
    of the money (higher for a call, lower for a put), or None."""
    strike, expiry, is_call, live = chain
    call = bool(is_call[contract])
    k = float(strike[contract])
    rows = np.flatnonzero(live & (expiry == expiry[contract]) & (is_call == call))
    further = rows[strike[rows] > k] if call else rows[strike[rows] < k]
    if further.size == 0:
        return None
    pick = np.argmin(strike[further]) if call else np.argmax(strike[further])
    return int(further[pick])


def next_expiry(
    contract: int,
    chain: ChainRows,
) -> int | None:
    """The live row of the same strike and type as ``contract`` at the nearest later expiry, or
    None."""
    strike, expiry, is_call, live = chain
    rows = np.flatnonzero(
        live
        & (strike == strike[contract])
        & (is_call == is_call[contract])
        & (expiry > expiry[contract])
    )
    return int(rows[np.argmin(expiry[rows])]) if rows.size else None


def straddle_twin(
    contract: int,
    chain: ChainRows,
) -> int | None:
    """The live row of the other type at the same strike and expiry as ``contract``, or None."""
    strike, expiry, is_call, live = chain
    rows = np.flatnonzero(
        live
        & (expiry == expiry[contract])
        & (strike == strike[contract])
        & (is_call != is_call[contract])
    )
    return int(rows[0]) if rows.size else None


#: the kinds of package a customer sends
PACKAGE_KINDS = ("vertical", "straddle", "calendar", "diagonal")


def package_kind(
    u: float, straddle_share: float, calendar_share: float, diagonal_share: float
) -> str:
    """The kind of package for a uniform draw ``u`` in [0, 1): a straddle below
    ``straddle_share``, then a calendar and a diagonal for their shares, a vertical above them."""
    if u < straddle_share:
        return "straddle"
    if u < straddle_share + calendar_share:
        return "calendar"
    if u < straddle_share + calendar_share + diagonal_share:
        return "diagonal"
    return "vertical"


def package_legs(contract: int, kind: str, chain: ChainRows) -> Legs | None:
    """The legs of the package of ``kind`` (:data:`PACKAGE_KINDS`) around ``contract`` (module
    docstring), or None when its second leg is not live."""
    if not 0 <= contract < len(chain.strike):
        n = len(chain.strike)
        raise ValueError(f"contract must be a chain row in [0, {n - 1}], got {contract}")
    if kind not in PACKAGE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PACKAGE_KINDS)}, got {kind!r}")
    if kind == "straddle":
        twin = straddle_twin(contract, chain)
        return None if twin is None else ((contract, 1), (twin, 1))
    if kind == "vertical":
        out = next_strike_out(contract, chain)
    else:
        out = next_expiry(contract, chain)
        if out is not None and kind == "diagonal":
            out = next_strike_out(out, chain)
    return None if out is None else ((contract, 1), (out, -1))
