"""Book features of a child order, read from a book and its market record (no model)."""

from __future__ import annotations

import pytest

from market.exchange.market_state import MarketState
from market.exchange.order_book import OrderBook
from market.execution.book_features import book_features


def test_features_are_signed_by_the_senders_side():
    book = OrderBook(tick_size=0.01)
    book.limit(0, 1, 9_999, 300)  # bid 99.99 x 300
    book.limit(0, 1, 9_998, 700)
    book.limit(0, -1, 10_001, 100)  # ask 100.01 x 100
    state = MarketState(book, 100.0, 1.0, 10)
    buy = book_features(book, state, 1, 100, 100.0)
    assert buy["spread_ticks"] == 2.0 and buy["spread_bps"] == pytest.approx(2.0)
    assert (buy["near_touch"], buy["far_touch"]) == (300.0, 100.0)
    assert (buy["near_depth"], buy["far_depth"], buy["depth"]) == (1_000.0, 100.0, 0.1)
    assert buy["imbalance"] == pytest.approx(900 / 1_100)
    assert buy["queue_fragility"] == pytest.approx(0.75)
    assert buy["participation"] == 1.0  # nothing traded yet
    sell = book_features(book, state, -1, 100, 100.0)
    assert sell["imbalance"] == pytest.approx(-buy["imbalance"])
    assert sell["queue_fragility"] == pytest.approx(0.25)
