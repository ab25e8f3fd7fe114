"""Sessions of the HPI study: their design (class, regime, seed), their run configs, running
them in worker processes and the reference history that scales the index.

A session is one simulated trading day; ``index`` orders sessions in study time (calibration
sessions have negative indices). Times are clock seconds; costs bps of the arrival mid.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from agents.desk import HPIMode, child_frame, parent_frame
from experiments.config import RunConfig
from experiments.events import EventConfig
from experiments.hpi_study.config import HPIStudyConfig, split_override
from experiments.model import HedgeLoopModel
from experiments.study.runner import map_in_processes, release_models
from market.execution.hpi import COMPONENTS
from market.validation import ConfigError, check_range

_MISSING = object()


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
    return [
        Session(i, seed + i, classes[i % len(classes)], regimes[(i // len(classes)) % len(regimes)])
        for i in range(study.sessions)
    ]


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
    return [
        Session(
            -1 - i,
            seed + CALIBRATION_SEED_OFFSET + i,
            classes[i % n_c],
            regimes[(i + i // lcm) % n_r],
        )
        for i in range(study.calibration_sessions)
    ]


def session_config(
    base: RunConfig,
    study: HPIStudyConfig,
    session: Session,
    mode: HPIMode,
    fallbacks: dict[str, list[float]] | None = None,
) -> RunConfig:
    """The validated run config of ``session`` in ``mode``: the base config, the study's
    overrides, the regime's and the class's overrides, the parents and the class's events."""
    cfg = OmegaConf.structured(base)
    items = [
        *study.overrides,
        *study.vol_regimes[session.vol_regime],
        *study.classes[session.event_class].overrides,
    ]
    for item in items:
        key, value = split_override("hpi_study", item)
        if OmegaConf.select(cfg, key, default=_MISSING) is _MISSING:
            raise ConfigError(f"hpi_study: override {item!r} names no config key")
        OmegaConf.update(cfg, key, value, merge=False)
    OmegaConf.update(cfg, "desk.hpi.mode", mode.value, merge=False)
    if fallbacks:
        OmegaConf.update(cfg, "desk.hpi.observer.fallbacks", fallbacks, merge=False)
    events = [p.event() for p in study.parents] + [
        EventConfig(**asdict(ev)) for ev in study.classes[session.event_class].events
    ]
    OmegaConf.update(cfg, "scenario.events", [OmegaConf.structured(e) for e in events], merge=False)
    OmegaConf.update(cfg, "scenario.days", 1, merge=False)
    OmegaConf.update(cfg, "scenario.name", f"hpi_{session.event_class}", merge=False)
    OmegaConf.update(cfg, "seed", session.seed, merge=False)
    OmegaConf.update(cfg, "progress", False, merge=False)
    try:
        return OmegaConf.to_object(cfg)
    except ValueError as exc:
        raise ConfigError(
            f"hpi_study session {session.index} ({session.event_class}, "
            f"{session.vol_regime}): {exc}"
        ) from exc


def check_sessions(study: HPIStudyConfig, base: RunConfig) -> None:
    """Build the run config of every pairing of event class and volatility regime once, so an
    override naming no key or a value out of its range is refused before any session runs."""
    for event_class in study.classes:
        for regime in study.vol_regimes:
            session_config(base, study, Session(0, base.seed, event_class, regime), HPIMode.live)


#: the GEX table's columns of the model's time series: true dealer GEX against the observer's
_GEX_COLUMNS = [
    "time",
    "mid",
    "dealer_gex",
    "observer_gex",
    "observer_gex_calls",
    "observer_gex_puts",
]


def _session_tables(model: HedgeLoopModel, keep_every_s: float) -> dict:
    """The finished model's tables (see :func:`run_session`), not yet tagged."""
    desk = model.populations["desk"][0]
    policy = desk.policy
    per_step = policy.observer.frame()
    every = max(1, round(keep_every_s / model.dt))
    per_step["tod_bin"] = (per_step["time"] // 600).astype(int)
    occupancy = per_step.groupby(["tod_bin", "desk_state"]).size().rename("steps").reset_index()
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return {
        "children": child_frame(desk),
        "parents": parent_frame(desk),
        "hpi": per_step.iloc[::every].drop(columns="tod_bin").reset_index(drop=True),
        "occupancy": occupancy,
        "gex": ts[_GEX_COLUMNS].copy(),
        "transitions": policy.machine.transitions_frame(),
        "shadow": pd.DataFrame(policy.shadow_log),
    }


def _price_range_pct(model: HedgeLoopModel) -> float:
    """The session's high over its low mid, minus one, in percent."""
    return float(
        100
        * (
            np.nanmax(model.state.mids[: model.state.n + 1])
            / np.nanmin(model.state.mids[: model.state.n + 1])
            - 1
        )
    )


def run_session(cfg: RunConfig, session: Session, arm: str, keep_every_s: float = 10.0) -> dict:
    """Simulate one session and return its tables (each tagged with the session's labels).

    ``children``, ``parents`` (:func:`agents.desk.tables.child_frame` / ``parent_frame``),
    ``hpi`` (the per-step index every ``keep_every_s`` seconds), ``occupancy`` (per-step state
    counts per 10-minute bin), ``gex`` (true vs observer GEX at the record interval),
    ``transitions``, ``shadow`` and the session's ``wall`` / ``cpu`` seconds.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        model = HedgeLoopModel(cfg)
        model.run()
        model.finish()
        out = _session_tables(model, keep_every_s)
        labels = {
            "session": session.index,
            "seed": session.seed,
            "event_class": session.event_class,
            "vol_regime": session.vol_regime,
            "arm": arm,
        }
        for frame in out.values():
            for key, value in labels.items():
                frame[key] = value
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
        out["price_range_pct"] = _price_range_pct(model)
        return out
    finally:
        release_models()


def run_sessions(
    jobs: list[tuple[RunConfig, Session, str]], n_jobs: int, keep_every_s: float
) -> list[dict]:
    """Run ``(config, session, arm)`` jobs in ``n_jobs`` processes (in order of the list)."""
    return map_in_processes(run_session, [(c, s, a, keep_every_s) for c, s, a in jobs], n_jobs)


def gather(results: list[dict], name: str) -> pd.DataFrame:
    """The ``name`` tables of every session's result, stacked (empty if none has rows)."""
    frames = [r[name] for r in results if len(r[name])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
