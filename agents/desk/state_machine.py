"""The desk's execution state machine, built from the ``desk.hpi`` settings.

The CALM / PRESSURED / DISLOCATED / SAFE machine itself lives in :mod:`market.execution.states`;
this module turns the desk's configuration (levels, dwell, overrides, per-state playbook) into
one. The configuration builds a machine when it is checked, so a bad ordering of levels or an
overlap of overrides fails before any simulation work, and the HPI policy builds the one it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from market.execution.states import (
    ExecState,
    ExecutionStateMachine,
    StatePolicy,
    StateThresholds,
    default_policies,
)

#: execution states above CALM, in the order of the threshold lists of ``desk.hpi``
HPI_STATES: tuple[str, ...] = ("pressured", "dislocated", "safe")


class ManualWindow(Protocol):
    """A forced state over clock seconds ``[start, end)`` (``desk.hpi.overrides``)."""

    state: str
    start: float
    end: float
    note: str


class MachineSettings(Protocol):
    """What the machine is built from (the fields of ``desk.hpi``)."""

    upgrade: Sequence[float]
    downgrade: Sequence[float]
    hysteresis: bool
    k_up: int
    min_dwell_down_s: float
    overrides: Sequence[ManualWindow]
    state_policies: Mapping[str, Mapping[str, Any]]


def _thresholds(
    cfg: MachineSettings,
    tail_upgrade_bps: Sequence[float] | None,
    tail_downgrade_bps: Sequence[float] | None,
) -> dict[str, StateThresholds]:
    tails = tail_upgrade_bps is not None or tail_downgrade_bps is not None
    if tails and any(
        t is None or len(t) != len(HPI_STATES) for t in (tail_upgrade_bps, tail_downgrade_bps)
    ):
        raise ValueError(
            f"tail_upgrade_bps and tail_downgrade_bps must each list "
            f"{len(HPI_STATES)} levels ({', '.join(HPI_STATES)}), got "
            f"{tail_upgrade_bps!r} and {tail_downgrade_bps!r}"
        )
    none: list[float | None] = [None] * len(HPI_STATES)
    up = [float(x) for x in tail_upgrade_bps] if tail_upgrade_bps is not None else none
    down = [float(x) for x in tail_downgrade_bps] if tail_downgrade_bps is not None else none
    return {
        name: StateThresholds(
            upgrade=float(cfg.upgrade[i]),
            downgrade=float(cfg.downgrade[i]),
            tail_upgrade_bps=up[i],
            tail_downgrade_bps=down[i],
        )
        for i, name in enumerate(HPI_STATES)
    }


def _playbook(cfg: MachineSettings) -> dict[ExecState, StatePolicy]:
    """The default per-state policies with ``desk.hpi.state_policies`` applied."""
    policies = default_policies()
    for name, changes in cfg.state_policies.items():
        if name not in {s.value for s in ExecState}:
            raise ValueError(
                f"desk.hpi.state_policies has unknown state {name!r}; allowed: "
                f"{[s.value for s in ExecState]}"
            )
        unknown = set(changes) - set(StatePolicy.__dataclass_fields__)
        if unknown:
            allowed = sorted(StatePolicy.__dataclass_fields__)
            raise ValueError(
                f"desk.hpi.state_policies.{name} has unknown fields "
                f"{sorted(unknown)}; allowed: {allowed}"
            )
        state = ExecState(name)
        try:
            policies[state] = replace(policies[state], **dict(changes))
        except ValueError as exc:
            raise ValueError(f"desk.hpi.state_policies.{name}: {exc}") from exc
    return policies


def build_state_machine(
    cfg: MachineSettings,
    tail_upgrade_bps: Sequence[float] | None = None,
    tail_downgrade_bps: Sequence[float] | None = None,
) -> ExecutionStateMachine:
    """The state machine of ``desk.hpi`` (levels, dwell, overrides, playbook), optionally with
    p95 tail-cost levels (bps, three each: PRESSURED, DISLOCATED, SAFE; see
    :meth:`agents.desk.hpi_policy.HPIPolicy.attach_tail_forecaster`).

    Raises ValueError naming the field when the levels are not ordered or overrides overlap.
    """
    thresholds = _thresholds(cfg, tail_upgrade_bps, tail_downgrade_bps)
    policies = _playbook(cfg)
    try:
        machine = ExecutionStateMachine(
            thresholds,
            min_dwell_down=float(cfg.min_dwell_down_s),
            k_up=int(cfg.k_up),
            hysteresis=bool(cfg.hysteresis),
            policies=policies,
        )
        for w in cfg.overrides:
            machine.force(w.state, float(w.start), float(w.end), w.note)
    except ValueError as exc:
        raise ValueError(f"desk.hpi: {exc}") from exc
    return machine
