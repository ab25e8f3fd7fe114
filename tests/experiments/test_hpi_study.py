"""The HPI study: its configuration, session design, calibration, validation and rollout logic,
and (slow) a tiny end-to-end study."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from agents.desk import HPIMode
from experiments.config import ConfigError, RunConfig
from experiments.events import EventKind
from experiments.hpi_study.config import CanaryConfig, HPIStudyConfig, split_override
from experiments.hpi_study.models import expiry_edges, model_validation
from experiments.hpi_study.pipeline import run_study, study_from_config
from experiments.hpi_study.sessions import (
    calibration_sessions,
    plan_sessions,
    reference_scaling,
    session_config,
)
from experiments.hpi_study.tables import canary_rollout, policy_table, tail_metrics
from market.execution.costs import cvar
from market.execution.hpi import COMPONENTS
from tests.agents.desk.test_desk_hpi import scenario_event_windows

CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


# ---------------------------------------------------------------------------- configuration
def test_sessions_interleave_classes_and_regimes():
    study = HPIStudyConfig(sessions=30)
    sessions = plan_sessions(study, 1000)
    classes = list(study.classes)
    assert [s.event_class for s in sessions[:10]] == classes * 2
    assert [s.seed for s in sessions] == list(range(1000, 1030))
    # every regime meets every class
    pairs = {(s.event_class, s.vol_regime) for s in sessions}
    assert pairs == {(c, r) for c in classes for r in study.vol_regimes}
    cal = calibration_sessions(study, 1000)
    assert len(cal) == study.calibration_sessions and all(s.index < 0 for s in cal)
    assert not {s.seed for s in cal} & {s.seed for s in sessions}
    with pytest.raises(ConfigError, match=r"seed must be in \[0, "):
        plan_sessions(study, -1)


def test_calibration_sessions_cover_every_class_and_every_regime():
    study = HPIStudyConfig()  # 5 calibration sessions, 5 classes, 3 regimes
    cal = calibration_sessions(study, 0)
    assert [s.event_class for s in cal] == list(study.classes)
    assert {s.vol_regime for s in cal} == set(study.vol_regimes)
    # classes and regimes sharing a factor (3 and 3) still pair every way within 3 x 3 sessions
    three = HPIStudyConfig(
        calibration_sessions=9,
        classes={k: v for k, v in study.classes.items() if k in ("calm", "macro", "expiry")},
    )
    cal = calibration_sessions(three, 0)
    assert {s.vol_regime for s in cal[:3]} == set(study.vol_regimes)
    assert len({(s.event_class, s.vol_regime) for s in cal}) == 9
    # one regime: nothing to cycle
    one = HPIStudyConfig(calibration_sessions=4, vol_regimes={"mid": []})
    assert {s.vol_regime for s in calibration_sessions(one, 0)} == {"mid"}


def test_session_seeds_follow_the_top_level_seed():
    study = HPIStudyConfig(sessions=6)

    def seeds(seed: int) -> list[int]:
        return [s.seed for s in plan_sessions(study, seed) + calibration_sessions(study, seed)]

    assert seeds(7) == seeds(7)
    assert not set(seeds(7)) & set(seeds(1007))
    assert seeds(7)[:6] == list(range(7, 13))
    # through the composed config: the top-level seed reaches every session's run config
    for seed, first in (("7", 7), (None, 1000)):  # conf/hpi_study.yaml's default is 1000
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("hpi_study", overrides=[f"seed={seed}"] if seed else [])
        study, base = study_from_config(cfg)
        session = plan_sessions(study, base.seed)[2]
        assert session.seed == first + 2
        assert session_config(base, study, session, HPIMode.live).seed == first + 2


def test_session_config_applies_the_class_regime_and_mode():
    study = HPIStudyConfig(sessions=10)
    by_class = {s.event_class: s for s in plan_sessions(study, 1000)}
    base = RunConfig(progress=True)
    fallbacks = {k: [0.0, 2.0] for k in COMPONENTS}
    macro = session_config(base, study, by_class["macro"], HPIMode.live, fallbacks)
    kinds = [ev.kind for ev in macro.scenario.events]
    assert kinds.count(EventKind.parent_order) == len(study.parents)
    assert kinds.count(EventKind.fundamental_shock) == 2
    # the macro prints are on the calendar, so the observer has their windows
    assert all(
        ev.scheduled for ev in macro.scenario.events if ev.kind is EventKind.fundamental_shock
    )
    windows = scenario_event_windows(macro.scenario, macro.desk.hpi.observer)
    assert [w[0] for w in windows if w[2] == 1.0] == [5400.0, 15_300.0]
    assert macro.desk.hpi.mode is HPIMode.live and macro.progress is False
    assert macro.desk.hpi.observer.fallbacks["book_stress"] == [0.0, 2.0]
    assert macro.seed == by_class["macro"].seed and macro.market.record_interval == 60
    short = session_config(base, study, by_class["short_gamma"], HPIMode.shadow)
    assert short.agents.dealers.initial_book.value == "short_gamma"
    assert short.agents.customers.call_frenzy_weight == 0.2
    assert short.desk.hpi.mode is HPIMode.shadow
    high = next(
        s for s in plan_sessions(HPIStudyConfig(sessions=15), 1000) if s.vol_regime == "high"
    )
    assert session_config(base, study, high, HPIMode.live).market.fundamental_vol == 0.28
    bad = HPIStudyConfig(sessions=5, overrides=["market.no_such_knob=1"])
    with pytest.raises(ConfigError, match="no_such_knob"):
        session_config(base, bad, plan_sessions(bad, 1000)[0], HPIMode.live)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sessions": 1}, r"hpi_study.sessions must be in \[2"),
        ({"overrides": ["no equals sign"]}, "key=value"),
        ({"canary": CanaryConfig(sessions=50)}, "canary.sessions"),
        ({"drift_method": "chi2"}, "drift_method"),
        ({"expiry_bucket_edges": [3600.0, 100.0]}, "expiry_bucket_edges"),
        ({"parents": []}, "parents"),
    ],
)
def test_bad_study_config_is_refused(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        HPIStudyConfig(**kwargs)


def test_the_study_composes_from_the_main_config_dir():
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            "hpi_study",
            overrides=["hpi_study.sessions=4", "desk.hpi.k_up=2", "hpi_study.canary.sessions=2"],
        )
    study, base = study_from_config(cfg)
    assert study.sessions == 4 and study.canary.sessions == 2
    assert type(base) is RunConfig and base.desk.hpi.k_up == 2
    assert base.desk.hpi.mode is HPIMode.live
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        bad = compose("hpi_study", overrides=["hpi_study.sessions=1"])
    with pytest.raises(ConfigError, match="sessions"):
        study_from_config(bad)


# ---------------------------------------------------------------------------- calibration
def test_reference_scaling_is_median_and_normal_iqr():
    rng = np.random.default_rng(2)
    raw = pd.DataFrame({f"raw_{k}": rng.normal(3.0, 2.0, 40_000) for k in COMPONENTS})
    raw["raw_book_stress"] = 5.0  # a flat component still gets a usable scale
    ref = reference_scaling(raw)
    assert ref["gamma_pressure"][0] == pytest.approx(3.0, abs=0.05)
    assert ref["gamma_pressure"][1] == pytest.approx(2.0, rel=0.03)
    assert ref["book_stress"] == [5.0, 1e-6]


def test_expiry_edges_merge_thin_buckets():
    tte = np.r_[np.full(50, 1000.0), np.full(50, 10_000.0), np.full(1, 50_000.0)]
    assert expiry_edges(tte, (3600.0, 23_400.0, 117_000.0), 0.02) == (3600.0,)
    assert expiry_edges(tte, (3600.0, 23_400.0), 0.0) == (3600.0, 23_400.0)
    assert expiry_edges(tte, (3600.0, 23_400.0, 117_000.0), 0.0) == (3600.0, 23_400.0)
    assert expiry_edges(np.full(10, 1000.0), (3600.0,), 0.1) == ()


def synthetic_children(n: int, seed: int) -> pd.DataFrame:
    """A child dataset with planted structure: cost rises with spread and volatility (Layer A)
    and with HPI x queue fragility (Layer B), noise heavier when volatile."""
    rng = np.random.default_rng(seed)
    classes = np.array(["calm", "expiry", "macro"])
    frame = pd.DataFrame(
        {
            "session": np.repeat(np.arange(n // 50), 50)[:n],
            "spread_bps": rng.uniform(1, 4, n),
            "depth": rng.uniform(5, 50, n),
            "imbalance": rng.uniform(-1, 1, n),
            "volatility": rng.uniform(0.1, 0.5, n),
            "participation": rng.uniform(0.01, 0.3, n),
            "latency_ms": rng.choice([0.0, 1e3], n),
            "hpi": rng.normal(0, 2, n),
            "hpi_slope": rng.normal(0, 1, n),
            "urgency": rng.choice([0.2, 0.5, 0.8], n),
            "queue_fragility": rng.uniform(0, 1, n),
            "seconds_to_expiry": rng.uniform(0, 23_400, n),
        }
    )
    frame["event_class"] = classes[frame["session"] % 3]
    frame["study_time"] = frame["session"] * 23_400.0 + rng.uniform(0, 23_400, n)
    base = 0.5 * frame.spread_bps + 8 * frame.volatility
    hedge = 1.5 * np.maximum(frame.hpi, 0) * frame.queue_fragility
    frame["slippage_bps"] = base + hedge + (0.5 + 3 * frame.volatility) * rng.standard_t(5, n)
    return frame


def test_model_validation_calibration_is_the_out_of_sample_share_below():
    data = synthetic_children(2000, seed=4)
    study = HPIStudyConfig(sessions=5, n_splits=2)
    out = model_validation(study, data)
    y = data["slippage_bps"].to_numpy()
    tested = out["tested"]
    # with two splits the first third only trains; every later row is tested exactly once
    assert tested.mean() == pytest.approx(2 / 3, abs=0.01)
    assert not tested[data["session"] == 0].any()
    calib = out["calibration"]
    for model in ("baseline", "baseline+hedge"):
        for q in (0.5, 0.9, 0.95):
            pred = out["oos"][model][q][tested]
            row = calib[(calib["model"] == model) & (calib["quantile"] == q)].iloc[0]
            assert row["observed"] == pytest.approx(np.mean(y[tested] <= pred))
            assert row["n"] == tested.sum() and abs(row["error"]) < 0.06
    comp = out["comparison"]
    pinball = comp[(comp.metric == "pinball") & (comp["quantile"] == 0.95)].set_index("model")
    assert pinball.loc["baseline+hedge", "value"] < pinball.loc["baseline", "value"]
    # the planted hedge structure shows as a residual rising with HPI
    assert out["monotonicity"].spearman > 0.7 and not out["monotonicity"].alarm
    assert set(out["holdouts"]["holdout"]) == {"expiry", "macro"}


# ---------------------------------------------------------------------------- evaluation
def fake_parents(completion_hpi: list[float], sessions_per_window: int = 2) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    n_sessions = sessions_per_window * len(completion_hpi)
    for s in range(n_sessions):
        window = s // sessions_per_window
        for arm in ("plain", "hpi"):
            for k in range(12):
                rows.append(
                    {
                        "session": s,
                        "parent_id": k,
                        "arm": arm,
                        "event_class": "calm",
                        "vol_regime": "mid",
                        "is_bps": rng.normal(2, 3),
                        "completion": 1.0 if arm == "plain" else completion_hpi[window],
                        "cost_delay": 0.5,
                        "cost_opportunity": 0.0,
                        "duration_s": 100.0,
                    }
                )
    return pd.DataFrame(rows)


def fake_children(parents: pd.DataFrame) -> pd.DataFrame:
    out = parents[["session", "parent_id", "arm", "event_class"]].copy()
    out["passive_price"] = 100.0
    out["queue_lost"] = False
    out["filled"] = 100
    out["slippage_bps"] = 1.0
    return out


def test_canary_rolls_the_policy_back_once_a_gate_trips():
    parents = fake_parents([1.0, 0.8, 1.0])  # the second window loses 20% completion
    study = HPIStudyConfig(
        sessions=6, canary=CanaryConfig(sessions=2, min_samples=10, p95_tolerance=10.0)
    )
    table = canary_rollout(study, parents, fake_children(parents))
    assert list(table["ran"]) == ["hpi", "hpi", "plain"]
    assert list(table["rollback"]) == [False, True, False]
    assert table.loc[1, "tripped"] == "completion"
    assert table.loc[1, "completion_drop"] == pytest.approx(0.2)
    assert list(table["deployed_after"]) == ["hpi", "plain", "plain"]
    # a fixed p95 limit below every shortfall trips the p95 gate in the first window already
    strict = HPIStudyConfig(
        sessions=6, canary=CanaryConfig(sessions=2, min_samples=10, p95_limit_bps=-100.0)
    )
    table = canary_rollout(strict, parents, fake_children(parents))
    assert table["ran"].tolist() == ["hpi", "plain", "plain"]
    assert table.loc[0, "tripped"] == "p95"


def test_policy_table_tail_metrics():
    parents = fake_parents([1.0, 0.5])
    table = policy_table(parents, fake_children(parents)).set_index(["event_class", "arm"])
    hpi = parents[parents.arm == "hpi"]
    row = table.loc[("all", "hpi")]
    assert row["is_p95"] == pytest.approx(np.quantile(hpi["is_bps"], 0.95))
    assert row["is_cvar95"] == pytest.approx(cvar(hpi["is_bps"], 0.95))
    assert row["completion"] == pytest.approx(0.75) and row["underfill"] == pytest.approx(0.25)
    assert table.loc[("all", "plain"), "completion"] == 1.0
    t = tail_metrics([1.0, 2.0, np.nan])
    assert t["n"] == 2 and t["p50"] == 1.5


# ---------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_a_tiny_study_runs_end_to_end(tmp_path):
    base = RunConfig(progress=False)
    base.agents.background.n = 150
    base.agents.customers.n = 20
    study = HPIStudyConfig(
        sessions=3,
        n_jobs=1,
        calibration_sessions=1,
        n_splits=2,
        classes={
            k: v
            for k, v in HPIStudyConfig().classes.items()
            if k in ("calm", "short_gamma", "macro")
        },
        overrides=["market.record_interval=600", "market.step_seconds=5"],
        canary=CanaryConfig(sessions=1, min_samples=3),
        min_bucket_share=0.0,
    )
    manifest = run_study(study, base, tmp_path, log=lambda *_: None)
    assert (tmp_path / "report.md").read_text().startswith("# HPI study")
    for name in (
        "policy_evaluation",
        "canary",
        "calibration",
        "model_comparison",
        "children",
        "parents",
        "feature_drift",
        "transitions",
    ):
        assert (tmp_path / "tables" / f"{name}.csv").exists(), name
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {
        "hpi_distribution.png",
        "residual_by_hpi_decile.png",
        "state_occupancy.png",
        "tails_by_event_class.png",
        "completion_vs_delay.png",
        "feature_drift.png",
        "gex_observer_vs_true.png",
    } <= figures
    assert manifest["max_decomposition_gap_bps"] < 1e-8
    assert json.loads((tmp_path / "study.json").read_text())["runs"] == 6
    parents = pd.read_parquet(tmp_path / "tables" / "parents.parquet")
    assert set(parents["arm"]) == {"plain", "hpi"}
    np.testing.assert_allclose(parents["cost_total"], parents["is_bps"], atol=1e-9)


def test_overrides_are_read_as_the_command_line_reads_them():
    """Hydra's override grammar, not YAML 1.1: ``off`` stays a string, ``10:30`` a clock time."""
    assert split_override("w", "desk.hpi.mode=off") == ("desk.hpi.mode", "off")
    assert split_override("w", "scenario.events.p.at=10:30") == ("scenario.events.p.at", "10:30")
    assert split_override("w", "agents.customers.expiry_weights=[0.85,0.1,0.05]") == (
        "agents.customers.expiry_weights",
        [0.85, 0.1, 0.05],
    )
    assert split_override("w", "market.fundamental_vol=0.10")[1] == 0.10
    with pytest.raises(ConfigError, match=r"hpi_study\.overrides: .* is a sweep"):
        HPIStudyConfig(overrides=["market.fundamental_vol=0.1,0.2"])
    # a session with the mode written as on the command line: YAML made it False, refused
    study = HPIStudyConfig(sessions=5, overrides=["desk.hpi.mode=off"])
    session = plan_sessions(study, 1000)[0]
    assert session_config(RunConfig(), study, session, HPIMode.live).desk.hpi.mode is HPIMode.live


def test_a_bad_session_override_is_refused_before_any_session_runs():
    """Every class and regime pairing is composed when the study is read, not when its session
    comes up (after the calibration sessions have run)."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            "hpi_study", overrides=["hpi_study.vol_regimes.high=['market.fundamental_vol=-1']"]
        )
    with pytest.raises(ConfigError, match=r"\(calm, high\).*market\.fundamental_vol"):
        study_from_config(cfg)
