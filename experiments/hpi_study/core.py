"""The Hedge Pressure Index study: dataset, two-layer slippage model, policy evaluation, report.

Run it with the main entry point and the study's primary config::

    python -m experiments.run --config-name hpi_study [hpi_study.sessions=20] [other overrides]

(or ``python -m experiments.hpi_study`` with the same overrides). Everything lands in the run
directory (``results/studies/<time>_hpi_study``): ``report.md``, ``tables/`` (CSV and Parquet),
``figures/`` (PNG) and ``study.json`` (the resolved study config and wall times).

The pipeline, one trading day per session:

1. **Sessions** are stratified by event class (``calm``, ``expiry``, ``macro``, ``short_gamma``,
   ``long_gamma``; each a list of config overrides plus scheduled events) and by volatility
   regime, interleaved so that every stretch of sessions holds every class. Each session works
   the same parent orders (:class:`StudyParent`), with seed ``seed + index`` (``seed`` = the
   run config's top-level seed, so ``seed=7`` gives a different study).
2. **Calibration**: ``calibration_sessions`` sessions covering every class and every regime
   (their own seeds) form the observer's reference history: per HPI component the median and
   IQR / 1.349 of its raw values, used as the robust scaler's ``fallbacks`` in every later run
   (the index reads as the deviation from a typical day).
3. **Runs**: every session twice on the same seed, in parallel processes (joblib, ``n_jobs``):
   *shadow* (the HPI scores and logs what it would have done; the desk slices plainly: this is
   the plain desk and the dataset) and *live* (the HPI state machine drives the desk).
4. **Cost decomposition**: an own-impact model (OLS of the permanent drift on
   ``sqrt(participation)``) and the hedge-flow term ``b1 HPI + b2 HPI*VolState + b3
   HPI*QueueFragility`` fitted on the residual drift of the shadow children
   (:func:`market.execution.costs.fit_hedge_term`); every child and parent of both arms is decomposed with
   them, and each parent's parts are checked to add up to its implementation shortfall.
5. **Two-layer slippage model** (:class:`market.execution.slippage_model.TwoLayerQuantileModel`) on the
   shadow children: rolling time splits (out-of-sample predictions), event-class holdouts,
   calibration tables, CVaR95 drift, baseline vs baseline+hedge, HPI-decile monotonicity of the
   baseline's residual, feature drift of each class against calm.
6. **Policy evaluation**: plain (shadow) vs HPI-driven (live) parents on the same seeds:
   implementation shortfall p50 / p95, CVaR95, worst 1%, completion, delay and opportunity
   cost, underfill, per class and overall; the shadow log's would-have-done actions.
7. **Canary**: the live policy is deployed window by window (``canary.sessions`` sessions each);
   after every window :class:`market.execution.states.CanaryGate` compares it with the plain
   desk of the same sessions and rolls it back for all later sessions once a gate trips.
8. **Figures and report**.

Costs are in bps of the arrival mid, + = cost; side +1 buy / -1 sell; time in clock seconds.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from agents.desk.core import HPI_STATES, HPIMode
from agents.desk.hpi import NO_EXPIRY_SECONDS
from experiments.config import ConfigError, EventConfig, EventKind, RunConfig, check_range
from experiments.outputs import atomic_write as _atomic, write_json, write_parquet
from market.execution.costs import cvar, fit_hedge_term
from market.execution.hpi import COMPONENTS
from market.execution.slippage_model import (
    DEFAULT_QUANTILES,
    HedgeFeatureSpec,
    TwoLayerQuantileModel,
    calibration_table,
    compare_models,
    cvar_drift,
    decile_monotonicity,
    event_class_holdout,
    feature_drift,
    pinball_loss,
    rolling_time_splits,
)
from market.execution.states import CanaryGate

ARMS = ("plain", "hpi")  # shadow runs are the plain desk; live runs the HPI-driven desk
STATES = ("calm", *HPI_STATES)
#: Layer A's columns in the child dataset (see agents.desk.core.ExecutionDesk._observe_decision)
BASELINE_FEATURES = ("spread_bps", "depth", "imbalance", "volatility", "participation",
                     "latency_ms")
#: features watched for drift; the gamma proxy first
DRIFT_FEATURES = ("raw_gamma_pressure", "observer_gex_near", "raw_spot_velocity",
                  "raw_expiry_proximity", "raw_book_stress", "spread_bps", "volatility", "hpi")
_MISSING = object()


# ---------------------------------------------------------------------------- configuration
def _split_override(where: str, item: str) -> tuple[str, object]:
    key, sep, raw = str(item).partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{where}: {item!r} must be 'key=value'")
    return key.strip(), yaml.safe_load(raw)


@dataclass
class StudyParent:
    """One parent order every session works (see :class:`experiments.config.EventConfig`)."""

    at: str = "10:00"
    side: int = 1
    qty: int = 6_000
    algo: str = "pov"
    participation: float = 0.1
    horizon_s: float = 1800.0
    urgency: float = 0.5

    def event(self) -> EventConfig:
        return EventConfig(kind=EventKind.parent_order, at=self.at, side=self.side, qty=self.qty,
                           algo=self.algo, participation=self.participation,
                           horizon_s=self.horizon_s, urgency=self.urgency)


@dataclass
class EventClass:
    """An event class: dotted ``key=value`` overrides of the run config and extra events."""

    overrides: list[str] = field(default_factory=list)
    events: list[EventConfig] = field(default_factory=list)


@dataclass
class CanaryConfig:
    """Canary deployment of the live policy, judged window by window against the plain desk.

    ``sessions``: sessions per window. Gates (:class:`market.execution.states.CanaryGate`, on
    the window's parents): p95 implementation shortfall above ``p95_limit_bps``, or, when that
    is null, above the plain desk's p95 of the same window times ``1 + p95_tolerance``; mean
    completion more than ``completion_drop`` below plain; queue-loss rate of resting children
    more than ``queue_loss_jump`` above plain. ``min_samples``: parents needed to judge.
    """

    sessions: int = 5
    p95_limit_bps: float | None = None
    p95_tolerance: float = 0.25
    completion_drop: float = 0.05
    queue_loss_jump: float = 0.10
    min_samples: int = 20


def _default_parents() -> list[StudyParent]:
    # one parent every half hour from 09:40 to 15:10, alternating sides, urgency cycling
    urgencies = (0.2, 0.5, 0.8)
    return [StudyParent(at=f"{9 + (40 + 30 * i) // 60:02d}:{(40 + 30 * i) % 60:02d}",
                        side=1 if i % 2 == 0 else -1, urgency=urgencies[i % 3])
            for i in range(12)]


def _default_classes() -> dict[str, EventClass]:
    opening = ["agents.dealers.initial_book_contracts=1500",
               "agents.dealers.initial_book_strikes=3"]
    return {
        "calm": EventClass(),
        # a 0DTE-heavy day: most customer flow and a large opening book in today's expiry
        "expiry": EventClass(overrides=[
            "agents.customers.expiry_weights=[0.85,0.1,0.05]", "agents.customers.rate=0.003",
            "agents.dealers.initial_book=short_gamma", "agents.dealers.initial_book_expiry=0",
            "agents.dealers.initial_book_contracts=1000", "agents.dealers.initial_book_strikes=2"]),
        # two macro prints that move the fundamental, on the public calendar (scheduled), so
        # the observer knows their times in advance
        "macro": EventClass(events=[
            EventConfig(kind=EventKind.fundamental_shock, at="11:00", size=-0.015,
                        scheduled=True),
            EventConfig(kind=EventKind.fundamental_shock, at="13:45", size=0.012,
                        scheduled=True)]),
        # dealers open short gamma (customers bought calls and puts) and customers chase calls
        "short_gamma": EventClass(overrides=[
            "agents.dealers.initial_book=short_gamma", *opening,
            "agents.customers.call_frenzy_weight=0.2"]),
        # dealers open long gamma (customers wrote calls and puts)
        "long_gamma": EventClass(overrides=[
            "agents.dealers.initial_book=long_gamma", *opening,
            "agents.customers.covered_call_weight=0.4", "agents.customers.put_selling_weight=0.3"]),
    }


def _default_regimes() -> dict[str, list[str]]:
    return {
        "low": ["market.fundamental_vol=0.10", "market.surface.atm_vol=0.13"],
        "mid": [],
        "high": ["market.fundamental_vol=0.28", "market.surface.atm_vol=0.30"],
    }


@dataclass
class HPIStudyConfig:
    """The study (``hpi_study`` node of ``conf/hpi_study.yaml``; see the module docstring).

    - ``sessions``: sessions (trading days) per arm; ``n_jobs``: worker processes.
    - ``calibration_sessions``: sessions (covering every class and every regime once there are
      as many as the larger of the two counts; own seeds) whose raw HPI components set the
      robust scaler's reference (0 = keep the configured fallbacks).
    - ``overrides``: dotted ``key=value`` overrides applied to every session.
    - ``parents``, ``classes``, ``vol_regimes``: the session design.
    - ``n_splits``: rolling time splits; ``decile_bins``, ``min_spearman``: the monotonicity
      alarm; ``drift_method`` (``psi`` | ``ks``) and ``drift_threshold`` (null = the method's
      default) for feature drift; ``expiry_bucket_edges``: Layer B's time-to-expiry buckets
      (seconds; buckets holding under ``min_bucket_share`` of the rows are merged away).
    - ``keep_every_s``: spacing of the per-step HPI rows kept for the figures.
    - ``canary``: :class:`CanaryConfig`.

    Seeds come from the run config's top-level ``seed``, not from this node: session ``i`` runs
    on ``seed + i``, calibration session ``i`` on ``seed + 100000 + i``.
    """

    sessions: int = 30
    n_jobs: int = 2
    calibration_sessions: int = 5
    overrides: list[str] = field(default_factory=lambda: ["market.record_interval=60"])
    parents: list[StudyParent] = field(default_factory=_default_parents)
    classes: dict[str, EventClass] = field(default_factory=_default_classes)
    vol_regimes: dict[str, list[str]] = field(default_factory=_default_regimes)
    n_splits: int = 4
    decile_bins: int = 10
    min_spearman: float = 0.7
    drift_method: str = "psi"
    drift_threshold: float | None = None
    expiry_bucket_edges: list[float] = field(default_factory=lambda: [3600.0, 23_400.0,
                                                                      117_000.0])
    min_bucket_share: float = 0.02
    keep_every_s: float = 10.0
    canary: CanaryConfig = field(default_factory=CanaryConfig)

    def __post_init__(self) -> None:
        p = "hpi_study"
        check_range(f"{p}.sessions", self.sessions, 2, 100_000)
        check_range(f"{p}.n_jobs", self.n_jobs, 1, 1024)
        check_range(f"{p}.calibration_sessions", self.calibration_sessions, 0, 1000)
        if not self.parents:
            raise ConfigError(f"{p}.parents must list at least one parent order")
        for i, parent in enumerate(self.parents):
            if isinstance(parent, dict):
                parent = self.parents[i] = StudyParent(**parent)
            parent.event().validate(f"{p}.parents[{i}]", 1)
        if not self.classes:
            raise ConfigError(f"{p}.classes must define at least one event class")
        for name, ec in list(self.classes.items()):
            if isinstance(ec, dict):
                ec = self.classes[name] = EventClass(**ec)
            for i, ev in enumerate(ec.events):
                if isinstance(ev, dict):
                    ev = ec.events[i] = EventConfig(**ev)
                if ev.kind is EventKind.parent_order:
                    raise ConfigError(f"{p}.classes.{name}.events[{i}]: parent orders belong in "
                                      f"{p}.parents")
                ev.validate(f"{p}.classes.{name}.events[{i}]", 1)
            for item in ec.overrides:
                _split_override(f"{p}.classes.{name}.overrides", item)
        if not self.vol_regimes:
            raise ConfigError(f"{p}.vol_regimes must define at least one regime")
        for name, items in self.vol_regimes.items():
            for item in items:
                _split_override(f"{p}.vol_regimes.{name}", item)
        for item in self.overrides:
            _split_override(f"{p}.overrides", item)
        check_range(f"{p}.n_splits", self.n_splits, 1, 100)
        check_range(f"{p}.decile_bins", self.decile_bins, 3, 100)
        check_range(f"{p}.min_spearman", self.min_spearman, -1.0, 1.0)
        if self.drift_method not in ("psi", "ks"):
            raise ConfigError(f"{p}.drift_method must be psi or ks, got {self.drift_method!r}")
        if self.drift_threshold is not None:
            check_range(f"{p}.drift_threshold", self.drift_threshold, 0.0, None, lo_open=True)
        edges = list(self.expiry_bucket_edges)
        if not edges or any(b <= a for a, b in pairwise(edges)) or \
                edges[0] <= 0:
            raise ConfigError(f"{p}.expiry_bucket_edges must be positive and increasing, got "
                              f"{edges!r}")
        check_range(f"{p}.min_bucket_share", self.min_bucket_share, 0.0, 0.5)
        check_range(f"{p}.keep_every_s", self.keep_every_s, 1.0, 23_400.0)
        c = self.canary
        if isinstance(c, dict):
            c = self.canary = CanaryConfig(**c)
        check_range(f"{p}.canary.sessions", c.sessions, 1, self.sessions)
        if c.p95_limit_bps is not None:
            check_range(f"{p}.canary.p95_limit_bps", c.p95_limit_bps, -1e4, 1e4)
        check_range(f"{p}.canary.p95_tolerance", c.p95_tolerance, 0.0, 100.0)
        check_range(f"{p}.canary.completion_drop", c.completion_drop, 0.0, 1.0)
        check_range(f"{p}.canary.queue_loss_jump", c.queue_loss_jump, 0.0, 1.0)
        check_range(f"{p}.canary.min_samples", c.min_samples, 1, 10**6)


@dataclass
class HPIStudyRunConfig(RunConfig):
    """The run config every session starts from, plus the study node."""

    hpi_study: HPIStudyConfig = field(default_factory=HPIStudyConfig)


def register_configs() -> None:
    """Register the study's schema (``conf/hpi_study.yaml`` composes against it)."""
    ConfigStore.instance().store(name="hpi_study_schema", node=HPIStudyRunConfig)


# ---------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class Session:
    """One simulated trading day of the study: ``index`` orders sessions in (study) time."""

    index: int
    seed: int
    event_class: str
    vol_regime: str


#: calibration session ``i`` runs on ``seed + CALIBRATION_SEED_OFFSET + i``, clear of the
#: study's own seeds (at most 100,000 sessions)
CALIBRATION_SEED_OFFSET = 100_000
# the largest top-level seed a study may start from: every session's seed (up to seed +
# offset + 999 calibration sessions) must stay within the run config's limit
_MAX_SEED = 2**63 - 1 - CALIBRATION_SEED_OFFSET - 1000


def plan_sessions(study: HPIStudyConfig, seed: int) -> list[Session]:
    """Interleaved sessions: class ``i mod n_classes``, regime cycling once per class round;
    session ``i`` on seed ``seed + i`` (``seed``: the run config's top-level seed)."""
    check_range("seed", seed, 0, _MAX_SEED)
    classes = list(study.classes)
    regimes = list(study.vol_regimes)
    return [Session(i, seed + i, classes[i % len(classes)],
                    regimes[(i // len(classes)) % len(regimes)]) for i in range(study.sessions)]


def session_config(base: RunConfig, study: HPIStudyConfig, session: Session, mode: HPIMode,
                   fallbacks: dict[str, list[float]] | None = None) -> RunConfig:
    """The validated run config of ``session`` in ``mode``: the base config, the study's
    overrides, the regime's and the class's overrides, the parents and the class's events."""
    cfg = OmegaConf.structured(base)
    items = [*study.overrides, *study.vol_regimes[session.vol_regime],
             *study.classes[session.event_class].overrides]
    for item in items:
        key, value = _split_override("hpi_study", item)
        if OmegaConf.select(cfg, key, default=_MISSING) is _MISSING:
            raise ConfigError(f"hpi_study: override {item!r} names no config key")
        OmegaConf.update(cfg, key, value, merge=False)
    OmegaConf.update(cfg, "desk.hpi.mode", mode.value, merge=False)
    if fallbacks:
        OmegaConf.update(cfg, "desk.hpi.observer.fallbacks", fallbacks, merge=False)
    events = [p.event() for p in study.parents] + [
        EventConfig(**asdict(ev)) for ev in study.classes[session.event_class].events]
    OmegaConf.update(cfg, "scenario.events", [OmegaConf.structured(e) for e in events],
                     merge=False)
    OmegaConf.update(cfg, "scenario.days", 1, merge=False)
    OmegaConf.update(cfg, "scenario.name", f"hpi_{session.event_class}", merge=False)
    OmegaConf.update(cfg, "seed", session.seed, merge=False)
    OmegaConf.update(cfg, "progress", False, merge=False)
    try:
        return OmegaConf.to_object(cfg)
    except ValueError as exc:
        raise ConfigError(f"hpi_study session {session.index} ({session.event_class}, "
                          f"{session.vol_regime}): {exc}") from exc


def _release_models() -> None:
    # Mesa 3.3.1 keeps every model that created agents alive in Agent._ids (mesa#3179); a worker
    # runs many sessions, so forget them once a session is over.
    mesa = sys.modules.get("mesa")
    ids = getattr(getattr(mesa, "Agent", None), "_ids", None)
    if ids is not None:
        ids.clear()


def run_session(cfg: RunConfig, session: Session, arm: str, keep_every_s: float = 10.0) -> dict:
    """Simulate one session and return its tables (each tagged with the session's labels).

    ``children``, ``parents`` (:func:`agents.desk.hpi.child_frame` / ``parent_frame``),
    ``hpi`` (the per-step index every ``keep_every_s`` seconds), ``occupancy`` (per-step state
    counts per 10-minute bin), ``gex`` (true vs observer GEX at the record interval),
    ``transitions``, ``shadow`` and the session's ``wall`` / ``cpu`` seconds.
    """
    from agents.desk.hpi import child_frame, parent_frame
    from experiments.model import HedgeLoopModel

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        model = HedgeLoopModel(cfg)
        model.run()
        model.finish()
        desk = model.populations["desk"][0]
        policy = desk.policy
        per_step = policy.observer.frame()
        labels = {"session": session.index, "seed": session.seed,
                  "event_class": session.event_class, "vol_regime": session.vol_regime,
                  "arm": arm}
        every = max(1, round(keep_every_s / model.dt))
        per_step["tod_bin"] = (per_step["time"] // 600).astype(int)
        occupancy = (per_step.groupby(["tod_bin", "desk_state"]).size().rename("steps")
                     .reset_index())
        ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        out = {
            "children": child_frame(desk),
            "parents": parent_frame(desk),
            "hpi": per_step.iloc[::every].drop(columns="tod_bin").reset_index(drop=True),
            "occupancy": occupancy,
            "gex": ts[["time", "mid", "dealer_gex", "observer_gex", "observer_gex_calls",
                       "observer_gex_puts"]].copy(),
            "transitions": policy.machine.transitions_frame(),
            "shadow": pd.DataFrame(policy.shadow_log),
        }
        for frame in out.values():
            for key, value in labels.items():
                frame[key] = value
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
        out["price_range_pct"] = float(100 * (np.nanmax(model.state.mids[: model.state.n + 1])
                                              / np.nanmin(model.state.mids[: model.state.n + 1])
                                              - 1))
        return out
    finally:
        _release_models()


def run_sessions(jobs: list[tuple[RunConfig, Session, str]], n_jobs: int,
                 keep_every_s: float) -> list[dict]:
    """Run ``(config, session, arm)`` jobs in ``n_jobs`` processes (in order of the list)."""
    if n_jobs == 1 or len(jobs) == 1:
        return [run_session(c, s, a, keep_every_s) for c, s, a in jobs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(run_session)(c, s, a, keep_every_s) for c, s, a in jobs)


def _gather(results: list[dict], name: str) -> pd.DataFrame:
    frames = [r[name] for r in results if len(r[name])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ---------------------------------------------------------------------------- calibration
def calibration_sessions(study: HPIStudyConfig, seed: int) -> list[Session]:
    """The reference history (negative indices, seeds ``seed + 100000 + i``), like the study's
    own sessions but never reused by it.

    Session ``i`` takes class ``i mod C`` and regime ``(i + i // L) mod R`` (``C`` classes,
    ``R`` regimes, ``L = lcm(C, R)``): the first ``max(C, R)`` sessions hold every class and
    every regime, and the first ``C * R`` every pairing. (Plain
    ``i mod R`` would pair classes and regimes for good when ``C`` and ``R`` share a factor;
    cycling the regime once per class round would keep the first ``C`` sessions in one regime.)
    """
    check_range("seed", seed, 0, _MAX_SEED)
    classes, regimes = list(study.classes), list(study.vol_regimes)
    n_c, n_r = len(classes), len(regimes)
    lcm = math.lcm(n_c, n_r)
    return [Session(-1 - i, seed + CALIBRATION_SEED_OFFSET + i, classes[i % n_c],
                    regimes[(i + i // lcm) % n_r]) for i in range(study.calibration_sessions)]


def reference_scaling(raw: pd.DataFrame) -> dict[str, list[float]]:
    """Per component ``[median, IQR / 1.349]`` of the raw values (``raw_<component>``
    columns) pooled over the reference sessions: the scaling the robust scaler falls back on,
    so the index reads as a deviation from a typical day of the history (calm and event days
    mixed, as a desk's history would be; a calm-only reference makes every event day
    saturate). A flat component keeps a scale of 1e-6 so that it still scales."""
    out = {}
    for k in COMPONENTS:
        x = raw[f"raw_{k}"].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size < 4:
            raise ValueError(f"calm reference needs observations of raw_{k}, got {x.size}")
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        out[k] = [float(med), float(max((q3 - q1) / 1.3489795003921634, 1e-6))]
    return out


# ---------------------------------------------------------------------------- the dataset
def child_dataset(children: pd.DataFrame) -> pd.DataFrame:
    """Filled children with ``study_time`` (session index * 23,400 + decision time, the order of
    the rolling splits) and a finite ``seconds_to_expiry`` (see :data:`NO_EXPIRY_SECONDS`)."""
    data = children[children["filled"] > 0].copy()
    data["study_time"] = data["session"] * 23_400.0 + data["decision_time"]
    tte = data["seconds_to_expiry"].to_numpy(dtype=float)
    data["seconds_to_expiry"] = np.where(np.isfinite(tte), tte, NO_EXPIRY_SECONDS)
    keep = np.isfinite(data[["slippage_bps", *BASELINE_FEATURES, "hpi", "hpi_slope", "urgency",
                             "queue_fragility"]].to_numpy(dtype=float)).all(axis=1)
    return data[keep].reset_index(drop=True)


def expiry_edges(tte: np.ndarray, edges, min_share: float) -> tuple[float, ...]:
    """The configured bucket edges, dropping each edge whose bucket would be empty or hold fewer
    than ``min_share`` of the rows (Layer B needs every bucket column to be non-empty)."""
    kept = list(edges)
    changed = True
    while changed and kept:
        changed = False
        counts = np.bincount(np.searchsorted(kept, tte, side="right"), minlength=len(kept) + 1)
        share = counts / max(tte.size, 1)
        for b in range(len(kept) + 1):
            if counts[b] == 0 or share[b] < min_share:
                # merge bucket b into a neighbour by removing the edge that bounds it
                kept.pop(min(b, len(kept) - 1))
                changed = True
                break
    return tuple(kept)  # empty: one bucket, so Layer B has no time-to-expiry terms


def fit_cost_terms(data: pd.DataFrame) -> dict:
    """Own-impact OLS ``drift = a + b sqrt(participation)`` and the hedge-flow fit on the rest.

    ``data`` holds the filled children with ``cost_perm`` (the permanent drift, bps, of a plain
    decomposition), ``participation``, ``hpi``, ``volatility`` and ``queue_fragility``.
    """
    drift = data["cost_perm"].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(data)), np.sqrt(data["participation"].to_numpy(float))])
    coef, *_ = np.linalg.lstsq(X, drift, rcond=None)
    own = X @ coef
    fit = fit_hedge_term(data["hpi"], data["volatility"], data["queue_fragility"], drift - own)
    return {"own_impact": coef, "hedge": fit}


def own_impact(coef: np.ndarray, participation) -> np.ndarray:
    """The own-impact model's permanent impact (bps) for each child's participation."""
    return coef[0] + coef[1] * np.sqrt(np.asarray(participation, dtype=float))


def fit_two_layer(study: HPIStudyConfig, train: pd.DataFrame, y) -> TwoLayerQuantileModel:
    """The two-layer model fitted on ``train``: Layer A on the baseline features that vary in
    it (a constant one, e.g. latency in a coarse-stepped run, would make the design singular),
    Layer B with the time-to-expiry buckets the training rows populate."""
    features = tuple(f for f in BASELINE_FEATURES if np.ptp(train[f].to_numpy(float)) > 0)
    edges = expiry_edges(train["seconds_to_expiry"].to_numpy(float), study.expiry_bucket_edges,
                         study.min_bucket_share)
    return TwoLayerQuantileModel(baseline_features=features,
                                 hedge=HedgeFeatureSpec(expiry_bucket_edges=edges)).fit(train, y)


def model_validation(study: HPIStudyConfig, data: pd.DataFrame) -> dict:
    """Rolling-split and holdout validation of the two-layer model on the child dataset."""
    y = data["slippage_bps"].to_numpy(float)
    quantiles = DEFAULT_QUANTILES
    names = ("baseline", "baseline+hedge")
    oos = {m: {q: np.full(len(data), np.nan) for q in quantiles} for m in names}
    split_rows = []
    splits = rolling_time_splits(data["study_time"].to_numpy(float), study.n_splits)
    for k, (train, test) in enumerate(splits):
        model = fit_two_layer(study, data.iloc[train], y[train])
        preds = model.predictions_by_model(data.iloc[test])
        for m in names:
            for q in quantiles:
                oos[m][q][test] = preds[m][q]
                split_rows.append({"split": k, "model": m, "quantile": q, "n_train": train.size,
                                   "n_test": test.size,
                                   "pinball": pinball_loss(y[test], preds[m][q], q),
                                   "observed": float(np.mean(y[test] <= preds[m][q]))})
    tested = np.isfinite(oos["baseline"][quantiles[0]])
    y_t = y[tested]
    oos_t = {m: {q: oos[m][q][tested] for q in quantiles} for m in names}
    calib = pd.concat([calibration_table(y_t, oos_t[m]).assign(model=m) for m in names],
                      ignore_index=True)
    comparison = compare_models(y_t, oos_t)
    holdouts = []
    classes = data["event_class"].to_numpy(object)
    for held in sorted(set(classes) - {"calm"}):
        train, test = event_class_holdout(classes, held)
        model = fit_two_layer(study, data.iloc[train], y[train])
        preds = model.predictions_by_model(data.iloc[test])
        for m in names:
            for q in quantiles:
                holdouts.append({"holdout": held, "model": m, "quantile": q, "n_test": test.size,
                                 "pinball": pinball_loss(y[test], preds[m][q], q),
                                 "observed": float(np.mean(y[test] <= preds[m][q])),
                                 "error": float(np.mean(y[test] <= preds[m][q])) - q})
    full = fit_two_layer(study, data, y)
    coefs = []
    for q in quantiles:
        for name, value in zip(("intercept", *full.baseline_features), full.baseline_coef_[q],
                               strict=True):
            coefs.append({"layer": "A", "quantile": q, "feature": name, "coef": float(value)})
        for name, value in zip(("intercept", *full.hedge.feature_names()), full.hedge_coef_[q],
                               strict=True):
            coefs.append({"layer": "B", "quantile": q, "feature": name, "coef": float(value)})
    residual = y_t - oos_t["baseline"][0.5]
    mono = decile_monotonicity(data["hpi"].to_numpy(float)[tested], residual,
                               n_bins=study.decile_bins, min_spearman=study.min_spearman)
    return {"spec": full.hedge, "calibration": calib, "comparison": comparison,
            "splits": pd.DataFrame(split_rows), "holdouts": pd.DataFrame(holdouts),
            "coefficients": pd.DataFrame(coefs), "monotonicity": mono, "model": full,
            "tested": tested, "oos": oos}


def drift_table(study: HPIStudyConfig, data: pd.DataFrame) -> pd.DataFrame:
    """Feature drift of each event class (and of the later half of the sessions) against calm
    (against the earlier half); one row per (window, feature)."""
    feats = [f for f in DRIFT_FEATURES if f in data.columns]
    rows = []
    ref = data[data["event_class"] == "calm"][feats] if "calm" in set(data["event_class"]) \
        else data[feats]
    kw = {"method": study.drift_method, "threshold": study.drift_threshold}
    for cls in sorted(set(data["event_class"]) - {"calm"}):
        cur = data[data["event_class"] == cls][feats]
        if len(cur) and len(ref):
            rows.append(feature_drift(ref, cur, **kw).assign(window=f"{cls} vs calm"))
    half = data["session"].median()
    early, late = data[data["session"] <= half][feats], data[data["session"] > half][feats]
    if len(early) and len(late):
        rows.append(feature_drift(early, late, **kw).assign(window="later vs earlier sessions"))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# ---------------------------------------------------------------------------- evaluation
def tail_metrics(x) -> dict[str, float]:
    """p50, p95, CVaR95 and worst-1% mean of costs (bps, + = cost)."""
    arr = np.asarray(x, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return dict.fromkeys(("n", "p50", "p95", "cvar95", "worst1pct"), math.nan)
    return {"n": float(arr.size), "p50": float(np.quantile(arr, 0.5)),
            "p95": float(np.quantile(arr, 0.95)), "cvar95": cvar(arr, 0.95),
            "worst1pct": cvar(arr, 0.99)}


def policy_table(parents: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """Per arm and event class (and ``all``): parents' implementation shortfall tail metrics,
    completion, underfill, delay and opportunity cost, children's slippage p50 / p95 and
    queue-loss rate."""
    rows = []
    groups = [("all", parents, children)] + [
        (cls, parents[parents["event_class"] == cls], children[children["event_class"] == cls])
        for cls in sorted(parents["event_class"].unique())]
    for cls, par, kid in groups:
        for arm in ARMS:
            p = par[par["arm"] == arm]
            k = kid[kid["arm"] == arm]
            resting = k[k["passive_price"].notna()]
            filled = k[k["filled"] > 0]
            rows.append({
                "event_class": cls, "arm": arm, "parents": len(p),
                **{f"is_{m}": v for m, v in tail_metrics(p["is_bps"]).items() if m != "n"},
                "completion": float(p["completion"].mean()) if len(p) else math.nan,
                "underfill": float(1 - p["completion"].mean()) if len(p) else math.nan,
                "delay_cost_bps": float(p["cost_delay"].mean()) if len(p) else math.nan,
                "opportunity_cost_bps": float(p["cost_opportunity"].mean()) if len(p)
                else math.nan,
                "duration_s": float(p["duration_s"].mean()) if len(p) else math.nan,
                "child_p50": float(filled["slippage_bps"].quantile(0.5)) if len(filled)
                else math.nan,
                "child_p95": float(filled["slippage_bps"].quantile(0.95)) if len(filled)
                else math.nan,
                "queue_loss_rate": float(resting["queue_lost"].mean()) if len(resting)
                else math.nan,
            })
    return pd.DataFrame(rows)


def paired_sessions(parents: pd.DataFrame) -> pd.DataFrame:
    """Per session and arm: mean IS, p95-worst parent, completion; plus hpi - plain deltas."""
    g = parents.groupby(["session", "event_class", "vol_regime", "arm"])
    per = g.agg(is_mean=("is_bps", "mean"), is_max=("is_bps", "max"),
                completion=("completion", "mean"), delay=("cost_delay", "mean")).reset_index()
    wide = per.pivot_table(index=["session", "event_class", "vol_regime"], columns="arm",
                           values=["is_mean", "is_max", "completion", "delay"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    for m in ("is_mean", "is_max", "completion", "delay"):
        if f"{m}_hpi" in wide and f"{m}_plain" in wide:
            wide[f"{m}_diff"] = wide[f"{m}_hpi"] - wide[f"{m}_plain"]
    return wide


def canary_rollout(study: HPIStudyConfig, parents: pd.DataFrame,
                   children: pd.DataFrame) -> pd.DataFrame:
    """Deploy the live policy window by window; after each window judge it with the canary
    gates against the plain desk of the same sessions; once a gate trips, later sessions run
    the plain desk (rolled back). One row per window: decision, tripped gates, metrics and
    which policy the window ran."""
    c = study.canary
    sessions = sorted(parents["session"].unique())
    windows = [sessions[i:i + c.sessions] for i in range(0, len(sessions), c.sessions)]
    rows = []
    deployed = "hpi"
    for w, ids in enumerate(windows):
        par = parents[parents["session"].isin(ids)]
        kid = children[children["session"].isin(ids) & children["passive_price"].notna()]
        live, plain = par[par["arm"] == "hpi"], par[par["arm"] == "plain"]
        limit = c.p95_limit_bps
        if limit is None:
            limit = float(np.quantile(plain["is_bps"], 0.95)) * (1 + c.p95_tolerance) \
                if len(plain) else 0.0
            limit = max(limit, float(np.quantile(plain["is_bps"], 0.95)) if len(plain) else 0.0)
        gate = CanaryGate(p95_limit_bps=limit, completion_drop=c.completion_drop,
                          queue_loss_jump=c.queue_loss_jump, min_samples=c.min_samples)

        def queue_rate(frame: pd.DataFrame) -> np.ndarray:
            per_parent = frame.groupby(["session", "parent_id"])["queue_lost"].mean()
            return per_parent.to_numpy(dtype=float)

        decision = gate.evaluate(live["is_bps"].to_numpy(float),
                                 live["completion"].to_numpy(float),
                                 queue_rate(kid[kid["arm"] == "hpi"]),
                                 plain["completion"].to_numpy(float),
                                 queue_rate(kid[kid["arm"] == "plain"]))
        ran = deployed
        if deployed == "hpi" and decision.rollback:
            deployed = "plain"
        rows.append({"window": w, "sessions": f"{ids[0]}-{ids[-1]}", "ran": ran,
                     "p95_limit_bps": limit, "sufficient": decision.sufficient,
                     "rollback": decision.rollback, "tripped": ",".join(decision.tripped),
                     "plain_p95_bps": float(np.quantile(plain["is_bps"], 0.95))
                     if len(plain) else math.nan,
                     **decision.metrics, "deployed_after": deployed})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- figures
_ARM_COLORS = {"plain": "tab:grey", "hpi": "tab:blue"}
_STATE_COLORS = {"calm": "tab:green", "pressured": "gold", "dislocated": "tab:orange",
                 "safe": "tab:red"}


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    _atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def figure_hpi_distribution(hpi: pd.DataFrame, path: Path) -> None:
    """Histogram of the index over all sessions and its distribution per event class."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].hist(hpi["hpi"], bins=80, color="tab:blue", alpha=0.8)
    axes[0].set_xlabel("HPI (sum of robust z-scores)")
    axes[0].set_ylabel("observations")
    axes[0].set_title("HPI distribution, all sessions")
    classes = sorted(hpi["event_class"].unique())
    axes[1].boxplot([hpi.loc[hpi["event_class"] == c, "hpi"] for c in classes],
                    tick_labels=classes, showfliers=False)
    axes[1].set_title("HPI by event class (per session step)")
    axes[1].axhline(0, color="grey", lw=0.5)
    _save(fig, path)


def figure_residual_deciles(mono, path: Path) -> None:
    """Mean out-of-sample residual of Layer A (p50) per HPI decile, with the alarm."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    t = mono.table
    color = "tab:red" if mono.alarm else "tab:blue"
    ax.bar(t["bin"] + 1, t["residual_mean"], color=color, alpha=0.8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("HPI decile (1 = lowest)")
    ax.set_ylabel("mean residual vs baseline p50 (bps)")
    ax.set_title(f"slippage residual by HPI decile: Spearman {mono.spearman:.2f}, top-bottom "
                 f"{mono.top_minus_bottom:.2f} bps — {'ALARM' if mono.alarm else 'ok'}")
    _save(fig, path)


def figure_occupancy(occupancy: pd.DataFrame, path: Path) -> None:
    """Share of steps in each state per 10 minutes of the day (live runs, all sessions)."""
    occ = occupancy.pivot_table(index="tod_bin", columns="desk_state", values="steps",
                                aggfunc="sum").fillna(0.0)
    occ = occ.reindex(columns=[s for s in STATES if s in occ.columns])
    share = occ.div(occ.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(10, 4))
    hours = share.index.to_numpy() * 600 / 3600
    ax.stackplot(hours, share.T.to_numpy(), labels=list(share.columns),
                 colors=[_STATE_COLORS[s] for s in share.columns], alpha=0.85)
    ax.set_xlim(hours.min(), hours.max())
    ax.set_ylim(0, 1)
    ax.set_xlabel("hours since the open")
    ax.set_ylabel("share of steps")
    ax.set_title("policy-state occupancy over the day (HPI desk, all sessions)")
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    _save(fig, path)


def figure_tails(table: pd.DataFrame, path: Path) -> None:
    """p95, CVaR95 and worst-1% implementation shortfall per event class and arm."""
    metrics = [("is_p95", "p95"), ("is_cvar95", "CVaR95"), ("is_worst1pct", "worst 1%")]
    classes = list(table["event_class"].unique())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=False)
    x = np.arange(len(classes))
    for ax, (col, label) in zip(axes, metrics, strict=True):
        for j, arm in enumerate(ARMS):
            vals = [float(table[(table.event_class == c) & (table.arm == arm)][col].iloc[0])
                    for c in classes]
            ax.bar(x + (j - 0.5) * 0.38, vals, width=0.38, color=_ARM_COLORS[arm], label=arm)
        ax.set_xticks(x, classes, rotation=30, ha="right")
        ax.set_title(f"parent IS {label} (bps)")
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend()
    _save(fig, path)


def figure_completion_delay(paired: pd.DataFrame, path: Path) -> None:
    """Completion against delay cost per session, plain vs HPI desk."""
    fig, ax = plt.subplots(figsize=(8, 5))
    markers = dict(zip(sorted(paired["event_class"].unique()), "osD^vP*X", strict=False))
    for arm in ARMS:
        if f"completion_{arm}" not in paired:
            continue
        for cls, m in markers.items():
            sub = paired[paired["event_class"] == cls]
            ax.scatter(sub[f"delay_{arm}"], sub[f"completion_{arm}"], marker=m, alpha=0.75,
                       color=_ARM_COLORS[arm], label=f"{arm} / {cls}")
    ax.set_xlabel("mean delay cost per parent (bps)")
    ax.set_ylabel("mean completion per session")
    ax.set_title("completion vs delay cost (one point per session and arm)")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def figure_drift(drift: pd.DataFrame, threshold: float, path: Path) -> None:
    """Feature drift statistic per feature and window, with the alarm threshold."""
    fig, ax = plt.subplots(figsize=(12, 4.5))
    windows = list(drift["window"].unique())
    feats = list(drift["feature"].unique())
    x = np.arange(len(feats))
    width = 0.8 / max(len(windows), 1)
    for j, w in enumerate(windows):
        sub = drift[drift["window"] == w].set_index("feature").reindex(feats)
        ax.bar(x + (j - (len(windows) - 1) / 2) * width, sub["statistic"], width=width, label=w)
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label="alarm threshold")
    ax.set_xticks(x, feats, rotation=30, ha="right")
    ax.set_ylabel("drift statistic")
    ax.set_title("feature drift (the gamma proxy first)")
    ax.legend(fontsize=7, ncol=3)
    _save(fig, path)


def figure_gex(gex: pd.DataFrame, path: Path) -> None:
    """The observer's GEX estimate against the dealers' true GEX, per event class."""
    classes = sorted(gex["event_class"].unique())
    fig, axes = plt.subplots(1, len(classes), figsize=(3.6 * len(classes), 3.8), squeeze=False)
    for ax, cls in zip(axes[0], classes, strict=True):
        sub = gex[gex["event_class"] == cls]
        ax.scatter(sub["dealer_gex"] / 1e6, sub["observer_gex"] / 1e6, s=3, alpha=0.3)
        lo = min(sub["dealer_gex"].min(), sub["observer_gex"].min()) / 1e6
        hi = max(sub["dealer_gex"].max(), sub["observer_gex"].max()) / 1e6
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls=":")
        corr = sub[["dealer_gex", "observer_gex"]].corr().iloc[0, 1]
        ax.set_title(f"{cls}: corr {corr:.2f}", fontsize=9)
        ax.set_xlabel("true dealer GEX ($m / 1%)")
    axes[0][0].set_ylabel("observer GEX estimate ($m / 1%)")
    _save(fig, path)


def figure_calibration(calib: pd.DataFrame, path: Path) -> None:
    """Observed share below each predicted quantile (out of sample) against nominal."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for m, color in (("baseline", "tab:grey"), ("baseline+hedge", "tab:blue")):
        sub = calib[calib["model"] == m]
        ax.plot(sub["quantile"], sub["observed"], "o-", color=color, label=m)
    ax.plot([0.45, 1.0], [0.45, 1.0], color="black", lw=0.6, ls=":")
    ax.set_xlabel("nominal quantile")
    ax.set_ylabel("observed share below prediction")
    ax.set_title("out-of-sample calibration")
    ax.legend()
    _save(fig, path)


# ---------------------------------------------------------------------------- the study
def _csv_parquet(frame: pd.DataFrame, tables: Path, name: str) -> None:
    write_parquet(tables / f"{name}.parquet", frame)
    _atomic(tables / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))


def _md_table(frame: pd.DataFrame, floatfmt: str = ".2f") -> str:
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


def run_study(study: HPIStudyConfig, base: RunConfig, out: Path, *,
              log=print) -> dict:
    """Run the whole study into ``out`` (tables/, figures/, report.md, study.json)."""
    t_start = time.perf_counter()
    out = Path(out)
    tables, figures = out / "tables", out / "figures"
    timings: dict[str, float] = {}
    sessions = plan_sessions(study, base.seed)

    # 2. calibration of the calm reference
    t0 = time.perf_counter()
    fallbacks = None
    if study.calibration_sessions:
        cal = calibration_sessions(study, base.seed)
        jobs = [(session_config(base, study, s, HPIMode.shadow), s, "calibration") for s in cal]
        log(f"hpi_study: calibrating the reference history on {len(cal)} session(s)")
        results = run_sessions(jobs, study.n_jobs, keep_every_s=1.0)
        fallbacks = reference_scaling(_gather(results, "hpi"))
    timings["calibration_s"] = time.perf_counter() - t0

    # 3. shadow (plain desk) and live (HPI desk) runs on the same seeds
    t0 = time.perf_counter()
    jobs = []
    for s in sessions:
        jobs.append((session_config(base, study, s, HPIMode.shadow, fallbacks), s, "plain"))
        jobs.append((session_config(base, study, s, HPIMode.live, fallbacks), s, "hpi"))
    log(f"hpi_study: {len(jobs)} runs ({len(sessions)} sessions x 2 arms) on "
        f"{study.n_jobs} process(es)")
    results = run_sessions(jobs, study.n_jobs, study.keep_every_s)
    timings["simulation_s"] = time.perf_counter() - t0
    timings["session_wall_mean_s"] = float(np.mean([r["wall"] for r in results]))
    timings["session_cpu_mean_s"] = float(np.mean([r["cpu"] for r in results]))
    children = _gather(results, "children")
    parents = _gather(results, "parents")
    hpi = _gather(results, "hpi")
    occupancy = _gather(results, "occupancy")
    gex = _gather(results, "gex")
    transitions = _gather(results, "transitions")
    shadow = _gather(results, "shadow")

    # 4. cost decomposition with the fitted own-impact and hedge-flow terms
    t0 = time.perf_counter()
    from agents.desk.hpi import decompose_frames

    plain_kids, _ = decompose_frames(children[children["arm"] == "plain"],
                                     parents[parents["arm"] == "plain"])
    terms = fit_cost_terms(plain_kids)
    dec_kids, dec_parents = [], []
    for arm in ARMS:
        kid = children[children["arm"] == arm].reset_index(drop=True)
        par = parents[parents["arm"] == arm].reset_index(drop=True)
        k, p = decompose_frames(kid, par, betas=terms["hedge"],
                                expected_perm_bps=own_impact(terms["own_impact"],
                                                             kid["participation"]))
        dec_kids.append(k)
        dec_parents.append(p)
    kids = pd.concat(dec_kids, ignore_index=True)
    pars = pd.concat(dec_parents, ignore_index=True)
    is_gap = float(np.nanmax(np.abs(pars["cost_total"] - pars["is_bps"]))) if len(pars) else 0.0
    timings["decomposition_s"] = time.perf_counter() - t0

    # 5. the two-layer model on the plain desk's children
    t0 = time.perf_counter()
    data = child_dataset(kids[kids["arm"] == "plain"])
    validation = model_validation(study, data)
    drift = drift_table(study, data)
    drift_limit = study.drift_threshold if study.drift_threshold is not None else (
        0.25 if study.drift_method == "psi" else 0.1)
    drift_frames = [cvar_drift(data["study_time"].to_numpy(float),
                               data["slippage_bps"].to_numpy(float),
                               n_windows=min(5, len(data))).assign(series="child slippage")]
    for arm in ARMS:
        p = pars[pars["arm"] == arm]
        when = p["session"].to_numpy(float) * 23_400 + p["arrival_time"].to_numpy(float)
        drift_frames.append(cvar_drift(when, p["is_bps"].to_numpy(float),
                                       n_windows=min(5, len(p))).assign(series=f"parent IS "
                                                                               f"({arm})"))
    cvar_time = pd.concat(drift_frames, ignore_index=True)
    timings["model_s"] = time.perf_counter() - t0

    # 6-7. policy evaluation and canary rollout
    kids_all = _with_queue(children, kids)
    policy = policy_table(pars, kids_all)
    paired = paired_sessions(pars)
    canary = canary_rollout(study, pars, kids_all)
    by_state = (kids_all[kids_all["arm"] == "hpi"].groupby("policy_state")
                .agg(children=("child_id", "size"),
                     slippage_p50=("slippage_bps", lambda s: s.quantile(0.5)),
                     slippage_p95=("slippage_bps", lambda s: s.quantile(0.95)),
                     completion=("completion", "mean"), queue_lost=("queue_lost", "mean"))
                .reset_index())
    shadow_summary = (shadow.groupby("state").agg(slices=("time", "size"),
                                                  would_size_scale=("would_size_scale", "mean"),
                                                  would_start_new=("would_start_new", "mean"))
                      .reset_index() if len(shadow) else pd.DataFrame())

    # tables
    for name, frame in {
        "children": kids, "parents": pars, "dataset": data, "policy_evaluation": policy,
        "paired_sessions": paired, "canary": canary, "calibration": validation["calibration"],
        "model_comparison": validation["comparison"], "rolling_splits": validation["splits"],
        "event_class_holdout": validation["holdouts"],
        "model_coefficients": validation["coefficients"],
        "hpi_deciles": validation["monotonicity"].table, "feature_drift": drift,
        "cvar_drift": cvar_time, "transitions": transitions, "shadow_log": shadow,
        "shadow_summary": shadow_summary, "children_by_state": by_state,
        "hpi_per_step": hpi, "gex_true_vs_observer": gex, "state_occupancy": occupancy,
    }.items():
        _csv_parquet(frame, tables, name)
    hedge = terms["hedge"]
    cost_terms = pd.DataFrame({
        "term": ["own_impact_a", "own_impact_b_sqrt_participation", "hedge_b1_hpi",
                 "hedge_b2_hpi_x_vol", "hedge_b3_hpi_x_queue_fragility", "hedge_intercept"],
        "value": [*terms["own_impact"], *hedge.betas, hedge.intercept],
        "std_error": [math.nan, math.nan, *hedge.std_errors, hedge.intercept_se]})
    _csv_parquet(cost_terms, tables, "cost_terms")

    # figures
    live_hpi = hpi[hpi["arm"] == "hpi"]
    figure_hpi_distribution(hpi[hpi["arm"] == "plain"], figures / "hpi_distribution.png")
    figure_residual_deciles(validation["monotonicity"], figures / "residual_by_hpi_decile.png")
    figure_occupancy(occupancy[occupancy["arm"] == "hpi"], figures / "state_occupancy.png")
    figure_tails(policy, figures / "tails_by_event_class.png")
    figure_completion_delay(paired, figures / "completion_vs_delay.png")
    figure_drift(drift, drift_limit, figures / "feature_drift.png")
    figure_gex(gex[gex["arm"] == "plain"], figures / "gex_observer_vs_true.png")
    figure_calibration(validation["calibration"], figures / "calibration.png")

    timings["total_s"] = time.perf_counter() - t_start
    manifest = {"study": _plain(OmegaConf.to_container(OmegaConf.structured(study))),
                "seed": base.seed, "fallbacks": fallbacks, "timings": timings,
                "sessions": len(sessions),
                "runs": len(results), "children": len(kids), "dataset_rows": len(data),
                "max_decomposition_gap_bps": is_gap,
                "hedge_spec_edges": list(validation["spec"].expiry_bucket_edges)}
    write_json(out / "study.json", manifest)
    report = study_report(study, manifest, policy, paired, canary, validation, drift,
                          drift_limit, cost_terms, gex, live_hpi, by_state, shadow_summary,
                          occupancy, results)
    _atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report))
    log(f"hpi_study: done in {timings['total_s']:.0f} s; report in {out / 'report.md'}")
    return manifest


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return getattr(x, "value", x)


def _with_queue(children: pd.DataFrame, kids: pd.DataFrame) -> pd.DataFrame:
    """All children (filled or not) with the decomposition columns of the filled ones."""
    cost_cols = [c for c in kids.columns if c.startswith("cost_")]
    keys = ["arm", "session", "child_id"]
    return children.merge(kids[keys + cost_cols], on=keys, how="left")


def _drift_pivot(drift: pd.DataFrame) -> str:
    """Feature drift as a markdown table: one row per feature, one column per window."""
    if drift.empty:
        return "No drift windows (a single event class and too few sessions)."
    cell = drift.assign(cell=[f"{s:.2f}{'*' if a else ''}" for s, a in
                              zip(drift["statistic"], drift["alarm"], strict=True)])
    table = cell.pivot(index="feature", columns="window", values="cell")
    table = table.reindex([f for f in DRIFT_FEATURES if f in table.index]).reset_index()
    return _md_table(table)


def study_report(study, manifest, policy, paired, canary, validation, drift, drift_limit,
                 cost_terms, gex, live_hpi, by_state, shadow_summary, occupancy,
                 results) -> str:
    """The markdown summary (``report.md``)."""
    t = manifest["timings"]
    allp = policy[policy["event_class"] == "all"].set_index("arm")
    mono = validation["monotonicity"]
    comp = validation["comparison"]

    def metric(model, q, name):
        sel = comp[(comp.model == model) & (comp["quantile"] == q) & (comp.metric == name)]
        return float(sel["value"].iloc[0]) if len(sel) else math.nan

    occ = occupancy[occupancy["arm"] == "hpi"].groupby("desk_state")["steps"].sum()
    occ_share = (occ / occ.sum()).reindex(list(STATES)).fillna(0.0)
    gex_corr = gex[gex["arm"] == "plain"].groupby("event_class")[
        ["dealer_gex", "observer_gex"]].corr().unstack().iloc[:, 1]
    lines = [
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
        + ", ".join(f"{s} {100 * occ_share[s]:.1f}%" for s in STATES) + ".",
        "",
        "## By event class",
        "",
        _md_table(policy[policy["event_class"] != "all"][
            ["event_class", "arm", "parents", "is_p50", "is_p95", "is_cvar95", "is_worst1pct",
             "completion", "delay_cost_bps", "opportunity_cost_bps", "child_p95",
             "queue_loss_rate"]]),
        "",
        "![tails](figures/tails_by_event_class.png)",
        "![completion vs delay](figures/completion_vs_delay.png)",
        "",
        "## Canary deployment",
        "",
        f"The live policy was deployed in windows of {study.canary.sessions} sessions; after "
        "each window the canary gates (p95 breach, completion drop, queue-loss jump) compared "
        "it with the plain desk on the same sessions and rolled it back for every later "
        "session once one tripped.",
        "",
        _md_table(canary),
        "",
        "## Cost decomposition",
        "",
        "Every child's cost splits into delay + spread + temporary + permanent (own impact) + "
        "hedge-flow term + residual, and each parent adds opportunity cost on its unfilled "
        f"remainder; the parts add up to the implementation shortfall (largest gap over all "
        f"parents: {manifest['max_decomposition_gap_bps']:.2e} bps).",
        "",
        _md_table(cost_terms, ".4g"),
        "",
        "## Two-layer slippage model (plain desk's children)",
        "",
        "Layer A (spread, depth, imbalance, volatility, participation, latency) and Layer B "
        "(HPI level, slope, HPI x urgency, HPI x queue fragility, HPI x time-to-expiry "
        f"bucket; bucket edges {manifest['hedge_spec_edges']} s). Out-of-sample over "
        f"{study.n_splits} rolling time splits:",
        "",
        _md_table(validation["calibration"][["model", "quantile", "observed", "error", "n"]],
                  ".3f"),
        "",
        f"Pinball loss at p95: baseline {metric('baseline', 0.95, 'pinball'):.3f}, "
        f"baseline+hedge {metric('baseline+hedge', 0.95, 'pinball'):.3f}; CVaR95 of the top "
        f"decile ranked by predicted p95: baseline "
        f"{metric('baseline', 0.95, 'tail_bucket_cvar95'):.2f}, baseline+hedge "
        f"{metric('baseline+hedge', 0.95, 'tail_bucket_cvar95'):.2f} bps.",
        "",
        "Event-class holdout (train on the other classes):",
        "",
        _md_table(validation["holdouts"][validation["holdouts"]["quantile"] == 0.95][
            ["holdout", "model", "n_test", "pinball", "observed", "error"]], ".3f"),
        "",
        "![calibration](figures/calibration.png)",
        "",
        "## Monitoring",
        "",
        f"- HPI decile monotonicity of Layer A's residual: Spearman {mono.spearman:.2f}, top "
        f"minus bottom decile {mono.top_minus_bottom:.2f} bps -> "
        f"{'**ALARM**: the proxy no longer orders the residual cost' if mono.alarm else 'ok'}.",
        f"- feature drift ({study.drift_method}, alarm above {drift_limit:g}, `*` = alarm): "
        f"{int(drift['alarm'].sum()) if len(drift) else 0} of {len(drift)} feature/window "
        "pairs alarm (table below).",
        "- observer GEX vs the dealers' true GEX, correlation per class: "
        + ", ".join(f"{c} {v:.2f}" for c, v in gex_corr.items()) + ".",
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
    return "\n".join(lines)


def study_from_config(cfg: DictConfig) -> tuple[HPIStudyConfig, RunConfig]:
    """Split a composed ``hpi_study`` config into the study and the base run config."""
    try:
        full = OmegaConf.to_object(cfg)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    base = RunConfig(**{f.name: getattr(full, f.name) for f in fields(RunConfig)})
    return full.hpi_study, base


def run_from_config(cfg: DictConfig) -> float:
    """The Hydra task of the study: validate, run, write into Hydra's output dir."""
    from hydra.core.hydra_config import HydraConfig

    try:
        study, base = study_from_config(cfg)
    except ValueError as exc:
        print(f"hedgeloop: invalid configuration: {exc}", file=sys.stderr)
        sys.exit(2)
    out = Path(HydraConfig.get().runtime.output_dir)
    manifest = run_study(study, base, out)
    return float(manifest["timings"]["total_s"])


register_configs()
