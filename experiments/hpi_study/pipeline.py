"""The HPI study from config to report: calibrate, simulate both arms, decompose costs, fit and
validate the slippage model, evaluate the policies, write tables, figures, report.md and
study.json (the steps of :mod:`experiments.hpi_study`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from agents.desk import HPIMode
from experiments.config import RunConfig
from experiments.hpi_study import figures as fig
from experiments.hpi_study.config import HPIStudyConfig
from experiments.hpi_study.models import (
    child_dataset,
    drift_table,
    fit_cost_terms,
    model_validation,
    own_impact,
)
from experiments.hpi_study.report import ReportTables, study_report
from experiments.hpi_study.sessions import (
    Session,
    calibration_sessions,
    check_sessions,
    gather,
    plan_sessions,
    reference_scaling,
    run_sessions,
    session_config,
)
from experiments.hpi_study.tables import (
    ARMS,
    canary_rollout,
    children_by_state,
    cost_terms_table,
    cvar_over_time,
    paired_sessions,
    policy_table,
    shadow_summary,
    with_queue,
)
from experiments.outputs import write_csv, write_json, write_parquet, write_text
from market.execution.decomposition import decompose_frames
from market.validation import ConfigError

#: the per-session tables gathered over all runs
SESSION_TABLES = ("children", "parents", "hpi", "occupancy", "gex", "transitions", "shadow")


@dataclass
class Simulated:
    """Both arms' sessions: every per-session table stacked, and the runs' wall/CPU seconds."""

    frames: dict[str, pd.DataFrame]
    runs: int
    session_wall_mean_s: float
    session_cpu_mean_s: float


def _calibrate(study: HPIStudyConfig, base: RunConfig, log) -> dict[str, list[float]] | None:
    """The reference scaling from the calibration sessions (None without any)."""
    if not study.calibration_sessions:
        return None
    cal = calibration_sessions(study, base.seed)
    jobs = [(session_config(base, study, s, HPIMode.shadow), s, "calibration") for s in cal]
    log(f"hpi_study: calibrating the reference history on {len(cal)} session(s)")
    results = run_sessions(jobs, study.n_jobs, keep_every_s=1.0)
    return reference_scaling(gather(results, "hpi"))


def _simulate(
    study: HPIStudyConfig, base: RunConfig, sessions: list[Session], fallbacks, log
) -> Simulated:
    """Shadow (plain desk) and live (HPI desk) runs of every session on the same seeds."""
    jobs = []
    for s in sessions:
        jobs.append((session_config(base, study, s, HPIMode.shadow, fallbacks), s, "plain"))
        jobs.append((session_config(base, study, s, HPIMode.live, fallbacks), s, "hpi"))
    log(
        f"hpi_study: {len(jobs)} runs ({len(sessions)} sessions x 2 arms) on "
        f"{study.n_jobs} process(es)"
    )
    results = run_sessions(jobs, study.n_jobs, study.keep_every_s)
    return Simulated(
        {name: gather(results, name) for name in SESSION_TABLES},
        len(results),
        float(np.mean([r["wall"] for r in results])),
        float(np.mean([r["cpu"] for r in results])),
    )


def _decompose(children: pd.DataFrame, parents: pd.DataFrame):
    """Both arms' filled children and parents decomposed with the own-impact and hedge-flow
    terms fitted on the plain desk; returns (children, parents, terms, largest gap in bps
    between a parent's parts and its implementation shortfall)."""
    plain_kids, _ = decompose_frames(
        children[children["arm"] == "plain"], parents[parents["arm"] == "plain"]
    )
    terms = fit_cost_terms(plain_kids)
    dec_kids, dec_parents = [], []
    for arm in ARMS:
        kid = children[children["arm"] == arm].reset_index(drop=True)
        par = parents[parents["arm"] == arm].reset_index(drop=True)
        k, p = decompose_frames(
            kid,
            par,
            betas=terms["hedge"],
            expected_perm_bps=own_impact(terms["own_impact"], kid["participation"]),
        )
        dec_kids.append(k)
        dec_parents.append(p)
    kids = pd.concat(dec_kids, ignore_index=True)
    pars = pd.concat(dec_parents, ignore_index=True)
    is_gap = float(np.nanmax(np.abs(pars["cost_total"] - pars["is_bps"]))) if len(pars) else 0.0
    return kids, pars, terms, is_gap


def _drift_limit(study: HPIStudyConfig) -> float:
    """The drift alarm level: the configured one, else the method's default."""
    if study.drift_threshold is not None:
        return study.drift_threshold
    return 0.25 if study.drift_method == "psi" else 0.1


def _write_tables(tables: Path, named: dict[str, pd.DataFrame]) -> None:
    """Each table as ``<name>.parquet`` and ``<name>.csv``."""
    for name, frame in named.items():
        write_parquet(tables / f"{name}.parquet", frame)
        write_csv(tables / f"{name}.csv", frame)


def _write_figures(figures: Path, sim: Simulated, r: ReportTables, paired) -> None:
    """Every figure of the study into ``figures``."""
    hpi, occupancy, gex = sim.frames["hpi"], sim.frames["occupancy"], sim.frames["gex"]
    fig.figure_hpi_distribution(hpi[hpi["arm"] == "plain"], figures / "hpi_distribution.png")
    fig.figure_residual_deciles(
        r.validation["monotonicity"], figures / "residual_by_hpi_decile.png"
    )
    fig.figure_occupancy(occupancy[occupancy["arm"] == "hpi"], figures / "state_occupancy.png")
    fig.figure_tails(r.policy, figures / "tails_by_event_class.png")
    fig.figure_completion_delay(paired, figures / "completion_vs_delay.png")
    fig.figure_drift(r.drift, r.drift_limit, figures / "feature_drift.png")
    fig.figure_gex(gex[gex["arm"] == "plain"], figures / "gex_observer_vs_true.png")
    fig.figure_calibration(r.validation["calibration"], figures / "calibration.png")


def _plain(x):
    """Config containers with enum members as their values (for study.json)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return getattr(x, "value", x)


def _fit_models(study: HPIStudyConfig, kids: pd.DataFrame, pars: pd.DataFrame):
    """The two-layer model on the plain desk's children: (dataset, validation, feature drift,
    CVaR drift over time)."""
    data = child_dataset(kids[kids["arm"] == "plain"])
    validation = model_validation(study, data)
    return data, validation, drift_table(study, data), cvar_over_time(data, pars)


def _evaluate(study: HPIStudyConfig, sim: Simulated, decomposed, models):
    """Policy evaluation and canary rollout: the report's tables and every table to write."""
    kids, pars, terms, _ = decomposed
    data, validation, drift, cvar_time = models
    f = sim.frames
    kids_all = with_queue(f["children"], kids)
    paired = paired_sessions(pars)
    r = ReportTables(
        policy=policy_table(pars, kids_all),
        canary=canary_rollout(study, pars, kids_all),
        validation=validation,
        drift=drift,
        drift_limit=_drift_limit(study),
        cost_terms=cost_terms_table(terms),
        gex=f["gex"],
        by_state=children_by_state(kids_all),
        shadow_summary=shadow_summary(f["shadow"]),
        occupancy=f["occupancy"],
    )
    named = {
        "children": kids,
        "parents": pars,
        "dataset": data,
        "policy_evaluation": r.policy,
        "paired_sessions": paired,
        "canary": r.canary,
        "calibration": validation["calibration"],
        "model_comparison": validation["comparison"],
        "rolling_splits": validation["splits"],
        "event_class_holdout": validation["holdouts"],
        "model_coefficients": validation["coefficients"],
        "hpi_deciles": validation["monotonicity"].table,
        "feature_drift": drift,
        "cvar_drift": cvar_time,
        "transitions": f["transitions"],
        "shadow_log": f["shadow"],
        "shadow_summary": r.shadow_summary,
        "children_by_state": r.by_state,
        "hpi_per_step": f["hpi"],
        "gex_true_vs_observer": f["gex"],
        "state_occupancy": f["occupancy"],
        "cost_terms": r.cost_terms,
    }
    return r, paired, named


def run_study(study: HPIStudyConfig, base: RunConfig, out: Path, *, log=print) -> dict:
    """Run the whole study into ``out`` (tables/, figures/, report.md, study.json)."""
    t_start = time.perf_counter()
    out = Path(out)
    timings: dict[str, float] = {}
    sessions = plan_sessions(study, base.seed)
    t0 = time.perf_counter()
    fallbacks = _calibrate(study, base, log)
    timings["calibration_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = _simulate(study, base, sessions, fallbacks, log)
    timings["simulation_s"] = time.perf_counter() - t0
    timings["session_wall_mean_s"] = sim.session_wall_mean_s
    timings["session_cpu_mean_s"] = sim.session_cpu_mean_s
    t0 = time.perf_counter()
    decomposed = _decompose(sim.frames["children"], sim.frames["parents"])
    timings["decomposition_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    models = _fit_models(study, decomposed[0], decomposed[1])
    timings["model_s"] = time.perf_counter() - t0
    r, paired, named = _evaluate(study, sim, decomposed, models)
    _write_tables(out / "tables", named)
    _write_figures(out / "figures", sim, r, paired)
    timings["total_s"] = time.perf_counter() - t_start
    manifest = {
        "study": _plain(OmegaConf.to_container(OmegaConf.structured(study))),
        "seed": base.seed,
        "fallbacks": fallbacks,
        "timings": timings,
        "sessions": len(sessions),
        "runs": sim.runs,
        "children": len(decomposed[0]),
        "dataset_rows": len(models[0]),
        "max_decomposition_gap_bps": decomposed[3],
        "hedge_spec_edges": list(r.validation["spec"].expiry_bucket_edges),
    }
    write_json(out / "study.json", manifest)
    write_text(out / "report.md", study_report(study, manifest, r))
    log(f"hpi_study: done in {timings['total_s']:.0f} s; report in {out / 'report.md'}")
    return manifest


def study_from_config(cfg: DictConfig) -> tuple[HPIStudyConfig, RunConfig]:
    """Split a composed ``hpi_study`` config into the study and the base run config, every
    session's run config checked (:func:`check_sessions`)."""
    try:
        full = OmegaConf.to_object(cfg)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    base = RunConfig(**{f.name: getattr(full, f.name) for f in fields(RunConfig)})
    check_sessions(full.hpi_study, base)
    return full.hpi_study, base


def run_from_config(cfg: DictConfig) -> float:
    """The Hydra task of the study: validate, run, write into Hydra's output dir."""
    try:
        study, base = study_from_config(cfg)
    except ValueError as exc:
        print(f"hedgeloop: invalid configuration: {exc}", file=sys.stderr)
        sys.exit(2)
    out = Path(HydraConfig.get().runtime.output_dir)
    manifest = run_study(study, base, out)
    return float(manifest["timings"]["total_s"])
