"""The execution desk: works parent orders as child orders through the book.

Parent orders arrive from scenario events (``model`` calls :meth:`ExecutionDesk.add_parent` with
an :class:`experiments.config.EventConfig` of kind ``parent_order``). Each parent follows one of
two schedules of cumulative executed quantity:

* **POV** (percentage of volume). With ``volume_basis=since_arrival`` the target is
  ``participation`` x the market volume printed since the parent arrived; with
  ``volume_basis=previous_minute`` the desk trades, per second, ``participation`` x the volume of
  the last ``volume_window_s`` seconds / ``volume_window_s`` (the 2010 sell program's "9% of the
  previous minute's volume"). The desk's own fills are left out of the volume when
  ``exclude_own_volume`` is set.
* **TWAP**: evenly over ``horizon_s``, one slice ahead, so the last child goes out by the horizon.

Every ``slice_interval_s`` seconds, when a parent is behind its schedule and has no child working,
the desk sends one child: a passive limit at the near touch (the best bid for a buy) that rests
for a dwell of ``passive_dwell_s * (1 - urgency)`` seconds, after which its remainder is crossed
with an IOC up to ``cross_ticks`` beyond the far touch (a market order when ``cross_ticks`` is
``None``). A parent's ``limit_price`` caps every child (buys never above it, sells never below).
Nothing is sent while trading is halted. Parents are day orders: an unfinished parent expires at
the close of its arrival day.

How the schedule is adjusted is delegated to ``desk.policy``, consulted once per slice of each
parent. The default :class:`SchedulePolicy` is the plain schedule; a state machine (for example
one driven by the Hedge Pressure Index) replaces it by returning other :class:`SliceAdjustment`
values from :meth:`SchedulePolicy.adjust` and may watch finished children in
:meth:`SchedulePolicy.on_child_done`.

Conventions: side +1 buy / -1 sell; quantities in shares; prices in currency (ticks only inside the
book); time in clock seconds; slippage in basis points of the arrival mid, positive = cost to the
desk: ``side * (average fill price - arrival mid) / arrival mid * 1e4``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

import numpy as np

from agents.base import Participant, as_enum


class VolumeBasis(Enum):
    """Which market volume a POV parent participates in."""

    since_arrival = "since_arrival"
    previous_minute = "previous_minute"


class HPIMode(Enum):
    """How the Hedge Pressure Index policy is deployed: ``off`` (the plain schedule, no index),
    ``shadow`` (the index and state machine run and log what they would have done while the desk
    slices plainly) or ``live`` (the state machine drives the slicing)."""

    off = "off"
    shadow = "shadow"
    live = "live"


#: execution states above CALM, in the order of the threshold lists of :class:`HPIPolicyConfig`
HPI_STATES: tuple[str, ...] = ("pressured", "dislocated", "safe")


def _check(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False) -> None:
    # Imported here: experiments.config imports this module for the schema.
    from experiments.config import check_range

    check_range(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


@dataclass
class HPIObserverConfig:
    """What the outside observer assumes and how it turns the public view into the HPI's inputs.

    Options sensitivity (gamma pressure):

    - ``sign_convention``: ``[call_sign, put_sign]``, the dealers' assumed side per option type
      (+1 long, -1 short); the default ``[-1, 1]`` is dealers short calls, long puts.
    - ``gex_band_pct``: strikes within this percent of spot count as "near spot" for the GEX sum.
    - ``pin_band_pct``: the pin zone, in percent of spot, for the signed pin concentration.
    - ``gex_scale``: GEX (currency per 1% move) that counts as one unit of gamma pressure.
    - ``pin_weight``: pressure removed by a fully concentrated long-gamma pin zone.
    - ``gex_interval_s``: seconds between re-computations of the observer's GEX (open interest
      and spot move slowly; the last estimate is held in between).

    Spot velocity: ``velocity_window_s`` seconds of trailing mid history.

    Event clock (expiry proximity):

    - ``large_oi_share``: an expiry counts as "large" when it holds at least this share of the
      open interest; the nearest large expiry sets the 0DTE term.
    - ``expiry_floor_hours``: the 1/sqrt(hours) term is capped at this many hours to expiry.
    - ``event_bump``, ``event_lead_s``: the height of an event window and the ramp before it.
    - ``macro_window_s``: every event of the scenario marked ``scheduled`` (on the public
      calendar: a macro print, an auction) opens a window of this length at its time.
      Unscheduled events get none: an outsider sees them only through prices.
    - ``close_window_s``, ``close_weight``: the last seconds of each day form an event window of
      this weight (auction/close pressure).

    Book stress:

    - ``stress_weights``: weights of spread widening, top-of-book depletion and cancel excess.
    - ``spread_halflife_s``: half-life of the smoothing of the quoted spread (the stress is a
      spread that stays wide, not one that flickers for a step).
    - ``depletion_window_s``: the touch size is compared with its value this many seconds ago.
    - ``cancel_window_s``: seconds over which cancels are counted.
    - ``baseline_halflife_s``: half-life of the calm baselines (spread, cancel rate).

    Robust scaling and combination:

    - ``weights``: weight per component (``gamma_pressure``, ``spot_velocity``,
      ``expiry_proximity``, ``book_stress``); absent names weigh 1.
    - ``fallbacks``: per component ``[centre, scale]`` of the calm reference, used until a
      scaler has ``min_history_s`` of history of its own (absent components use
      :data:`market.execution.hpi.DEFAULT_FALLBACKS`); a study calibrates them on reference sessions.
    - ``scaler_window_s``: the span of the rolling history (median, IQR) of each scaler, and
      ``min_history_s``: the history a scaler needs before it trusts its own median/IQR instead
      of the fallback, both in clock seconds of observations. The observer takes one
      observation per model step, so these become ``round(x / market.step_seconds)``
      observations (the window at least 4). The defaults (23,400 s, one trading day) keep a
      one-day run on the fallbacks from start to end, on purpose: a rolling median of the same
      day would absorb the very trends (open interest building up, expiry approaching) the
      index is meant to show. A multi-day run switches to the rolling scaling once a full
      day's history has been seen (from the second day on).
    - ``z_clip``: robust z-scores are clipped to +/- this; ``slope_window_s``: the trailing span
      of the HPI slope.
    """

    sign_convention: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    gex_band_pct: float = 2.0
    pin_band_pct: float = 1.0
    gex_scale: float = 1e6
    pin_weight: float = 1.0
    gex_interval_s: float = 15.0
    velocity_window_s: float = 60.0
    large_oi_share: float = 0.1
    expiry_floor_hours: float = 0.25
    event_bump: float = 1.0
    event_lead_s: float = 300.0
    macro_window_s: float = 900.0
    close_window_s: float = 1800.0
    close_weight: float = 0.5
    stress_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    spread_halflife_s: float = 10.0
    depletion_window_s: float = 10.0
    cancel_window_s: float = 30.0
    baseline_halflife_s: float = 1800.0
    weights: dict[str, float] = field(default_factory=dict)
    fallbacks: dict[str, list[float]] = field(default_factory=dict)
    scaler_window_s: float = 23_400.0
    min_history_s: float = 23_400.0
    z_clip: float = 4.0
    slope_window_s: float = 60.0

    def __post_init__(self) -> None:
        p = "desk.hpi.observer"
        signs = list(self.sign_convention)
        if len(signs) != 2 or any(s not in (-1, 1) for s in signs):
            raise ValueError(f"{p}.sign_convention must be [call_sign, put_sign], each +1 or -1, "
                             f"got {signs!r}")
        _check(f"{p}.gex_band_pct", self.gex_band_pct, 0.0, 100.0, lo_open=True)
        _check(f"{p}.pin_band_pct", self.pin_band_pct, 0.0, 100.0, lo_open=True)
        _check(f"{p}.gex_scale", self.gex_scale, 0.0, 1e15, lo_open=True)
        _check(f"{p}.pin_weight", self.pin_weight, 0.0, 1e3)
        _check(f"{p}.gex_interval_s", self.gex_interval_s, 0.0, 23_400.0)
        _check(f"{p}.velocity_window_s", self.velocity_window_s, 0.0, 23_400.0, lo_open=True)
        _check(f"{p}.large_oi_share", self.large_oi_share, 0.0, 1.0)
        _check(f"{p}.expiry_floor_hours", self.expiry_floor_hours, 0.0, 1_000.0, lo_open=True)
        _check(f"{p}.event_bump", self.event_bump, 0.0, 1e3)
        _check(f"{p}.event_lead_s", self.event_lead_s, 0.0, 23_400.0)
        _check(f"{p}.macro_window_s", self.macro_window_s, 0.0, 23_400.0, lo_open=True)
        _check(f"{p}.close_window_s", self.close_window_s, 0.0, 23_400.0)
        _check(f"{p}.close_weight", self.close_weight, 0.0, 1e3)
        if len(self.stress_weights) != 3:
            raise ValueError(f"{p}.stress_weights must be three numbers (spread, depletion, "
                             f"cancels), got {list(self.stress_weights)!r}")
        for i, w in enumerate(self.stress_weights):
            _check(f"{p}.stress_weights[{i}]", w, 0.0, 1e3)
        from market.execution.hpi import COMPONENTS

        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"{p}.weights has unknown components {sorted(unknown)}; allowed: "
                             f"{list(COMPONENTS)}")
        for name, w in self.weights.items():
            _check(f"{p}.weights.{name}", w, -1e3, 1e3)
        unknown = set(self.fallbacks) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"{p}.fallbacks has unknown components {sorted(unknown)}; "
                             f"allowed: {list(COMPONENTS)}")
        for name, pair in self.fallbacks.items():
            if len(pair) != 2:
                raise ValueError(f"{p}.fallbacks.{name} must be [centre, scale], got "
                                 f"{list(pair)!r}")
            _check(f"{p}.fallbacks.{name}[0]", pair[0], -1e15, 1e15)
            _check(f"{p}.fallbacks.{name}[1]", pair[1], 0.0, 1e15, lo_open=True)
        _check(f"{p}.spread_halflife_s", self.spread_halflife_s, 0.0, 23_400.0, lo_open=True)
        _check(f"{p}.depletion_window_s", self.depletion_window_s, 0.0, 23_400.0, lo_open=True)
        _check(f"{p}.cancel_window_s", self.cancel_window_s, 0.0, 23_400.0, lo_open=True)
        _check(f"{p}.baseline_halflife_s", self.baseline_halflife_s, 0.0, 1e7, lo_open=True)
        _check(f"{p}.scaler_window_s", self.scaler_window_s, 0.0, 1e8, lo_open=True)
        _check(f"{p}.min_history_s", self.min_history_s, 0.0, self.scaler_window_s,
               lo_open=True)
        _check(f"{p}.z_clip", self.z_clip, 0.0, 1e3, lo_open=True)
        _check(f"{p}.slope_window_s", self.slope_window_s, 0.0, 23_400.0, lo_open=True)


@dataclass
class OverrideWindow:
    """A manual execution state forced over clock seconds ``[start, end)`` (event-day playbook).

    ``state`` is ``calm``, ``pressured``, ``dislocated`` or ``safe``; ``note`` is logged."""

    state: str = "safe"
    start: float = 0.0
    end: float = 0.0
    note: str = ""


@dataclass
class HPIPolicyConfig:
    """The HPI-driven state machine of the desk (see :mod:`agents.desk.hpi`).

    - ``mode``: ``off`` | ``shadow`` | ``live`` (:class:`HPIMode`).
    - ``upgrade``, ``downgrade``: HPI levels (sums of robust z-scores) entering and leaving
      PRESSURED, DISLOCATED and SAFE, in that order; each downgrade below its upgrade
      (the hysteresis band), both increasing across states. The defaults suit four components
      scaled on a calm reference, whose sum rarely passes 4.5 on a calm day.
    - ``hysteresis``: False = plain thresholding (for comparison); ``k_up``: consecutive breaching
      observations before an upgrade; ``min_dwell_down_s``: seconds the inputs must stay below a
      state's downgrade level before stepping down one state.
    - ``overrides``: manual state windows (:class:`OverrideWindow`), which may not overlap.
    - ``state_policies``: per state (``calm`` ... ``safe``) fields of
      :class:`market.execution.states.StatePolicy` replacing the playbook's defaults, e.g.
      ``{dislocated: {participation_multiplier: 0.8}}``. Every state's policy applies while the
      machine is in it, CALM's too (its defaults are the plain schedule).
    - ``gate_spread_multiple``: with venue-quality gating on (DISLOCATED, SAFE) a child does not
      cross while the spread exceeds this multiple of the calm baseline spread; it waits at most
      ``gate_max_wait_s`` past its dwell, then gives its remainder back to the parent.
    - ``observer``: :class:`HPIObserverConfig`.
    """

    mode: HPIMode = HPIMode.off
    upgrade: list[float] = field(default_factory=lambda: [3.0, 6.0, 9.5])
    downgrade: list[float] = field(default_factory=lambda: [2.0, 4.5, 7.5])
    hysteresis: bool = True
    k_up: int = 3
    min_dwell_down_s: float = 300.0
    overrides: list[OverrideWindow] = field(default_factory=list)
    state_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate_spread_multiple: float = 2.0
    gate_max_wait_s: float = 30.0
    observer: HPIObserverConfig = field(default_factory=HPIObserverConfig)

    def __post_init__(self) -> None:
        p = "desk.hpi"
        self.mode = as_enum(f"{p}.mode", self.mode, HPIMode)
        for name in ("upgrade", "downgrade"):
            values = list(getattr(self, name))
            if len(values) != len(HPI_STATES):
                raise ValueError(f"{p}.{name} must list {len(HPI_STATES)} levels "
                                 f"({', '.join(HPI_STATES)}), got {values!r}")
            for state, v in zip(HPI_STATES, values, strict=True):
                _check(f"{p}.{name} ({state})", v, -1e6, 1e6)
        if not isinstance(self.hysteresis, bool):
            raise ValueError(f"{p}.hysteresis must be true or false, got {self.hysteresis!r}")
        _check(f"{p}.k_up", self.k_up, 1, 10**6)
        _check(f"{p}.min_dwell_down_s", self.min_dwell_down_s, 0.0, 1e7)
        _check(f"{p}.gate_spread_multiple", self.gate_spread_multiple, 1.0, 1e3)
        _check(f"{p}.gate_max_wait_s", self.gate_max_wait_s, 0.0, 23_400.0)
        allowed = ("calm", *HPI_STATES)
        for i, w in enumerate(self.overrides):
            if isinstance(w, dict):
                w = self.overrides[i] = OverrideWindow(**w)
            if w.state not in allowed:
                raise ValueError(f"{p}.overrides[{i}].state must be one of {list(allowed)}, "
                                 f"got {w.state!r}")
            _check(f"{p}.overrides[{i}].start", w.start, 0.0, 1e9)
            _check(f"{p}.overrides[{i}].end", w.end, w.start, 1e9, lo_open=True)
        # the state machine checks the ordering of the levels and overlapping overrides; build
        # one now so a bad config fails here, before any simulation work
        from agents.desk.hpi import build_state_machine

        build_state_machine(self)




@dataclass
class DeskConfig:
    """Parameters of the execution desk (times in seconds, quantities in shares).

    - ``enabled``: build the desk at all.
    - ``rate``: wake-ups per second; the desk only works when a slice or a dwell is due, so a
      rate above one per step costs little and keeps its timing within a step.
    - ``slice_interval_s``: time between slicing decisions of one parent.
    - ``passive_dwell_s``: how long a passive child rests at the touch (scaled by
      ``1 - urgency`` of its parent) before its remainder is crossed.
    - ``cross_ticks``: how far beyond the far touch a crossing IOC may reach; ``None`` = market
      order (still capped by a parent's limit price).
    - ``max_child_qty``, ``min_child_qty``: child size bounds (a parent's last child may be
      smaller than ``min_child_qty``).
    - ``volume_basis``, ``volume_window_s``, ``exclude_own_volume``: POV volume (module docs).
    - ``initial_cash`` (currency), ``initial_shares``: the desk's endowment.
    - ``queue_loss_reference``: the share of queue priority a resting child may lose before it
      counts as having lost its queue (a measurement for every policy; a state machine may also
      act on its own, tighter thresholds).
    - ``mid_after_s``: the horizon after a child's last fill at which the mid is read for the
      cost decomposition (the transient part of impact has reverted by then).
    - ``markout_horizons_s``: markout horizons of every child (seconds).
    - ``hpi``: the Hedge Pressure Index policy (:class:`HPIPolicyConfig`; ``mode=off`` = plain).
    """

    enabled: bool = True
    rate: float = 2.0
    slice_interval_s: float = 5.0
    passive_dwell_s: float = 4.0
    cross_ticks: int | None = 5
    max_child_qty: int = 5_000
    min_child_qty: int = 1
    volume_basis: VolumeBasis = VolumeBasis.since_arrival
    volume_window_s: float = 60.0
    exclude_own_volume: bool = True
    initial_cash: float = 0.0
    initial_shares: int = 0
    queue_loss_reference: float = 0.5
    mid_after_s: float = 30.0
    markout_horizons_s: list[float] = field(default_factory=lambda: [5.0, 30.0, 120.0])
    hpi: HPIPolicyConfig = field(default_factory=HPIPolicyConfig)

    def __post_init__(self) -> None:
        for name in ("enabled", "exclude_own_volume"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"desk.{name} must be true or false, got {getattr(self, name)!r}")
        _check("desk.rate", self.rate, 0.0, 1_000.0, lo_open=True)
        _check("desk.slice_interval_s", self.slice_interval_s, 0.0, 23_400.0, lo_open=True)
        _check("desk.passive_dwell_s", self.passive_dwell_s, 0.0, 23_400.0)
        if self.cross_ticks is not None:
            _check("desk.cross_ticks", self.cross_ticks, 0, 10**6)
        _check("desk.max_child_qty", self.max_child_qty, 1, 10**12)
        _check("desk.min_child_qty", self.min_child_qty, 1, self.max_child_qty)
        self.volume_basis = VolumeBasis(self.volume_basis)
        _check("desk.volume_window_s", self.volume_window_s, 0.0, 23_400.0, lo_open=True)
        _check("desk.initial_cash", self.initial_cash, -1e15, 1e15)
        _check("desk.initial_shares", self.initial_shares, -(10**15), 10**15)
        _check("desk.queue_loss_reference", self.queue_loss_reference, 0.0, 1.0, lo_open=True)
        _check("desk.mid_after_s", self.mid_after_s, 0.0, 23_400.0)
        if not self.markout_horizons_s:
            raise ValueError("desk.markout_horizons_s must list at least one horizon")
        for i, h in enumerate(self.markout_horizons_s):
            _check(f"desk.markout_horizons_s[{i}]", h, 0.0, 23_400.0)
        if isinstance(self.hpi, dict):
            self.hpi = HPIPolicyConfig(**self.hpi)


# ---------------------------------------------------------------------------- policy plug-in
class SliceAdjustment(NamedTuple):
    """How a policy changes one slicing decision (the neutral values leave it unchanged).

    - ``participation_scale`` (>= 0): multiplies a POV parent's participation rate.
    - ``size_scale`` (> 0): multiplies ``max_child_qty``.
    - ``dwell_s`` (>= 0 or ``None``): passive dwell of this child in seconds, replacing
      ``passive_dwell_s * (1 - urgency)``; 0 crosses at once.
    - ``horizon_scale`` (>= 1 stretches): multiplies a TWAP parent's horizon.
    - ``max_cross_ticks`` (>= 0 or ``None``): caps how far beyond the far touch a cross may reach.
    - ``allow_cross``: ``False`` = passive only; an unfilled remainder is cancelled at the end of
      the dwell instead of crossed.
    - ``start_new``: ``False`` = a parent that has sent no child yet does not start (no new
      risk-increasing flow); started parents go on.
    - ``queue_loss_threshold`` (in (0, 1] or ``None``): a resting child whose queue loss (the
      share of its queue priority lost since it joined, see :meth:`ExecutionDesk.queue_loss`)
      reaches this ends its dwell at once; ``None`` = never.
    - ``cross_spread_cap_ticks`` (>= 1 or ``None``): quality gate; the child does not cross
      while the spread is wider than this many ticks, waiting at most ``gate_wait_s`` seconds
      past its dwell, after which its remainder goes back to the parent uncrossed.
    """

    participation_scale: float = 1.0
    size_scale: float = 1.0
    dwell_s: float | None = None
    horizon_scale: float = 1.0
    max_cross_ticks: int | None = None
    allow_cross: bool = True
    start_new: bool = True
    queue_loss_threshold: float | None = None
    cross_spread_cap_ticks: int | None = None
    gate_wait_s: float = 0.0


NEUTRAL = SliceAdjustment()


def check_adjustment(adj: SliceAdjustment) -> SliceAdjustment:
    """Return ``adj`` if every field is in range, else raise ValueError naming the field."""
    if not isinstance(adj, SliceAdjustment):
        raise ValueError(f"policy.adjust must return a SliceAdjustment, got {type(adj).__name__}")

    def bad(name: str, allowed: str) -> ValueError:
        return ValueError(f"SliceAdjustment.{name} must be {allowed}, got {getattr(adj, name)!r}")

    if not (math.isfinite(adj.participation_scale) and adj.participation_scale >= 0.0):
        raise bad("participation_scale", "finite and >= 0")
    if not (math.isfinite(adj.size_scale) and adj.size_scale > 0.0):
        raise bad("size_scale", "finite and > 0")
    if adj.dwell_s is not None and not (math.isfinite(adj.dwell_s) and adj.dwell_s >= 0.0):
        raise bad("dwell_s", "None or finite and >= 0")
    if not (math.isfinite(adj.horizon_scale) and adj.horizon_scale > 0.0):
        raise bad("horizon_scale", "finite and > 0")
    if adj.max_cross_ticks is not None and not (
        isinstance(adj.max_cross_ticks, (int, np.integer)) and adj.max_cross_ticks >= 0
    ):
        raise bad("max_cross_ticks", "None or an integer >= 0")
    if adj.queue_loss_threshold is not None and not (0.0 < adj.queue_loss_threshold <= 1.0):
        raise bad("queue_loss_threshold", "None or in (0, 1]")
    cap = adj.cross_spread_cap_ticks
    if cap is not None and not (isinstance(cap, (int, np.integer)) and cap >= 1):
        raise bad("cross_spread_cap_ticks", "None or an integer >= 1")
    if not (math.isfinite(adj.gate_wait_s) and adj.gate_wait_s >= 0.0):
        raise bad("gate_wait_s", "finite and >= 0")
    return adj


class SchedulePolicy:
    """The plain schedule: every slice runs as configured.

    A replacement policy keeps this interface: ``state`` (a short label recorded on every child),
    ``adjust(model, parent)`` returning a :class:`SliceAdjustment` (called once per slice of each
    parent, before the child is sized), and ``on_child_done(child)`` (called when a child has
    finished, with its fills and slippage final).

    The per-state policies of :mod:`market.execution.states` map onto an adjustment field by
    field: ``slice_cap`` -> ``size_scale``, ``participation_multiplier`` ->
    ``participation_scale``, ``passive_dwell_scale`` -> ``dwell_s`` (times the plain dwell),
    ``horizon_stretch`` -> ``horizon_scale``, ``allow_risk_increasing`` -> ``start_new``,
    ``queue_loss_threshold`` -> ``queue_loss_threshold``, ``venue_quality_gating`` ->
    ``cross_spread_cap_ticks``, ``strict_residual`` -> ``max_cross_ticks=0`` (see
    :class:`agents.desk.hpi.HPIPolicy`).
    """

    state: str = "schedule"

    def adjust(self, model, parent: ParentOrder) -> SliceAdjustment:
        return NEUTRAL

    def on_child_done(self, child: ChildOrder) -> None:
        """Plain schedule learns nothing from fills."""


# ---------------------------------------------------------------------------- records
def _slippage_bps(side: int, avg_price: float, arrival_mid: float) -> float:
    if math.isnan(avg_price) or arrival_mid <= 0.0:  # no fills
        return math.nan
    return side * (avg_price - arrival_mid) / arrival_mid * 1e4


@dataclass(eq=False)
class ChildOrder:
    """One child: a passive limit, then possibly a cross. Prices in currency, time in seconds.

    ``arrival_mid`` is the mid when the child was decided; ``passive_filled`` counts the shares
    filled while resting (the rest were filled crossing). ``due_time`` is when the slice was due
    (the decision comes at the desk's next wake-up: ``decision_time - due_time`` is its
    latency). ``half_spread`` is the quoted half-spread at decision (currency). Queue tracking:
    ``queue_ahead0`` shares were ahead of the resting child when it joined, ``queue_loss_max`` is
    the largest queue loss seen while it rested, ``queue_lost`` whether that reached the desk's
    ``queue_loss_reference``, ``queue_breached`` whether the policy's threshold ended its dwell.
    ``gate_wait`` is how long a quality gate held its cross back. ``end_reason`` says how it
    finished: ``filled``, ``crossed``, ``cancelled`` (passive only, remainder returned),
    ``gated`` (the gate never opened) or ``close``. ``context`` holds the features observed at
    decision (book and, from the policy, the HPI), flattened into :meth:`record`.
    """

    child_id: int
    parent_id: int
    side: int
    qty: int
    decision_time: float
    arrival_mid: float
    policy_state: str
    dwell_s: float
    dwell_until: float
    allow_cross: bool
    max_cross_ticks: int | None
    passive_price: float = math.nan
    passive_order_id: int = 0
    cross_price: float = math.nan
    cross_order_id: int = 0
    status: str = "working"
    filled: int = 0
    passive_filled: int = 0
    notional: float = 0.0
    end_time: float = math.nan
    fills: list = field(default_factory=list)  # (time, qty, price)
    due_time: float = math.nan
    half_spread: float = math.nan
    queue_loss_threshold: float | None = None
    cross_spread_cap_ticks: int | None = None
    gate_wait_s: float = 0.0
    queue_ahead0: int = 0
    queue_loss_max: float = 0.0
    queue_lost: bool = False
    queue_breached: bool = False
    gate_wait: float = 0.0
    end_reason: str = ""
    context: dict = field(default_factory=dict)

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled if self.filled else math.nan

    @property
    def slippage_bps(self) -> float:
        """Cost of the fills against the decision mid, bps, positive = cost."""
        return _slippage_bps(self.side, self.avg_price, self.arrival_mid)

    @property
    def completion(self) -> float:
        return self.filled / self.qty

    def record(self) -> dict:
        """Scalar fields for a table row (fills are in :meth:`ExecutionDesk.fill_records`)."""
        return {
            "child_id": self.child_id,
            "parent_id": self.parent_id,
            "side": self.side,
            "qty": self.qty,
            "decision_time": self.decision_time,
            "arrival_mid": self.arrival_mid,
            "policy_state": self.policy_state,
            "dwell_s": self.dwell_s,
            "passive_price": self.passive_price,
            "cross_price": self.cross_price,
            "status": self.status,
            "filled": self.filled,
            "passive_filled": self.passive_filled,
            "n_fills": len(self.fills),
            "avg_price": self.avg_price,
            "slippage_bps": self.slippage_bps,
            "completion": self.completion,
            "end_time": self.end_time,
            "due_time": self.due_time,
            "latency_ms": 1e3 * (self.decision_time - self.due_time),
            "half_spread": self.half_spread,
            "queue_loss_threshold": math.nan if self.queue_loss_threshold is None
            else self.queue_loss_threshold,
            "queue_ahead0": self.queue_ahead0,
            "queue_loss_max": self.queue_loss_max,
            "queue_lost": self.queue_lost,
            "queue_breached": self.queue_breached,
            "gate_wait": self.gate_wait,
            "end_reason": self.end_reason,
            **self.context,
        }


@dataclass(eq=False)
class ParentOrder:
    """One parent order and its execution so far (prices in currency, time in seconds).

    ``target`` is the schedule's cumulative quantity due so far; ``status`` is ``"active"``,
    ``"completed"`` or ``"expired"`` (unfinished at the close of its day).
    """

    parent_id: int
    side: int
    qty: int
    algo: str
    participation: float
    horizon_s: float
    limit_price: float | None
    urgency: float
    arrival_time: float
    arrival_mid: float
    day: int
    status: str = "active"
    target: float = 0.0
    filled: int = 0
    passive_filled: int = 0
    notional: float = 0.0
    n_children: int = 0
    end_time: float = math.nan
    fills: list = field(default_factory=list)  # (time, qty, price)
    # working state
    next_slice: float = 0.0
    live_child: ChildOrder | None = None
    limit_ticks: int | None = None
    last_account_time: float = 0.0
    volume_step: int = 0
    own_mark: int = 0

    @property
    def remaining(self) -> int:
        return self.qty - self.filled

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled if self.filled else math.nan

    @property
    def slippage_bps(self) -> float:
        """Implementation shortfall of the fills against the arrival mid, bps, positive = cost."""
        return _slippage_bps(self.side, self.avg_price, self.arrival_mid)

    @property
    def completion(self) -> float:
        return self.filled / self.qty

    def record(self) -> dict:
        """Scalar fields for a table row."""
        return {
            "parent_id": self.parent_id,
            "side": self.side,
            "qty": self.qty,
            "algo": self.algo,
            "participation": self.participation,
            "horizon_s": self.horizon_s,
            "limit_price": math.nan if self.limit_price is None else self.limit_price,
            "urgency": self.urgency,
            "arrival_time": self.arrival_time,
            "arrival_mid": self.arrival_mid,
            "status": self.status,
            "filled": self.filled,
            "passive_filled": self.passive_filled,
            "n_children": self.n_children,
            "n_fills": len(self.fills),
            "avg_price": self.avg_price,
            "slippage_bps": self.slippage_bps,
            "completion": self.completion,
            "end_time": self.end_time,
            "duration_s": self.end_time - self.arrival_time,
        }


# ---------------------------------------------------------------------------- the desk
class ExecutionDesk(Participant):
    """Works parent orders into child orders (see the module docstring).

    Public figures: ``parents`` and ``children`` (lists of :class:`ParentOrder` /
    :class:`ChildOrder`), :meth:`parent_records`, :meth:`child_records`, :meth:`fill_records`,
    :meth:`summary`, ``filled_total`` (shares filled over all parents), ``active_parents`` (how
    many parents are still working), ``policy`` (the slicing policy, replaceable).
    """

    population = "desk"
    wants_fills = True

    def __init__(self, model, stream, rate, cfg: DeskConfig) -> None:
        super().__init__(model, stream, rate)
        self.cfg = cfg
        self.initial_cash = cfg.initial_cash
        self.initial_shares = cfg.initial_shares
        self.policy = SchedulePolicy()
        self.parents: list[ParentOrder] = []
        self.children: list[ChildOrder] = []
        self.filled_total = 0
        self._active: list[ParentOrder] = []
        self._by_order: dict[int, ChildOrder] = {}
        self._sending: ChildOrder | None = None
        self._next_due = math.inf
        # own fills: all of them, those of the current step (not yet in market volume), a window
        self._own_total = 0
        self._own_step_time = -math.inf
        self._own_pending = 0
        self._own_window: deque = deque()
        self._own_window_qty = 0

    # ------------------------------------------------------------------ public
    @property
    def active_parents(self) -> int:
        """Number of parents still being worked."""
        return len(self._active)

    @property
    def policy(self):
        return self._policy

    @policy.setter
    def policy(self, policy) -> None:
        if not (callable(getattr(policy, "adjust", None))
                and callable(getattr(policy, "on_child_done", None))
                and isinstance(getattr(policy, "state", None), str)):
            raise ValueError(
                "desk policy must have a str 'state' and methods 'adjust(model, parent)' and "
                f"'on_child_done(child)' (see SchedulePolicy), got {type(policy).__name__}"
            )
        self._policy = policy

    def add_parent(self, event) -> ParentOrder:
        """Start working a parent order from a ``parent_order`` event; returns its record."""
        side, qty, algo = event.side, event.qty, event.algo
        if side not in (1, -1) or isinstance(side, bool):
            raise ValueError(f"parent order side must be +1 (buy) or -1 (sell), got {side!r}")
        if isinstance(qty, bool) or not isinstance(qty, (int, np.integer)) or qty <= 0:
            raise ValueError(f"parent order qty must be an integer > 0, got {qty!r}")
        if algo not in ("pov", "twap"):
            raise ValueError(f"parent order algo must be 'pov' or 'twap', got {algo!r}")
        if not (0.0 < event.participation <= 1.0):
            raise ValueError(
                f"parent order participation must be in (0, 1], got {event.participation!r}")
        if not (event.horizon_s > 0.0 and math.isfinite(event.horizon_s)):
            raise ValueError(
                f"parent order horizon_s must be finite and > 0, got {event.horizon_s!r}")
        if not (0.0 <= event.urgency <= 1.0):
            raise ValueError(f"parent order urgency must be in [0, 1], got {event.urgency!r}")
        limit = event.limit_price
        if limit is not None and not (limit > 0.0 and math.isfinite(limit)):
            raise ValueError(f"parent order limit_price must be None or > 0, got {limit!r}")
        model = self.model
        now = model.now
        tick = model.tick
        limit_ticks = None
        if limit is not None:
            # A buy limit rounds down and a sell limit up, so the tick price never violates it.
            raw = limit / tick
            limit_ticks = max(1, math.floor(raw + 1e-9) if side > 0 else math.ceil(raw - 1e-9))
        p = ParentOrder(
            parent_id=len(self.parents),
            side=int(side),
            qty=int(qty),
            algo=algo,
            participation=float(event.participation),
            horizon_s=float(event.horizon_s),
            limit_price=None if limit is None else float(limit),
            urgency=float(event.urgency),
            arrival_time=now,
            arrival_mid=self._mid(),
            day=model.day,
            next_slice=now,
            limit_ticks=limit_ticks,
            last_account_time=now,
            volume_step=model.state.n,
            own_mark=self._own_visible(now),
        )
        self.parents.append(p)
        self._active.append(p)
        self._next_due = min(self._next_due, now)
        return p

    def parent_records(self) -> list[dict]:
        return [p.record() for p in self.parents]

    def child_records(self) -> list[dict]:
        return [c.record() for c in self.children]

    def fill_records(self) -> list[dict]:
        """One row per fill: ``child_id``, ``parent_id``, ``time``, ``qty``, ``price``, ``side``."""
        return [
            {"child_id": c.child_id, "parent_id": c.parent_id, "time": t, "qty": q, "price": px,
             "side": c.side}
            for c in self.children
            for t, q, px in c.fills
        ]

    def summary(self) -> dict[str, float]:
        """Desk figures: counts, quantities, completion and the fill-weighted slippage (bps)."""
        qty = sum(p.qty for p in self.parents)
        filled = sum(p.filled for p in self.parents)
        cost = sum(p.slippage_bps * p.filled for p in self.parents if p.filled)
        return {
            "n_parents": len(self.parents),
            "n_children": len(self.children),
            "parent_qty": qty,
            "filled": filled,
            "completion": filled / qty if qty else math.nan,
            "slippage_bps": cost / filled if filled else math.nan,
            "passive_share": sum(p.passive_filled for p in self.parents) / filled
            if filled else math.nan,
        }

    # ------------------------------------------------------------------ the clock
    @classmethod
    def activity_multiplier(cls, model) -> float:
        """Also the desk's once-per-step hook: the model asks every population for its activity
        factor once per step, before anyone acts, so this is where a policy with an ``observe``
        method (the HPI observer needs one observation per step, while the desk's own Poisson
        clock does not fire every step) watches the market. The factor itself stays 1."""
        for desk in model.populations.get(cls.population, ()):
            observe = getattr(desk.policy, "observe", None)
            if observe is not None:
                observe(model, desk)
        return 1.0

    def act(self) -> None:
        if not self._active:
            return
        model = self.model
        now = model.now
        if model.book.halted:
            return
        if now < self._next_due:
            # between decisions only resting children need a look (queue loss)
            for p in self._active:
                c = p.live_child
                if c is not None and c.passive_order_id and self._watch_queue(p, c, now):
                    self._next_due = now
            if now < self._next_due:
                return
        for p in list(self._active):
            c = p.live_child
            if c is not None:
                if c.passive_order_id:
                    self._watch_queue(p, c, now)
                if now < c.dwell_until:
                    continue
                self._end_dwell(p, c)
            if p.status == "active" and p.live_child is None and now >= p.next_slice:
                self._slice(p, now)
        self._refresh_due()

    def queue_loss(self, c: ChildOrder) -> float:
        """Share of a resting child's queue priority lost since it joined, in [0, 1).

        ``ahead`` is the quantity that would trade before the child: everything resting on its
        side at better prices plus what is ahead of it at its own level. Trades and cancels ahead
        shrink it (no loss); new orders at better prices, the near touch moving away, grow it.
        Loss = ``max(ahead - ahead_at_entry, 0) / (ahead + own remaining)``: near 1 when the
        price has moved away through deep levels, small when a few shares jumped ahead.
        """
        book = self.model.book
        oid = c.passive_order_id
        if not oid:
            return 0.0
        remaining = book.remaining(oid)
        if remaining <= 0:
            return 0.0
        return self._queue_loss_of(c, book, oid, remaining)

    def _queue_ahead(self, book, oid: int, side: int, price: int) -> int:
        best = book.best_bid if side > 0 else book.best_ask
        better = 0
        if best is not None and side * (best - price) > 0:
            better = book.size_within(side, side * (best - price) - 1)
        return better + book.queue_position(oid)

    def _queue_loss_of(self, c: ChildOrder, book, oid: int, remaining: int) -> float:
        ahead = self._queue_ahead(book, oid, c.side, round(c.passive_price / self.model.tick))
        return max(ahead - c.queue_ahead0, 0) / (ahead + remaining)

    def _watch_queue(self, p: ParentOrder, c: ChildOrder, now: float) -> bool:
        """Update a resting child's queue loss; True when its policy threshold ends the dwell."""
        loss = self.queue_loss(c)
        if loss > c.queue_loss_max:
            c.queue_loss_max = loss
            if loss >= self.cfg.queue_loss_reference:
                c.queue_lost = True
        th = c.queue_loss_threshold
        if th is not None and loss >= th and not c.queue_breached and now < c.dwell_until:
            c.queue_breached = True
            c.dwell_until = now
            return True
        return False

    def on_close(self, day: int) -> None:
        """Parents are day orders: cancel what is still working and expire the parent."""
        now = self.model.now
        for p in list(self._active):
            if p.day > day:
                continue
            c = p.live_child
            if c is not None:
                if c.passive_order_id:
                    self.model.venue.cancel(c.passive_order_id)
                c.end_reason = c.end_reason or "close"
                self._child_done(p, c, now)
            p.status = "expired"
            p.end_time = now
            self._active.remove(p)
        self._refresh_due()

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        c = self._by_order.get(order_id) or self._sending
        if c is None:
            return
        now = self.model.now
        px = price * self.model.tick
        c.fills.append((now, qty, px))
        c.filled += qty
        c.notional += qty * px
        p = self.parents[c.parent_id]
        p.fills.append((now, qty, px))
        p.filled += qty
        p.notional += qty * px
        if not aggressor:
            c.passive_filled += qty
            p.passive_filled += qty
        self.filled_total += qty
        if now != self._own_step_time:
            self._own_step_time = now
            self._own_pending = 0
        self._own_pending += qty
        self._own_total += qty
        self._own_window.append((now, qty))
        self._own_window_qty += qty
        if c is not self._sending and c.filled == c.qty and c.status == "working":
            # a resting child filled by others: the parent may slice again at its next time
            c.end_reason = "filled"
            self._child_done(p, c, now)
            self._next_due = min(self._next_due, p.next_slice)
        if p.filled == p.qty and p.status == "active":
            p.status = "completed"
            p.end_time = now
            self._active.remove(p)

    # ------------------------------------------------------------------ internals
    def _mid(self) -> float:
        mid = self.model.book.mid
        return mid * self.model.tick if mid is not None else self.model.state.mid

    def _refresh_due(self) -> None:
        due = math.inf
        for p in self._active:
            c = p.live_child
            due = min(due, c.dwell_until if c is not None else p.next_slice)
        self._next_due = due

    def _own_visible(self, now: float) -> int:
        """Own fills already counted in the market's volume record (steps before ``now``)."""
        if self._own_step_time < now:
            return self._own_total
        return self._own_total - self._own_pending

    def _own_in_window(self, now: float, window: float) -> int:
        w = self._own_window
        cutoff = now - window
        while w and w[0][0] < cutoff:
            self._own_window_qty -= w.popleft()[1]
        pending = self._own_pending if self._own_step_time >= now else 0
        return self._own_window_qty - pending

    def _update_target(self, p: ParentOrder, now: float, adj: SliceAdjustment) -> None:
        cfg = self.cfg
        state = self.model.state
        if p.algo == "twap":
            horizon = p.horizon_s * adj.horizon_scale
            p.target = p.qty * min(1.0, (now - p.arrival_time + cfg.slice_interval_s) / horizon)
        else:
            rate = p.participation * adj.participation_scale
            if cfg.volume_basis is VolumeBasis.since_arrival:
                n = state.n
                market = float(state.volumes[p.volume_step + 1 : n + 1].sum())
                own = self._own_visible(now)
                if cfg.exclude_own_volume:
                    market -= own - p.own_mark
                p.volume_step = n
                p.own_mark = own
                p.target += rate * max(market, 0.0)
            else:
                window = cfg.volume_window_s
                market = state.volume(window)
                if cfg.exclude_own_volume:
                    market -= self._own_in_window(now, window)
                p.target += rate * max(market, 0.0) / window * (now - p.last_account_time)
            p.target = min(p.target, float(p.qty))
        p.last_account_time = now

    def _slice(self, p: ParentOrder, now: float) -> None:
        cfg = self.cfg
        adj = self.policy.adjust(self.model, p)
        if adj is not NEUTRAL:
            check_adjustment(adj)
        due = p.next_slice
        p.next_slice += cfg.slice_interval_s
        if p.next_slice <= now:
            p.next_slice = now + cfg.slice_interval_s
        self._update_target(p, now, adj)
        if not adj.start_new and p.n_children == 0:
            return
        remaining = p.qty - p.filled
        cap = max(1, int(cfg.max_child_qty * adj.size_scale))
        qty = min(int(p.target + 1e-9) - p.filled, remaining, cap)
        if qty <= 0 or (qty < cfg.min_child_qty and qty < remaining):
            return
        dwell = adj.dwell_s if adj.dwell_s is not None else cfg.passive_dwell_s * (1.0 - p.urgency)
        c = ChildOrder(
            child_id=len(self.children),
            parent_id=p.parent_id,
            side=p.side,
            qty=qty,
            decision_time=now,
            arrival_mid=self._mid(),
            policy_state=self.policy.state,
            dwell_s=dwell,
            dwell_until=now + dwell,
            allow_cross=adj.allow_cross,
            max_cross_ticks=adj.max_cross_ticks,
            due_time=due,
            queue_loss_threshold=adj.queue_loss_threshold,
            cross_spread_cap_ticks=adj.cross_spread_cap_ticks,
            gate_wait_s=adj.gate_wait_s,
        )
        if dwell > 0.0:
            price = self._passive_price(p)
            if price is None:
                return  # an empty book: nothing to join, try again next slice
            self._observe_decision(p, c)
            self._register(p, c)
            c.passive_price = price * self.model.tick
            self._sending = c
            try:
                oid = self.model.venue.limit(self.account, p.side, price, qty)
            finally:
                self._sending = None
            c.passive_order_id = oid
            if c.filled < c.qty:
                self._by_order[oid] = c
                c.queue_ahead0 = self._queue_ahead(self.model.book, oid, p.side, price)
            else:
                c.end_reason = "filled"
                self._child_done(p, c, now)
        else:
            self._observe_decision(p, c)
            self._register(p, c)
            if self._gate_open(c):
                self._cross(p, c, qty)
                c.end_reason = "crossed"
            else:
                c.end_reason = "gated"
            self._child_done(p, c, now)

    def _observe_decision(self, p: ParentOrder, c: ChildOrder) -> None:
        """Record what the desk sees at the child's decision (features of the cost models):
        :func:`book_features`, then the order's ``urgency``, ``parent_participation``,
        ``parent_qty`` and ``elapsed_s`` since the parent's arrival; a policy with
        ``decision_context(model, parent)`` adds its own keys."""
        model = self.model
        ctx = book_features(model, p.side, c.qty, c.arrival_mid)
        c.half_spread = 0.5 * ctx["spread_ticks"] * model.tick
        ctx.update(urgency=p.urgency, parent_participation=p.participation,
                   parent_qty=float(p.qty), elapsed_s=c.decision_time - p.arrival_time)
        extra = getattr(self.policy, "decision_context", None)
        if extra is not None:
            ctx.update(extra(model, p))
        c.context = ctx

    def _gate_open(self, c: ChildOrder) -> bool:
        """Whether the quality gate lets the child cross now (always, without a gate)."""
        cap = c.cross_spread_cap_ticks
        if cap is None:
            return True
        spread = self.model.book.spread
        return spread is not None and spread <= cap

    def _register(self, p: ParentOrder, c: ChildOrder) -> None:
        self.children.append(c)
        p.n_children += 1
        p.live_child = c

    def _passive_price(self, p: ParentOrder) -> int | None:
        book = self.model.book
        if p.side > 0:
            near, far = book.best_bid, book.best_ask
            price = near if near is not None else (far - 1 if far is not None and far > 1 else None)
            if price is not None and p.limit_ticks is not None:
                price = min(price, p.limit_ticks)
        else:
            near, far = book.best_ask, book.best_bid
            price = near if near is not None else (far + 1 if far is not None else None)
            if price is not None and p.limit_ticks is not None:
                price = max(price, p.limit_ticks)
        return price

    def _end_dwell(self, p: ParentOrder, c: ChildOrder) -> None:
        now = self.model.now
        rem = c.qty - c.filled
        wants_cross = rem > 0 and c.allow_cross and p.status == "active"
        if wants_cross and not self._gate_open(c):
            waited = now - (c.decision_time + c.dwell_s)
            if waited < c.gate_wait_s:
                # hold the passive order and look again at the next wake-up
                c.gate_wait = max(c.gate_wait, waited)
                c.dwell_until = now + min(1.0, c.gate_wait_s - waited)
                return
            c.gate_wait = max(c.gate_wait, waited)
            wants_cross = False
            c.end_reason = "gated"
        if c.passive_order_id:
            self.model.venue.cancel(c.passive_order_id)
            self._by_order.pop(c.passive_order_id, None)
        if wants_cross:
            self._cross(p, c, min(rem, p.qty - p.filled))
            c.end_reason = "crossed"
        elif not c.end_reason:
            c.end_reason = "filled" if c.filled == c.qty else "cancelled"
        if c.status == "working":
            self._child_done(p, c, now)

    def _cross(self, p: ParentOrder, c: ChildOrder, qty: int) -> None:
        """Take liquidity for ``qty`` shares: an IOC through the far touch, or a market order."""
        if qty <= 0:
            return
        model = self.model
        book = model.book
        far = book.best_ask if p.side > 0 else book.best_bid
        if far is None:
            return
        reach = self.cfg.cross_ticks
        if c.max_cross_ticks is not None:
            reach = c.max_cross_ticks if reach is None else min(reach, c.max_cross_ticks)
        self._sending = c
        try:
            if reach is None and p.limit_ticks is None:
                c.cross_order_id = model.venue.market(self.account, p.side, qty) or 0
                return
            if reach is None:
                price = p.limit_ticks
            else:
                price = max(1, far + p.side * reach)
                if p.limit_ticks is not None:
                    price = min(price, p.limit_ticks) if p.side > 0 else max(price, p.limit_ticks)
            if (p.side > 0 and price < far) or (p.side < 0 and price > far):
                return  # the limit keeps this child away from the market
            c.cross_price = price * model.tick
            c.cross_order_id = model.venue.ioc(self.account, p.side, price, qty) or 0
        finally:
            self._sending = None

    def _child_done(self, p: ParentOrder, c: ChildOrder, now: float) -> None:
        c.status = "done"
        c.end_time = now
        if c.passive_order_id:
            self._by_order.pop(c.passive_order_id, None)
        if p.live_child is c:
            p.live_child = None
        self.policy.on_child_done(c)


def book_features(model, side: int, qty: int, mid: float) -> dict[str, float]:
    """What the book says about sending ``qty`` shares on ``side`` now (``mid`` in currency).

    ``spread_ticks``, ``spread_bps`` (of the mid), ``near_touch`` and ``far_touch`` (shares at
    the desk's own and the opposite best price), ``near_depth`` and ``far_depth`` (within 5
    ticks of each best), ``depth`` (``far_depth`` in thousands of shares: what a cross can
    take), ``imbalance`` (desk-signed 5-tick depth imbalance ``(near - far) / (near + far)``:
    + = more resting on the desk's side, so the price tends to move away from it),
    ``queue_fragility`` (``near_touch / (near_touch + far_touch)``: near 1 when the far touch
    is thin and about to be taken out, so a passive child at the near touch is likely to be
    bypassed), ``volatility`` (EWMA realised, annualised), ``volume_60s`` (shares printed in
    the last minute), ``participation`` (``qty / (qty + volume_60s)``).
    """
    book = model.book
    bb, ba = book.best_bid, book.best_ask
    spread = (ba - bb) if bb is not None and ba is not None else model.state.spread_ticks
    near_best, far_best = (bb, ba) if side > 0 else (ba, bb)
    near_touch = book.size_within(side, 0) if near_best is not None else 0
    far_touch = book.size_within(-side, 0) if far_best is not None else 0
    near = book.size_within(side, 5) if near_best is not None else 0
    far = book.size_within(-side, 5) if far_best is not None else 0
    volume = model.state.volume(60.0)
    return {
        "spread_ticks": float(spread),
        "spread_bps": 1e4 * spread * model.tick / mid if mid > 0 else math.nan,
        "near_touch": float(near_touch),
        "far_touch": float(far_touch),
        "near_depth": float(near),
        "far_depth": float(far),
        "depth": far / 1e3,
        "imbalance": (near - far) / (near + far) if near + far > 0 else 0.0,
        "queue_fragility": near_touch / (near_touch + far_touch)
        if near_touch + far_touch > 0 else 0.5,
        "volatility": float(model.state.vol),
        "volume_60s": volume,
        "participation": qty / (qty + volume) if qty + volume > 0 else 1.0,
    }


def populate(model, cfg: DeskConfig, stream: np.random.Generator) -> list[ExecutionDesk]:
    """One desk (the model skips this when ``cfg.enabled`` is false), with the HPI policy of
    :mod:`agents.desk.hpi` when ``cfg.hpi.mode`` is shadow or live."""
    if not cfg.enabled:
        return []
    desk = ExecutionDesk(model, stream, cfg.rate, cfg)
    if cfg.hpi.mode is not HPIMode.off:
        from agents.desk.hpi import make_policy

        desk.policy = make_policy(cfg, model)
    return [desk]


#: timeseries columns the model records from the desk's HPI policy (NaN / "off" without one)
HPI_REPORT_COLUMNS: tuple[str, ...] = (
    "hpi", "hpi_slope", "hpi_gamma_pressure", "hpi_spot_velocity", "hpi_expiry_proximity",
    "hpi_book_stress", "observer_gex", "observer_gex_calls", "observer_gex_puts", "desk_state")


def hpi_report(model, column: str):
    """One reporter value of :data:`HPI_REPORT_COLUMNS` from the (first) desk's policy."""
    members = model.populations.get(ExecutionDesk.population) or []
    report = getattr(members[0].policy, "report_value", None) if members else None
    if report is None:
        return "off" if column == "desk_state" else math.nan
    return report(column)


def summary(members: list[ExecutionDesk], model) -> dict:
    """The desk's figures for summary.json (see :func:`agents.desk.hpi.desk_summary`)."""
    from agents.desk.hpi import desk_summary

    return desk_summary(members[0])


def tables(members: list[ExecutionDesk], model) -> dict:
    """The desk's Parquet tables (see :func:`agents.desk.hpi.desk_tables`)."""
    from agents.desk.hpi import desk_tables

    return desk_tables(members[0], model)
