"""The dealers' opening option book: which customer trades give the dealers the book they are
configured to start with.

``agents.dealers.initial_book`` (``flat``, ``short_gamma`` or ``long_gamma``) gives the dealers an
opening book that comes from real, recorded option trades: the *customers* population executes it
on its first actions (see :mod:`agents.customers`), buying (``short_gamma``) or selling
(``long_gamma``) ``initial_book_contracts`` contracts of the call and the put at each of the
``2 * initial_book_strikes + 1`` strikes nearest the initial price, in the
``initial_book_expiry``-th expiry listed at the start (0 = nearest; rolling expiries listed later
do not count), at the dealers' quotes. So it needs the customers population; the dealers' quotes
and risk limits apply to it like any other trade.

Side +1 = the customer buys (so the dealers sell); quantities in contracts; prices in currency.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol

import numpy as np

from market.options.chain import OptionChain


class InitialBook(Enum):
    """The dealers' opening option book, executed by the customers at the start of the run."""

    flat = "flat"
    short_gamma = "short_gamma"
    long_gamma = "long_gamma"


class OpeningBookSettings(Protocol):
    """The dealers' config fields that define their opening book (``agents.dealers.*``)."""

    initial_book: Any  # an InitialBook, or its value as read from a config file
    initial_book_expiry: int
    initial_book_strikes: int
    initial_book_contracts: int


def opening_book_trades(
    cfg: OpeningBookSettings, chain: OptionChain, spot: float
) -> list[tuple[int, int, int]]:
    """Customer trades ``(contract, customer side, contracts)`` that give the dealers
    ``cfg.initial_book``: around the money (strikes nearest ``spot``, currency) in the expiry
    ``initial_book_expiry``, ``initial_book_strikes`` strikes each side, a call and a put at
    each, ``initial_book_contracts`` each (the customers execute them at the start of the run).
    """
    kind = getattr(getattr(cfg, "initial_book", "flat"), "value", None) or str(
        getattr(cfg, "initial_book", "flat")
    )
    if kind == "flat":
        return []
    if kind not in ("short_gamma", "long_gamma"):
        raise ValueError(
            f"agents.dealers.initial_book must be flat, short_gamma or long_gamma; got {kind!r}"
        )
    side = 1 if kind == "short_gamma" else -1  # customers buy -> dealers short
    # expiries a rolling listing adds later are not there yet when the book is executed
    at_start = np.asarray(chain.is_listed) & ~np.asarray(chain.expired)
    expiries = np.unique(np.asarray(chain.expiry)[at_start])
    idx = int(cfg.initial_book_expiry)
    if idx >= expiries.size:
        raise ValueError(
            f"agents.dealers.initial_book_expiry must be in [0, {expiries.size - 1}] "
            f"(the expiries listed at the start), got {idx}"
        )
    in_expiry = at_start & (np.asarray(chain.expiry) == expiries[idx])
    strikes = np.unique(np.asarray(chain.strike)[in_expiry])
    centre = int(np.argmin(np.abs(strikes - spot)))
    width = int(cfg.initial_book_strikes)
    chosen = strikes[max(0, centre - width) : centre + width + 1]
    qty = int(cfg.initial_book_contracts)
    trades = []
    strike_arr = np.asarray(chain.strike)
    call_arr = np.asarray(chain.is_call)
    for k in chosen:
        for is_call in (True, False):
            hit = np.flatnonzero(in_expiry & np.isclose(strike_arr, k) & (call_arr == is_call))
            if hit.size:
                trades.append((int(hit[0]), side, qty))
    return trades
