"""Parent and child orders: what a parent order asks for, and each order's execution record.

Conventions: side +1 buy / -1 sell; quantities in shares; prices in currency (ticks only inside
the book); time in clock seconds; slippage in basis points of the arrival mid, positive = cost to
the desk: ``side * (average fill price - arrival mid) / arrival mid * 1e4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from market.validation import ConfigError, Validated, param


@dataclass
class ParentOrderSpec(Validated):
    """What a parent order asks the desk for; the one place its fields' ranges are declared.

    ``algo`` is ``pov`` (trade ``participation`` of the market's volume) or ``twap`` (evenly
    over ``horizon_s``); ``limit_price`` caps every child (buys never above it, sells never
    below; ``None`` = no limit); ``urgency`` shortens the passive dwell (1 = cross at once).
    """

    config_path: ClassVar[str] = "parent_order"

    side: int = param(choices=(1, -1), doc="+1 buy, -1 sell")
    qty: int = param(
        lo=1,
        hi=10**9,
        unit="shares",
        doc="quantity to execute (at most 1e9: a complete fill at the largest initial price, "
        "1e6, stays far inside the ledger's 64-bit integer cents)",
    )
    algo: str = param("pov", choices=("pov", "twap"), doc="schedule")
    participation: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        doc="POV share of the market's volume; plausible: execution algorithms run at 1-25%, "
        "the 2010 program at 9% (CFTC-SEC 2010)",
        plausible=(0.01, 0.25),
    )
    horizon_s: float = param(1800.0, lo=0.0, hi=1e9, lo_open=True, unit="s", doc="TWAP horizon")
    limit_price: float | None = param(
        None,
        lo=0.0,
        hi=1e15,
        lo_open=True,
        optional=True,
        unit="currency",
        doc="price cap of every child",
    )
    urgency: float = param(0.5, lo=0.0, hi=1.0, doc="0 = full passive dwell, 1 = cross at once")

    def check(self) -> None:
        # integers, not merely numbers in range: a bool or a fractional quantity is a mistake
        if isinstance(self.side, bool):
            raise ConfigError(
                f"{self.config_path}.side must be +1 (buy) or -1 (sell), got {self.side!r}"
            )
        if isinstance(self.qty, bool) or not isinstance(self.qty, (int, np.integer)):
            raise ConfigError(f"{self.config_path}.qty must be an integer > 0, got {self.qty!r}")

    @classmethod
    def from_event(cls, event: Any) -> ParentOrderSpec:
        """The spec of a scenario event (anything with the same attributes, e.g. a
        ``parent_order`` event of the scenario)."""
        return cls(
            side=event.side,
            qty=event.qty,
            algo=event.algo,
            participation=event.participation,
            horizon_s=event.horizon_s,
            limit_price=event.limit_price,
            urgency=event.urgency,
        )


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
        """Scalar fields for a table row (fills: ``ExecutionDesk.fill_records``)."""
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
            "queue_loss_threshold": math.nan
            if self.queue_loss_threshold is None
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

    @classmethod
    def start(
        cls,
        spec: ParentOrderSpec,
        *,
        parent_id: int,
        tick: float,
        now: float,
        arrival_mid: float,
        day: int,
        volume_step: int,
        own_mark: int,
    ) -> ParentOrder:
        """A parent order of ``spec`` arriving at ``now`` (book ``tick`` size in currency); its
        POV volume is counted from record step ``volume_step`` and own fills ``own_mark``."""
        side, limit = spec.side, spec.limit_price
        limit_ticks = None
        if limit is not None:
            # A buy limit rounds down and a sell limit up, so the tick price never violates it.
            raw = limit / tick
            limit_ticks = max(1, math.floor(raw + 1e-9) if side > 0 else math.ceil(raw - 1e-9))
        return cls(
            parent_id=parent_id,
            side=int(side),
            qty=int(spec.qty),
            algo=spec.algo,
            participation=float(spec.participation),
            horizon_s=float(spec.horizon_s),
            limit_price=None if limit is None else float(limit),
            urgency=float(spec.urgency),
            arrival_time=now,
            arrival_mid=arrival_mid,
            day=day,
            next_slice=now,
            limit_ticks=limit_ticks,
            last_account_time=now,
            volume_step=volume_step,
            own_mark=own_mark,
        )

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
