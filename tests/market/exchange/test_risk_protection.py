"""The quote risk monitor: rolling counts per owner, curtailment past a limit, the cooldown."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.exchange.risk_protection import QuoteRiskMonitor


def monitor(**kw: float) -> QuoteRiskMonitor:
    args = {
        "window_seconds": 10.0,
        "max_contracts": 100.0,
        "max_delta": math.inf,
        "max_vega": math.inf,
        "cooldown_seconds": 30.0,
    }
    args.update(kw)
    return QuoteRiskMonitor(**args)


def test_counts_within_the_window_and_forgets_older_executions() -> None:
    m = monitor()
    assert not m.record(1, 0.0, 40, 100.0, 5.0)
    assert not m.record(1, 5.0, 40, 50.0, 1.0)
    assert m.in_window(1, 5.0) == (80, 150.0, 6.0)
    assert m.in_window(1, 10.0) == (40, 50.0, 1.0)  # the first left the window at 10 s
    assert not m.record(1, 12.0, 59, 0.0, 0.0)  # 40 + 59 = 99 <= 100
    assert m.in_window(2, 12.0) == (0, 0.0, 0.0)  # owners are counted apart


def test_curtails_past_each_limit_for_the_cooldown_and_logs_it() -> None:
    for kw, fills, reason in (
        ({}, [(60, 0.0, 0.0), (41, 0.0, 0.0)], "contracts"),
        ({"max_delta": 1000.0}, [(1, 600.0, 0.0), (1, 401.0, 0.0)], "delta"),
        ({"max_vega": 50.0}, [(1, 0.0, 30.0), (1, 0.0, 21.0)], "vega"),
    ):
        m = monitor(**kw)
        assert not m.record(7, 1.0, *fills[0])
        assert m.record(7, 2.0, *fills[1])
        assert m.curtailed(7, 2.0) and m.curtailed(7, 31.9) and not m.curtailed(7, 32.0)
        assert not m.curtailed(8, 2.0)
        assert m.curtailments == {7: 1}
        (event,) = m.events
        assert (event.time, event.owner, event.reason, event.until) == (2.0, 7, reason, 32.0)
        assert m.in_window(7, 2.0) == (0, 0.0, 0.0)  # it starts afresh


def test_a_breach_while_curtailed_is_not_a_second_curtailment() -> None:
    m = monitor(cooldown_seconds=100.0)
    assert m.record(1, 0.0, 101, 0.0, 0.0)
    assert not m.record(1, 1.0, 101, 0.0, 0.0)
    assert m.curtailments == {1: 1}
    assert m.record(1, 100.0, 101, 0.0, 0.0)
    assert m.curtailments == {1: 2}


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"window_seconds": 0.0}, "window_seconds"),
        ({"max_contracts": -1.0}, "max_contracts"),
        ({"max_delta": float("nan")}, "max_delta"),
        ({"max_vega": True}, "max_vega"),
        ({"cooldown_seconds": -1.0}, "cooldown_seconds"),
        ({"cooldown_seconds": math.inf}, "cooldown_seconds"),
    ],
)
def test_bad_settings_raise_naming_the_argument(kw: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        monitor(**kw)


def test_bad_executions_raise_before_anything_is_counted() -> None:
    m = monitor()
    m.record(1, 5.0, 1, 0.0, 0.0)
    for args, name in (
        ((1, 6.0, 0, 0.0, 0.0), "contracts"),
        ((1, 6.0, 1.5, 0.0, 0.0), "contracts"),
        ((1, 6.0, 1, -1.0, 0.0), "magnitudes"),
        ((1, 6.0, 1, 0.0, float("inf")), "vega"),
        ((1, 4.0, 1, 0.0, 0.0), "before"),
    ):
        with pytest.raises(ValueError, match=name):
            m.record(*args)  # type: ignore[arg-type]
    assert m.in_window(1, 5.0) == (1, 0.0, 0.0)


@given(
    st.lists(
        st.tuples(st.floats(0.0, 5.0), st.integers(1, 30), st.floats(0.0, 100.0)),
        max_size=40,
    )
)
def test_curtails_exactly_when_the_window_sum_passes_the_limit(
    fills: list[tuple[float, int, float]],
) -> None:
    m = monitor(max_contracts=50.0, max_delta=300.0, cooldown_seconds=0.0)
    now = 0.0
    history: list[tuple[float, int, float]] = []
    for gap, qty, delta in fills:
        now += gap
        history.append((now, qty, delta))
        window = [h for h in history if h[0] > now - 10.0]
        expected = sum(h[1] for h in window) > 50 or sum(h[2] for h in window) > 300.0
        assert m.record(3, now, qty, delta, 0.0) == expected
        if expected:
            history.clear()
