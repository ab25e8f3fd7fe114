"""Queue priority of a resting child order: how much would trade before it.

``ahead`` is the quantity that would trade before the child: everything resting on its side at
better prices plus what is ahead of it at its own level. Trades and cancels ahead shrink it (no
loss); new orders at better prices, the near touch moving away, grow it. Prices are book ticks.
"""

from __future__ import annotations

from market.exchange.venue import BookView


def queue_ahead(book: BookView, oid: int, side: int, price: int) -> int:
    """Shares that would trade before resting order ``oid`` (on ``side`` at ``price`` ticks)."""
    best = book.best_bid if side > 0 else book.best_ask
    better = 0
    if best is not None and side * (best - price) > 0:
        better = book.size_within(side, side * (best - price) - 1)
    return better + book.queue_position(oid)


def queue_loss(book: BookView, oid: int, side: int, price: int, ahead0: int) -> float:
    """Share of resting order ``oid``'s queue priority lost since ``ahead0`` shares were ahead of
    it, in [0, 1): ``max(ahead - ahead0, 0) / (ahead + own remaining)``; near 1 when the price
    has moved away through deep levels, small when a few shares jumped ahead; 0 once the order
    is gone."""
    if not oid:
        return 0.0
    remaining = book.remaining(oid)
    if remaining <= 0:
        return 0.0
    ahead = queue_ahead(book, oid, side, price)
    return max(ahead - ahead0, 0) / (ahead + remaining)
