"""The desk's Hedge Pressure Index: an outside observer, the HPI-driven policy and cost tables.

:class:`HPIObserver` turns what any market participant can see into the four raw components of
:mod:`market.execution.hpi` once per simulation step, and :class:`HPIPolicy` feeds the index to the
CALM / PRESSURED / DISLOCATED / SAFE state machine of :mod:`market.execution.states` and maps
the state onto the desk's slicing (:class:`agents.desk.core.SliceAdjustment`).

What the observer reads, and nothing else: the chain's listed contracts and **open interest**
(never the dealers' true positions: those stay inside the simulation), the implied-volatility
surface, the order book (spread, touch sizes, the count of cancels), the tape (mid history),
the clock and the scenario's public calendar (the times of events marked ``scheduled``, e.g.
macro prints, and each day's close; expiries come from the chain). Unscheduled events (a crash's
news) are invisible until they move prices. The dealers' side is an *assumed* sign convention
per option type (default dealers short calls, long puts).

Components (raw units, see :mod:`market.execution.hpi`; + = pressure against the desk):

- gamma pressure: ``-GEX_near / gex_scale - pin_weight * concentration`` from the observer's GEX
  (dollars per 1% move) over strikes within ``gex_band_pct`` of spot and the signed share of
  ``|GEX|`` inside the pin band;
- spot velocity: trailing mid speed in bps per minute, signed by the desk's net side (the side
  of its working parents by remaining quantity; an idle desk counts any fast move: absolute);
- expiry proximity: ``oi_share / sqrt(hours to the nearest large expiry)`` plus event windows
  (scheduled events, the close);
- book stress: spread widening over its calm baseline, top-of-book depletion on the side the desk
  takes from, and the excess cancel rate (cancels = the book's cancel and reduce messages).

Modes (``desk.hpi.mode``): ``off`` builds none of this; ``shadow`` observes, steps the state
machine and logs, per slice, the adjustment it would have made while the desk slices plainly;
``live`` lets the state decide. Costs: bps of the arrival mid, + = cost; side +1 buy / -1 sell.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from agents.desk.core import (
    HPI_STATES,
    NEUTRAL,
    DeskConfig,
    ExecutionDesk,
    HPIMode,
    HPIObserverConfig,
    HPIPolicyConfig,
    SliceAdjustment,
)
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.execution.costs import (
    COST_COMPONENTS,
    decompose_costs,
    implementation_shortfall,
    markouts,
)
from market.execution.hpi import (
    COMPONENTS,
    HedgePressureIndex,
    HPIReading,
    book_stress,
    expiry_proximity,
    gamma_pressure,
    spot_velocity,
)
from market.execution.states import (
    ExecState,
    ExecutionStateMachine,
    StatePolicy,
    StateThresholds,
    default_policies,
)
from market.options.gex import Legs, observer_gex

# An empty side of the book leaves no spread to measure; it counts as this many baselines.
_EMPTY_SIDE_SPREAD_MULTIPLE = 4.0
# A calm book's cancel rate is learned; this floor keeps a silent start from dividing by zero.
_MIN_CANCEL_RATE = 1e-3
#: time to expiry (seconds) that stands for "no live expiry" in model features: the farthest
#: time-to-expiry bucket
NO_EXPIRY_SECONDS = 1e7
#: transition-log columns of the component z-scores
_Z_COLUMNS = tuple(f"z_{k}" for k in COMPONENTS)
#: a state policy equal to this one slices exactly like the plain schedule
_PLAIN = StatePolicy()


def build_state_machine(cfg: HPIPolicyConfig, tail_upgrade_bps=None,
                        tail_downgrade_bps=None) -> ExecutionStateMachine:
    """The state machine of a :class:`agents.desk.core.HPIPolicyConfig` (levels, dwell, overrides,
    playbook), optionally with p95 tail-cost levels (bps, three each: PRESSURED, DISLOCATED,
    SAFE; see :meth:`HPIPolicy.attach_tail_forecaster`).

    Raises ValueError naming the field when the levels are not ordered or overrides overlap.
    """
    tails = tail_upgrade_bps is not None or tail_downgrade_bps is not None
    if tails and any(t is None or len(t) != len(HPI_STATES)
                     for t in (tail_upgrade_bps, tail_downgrade_bps)):
        raise ValueError(f"tail_upgrade_bps and tail_downgrade_bps must each list "
                         f"{len(HPI_STATES)} levels ({', '.join(HPI_STATES)}), got "
                         f"{tail_upgrade_bps!r} and {tail_downgrade_bps!r}")
    thresholds = {}
    for i, name in enumerate(HPI_STATES):
        thresholds[name] = StateThresholds(
            upgrade=float(cfg.upgrade[i]), downgrade=float(cfg.downgrade[i]),
            tail_upgrade_bps=float(tail_upgrade_bps[i]) if tails else None,
            tail_downgrade_bps=float(tail_downgrade_bps[i]) if tails else None)
    policies = default_policies()
    for name, changes in cfg.state_policies.items():
        if name not in {s.value for s in ExecState}:
            raise ValueError(f"desk.hpi.state_policies has unknown state {name!r}; allowed: "
                             f"{[s.value for s in ExecState]}")
        unknown = set(changes) - set(StatePolicy.__dataclass_fields__)
        if unknown:
            allowed = sorted(StatePolicy.__dataclass_fields__)
            raise ValueError(f"desk.hpi.state_policies.{name} has unknown fields "
                             f"{sorted(unknown)}; allowed: {allowed}")
        state = ExecState(name)
        try:
            policies[state] = replace(policies[state], **dict(changes))
        except ValueError as exc:
            raise ValueError(f"desk.hpi.state_policies.{name}: {exc}") from exc
    try:
        machine = ExecutionStateMachine(thresholds, min_dwell_down=float(cfg.min_dwell_down_s),
                                        k_up=int(cfg.k_up), hysteresis=bool(cfg.hysteresis),
                                        policies=policies)
        for w in cfg.overrides:
            machine.force(w.state, float(w.start), float(w.end), w.note)
    except ValueError as exc:
        raise ValueError(f"desk.hpi: {exc}") from exc
    return machine


def scenario_event_windows(scenario, cfg: HPIObserverConfig) -> list[tuple[float, float, float]]:
    """Calendar windows an outsider knows in advance: scheduled events and each day's close.

    Every event of the scenario marked ``scheduled`` (any kind: a macro print, an auction) opens
    a window of ``macro_window_s`` seconds at its time (weight 1). Unscheduled events open none:
    the observer must not anticipate news that was not announced. Each day ends with a window of
    ``close_window_s`` seconds of weight ``close_weight`` (none when either is 0). Clock seconds.
    """
    windows = []
    for ev in scenario.events:
        if ev.scheduled:
            start = ev.day * SECONDS_PER_DAY + ev.time_of_day()
            windows.append((start, start + cfg.macro_window_s, 1.0))
    if cfg.close_window_s > 0 and cfg.close_weight > 0:
        for day in range(scenario.days):
            end = (day + 1) * SECONDS_PER_DAY
            windows.append((end - cfg.close_window_s, end, cfg.close_weight))
    return windows


def desk_side(desk: ExecutionDesk) -> int:
    """The desk's net direction: sign of ``sum(side * remaining)`` over its working parents
    (0 when idle or exactly balanced)."""
    net = sum(p.side * (p.qty - p.filled) for p in desk.parents if p.status == "active")
    return (net > 0) - (net < 0)


class HPIObserver:
    """Computes the HPI's four raw components from public data, one observation per step.

    :meth:`observe` gathers this step's inputs (plain numbers: mids, spread, touch size,
    cancels, open-interest aggregates); the component functions of :mod:`market.execution.hpi` then run
    vectorised over the observations gathered so far, and the index and its consumer (``sink``,
    e.g. the state machine) are stepped through them in order, whenever a reading is needed
    (:attr:`reading`, :meth:`flush`) or ``batch`` observations are pending. Results are the same
    as stepping eagerly; the pure functions' per-call cost is paid once per batch.

    Diagnostics kept next to the index (one row per observation in :meth:`frame`): the
    observer's GEX estimate near spot, in total and from calls and puts separately (so other
    sign conventions can be evaluated afterwards: flipping a type's sign flips its part), the
    pin concentration, the time to the nearest large expiry and its OI share, the spread
    baseline.
    """

    def __init__(self, cfg: HPIObserverConfig, model, *, batch: int = 256,
                 sink: Callable[[HPIReading], tuple[str, float]] | None = None) -> None:
        self.cfg = cfg
        fallbacks = {k: (float(v[0]), float(v[1])) for k, v in cfg.fallbacks.items()}
        # one observation per model step: the seconds of history become observation counts
        window = round(cfg.scaler_window_s / model.dt)
        if window < 4:
            raise ValueError(f"desk.hpi.observer.scaler_window_s must span at least 4 steps "
                             f"(>= {4 * model.dt:g} s at market.step_seconds={model.dt:g}), "
                             f"got {cfg.scaler_window_s!r}")
        min_history = min(max(1, round(cfg.min_history_s / model.dt)), window)
        self.index = HedgePressureIndex(
            weights={k: float(cfg.weights.get(k, 1.0)) for k in COMPONENTS},
            window=window, min_history=min_history,
            z_clip=float(cfg.z_clip), fallbacks=fallbacks,
            slope_window_seconds=float(cfg.slope_window_s))
        self.sign_convention = (float(cfg.sign_convention[0]), float(cfg.sign_convention[1]))
        self.event_windows = scenario_event_windows(model.cfg.scenario, cfg)
        self.model = model
        self.batch = int(batch)
        self.sink = sink
        self._reading: HPIReading | None = None
        self.gex_near = 0.0
        self.gex_total = 0.0
        self.gex_calls = 0.0
        self.gex_puts = 0.0
        self.concentration = 0.0
        self.seconds_to_expiry = math.nan
        self.oi_weight = 0.0
        self.spread_baseline = math.nan
        self.cancel_rate_baseline = math.nan
        self._next_gex = -math.inf
        self._expiry = math.nan  # the nearest large expiry (clock seconds)
        self._prev_time = math.nan
        self._spread_fast = math.nan
        self._depths: deque = deque()  # (time, touch size on the side the desk takes from)
        self._amends: deque = deque()  # (time, cumulative cancels and reduces)
        self._pending: list[tuple] = []
        self._rows: list[tuple] = []

    # ------------------------------------------------------------------ slow-moving inputs
    def _refresh_chain(self, model, now: float, spot: float) -> None:
        """Re-estimate GEX and the expiry aggregates from open interest (every gex interval)."""
        cfg = self.cfg
        chain = model.chain
        oi = np.asarray(chain.open_interest, dtype=float)
        live = chain.live(now)
        keep = live & (oi > 0)
        if not np.any(keep):
            self.gex_near = self.gex_total = self.concentration = 0.0
            self.gex_calls = self.gex_puts = 0.0
        else:
            # Only public fields enter: strikes, expiries, types and open interest.
            legs = Legs(strike=np.array(chain.strike)[keep],
                        is_call=np.array(chain.is_call)[keep],
                        multiplier=np.array(chain.multiplier)[keep],
                        expiry=np.array(chain.expiry)[keep], open_interest=oi[keep])
            years = np.maximum(legs.expiry - now, 1.0) / SECONDS_PER_YEAR
            vols = np.asarray(model.surface.vol(legs.strike, years, spot), dtype=float)
            rep = observer_gex(legs, spot, vols, now=now, sign_convention=self.sign_convention)
            distance = np.abs(rep.strikes - spot) / spot * 100.0
            self.gex_total = rep.total
            self.gex_calls, self.gex_puts = rep.call_total, rep.put_total
            self.gex_near = float(rep.by_strike[distance <= cfg.gex_band_pct].sum())
            scale = float(np.abs(rep.by_strike).sum())
            pin = float(rep.by_strike[distance <= cfg.pin_band_pct].sum())
            self.concentration = float(np.clip(pin / scale, -1.0, 1.0)) if scale > 0 else 0.0
        if not np.any(live):
            self._expiry, self.oi_weight = math.nan, 0.0
            return
        per_expiry, at = np.unique(np.asarray(chain.expiry)[live], return_inverse=True)
        oi_by = np.bincount(at, weights=oi[live], minlength=per_expiry.size)
        total = oi_by.sum()
        if total <= 0:
            self._expiry, self.oi_weight = float(per_expiry[0]), 0.0
            return
        share = oi_by / total
        large = np.flatnonzero(share >= self.cfg.large_oi_share)
        pick = int(large[0]) if large.size else int(np.argmax(share))  # sorted: nearest first
        self._expiry, self.oi_weight = float(per_expiry[pick]), float(share[pick])

    def _book_inputs(self, model, now: float, side: int) -> tuple:
        cfg = self.cfg
        book = model.book
        bb, ba = book.best_bid, book.best_ask
        dt = max(now - self._prev_time, model.dt) if self._prev_time == self._prev_time \
            else model.dt
        alpha = 1.0 - 0.5 ** (dt / cfg.baseline_halflife_s)
        fast = 1.0 - 0.5 ** (dt / cfg.spread_halflife_s)
        base = self.spread_baseline
        if bb is not None and ba is not None:
            raw = float(max(ba - bb, 1))
            self.spread_baseline = raw if base != base else base + alpha * (raw - base)
        else:
            self.spread_baseline = base if base == base else 1.0
            raw = _EMPTY_SIDE_SPREAD_MULTIPLE * self.spread_baseline
        # the quoted spread flickers tick by tick; stress is about a spread that stays wide
        smooth = self._spread_fast
        self._spread_fast = raw if smooth != smooth else smooth + fast * (raw - smooth)
        spread = self._spread_fast
        bid_touch = book.size_within(1, 0) if bb is not None else 0
        ask_touch = book.size_within(-1, 0) if ba is not None else 0
        depth = float(ask_touch if side > 0 else bid_touch if side < 0
                      else min(bid_touch, ask_touch))
        # depletion is measured against the touch ``depletion_window_s`` ago, not one step ago:
        # a one-step change is mostly queue churn
        self._depths.append((now, depth))
        while len(self._depths) > 1 and self._depths[1][0] <= now - cfg.depletion_window_s:
            self._depths.popleft()
        t_prev, prev = self._depths[0]
        depletion_dt = max(now - t_prev, model.dt)
        amends = book.n_events - book.n_orders
        self._amends.append((now, amends))
        while len(self._amends) > 1 and self._amends[1][0] <= now - cfg.cancel_window_s:
            self._amends.popleft()
        t0, a0 = self._amends[0]
        span = max(now - t0, dt)
        cancels = float(amends - a0)
        rate = cancels / span
        old = self.cancel_rate_baseline
        new = rate if old != old else old + alpha * (rate - old)
        self.cancel_rate_baseline = max(new, _MIN_CANCEL_RATE)
        self._prev_time = now
        return spread, self.spread_baseline, depth, prev, depletion_dt, cancels, span, \
            self.cancel_rate_baseline

    # ------------------------------------------------------------------ one observation
    def observe(self, model, side: int = 0) -> None:
        """Gather the inputs of one observation at ``model.now`` for a desk on ``side`` (+1,
        -1, 0 = idle). The reading follows on demand (:attr:`reading`)."""
        now = float(model.now)
        state = model.state
        spot = float(state.mid)
        if now >= self._next_gex:
            self._next_gex = now + self.cfg.gex_interval_s
            self._refresh_chain(model, now, spot)
        tte = max(self._expiry - now, 0.0) if self._expiry == self._expiry else math.nan
        self.seconds_to_expiry = tte
        self._pending.append((now, state.n, side, self.gex_near, self.concentration,
                              self.gex_total, self.gex_calls, self.gex_puts, tte, self.oi_weight,
                              *self._book_inputs(model, now, side)))
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Compute the components of every pending observation and step the index through
        them (and the sink, if any), recording one row per observation."""
        rows = self._pending
        if not rows:
            return
        self._pending = []
        cfg = self.cfg
        model = self.model
        cols = list(zip(*rows, strict=True))
        times = np.asarray(cols[0])
        steps = np.asarray(cols[1], dtype=np.int64)
        sides = np.asarray(cols[2], dtype=float)
        gex_near, conc, gex_total, gex_calls, gex_puts = (np.asarray(c, dtype=float)
                                                          for c in cols[3:8])
        tte, oi_w = np.asarray(cols[8], dtype=float), np.asarray(cols[9], dtype=float)
        spread, base, depth, prev, dt, cancels, span, cancel_base = (
            np.asarray(c, dtype=float) for c in cols[10:18])

        gp = np.atleast_1d(gamma_pressure(gex_near, conc, gex_scale=cfg.gex_scale,
                                          pin_weight=cfg.pin_weight))
        # velocity over the step-by-step mid tape, exactly as spot_velocity defines it
        k = max(1, round(cfg.velocity_window_s / model.dt))
        first = max(int(steps[0]) - k, 0)
        tape_steps = np.arange(first, int(steps[-1]) + 1)
        tape_v = spot_velocity(tape_steps * model.dt, model.state.mids[first: steps[-1] + 1],
                               k * model.dt, desk_side=1)
        v = tape_v[steps - first]
        sv = np.where(sides != 0, sides * v, np.abs(v))
        no_expiry = ~np.isfinite(tte)
        ep = np.atleast_1d(expiry_proximity(
            np.where(no_expiry, SECONDS_PER_YEAR, tte), np.where(no_expiry, 0.0, oi_w),
            self.event_windows, times, floor_hours=cfg.expiry_floor_hours,
            event_bump=cfg.event_bump, event_lead_seconds=cfg.event_lead_s))
        bs = self._stress(spread, base, depth, prev, dt, cancels, span, cancel_base)
        for i in range(len(rows)):
            reading = self.index.step(float(times[i]), float(gp[i]), float(sv[i]), float(ep[i]),
                                      float(bs[i]))
            self._reading = reading
            state, tail = self.sink(reading) if self.sink is not None else ("", math.nan)
            self._rows.append((reading.time, reading.hpi, reading.slope,
                               *(reading.z[c] for c in COMPONENTS),
                               *(reading.raw[c] for c in COMPONENTS), float(gex_near[i]),
                               float(gex_total[i]), float(gex_calls[i]), float(gex_puts[i]),
                               float(conc[i]), float(tte[i]),
                               float(oi_w[i]), float(base[i]), state, tail))

    def _stress(self, spread, base, depth, prev, dt, cancels, span, cancel_base) -> np.ndarray:
        # book_stress takes one calm cancel rate; the learned baseline moves slowly, so rows are
        # scaled to a unit baseline (cancels / rate) and the function gets a rate of 1.
        return np.atleast_1d(book_stress(spread, base, depth, prev, dt, cancels / cancel_base,
                                         span, weights=tuple(self.cfg.stress_weights),
                                         cancel_baseline_rate=1.0))

    @property
    def n_observations(self) -> int:
        """Observations gathered so far (computed or pending)."""
        return len(self._rows) + len(self._pending)

    @property
    def reading(self) -> HPIReading | None:
        """The index at the latest observation (None before the first)."""
        self.flush()
        return self._reading

    def frame(self) -> pd.DataFrame:
        """One row per observation: time, hpi, hpi_slope, z_* and raw_* per component, the
        observer's GEX near spot, in total and from calls and from puts (currency per 1%, under
        its sign convention), pin concentration, seconds to the nearest large expiry and its OI
        share, the spread baseline (ticks), the state and the tail forecast (bps, NaN without a
        forecaster)."""
        self.flush()
        columns = ["time", "hpi", "hpi_slope", *(f"z_{k}" for k in COMPONENTS),
                   *(f"raw_{k}" for k in COMPONENTS), "observer_gex_near", "observer_gex_total",
                   "observer_gex_calls", "observer_gex_puts", "pin_concentration",
                   "seconds_to_expiry", "expiry_oi_share", "spread_baseline_ticks", "desk_state",
                   "tail_p95_bps"]
        return pd.DataFrame(self._rows, columns=columns)


class HPIPolicy:
    """The desk policy driven by the HPI state machine (the :class:`agents.desk.core.SchedulePolicy`
    interface plus ``observe``, called by the desk once per step).

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

    def attach_tail_forecaster(self, forecaster: Callable, *, upgrade_bps, downgrade_bps,
                               interval_s: float = 10.0) -> None:
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
            raise ValueError(f"forecaster must be callable(policy, model), got "
                             f"{type(forecaster).__name__}")
        if self.observer.n_observations:
            raise ValueError("attach_tail_forecaster must be called before the first "
                             "observation (the state machine is rebuilt with the tail levels)")
        interval = float(interval_s)
        if not (math.isfinite(interval) and 0.0 < interval <= SECONDS_PER_DAY):
            raise ValueError(f"interval_s must be in (0, {SECONDS_PER_DAY:g}] seconds, got "
                             f"{interval_s!r}")
        self.machine = build_state_machine(self.cfg, list(upgrade_bps), list(downgrade_bps))
        self.tail_forecaster = forecaster
        self.tail_interval_s = interval
        self._next_tail = -math.inf

    def _step_machine(self, reading: HPIReading) -> tuple[str, float]:
        tail = self.tail_p95_bps if math.isfinite(self.tail_p95_bps) else None
        # the component z-scores ride along so every transition is logged with its causes
        z = reading.z
        self.machine.step(reading.time, reading.hpi, tail,
                          {key: z[k] for key, k in zip(_Z_COLUMNS, COMPONENTS, strict=True)})
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
                self.shadow_log.append({
                    "time": model.now, "parent_id": parent.parent_id, "state": state.value,
                    "hpi": self.observer.reading.hpi if self.observer.reading else math.nan,
                    **{f"would_{k}": (math.nan if v is None else float(v))
                       for k, v in adj._asdict().items()}})
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
    latency, from the book (:func:`agents.desk.core.book_features`) and the policy's current reading,
    and returns the model's ``quantile`` forecast of slippage (bps, + = cost).
    ``use_hedge=False`` forecasts with Layer A alone.
    """

    def __init__(self, slippage_model, quantile: float = 0.95, *, nominal_qty: int = 1_000,
                 urgency: float = 0.5, use_hedge: bool = True) -> None:
        if quantile not in getattr(slippage_model, "quantiles", ()):
            raise ValueError(f"quantile must be one of the model's fitted levels "
                             f"{getattr(slippage_model, 'quantiles', ())}, got {quantile!r}")
        if isinstance(nominal_qty, bool) or not isinstance(nominal_qty, (int, np.integer)) \
                or nominal_qty < 1:
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
        from agents.desk.core import book_features

        desk = model.populations[ExecutionDesk.population][0]
        side = desk_side(desk) or 1
        row = book_features(model, side, self.nominal_qty, float(model.state.mid))
        r = policy.observer.reading
        tte = policy.observer.seconds_to_expiry
        row.update(latency_ms=0.0, urgency=self.urgency,
                   hpi=r.hpi if r else 0.0, hpi_slope=r.slope if r else 0.0,
                   seconds_to_expiry=tte if tte == tte else NO_EXPIRY_SECONDS)
        return pd.DataFrame([row])

    def __call__(self, policy: HPIPolicy, model) -> float:
        frame = self.features(policy, model)
        return float(self.model.predict(frame, self.quantile, use_hedge=self.use_hedge)[0])


def make_policy(desk_cfg: DeskConfig, model):
    """The desk's policy for its config: :class:`HPIPolicy` unless ``desk.hpi.mode`` is off."""
    from agents.desk.core import SchedulePolicy

    if desk_cfg.hpi.mode is HPIMode.off:
        return SchedulePolicy()
    return HPIPolicy(desk_cfg.hpi, desk_cfg, model)


# ---------------------------------------------------------------------------- cost tables
def _mid_at(times: np.ndarray, mids: np.ndarray, t) -> np.ndarray:
    """Last mid observed at or before ``t`` (the first before the record, the last after)."""
    idx = np.searchsorted(times, np.asarray(t, dtype=float), side="right") - 1
    return mids[np.clip(idx, 0, mids.size - 1)]


def _mid_series(model) -> tuple[np.ndarray, np.ndarray]:
    n = model.state.n
    mids = np.asarray(model.state.mids[: n + 1], dtype=float)
    return np.arange(n + 1) * model.dt, mids


def child_frame(desk: ExecutionDesk) -> pd.DataFrame:
    """Every child with the inputs of its cost decomposition.

    Adds to :meth:`ExecutionDesk.child_records`: ``parent_arrival_mid``, ``aggressive_share``
    (crossed share of the filled quantity), ``mid_after`` (the mid ``desk.mid_after_s`` after
    the child's end), ``markout_<h>s`` per horizon (bps of the VWAP, + = adverse; NaN beyond the
    run) and ``shortfall_bps`` (``side * (VWAP - parent arrival mid)``, bps of that mid).
    """
    rows = desk.child_records()
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    times, mids = _mid_series(desk.model)
    arrival = {p.parent_id: p.arrival_mid for p in desk.parents}
    frame["parent_arrival_mid"] = frame["parent_id"].map(arrival)
    filled = frame["filled"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["aggressive_share"] = np.where(
            filled > 0, 1.0 - frame["passive_filled"].to_numpy() / np.maximum(filled, 1), 0.0)
    end = frame["end_time"].to_numpy(dtype=float)
    end = np.where(np.isfinite(end), end, times[-1])
    frame["mid_after"] = _mid_at(times, mids, end + desk.cfg.mid_after_s)
    horizons = list(desk.cfg.markout_horizons_s)
    px = frame["avg_price"].to_numpy(dtype=float)
    has = filled > 0
    marks = np.full((len(frame), len(horizons)), np.nan)
    if has.any():
        marks[has] = markouts(frame["side"].to_numpy()[has], end[has], px[has], times, mids,
                              horizons)
    for j, h in enumerate(horizons):
        frame[f"markout_{h:g}s"] = marks[:, j]
    m0 = frame["parent_arrival_mid"].to_numpy(dtype=float)
    frame["shortfall_bps"] = np.where(has, 1e4 * frame["side"] * (px - m0) / m0, np.nan)
    return frame


def parent_frame(desk: ExecutionDesk) -> pd.DataFrame:
    """Every parent with ``final_mid``: the mid when it ended (completed, expired) or at the end
    of the run if still working, the price its unfilled remainder is marked at."""
    frame = pd.DataFrame(desk.parent_records())
    if frame.empty:
        return frame
    times, mids = _mid_series(desk.model)
    end = frame["end_time"].to_numpy(dtype=float)
    frame["final_mid"] = _mid_at(times, mids, np.where(np.isfinite(end), end, times[-1]))
    return frame


def decompose_frames(children: pd.DataFrame, parents: pd.DataFrame, *, betas=None,
                     expected_perm_bps: np.ndarray | None = None,
                     vol_state: str = "volatility"
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost decomposition of every filled child and every parent (bps of the arrival mid).

    ``children`` and ``parents`` as from :func:`child_frame` / :func:`parent_frame` (any rows
    with those columns, e.g. pooled over sessions with a ``session`` column, which then keys
    parents together with ``parent_id``). ``betas`` (three numbers or a
    :class:`market.execution.costs.HedgeTermFit`) give the hedge-flow term ``b1 HPI + b2 HPI*VolState +
    b3 HPI*QueueFragility`` with VolState the ``vol_state`` column; ``expected_perm_bps`` (one
    per child row, aligned with ``children``) is an own-impact model's permanent impact. Returns
    the filled children with ``cost_<component>`` and ``cost_total`` columns (per share, bps),
    and the parents with the target-weighted components, ``cost_opportunity``, ``cost_total``
    and ``is_bps`` (:func:`market.execution.costs.implementation_shortfall` of the same fills, which
    ``cost_total`` equals).
    """
    keys = ["session", "parent_id"] if "session" in children.columns else ["parent_id"]
    kids = children.copy()
    if expected_perm_bps is not None:
        perm = np.asarray(expected_perm_bps, dtype=float)
        if perm.shape != (len(kids),):
            raise ValueError(f"expected_perm_bps must have one value per child row "
                             f"({len(kids)}), got shape {perm.shape}")
        kids["_perm"] = perm
    kids = kids[kids["filled"] > 0]
    hedge_inputs = ("hpi", vol_state, "queue_fragility")
    for col in hedge_inputs:
        if betas is not None and col not in kids.columns:
            raise ValueError(f"children needs a {col!r} column for the hedge-flow term")
    child_parts, parent_rows = [], []
    by_parent = {tuple(k) if isinstance(k, tuple) else (k,): g
                 for k, g in kids.groupby(keys, sort=False)}
    for _, p in parents.iterrows():
        key = tuple(p[k] for k in keys)
        g = by_parent.get(key)
        row = {k: p[k] for k in keys}
        final_mid = float(p["final_mid"])
        if g is None or g.empty:
            zero = dict.fromkeys((f"cost_{c}" for c in COST_COMPONENTS), 0.0)
            row.update(zero, cost_opportunity=0.0, cost_total=0.0, fill_rate=0.0,
                       is_bps=0.0)
            # nothing filled: the whole order is opportunity cost against the final mid
            opp = 1e4 * p["side"] * (final_mid - p["arrival_mid"]) / p["arrival_mid"]
            row.update(cost_opportunity=opp, cost_total=opp, is_bps=opp)
            parent_rows.append(row)
            continue
        hedge_kw = {}
        if betas is not None:
            hedge_kw = {"hpi": g["hpi"].to_numpy(float), "vol_state": g[vol_state].to_numpy(float),
                        "queue_fragility": g["queue_fragility"].to_numpy(float), "betas": betas}
        full = int(g["filled"].sum()) >= int(p["qty"])
        dec = decompose_costs(
            int(p["side"]), float(p["arrival_mid"]), g["arrival_mid"].to_numpy(float),
            g["half_spread"].to_numpy(float), g["avg_price"].to_numpy(float),
            g["filled"].to_numpy(float), g["mid_after"].to_numpy(float),
            aggressive_share=np.clip(g["aggressive_share"].to_numpy(float), 0.0, 1.0),
            expected_perm_bps=g["_perm"].to_numpy(float) if "_perm" in g else None,
            target_qty=float(p["qty"]), final_mid=None if full else final_mid, **hedge_kw)
        part = dec.children.drop(columns="qty").add_prefix("cost_")
        part.index = g.index
        child_parts.append(part)
        row.update({f"cost_{k}": v for k, v in dec.parent.items() if k != "fill_rate"})
        row["fill_rate"] = dec.parent["fill_rate"]
        fills_px = g["avg_price"].to_numpy(float)
        row["is_bps"] = implementation_shortfall(
            int(p["side"]), float(p["arrival_mid"]), fills_px, g["filled"].to_numpy(float),
            float(p["qty"]), final_mid=None if full else final_mid).total_bps
        parent_rows.append(row)
    child_costs = pd.concat(child_parts) if child_parts else pd.DataFrame()
    out_children = kids.drop(columns=[c for c in ("_perm",) if c in kids]).join(child_costs)
    out_parents = parents.merge(pd.DataFrame(parent_rows), on=keys, how="left")
    return out_children, out_parents


def desk_tables(desk: ExecutionDesk, model) -> dict[str, pd.DataFrame]:
    """The desk's Parquet tables of a run: parents and children with their plain cost
    decomposition, and with an HPI policy the per-step index, the state transitions (with the
    inputs that caused them) and, in shadow mode, what the policy would have done."""
    children = child_frame(desk)
    parents = parent_frame(desk)
    out = {}
    if not parents.empty:
        kids, pars = decompose_frames(children, parents)
        out["desk_parents"] = pars
        out["desk_children"] = children.join(
            kids[[c for c in kids.columns if c.startswith("cost_")]])
    policy = desk.policy
    if isinstance(policy, HPIPolicy):
        out["desk_hpi"] = policy.observer.frame()  # flushes, so the machine is up to date
        out["desk_transitions"] = policy.machine.transitions_frame()
        if policy.shadow_log:
            out["desk_shadow"] = pd.DataFrame(policy.shadow_log)
    return out


def desk_summary(desk: ExecutionDesk) -> dict:
    """Desk figures for summary.json, with the HPI policy's mode, state occupancy (seconds) and
    transition count when it runs."""
    out = dict(desk.summary())
    children = desk.children
    resting = [c for c in children if c.passive_order_id]
    out["queue_loss_rate"] = (sum(c.queue_lost for c in resting) / len(resting)
                              if resting else math.nan)
    policy = desk.policy
    if isinstance(policy, HPIPolicy):
        out["hpi_mode"] = policy.mode.value
        frame = policy.observer.frame()  # flushes, so the machine is up to date
        out["state_occupancy_s"] = policy.machine.occupancy_seconds()
        out["n_transitions"] = len(policy.machine.transitions)
        out["hpi_mean"] = float(frame["hpi"].mean()) if len(frame) else math.nan
        out["hpi_p95"] = float(frame["hpi"].quantile(0.95)) if len(frame) else math.nan
    return out
