"""The execution desk's state machine: CALM / PRESSURED / DISLOCATED / SAFE with hysteresis.

The Hedge Pressure Index (:mod:`market.execution.hpi`, + = pressure against the desk) and,
optionally, a forecast of the 95th-percentile slippage (bps of the arrival mid, + = cost) drive four
states, each with its own execution policy. Upgrades (towards SAFE) happen fast, on a breach of a
higher state's upgrade threshold; downgrades happen one state at a time and only after the inputs
have stayed below the current state's (lower) downgrade threshold for a sustained time, so a noisy
index does not make the policy flip-flop (which would itself create cost). Times are
simulation-clock seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from market.validation import check_range


class ExecState(Enum):
    """Execution states in increasing order of caution (lower-case names, as config values)."""

    calm = "calm"
    pressured = "pressured"
    dislocated = "dislocated"
    safe = "safe"

    @property
    def level(self) -> int:
        """0 for calm ... 3 for safe."""
        return _ORDER.index(self)


_ORDER: tuple[ExecState, ...] = (
    ExecState.calm,
    ExecState.pressured,
    ExecState.dislocated,
    ExecState.safe,
)


def _state(name: str, key: object) -> ExecState:
    if isinstance(key, ExecState):
        return key
    try:
        return ExecState(key)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be one of {[s.value for s in ExecState]}, got {key!r}"
        ) from exc


def _check(
    name: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
) -> float:
    """``value`` as a float, a number in the range (else a ValueError naming ``name``)."""
    check_range(name, value, lo, hi, lo_open=lo_open)
    return float(value)  # type: ignore[arg-type]  # check_range admitted only real numbers


@dataclass(frozen=True)
class StatePolicy:
    """How the desk slices while in one state.

    The defaults leave the baseline schedule unchanged (CALM's playbook).

    - ``slice_cap``: largest child as a fraction of the baseline child size, in (0, 1].
    - ``participation_multiplier``: multiplies the parent's target participation rate, in (0, 1].
    - ``passive_dwell_scale``: how long a passive child may rest before it is made aggressive,
      as a multiple of the baseline schedule's dwell, in [0, 100] (1 = unchanged, 0 = no
      resting at all). A multiple rather than seconds because the baseline dwell already
      depends on each parent's urgency; a state scales it instead of overriding it.
    - ``queue_loss_threshold``: the share of a resting child's queue priority that may be lost
      (depth ahead of it growing, re-queueing) before it stops resting, in (0, 1], or None
      (never: it rests its full dwell); lower = tighter.
    - ``horizon_stretch``: multiplies the remaining execution horizon, in [1, 100] (spreading
      the order out in time).
    - ``allow_risk_increasing``: whether new risk-increasing flow (new parents, or raising a
      parent's size) may start.
    - ``venue_quality_gating``: route only to venues (or price levels) passing quality checks.
    - ``strict_residual``: cross only at the far touch itself, never walking the book (a hard
      limit price for the residual of existing parents).
    """

    slice_cap: float = 1.0
    participation_multiplier: float = 1.0
    passive_dwell_scale: float = 1.0
    queue_loss_threshold: float | None = None
    horizon_stretch: float = 1.0
    allow_risk_increasing: bool = True
    venue_quality_gating: bool = False
    strict_residual: bool = False

    def __post_init__(self) -> None:
        _check("slice_cap", self.slice_cap, 0.0, 1.0, lo_open=True)
        _check("participation_multiplier", self.participation_multiplier, 0.0, 1.0, lo_open=True)
        _check("passive_dwell_scale", self.passive_dwell_scale, 0.0, 100.0)
        if self.queue_loss_threshold is not None:
            _check("queue_loss_threshold", self.queue_loss_threshold, 0.0, 1.0, lo_open=True)
        _check("horizon_stretch", self.horizon_stretch, 1.0, 100.0)
        for name in ("allow_risk_increasing", "venue_quality_gating", "strict_residual"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")


def default_policies() -> dict[ExecState, StatePolicy]:
    """The playbook's policy per state.

    CALM runs the baseline schedule. PRESSURED cuts the passive dwell to a third and stops a
    child resting once it has lost a quarter of its queue priority. DISLOCATED cuts the dwell to
    a sixth, tightens the queue-loss threshold, caps the slice size, stretches the horizon and
    gates venues. SAFE starts no new risk-increasing flow and completes residuals under the
    strict policy: the full baseline dwell (passive first), crossing only at the far touch.
    """
    return {
        ExecState.calm: StatePolicy(),
        ExecState.pressured: StatePolicy(passive_dwell_scale=1 / 3, queue_loss_threshold=0.25),
        ExecState.dislocated: StatePolicy(
            slice_cap=0.5,
            participation_multiplier=0.6,
            passive_dwell_scale=1 / 6,
            queue_loss_threshold=0.2,
            horizon_stretch=1.5,
            venue_quality_gating=True,
        ),
        ExecState.safe: StatePolicy(
            slice_cap=0.25,
            participation_multiplier=0.3,
            passive_dwell_scale=1.0,
            queue_loss_threshold=0.2,
            horizon_stretch=2.0,
            allow_risk_increasing=False,
            venue_quality_gating=True,
            strict_residual=True,
        ),
    }


@dataclass(frozen=True)
class StateThresholds:
    """Entry and exit levels of one non-calm state.

    The state is entered when HPI >= ``upgrade`` (or the p95 forecast >= ``tail_upgrade_bps``) and
    left (one level down) once HPI < ``downgrade`` (and the p95 forecast < ``tail_downgrade_bps``)
    has held for the dwell time. ``downgrade < upgrade`` is the hysteresis band. Tail thresholds
    are optional (None = HPI only), but come in pairs.
    """

    upgrade: float
    downgrade: float
    tail_upgrade_bps: float | None = None
    tail_downgrade_bps: float | None = None


def default_thresholds() -> dict[ExecState, StateThresholds]:
    """HPI levels (sums of robust z-scores) and p95 forecasts (bps) per non-calm state."""
    return {
        ExecState.pressured: StateThresholds(1.5, 0.75, 15.0, 10.0),
        ExecState.dislocated: StateThresholds(3.0, 2.0, 30.0, 20.0),
        ExecState.safe: StateThresholds(5.0, 3.5, 60.0, 40.0),
    }


def _validate_thresholds(thresholds: Mapping[Any, Any]) -> dict[ExecState, StateThresholds]:
    out: dict[ExecState, StateThresholds] = {}
    for key, value in thresholds.items():
        if not isinstance(key, ExecState) and key not in [s.value for s in ExecState]:
            raise ValueError(
                f"thresholds has unknown state {key!r}; allowed: pressured, dislocated, safe"
            )
        state = _state("thresholds key", key)
        if state is ExecState.calm:
            raise ValueError(
                "thresholds.calm is not allowed: calm is the floor state and has no entry threshold"
            )
        if isinstance(value, Mapping):
            value = StateThresholds(**value)
        out[state] = value
    missing = [s.value for s in _ORDER[1:] if s not in out]
    if missing:
        raise ValueError(f"thresholds is missing states {missing}")
    for lower, state in pairwise(_ORDER):
        _check_state_thresholds(state, out[state], lower, out.get(lower))
    return out


def _check_state_thresholds(
    state: ExecState, th: StateThresholds, lower: ExecState, below: StateThresholds | None
) -> None:
    """One state's levels: finite, downgrade < upgrade, above those of the state ``lower``."""
    name = f"thresholds.{state.value}"
    up = _check(f"{name}.upgrade", th.upgrade)
    down = _check(f"{name}.downgrade", th.downgrade)
    if not math.isfinite(up) or not math.isfinite(down):
        raise ValueError(f"{name}.upgrade and .downgrade must be finite")
    if down >= up:
        raise ValueError(f"{name}.downgrade ({down}) must be < {name}.upgrade ({up})")
    if (th.tail_upgrade_bps is None) != (th.tail_downgrade_bps is None):
        raise ValueError(
            f"{name}.tail_upgrade_bps and {name}.tail_downgrade_bps must both "
            "be set or both be None"
        )
    if th.tail_upgrade_bps is not None:
        tup = _check(f"{name}.tail_upgrade_bps", th.tail_upgrade_bps)
        tdown = _check(f"{name}.tail_downgrade_bps", th.tail_downgrade_bps)
        if tdown >= tup:
            raise ValueError(
                f"{name}.tail_downgrade_bps ({tdown}) must be < {name}.tail_upgrade_bps ({tup})"
            )
    if below is None:  # calm, the floor, has no thresholds
        return
    pname = f"thresholds.{lower.value}"
    if up <= below.upgrade:
        raise ValueError(f"{name}.upgrade ({up}) must be > {pname}.upgrade ({below.upgrade})")
    if down <= below.downgrade:
        raise ValueError(
            f"{name}.downgrade ({down}) must be > {pname}.downgrade ({below.downgrade})"
        )
    if (
        th.tail_upgrade_bps is not None
        and below.tail_upgrade_bps is not None
        and (
            th.tail_upgrade_bps <= below.tail_upgrade_bps
            # both tails are set or neither (checked above), for below as for th
            or th.tail_downgrade_bps <= below.tail_downgrade_bps  # type: ignore[operator]
        )
    ):
        raise ValueError(f"{name}.tail_upgrade_bps / tail_downgrade_bps must exceed {pname}'s")


@dataclass(frozen=True)
class Transition:
    """One logged state change.

    ``reason``: "upgrade", "downgrade", "threshold" (no-hysteresis mode), "override_start" or
    "override_end". ``hpi`` and ``tail_p95_bps`` are the inputs at that step; ``trigger`` names
    the threshold crossed ("hpi", "tail", "hpi+tail", "override" or "stabilised"). ``inputs``
    holds whatever else the caller passed to :meth:`ExecutionStateMachine.step` at that step
    (e.g. the index's component z-scores), so a transition can be traced to what moved it.
    """

    time: float
    from_state: str
    to_state: str
    reason: str
    trigger: str
    hpi: float
    tail_p95_bps: float
    note: str = ""
    inputs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Override:
    """A manual state forced over clock seconds ``[start, end)`` (event-day playbook)."""

    state: ExecState
    start: float
    end: float
    note: str = ""


class ExecutionStateMachine:
    """Maps HPI (and an optional p95 tail-cost forecast) to an :class:`ExecState` per step.

    - Upgrade: the target is the highest state whose upgrade threshold (HPI or tail) has been met
      on each of the last ``k_up`` steps; with ``k_up=1`` the jump is immediate, and it may skip
      states on a large spike.
    - Downgrade: once HPI < the current state's ``downgrade`` (and the tail forecast, if supplied
      and thresholded, < its ``tail_downgrade_bps``) has held continuously for
      ``min_dwell_down`` seconds (one number, or per state), the machine steps down one state and
      the stabilisation clock restarts for that state.
    - ``hysteresis=False``: plain thresholding for comparison; each step's state is the highest
      whose upgrade threshold the inputs meet, with no dwell and no band.
    - :meth:`force`: a manual state over ``[start, end)``; inside it inputs are ignored, and after
      it the machine continues from the forced state under its normal rules.

    Every change is appended to :attr:`transitions` (see :meth:`transitions_frame`).
    """

    def __init__(
        self,
        thresholds: Mapping[Any, Any] | None = None,
        *,
        min_dwell_down: float | Mapping[Any, float] = 300.0,
        k_up: int = 1,
        hysteresis: bool = True,
        policies: Mapping[ExecState, StatePolicy] | None = None,
        initial_state: ExecState | str = ExecState.calm,
    ):
        self.thresholds = _validate_thresholds(
            thresholds if thresholds is not None else default_thresholds()
        )
        if isinstance(min_dwell_down, Mapping):
            dwell = {}
            for key, value in min_dwell_down.items():
                state = _state("min_dwell_down key", key)
                dwell[state] = _check(f"min_dwell_down.{state.value}", value, 0.0)
            missing = [s.value for s in _ORDER[1:] if s not in dwell]
            if missing:
                raise ValueError(f"min_dwell_down is missing states {missing}")
        else:
            value = _check("min_dwell_down", min_dwell_down, 0.0)
            dwell = dict.fromkeys(_ORDER[1:], value)
        self.min_dwell_down = dwell
        if isinstance(k_up, bool) or not isinstance(k_up, (int, np.integer)) or k_up < 1:
            raise ValueError(f"k_up must be an integer >= 1, got {k_up!r}")
        self.k_up = int(k_up)
        if not isinstance(hysteresis, bool):
            raise ValueError(f"hysteresis must be true or false, got {hysteresis!r}")
        self.hysteresis = hysteresis
        merged = default_policies()
        for key, policy in (policies or {}).items():
            state = _state("policies key", key)
            if not isinstance(policy, StatePolicy):
                raise ValueError(f"policies.{state.value} must be a StatePolicy")
            merged[state] = policy
        self.policies = merged
        self.state = _state("initial_state", initial_state)
        self.transitions: list[Transition] = []
        self.overrides: list[Override] = []
        self._breach_run = [0] * len(_ORDER)
        self._calm_since: float | None = None
        self._active_override: Override | None = None
        self._last_time = -math.inf
        self._occupancy = dict.fromkeys(_ORDER, 0.0)

    @property
    def policy(self) -> StatePolicy:
        """The execution policy of the current state."""
        return self.policies[self.state]

    def force(self, state: ExecState | str, start: float, end: float, note: str = "") -> None:
        """Force ``state`` over clock seconds ``[start, end)``; windows may not overlap."""
        state = _state("state", state)
        start = _check("start", start)
        end = _check("end", end)
        if not end > start:
            raise ValueError(f"end ({end}) must be > start ({start})")
        for other in self.overrides:
            if start < other.end and other.start < end:
                raise ValueError(f"override [{start}, {end}) overlaps [{other.start}, {other.end})")
        self.overrides.append(Override(state, start, end, note))

    def _breaches(self, hpi: float, tail: float | None) -> list[str]:
        """For each level, which inputs meet its upgrade threshold ('' = none)."""
        out = [""]
        for state in _ORDER[1:]:
            th = self.thresholds[state]
            hit_h = hpi >= th.upgrade
            hit_t = (
                tail is not None and th.tail_upgrade_bps is not None and tail >= th.tail_upgrade_bps
            )
            out.append(
                "hpi+tail" if hit_h and hit_t else "hpi" if hit_h else "tail" if hit_t else ""
            )
        return out

    def _stable_below(self, state: ExecState, hpi: float, tail: float | None) -> bool:
        th = self.thresholds[state]
        if hpi >= th.downgrade:
            return False
        return tail is None or th.tail_downgrade_bps is None or tail < th.tail_downgrade_bps

    def _log(
        self,
        t: float,
        to: ExecState,
        reason: str,
        trigger: str,
        hpi: float,
        tail: float | None,
        inputs: Mapping[str, float] | None,
        note: str = "",
    ) -> None:
        # inputs are copied only here, on a transition, so passing them every step costs nothing
        extra = {}
        for key, value in (inputs or {}).items():
            if key in Transition.__dataclass_fields__:
                raise ValueError(
                    f"inputs key {key!r} clashes with a transition field; allowed: "
                    f"any name but {list(Transition.__dataclass_fields__)}"
                )
            extra[str(key)] = float(value)
        self.transitions.append(
            Transition(
                time=t,
                from_state=self.state.value,
                to_state=to.value,
                reason=reason,
                trigger=trigger,
                hpi=hpi,
                tail_p95_bps=math.nan if tail is None else tail,
                note=note,
                inputs=extra,
            )
        )

    def _move(
        self,
        t: float,
        new: ExecState,
        reason: str,
        trigger: str,
        hpi: float,
        tail: float | None,
        inputs: Mapping[str, float] | None,
        note: str = "",
    ) -> None:
        self._log(t, new, reason, trigger, hpi, tail, inputs, note)
        self.state = new
        self._calm_since = None

    def step(
        self,
        t: float,
        hpi: float,
        tail_p95_bps: float | None = None,
        inputs: Mapping[str, float] | None = None,
    ) -> ExecState:
        """Advance to clock time ``t`` (non-decreasing) with this step's HPI and p95 forecast.

        ``inputs``: optional named numbers behind this step's HPI (e.g. its component
        z-scores); they do not affect the state, and are logged with any transition the step
        makes (:attr:`Transition.inputs`).
        """
        t, hpi, tail = self._checked_step(t, hpi, tail_p95_bps)
        if self._last_time > -math.inf:
            self._occupancy[self.state] += t - self._last_time
        self._last_time = t
        if self._follow_override(t, hpi, tail, inputs):
            return self.state
        breaches = self._breaches(hpi, tail)
        if not self.hysteresis:
            target = max(i for i, b in enumerate(breaches) if i == 0 or b)
            if target != self.state.level:
                self._move(
                    t, _ORDER[target], "threshold", breaches[target] or "hpi", hpi, tail, inputs
                )
            return self.state
        self._hysteresis_step(t, hpi, tail, inputs, breaches)
        return self.state

    def _checked_step(
        self, t: float, hpi: float, tail_p95_bps: float | None
    ) -> tuple[float, float, float | None]:
        """The step's time, HPI and p95 forecast, finite and with time not going backwards."""
        t = _check("t", t)
        hpi = _check("hpi", hpi)
        if not math.isfinite(hpi) or not math.isfinite(t):
            raise ValueError("t and hpi must be finite")
        tail = None if tail_p95_bps is None else _check("tail_p95_bps", tail_p95_bps)
        if tail is not None and not math.isfinite(tail):
            raise ValueError("tail_p95_bps must be finite")
        if t < self._last_time:
            raise ValueError(f"t must be non-decreasing: got {t} after {self._last_time}")
        return t, hpi, tail

    def _follow_override(
        self, t: float, hpi: float, tail: float | None, inputs: Mapping[str, float] | None
    ) -> bool:
        """End an override that no longer covers ``t`` and enter one that does; True while
        one is in force (the inputs are then ignored)."""
        override = next((o for o in self.overrides if o.start <= t < o.end), None)
        if self._active_override is not None and override is not self._active_override:
            ended = self._active_override
            self._active_override = None
            self._log(t, self.state, "override_end", "override", hpi, tail, inputs, ended.note)
            self._breach_run = [0] * len(_ORDER)
        if override is not None:
            if override is not self._active_override:
                self._active_override = override
                self._move(
                    t,
                    override.state,
                    "override_start",
                    "override",
                    hpi,
                    tail,
                    inputs,
                    override.note,
                )
            return True
        return False

    def _hysteresis_step(
        self,
        t: float,
        hpi: float,
        tail: float | None,
        inputs: Mapping[str, float] | None,
        breaches: list[str],
    ) -> None:
        """Upgrade after ``k_up`` breaching steps; downgrade one state after stabilising below
        the current state's downgrade thresholds for its minimum dwell."""
        self._breach_run = [
            run + 1 if b else 0 for run, b in zip(self._breach_run, breaches, strict=True)
        ]
        ready = [
            i for i in range(self.state.level + 1, len(_ORDER)) if self._breach_run[i] >= self.k_up
        ]
        if ready:
            target = max(ready)
            self._move(t, _ORDER[target], "upgrade", breaches[target] or "hpi", hpi, tail, inputs)
            return
        if self.state is ExecState.calm:
            return
        if self._stable_below(self.state, hpi, tail):
            if self._calm_since is None:
                self._calm_since = t
            if t - self._calm_since >= self.min_dwell_down[self.state]:
                self._move(
                    t, _ORDER[self.state.level - 1], "downgrade", "stabilised", hpi, tail, inputs
                )
                # The next state down needs its own sustained stabilisation, starting now.
                # (_move changed self.state, which the checker cannot see)
                if self.state is not ExecState.calm and self._stable_below(  # type: ignore[comparison-overlap]
                    self.state, hpi, tail
                ):
                    self._calm_since = t
        else:
            self._calm_since = None

    def run(
        self,
        times: ArrayLike,
        hpi: ArrayLike,
        tail_p95_bps: ArrayLike | None = None,
        inputs: Mapping[str, ArrayLike] | None = None,
    ) -> NDArray[np.object_]:
        """Step through arrays; returns the state after each step (an object array).

        ``inputs``: optional mapping name -> array (one value per step) passed to :meth:`step`.
        """
        t = np.atleast_1d(np.asarray(times, dtype=float))
        h = np.atleast_1d(np.asarray(hpi, dtype=float))
        if t.ndim != 1 or h.shape != t.shape:
            raise ValueError(
                f"times and hpi must be 1-D of equal length, got {t.shape} and {h.shape}"
            )
        tails = None
        if tail_p95_bps is not None:
            tails = np.atleast_1d(np.asarray(tail_p95_bps, dtype=float))
            if tails.shape != t.shape:
                raise ValueError(
                    f"tail_p95_bps must match times' shape {t.shape}, got {tails.shape}"
                )
        bad = ~np.isfinite(t) | ~np.isfinite(h)
        if tails is not None:
            bad |= ~np.isfinite(tails)
        if bad.any():
            raise ValueError(
                f"times, hpi and tail_p95_bps must be finite; first bad index {int(np.argmax(bad))}"
            )
        if np.any(np.diff(t) < 0) or (t.size and t[0] < self._last_time):
            raise ValueError("times must be non-decreasing (and not before the last step)")
        extra = {}
        for key, values in (inputs or {}).items():
            arr = np.atleast_1d(np.asarray(values, dtype=float))
            if arr.shape != t.shape:
                raise ValueError(
                    f"inputs[{key!r}] must match times' shape {t.shape}, got {arr.shape}"
                )
            extra[key] = arr
        out = np.empty(t.size, dtype=object)
        for i in range(t.size):
            out[i] = self.step(
                t[i],
                h[i],
                None if tails is None else tails[i],
                {k: v[i] for k, v in extra.items()} if extra else None,
            )
        return out

    def transitions_frame(self) -> pd.DataFrame:
        """The transition log as a DataFrame, one row per change: the :class:`Transition`
        fields, then one column per name of :attr:`Transition.inputs` (NaN where a transition
        was logged without it)."""
        base = [f for f in Transition.__dataclass_fields__ if f != "inputs"]
        keys = list(dict.fromkeys(k for tr in self.transitions for k in tr.inputs))
        rows = [
            [getattr(tr, f) for f in base] + [tr.inputs.get(k, math.nan) for k in keys]
            for tr in self.transitions
        ]
        return pd.DataFrame(rows, columns=base + keys)

    def occupancy_seconds(self) -> dict[str, float]:
        """Clock seconds spent in each state so far (each gap between steps goes to the state
        held during it)."""
        return {s.value: v for s, v in self._occupancy.items()}


@dataclass(frozen=True)
class CanaryDecision:
    """Outcome of a canary evaluation: ``rollback`` if any gate tripped, which ones, the metrics
    they were judged on, and ``sufficient`` = enough samples to judge at all."""

    rollback: bool
    tripped: tuple[str, ...]
    metrics: dict[str, float]
    sufficient: bool


class CanaryGate:
    """Hard rollback gates for a canary of the HPI policy against the control policy.

    - ``p95``: the canary's 95th-percentile slippage (bps, + = cost) exceeds ``p95_limit_bps``.
    - ``completion``: the canary's mean completion rate (filled / target per parent, in [0, 1])
      is more than ``completion_drop`` below the control's.
    - ``queue_loss``: the canary's mean queue-loss rate (share of resting children that lost their
      queue priority, in [0, 1]) exceeds the control's by more than ``queue_loss_jump``.

    With fewer than ``min_samples`` canary (or control) observations in any input, no gate is
    judged (``sufficient=False``, no rollback): small samples trip p95 gates by chance.
    """

    def __init__(
        self,
        p95_limit_bps: float,
        completion_drop: float = 0.05,
        queue_loss_jump: float = 0.10,
        *,
        min_samples: int = 20,
    ):
        self.p95_limit_bps = _check("p95_limit_bps", p95_limit_bps)
        self.completion_drop = _check("completion_drop", completion_drop, 0.0, 1.0)
        self.queue_loss_jump = _check("queue_loss_jump", queue_loss_jump, 0.0, 1.0)
        if (
            isinstance(min_samples, bool)
            or not isinstance(min_samples, (int, np.integer))
            or min_samples < 1
        ):
            raise ValueError(f"min_samples must be an integer >= 1, got {min_samples!r}")
        self.min_samples = int(min_samples)

    def evaluate(
        self,
        canary_slippage_bps: ArrayLike,
        canary_completion: ArrayLike,
        canary_queue_loss: ArrayLike,
        control_completion: ArrayLike,
        control_queue_loss: ArrayLike,
    ) -> CanaryDecision:
        """Judge a live window; each argument is a 1-D array of per-order observations."""
        arrays = {}
        for name, value in (
            ("canary_slippage_bps", canary_slippage_bps),
            ("canary_completion", canary_completion),
            ("canary_queue_loss", canary_queue_loss),
            ("control_completion", control_completion),
            ("control_queue_loss", control_queue_loss),
        ):
            arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite numbers")
            if name != "canary_slippage_bps" and np.any((arr < 0) | (arr > 1)):
                raise ValueError(f"{name} must lie in [0, 1]")
            arrays[name] = arr
        sufficient = min(a.size for a in arrays.values()) >= self.min_samples
        metrics = {
            "canary_p95_bps": float(np.quantile(arrays["canary_slippage_bps"], 0.95))
            if arrays["canary_slippage_bps"].size
            else math.nan,
            "completion_drop": _mean(arrays["control_completion"])
            - _mean(arrays["canary_completion"]),
            "queue_loss_jump": _mean(arrays["canary_queue_loss"])
            - _mean(arrays["control_queue_loss"]),
        }
        tripped: list[str] = []
        if sufficient:
            if metrics["canary_p95_bps"] > self.p95_limit_bps:
                tripped.append("p95")
            if metrics["completion_drop"] > self.completion_drop:
                tripped.append("completion")
            if metrics["queue_loss_jump"] > self.queue_loss_jump:
                tripped.append("queue_loss")
        return CanaryDecision(
            rollback=bool(tripped), tripped=tuple(tripped), metrics=metrics, sufficient=sufficient
        )


def _mean(arr: np.ndarray) -> float:
    return float(arr.mean()) if arr.size else math.nan
