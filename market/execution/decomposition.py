"""Cost decomposition of a desk's recorded children and parents, on plain frames.

:func:`add_child_cost_inputs` and :func:`add_final_mid` add what the decomposition reads to the
desk's child and parent records, given the run's mid tape; :func:`decompose_frames` then splits
every filled child's and every parent's cost into the components of
:func:`market.execution.costs.decompose_costs`. Everything here is pandas and numpy on frames
(one session, or several pooled with a ``session`` column): no simulation is needed.

Costs are in basis points of the arrival mid, positive = cost; side +1 buy / -1 sell; times in
clock seconds; prices in currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from market.execution.costs import (
    COST_COMPONENTS,
    decompose_costs,
    implementation_shortfall,
    markouts,
)


def mid_at(times: np.ndarray, mids: np.ndarray, t: Any) -> np.ndarray:
    """Last mid observed at or before ``t`` (the first before the record, the last after)."""
    idx = np.searchsorted(times, np.asarray(t, dtype=float), side="right") - 1
    return mids[np.clip(idx, 0, mids.size - 1)]


def add_child_cost_inputs(
    frame: pd.DataFrame,
    parent_arrival_mid: Mapping[int, float],
    times: np.ndarray,
    mids: np.ndarray,
    *,
    mid_after_s: float,
    horizons: Sequence[float],
) -> pd.DataFrame:
    """Add the decomposition's inputs to child records (``frame``, modified and returned).

    ``parent_arrival_mid`` maps each ``parent_id`` to its arrival mid; ``times``/``mids`` are the
    run's mid tape. Adds ``parent_arrival_mid``, ``aggressive_share`` (crossed share of the
    filled quantity), ``mid_after`` (the mid ``mid_after_s`` after the child's end; a child
    still working ends at the end of the tape), ``markout_<h>s`` per horizon (bps of the VWAP,
    + = adverse; NaN beyond the tape) and ``shortfall_bps`` (``side * (VWAP - parent arrival
    mid)``, bps of that mid).
    """
    frame["parent_arrival_mid"] = frame["parent_id"].map(parent_arrival_mid)
    filled = frame["filled"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["aggressive_share"] = np.where(
            filled > 0, 1.0 - frame["passive_filled"].to_numpy() / np.maximum(filled, 1), 0.0
        )
    end = frame["end_time"].to_numpy(dtype=float)
    end = np.where(np.isfinite(end), end, times[-1])
    frame["mid_after"] = mid_at(times, mids, end + mid_after_s)
    horizons = list(horizons)
    px = frame["avg_price"].to_numpy(dtype=float)
    has = filled > 0
    marks = np.full((len(frame), len(horizons)), np.nan)
    if has.any():
        marks[has] = markouts(
            frame["side"].to_numpy()[has], end[has], px[has], times, mids, horizons
        )
    for j, h in enumerate(horizons):
        frame[f"markout_{h:g}s"] = marks[:, j]
    m0 = frame["parent_arrival_mid"].to_numpy(dtype=float)
    frame["shortfall_bps"] = np.where(has, 1e4 * frame["side"] * (px - m0) / m0, np.nan)
    return frame


def add_final_mid(frame: pd.DataFrame, times: np.ndarray, mids: np.ndarray) -> pd.DataFrame:
    """Add ``final_mid`` to parent records (``frame``, modified and returned): the mid when the
    parent ended, or at the end of the tape if still working; its unfilled remainder is marked
    at this price."""
    end = frame["end_time"].to_numpy(dtype=float)
    frame["final_mid"] = mid_at(times, mids, np.where(np.isfinite(end), end, times[-1]))
    return frame


def _unfilled_parent_row(p: pd.Series, row: dict[str, Any], final_mid: float) -> dict[str, Any]:
    """A parent without fills: the whole order is opportunity cost against the final mid."""
    zero = dict.fromkeys((f"cost_{c}" for c in COST_COMPONENTS), 0.0)
    row.update(zero, cost_opportunity=0.0, cost_total=0.0, fill_rate=0.0, is_bps=0.0)
    opp = 1e4 * p["side"] * (final_mid - p["arrival_mid"]) / p["arrival_mid"]
    row.update(cost_opportunity=opp, cost_total=opp, is_bps=opp)
    return row


def _filled_parent_costs(
    p: pd.Series, g: pd.DataFrame, row: dict[str, Any], final_mid: float, betas: Any, vol_state: str
) -> pd.DataFrame:
    """Decompose one parent's filled children ``g``; fill ``row`` with the parent's components
    and return the children's (``cost_*`` columns, indexed like ``g``)."""
    hedge_kw = {}
    if betas is not None:
        hedge_kw = {
            "hpi": g["hpi"].to_numpy(float),
            "vol_state": g[vol_state].to_numpy(float),
            "queue_fragility": g["queue_fragility"].to_numpy(float),
            "betas": betas,
        }
    # a completed parent has no remainder to mark at the final mid
    full = int(g["filled"].sum()) >= int(p["qty"])
    dec = decompose_costs(
        int(p["side"]),
        float(p["arrival_mid"]),
        g["arrival_mid"].to_numpy(float),
        g["half_spread"].to_numpy(float),
        g["avg_price"].to_numpy(float),
        g["filled"].to_numpy(float),
        g["mid_after"].to_numpy(float),
        aggressive_share=np.clip(g["aggressive_share"].to_numpy(float), 0.0, 1.0),
        expected_perm_bps=g["_perm"].to_numpy(float) if "_perm" in g else None,
        target_qty=float(p["qty"]),
        final_mid=None if full else final_mid,
        **hedge_kw,
    )
    part = dec.children.drop(columns="qty").add_prefix("cost_")
    part.index = g.index
    totals = dec.parent
    assert totals is not None  # decompose_costs sums the parent whenever target_qty is given
    row.update({f"cost_{k}": v for k, v in totals.items() if k != "fill_rate"})
    row["fill_rate"] = totals["fill_rate"]
    fills_px = g["avg_price"].to_numpy(float)
    row["is_bps"] = implementation_shortfall(
        int(p["side"]),
        float(p["arrival_mid"]),
        fills_px,
        g["filled"].to_numpy(float),
        float(p["qty"]),
        final_mid=None if full else final_mid,
    ).total_bps
    return part


def _filled_children(
    children: pd.DataFrame, expected_perm_bps: np.ndarray | None, betas: Any, vol_state: str
) -> pd.DataFrame:
    """The filled rows of ``children``, with the own-impact forecast as ``_perm`` if given."""
    if children.empty and "filled" not in children.columns:
        # no child at all (a parent too late in the day to send one): no column to select on
        children = pd.DataFrame(columns=["parent_id", "filled"])
    kids = children.copy()
    if expected_perm_bps is not None:
        perm = np.asarray(expected_perm_bps, dtype=float)
        if perm.shape != (len(kids),):
            raise ValueError(
                f"expected_perm_bps must have one value per child row "
                f"({len(kids)}), got shape {perm.shape}"
            )
        kids["_perm"] = perm
    kids = kids[kids["filled"] > 0]
    for col in ("hpi", vol_state, "queue_fragility"):
        if betas is not None and col not in kids.columns:
            raise ValueError(f"children needs a {col!r} column for the hedge-flow term")
    return kids


def decompose_frames(
    children: pd.DataFrame,
    parents: pd.DataFrame,
    *,
    betas: Any = None,
    expected_perm_bps: np.ndarray | None = None,
    vol_state: str = "volatility",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost decomposition of every filled child and every parent (bps of the arrival mid).

    ``children`` and ``parents`` are child and parent records with the columns of
    :func:`add_child_cost_inputs` / :func:`add_final_mid` (any rows with those columns, e.g.
    pooled over sessions with a ``session`` column, which then keys parents together with
    ``parent_id``). ``betas`` (three numbers or a :class:`market.execution.costs.HedgeTermFit`)
    give the hedge-flow term ``b1 HPI + b2 HPI*VolState + b3 HPI*QueueFragility`` with VolState
    the ``vol_state`` column; ``expected_perm_bps`` (one per child row, aligned with
    ``children``) is an own-impact model's permanent impact. Returns the filled children with
    ``cost_<component>`` and ``cost_total`` columns (per share, bps), and the parents with the
    target-weighted components, ``cost_opportunity``, ``cost_total`` and ``is_bps``
    (:func:`market.execution.costs.implementation_shortfall` of the same fills, which
    ``cost_total`` equals).
    """
    keys = ["session", "parent_id"] if "session" in children.columns else ["parent_id"]
    kids = _filled_children(children, expected_perm_bps, betas, vol_state)
    child_parts, parent_rows = [], []
    by_parent = {
        tuple(k) if isinstance(k, tuple) else (k,): g for k, g in kids.groupby(keys, sort=False)
    }
    for _, p in parents.iterrows():
        key = tuple(p[k] for k in keys)
        g = by_parent.get(key)
        row = {k: p[k] for k in keys}
        final_mid = float(p["final_mid"])
        if g is None or g.empty:
            parent_rows.append(_unfilled_parent_row(p, row, final_mid))
            continue
        child_parts.append(_filled_parent_costs(p, g, row, final_mid, betas, vol_state))
        parent_rows.append(row)
    child_costs = pd.concat(child_parts) if child_parts else pd.DataFrame()
    out_children = kids.drop(columns=[c for c in ("_perm",) if c in kids]).join(child_costs)
    out_parents = parents.merge(pd.DataFrame(parent_rows), on=keys, how="left")
    return out_children, out_parents
