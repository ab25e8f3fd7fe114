"""Trading rules driving a real order book: circuit breakers, LULD, stop logic."""

from __future__ import annotations

import numpy as np
import pytest

from market.exchange.clock import SECONDS_PER_DAY, wall_clock
from market.exchange.order_book import BUY, SELL, HaltedError, OrderBook
from market.exchange.rules import (
    LimitUpLimitDown,
    MarketWideCircuitBreaker,
    RuleError,
    TradingRules,
    circuit_breaker_levels,
    luld_band_pct,
)
from market.exchange.stop_logic import StopLogic

CUTOFF = wall_clock("15:25")  # 21,300 s after the open


def bids_from(book: OrderBook, top: int, bottom: int, step: int = 50, qty: int = 10) -> None:
    for price in range(top, bottom - 1, -step):
        book.limit(100, BUY, price, qty)


def asks_from(book: OrderBook, bottom: int, top: int, step: int = 50, qty: int = 10) -> None:
    for price in range(bottom, top + 1, step):
        book.limit(101, SELL, price, qty)


def step(rule, book: OrderBook, now: float) -> None:
    """What the simulator does: set the book clock, then let the rule look."""
    book.now = now
    rule.update(now, book)


def print_at(book: OrderBook, price: int, now: float) -> None:
    book.now = now
    book.limit(200, SELL, price, 1)
    book.market(201, BUY, 1)
    assert book.last_trade.price == price


# ---------------------------------------------------------------------- levels
def test_circuit_breaker_levels_2020_exact():
    levels = circuit_breaker_levels(2972.37)
    assert levels.tolist() == [2764.30, 2585.96, 2377.90]


def test_circuit_breaker_levels_broadcast_and_half_up():
    levels = circuit_breaker_levels(np.array([2972.37, 100.0, 50.05]), pcts=(0.07, 0.5))
    assert levels.shape == (3, 2)
    assert levels[1].tolist() == [93.0, 50.0]
    # 50.05 * 0.5 = 25.025 exactly: half-up gives 25.03 (float arithmetic would give 25.02)
    assert levels[2].tolist() == [46.55, 25.03]


@pytest.mark.parametrize(
    ("prev", "pcts", "message"),
    [
        (0.0, (0.07,), "prev_close must be a positive price"),
        (np.nan, (0.07,), "prev_close must be a positive price"),
        (100.0, (0.0,), "pcts must lie strictly between 0 and 1"),
        (100.0, (1.2,), "pcts must lie strictly between 0 and 1"),
        (100.0, (), "pcts must be a non-empty sequence"),
    ],
)
def test_circuit_breaker_levels_bad_input(prev, pcts, message):
    with pytest.raises(RuleError, match=message):
        circuit_breaker_levels(prev, pcts)


def test_luld_band_pct_doubles_near_open_and_close():
    times = np.array([0.0, 899.0, 900.0, 22_499.0, 22_500.0, SECONDS_PER_DAY + 10.0])
    assert luld_band_pct(0.05, times).tolist() == [0.1, 0.1, 0.05, 0.05, 0.1, 0.1]
    assert luld_band_pct(0.05, 5000.0, open_close_window=0.0) == 0.05


# ---------------------------------------------------------------------- circuit breakers
def breaker_book() -> tuple[OrderBook, MarketWideCircuitBreaker]:
    book = OrderBook(0.01)
    bids_from(book, 9500, 7500)  # bids every 50 ticks from 95.00 down to 75.00
    rule = MarketWideCircuitBreaker(100.0)
    return book, rule


def test_mwcb_arms_halt_band_at_level_one():
    book, rule = breaker_book()
    assert rule.levels.tolist() == [93.0, 87.0, 80.0]
    step(rule, book, 3600.0)
    assert book.band("halt", "MWCB") == (9300, None)
    assert rule.next_deadline is None


def test_mwcb_level_one_halts_15_minutes_before_cutoff():
    book, rule = breaker_book()
    step(rule, book, 3600.0)
    book.now = 3700.0
    book.market(1, SELL, 100)  # sweeps 95.00 .. 93.00, refused at 92.50
    assert [t.price for t in book.trades] == [9500, 9450, 9400, 9350, 9300]
    assert book.halted and book.halt_reason == "band"
    book.now = 3701.0
    step(rule, book, 3701.0)
    assert book.halt_reason == "MWCB level 1"
    halt = rule.halts[0]
    assert (halt.level, halt.start, halt.scheduled_end, halt.end) == (1, 3700.0, 4600.0, None)
    assert halt.trigger_price == pytest.approx(93.00)  # the print at the level
    assert rule.next_deadline == 4600.0
    with pytest.raises(HaltedError):
        book.market(1, SELL, 1)
    book.limit(2, SELL, 9000, 10)  # held for the reopening auction
    step(rule, book, 4599.0)
    assert book.halted
    book.now = 4600.0
    step(rule, book, 4600.0)
    assert not book.halted and halt.end == 4600.0
    assert book.last_trade.price == 9250 and book.last_trade.time == 4600.0
    assert book.band("halt", "MWCB") == (8700, None)  # level 2 is next
    assert [e.kind for e in rule.events] == ["halt", "reopen"]


def test_mwcb_level_one_only_once_a_day():
    book, rule = breaker_book()
    step(rule, book, 3600.0)
    book.now = 3700.0
    book.market(1, SELL, 50)  # down to 93.00 exactly: a print at the level
    assert book.last_trade.price == 9300 and not book.halted
    step(rule, book, 3701.0)
    assert book.halt_reason == "MWCB level 1" and rule.halts[0].start == 3701.0
    book.now = 4601.0
    step(rule, book, 4601.0)
    assert not book.halted
    print_at(book, 9400, 4700.0)  # recover above level 1, then fall back through it
    step(rule, book, 4701.0)
    print_at(book, 9250, 4800.0)
    step(rule, book, 4801.0)
    assert not book.halted and len(rule.halts) == 1


def test_mwcb_no_level_one_halt_after_cutoff():
    book, rule = breaker_book()
    now = CUTOFF + 60.0
    step(rule, book, now)
    assert book.band("halt", "MWCB") == (8000, None)  # only level 3 can halt now
    book.now = now + 1
    book.market(1, SELL, 270)  # 95.00 down to 82.00: through levels 1 and 2
    assert book.last_trade.price == 8200 and not book.halted
    step(rule, book, now + 2)
    assert not book.halted and rule.halts == []


def test_mwcb_band_breach_after_cutoff_is_released():
    book, rule = breaker_book()
    step(rule, book, CUTOFF - 1.0)  # armed at level 1 just before the cut-off
    book.now = CUTOFF + 0.5
    book.market(1, SELL, 100)
    assert book.halted and book.halt_reason == "band"
    step(rule, book, CUTOFF + 1.0)
    assert not book.halted and rule.halts == []
    assert book.band("halt", "MWCB") == (8000, None)
    assert rule.events[-1].kind == "reopen"


def test_mwcb_level_three_halts_rest_of_day_and_new_day_resets():
    book, rule = breaker_book()
    now = wall_clock("15:50")
    step(rule, book, now)
    book.now = now + 1
    book.market(1, SELL, 1000)  # through levels 1 and 2, refused below 80.00
    assert book.halted and book.last_trade.price == 8000
    step(rule, book, now + 2)
    halt = rule.halts[0]
    assert book.halt_reason == "MWCB level 3"
    assert (halt.level, halt.scheduled_end) == (3, float(SECONDS_PER_DAY))
    step(rule, book, SECONDS_PER_DAY - 1.0)
    assert book.halted
    rule.new_day(80.0)
    assert rule.levels.tolist() == [74.4, 69.6, 64.0] and rule.triggered == [False] * 3
    book.now = float(SECONDS_PER_DAY)
    step(rule, book, SECONDS_PER_DAY)
    assert not book.halted and halt.end == SECONDS_PER_DAY
    assert book.band("halt", "MWCB") == (7440, None)


def test_mwcb_reopening_below_level_two_triggers_it():
    book, rule = breaker_book()
    step(rule, book, 3600.0)
    book.now = 3700.0
    book.market(1, SELL, 100)
    step(rule, book, 3701.0)
    book.limit(3, SELL, 8500, 300)  # a heavy seller waits for the reopening
    book.now = 4600.0
    step(rule, book, 4600.0)  # the auction prints below 87.00
    assert book.auctions[-1][1:] == (8500, 160)
    assert book.halt_reason == "MWCB level 2"
    assert [h.level for h in rule.halts] == [1, 2]
    assert rule.halts[1].start == 4600.0 and rule.halts[1].scheduled_end == 5500.0


def test_mwcb_parameters_change_behaviour():
    book, rule = breaker_book()
    rule = MarketWideCircuitBreaker(
        100.0, pcts=(0.05, 0.10), halt_seconds=600.0, cutoff="12:00", tick_size=0.01
    )
    assert rule.levels.tolist() == [95.0, 90.0]
    step(rule, book, 3600.0)
    assert book.band("halt", "MWCB") == (9500, None)
    book.now = 3600.0
    book.market(1, SELL, 20)
    step(rule, book, 3601.0)
    assert rule.halts[0].scheduled_end == 3600.0 + 600.0
    late = MarketWideCircuitBreaker(100.0, pcts=(0.05, 0.10), cutoff="12:00")
    late_book = OrderBook()
    step(late, late_book, wall_clock("12:00"))
    assert late_book.band("halt", "MWCB") == (9000, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prev_close": -1.0}, "prev_close must be a positive price"),
        ({"pcts": (0.13, 0.07)}, "strictly increasing"),
        ({"pcts": ("a",)}, "pcts must be a sequence"),
        ({"halt_seconds": 0}, "halt_seconds must be a positive"),
        ({"cutoff": "17:00"}, "cutoff must be a wall-clock time"),
        ({"tick_size": 0.0}, "tick_size must be a positive"),
    ],
)
def test_mwcb_bad_parameters(kwargs, message):
    args = {"prev_close": 100.0, **kwargs}
    with pytest.raises(RuleError, match=message):
        MarketWideCircuitBreaker(**args)


def test_rule_clock_must_not_go_backwards():
    book, rule = breaker_book()
    step(rule, book, 100.0)
    with pytest.raises(RuleError, match="now must not go backwards"):
        step(rule, book, 99.0)
    with pytest.raises(RuleError, match="now must be a finite clock time"):
        step(rule, book, float("nan"))


# ---------------------------------------------------------------------- LULD
def luld_book(reference_price: float = 100.0):
    book = OrderBook(0.01)
    rule = LimitUpLimitDown(tick_size=0.01, reference_price=reference_price)
    return book, rule


def test_luld_bands_doubled_near_open_and_close():
    book, rule = luld_book()
    step(rule, book, 100.0)
    assert book.band("block", "LULD") == (9000, 11000)
    step(rule, book, 5000.0)
    assert book.band("block", "LULD") == (9500, 10500)
    step(rule, book, SECONDS_PER_DAY - 600.0)
    assert book.band("block", "LULD") == (9000, 11000)
    narrow = LimitUpLimitDown(band_pct=0.02, open_close_window=60.0, reference_price=100.0)
    assert narrow.bands(100.0) == (9800, 10200)
    assert narrow.bands(30.0) == (9600, 10400)


def test_luld_reference_is_five_minute_average_of_prints():
    book = OrderBook()
    rule = LimitUpLimitDown(reference_price=100.0, reference_step=0.0)
    bids_from(book, 9900, 9000)
    print_at(book, 10000, 1000.0)
    print_at(book, 10200, 1200.0)
    step(rule, book, 1250.0)
    assert rule.reference == pytest.approx(101.0)
    step(rule, book, 1350.0)  # the 1000 s print has left the window
    assert rule.reference == pytest.approx(102.0)
    step(rule, book, 2000.0)  # no prints in the window: the reference is kept
    assert rule.reference == pytest.approx(102.0)
    assert book.band("block", "LULD") == (9690, 10710)


def test_luld_without_reference_arms_nothing():
    book = OrderBook()
    rule = LimitUpLimitDown()
    step(rule, book, 5000.0)
    assert book.band("block", "LULD") == (None, None) and rule.bands(5000.0) is None


def test_luld_reference_moves_only_by_one_percent_steps():
    book, rule = luld_book()
    print_at(book, 9950, 1000.0)
    step(rule, book, 1001.0)
    assert rule.mean_price == pytest.approx(99.5) and rule.reference == 100.0
    print_at(book, 9750, 1100.0)
    step(rule, book, 1101.0)
    assert rule.mean_price == pytest.approx(98.5) and rule.reference == pytest.approx(98.5)
    assert book.band("block", "LULD") == (9358, 10343)


def trading_history(book: OrderBook, price: int, n: int, now: float) -> None:
    """``n`` one-share prints at ``price``: enough weight that a short slide keeps the reference."""
    book.limit(300, BUY, price, n)
    book.now = now
    for _ in range(n):
        book.market(301, SELL, 1)


def drive_to_lower_band(book: OrderBook, rule: LimitUpLimitDown, now: float) -> None:
    trading_history(book, 10000, 100, now - 100.0)
    bids_from(book, 9800, 9300, step=100)
    step(rule, book, now)
    assert book.band("block", "LULD") == (9500, 10500)
    book.now = now
    book.market(1, SELL, 1000)  # fills 98.00 .. 95.00, blocked below
    assert book.last_trade.price == 9500
    book.limit(2, SELL, 9000, 10)  # repriced to the band edge: best ask = lower band
    assert book.best_ask == 9500


def test_luld_limit_state_becomes_pause_after_15_seconds_then_auction():
    book, rule = luld_book()
    drive_to_lower_band(book, rule, 5000.0)
    step(rule, book, 5001.0)
    assert rule.limit_state_since == 5001.0 and rule.next_deadline == 5016.0
    for t in range(5002, 5016):
        step(rule, book, float(t))
        assert not book.halted
    step(rule, book, 5016.0)
    assert book.halted and book.halt_reason == "LULD"
    assert rule.pause_until == 5316.0 and rule.next_deadline == 5316.0
    assert [e.kind for e in rule.events] == ["limit_state_start", "pause"]
    assert rule.events[0].price == pytest.approx(95.0)
    book.limit(3, BUY, 9550, 4)  # a buyer shows up during the pause
    step(rule, book, 5315.0)
    assert book.halted
    book.now = 5316.0
    step(rule, book, 5316.0)
    assert not book.halted and rule.events[-1].kind == "reopen"
    # 4 shares cross at any price in 95.00..95.50: the tie goes to the last print, 95.00
    assert book.auctions[-1] == (5316.0, 9500, 4)
    assert rule.reference == pytest.approx(95.0)
    assert book.band("block", "LULD") == (9025, 9975)


def test_luld_limit_state_that_clears_does_not_pause():
    book, rule = luld_book()
    drive_to_lower_band(book, rule, 5000.0)
    step(rule, book, 5001.0)
    book.limit(4, BUY, 9500, 1000)  # buyers absorb the offer at the band
    assert book.best_ask != 9500
    step(rule, book, 5005.0)
    step(rule, book, 5030.0)
    assert not book.halted
    assert [e.kind for e in rule.events] == ["limit_state_start", "limit_state_end"]


def test_luld_limit_state_seconds_and_pause_seconds_are_used():
    book = OrderBook()
    rule = LimitUpLimitDown(limit_state_seconds=5.0, pause_seconds=60.0, reference_price=100.0)
    drive_to_lower_band(book, rule, 5000.0)
    step(rule, book, 5001.0)
    step(rule, book, 5006.0)
    assert book.halted and rule.pause_until == 5066.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band_pct": 0.0}, "band_pct must lie strictly between 0 and 0.5"),
        ({"band_pct": 0.6}, "band_pct must lie strictly between 0 and 0.5"),
        ({"reference_window": -1}, "reference_window must be a positive"),
        ({"limit_state_seconds": 0}, "limit_state_seconds must be a positive"),
        ({"pause_seconds": float("inf")}, "pause_seconds must be a positive"),
        ({"open_close_window": 20_000}, "open_close_window must lie in"),
        ({"reference_price": 0.0}, "reference_price must be a positive price"),
    ],
)
def test_luld_bad_parameters(kwargs, message):
    with pytest.raises(RuleError, match=message):
        LimitUpLimitDown(**kwargs)


# ---------------------------------------------------------------------- stop logic
def test_stop_logic_pauses_five_seconds_and_reopens_at_one_price():
    book = OrderBook(0.01)
    rule = StopLogic(max_move=6.0, pause_seconds=5.0, tick_size=0.01)
    bids_from(book, 10000, 9000, step=100, qty=5)
    asks_from(book, 10100, 10500, step=100)
    step(rule, book, 0.0)
    assert book.band("halt", "StopLogic") == (None, None)  # no print yet, no reference
    book.now = 10.0
    book.market(5, SELL, 1)  # a print at 100.00
    step(rule, book, 10.0)
    assert rule.reference == pytest.approx(100.0)
    assert book.band("halt", "StopLogic") == (9400, 10600)
    book.now = 12.3
    book.market(1, SELL, 200)  # 100.00 .. 94.00 fill, 93.00 would leave the band
    assert book.halted and book.band_breach == 9300
    step(rule, book, 13.0)
    assert book.halt_reason == "StopLogic" and rule.pause_until == pytest.approx(17.3)
    assert rule.events[0].kind == "pause" and rule.events[0].time == 12.3
    book.limit(2, BUY, 9500, 8)  # orders arrive during the pause and are held
    book.limit(3, SELL, 9300, 8)
    book.limit(4, BUY, 9400, 4)
    step(rule, book, 17.0)
    assert book.halted
    book.now = 17.3
    step(rule, book, 17.3)
    assert not book.halted
    prints = [t for t in book.trades if t.time == 17.3]
    assert len({t.price for t in prints}) == 1 and sum(t.qty for t in prints) == 8
    assert book.best_bid < book.best_ask
    price = prints[0].price
    assert book.band("halt", "StopLogic") == (price - 600, price + 600)
    assert [e.kind for e in rule.events] == ["pause", "reopen"]


def test_stop_logic_max_move_sets_band_width():
    book = OrderBook(0.25)
    rule = StopLogic(max_move=2.0, pause_seconds=1.0, tick_size=0.25)
    print_at(book, 400, 1.0)
    step(rule, book, 1.0)
    assert book.band("halt", "StopLogic") == (392, 408)


def test_stop_logic_order_reference_ignores_a_stale_print_but_pauses_one_big_sweep():
    book, step_book = OrderBook(0.01), OrderBook(0.01)
    by_order = StopLogic(max_move=1.0, pause_seconds=5.0, tick_size=0.01, reference="order")
    by_step = StopLogic(max_move=1.0, pause_seconds=5.0, tick_size=0.01)
    for b, rule in ((book, by_order), (step_book, by_step)):
        print_at(b, 10000, 1.0)  # last print 100.00
        step(rule, b, 1.0)
        # the quote drifts 3.00 away without trading, then one small order lifts the touch
        asks_from(b, 10300, 10500, step=10, qty=10)
        b.now = 2.0
        b.market(7, BUY, 5)
    assert book.sweep_limit == (100, "StopLogic")
    assert book.band("halt", "StopLogic") == (None, None)
    assert not book.halted and book.trades[-1].price == 10300
    assert step_book.halted and step_book.band_breach == 10300  # the step band trips on it
    # one order that would sweep more than 1.00 past the touch it meets pauses the market
    book.now = 3.0
    book.market(8, BUY, 200)  # 103.00 .. 104.00 trade, 104.10 is too far
    assert book.halted and book.band_breach == 10410
    assert max(t.price for t in book.trades) == 10400
    step(by_order, book, 3.5)
    assert book.halt_reason == "StopLogic" and by_order.pause_until == pytest.approx(8.0)
    assert "sweep more than 1" in by_order.events[0].detail
    book.now = 8.0
    step(by_order, book, 8.0)
    assert not book.halted and [e.kind for e in by_order.events] == ["pause", "reopen"]


def test_stop_logic_threshold_change_mid_run_moves_the_sweep_limit():
    book = OrderBook(0.01)
    rule = StopLogic(max_move=1.0, tick_size=0.01, reference="order")
    step(rule, book, 0.0)
    assert book.sweep_limit == (100, "StopLogic")
    rule.max_move = 0.5  # what a rule_change event does
    step(rule, book, 1.0)
    assert book.sweep_limit == (50, "StopLogic")


def window_rule(max_move: float = 1.0, lookback: float = 1.0) -> StopLogic:
    return StopLogic(
        max_move=max_move,
        pause_seconds=5.0,
        tick_size=0.01,
        reference="window",
        lookback_seconds=lookback,
    )


def test_stop_logic_window_band_keeps_prints_within_max_move_of_the_whole_lookback():
    book, rule = OrderBook(0.01), window_rule()
    step(rule, book, 0.0)
    assert book.band("halt", "StopLogic") == (None, None)  # no print yet
    print_at(book, 10000, 1.0)
    print_at(book, 10050, 1.5)
    step(rule, book, 2.0)
    # no print may lie more than 1.00 from 100.00 or from 100.50
    assert rule.window_range() == (10000, 10050)
    assert book.band("halt", "StopLogic") == (9950, 10100)
    # 100.00 printed more than a lookback ago: the price in force then still counts, the
    # prints before it no longer do
    print_at(book, 10020, 2.5)
    step(rule, book, 3.0)
    assert rule.window_range() == (10020, 10050)
    assert book.band("halt", "StopLogic") == (9950, 10120)
    step(rule, book, 10.0)  # nothing traded for a while: the last price
    assert rule.window_range() == (10020, 10020)
    assert book.band("halt", "StopLogic") == (9920, 10120)


def test_stop_logic_window_pause_cancels_only_the_triggering_order_remainder():
    book, rule = OrderBook(0.01), window_rule()
    print_at(book, 10000, 1.0)
    step(rule, book, 1.0)
    bids_from(book, 9990, 9800, step=10, qty=10)  # 20 resting bids, 99.90 .. 98.00
    resting = book.level_orders(BUY, 9850)
    book.now = 1.4
    sweep = book.ioc(9, SELL, 9500, 500)  # would trade down to 98.00
    assert book.halted and book.band_breach == 9890  # 98.90 is 1.10 below 100.00
    assert book.remaining(sweep) == 0  # its remainder is cancelled
    assert min(t.price for t in book.trades) == 9900
    assert book.level_orders(BUY, 9850) == resting  # resting orders are untouched
    step(rule, book, 2.0)
    assert book.halt_reason == "StopLogic" and rule.pause_until == pytest.approx(6.4)
    assert "from a print of the last 1 s" in rule.events[0].detail
    book.limit(3, SELL, 9860, 5)  # held for the reopening auction
    step(rule, book, 6.4)
    assert not book.halted
    auction = book.trades[-1].price
    assert auction == 9890 and rule.window_range() == (auction, auction)  # nearest the last
    assert book.band("halt", "StopLogic") == (auction - 100, auction + 100)
    assert [e.kind for e in rule.events] == ["pause", "reopen"]


def test_stop_logic_window_pauses_when_prints_between_calls_moved_too_far():
    book, rule = OrderBook(0.01), window_rule()
    print_at(book, 10000, 1.0)
    step(rule, book, 1.0)  # band 99.00 .. 101.00
    print_at(book, 10090, 1.3)  # each print inside the band,
    print_at(book, 9920, 1.6)  # together 1.70 within the second
    assert not book.halted
    step(rule, book, 2.0)
    assert book.halted and book.halt_reason == "StopLogic"
    assert rule.pause_until == pytest.approx(7.0)
    assert "moved 1.7 within 1 s" in rule.events[0].detail


def test_stop_logic_window_restarts_after_another_rules_halt():
    book, rule = OrderBook(0.01), window_rule()
    print_at(book, 10000, 1.0)
    step(rule, book, 1.0)
    book.halt("LULD")  # someone else's pause
    step(rule, book, 2.0)
    assert rule.window_range() is None
    book.limit(1, BUY, 10300, 5)
    book.limit(2, SELL, 10300, 5)
    book.now = 3.0
    book.reopen()  # auction at 103.00, far from 100.00
    step(rule, book, 3.0)
    assert not book.halted and rule.window_range() == (10300, 10300)
    assert book.band("halt", "StopLogic") == (10200, 10400)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference": "print"}, "reference must be one of window, step, order"),
        ({"lookback_seconds": 0.0}, "lookback_seconds must be a positive"),
        ({"max_move": 0.0}, "max_move must be a positive"),
        ({"pause_seconds": -5.0}, "pause_seconds must be a positive"),
        ({"tick_size": True}, "tick_size must be a positive"),
    ],
)
def test_stop_logic_bad_parameters(kwargs, message):
    with pytest.raises(RuleError, match=message):
        StopLogic(**kwargs)


# ---------------------------------------------------------------------- rules together
def test_breakers_and_luld_together_keep_their_own_bands():
    book = OrderBook()
    trading_history(book, 10000, 100, 4900.0)
    bids_from(book, 9900, 9000)
    breaker = MarketWideCircuitBreaker(101.0)
    luld = LimitUpLimitDown(reference_price=100.0)
    rules = TradingRules([breaker, luld])
    step(rules, book, 5000.0)
    assert book.band("halt", "MWCB") == (9393, None)
    assert book.band("block", "LULD") == (9500, 10500)
    book.now = 5000.0
    book.market(1, SELL, 1000)  # LULD blocks at 95.00 before the breaker's 93.93
    assert book.last_trade.price == 9500 and not book.halted
    book.limit(2, SELL, 9000, 5)
    for t in range(5001, 5017):
        step(rules, book, float(t))
    assert book.halt_reason == "LULD"
    assert [e.rule for e in rules.events] == ["LULD", "LULD"]
    assert rules.next_deadline == 5316.0
    with pytest.raises(RuleError, match="distinct names"):
        TradingRules([luld, LimitUpLimitDown()])


def test_mwcb_parameter_changes_take_effect_mid_run():
    book, rule = breaker_book()
    rule.cutoff = "10:00"  # as a scenario's rule change would do
    assert rule.cutoff_seconds == 1800.0
    step(rule, book, 3600.0)
    assert rule.next_level(3600.0) == 2 and book.band("halt", "MWCB") == (8000, None)
    rule.pcts = (0.05, 0.10)
    assert rule.levels.tolist() == [95.0, 90.0]
    step(rule, book, 3601.0)
    assert book.band("halt", "MWCB") == (9000, None)
    assert not rule.halt_over(3601.0)
    with pytest.raises(RuleError, match="cutoff must be a wall-clock time"):
        rule.cutoff = "8:00"
