"""The HPI study's evaluation tables: plain (shadow) vs HPI-driven (live) parents and children,
per event class and per session, the canary rollout, the cost terms and the monitoring tables.

Costs are bps of the arrival mid, + = cost; completion and rates are fractions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from agents.desk import HPI_STATES
from experiments.hpi_study.config import CanaryConfig, HPIStudyConfig
from market.execution.costs import cvar
from market.execution.slippage_model import cvar_drift
from market.execution.states import CanaryGate

ARMS = ("plain", "hpi")  # shadow runs are the plain desk; live runs the HPI-driven desk


STATES = ("calm", *HPI_STATES)


def tail_metrics(x) -> dict[str, float]:
    """p50, p95, CVaR95 and worst-1% mean of costs (bps, + = cost)."""
    arr = np.asarray(x, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return dict.fromkeys(("n", "p50", "p95", "cvar95", "worst1pct"), math.nan)
    return {
        "n": float(arr.size),
        "p50": float(np.quantile(arr, 0.5)),
        "p95": float(np.quantile(arr, 0.95)),
        "cvar95": cvar(arr, 0.95),
        "worst1pct": cvar(arr, 0.99),
    }


def policy_table(parents: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """Per arm and event class (and ``all``): parents' implementation shortfall tail metrics,
    completion, underfill, delay and opportunity cost, children's slippage p50 / p95 and
    queue-loss rate."""
    rows = []
    groups = [("all", parents, children)] + [
        (cls, parents[parents["event_class"] == cls], children[children["event_class"] == cls])
        for cls in sorted(parents["event_class"].unique())
    ]
    for cls, par, kid in groups:
        for arm in ARMS:
            p = par[par["arm"] == arm]
            k = kid[kid["arm"] == arm]
            resting = k[k["passive_price"].notna()]
            filled = k[k["filled"] > 0]
            rows.append(
                {
                    "event_class": cls,
                    "arm": arm,
                    "parents": len(p),
                    **{f"is_{m}": v for m, v in tail_metrics(p["is_bps"]).items() if m != "n"},
                    "completion": float(p["completion"].mean()) if len(p) else math.nan,
                    "underfill": float(1 - p["completion"].mean()) if len(p) else math.nan,
                    "delay_cost_bps": float(p["cost_delay"].mean()) if len(p) else math.nan,
                    "opportunity_cost_bps": float(p["cost_opportunity"].mean())
                    if len(p)
                    else math.nan,
                    "duration_s": float(p["duration_s"].mean()) if len(p) else math.nan,
                    "child_p50": float(filled["slippage_bps"].quantile(0.5))
                    if len(filled)
                    else math.nan,
                    "child_p95": float(filled["slippage_bps"].quantile(0.95))
                    if len(filled)
                    else math.nan,
                    "queue_loss_rate": float(resting["queue_lost"].mean())
                    if len(resting)
                    else math.nan,
                }
            )
    return pd.DataFrame(rows)


def paired_sessions(parents: pd.DataFrame) -> pd.DataFrame:
    """Per session and arm: mean IS, p95-worst parent, completion; plus hpi - plain deltas."""
    g = parents.groupby(["session", "event_class", "vol_regime", "arm"])
    per = g.agg(
        is_mean=("is_bps", "mean"),
        is_max=("is_bps", "max"),
        completion=("completion", "mean"),
        delay=("cost_delay", "mean"),
    ).reset_index()
    wide = per.pivot_table(
        index=["session", "event_class", "vol_regime"],
        columns="arm",
        values=["is_mean", "is_max", "completion", "delay"],
    )
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    for m in ("is_mean", "is_max", "completion", "delay"):
        if f"{m}_hpi" in wide and f"{m}_plain" in wide:
            wide[f"{m}_diff"] = wide[f"{m}_hpi"] - wide[f"{m}_plain"]
    return wide


def _canary_limit(c: CanaryConfig, plain: pd.DataFrame) -> float:
    """The window's p95 limit (bps): the configured one, else the plain desk's p95 times
    ``1 + p95_tolerance`` (never below the plain p95 itself, whatever the sign)."""
    if c.p95_limit_bps is not None:
        return c.p95_limit_bps
    limit = float(np.quantile(plain["is_bps"], 0.95)) * (1 + c.p95_tolerance) if len(plain) else 0.0
    return max(limit, float(np.quantile(plain["is_bps"], 0.95)) if len(plain) else 0.0)


def _queue_loss_rates(children: pd.DataFrame) -> np.ndarray:
    """Per parent, the share of its resting children that lost their queue place."""
    per_parent = children.groupby(["session", "parent_id"])["queue_lost"].mean()
    return per_parent.to_numpy(dtype=float)


def canary_rollout(
    study: HPIStudyConfig, parents: pd.DataFrame, children: pd.DataFrame
) -> pd.DataFrame:
    """Deploy the live policy window by window; after each window judge it with the canary
    gates against the plain desk of the same sessions; once a gate trips, later sessions run
    the plain desk (rolled back). One row per window: decision, tripped gates, metrics and
    which policy the window ran."""
    c = study.canary
    sessions = sorted(parents["session"].unique())
    windows = [sessions[i : i + c.sessions] for i in range(0, len(sessions), c.sessions)]
    rows = []
    deployed = "hpi"
    for w, ids in enumerate(windows):
        par = parents[parents["session"].isin(ids)]
        kid = children[children["session"].isin(ids) & children["passive_price"].notna()]
        live, plain = par[par["arm"] == "hpi"], par[par["arm"] == "plain"]
        limit = _canary_limit(c, plain)
        gate = CanaryGate(
            p95_limit_bps=limit,
            completion_drop=c.completion_drop,
            queue_loss_jump=c.queue_loss_jump,
            min_samples=c.min_samples,
        )
        decision = gate.evaluate(
            live["is_bps"].to_numpy(float),
            live["completion"].to_numpy(float),
            _queue_loss_rates(kid[kid["arm"] == "hpi"]),
            plain["completion"].to_numpy(float),
            _queue_loss_rates(kid[kid["arm"] == "plain"]),
        )
        ran = deployed
        if deployed == "hpi" and decision.rollback:
            deployed = "plain"
        rows.append(
            {
                "window": w,
                "sessions": f"{ids[0]}-{ids[-1]}",
                "ran": ran,
                "p95_limit_bps": limit,
                "sufficient": decision.sufficient,
                "rollback": decision.rollback,
                "tripped": ",".join(decision.tripped),
                "plain_p95_bps": float(np.quantile(plain["is_bps"], 0.95))
                if len(plain)
                else math.nan,
                **decision.metrics,
                "deployed_after": deployed,
            }
        )
    return pd.DataFrame(rows)


def with_queue(children: pd.DataFrame, kids: pd.DataFrame) -> pd.DataFrame:
    """All children (filled or not) with the decomposition columns of the filled ones."""
    cost_cols = [c for c in kids.columns if c.startswith("cost_")]
    keys = ["arm", "session", "child_id"]
    return children.merge(kids[keys + cost_cols], on=keys, how="left")


def children_by_state(children: pd.DataFrame) -> pd.DataFrame:
    """The HPI desk's children per policy state: count, slippage p50 / p95 (bps), mean
    completion and queue-loss rate."""
    return (
        children[children["arm"] == "hpi"]
        .groupby("policy_state")
        .agg(
            children=("child_id", "size"),
            slippage_p50=("slippage_bps", lambda s: s.quantile(0.5)),
            slippage_p95=("slippage_bps", lambda s: s.quantile(0.95)),
            completion=("completion", "mean"),
            queue_lost=("queue_lost", "mean"),
        )
        .reset_index()
    )


def shadow_summary(shadow: pd.DataFrame) -> pd.DataFrame:
    """What the shadow policy would have done, per state: slices, mean size scale, share of
    slices it would have started anew (empty without a shadow log)."""
    if not len(shadow):
        return pd.DataFrame()
    return (
        shadow.groupby("state")
        .agg(
            slices=("time", "size"),
            would_size_scale=("would_size_scale", "mean"),
            would_start_new=("would_start_new", "mean"),
        )
        .reset_index()
    )


def cvar_over_time(data: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
    """CVaR95 drift over study time of the plain desk's child slippage and of each arm's parent
    implementation shortfall (at most 5 windows each)."""
    frames = [
        cvar_drift(
            data["study_time"].to_numpy(float),
            data["slippage_bps"].to_numpy(float),
            n_windows=min(5, len(data)),
        ).assign(series="child slippage")
    ]
    for arm in ARMS:
        p = parents[parents["arm"] == arm]
        when = p["session"].to_numpy(float) * 23_400 + p["arrival_time"].to_numpy(float)
        frames.append(
            cvar_drift(when, p["is_bps"].to_numpy(float), n_windows=min(5, len(p))).assign(
                series=f"parent IS ({arm})"
            )
        )
    return pd.concat(frames, ignore_index=True)


def cost_terms_table(terms: dict) -> pd.DataFrame:
    """The fitted own-impact and hedge-flow terms with their standard errors."""
    hedge = terms["hedge"]
    return pd.DataFrame(
        {
            "term": [
                "own_impact_a",
                "own_impact_b_sqrt_participation",
                "hedge_b1_hpi",
                "hedge_b2_hpi_x_vol",
                "hedge_b3_hpi_x_queue_fragility",
                "hedge_intercept",
            ],
            "value": [*terms["own_impact"], *hedge.betas, hedge.intercept],
            "std_error": [math.nan, math.nan, *hedge.std_errors, hedge.intercept_se],
        }
    )
