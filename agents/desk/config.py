"""The desk's configuration: ``desk``, ``desk.hpi`` and ``desk.hpi.observer``.

Every field states its range once, with :func:`market.validation.param`; the dataclasses check
them when built (OmegaConf builds them from the composed config before any simulation work), and
the documentation's parameter tables are generated from the same declarations. Rules that involve
several fields, list lengths or the keys of a mapping are in each class's ``check``. Times are
clock seconds, quantities shares, prices currency.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from agents.desk.state_machine import HPI_STATES, build_state_machine
from market.execution.hpi import COMPONENTS
from market.validation import ConfigError, Validated, check_range, param, spec_of, validate

#: the allowed values of a yes/no field
FLAG = (True, False)


def flag(default: bool, doc: str) -> Any:
    """A yes/no field (true or false exactly: 1 and 0 are refused, see :func:`require_flags`)."""
    return param(default, choices=FLAG, doc=doc)


def require_flags(obj: Any, path: str) -> None:
    """Raise ConfigError unless every :func:`flag` field of ``obj`` holds a real bool (a choice
    of ``(True, False)`` alone lets 1 and 0 through, since they compare equal)."""
    for f in dataclasses.fields(obj):
        spec = spec_of(f)
        value = getattr(obj, f.name)
        if spec is not None and spec.choices == FLAG and not isinstance(value, bool):
            raise ConfigError(f"{path}.{f.name} must be true or false, got {value!r}")


def as_member(value: Any, enum_cls: type[Enum]) -> Any:
    """``value`` (a member, or its value as from a config file; already checked) as a member."""
    return value if isinstance(value, enum_cls) else enum_cls(getattr(value, "value", value))


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


# Ranges of the mapping-valued observer fields (a mapping cannot be declared with param()).
_WEIGHT_RANGE = (-1e3, 1e3)
_FALLBACK_CENTRE_RANGE = (-1e15, 1e15)
_FALLBACK_SCALE_MAX = 1e15


@dataclass
class HPIObserverConfig(Validated):
    """What the outside observer assumes and how it turns the public view into the HPI's inputs.

    Options sensitivity (gamma pressure): ``sign_convention`` is ``[call_sign, put_sign]``, the
    dealers' assumed side per option type (+1 long, -1 short; the default ``[-1, 1]`` is dealers
    short calls, long puts); strikes within ``gex_band_pct`` of spot count for the GEX sum;
    ``gex_scale`` (currency per 1% move) is one unit of pressure; ``pin_weight`` is the pressure
    removed by a fully concentrated long-gamma pin zone; open interest and spot move slowly, so
    the GEX is re-estimated only every ``gex_interval_s``.

    Event clock: an expiry holding ``large_oi_share`` of the open interest is "large" and the
    nearest one sets the 0DTE term. Only events marked ``scheduled`` (on the public calendar: a
    macro print, an auction) open a window of ``macro_window_s``; unscheduled events are seen only
    through prices. The last ``close_window_s`` of each day form a window of ``close_weight``.

    Book stress: the spread is smoothed (a stress is a spread that stays wide, not one that
    flickers for a step), the touch is compared with its value ``depletion_window_s`` ago, and
    spread and cancel rate are measured against calm baselines.

    Robust scaling: ``weights`` per component (``gamma_pressure``, ``spot_velocity``,
    ``expiry_proximity``, ``book_stress``; absent names weigh 1, range [-1000, 1000]);
    ``fallbacks`` per component ``[centre, scale]`` (scale > 0) of the calm reference, used until
    a scaler has ``min_history_s`` of history (absent components use
    :data:`market.execution.hpi.DEFAULT_FALLBACKS`; a study calibrates them). The observer takes
    one observation per model step, so ``scaler_window_s`` and ``min_history_s`` become
    ``round(x / market.step_seconds)`` observations (the window at least 4). The defaults (one
    trading day) keep a one-day run on the fallbacks on purpose: a rolling median of the same day
    would absorb the very trends (open interest building up, expiry approaching) the index is
    meant to show; a multi-day run switches to rolling scaling from the second day on.
    """

    config_path: ClassVar[str] = "desk.hpi.observer"

    sign_convention: list[float] = param(
        default_factory=lambda: [-1.0, 1.0], lo=-1, hi=1, doc="[call_sign, put_sign], each +1 or -1"
    )
    gex_band_pct: float = param(
        2.0,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="% of spot",
        doc="strikes counted as near spot for the GEX sum",
    )
    pin_band_pct: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="% of spot",
        doc="the pin zone of the signed pin concentration",
    )
    gex_scale: float = param(
        1e6,
        lo=0.0,
        hi=1e15,
        lo_open=True,
        unit="currency per 1%",
        doc="GEX that counts as one unit of gamma pressure",
    )
    pin_weight: float = param(
        1.0, lo=0.0, hi=1e3, doc="pressure removed by a fully concentrated long-gamma pin"
    )
    gex_interval_s: float = param(
        15.0, lo=0.0, hi=23_400.0, unit="s", doc="time between re-estimates of the observer's GEX"
    )
    velocity_window_s: float = param(
        60.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="trailing mid history of the spot velocity",
    )
    large_oi_share: float = param(
        0.1, lo=0.0, hi=1.0, doc="open-interest share that makes an expiry large"
    )
    expiry_floor_hours: float = param(
        0.25,
        lo=0.0,
        hi=1_000.0,
        lo_open=True,
        unit="h",
        doc="cap of the 1/sqrt(hours to expiry) term",
    )
    event_bump: float = param(1.0, lo=0.0, hi=1e3, doc="height of an event window")
    event_lead_s: float = param(
        300.0, lo=0.0, hi=23_400.0, unit="s", doc="ramp before an event window"
    )
    macro_window_s: float = param(
        900.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="window opened by each scheduled event",
    )
    close_window_s: float = param(
        1800.0,
        lo=0.0,
        hi=23_400.0,
        unit="s",
        doc="last seconds of each day that form an event window",
    )
    close_weight: float = param(0.5, lo=0.0, hi=1e3, doc="weight of the close window")
    stress_weights: list[float] = param(
        default_factory=lambda: [1.0, 1.0, 1.0],
        lo=0.0,
        hi=1e3,
        doc="weights of spread widening, touch depletion, cancel excess",
    )
    spread_halflife_s: float = param(
        10.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="half-life of the smoothing of the quoted spread",
    )
    depletion_window_s: float = param(
        10.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="the touch size is compared with its value this long ago",
    )
    cancel_window_s: float = param(
        30.0, lo=0.0, hi=23_400.0, lo_open=True, unit="s", doc="span over which cancels are counted"
    )
    baseline_halflife_s: float = param(
        1800.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="half-life of the calm baselines (spread, cancels)",
    )
    weights: dict[str, float] = param(
        default_factory=dict, doc="component -> weight in the index (unlisted: 1)"
    )
    fallbacks: dict[str, list[float]] = param(
        default_factory=dict, doc="component -> [centre, scale] while its history is short"
    )
    scaler_window_s: float = param(
        23_400.0,
        lo=0.0,
        hi=1e8,
        lo_open=True,
        unit="s",
        doc="rolling history (median, IQR) of each scaler",
    )
    min_history_s: float = param(
        23_400.0,
        lo=0.0,
        hi="scaler_window_s",
        lo_open=True,
        unit="s",
        doc="history a scaler needs before it trusts its own scaling",
    )
    z_clip: float = param(
        4.0, lo=0.0, hi=1e3, lo_open=True, doc="robust z-scores are clipped to +/- this"
    )
    slope_window_s: float = param(
        60.0, lo=0.0, hi=23_400.0, lo_open=True, unit="s", doc="trailing span of the HPI slope"
    )

    def check(self) -> None:
        p = self.config_path
        signs = list(self.sign_convention)
        if len(signs) != 2 or any(s not in (-1, 1) for s in signs):
            raise ConfigError(
                f"{p}.sign_convention must be [call_sign, put_sign], each +1 or -1, got {signs!r}"
            )
        if len(self.stress_weights) != 3:
            raise ConfigError(
                f"{p}.stress_weights must be three numbers (spread, depletion, "
                f"cancels), got {list(self.stress_weights)!r}"
            )
        self._check_weights()
        self._check_fallbacks()

    def _check_weights(self) -> None:
        p = self.config_path
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ConfigError(
                f"{p}.weights has unknown components {sorted(unknown)}; allowed: {list(COMPONENTS)}"
            )
        for name, w in self.weights.items():
            check_range(f"{p}.weights.{name}", w, *_WEIGHT_RANGE)

    def _check_fallbacks(self) -> None:
        p = self.config_path
        unknown = set(self.fallbacks) - set(COMPONENTS)
        if unknown:
            raise ConfigError(
                f"{p}.fallbacks has unknown components {sorted(unknown)}; "
                f"allowed: {list(COMPONENTS)}"
            )
        for name, pair in self.fallbacks.items():
            if len(pair) != 2:
                raise ConfigError(
                    f"{p}.fallbacks.{name} must be [centre, scale], got {list(pair)!r}"
                )
            check_range(f"{p}.fallbacks.{name}[0]", pair[0], *_FALLBACK_CENTRE_RANGE)
            check_range(f"{p}.fallbacks.{name}[1]", pair[1], 0.0, _FALLBACK_SCALE_MAX, lo_open=True)


@dataclass
class OverrideWindow:
    """A manual execution state forced over clock seconds ``[start, end)`` (event-day playbook).

    Checked by :class:`HPIPolicyConfig`, which knows the window's place in its list."""

    state: str = param("safe", choices=("calm", *HPI_STATES), doc="the forced state")
    start: float = param(0.0, lo=0.0, hi=1e9, unit="s", doc="clock second the window opens")
    end: float = param(
        0.0, lo="start", hi=1e9, lo_open=True, unit="s", doc="clock second the window closes"
    )
    note: str = field(default="")


@dataclass
class HPIPolicyConfig(Validated):
    """The HPI-driven state machine of the desk (see :mod:`agents.desk.hpi_policy`).

    ``upgrade`` and ``downgrade`` are HPI levels (sums of robust z-scores) entering and leaving
    PRESSURED, DISLOCATED and SAFE, in that order; each downgrade below its upgrade (the
    hysteresis band), both increasing across states. The defaults suit four components scaled on
    a calm reference, whose sum rarely passes 4.5 on a calm day. ``overrides`` are manual state
    windows (:class:`OverrideWindow`), which may not overlap. ``state_policies`` replaces fields
    of :class:`market.execution.states.StatePolicy` per state (``calm`` ... ``safe``), e.g.
    ``{dislocated: {participation_multiplier: 0.8}}``; every state's policy applies while the
    machine is in it, CALM's too (its defaults are the plain schedule). With venue-quality gating
    on (DISLOCATED, SAFE) a child does not cross while the spread exceeds
    ``gate_spread_multiple`` times the calm baseline spread; it waits at most ``gate_max_wait_s``
    past its dwell, then gives its remainder back to the parent.
    """

    config_path: ClassVar[str] = "desk.hpi"

    mode: HPIMode = param(HPIMode.off, choices=HPIMode, doc="off, shadow or live")
    upgrade: list[float] = param(
        default_factory=lambda: [3.0, 6.0, 9.5],
        lo=-1e6,
        hi=1e6,
        doc="HPI levels entering PRESSURED, DISLOCATED, SAFE",
    )
    downgrade: list[float] = param(
        default_factory=lambda: [2.0, 4.5, 7.5],
        lo=-1e6,
        hi=1e6,
        doc="HPI levels leaving PRESSURED, DISLOCATED, SAFE",
    )
    hysteresis: bool = flag(True, "false = plain thresholding (for comparison)")
    k_up: int = param(
        3,
        lo=1,
        hi=10**6,
        unit="observations",
        doc="consecutive breaching observations before an upgrade",
    )
    min_dwell_down_s: float = param(
        300.0, lo=0.0, hi=1e7, unit="s", doc="time below a downgrade level before stepping down"
    )
    overrides: list[OverrideWindow] = param(
        default_factory=list, doc="manual state windows (start, end, state); may not overlap"
    )
    state_policies: dict[str, dict[str, Any]] = param(
        default_factory=dict, doc="per-state fields replacing the playbook's StatePolicy"
    )
    gate_spread_multiple: float = param(
        2.0, lo=1.0, hi=1e3, doc="gated: no cross above this multiple of the calm spread"
    )
    gate_max_wait_s: float = param(
        30.0, lo=0.0, hi=23_400.0, unit="s", doc="longest a gated child waits past its dwell"
    )
    observer: HPIObserverConfig = field(default_factory=HPIObserverConfig)

    def check(self) -> None:
        p = self.config_path
        self.mode = as_member(self.mode, HPIMode)
        require_flags(self, p)
        for name in ("upgrade", "downgrade"):
            values = list(getattr(self, name))
            if len(values) != len(HPI_STATES):
                raise ConfigError(
                    f"{p}.{name} must list {len(HPI_STATES)} levels "
                    f"({', '.join(HPI_STATES)}), got {values!r}"
                )
        for i, w in enumerate(self.overrides):
            if isinstance(w, dict):
                w = self.overrides[i] = OverrideWindow(**w)
            validate(w, f"{p}.overrides[{i}]")
        # the state machine checks the ordering of the levels and overlapping overrides; build
        # one now so a bad config fails here, before any simulation work
        build_state_machine(self)


@dataclass
class DeskConfig(Validated):
    """Parameters of the execution desk (times in seconds, quantities in shares, cash in currency).

    The desk wakes ``rate`` times a second but only works when a slice or a dwell is due, so a
    rate above one per step costs little and keeps its timing within a step. A passive child
    rests ``passive_dwell_s * (1 - urgency)`` before its remainder crosses up to ``cross_ticks``
    beyond the far touch (``None`` = a market order, still capped by a parent's limit price). A
    parent's last child may be smaller than ``min_child_qty``. POV volume: see
    :mod:`agents.desk.desk`. ``queue_loss_reference`` is a measurement for every policy (a state
    machine may act on its own, tighter thresholds). The mid ``mid_after_s`` after a child's last
    fill enters the cost decomposition because the transient part of impact has reverted by then.
    ``hpi``: the Hedge Pressure Index policy (``mode=off`` = the plain schedule).
    """

    config_path: ClassVar[str] = "desk"

    enabled: bool = flag(True, "build the desk at all")
    rate: float = param(
        2.0, lo=0.0, hi=1_000.0, lo_open=True, unit="1/s", doc="wake-ups per second"
    )
    slice_interval_s: float = param(
        5.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="time between slicing decisions of one parent",
    )
    passive_dwell_s: float = param(
        4.0,
        lo=0.0,
        hi=23_400.0,
        unit="s",
        doc="rest of a passive child at the touch, times 1 - urgency",
    )
    cross_ticks: int | None = param(
        5,
        lo=0,
        hi=10**6,
        optional=True,
        unit="ticks",
        doc="reach of a crossing IOC beyond the far touch",
    )
    # a child is part of a parent order, which is at most 1e9 shares (agents/desk/orders.py)
    max_child_qty: int = param(5_000, lo=1, hi=10**9, unit="shares", doc="largest child")
    min_child_qty: int = param(1, lo=1, hi="max_child_qty", unit="shares", doc="smallest child")
    volume_basis: VolumeBasis = param(
        VolumeBasis.since_arrival,
        choices=VolumeBasis,
        doc="POV of the volume since arrival or of the last window",
    )
    volume_window_s: float = param(
        60.0, lo=0.0, hi=23_400.0, lo_open=True, unit="s", doc="the previous_minute basis's window"
    )
    exclude_own_volume: bool = flag(True, "leave the desk's own fills out of POV volume")
    initial_cash: float = param(0.0, lo=-1e15, hi=1e15, unit="currency", doc="endowment")
    initial_shares: int = param(0, lo=-(10**15), hi=10**15, unit="shares", doc="endowment")
    queue_loss_reference: float = param(
        0.5, lo=0.0, hi=1.0, lo_open=True, doc="queue-priority share lost that counts as lost"
    )
    mid_after_s: float = param(
        30.0, lo=0.0, hi=23_400.0, unit="s", doc="horizon of the mid read after a child's last fill"
    )
    markout_horizons_s: list[float] = param(
        default_factory=lambda: [5.0, 30.0, 120.0],
        lo=0.0,
        hi=23_400.0,
        unit="s",
        doc="markout horizons of every child",
    )
    hpi: HPIPolicyConfig = field(default_factory=HPIPolicyConfig)

    def check(self) -> None:
        require_flags(self, self.config_path)
        self.volume_basis = as_member(self.volume_basis, VolumeBasis)
        if not self.markout_horizons_s:
            raise ConfigError("desk.markout_horizons_s must list at least one horizon")
        if isinstance(self.hpi, dict):
            self.hpi = HPIPolicyConfig(**self.hpi)
