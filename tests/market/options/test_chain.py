"""Option chain: listing, open-interest bookkeeping, dealer positions, expiry, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.options.chain import (
    DEALER,
    INITIAL_LONGS,
    INITIAL_SHORTS,
    ChainError,
    OptionChain,
    covering_strikes_pct,
    expiry_of_day,
    expiry_schedule,
)


def _small_chain(**kwargs) -> OptionChain:
    # Two strikes x (call, put), one expiry at the close of day 4.
    return OptionChain(
        strike=[95.0, 95.0, 105.0, 105.0],
        expiry=expiry_of_day(4),
        is_call=[True, False, True, False],
        **kwargs,
    )


def _snapshot(chain: OptionChain):
    return (
        chain.open_interest.copy(),
        chain.dealer_position.copy(),
        {h: chain.position_of(h) for h in chain.holders},
    )


def test_expiry_of_day_is_the_close():
    assert expiry_of_day(0) == SECONDS_PER_DAY
    np.testing.assert_array_equal(expiry_of_day([0, 4]), [23_400.0, 117_000.0])
    with pytest.raises(ChainError, match="expiry day"):
        expiry_of_day(-1)
    with pytest.raises(ChainError, match="expiry day"):
        expiry_of_day(1.5)


def test_listed_builds_calls_and_puts_on_a_grid_around_spot():
    chain = OptionChain.listed(3000.0, strikes_pct=5.0, expiry_days=(0, 19), strike_step=25.0)
    strikes = np.unique(chain.strike)
    np.testing.assert_array_equal(strikes, np.arange(2850.0, 3150.0 + 1, 25.0))
    assert len(chain) == strikes.size * 2 * 2
    assert set(np.unique(chain.expiry)) == {expiry_of_day(0), expiry_of_day(19)}
    for e in (expiry_of_day(0), expiry_of_day(19)):
        at = chain.expiry == e
        assert chain.is_call[at].sum() == (~chain.is_call[at]).sum() == strikes.size
    assert np.all(chain.multiplier == 100)
    assert np.all(chain.open_interest == 0)


def test_listed_parameters_change_the_grid():
    default = OptionChain.listed(3000.0)
    # Default step: a 1-2-2.5-5 increment of at least 1% of spot -> 50 at 3000.
    np.testing.assert_allclose(np.diff(np.unique(default.strike)), 50.0)
    wide = OptionChain.listed(3000.0, strikes_pct=20.0, strike_step=100.0, multiplier=10)
    assert np.unique(wide.strike).min() == 2400.0 and np.unique(wide.strike).max() == 3600.0
    assert np.all(wide.multiplier == 10)
    # Spot off the grid: the nearest multiple is listed even with a zero-width band.
    narrow = OptionChain.listed(3012.0, strikes_pct=0.0, expiry_days=(2,), strike_step=25.0)
    np.testing.assert_array_equal(np.unique(narrow.strike), [3000.0])
    assert len(narrow) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spot": -1.0}, "spot"),
        ({"strikes_pct": 100.0}, "strikes_pct"),
        ({"strike_step": 0.0}, "strike_step"),
        ({"expiry_days": ()}, "expiry_days"),
        ({"expiry_days": (1, 1)}, "repeat"),
        ({"expiry_days": (-2,)}, "expiry day"),
    ],
)
def test_listed_validation(kwargs, match):
    args = {"spot": 100.0}
    args.update(kwargs)
    with pytest.raises(ChainError, match=match):
        OptionChain.listed(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strike": [100.0, -1.0]}, "strike"),
        ({"is_call": [1, 0]}, "is_call"),
        ({"expiry": 1000.0}, "close of a trading day"),
        ({"multiplier": 0}, "multiplier"),
        ({"strike": [100.0, 100.0], "is_call": [True, True]}, "listed twice"),
        ({"open_interest": [1, -1]}, "open_interest"),
        ({"open_interest": [1.5, 0]}, "whole numbers"),
        ({"open_interest": [1, 1], "dealer_position": [2, 0]}, "dealer_position"),
        ({"dealers": ()}, "dealers"),
        ({"dealers": (INITIAL_LONGS,)}, "reserved"),
    ],
)
def test_constructor_validation(kwargs, match):
    args = {"strike": [100.0, 100.0], "expiry": expiry_of_day(0), "is_call": [True, False]}
    args.update(kwargs)
    with pytest.raises(ChainError, match=match):
        OptionChain(**args)


def test_seeded_book_is_consistent_with_open_interest_and_dealers():
    chain = _small_chain(open_interest=[10, 4, 0, 7], dealer_position=[-10, 3, 0, 0])
    np.testing.assert_array_equal(chain.open_interest, [10, 4, 0, 7])
    np.testing.assert_array_equal(chain.dealer_position, [-10, 3, 0, 0])
    np.testing.assert_array_equal(chain.position_of(DEALER), [-10, 3, 0, 0])
    np.testing.assert_array_equal(chain.position_of(INITIAL_LONGS), [10, 1, 0, 7])
    np.testing.assert_array_equal(chain.position_of(INITIAL_SHORTS), [0, -4, 0, -7])


def test_open_interest_rises_on_opening_falls_on_closing_and_holds_on_transfer():
    chain = _small_chain()
    call = chain.index_of(105.0, expiry_of_day(4), True)
    chain.record_trade(call, 10, buyer="alice", seller=DEALER)  # both open
    assert chain.open_interest[call] == 10 and chain.dealer_position[call] == -10
    chain.record_trade(call, 4, buyer="bob", seller="alice")  # alice closes, bob opens
    assert chain.open_interest[call] == 10 and chain.dealer_position[call] == -10
    chain.record_trade(call, 3, buyer=DEALER, seller="bob")  # both close
    assert chain.open_interest[call] == 7 and chain.dealer_position[call] == -7
    chain.record_trade(call, 9, buyer=DEALER, seller="alice")  # alice closes 6 and opens 3 short
    assert chain.position_of("alice")[call] == -3
    assert chain.dealer_position[call] == 2
    # Longs: bob 1 + dealer 2; shorts: alice 3.
    assert chain.open_interest[call] == 3
    assert np.count_nonzero(chain.open_interest) == 1


def test_customer_to_customer_flow_creates_open_interest_without_dealer_position():
    chain = _small_chain()
    chain.record_trade(0, 50, buyer="protective_buyer", seller="overwriter")
    assert chain.open_interest[0] == 50
    assert chain.dealer_position[0] == 0


def test_several_dealers_are_summed():
    chain = _small_chain(dealers=("mm_a", "mm_b"))
    assert chain.dealers == frozenset({"mm_a", "mm_b"})
    chain.record_trade(1, 5, buyer="fund", seller="mm_a")
    chain.record_trade(1, 2, buyer="mm_b", seller="retail")
    chain.record_trade(1, 2, buyer="mm_b", seller="mm_a")
    assert chain.dealer_position[1] == -5 + 2 + 2 - 2
    np.testing.assert_array_equal(
        [chain.position_of(h)[1] for h in ("fund", "retail", "mm_a", "mm_b")], [5, -2, -7, 4]
    )
    # Longs: fund 5 + mm_b 4 (the inter-dealer trade opened on both sides).
    assert chain.open_interest[1] == 9


def test_array_trades_with_repeated_contracts():
    chain = _small_chain()
    chain.record_trade(np.array([0, 2, 0]), np.array([1, 5, 2]), buyer="c", seller=DEALER)
    np.testing.assert_array_equal(chain.open_interest, [3, 0, 5, 0])
    np.testing.assert_array_equal(chain.dealer_position, [-3, 0, -5, 0])
    chain.record_trade(np.array([0, 0]), np.array([1, 2]), buyer=DEALER, seller="c")
    np.testing.assert_array_equal(chain.open_interest, [0, 0, 5, 0])


@pytest.mark.parametrize(
    ("contract", "qty", "buyer", "seller", "match"),
    [
        (9, 1, "a", "b", "contract"),
        (1.0, 1, "a", "b", "integer"),
        (0, 0, "a", "b", "qty"),
        (0, -2, "a", "b", "qty"),
        (0, 1.5, "a", "b", "whole"),
        (0, 1, "a", "a", "differ"),
        ([0, 1], [1, 2, 3], "a", "b", "length"),
    ],
)
def test_bad_trades_are_refused_before_any_change(contract, qty, buyer, seller, match):
    chain = _small_chain()
    chain.record_trade(0, 5, buyer="a", seller=DEALER)
    before = _snapshot(chain)
    with pytest.raises(ChainError, match=match):
        chain.record_trade(contract, qty, buyer=buyer, seller=seller)
    after = _snapshot(chain)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2].keys() == after[2].keys()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(1, 20),
            st.sampled_from(["d1", "d2", "c1", "c2", "c3"]),
            st.sampled_from(["d1", "d2", "c1", "c2", "c3"]),
        ).filter(lambda t: t[2] != t[3]),
        max_size=40,
    )
)
def test_open_interest_invariants_hold_for_any_trade_sequence(trades):
    chain = _small_chain(
        open_interest=[5, 0, 3, 2], dealer_position=[-5, 0, 1, 0], dealers=("d1", "d2")
    )
    for contract, qty, buyer, seller in trades:
        chain.record_trade(contract, qty, buyer=buyer, seller=seller)
    positions = np.array([chain.position_of(h) for h in chain.holders])
    np.testing.assert_array_equal(positions.sum(axis=0), 0)
    np.testing.assert_array_equal(chain.open_interest, np.maximum(positions, 0).sum(axis=0))
    np.testing.assert_array_equal(chain.open_interest, np.maximum(-positions, 0).sum(axis=0))
    dealer_rows = [i for i, h in enumerate(chain.holders) if h in chain.dealers]
    np.testing.assert_array_equal(chain.dealer_position, positions[dealer_rows].sum(axis=0))
    assert np.all(np.abs(chain.dealer_position) <= chain.open_interest)


def test_index_of_and_unknown_contracts():
    chain = _small_chain()
    assert chain.index_of(105.0, expiry_of_day(4), False) == 3
    assert chain.index_of(95.0 * (1 + 1e-12), expiry_of_day(4), True) == 0
    with pytest.raises(ChainError, match="no listed put"):
        chain.index_of(100.0, expiry_of_day(4), False)
    with pytest.raises(ChainError, match="no listed call"):
        chain.index_of(95.0, expiry_of_day(3), True)
    with pytest.raises(ChainError, match="is_call"):
        chain.index_of(95.0, expiry_of_day(4), "C")


def test_live_time_to_expiry_and_expire():
    chain = OptionChain(
        strike=[100.0, 100.0, 110.0],
        expiry=[expiry_of_day(0), expiry_of_day(0), expiry_of_day(1)],
        is_call=[True, False, True],
    )
    chain.record_trade(np.array([0, 1, 2]), np.array([4, 6, 8]), buyer="cust", seller=DEALER)
    now = 0.5 * SECONDS_PER_DAY
    np.testing.assert_array_equal(chain.live(now), [True, True, True])
    np.testing.assert_allclose(
        chain.time_to_expiry(now),
        np.array([0.5, 0.5, 1.5]) * SECONDS_PER_DAY / SECONDS_PER_YEAR,
    )
    assert len(chain.expire(now)) == 0

    close = expiry_of_day(0)
    np.testing.assert_array_equal(chain.live(close), [False, False, True])
    expired = chain.expire(close)
    np.testing.assert_array_equal(expired.indices, [0, 1])
    np.testing.assert_array_equal(expired.is_call, [True, False])
    np.testing.assert_array_equal(expired.positions["cust"], [4, 6])
    np.testing.assert_array_equal(expired.positions[DEALER], [-4, -6])
    np.testing.assert_array_equal(chain.open_interest, [0, 0, 8])
    np.testing.assert_array_equal(chain.dealer_position, [0, 0, -8])
    np.testing.assert_array_equal(chain.expired, [True, True, False])
    np.testing.assert_array_equal(chain.time_to_expiry(0.0)[:2], [0.0, 0.0])
    assert len(chain.expire(close + 1.0)) == 0
    with pytest.raises(ChainError, match="expired"):
        chain.record_trade(0, 1, buyer="cust", seller=DEALER)
    with pytest.raises(ChainError, match="now"):
        chain.expire(np.nan)


def test_arrays_are_read_only_views():
    chain = _small_chain()
    with pytest.raises(ValueError, match="read-only"):
        chain.open_interest[0] = 5
    with pytest.raises(ValueError, match="read-only"):
        chain.strike[0] = 1.0


def test_to_frame():
    chain = _small_chain(multiplier=[100, 100, 50, 50])
    chain.record_trade(2, 7, buyer=DEALER, seller="writer")
    frame = chain.to_frame()
    assert list(frame.columns) == [
        "strike",
        "expiry",
        "expiry_day",
        "is_call",
        "multiplier",
        "open_interest",
        "dealer_position",
        "expired",
        "listed_day",
    ]
    assert len(frame) == 4
    assert frame["expiry_day"].tolist() == [4, 4, 4, 4]
    assert frame.loc[2, "open_interest"] == 7 and frame.loc[2, "dealer_position"] == 7
    assert frame["multiplier"].tolist() == [100, 100, 50, 50]


# ---------------------------------------------------------------- rolling listing


def test_expiry_schedule_lists_weeklies_a_horizon_ahead_after_the_explicit_ones():
    days, listing = expiry_schedule([0, 4, 19], cycle_days=5, horizon_days=20, last_day=19)
    assert days == [0, 4, 19, 24, 29, 34, 39]
    assert listing == [0, 0, 0, 4, 9, 14, 19]
    # a one-day run, or no cycle: only the explicit expiries
    assert expiry_schedule([0, 4, 19], 5, 20, last_day=0) == ([0, 4, 19], [0, 0, 0])
    assert expiry_schedule([19, 0, 4], 0, 20, last_day=60) == ([0, 4, 19], [0, 0, 0])
    # the rolling days follow the cycle after the last explicit day, whatever it is
    assert expiry_schedule([2], 5, 10, last_day=3)[0] == [2, 4, 9]  # up to day 3 + 10


@pytest.mark.parametrize(("cycle", "horizon"), [(5, 20), (5, 5), (10, 25), (1, 3)])
def test_expiry_schedule_always_has_expiries_within_the_horizon(cycle, horizon):
    days, listing = expiry_schedule([0, 4, 19], cycle, horizon, last_day=80)
    days_arr, listing_arr = np.array(days), np.array(listing)
    for today in range(81):
        live = (listing_arr <= today) & (days_arr >= today)
        assert live.any()
        if today > 19:  # past the explicit expiries: always horizon / cycle of them
            assert live.sum() >= horizon // cycle
        # nothing is listed more than the horizon ahead once the explicit expiries are gone
        assert np.all(days_arr[live & (days_arr > 19)] - today <= horizon)
    assert np.all(np.diff(days_arr) > 0)


def test_expiry_schedule_validation():
    with pytest.raises(ChainError, match="expiry_days"):
        expiry_schedule([], 5, 20, 3)
    with pytest.raises(ChainError, match="cycle_days"):
        expiry_schedule([0], -1, 20, 3)


def test_covering_strikes_widen_with_time_and_vol():
    assert covering_strikes_pct(10.0, 0.2, 0.0, 3.0, 252.0) == 10.0
    one_year = covering_strikes_pct(10.0, 0.2, 252.0, 3.0, 252.0)
    assert one_year == pytest.approx(70.0)
    assert covering_strikes_pct(10.0, 0.2, 63.0, 3.0, 252.0) == pytest.approx(40.0)
    assert covering_strikes_pct(10.0, 0.2, 63.0, 0.0, 252.0) == 10.0
    with pytest.raises(ChainError, match="vol"):
        covering_strikes_pct(10.0, -0.1, 5.0, 3.0, 252.0)


def test_listed_takes_a_strike_range_and_a_listing_day_per_expiry():
    chain = OptionChain.listed(
        100.0, strikes_pct=[2.0, 5.0], expiry_days=(0, 9), strike_step=1.0, listing_days=(0, 3)
    )
    near = chain.expiry == expiry_of_day(0)
    far = chain.expiry == expiry_of_day(9)
    np.testing.assert_array_equal(np.unique(chain.strike[near]), np.arange(98.0, 103.0))
    np.testing.assert_array_equal(np.unique(chain.strike[far]), np.arange(95.0, 106.0))
    assert np.all(chain.is_listed[near]) and not np.any(chain.is_listed[far])
    np.testing.assert_array_equal(chain.listed_at[far], 3 * SECONDS_PER_DAY)
    assert chain.to_frame()["listed_day"].tolist() == [0] * near.sum() + [3] * far.sum()


def test_a_contract_trades_only_once_listed():
    chain = OptionChain.listed(
        100.0, strikes_pct=2.0, expiry_days=(0, 9), strike_step=1.0, listing_days=(0, 3)
    )
    far = int(np.flatnonzero(chain.expiry == expiry_of_day(9))[0])
    assert not chain.live(0.0)[far] and chain.live(0.0)[0]
    with pytest.raises(ChainError, match="not listed yet"):
        chain.record_trade(far, 5, buyer="a", seller=DEALER)
    assert chain.open_listings(2 * SECONDS_PER_DAY).size == 0
    new = chain.open_listings(3 * SECONDS_PER_DAY)
    np.testing.assert_array_equal(new, np.flatnonzero(chain.expiry == expiry_of_day(9)))
    assert chain.open_listings(3 * SECONDS_PER_DAY).size == 0  # once only
    assert chain.live(3 * SECONDS_PER_DAY)[far]
    chain.record_trade(far, 5, buyer="a", seller=DEALER)
    assert chain.open_interest[far] == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strikes_pct": [1.0, 2.0, 3.0]}, "strikes_pct"),
        ({"strikes_pct": [1.0, 100.0]}, "strikes_pct"),
        ({"listing_days": (0, 10)}, "listing_days"),
        ({"listing_days": (0, -1)}, "listing_days"),
        ({"listing_days": (0,)}, "listing_days"),
    ],
)
def test_listed_per_expiry_validation(kwargs, match):
    args = {"spot": 100.0, "expiry_days": (0, 9), "strike_step": 1.0}
    args.update(kwargs)
    with pytest.raises(ChainError, match=match):
        OptionChain.listed(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"listed_at": [0.0, SECONDS_PER_DAY]}, "listed_at"),
        ({"listed_at": [-1.0, 0.0]}, "listed_at"),
        ({"listed_at": [0.0, 100.0], "open_interest": [0, 3]}, "open_interest"),
    ],
)
def test_listed_at_validation(kwargs, match):
    args = {"strike": [100.0, 100.0], "expiry": expiry_of_day(0), "is_call": [True, False]}
    args.update(kwargs)
    with pytest.raises(ChainError, match=match):
        OptionChain(**args)
