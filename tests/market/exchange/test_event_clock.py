"""The event counter: numbers 1, 2, 3, ... shared by every caller, never repeated."""

from __future__ import annotations

import pytest

from market.exchange.event_clock import EventClock


def test_numbers_start_at_one_and_count_up():
    clock = EventClock()
    assert clock.last == 0
    assert [clock.next() for _ in range(3)] == [1, 2, 3]
    assert clock.last == 3


def test_stamp_pairs_time_with_the_next_number():
    clock = EventClock()
    clock.next()
    assert clock.stamp(12.5) == (12.5, 2)
    assert clock.last == 2
    assert clock.next() == 3


def test_one_clock_shared_by_two_users_interleaves_without_repeats():
    shared = EventClock()
    taken = []
    for i in range(10):
        user = shared.next if i % 3 else (lambda: shared.stamp(0.0)[1])
        taken.append(user())
    assert taken == list(range(1, 11))


def test_start_continues_a_recorded_sequence():
    clock = EventClock(start=41)
    assert clock.last == 41
    assert clock.next() == 42
    assert repr(clock) == "EventClock(last=42)"


@pytest.mark.parametrize("start", [-1, 1.5, True, "3", None])
def test_bad_start_is_refused(start):
    with pytest.raises(ValueError, match="start must be an integer >= 0"):
        EventClock(start)
