"""The two-leg packages option customers send to the complex order book in book mode.

With probability ``market.options.spread_share`` a customer's new trade (not a close, not the
dealers' opening book) becomes one package built around the contract its flow picked:

- a **vertical** (``1 - straddle_share`` of packages): the picked contract and the next listed
  strike further out of the money in the same expiry and type (the next higher strike for a call,
  the next lower for a put), legs ``[(picked, +1), (next out, -1)]``; a buying flow buys it (buy
  the picked strike, sell the next out: a debit spread), a selling flow sells it (a credit
  spread);
- a **straddle** (``straddle_share``): the picked contract and the other type at the same strike
  and expiry, both ratio +1, bought or sold as the flow trades its picked contract.

Verticals dominate complex volume and straddles are a small fraction of it (Li, Musto & Pearson,
"A Simple Role for Complex Options", 2023). When the second leg does not exist (no strike further
out, or no twin listed and live) there is no package and the customer trades its single contract.

Units: legs are ``(chain row, ratio)``; side +1 buy / -1 sell of the package; quantities in
packages.
"""

from __future__ import annotations

import numpy as np

#: legs of a package: (chain row, ratio)
Legs = tuple[tuple[int, int], ...]


def next_strike_out(
    contract: int,
    strike: np.ndarray,
    expiry: np.ndarray,
    is_call: np.ndarray,
    live: np.ndarray,
) -> int | None:
    """The live row of the same expiry and type as ``contract`` at the next strike further out
    of the money (higher for a call, lower for a put), or None."""
    call = bool(is_call[contract])
    k = float(strike[contract])
    rows = np.flatnonzero(live & (expiry == expiry[contract]) & (is_call == call))
    further = rows[strike[rows] > k] if call else rows[strike[rows] < k]
    if further.size == 0:
        return None
    pick = np.argmin(strike[further]) if call else np.argmax(strike[further])
    return int(further[pick])


def straddle_twin(
    contract: int,
    strike: np.ndarray,
    expiry: np.ndarray,
    is_call: np.ndarray,
    live: np.ndarray,
) -> int | None:
    """The live row of the other type at the same strike and expiry as ``contract``, or None."""
    rows = np.flatnonzero(
        live
        & (expiry == expiry[contract])
        & (strike == strike[contract])
        & (is_call != is_call[contract])
    )
    return int(rows[0]) if rows.size else None


def package_legs(
    contract: int,
    straddle: bool,
    strike: np.ndarray,
    expiry: np.ndarray,
    is_call: np.ndarray,
    live: np.ndarray,
) -> Legs | None:
    """The legs of the package around ``contract`` (a straddle if ``straddle``, else a vertical;
    module docstring), or None when its second leg is not live."""
    if not 0 <= contract < len(strike):
        raise ValueError(f"contract must be a chain row in [0, {len(strike) - 1}], got {contract}")
    if straddle:
        twin = straddle_twin(contract, strike, expiry, is_call, live)
        return None if twin is None else ((contract, 1), (twin, 1))
    out = next_strike_out(contract, strike, expiry, is_call, live)
    return None if out is None else ((contract, 1), (out, -1))
