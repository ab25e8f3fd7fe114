"""The packages customers build around a picked contract: a vertical to the next strike out, a
straddle with the twin of the other type, a calendar to the next expiry, a diagonal to the next
strike out there, none when the second leg is not live."""

from __future__ import annotations

import numpy as np
import pytest

from agents.customer_spreads import (
    ChainRows,
    next_expiry,
    next_strike_out,
    package_kind,
    package_legs,
    straddle_twin,
)

# rows: calls 90, 100, 110 and puts 90, 100, 110 of one expiry; a call 120 of a later one; calls
# 100 and 110 of a later one still, and a call 100 of the latest
STRIKE = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0, 120.0, 100.0, 110.0, 100.0])
EXPIRY = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
CALL = np.array([True, True, True, False, False, False, True, True, True, True])
LIVE = np.ones(10, dtype=bool)


def test_a_vertical_sells_the_next_strike_further_out() -> None:
    assert package_legs(1, "vertical", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == (
        (1, 1),
        (2, -1),
    )  # call: up
    assert package_legs(4, "vertical", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == (
        (4, 1),
        (3, -1),
    )  # put: down
    # the last strike of its expiry has none further out (the later expiry does not count)
    assert next_strike_out(2, ChainRows(STRIKE, EXPIRY, CALL, LIVE)) is None
    assert package_legs(3, "vertical", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) is None
    # a strike not live is skipped
    live = LIVE.copy()
    live[2] = False
    assert next_strike_out(1, ChainRows(STRIKE, EXPIRY, CALL, live)) is None


def test_a_straddle_pairs_the_other_type_at_the_same_strike() -> None:
    assert package_legs(1, "straddle", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == ((1, 1), (4, 1))
    assert straddle_twin(5, ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == 2
    assert straddle_twin(6, ChainRows(STRIKE, EXPIRY, CALL, LIVE)) is None


def test_a_contract_outside_the_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="contract"):
        package_legs(10, "vertical", ChainRows(STRIKE, EXPIRY, CALL, LIVE))
    with pytest.raises(ValueError, match="kind must be one of"):
        package_legs(1, "condor", ChainRows(STRIKE, EXPIRY, CALL, LIVE))


def test_a_calendar_sells_the_same_strike_at_the_nearest_later_expiry() -> None:
    assert package_legs(1, "calendar", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == ((1, 1), (7, -1))
    assert next_expiry(7, ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == 9
    assert next_expiry(4, ChainRows(STRIKE, EXPIRY, CALL, LIVE)) is None  # no later put at 100
    live = LIVE.copy()
    live[7] = False  # a later expiry not live is skipped
    assert package_legs(1, "calendar", ChainRows(STRIKE, EXPIRY, CALL, live)) == ((1, 1), (9, -1))


def test_a_diagonal_sells_the_next_strike_out_at_the_next_expiry() -> None:
    assert package_legs(1, "diagonal", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) == ((1, 1), (8, -1))
    # no strike further out at the next expiry: no package
    assert package_legs(7, "diagonal", ChainRows(STRIKE, EXPIRY, CALL, LIVE)) is None


def test_the_kind_is_drawn_by_cumulative_shares() -> None:
    kinds = [package_kind(u, 0.25, 0.25, 0.25) for u in (0.0, 0.24, 0.25, 0.49, 0.5, 0.74, 0.75)]
    assert kinds == [
        "straddle",
        "straddle",
        "calendar",
        "calendar",
        "diagonal",
        "diagonal",
        "vertical",
    ]
    assert package_kind(0.0, 0.0, 0.0, 0.0) == "vertical"
