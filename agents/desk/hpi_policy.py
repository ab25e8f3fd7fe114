"""The desk policy driven by the Hedge Pressure Index state machine, and a tail-cost forecast.

:class:`HPIPolicy` feeds the index of :class:`agents.desk.hpi_observer.HPIObserver` to the
CALM / PRESSURED / DISLOCATED / SAFE state machine of :mod:`market.execution.states` and maps
the state onto the desk's slicing (:class:`agents.desk.schedule.SliceAdjustment`).

Modes (``desk.hpi.mode``): ``off`` builds none of this; ``shadow`` observes, steps the state
machine and logs, per slice, the adjustment it would have made while the desk slices plainly;
``live`` lets the state decide. Costs: bps of the arrival mid, + = cost; side +1 buy / -1 sell.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from agents.desk.config import DeskConfig, HPIMode, HPIPolicyConfig
from agents.desk.desk import ExecutionDesk
from agents.desk.hpi_observer import HPIObserver
from agents.desk.schedule import NEUTRAL, SchedulePolicy, SliceAdjustment
from agents.desk.state_machine import build_state_machine
from market.exchange.clock import SECONDS_PER_DAY
from market.execution.book_features import book_features
from market.execution.hpi import COMPONENTS, HPIReading
from market.execution.states import ExecState, StatePolicy

#: time to expiry (seconds) that stands for "no live expiry" in model features: the farthest
#: time-to-expiry bucket
NO_EXPIRY_SECONDS = 1e7
#: transition-log columns of the component z-scores
_Z_COLUMNS = tuple(f"z_{k}" for k in COMPONENTS)
#: a state policy equal to this one slices exactly like the plain schedule
_PLAIN = StatePolicy()


def desk_side(desk: ExecutionDesk) -> int:
    """The desk's net direction: sign of ``sum(side * remaining)`` over its working parents
    (0 when idle or exactly balanced)."""
    net = sum(p.side * (p.qty - p.filled) for p in desk.parents if p.status == "active")
    return (net > 0) - (net < 0)


class HPIPolicy:
    """The desk policy driven by the HPI state machine (the interface of
    :class:`agents.desk.schedule.SlicingPolicy` plus ``observe``, called once per step).

    State -> slicing, from the current state's :class:`market.execution.states.StatePolicy`
    (every state's, CALM's included; CALM's defaults are the plain schedule, so it then makes
    no adjustment at all):

    - passive dwell = the plain dwell ``desk.passive_dwell_s * (1 - urgency)`` times the state's
      ``passive_dwell_scale``; a resting child whose queue loss reaches the state's
      ``queue_loss_threshold`` stops waiting; ``slice_cap`` scales the child size,
      ``participation_multiplier`` the POV rate, ``horizon_stretch`` a TWAP horizon.
    - ``venue_quality_gating`` (DISLOCATED, SAFE): no cross while the spread exceeds
      ``gate_spread_multiple`` times the observer's calm spread baseline.
    - ``allow_risk_increasing`` false (SAFE): parents that have not started do not start.
    - ``strict_residual`` (SAFE): cross only at the far touch itself (no walking the book);
      with SAFE's dwell scale of 1 started parents finish passive-first, gated.

    A tail-cost forecast can drive the machine next to the HPI: see
    :meth:`attach_tail_forecaster`.
    """

    def __init__(self, cfg: HPIPolicyConfig, desk_cfg: DeskConfig, model) -> None:
        if cfg.mode is HPIMode.off:
            raise ValueError("desk.hpi.mode is off: the desk uses the plain SchedulePolicy")
        self.cfg = cfg
        self.desk_cfg = desk_cfg
        self.mode = cfg.mode
        self.machine = build_state_machine(cfg)
        self.observer = HPIObserver(cfg.observer, model, sink=self._step_machine)
        # set by attach_tail_forecaster (seconds between forecasts)
        self.tail_forecaster: Callable | None = None
        self.tail_interval_s = 10.0
        self.tail_p95_bps = math.nan
        self._next_tail = -math.inf
        self.shadow_log: list[dict] = []
        self.children_seen = 0
        self.queue_breaches = 0

    def attach_tail_forecaster(
        self, forecaster: Callable, *, upgrade_bps, downgrade_bps, interval_s: float = 10.0
    ) -> None:
        """Let a p95 slippage forecast (bps, + = cost) move the state machine next to the HPI.

        ``forecaster(policy, model) -> p95 bps`` (e.g. a :class:`QuantileTailForecaster`) is
        consulted every ``interval_s`` seconds; a state is entered when the HPI or the forecast
        reaches its level and left when both are below theirs. ``upgrade_bps`` and
        ``downgrade_bps`` list three levels each (PRESSURED, DISLOCATED, SAFE), ordered like the
        HPI levels. Call it before the first observation. These are arguments rather than
        ``desk.hpi`` config fields because a config cannot name a fitted model: the levels have
        no meaning without the forecaster that comes with them.
        """
        if not callable(forecaster):
            raise ValueError(
                f"forecaster must be callable(policy, model), got {type(forecaster).__name__}"
            )
        if self.observer.n_observations:
            raise ValueError(
                "attach_tail_forecaster must be called before the first "
                "observation (the state machine is rebuilt with the tail levels)"
            )
        interval = float(interval_s)
        if not (math.isfinite(interval) and 0.0 < interval <= SECONDS_PER_DAY):
            raise ValueError(
                f"interval_s must be in (0, {SECONDS_PER_DAY:g}] seconds, got {interval_s!r}"
            )
        self.machine = build_state_machine(self.cfg, list(upgrade_bps), list(downgrade_bps))
        self.tail_forecaster = forecaster
        self.tail_interval_s = interval
        self._next_tail = -math.inf

    def _step_machine(self, reading: HPIReading) -> tuple[str, float]:
        tail = self.tail_p95_bps if math.isfinite(self.tail_p95_bps) else None
        # the component z-scores ride along so every transition is logged with its causes
        z = reading.z
        self.machine.step(
            reading.time,
            reading.hpi,
            tail,
            {key: z[k] for key, k in zip(_Z_COLUMNS, COMPONENTS, strict=True)},
        )
        return self.machine.state.value, self.tail_p95_bps

    @property
    def state(self) -> str:
        """The label the desk stamps on each child: the state that shaped it (live), or
        ``schedule`` in shadow mode, where the desk slices plainly."""
        return self.machine.state.value if self.mode is HPIMode.live else "schedule"

    @property
    def exec_state(self) -> ExecState:
        """The state machine's state after every observation so far."""
        self.observer.flush()
        return self.machine.state

    def observe(self, model, desk: ExecutionDesk) -> None:
        """One step: gather the observation; the state machine steps through observations as
        the observer computes them (on demand, in order). A tail forecaster, when attached, is
        consulted every ``tail_interval_s`` with the index up to this step, and its forecast
        holds from the next observation on."""
        self.observer.observe(model, desk_side(desk))
        if self.tail_forecaster is not None and model.now >= self._next_tail:
            self._next_tail = model.now + self.tail_interval_s
            self.observer.flush()
            self.tail_p95_bps = float(self.tail_forecaster(self, model))

    def adjustment(self, state: ExecState, parent) -> SliceAdjustment:
        """The slicing adjustment of ``state``'s policy for ``parent`` (:data:`NEUTRAL` when
        the policy is the plain schedule, as CALM's is by default)."""
        sp = self.machine.policies[state]
        if sp == _PLAIN:
            return NEUTRAL
        dwell = self.desk_cfg.passive_dwell_s * (1.0 - parent.urgency) * sp.passive_dwell_scale
        cap = None
        if sp.venue_quality_gating:
            base = self.observer.spread_baseline
            base = base if base == base else 1.0
            cap = max(1, math.floor(self.cfg.gate_spread_multiple * base))
        return SliceAdjustment(
            participation_scale=sp.participation_multiplier,
            size_scale=sp.slice_cap,
            dwell_s=dwell,
            horizon_scale=sp.horizon_stretch,
            max_cross_ticks=0 if sp.strict_residual else None,
            allow_cross=True,
            start_new=sp.allow_risk_increasing,
            queue_loss_threshold=sp.queue_loss_threshold,
            cross_spread_cap_ticks=cap,
            gate_wait_s=self.cfg.gate_max_wait_s if cap is not None else 0.0,
        )

    def adjust(self, model, parent) -> SliceAdjustment:
        self.observer.flush()
        state = self.machine.state
        adj = self.adjustment(state, parent)
        if self.mode is HPIMode.shadow:
            if adj != NEUTRAL:
                self.shadow_log.append(
                    {
                        "time": model.now,
                        "parent_id": parent.parent_id,
                        "state": state.value,
                        "hpi": self.observer.reading.hpi if self.observer.reading else math.nan,
                        **{
                            f"would_{k}": (math.nan if v is None else float(v))
                            for k, v in adj._asdict().items()
                        },
                    }
                )
            return NEUTRAL
        return adj

    def decision_context(self, model, parent) -> dict:
        """HPI features at a child's decision (flattened into the child's record)."""
        r = self.observer.reading
        obs = self.observer
        ctx = {
            "hpi_mode": self.mode.value,
            "hpi_state": self.machine.state.value,
            "hpi": r.hpi if r else math.nan,
            "hpi_slope": r.slope if r else math.nan,
            "seconds_to_expiry": obs.seconds_to_expiry,
            "expiry_oi_share": obs.oi_weight,
            "observer_gex_near": obs.gex_near,
            "pin_concentration": obs.concentration,
            "spread_baseline_ticks": obs.spread_baseline,
            "tail_p95_bps": self.tail_p95_bps,
        }
        for k in COMPONENTS:
            ctx[f"z_{k}"] = r.z[k] if r else math.nan
            ctx[f"raw_{k}"] = r.raw[k] if r else math.nan
        return ctx

    def on_child_done(self, child) -> None:
        self.children_seen += 1
        self.queue_breaches += bool(child.queue_breached)

    def report_value(self, column: str) -> float | str:
        """The model reporters' view: ``hpi``, ``hpi_slope``, ``hpi_<component>`` (z-scores),
        ``observer_gex`` (total, currency per 1%), ``observer_gex_calls`` / ``_puts`` (its parts)
        or ``desk_state``."""
        r = self.observer.reading  # flushes pending observations first
        if column == "desk_state":
            return self.machine.state.value
        if column == "observer_gex":
            return self.observer.gex_total
        if column == "observer_gex_calls":
            return self.observer.gex_calls
        if column == "observer_gex_puts":
            return self.observer.gex_puts
        if r is None:
            return math.nan
        if column == "hpi":
            return r.hpi
        if column == "hpi_slope":
            return r.slope
        return r.z[column.removeprefix("hpi_")]


class QuantileTailForecaster:
    """A tail-cost forecast for the state machine from a fitted two-layer slippage model.

    Called as ``forecaster(policy, model)`` (attach it with
    :meth:`HPIPolicy.attach_tail_forecaster`), it builds one feature row for a nominal child of
    ``nominal_qty`` shares on the desk's net side (+1 when idle), urgency ``urgency`` and no
    latency, from the book (:func:`market.execution.book_features.book_features`) and the
    policy's current reading, and returns the model's ``quantile`` forecast of slippage (bps,
    + = cost). ``use_hedge=False`` forecasts with Layer A alone.
    """

    def __init__(
        self,
        slippage_model,
        quantile: float = 0.95,
        *,
        nominal_qty: int = 1_000,
        urgency: float = 0.5,
        use_hedge: bool = True,
    ) -> None:
        if quantile not in getattr(slippage_model, "quantiles", ()):
            raise ValueError(
                f"quantile must be one of the model's fitted levels "
                f"{getattr(slippage_model, 'quantiles', ())}, got {quantile!r}"
            )
        if (
            isinstance(nominal_qty, bool)
            or not isinstance(nominal_qty, (int, np.integer))
            or nominal_qty < 1
        ):
            raise ValueError(f"nominal_qty must be an integer >= 1, got {nominal_qty!r}")
        if not 0.0 <= urgency <= 1.0:
            raise ValueError(f"urgency must be in [0, 1], got {urgency!r}")
        self.model = slippage_model
        self.quantile = float(quantile)
        self.nominal_qty = int(nominal_qty)
        self.urgency = float(urgency)
        self.use_hedge = bool(use_hedge)

    def features(self, policy: HPIPolicy, model) -> pd.DataFrame:
        """The one-row feature frame the forecast is made from."""
        desk = model.populations[ExecutionDesk.population][0]
        side = desk_side(desk) or 1
        row = book_features(model.book, model.state, side, self.nominal_qty, float(model.state.mid))
        r = policy.observer.reading
        tte = policy.observer.seconds_to_expiry
        row.update(
            latency_ms=0.0,
            urgency=self.urgency,
            hpi=r.hpi if r else 0.0,
            hpi_slope=r.slope if r else 0.0,
            seconds_to_expiry=tte if tte == tte else NO_EXPIRY_SECONDS,
        )
        return pd.DataFrame([row])

    def __call__(self, policy: HPIPolicy, model) -> float:
        frame = self.features(policy, model)
        return float(self.model.predict(frame, self.quantile, use_hedge=self.use_hedge)[0])


def make_policy(desk_cfg: DeskConfig, model):
    """The desk's policy for its config: :class:`HPIPolicy` unless ``desk.hpi.mode`` is off."""
    if desk_cfg.hpi.mode is HPIMode.off:
        return SchedulePolicy()
    return HPIPolicy(desk_cfg.hpi, desk_cfg, model)
