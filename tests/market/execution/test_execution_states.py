"""Tests of the CALM / PRESSURED / DISLOCATED / SAFE state machine and the canary gates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from market.execution.states import (
    CanaryGate,
    ExecState,
    ExecutionStateMachine,
    StatePolicy,
    StateThresholds,
    default_policies,
    default_thresholds,
)

calm, pressured, dislocated, safe = (
    ExecState.calm,
    ExecState.pressured,
    ExecState.dislocated,
    ExecState.safe,
)


def _thresholds(**tails) -> dict:
    return {
        "pressured": StateThresholds(1.0, 0.5, *tails.get("pressured", (None, None))),
        "dislocated": StateThresholds(2.0, 1.5, *tails.get("dislocated", (None, None))),
        "safe": StateThresholds(3.0, 2.5, *tails.get("safe", (None, None))),
    }


def _flips(states) -> int:
    return int(sum(a is not b for a, b in itertools.pairwise(states)))


# ---------------------------------------------------------------- states and policies


def test_states_are_ordered_lower_case_values():
    assert [s.value for s in ExecState] == ["calm", "pressured", "dislocated", "safe"]
    assert [s.level for s in ExecState] == [0, 1, 2, 3]
    assert ExecState("safe") is safe


def test_default_policies_follow_the_playbook():
    p = default_policies()
    assert p[calm] == StatePolicy()
    # CALM is the plain schedule: full dwell, no queue-loss limit, nothing scaled
    assert p[calm].passive_dwell_scale == 1.0 and p[calm].queue_loss_threshold is None
    assert p[pressured].passive_dwell_scale == pytest.approx(1 / 3)
    assert p[dislocated].passive_dwell_scale == pytest.approx(1 / 6)
    assert p[safe].passive_dwell_scale == 1.0  # strict residual: passive first
    assert p[pressured].queue_loss_threshold == 0.25
    assert p[dislocated].slice_cap < 1.0
    assert p[dislocated].horizon_stretch > 1.0
    assert p[dislocated].venue_quality_gating and not p[calm].venue_quality_gating
    assert not p[safe].allow_risk_increasing and p[safe].strict_residual
    assert all(p[s].allow_risk_increasing for s in (calm, pressured, dislocated))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"slice_cap": 0.0}, "slice_cap"),
        ({"participation_multiplier": 1.5}, "participation_multiplier"),
        ({"passive_dwell_scale": -1.0}, r"passive_dwell_scale must be in \[0.0, 100.0\]"),
        ({"passive_dwell_scale": 101.0}, "passive_dwell_scale"),
        ({"queue_loss_threshold": 0.0}, r"queue_loss_threshold must be in \(0.0, 1.0\]"),
        ({"horizon_stretch": 0.5}, "horizon_stretch"),
        ({"horizon_stretch": 1e3}, "horizon_stretch"),
        ({"allow_risk_increasing": 1}, "allow_risk_increasing"),
    ],
)
def test_policy_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        StatePolicy(**kwargs)


def test_policy_property_follows_the_state_and_custom_policies_apply():
    custom = StatePolicy(slice_cap=0.1, allow_risk_increasing=False)
    machine = ExecutionStateMachine(_thresholds(), policies={"pressured": custom})
    assert machine.policy == default_policies()[calm]
    machine.step(0.0, 1.2)
    assert machine.policy is custom


# ---------------------------------------------------------------- hysteresis


def test_hysteresis_suppresses_flip_flop_on_noise_around_a_threshold():
    rng = np.random.default_rng(7)
    n = 3000
    x = np.empty(n)
    x[0] = 1.0
    for i in range(1, n):  # AR(1) centred on the pressured upgrade threshold
        x[i] = 1.0 + 0.7 * (x[i - 1] - 1.0) + rng.normal(0.0, 0.3)
    times = np.arange(n, dtype=float)
    with_h = ExecutionStateMachine(_thresholds(), min_dwell_down=30.0).run(times, x)
    without = ExecutionStateMachine(_thresholds(), hysteresis=False).run(times, x)
    flips_with, flips_without = _flips(list(with_h)), _flips(list(without))
    assert flips_without > 200
    assert flips_with < 0.2 * flips_without


def test_fast_upgrade_on_a_spike_can_skip_states():
    machine = ExecutionStateMachine(_thresholds())
    assert machine.step(0.0, 0.0) is calm
    assert machine.step(1.0, 3.5) is safe
    log = machine.transitions_frame()
    assert list(log[["from_state", "to_state", "reason", "trigger"]].iloc[0]) == [
        "calm",
        "safe",
        "upgrade",
        "hpi",
    ]
    assert log["hpi"].iloc[0] == 3.5
    assert log["time"].iloc[0] == 1.0


def test_transitions_are_logged_with_the_inputs_that_caused_them():
    machine = ExecutionStateMachine(_thresholds(), min_dwell_down=0.0)
    machine.step(0.0, 0.2, inputs={"z_a": 0.1, "z_b": 0.1})
    machine.step(1.0, 2.4, inputs={"z_a": 2.0, "z_b": 0.4})  # upgrade to DISLOCATED
    machine.step(2.0, 1.0, inputs={"z_a": 0.6, "z_b": 0.4})  # downgrade to PRESSURED
    log = machine.transitions_frame()
    assert list(log["to_state"]) == ["dislocated", "pressured"]
    # each row carries the inputs of its own step, not the latest ones
    assert list(log["z_a"]) == [2.0, 0.6] and list(log["z_b"]) == [0.4, 0.4]
    assert machine.transitions[0].inputs == {"z_a": 2.0, "z_b": 0.4}
    # array replay logs the same; a transition without inputs leaves NaN
    replay = ExecutionStateMachine(_thresholds(), min_dwell_down=0.0)
    replay.run(
        [0.0, 1.0, 2.0], [0.2, 2.4, 1.0], inputs={"z_a": [0.1, 2.0, 0.6], "z_b": [0.1, 0.4, 0.4]}
    )
    assert replay.transitions_frame().equals(log)
    replay.step(3.0, 5.0)
    assert math.isnan(replay.transitions_frame()["z_a"].iloc[-1])
    with pytest.raises(ValueError, match="clashes"):
        ExecutionStateMachine(_thresholds()).step(0.0, 9.0, inputs={"hpi": 1.0})
    with pytest.raises(ValueError, match=r"inputs\['z_a'\]"):
        ExecutionStateMachine(_thresholds()).run([0.0, 1.0], [0.0, 0.0], inputs={"z_a": [1.0]})


def test_k_up_requires_a_persistent_breach():
    machine = ExecutionStateMachine(_thresholds(), k_up=3)
    states = [machine.step(float(t), h) for t, h in enumerate([2.2, 2.2, 0.0, 2.2, 2.2, 2.2])]
    assert states == [calm, calm, calm, calm, calm, dislocated]


def test_downgrade_is_slow_and_one_state_at_a_time():
    machine = ExecutionStateMachine(_thresholds(), min_dwell_down=60.0)
    machine.step(0.0, 3.5)
    states = {t: machine.step(float(t), 0.0) for t in range(1, 200)}
    assert states[60] is safe  # stabilisation began at t=1, so 59 s so far
    assert states[61] is dislocated
    assert states[120] is dislocated
    assert states[121] is pressured
    assert states[181] is calm
    reasons = machine.transitions_frame()["reason"].tolist()
    assert reasons == ["upgrade", "downgrade", "downgrade", "downgrade"]


def test_downgrade_timer_restarts_when_stabilisation_is_interrupted():
    machine = ExecutionStateMachine(_thresholds(), min_dwell_down=10.0)
    machine.step(0.0, 1.2)
    for t in range(1, 9):
        machine.step(float(t), 0.0)
    machine.step(9.0, 0.8)  # back inside the band: not stable, not an upgrade
    for t in range(10, 19):
        assert machine.step(float(t), 0.0) is pressured
    assert machine.step(20.0, 0.0) is calm


def test_per_state_dwell_times():
    machine = ExecutionStateMachine(
        _thresholds(), min_dwell_down={"pressured": 5.0, "dislocated": 50.0, "safe": 50.0}
    )
    machine.step(0.0, 1.2)
    machine.step(1.0, 0.0)
    assert machine.step(6.0, 0.0) is calm


def test_tail_forecast_alone_can_upgrade_and_holds_the_downgrade():
    th = _thresholds(pressured=(10.0, 6.0), dislocated=(20.0, 12.0), safe=(40.0, 30.0))
    machine = ExecutionStateMachine(th, min_dwell_down=5.0)
    assert machine.step(0.0, 0.0, 25.0) is dislocated
    assert machine.transitions[-1].trigger == "tail"
    assert machine.transitions[-1].tail_p95_bps == 25.0
    # HPI is calm but the tail forecast stays above dislocated's tail downgrade level.
    for t in range(1, 30):
        assert machine.step(float(t), 0.0, 15.0) is dislocated
    machine.step(30.0, 0.0, 5.0)
    assert machine.step(35.0, 0.0, 5.0) is pressured
    # Without a forecast, HPI alone decides; the log records the missing forecast as NaN.
    hpi_only = ExecutionStateMachine(th)
    assert hpi_only.step(0.0, 0.5) is calm
    assert hpi_only.step(1.0, 1.2) is pressured
    assert math.isnan(hpi_only.transitions[-1].tail_p95_bps)


def test_no_hysteresis_mode_follows_the_threshold_each_step():
    machine = ExecutionStateMachine(_thresholds(), hysteresis=False)
    states = machine.run([0, 1, 2, 3], [1.1, 0.9, 2.5, 0.0])
    assert list(states) == [pressured, calm, dislocated, calm]
    assert set(machine.transitions_frame()["reason"]) == {"threshold"}


# ---------------------------------------------------------------- override


def test_manual_override_is_respected_and_logged():
    machine = ExecutionStateMachine(_thresholds(), min_dwell_down=10.0)
    machine.force("safe", 10.0, 20.0, note="CPI print")
    states = {t: machine.step(float(t), 0.0 if t < 15 else 5.0) for t in range(40)}
    assert states[9] is calm
    assert all(states[t] is safe for t in range(10, 20))
    log = machine.transitions_frame()
    start = log[log["reason"] == "override_start"].iloc[0]
    end = log[log["reason"] == "override_end"].iloc[0]
    assert (start["time"], start["to_state"], start["note"]) == (10.0, "safe", "CPI print")
    assert end["time"] == 20.0
    # After the window the machine continues from the forced state under its own rules.
    assert states[20] is safe


def test_override_to_calm_suppresses_an_upgrade_only_inside_the_window():
    machine = ExecutionStateMachine(_thresholds())
    machine.force(calm, 0.0, 5.0)
    assert machine.step(1.0, 4.0) is calm
    assert machine.step(5.0, 4.0) is safe


def test_override_validation():
    machine = ExecutionStateMachine(_thresholds())
    machine.force("dislocated", 0.0, 10.0)
    with pytest.raises(ValueError, match="overlaps"):
        machine.force("safe", 5.0, 15.0)
    with pytest.raises(ValueError, match="end"):
        machine.force("safe", 20.0, 20.0)
    with pytest.raises(ValueError, match="state must be one of"):
        machine.force("panic", 30.0, 40.0)


# ---------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        (
            {**_thresholds(), "pressured": StateThresholds(1.0, 1.0)},
            r"thresholds\.pressured\.downgrade",
        ),
        (
            {**_thresholds(), "dislocated": StateThresholds(0.9, 0.6)},
            r"thresholds\.dislocated\.upgrade",
        ),
        ({**_thresholds(), "safe": StateThresholds(3.0, 1.0)}, r"thresholds\.safe\.downgrade"),
        (
            {**_thresholds(), "safe": StateThresholds(3.0, 2.5, 10.0, None)},
            r"thresholds\.safe\.tail_upgrade_bps",
        ),
        (
            {**_thresholds(), "safe": StateThresholds(3.0, 2.5, 10.0, 12.0)},
            r"thresholds\.safe\.tail_downgrade_bps",
        ),
        (
            {"pressured": StateThresholds(1.0, 0.5), "dislocated": StateThresholds(2.0, 1.5)},
            "missing",
        ),
        ({**_thresholds(), "calm": StateThresholds(0.5, 0.1)}, r"thresholds\.calm"),
        ({**_thresholds(), "panic": StateThresholds(9.0, 8.0)}, "unknown state"),
        (
            {**_thresholds(), "safe": {"upgrade": 3.0, "downgrade": float("nan")}},
            r"thresholds\.safe\.downgrade",
        ),
    ],
)
def test_inconsistent_thresholds_are_refused_naming_the_field(thresholds, field):
    with pytest.raises(ValueError, match=field):
        ExecutionStateMachine(thresholds)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k_up": 0}, "k_up"),
        ({"min_dwell_down": -1.0}, "min_dwell_down"),
        ({"min_dwell_down": {"pressured": 1.0}}, "min_dwell_down"),
        ({"hysteresis": "yes"}, "hysteresis"),
        ({"initial_state": "panic"}, "initial_state"),
        ({"policies": {"panic": StatePolicy()}}, "policies"),
    ],
)
def test_bad_machine_settings_are_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ExecutionStateMachine(_thresholds(), **kwargs)


def test_bad_steps_are_refused_without_changing_state():
    machine = ExecutionStateMachine(default_thresholds())
    machine.step(10.0, 0.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        machine.step(5.0, 9.0)
    with pytest.raises(ValueError, match="hpi"):
        machine.step(11.0, float("nan"))
    with pytest.raises(ValueError, match="finite"):
        machine.run([12.0, 13.0], [9.0, float("inf")])
    assert machine.state is calm
    assert machine.transitions == []


def test_occupancy_counts_time_in_each_state():
    machine = ExecutionStateMachine(_thresholds(), min_dwell_down=100.0)
    machine.run([0.0, 10.0, 30.0], [0.0, 1.5, 1.5])
    occ = machine.occupancy_seconds()
    assert occ["calm"] == 10.0
    assert occ["pressured"] == 20.0
    assert occ["safe"] == 0.0


# ---------------------------------------------------------------- canary gates


def _window(rng, n=200, p95_shift=0.0, completion=0.95, queue_loss=0.1):
    slippage = rng.normal(5.0, 3.0, n) + p95_shift
    return (
        slippage,
        np.clip(rng.normal(completion, 0.02, n), 0, 1),
        np.clip(rng.normal(queue_loss, 0.02, n), 0, 1),
    )


def test_canary_passes_when_nothing_degrades():
    rng = np.random.default_rng(0)
    gate = CanaryGate(p95_limit_bps=15.0, completion_drop=0.05, queue_loss_jump=0.1)
    slip, comp, ql = _window(rng)
    _, ctrl_comp, ctrl_ql = _window(rng)
    decision = gate.evaluate(slip, comp, ql, ctrl_comp, ctrl_ql)
    assert decision.sufficient and not decision.rollback and decision.tripped == ()


@pytest.mark.parametrize(
    ("kwargs", "gate_name"),
    [
        ({"p95_shift": 10.0}, "p95"),
        ({"completion": 0.80}, "completion"),
        ({"queue_loss": 0.30}, "queue_loss"),
    ],
)
def test_each_canary_gate_trips_on_its_own(kwargs, gate_name):
    rng = np.random.default_rng(1)
    gate = CanaryGate(p95_limit_bps=15.0, completion_drop=0.05, queue_loss_jump=0.1)
    slip, comp, ql = _window(rng, **kwargs)
    _, ctrl_comp, ctrl_ql = _window(rng)
    decision = gate.evaluate(slip, comp, ql, ctrl_comp, ctrl_ql)
    assert decision.rollback
    assert decision.tripped == (gate_name,)


def test_canary_needs_enough_samples_and_valid_rates():
    rng = np.random.default_rng(2)
    gate = CanaryGate(p95_limit_bps=1.0, min_samples=50)
    slip, comp, ql = _window(rng, n=20)
    decision = gate.evaluate(slip, comp, ql, comp, ql)
    assert not decision.sufficient and not decision.rollback
    assert decision.metrics["canary_p95_bps"] > 1.0
    with pytest.raises(ValueError, match="canary_completion"):
        gate.evaluate(slip, comp + 2.0, ql, comp, ql)
    with pytest.raises(ValueError, match="completion_drop"):
        CanaryGate(p95_limit_bps=10.0, completion_drop=1.5)
