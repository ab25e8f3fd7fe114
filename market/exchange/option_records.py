"""What the options venue hands out and checks: its prints, pulled orders, errors, the argument
checks of its messages, and the settlement of its prints into the ledger
(:mod:`market.exchange.option_venue` has the venue itself and the conventions).
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

import numpy as np

from market.exchange.clearing import Ledger, to_cents
from market.exchange.order_book import MAX_QTY, MAX_TICKS

__all__ = ["OptionPrint", "OptionSettlement", "OptionVenueError", "Pulled"]


class OptionPrint(NamedTuple):
    """One option print.

    ``seq`` is the event number, ``time`` clock seconds, ``price`` ticks of premium per share,
    ``qty`` contracts. ``aggressor_side`` is +1 when the buyer's order took liquidity, -1 when
    the seller's did, 0 for reopening-auction prints and off-book crosses. ``buyer_order`` and
    ``seller_order`` are order ids in the series' book (0 for a cross); ``package_id`` names the
    complex-order package a cross belongs to (0 = none).
    """

    seq: int
    time: float
    contract: int
    price: int
    qty: int
    buyer: int
    seller: int
    aggressor_side: int
    buyer_order: int
    seller_order: int
    package_id: int


class Pulled(NamedTuple):
    """An order taken off a book by a mass cancel or a delisting (``qty`` contracts)."""

    owner: int
    contract: int
    order_id: int
    qty: int


class OptionVenueError(ValueError):
    """A message the venue refuses as malformed (it changes nothing)."""


# The checks below take a plain int first: an isinstance check against the numbers ABCs costs
# about as much as the book's own handling of a message (measured).
def _whole(value: object, name: str, lo: int, hi: int) -> int:
    """An integer (Python or numpy, not a bool) in ``[lo, hi]``, else OptionVenueError."""
    if type(value) is int and lo <= value <= hi:
        return value
    if isinstance(value, bool) or not isinstance(value, Integral) or not lo <= int(value) <= hi:
        raise OptionVenueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _owner(value: object, name: str = "owner") -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise OptionVenueError(f"{name} must be an integer account id, got {value!r}")
    return int(value)


def _side(value: object) -> int:
    if type(value) is int and (value == 1 or value == -1):
        return value
    if isinstance(value, bool) or not isinstance(value, Integral) or value not in (1, -1):
        raise OptionVenueError(f"side must be +1 (buy) or -1 (sell), got {value!r}")
    return int(value)


def _price(value: object, name: str = "price") -> int:
    return _whole(value, name, 1, MAX_TICKS)


def _qty(value: object, name: str = "qty") -> int:
    return _whole(value, name, 1, MAX_QTY)


def _quote_side(price: object, qty: object, name: str) -> tuple[int, int] | None:
    """One side of a quote: ``None`` when missing (price None and qty 0, or qty 0), else
    ``(price, qty)`` checked."""
    if qty == 0 and (type(qty) is int or isinstance(qty, np.integer)):
        return None
    if price is None:
        raise OptionVenueError(f"{name}_qty must be 0 when {name}_px is None, got {qty!r}")
    return _price(price, f"{name}_px"), _qty(qty, f"{name}_qty")


class OptionSettlement:
    """Settles each :class:`OptionPrint` into ``ledger``: ``qty`` contracts from seller to buyer,
    premium ``price x tick_size`` per share times the ledger's multiplier, in integer cents.

    ``tick_size x multiplier`` must be a whole number of cents, so every premium is exact.
    ``cents`` is the total premium moved so far.
    """

    def __init__(self, ledger: Ledger, tick_size: float = 0.01) -> None:
        cents = tick_size * ledger.multiplier * 100
        if not tick_size > 0 or abs(cents - round(cents)) > 1e-9 or round(cents) < 1:
            raise OptionVenueError(
                f"tick_size x multiplier must be a whole number of cents >= 1, got {tick_size} "
                f"x {ledger.multiplier}"
            )
        self.ledger = ledger
        self.tick_size = float(tick_size)
        self.cents_per_tick = round(cents)  # per contract
        self.cents = 0

    def __call__(self, record: OptionPrint) -> None:
        premium = record.price * self.tick_size
        # the ledger takes a premium in currency; past 2**53 cents a float no longer holds every
        # whole cent, and a rounded premium must not move in silence
        if to_cents(premium * self.ledger.multiplier) != record.price * self.cents_per_tick:
            raise OptionVenueError(
                f"the premium of {record.price} ticks is not a whole number of cents in a float"
            )
        self.cents += self.ledger.settle_option(
            record.buyer, record.seller, record.contract, record.qty, premium
        )
