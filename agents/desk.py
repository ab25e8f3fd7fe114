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
from typing import NamedTuple

import numpy as np

from agents.base import Participant


class VolumeBasis(Enum):
    """Which market volume a POV parent participates in."""

    since_arrival = "since_arrival"
    previous_minute = "previous_minute"


def _check(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False) -> None:
    # Imported here: experiments.config imports this module for the schema.
    from experiments.config import check_range

    check_range(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


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
    """

    participation_scale: float = 1.0
    size_scale: float = 1.0
    dwell_s: float | None = None
    horizon_scale: float = 1.0
    max_cross_ticks: int | None = None
    allow_cross: bool = True
    start_new: bool = True


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
    return adj


class SchedulePolicy:
    """The plain schedule: every slice runs as configured.

    A replacement policy keeps this interface: ``state`` (a short label recorded on every child),
    ``adjust(model, parent)`` returning a :class:`SliceAdjustment` (called once per slice of each
    parent, before the child is sized), and ``on_child_done(child)`` (called when a child has
    finished, with its fills and slippage final).

    The per-state policies of :mod:`market.execution_states` map onto an adjustment field by
    field: ``slice_cap`` -> ``size_scale``, ``participation_multiplier`` ->
    ``participation_scale``, ``passive_dwell_seconds`` -> ``dwell_s``, ``horizon_stretch`` ->
    ``horizon_scale``, ``allow_risk_increasing`` -> ``start_new``, ``strict_residual`` -> not
    ``allow_cross``.
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
    filled while resting (the rest were filled crossing).
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
    def act(self) -> None:
        if not self._active:
            return
        model = self.model
        now = model.now
        if now < self._next_due or model.book.halted:
            return
        for p in list(self._active):
            c = p.live_child
            if c is not None:
                if now < c.dwell_until:
                    continue
                self._end_dwell(p, c)
            if p.status == "active" and p.live_child is None and now >= p.next_slice:
                self._slice(p, now)
        self._refresh_due()

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
        )
        if dwell > 0.0:
            price = self._passive_price(p)
            if price is None:
                return  # an empty book: nothing to join, try again next slice
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
            else:
                self._child_done(p, c, now)
        else:
            self._register(p, c)
            self._cross(p, c, qty)
            self._child_done(p, c, now)

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
        if c.passive_order_id:
            self.model.venue.cancel(c.passive_order_id)
            self._by_order.pop(c.passive_order_id, None)
        rem = c.qty - c.filled
        if rem > 0 and c.allow_cross and p.status == "active":
            self._cross(p, c, min(rem, p.qty - p.filled))
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


def populate(model, cfg: DeskConfig, stream: np.random.Generator) -> list[ExecutionDesk]:
    """One desk (the model skips this when ``cfg.enabled`` is false)."""
    if not cfg.enabled:
        return []
    return [ExecutionDesk(model, stream, cfg.rate, cfg)]
