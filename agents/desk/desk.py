"""The execution desk: works parent orders as child orders through the book.

Parent orders arrive from scenario events (``model`` calls :meth:`ExecutionDesk.add_parent` with
a ``parent_order`` event, or anything with the fields of
:class:`agents.desk.orders.ParentOrderSpec`). Each parent follows one of
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

How the schedule is adjusted is delegated to the desk's policy (given to the constructor,
replaceable through ``desk.policy``), consulted once per slice of each parent: the plain
:class:`agents.desk.schedule.SchedulePolicy`, or a state machine (for example the one driven by
the Hedge Pressure Index) returning other :class:`agents.desk.schedule.SliceAdjustment` values
and watching finished children (see :class:`agents.desk.schedule.SlicingPolicy`).

Conventions: side +1 buy / -1 sell; quantities in shares; prices in currency (ticks only inside the
book); time in clock seconds; slippage in basis points of the arrival mid, positive = cost to the
desk: ``side * (average fill price - arrival mid) / arrival mid * 1e4``.
"""

from __future__ import annotations

import math
from typing import Any

from agents.base import Participant
from agents.desk.config import DeskConfig
from agents.desk.orders import ChildOrder, ParentOrder, ParentOrderSpec
from agents.desk.queue_priority import queue_ahead, queue_loss
from agents.desk.schedule import (
    NEUTRAL,
    OwnFills,
    SchedulePolicy,
    SliceAdjustment,
    advance_target,
    check_adjustment,
)
from market.execution.book_features import book_features


class ExecutionDesk(Participant):
    """Works parent orders into child orders (see the module docstring).

    Public figures: ``parents`` and ``children`` (lists of :class:`ParentOrder` /
    :class:`ChildOrder`), :meth:`parent_records`, :meth:`child_records`, :meth:`fill_records`,
    :meth:`summary`, ``filled_total`` (shares filled over all parents), ``active_parents`` (how
    many parents are still working), ``policy`` (the slicing policy, replaceable; the plain
    schedule when none is given).
    """

    population = "desk"
    wants_fills = True

    def __init__(
        self, model: Any, stream: Any, rate: float, cfg: DeskConfig, policy: Any = None
    ) -> None:
        super().__init__(model, stream, rate)
        self.cfg = cfg
        self.initial_cash = cfg.initial_cash
        self.initial_shares = cfg.initial_shares
        self.policy = policy if policy is not None else SchedulePolicy()
        self.parents: list[ParentOrder] = []
        self.children: list[ChildOrder] = []
        self.filled_total = 0
        self._active: list[ParentOrder] = []
        self._by_order: dict[int, ChildOrder] = {}
        self._sending: ChildOrder | None = None
        self._next_due = math.inf
        self._own = OwnFills()

    # ------------------------------------------------------------------ public
    @property
    def active_parents(self) -> int:
        """Number of parents still being worked."""
        return len(self._active)

    @property
    def policy(self) -> Any:
        """The slicing policy (:class:`agents.desk.schedule.SlicingPolicy`)."""
        return self._policy

    @policy.setter
    def policy(self, policy: Any) -> None:
        if not (
            callable(getattr(policy, "adjust", None))
            and callable(getattr(policy, "on_child_done", None))
            and isinstance(getattr(policy, "state", None), str)
        ):
            raise ValueError(
                "desk policy must have a str 'state' and methods 'adjust(model, parent)' and "
                f"'on_child_done(child)' (see SchedulePolicy), got {type(policy).__name__}"
            )
        self._policy = policy

    def add_parent(self, event: Any) -> ParentOrder:
        """Start working a parent order; returns its record.

        ``event`` is a :class:`agents.desk.orders.ParentOrderSpec` or anything with its fields
        (a scenario's ``parent_order`` event); its fields are checked there."""
        spec = event if isinstance(event, ParentOrderSpec) else ParentOrderSpec.from_event(event)
        model = self.model
        now = model.now
        p = ParentOrder.start(
            spec,
            parent_id=len(self.parents),
            tick=model.tick,
            now=now,
            arrival_mid=self._mid(),
            day=model.day,
            volume_step=model.state.n,
            own_mark=self._own.visible(now),
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
            {
                "child_id": c.child_id,
                "parent_id": c.parent_id,
                "time": t,
                "qty": q,
                "price": px,
                "side": c.side,
            }
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
            if filled
            else math.nan,
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
        """Share of a resting child's queue priority lost since it joined, in [0, 1) (see
        :func:`agents.desk.queue_priority.queue_loss`)."""
        if not c.passive_order_id:
            return 0.0
        price = round(c.passive_price / self.model.tick)
        return queue_loss(self.model.book, c.passive_order_id, c.side, price, c.queue_ahead0)

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
        self._own.record(now, qty)
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

    def _slice(self, p: ParentOrder, now: float) -> None:
        """One slicing decision for ``p``: advance its schedule and send a child if behind."""
        cfg = self.cfg
        adj = self.policy.adjust(self.model, p)
        if adj is not NEUTRAL:
            check_adjustment(adj)
        due = p.next_slice
        p.next_slice += cfg.slice_interval_s
        if p.next_slice <= now:
            p.next_slice = now + cfg.slice_interval_s
        advance_target(p, now, adj, cfg, self.model.state, self._own)
        if not adj.start_new and p.n_children == 0:
            return
        remaining = p.qty - p.filled
        cap = max(1, int(cfg.max_child_qty * adj.size_scale))
        qty = min(int(p.target + 1e-9) - p.filled, remaining, cap)
        if qty <= 0 or (qty < cfg.min_child_qty and qty < remaining):
            return
        c = self._new_child(p, now, due, qty, adj)
        if c.dwell_s > 0.0:
            self._send_passive(p, c, now)
        else:
            self._send_cross(p, c, now)

    def _new_child(
        self, p: ParentOrder, now: float, due: float, qty: int, adj: SliceAdjustment
    ) -> ChildOrder:
        """A child of ``qty`` shares decided now, shaped by the policy's adjustment."""
        dwell = (
            adj.dwell_s if adj.dwell_s is not None else self.cfg.passive_dwell_s * (1.0 - p.urgency)
        )
        return ChildOrder(
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

    def _send_passive(self, p: ParentOrder, c: ChildOrder, now: float) -> None:
        """Rest ``c`` at the near touch for its dwell (it may fill at once against the book)."""
        price = self._passive_price(p)
        if price is None:
            return  # an empty book: nothing to join, try again next slice
        self._observe_decision(p, c)
        self._register(p, c)
        c.passive_price = price * self.model.tick
        self._sending = c
        try:
            oid = self.model.venue.limit(self.account, p.side, price, c.qty)
        finally:
            self._sending = None
        c.passive_order_id = oid
        if c.filled < c.qty:
            self._by_order[oid] = c
            c.queue_ahead0 = queue_ahead(self.model.book, oid, p.side, price)
        else:
            c.end_reason = "filled"
            self._child_done(p, c, now)

    def _send_cross(self, p: ParentOrder, c: ChildOrder, now: float) -> None:
        """A child without dwell crosses at once, unless the quality gate holds it back."""
        self._observe_decision(p, c)
        self._register(p, c)
        if self._gate_open(c):
            self._cross(p, c, c.qty)
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
        ctx = book_features(model.book, model.state, p.side, c.qty, c.arrival_mid)
        c.half_spread = 0.5 * ctx["spread_ticks"] * model.tick
        ctx.update(
            urgency=p.urgency,
            parent_participation=p.participation,
            parent_qty=float(p.qty),
            elapsed_s=c.decision_time - p.arrival_time,
        )
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
