"""How a slicing policy shapes the desk's schedule.

The desk consults its policy once per slice of each parent, before the child is sized. The
policy returns a :class:`SliceAdjustment`; :data:`NEUTRAL` leaves the plain schedule (POV or
TWAP, see :mod:`agents.desk.desk`) unchanged. :class:`SlicingPolicy` is the interface a policy
offers and :class:`SchedulePolicy` the plain schedule itself; a state machine (for example the
Hedge Pressure Index one of :mod:`agents.desk.hpi_policy`) returns other adjustments and may
watch finished children.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from agents.desk.config import DeskConfig, VolumeBasis
from agents.desk.orders import ChildOrder, ParentOrder


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


@runtime_checkable
class SlicingPolicy(Protocol):
    """What the desk needs of its policy.

    ``state``: a short label recorded on every child; ``adjust(model, parent)`` returns a
    :class:`SliceAdjustment` (called once per slice of each parent, before the child is sized);
    ``on_child_done(child)`` is called when a child has finished, with its fills and slippage
    final. A policy may also have ``observe(model, desk)`` (called once per step) and
    ``decision_context(model, parent)`` (features added to each child's record).
    """

    state: str

    def adjust(self, model: Any, parent: ParentOrder) -> SliceAdjustment: ...

    def on_child_done(self, child: ChildOrder) -> None: ...


class SchedulePolicy:
    """The plain schedule: every slice runs as configured (:class:`SlicingPolicy`).

    The per-state policies of :mod:`market.execution.states` map onto an adjustment field by
    field: ``slice_cap`` -> ``size_scale``, ``participation_multiplier`` ->
    ``participation_scale``, ``passive_dwell_scale`` -> ``dwell_s`` (times the plain dwell),
    ``horizon_stretch`` -> ``horizon_scale``, ``allow_risk_increasing`` -> ``start_new``,
    ``queue_loss_threshold`` -> ``queue_loss_threshold``, ``venue_quality_gating`` ->
    ``cross_spread_cap_ticks``, ``strict_residual`` -> ``max_cross_ticks=0`` (see
    :class:`agents.desk.hpi_policy.HPIPolicy`).
    """

    state: str = "schedule"

    def adjust(self, model, parent: ParentOrder) -> SliceAdjustment:
        return NEUTRAL

    def on_child_done(self, child: ChildOrder) -> None:
        """Plain schedule learns nothing from fills."""


# ---------------------------------------------------------------------------- the plain schedule
class OwnFills:
    """The desk's own fills, for POV volume that leaves them out.

    The market's volume record of a step is written after the step, so fills of the current step
    (``pending``) are not in it yet; :meth:`visible` and :meth:`in_window` count only the fills
    the record already holds.
    """

    def __init__(self) -> None:
        self.total = 0
        self._step_time = -math.inf
        self._pending = 0
        self._window: deque[tuple[float, int]] = deque()
        self._window_qty = 0

    def record(self, now: float, qty: int) -> None:
        """One own fill of ``qty`` shares at clock time ``now``."""
        if now != self._step_time:
            self._step_time = now
            self._pending = 0
        self._pending += qty
        self.total += qty
        self._window.append((now, qty))
        self._window_qty += qty

    def visible(self, now: float) -> int:
        """Own fills already counted in the market's volume record (steps before ``now``)."""
        if self._step_time < now:
            return self.total
        return self.total - self._pending

    def in_window(self, now: float, window: float) -> int:
        """Own fills of the last ``window`` seconds that the volume record holds."""
        w = self._window
        cutoff = now - window
        while w and w[0][0] < cutoff:
            self._window_qty -= w.popleft()[1]
        pending = self._pending if self._step_time >= now else 0
        return self._window_qty - pending


def advance_target(
    p: ParentOrder, now: float, adj: SliceAdjustment, cfg: DeskConfig, state: Any, own: OwnFills
) -> None:
    """Move ``p.target`` (cumulative shares due) to ``now`` under the plain schedule.

    TWAP: evenly over the (scaled) horizon, one slice ahead so the last child goes out by the
    horizon. POV: the (scaled) participation of the market volume ``state`` recorded since the
    last accounting (since-arrival basis), or of the last ``volume_window_s`` seconds' volume
    per second elapsed (previous-minute basis); the desk's own fills are left out when
    ``cfg.exclude_own_volume``. The target never exceeds the parent's quantity.
    """
    if p.algo == "twap":
        horizon = p.horizon_s * adj.horizon_scale
        p.target = p.qty * min(1.0, (now - p.arrival_time + cfg.slice_interval_s) / horizon)
    else:
        rate = p.participation * adj.participation_scale
        if cfg.volume_basis is VolumeBasis.since_arrival:
            n = state.n
            market = float(state.volumes[p.volume_step + 1 : n + 1].sum())
            own_seen = own.visible(now)
            if cfg.exclude_own_volume:
                market -= own_seen - p.own_mark
            p.volume_step = n
            p.own_mark = own_seen
            p.target += rate * max(market, 0.0)
        else:
            window = cfg.volume_window_s
            market = state.volume(window)
            if cfg.exclude_own_volume:
                market -= own.in_window(now, window)
            p.target += rate * max(market, 0.0) / window * (now - p.last_account_time)
        p.target = min(p.target, float(p.qty))
    p.last_account_time = now
