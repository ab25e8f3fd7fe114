"""``report.md`` of the HPI study: the arm comparison, canary, cost decomposition, slippage
model and monitoring, in markdown. Costs are bps of the arrival mid, + = cost."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.hpi_study.config import HPIStudyConfig
from experiments.hpi_study.models import DRIFT_FEATURES
from experiments.hpi_study.tables import STATES


@dataclass(frozen=True)
class ReportTables:
    """What the report reads besides the study config and the manifest (see
    :func:`experiments.hpi_study.pipeline.run_study`): ``policy`` (policy_evaluation),
    ``canary``, ``validation`` (:func:`~experiments.hpi_study.models.model_validation`),
    ``drift`` (feature drift) with its alarm level ``drift_limit``, ``cost_terms``, ``gex``
    (true vs observer), ``by_state`` (children by state), ``shadow_summary`` and
    ``occupancy``."""

    policy: pd.DataFrame
    canary: pd.DataFrame
    validation: dict
    drift: pd.DataFrame
    drift_limit: float
    cost_terms: pd.DataFrame
    gex: pd.DataFrame
    by_state: pd.DataFrame
    shadow_summary: pd.DataFrame
    occupancy: pd.DataFrame


def _md_table(frame: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """``frame`` as a markdown table; floats with ``floatfmt``, non-finite ones empty."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, (float, np.floating)):
                cells.append("" if not math.isfinite(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _drift_pivot(drift: pd.DataFrame) -> str:
    """Feature drift as a markdown table: one row per feature, one column per window."""
    if drift.empty:
        return "No drift windows (a single event class and too few sessions)."
    cell = drift.assign(
        cell=[
            f"{s:.2f}{'*' if a else ''}"
            for s, a in zip(drift["statistic"], drift["alarm"], strict=True)
        ]
    )
    table = cell.pivot(index="feature", columns="window", values="cell")
    table = table.reindex([f for f in DRIFT_FEATURES if f in table.index]).reset_index()
    return _md_table(table)


def _intro_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The title, the run counts and the wall times."""
    t = manifest["timings"]
    return [
        "# HPI study: hedge-pressure-aware execution",
        "",
        f"{manifest['sessions']} sessions x 2 arms ({manifest['runs']} runs), "
        f"{manifest['children']} children, {manifest['dataset_rows']} rows in the model "
        f"dataset. Wall time {t['total_s']:.0f} s (simulation {t['simulation_s']:.0f} s, "
        f"mean session {t['session_wall_mean_s']:.1f} s wall / {t['session_cpu_mean_s']:.1f} s "
        f"CPU; calibration {t['calibration_s']:.0f} s; model fitting {t['model_s']:.0f} s).",
        "",
        "Costs are in bps of the arrival mid, + = cost. *plain* = the desk's plain schedule "
        "(the HPI ran in shadow mode: it scored and logged only); *hpi* = the HPI state machine "
        "drove the slicing. Both arms ran the same seeds.",
        "",
    ]


def _headline_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The arm comparison over all sessions, and the HPI desk's state occupancy."""
    policy = r.policy
    allp = policy[policy["event_class"] == "all"].set_index("arm")
    occ = r.occupancy[r.occupancy["arm"] == "hpi"].groupby("desk_state")["steps"].sum()
    occ_share = (occ / occ.sum()).reindex(list(STATES)).fillna(0.0)
    return [
        "## Headline: plain vs HPI-driven desk (all sessions)",
        "",
        _md_table(policy[policy["event_class"] == "all"].drop(columns="event_class")),
        "",
        f"- p95 implementation shortfall: plain {allp.loc['plain', 'is_p95']:.2f}, HPI "
        f"{allp.loc['hpi', 'is_p95']:.2f} bps; CVaR95: plain {allp.loc['plain', 'is_cvar95']:.2f}"
        f", HPI {allp.loc['hpi', 'is_cvar95']:.2f} bps.",
        f"- completion: plain {allp.loc['plain', 'completion']:.3f}, HPI "
        f"{allp.loc['hpi', 'completion']:.3f}; mean delay cost plain "
        f"{allp.loc['plain', 'delay_cost_bps']:.2f}, HPI {allp.loc['hpi', 'delay_cost_bps']:.2f} "
        f"bps; opportunity cost plain {allp.loc['plain', 'opportunity_cost_bps']:.2f}, HPI "
        f"{allp.loc['hpi', 'opportunity_cost_bps']:.2f} bps.",
        "- policy-state occupancy of the HPI desk: "
        + ", ".join(f"{s} {100 * occ_share[s]:.1f}%" for s in STATES)
        + ".",
        "",
    ]


def _class_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The arm comparison per event class."""
    policy = r.policy
    return [
        "## By event class",
        "",
        _md_table(
            policy[policy["event_class"] != "all"][
                [
                    "event_class",
                    "arm",
                    "parents",
                    "is_p50",
                    "is_p95",
                    "is_cvar95",
                    "is_worst1pct",
                    "completion",
                    "delay_cost_bps",
                    "opportunity_cost_bps",
                    "child_p95",
                    "queue_loss_rate",
                ]
            ]
        ),
        "",
        "![tails](figures/tails_by_event_class.png)",
        "![completion vs delay](figures/completion_vs_delay.png)",
        "",
    ]


def _canary_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The canary windows and their decisions."""
    canary = r.canary
    return [
        "## Canary deployment",
        "",
        f"The live policy was deployed in windows of {study.canary.sessions} sessions; after "
        "each window the canary gates (p95 breach, completion drop, queue-loss jump) compared "
        "it with the plain desk on the same sessions and rolled it back for every later "
        "session once one tripped.",
        "",
        _md_table(canary),
        "",
    ]


def _decomposition_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The cost decomposition and the fitted cost terms."""
    cost_terms = r.cost_terms
    return [
        "## Cost decomposition",
        "",
        "Every child's cost splits into delay + spread + temporary + permanent (own impact) + "
        "hedge-flow term + residual, and each parent adds opportunity cost on its unfilled "
        f"remainder; the parts add up to the implementation shortfall (largest gap over all "
        f"parents: {manifest['max_decomposition_gap_bps']:.2e} bps).",
        "",
        _md_table(cost_terms, ".4g"),
        "",
    ]


def _model_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The two-layer slippage model out of sample, and its event-class holdouts."""
    validation = r.validation
    comp = validation["comparison"]

    def metric(model, q, name):
        sel = comp[(comp.model == model) & (comp["quantile"] == q) & (comp.metric == name)]
        return float(sel["value"].iloc[0]) if len(sel) else math.nan

    return [
        "## Two-layer slippage model (plain desk's children)",
        "",
        "Layer A (spread, depth, imbalance, volatility, participation, latency) and Layer B "
        "(HPI level, slope, HPI x urgency, HPI x queue fragility, HPI x time-to-expiry "
        f"bucket; bucket edges {manifest['hedge_spec_edges']} s). Out-of-sample over "
        f"{study.n_splits} rolling time splits:",
        "",
        _md_table(
            validation["calibration"][["model", "quantile", "observed", "error", "n"]], ".3f"
        ),
        "",
        f"Pinball loss at p95: baseline {metric('baseline', 0.95, 'pinball'):.3f}, "
        f"baseline+hedge {metric('baseline+hedge', 0.95, 'pinball'):.3f}; CVaR95 of the top "
        f"decile ranked by predicted p95: baseline "
        f"{metric('baseline', 0.95, 'tail_bucket_cvar95'):.2f}, baseline+hedge "
        f"{metric('baseline+hedge', 0.95, 'tail_bucket_cvar95'):.2f} bps.",
        "",
        "Event-class holdout (train on the other classes):",
        "",
        _md_table(
            validation["holdouts"][validation["holdouts"]["quantile"] == 0.95][
                ["holdout", "model", "n_test", "pinball", "observed", "error"]
            ],
            ".3f",
        ),
        "",
        "![calibration](figures/calibration.png)",
        "",
    ]


def _monitoring_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """Monotonicity, feature drift and the observer's GEX against the truth."""
    mono = r.validation["monotonicity"]
    drift, drift_limit = r.drift, r.drift_limit
    gex = r.gex
    gex_corr = (
        gex[gex["arm"] == "plain"]
        .groupby("event_class")[["dealer_gex", "observer_gex"]]
        .corr()
        .unstack()
        .iloc[:, 1]
    )
    return [
        "## Monitoring",
        "",
        f"- HPI decile monotonicity of Layer A's residual: Spearman {mono.spearman:.2f}, top "
        f"minus bottom decile {mono.top_minus_bottom:.2f} bps -> "
        f"{'**ALARM**: the proxy no longer orders the residual cost' if mono.alarm else 'ok'}.",
        f"- feature drift ({study.drift_method}, alarm above {drift_limit:g}, `*` = alarm): "
        f"{int(drift['alarm'].sum()) if len(drift) else 0} of {len(drift)} feature/window "
        "pairs alarm (table below).",
        "- observer GEX vs the dealers' true GEX, correlation per class: "
        + ", ".join(f"{c} {v:.2f}" for c, v in gex_corr.items())
        + ".",
        "",
        "",
        _drift_pivot(drift),
        "",
        "![HPI distribution](figures/hpi_distribution.png)",
        "![residual by decile](figures/residual_by_hpi_decile.png)",
        "![occupancy](figures/state_occupancy.png)",
        "![drift](figures/feature_drift.png)",
        "![gex](figures/gex_observer_vs_true.png)",
        "",
    ]


def _closing_lines(study: HPIStudyConfig, manifest: dict, r: ReportTables) -> list[str]:
    """The HPI desk's children by state, the shadow log and where the tables are."""
    by_state, shadow_summary = r.by_state, r.shadow_summary
    return [
        "## Children of the HPI desk by state",
        "",
        _md_table(by_state),
        "",
        "## Shadow mode: what the policy would have done (plain runs)",
        "",
        _md_table(shadow_summary) if len(shadow_summary) else "The policy never left CALM.",
        "",
        "## How to read this",
        "",
        "- `tables/policy_evaluation.csv`: the arm comparison above; `paired_sessions.csv` the "
        "same per session; `canary.csv` the rollout decisions.",
        "- `tables/children.parquet`, `parents.parquet`: every order with its features, "
        "markouts (5/30/120 s) and cost components (`cost_*`).",
        "- `tables/calibration.csv`, `model_comparison.csv`, `rolling_splits.csv`, "
        "`event_class_holdout.csv`, `model_coefficients.csv`: the slippage model.",
        "- `tables/transitions.parquet`: every state change of every run with its inputs.",
        "",
    ]


def study_report(study: HPIStudyConfig, manifest: dict, tables: ReportTables) -> str:
    """The markdown summary (``report.md``)."""
    sections = (
        _intro_lines,
        _headline_lines,
        _class_lines,
        _canary_lines,
        _decomposition_lines,
        _model_lines,
        _monitoring_lines,
        _closing_lines,
    )
    lines = [line for section in sections for line in section(study, manifest, tables)]
    return "\n".join(lines)
