"""Leg prices of a package trade, and the net quote a strategy's legs imply.

A strategy holds signed ratios ``r_j`` over its legs: buying one package buys ``r_j`` contracts of
every leg with ``r_j > 0`` and sells ``|r_j|`` of every leg with ``r_j < 0``; its net price is
``sum_j r_j * p_j`` in integer ticks (negative for a package that pays its buyer). Leg prices
``p_j`` are per contract in ticks of the leg book.

:func:`net_quote` is the derived (implied-in) best bid and offer from the legs' tops.
:func:`allocate_leg_prices` splits a package's net price into leg prices that settle it exactly,
each inside its leg's current best bid and offer and none below one tick, or reports that no such
split exists (then the package does not trade).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import NamedTuple

#: how far (in ticks) the bounded search may move each leg from where the greedy pass left it;
#: with |ratio| <= 3 any remainder the greedy pass leaves is settled within two ratios' worth
SEARCH_TICKS = 6


class LegTop(NamedTuple):
    """One leg book's top: best prices in ticks and the quantity there in contracts.

    A price is ``None`` (and its size 0) when that side of the book is empty.
    """

    bid: int | None
    bid_size: int
    ask: int | None
    ask_size: int


class DerivedBBO(NamedTuple):
    """A strategy's best net bid and offer implied by its legs' tops (net ticks, packages).

    A side is ``None`` (size 0) when a leg it needs has an empty side. Net prices may be negative.
    """

    bid: int | None
    bid_size: int
    ask: int | None
    ask_size: int


def _net_side(ratios: Sequence[int], tops: Sequence[LegTop], side: int) -> tuple[int | None, int]:
    """The net price and package size of buying (``side=+1``) or selling (``-1``) at the tops."""
    net = 0
    size: int | None = None
    for r, top in zip(ratios, tops, strict=True):
        # buying the package lifts the asks of its long legs and hits the bids of its short legs
        take_ask = (r > 0) == (side > 0)
        price, qty = (top.ask, top.ask_size) if take_ask else (top.bid, top.bid_size)
        if price is None:
            return None, 0
        net += r * price
        fits = qty // abs(r)
        size = fits if size is None else min(size, fits)
    return net, 0 if size is None else size


def net_quote(ratios: Sequence[int], tops: Sequence[LegTop]) -> DerivedBBO:
    """The derived best bid and offer of a strategy with ``ratios`` over legs with ``tops``.

    ``net_ask = sum_{r>0} r*ask_j - sum_{r<0} |r|*bid_j``, ``net_bid = sum_{r>0} r*bid_j -
    sum_{r<0} |r|*ask_j``; each side's size is ``min floor(size_j / |r_j|)`` over the leg sides it
    trades against.
    """
    if len(ratios) != len(tops) or not ratios:
        raise ValueError(f"ratios and tops must be non-empty and equally long, got {ratios!r}")
    bid, bid_size = _net_side(ratios, tops, -1)
    ask, ask_size = _net_side(ratios, tops, 1)
    return DerivedBBO(bid, bid_size, ask, ask_size)


def _leg_bounds(
    bids: Sequence[int | None], asks: Sequence[int | None]
) -> tuple[list[int], list[int], list[int]] | None:
    """Per leg the lowest and highest allowed price (inside the BBO, at least one tick) and the
    starting price (the mid rounded down to a tick, clipped into those bounds)."""
    lows, highs, starts = [], [], []
    for bid, ask in zip(bids, asks, strict=True):
        # an empty side leaves no reference to price the leg inside: no allocation, no trade
        if bid is None or ask is None:
            return None
        lo, hi = max(bid, 1), ask
        if lo > hi:
            return None
        lows.append(lo)
        highs.append(hi)
        starts.append(min(max((bid + ask) // 2, lo), hi))
    return lows, highs, starts


def _greedy(
    ratios: Sequence[int], prices: list[int], lows: list[int], highs: list[int], residual: int
) -> int:
    """Move leg prices (in place) toward ``residual``, coarsest ratio first; returns what is left.

    A leg moves only by whole steps that do not overshoot, so the result keeps the residual's sign.
    """
    for j in sorted(range(len(ratios)), key=lambda i: (-abs(ratios[i]), i)):
        if residual == 0:
            break
        r = ratios[j]
        steps = abs(residual) // abs(r)
        # raising p_j moves the net by +r per tick: raise when r and the residual agree in sign
        if (r > 0) == (residual > 0):
            move = min(steps, highs[j] - prices[j])
        else:
            move = -min(steps, prices[j] - lows[j])
        prices[j] += move
        residual -= r * move
    return residual


def _search(
    ratios: Sequence[int], prices: list[int], lows: list[int], highs: list[int], residual: int
) -> tuple[int, ...] | None:
    """The smallest change (sum of |moves|) of at most ``SEARCH_TICKS`` per leg that settles
    ``residual`` exactly: every leg but the last is enumerated, the last one solved for."""
    *head, last = range(len(ratios))
    ranges = [
        range(max(lows[j] - prices[j], -SEARCH_TICKS), min(highs[j] - prices[j], SEARCH_TICKS) + 1)
        for j in head
    ]
    best: tuple[int, ...] | None = None
    best_cost = -1
    r_last = ratios[last]
    for moves in product(*ranges):
        rest = residual - sum(r * m for r, m in zip(ratios, moves, strict=False))
        if rest % r_last:
            continue
        m_last = rest // r_last
        if not lows[last] <= prices[last] + m_last <= highs[last]:
            continue
        cost = sum(abs(m) for m in moves) + abs(m_last)
        if best is None or cost < best_cost:
            best, best_cost = (*moves, m_last), cost
    if best is None:
        return None
    return tuple(p + m for p, m in zip(prices, best, strict=True))


def allocate_leg_prices(
    ratios: Sequence[int],
    bids: Sequence[int | None],
    asks: Sequence[int | None],
    net_price: int,
) -> tuple[int, ...] | None:
    """Leg prices ``p_j`` (ticks) with ``sum r_j p_j == net_price``, ``bid_j <= p_j <= ask_j``
    and ``p_j >= 1``; ``None`` when there are none (or the bounded search finds none).

    Each leg starts at its mid rounded down to a tick (clipped into its bounds); the residual is
    spread greedily over the legs with room, coarsest ratio first; a remainder the ratios leave is
    settled by a search moving each leg at most ``SEARCH_TICKS``. A leg with an empty side has no
    allowed price, so a package using it does not trade.
    """
    if not ratios or not len(ratios) == len(bids) == len(asks):
        raise ValueError(
            f"ratios, bids and asks must be non-empty and equally long, got {ratios!r}"
        )
    if any(r == 0 for r in ratios):
        raise ValueError(f"ratios must be nonzero, got {ratios!r}")
    bounds = _leg_bounds(bids, asks)
    if bounds is None:
        return None
    lows, highs, prices = bounds
    reach_lo = sum(r * (lo if r > 0 else hi) for r, lo, hi in zip(ratios, lows, highs, strict=True))
    reach_hi = sum(r * (hi if r > 0 else lo) for r, lo, hi in zip(ratios, lows, highs, strict=True))
    if not reach_lo <= net_price <= reach_hi:
        return None
    residual = net_price - sum(r * p for r, p in zip(ratios, prices, strict=True))
    residual = _greedy(ratios, prices, lows, highs, residual)
    if residual == 0:
        return tuple(prices)
    return _search(ratios, prices, lows, highs, residual)
