"""What a run records of the desk: its figures for summary.json, its Parquet tables and the
model's per-step reporters of the HPI policy.

Costs are in bps of the arrival mid, + = cost; side +1 buy / -1 sell; times in clock seconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from agents.desk.desk import ExecutionDesk
from agents.desk.hpi_policy import HPIPolicy
from market.execution.decomposition import add_child_cost_inputs, add_final_mid, decompose_frames

#: timeseries columns the model records from the desk's HPI policy (NaN / "off" without one)
HPI_REPORT_COLUMNS: tuple[str, ...] = (
    "hpi",
    "hpi_slope",
    "hpi_gamma_pressure",
    "hpi_spot_velocity",
    "hpi_expiry_proximity",
    "hpi_book_stress",
    "observer_gex",
    "observer_gex_calls",
    "observer_gex_puts",
    "desk_state",
)


def hpi_report(model: Any, column: str) -> float | str:
    """One reporter value of :data:`HPI_REPORT_COLUMNS` from the (first) desk's policy."""
    members = model.populations.get(ExecutionDesk.population) or []
    report = getattr(members[0].policy, "report_value", None) if members else None
    if report is None:
        return "off" if column == "desk_state" else math.nan
    return report(column)


def _mid_series(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """The run's mid tape: record times (clock seconds) and mids (currency)."""
    n = model.state.n
    mids = np.asarray(model.state.mids[: n + 1], dtype=float)
    return np.arange(n + 1) * model.dt, mids


def child_frame(desk: ExecutionDesk) -> pd.DataFrame:
    """Every child with the inputs of its cost decomposition: :meth:`ExecutionDesk.child_records`
    plus the columns of :func:`market.execution.decomposition.add_child_cost_inputs` (mid after
    ``desk.mid_after_s``, markouts at ``desk.markout_horizons_s``)."""
    frame = pd.DataFrame(desk.child_records())
    if frame.empty:
        return frame
    times, mids = _mid_series(desk.model)
    arrival = {p.parent_id: p.arrival_mid for p in desk.parents}
    return add_child_cost_inputs(
        frame,
        arrival,
        times,
        mids,
        mid_after_s=desk.cfg.mid_after_s,
        horizons=desk.cfg.markout_horizons_s,
    )


def parent_frame(desk: ExecutionDesk) -> pd.DataFrame:
    """Every parent with ``final_mid``: the mid when it ended (completed, expired) or at the end
    of the run if still working, the price its unfilled remainder is marked at."""
    frame = pd.DataFrame(desk.parent_records())
    if frame.empty:
        return frame
    times, mids = _mid_series(desk.model)
    return add_final_mid(frame, times, mids)


def desk_tables(desk: ExecutionDesk, model: Any) -> dict[str, pd.DataFrame]:
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
            kids[[c for c in kids.columns if c.startswith("cost_")]]
        )
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
    out["queue_loss_rate"] = (
        sum(c.queue_lost for c in resting) / len(resting) if resting else math.nan
    )
    policy = desk.policy
    if isinstance(policy, HPIPolicy):
        out["hpi_mode"] = policy.mode.value
        frame = policy.observer.frame()  # flushes, so the machine is up to date
        out["state_occupancy_s"] = policy.machine.occupancy_seconds()
        out["n_transitions"] = len(policy.machine.transitions)
        out["hpi_mean"] = float(frame["hpi"].mean()) if len(frame) else math.nan
        out["hpi_p95"] = float(frame["hpi"].quantile(0.95)) if len(frame) else math.nan
    return out


def summary(members: list[ExecutionDesk], model: Any) -> dict:
    """The desk's figures for summary.json (the model's population interface)."""
    return desk_summary(members[0])


def tables(members: list[ExecutionDesk], model: Any) -> dict:
    """The desk's Parquet tables (the model's population interface)."""
    return desk_tables(members[0], model)
