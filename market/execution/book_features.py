"""What the order book says about sending a child order now: the features of the cost models.

The desk records these at every child's decision, and a tail-cost forecast builds its feature
row from them. They read only the book and the market record; prices in the book are ticks,
``mid`` is currency, sides are +1 buy / -1 sell from the point of view of the order's sender.
"""

from __future__ import annotations

import math

from market.exchange.market_state import MarketState
from market.exchange.order_book import OrderBook

#: levels counted as "depth" on each side (ticks from each best price)
DEPTH_TICKS = 5
#: the trailing window of the traded volume a child is compared with (seconds)
VOLUME_WINDOW_S = 60.0


def book_features(
    book: OrderBook, state: MarketState, side: int, qty: int, mid: float
) -> dict[str, float]:
    """What the book says about sending ``qty`` shares on ``side`` now (``mid`` in currency).

    ``spread_ticks``, ``spread_bps`` (of the mid), ``near_touch`` and ``far_touch`` (shares at
    the sender's own and the opposite best price), ``near_depth`` and ``far_depth`` (within 5
    ticks of each best), ``depth`` (``far_depth`` in thousands of shares: what a cross can
    take), ``imbalance`` (sender-signed 5-tick depth imbalance ``(near - far) / (near + far)``:
    + = more resting on the sender's side, so the price tends to move away from it),
    ``queue_fragility`` (``near_touch / (near_touch + far_touch)``: near 1 when the far touch
    is thin and about to be taken out, so a passive child at the near touch is likely to be
    bypassed), ``volatility`` (EWMA realised, annualised), ``volume_60s`` (shares printed in
    the last minute), ``participation`` (``qty / (qty + volume_60s)``). With one side of the book
    empty the spread is the market record's last one.
    """
    bb, ba = book.best_bid, book.best_ask
    spread = (ba - bb) if bb is not None and ba is not None else state.spread_ticks
    near_best, far_best = (bb, ba) if side > 0 else (ba, bb)
    near_touch = book.size_within(side, 0) if near_best is not None else 0
    far_touch = book.size_within(-side, 0) if far_best is not None else 0
    near = book.size_within(side, DEPTH_TICKS) if near_best is not None else 0
    far = book.size_within(-side, DEPTH_TICKS) if far_best is not None else 0
    volume = state.volume(VOLUME_WINDOW_S)
    return {
        "spread_ticks": float(spread),
        "spread_bps": 1e4 * spread * state.tick / mid if mid > 0 else math.nan,
        "near_touch": float(near_touch),
        "far_touch": float(far_touch),
        "near_depth": float(near),
        "far_depth": float(far),
        "depth": far / 1e3,
        "imbalance": (near - far) / (near + far) if near + far > 0 else 0.0,
        "queue_fragility": near_touch / (near_touch + far_touch)
        if near_touch + far_touch > 0
        else 0.5,
        "volatility": float(state.vol),
        "volume_60s": volume,
        "participation": qty / (qty + volume) if qty + volume > 0 else 1.0,
    }
