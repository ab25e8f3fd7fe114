"""The packages customers build around a picked contract: a vertical to the next strike out, a
straddle with the twin of the other type, none when the second leg is not live."""

from __future__ import annotations

import numpy as np
import pytest

from agents.customer_spreads import next_strike_out, package_legs, straddle_twin

# rows: calls 90, 100, 110 and puts 90, 100, 110 of one expiry; a call 120 of a later one
STRIKE = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0, 120.0])
EXPIRY = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0])
CALL = np.array([True, True, True, False, False, False, True])
LIVE = np.ones(7, dtype=bool)


def test_a_vertical_sells_the_next_strike_further_out() -> None:
    assert package_legs(1, False, STRIKE, EXPIRY, CALL, LIVE) == ((1, 1), (2, -1))  # call: up
    assert package_legs(4, False, STRIKE, EXPIRY, CALL, LIVE) == ((4, 1), (3, -1))  # put: down
    # the last strike of its expiry has none further out (the later expiry does not count)
    assert next_strike_out(2, STRIKE, EXPIRY, CALL, LIVE) is None
    assert package_legs(3, False, STRIKE, EXPIRY, CALL, LIVE) is None
    # a strike not live is skipped
    live = LIVE.copy()
    live[2] = False
    assert next_strike_out(1, STRIKE, EXPIRY, CALL, live) is None


def test_a_straddle_pairs_the_other_type_at_the_same_strike() -> None:
    assert package_legs(1, True, STRIKE, EXPIRY, CALL, LIVE) == ((1, 1), (4, 1))
    assert straddle_twin(5, STRIKE, EXPIRY, CALL, LIVE) == 2
    assert straddle_twin(6, STRIKE, EXPIRY, CALL, LIVE) is None


def test_a_contract_outside_the_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="contract"):
        package_legs(7, False, STRIKE, EXPIRY, CALL, LIVE)
