"""The market's per-step record: its EWMA volatility counts a halt as one return."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.exchange.market_state import DailyVolume, MarketState
from market.exchange.order_book import OrderBook


def _quote(book: OrderBook, ids: list[int], mid_ticks: int) -> None:
    """Replace the book's only quotes by a bid and an ask one tick either side of ``mid_ticks``."""
    for oid in ids:
        book.cancel(oid)
    ids[:] = [book.limit(0, 1, mid_ticks - 1, 100), book.limit(0, -1, mid_ticks + 1, 100)]


def _walk(path: list[tuple[int, int, bool]]) -> MarketState:
    """Step a state over ``(steps, mid in ticks, halted)`` legs at 1 s a step."""
    book = OrderBook(tick_size=0.01)
    ids: list[int] = []
    _quote(book, ids, 10_000)
    state = MarketState(book, 100.0, 1.0, 100, vol_halflife=300.0, vol_sample=10.0, initial_vol=0.2)
    for steps, mid, halted in path:
        if halted and not book.halted:
            book.halt("test")
        elif not halted and book.halted:
            book.reopen()
        _quote(book, ids, mid)
        for _ in range(steps):
            state.update()
    return state


def test_a_halt_counts_as_one_return_priced_by_the_reopening():
    # the sweep into the pause and the halted book's readings, then the reopening near the start
    legs = [(10, 10_000, False), (10, 9_700, True), (9, 10_300, True), (1, 10_010, False)]
    halted = _walk(legs)
    naive = _walk([(steps, mid, False) for steps, mid, _ in legs])
    alpha = 1.0 - 0.5 ** (10.0 / 300.0)
    var = 0.2**2 * 10.0 / SECONDS_PER_YEAR
    var += alpha * (0.0 - var)  # the sample at 10 s: no move
    var += alpha * (math.log(100.1 / 100.0) ** 2 - var)  # one return, 10 s to 30 s
    assert halted.vol == pytest.approx(math.sqrt(var * SECONDS_PER_YEAR / 10.0))
    assert naive.vol > 2 * halted.vol  # read through the pause, the same path is a storm


def test_without_halts_the_samples_are_every_sample_interval():
    state = _walk([(10, 10_000, False), (10, 10_050, False), (10, 10_000, False)])
    alpha = 1.0 - 0.5 ** (10.0 / 300.0)
    var = 0.2**2 * 10.0 / SECONDS_PER_YEAR
    for r in (0.0, math.log(100.5 / 100.0), math.log(100.0 / 100.5)):
        var += alpha * (r * r - var)
    assert state.vol == pytest.approx(math.sqrt(var * SECONDS_PER_YEAR / 10.0))


def test_account_flow_is_kept_per_aggressor_only_once_asked_for_and_reset_when_taken():
    book = OrderBook(tick_size=0.01)
    state = MarketState(book, 100.0, 1.0, 100)
    with pytest.raises(RuntimeError, match="track_account_flow"):
        state.take_account_flow()
    book.limit(1, -1, 10_001, 500)
    book.limit(1, 1, 9_999, 500)
    book.market(2, 1, 200)  # untracked yet
    state.update()
    state.track_account_flow()
    book.market(2, 1, 100)
    book.market(3, -1, 300)
    book.market(2, -1, 100)  # nets account 2 to zero: left out
    book.market(4, 1, 50)
    state.update()
    accounts, signed = state.take_account_flow()
    assert accounts.tolist() == [3, 4]
    assert signed.tolist() == [-300, 50]  # the resting account 1 is no aggressor
    state.update()
    assert state.take_account_flow()[0].size == 0


def test_daily_volume_scales_what_traded_to_a_day_with_a_floor_on_the_elapsed_time():
    state = SimpleNamespace(n=0, volumes=np.zeros(10_000))
    daily = DailyVolume(state, start=0.0, floor=1800.0)  # type: ignore[arg-type]
    assert daily.update(10.0) == 0.0  # nothing traded yet
    state.volumes[1:11] = 100.0
    state.n = 10
    # 1,000 shares in 10 s read against the 30-minute floor, not as 100 shares a second
    assert daily.update(10.0) == pytest.approx(1000.0 / 1800.0 * SECONDS_PER_DAY)
    state.volumes[11:3601] = 1.0
    state.n = 3600
    assert daily.update(3600.0) == pytest.approx(4590.0 / 3600.0 * SECONDS_PER_DAY)
    assert daily.update(3600.0) == pytest.approx(
        4590.0 / 3600.0 * SECONDS_PER_DAY
    )  # no double count
