"""Opening and closing call auctions, and the intraday activity profile."""

from __future__ import annotations

import numpy as np
import pytest

from market.exchange.auctions import CLOSED, CLOSING_CALL, OPENING_CALL, CallAuctions
from market.exchange.clock import SECONDS_PER_DAY, intraday_profile
from market.exchange.order_book import OrderBook
from market.exchange.rules import RuleError
from market.exchange.venue import Venue

T = SECONDS_PER_DAY


def _venue(open_s=60.0, close_s=300.0, **kw):
    book = OrderBook(tick_size=0.01)
    calls = CallAuctions(open_s, close_s, 1.0, 0.01, **kw)
    return book, calls, Venue(book, [calls], calls=calls)


def _tick(venue, book, now):
    book.now = now
    venue.update_rules(now)


def test_profile_mean_is_one_and_u_shaped():
    t = np.arange(T) + 0.5
    s = intraday_profile(t, 3.0, 2.0, 1200.0, 900.0)
    assert s.mean() == pytest.approx(1.0, abs=1e-6)
    midday = s[9000:16200].mean()
    assert s[:1800].mean() / midday > 1.5 and s[-1800:].mean() / midday > 1.5
    assert s[0] > s[-1] > s[12000]
    assert intraday_profile(100.0) == 1.0  # boosts 0: flat
    with pytest.raises(ValueError):
        intraday_profile(0.0, -1.0)


def test_opening_call_holds_orders_then_uncrosses_once():
    book, calls, venue = _venue()
    _tick(venue, book, 0.0)
    assert book.halted and book.halt_reason == OPENING_CALL
    venue.limit(1, 1, 10_010, 300)
    venue.limit(2, -1, 9_990, 200)
    venue.limit(3, -1, 10_000, 100)
    assert not book.trades  # collected, not matched
    _tick(venue, book, 30.0)
    assert book.halted
    _tick(venue, book, 60.0)
    assert not book.halted
    assert len({t.price for t in book.trades}) == 1
    assert sum(t.qty for t in book.trades) == 300
    assert [p.kind for p in calls.prints] == ["open"]
    assert calls.prints[0].volume == 300


def test_closing_call_prints_the_close_and_keeps_the_book_closed_overnight():
    book, calls, venue = _venue(open_s=0.0, close_s=300.0)
    _tick(venue, book, 0.0)
    assert not book.halted  # no opening call
    venue.limit(1, 1, 10_000, 100)
    venue.limit(2, -1, 10_010, 100)
    _tick(venue, book, T - 300.0)
    assert book.halt_reason == CLOSING_CALL
    assert venue.ioc(3, 1, 10_020, 50) is None  # IOC refused in a call
    moc = venue.market(4, 1, 150)  # joins the close at the collar edge
    assert moc is not None and calls.n_joined == 1
    assert not book.trades
    _tick(venue, book, T - 1.0)
    assert book.halted and book.halt_reason == CLOSED
    close = calls.prints[-1]
    assert close.kind == "close" and close.volume == 100 and close.price == pytest.approx(100.1)
    assert book.remaining(moc) == 0  # the unfilled rest of a market-on-close order is cancelled
    venue.limit(5, -1, 9_900, 10)  # sent after the close: waits for the next open
    assert book.halted
    _tick(venue, book, T)
    assert not book.halted and calls.prints[-1].kind == "open"


def test_market_orders_are_refused_when_they_do_not_join():
    book, _calls, venue = _venue(market_orders_join=False)
    _tick(venue, book, 0.0)
    venue.limit(1, -1, 10_000, 100)
    assert venue.market(2, 1, 10) is None and venue.n_refused == 1


def test_closing_call_takes_over_another_halt():
    book, _calls, venue = _venue(open_s=0.0, close_s=60.0)
    _tick(venue, book, 0.0)
    book.halt("stop_logic")
    _tick(venue, book, T - 60.0)
    assert book.halt_reason == CLOSING_CALL


@pytest.mark.parametrize(
    "kw", [{"open_seconds": -1.0}, {"close_seconds": T}, {"collar": 0.0}, {"collar": 1.5}]
)
def test_bad_parameters_are_refused(kw):
    with pytest.raises(RuleError):
        CallAuctions(**kw)
