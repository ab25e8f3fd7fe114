"""What a study reports beyond means and differences: F's part of each price metric, the spread
over seeds (quantiles, bimodality), and how often the scenario's crisis happens; the scenario's
crisis definition and its checks; and a study dir collected into those tables and study.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import load_config
from experiments.config import ConfigError, ScenarioConfig
from experiments.study.collect import MANIFEST_FILE, collect_study
from experiments.study.jobs import STATUS_FILE, SUMMARY_FILE
from experiments.study.tables import (
    arm_table,
    crisis_flags,
    crisis_table,
    fundamental_columns,
    fundamental_parts,
)

SM = "scenario_metrics"
SCENARIOS = ("crash_1987", "flash_2010", "covid_2020", "gamma_squeeze", "expiry_pinning")


# ---------------------------------------------------------------------------- F's part
def test_fundamental_parts_follow_the_scenario_metric_names():
    day = fundamental_parts(f"{SM}.worst_day_pct")
    assert day == (
        f"{SM}.fundamental.worst_day_pct",
        None,
        f"{SM}.net_of_fundamental.worst_day_pct",
    )
    # a fall: net subtracts F's move across it; F's own largest fall inside it is reported too
    fall = fundamental_parts(f"{SM}.peak_to_trough_pct")
    assert fall.move == f"{SM}.fundamental.peak_to_trough_move_pct"
    assert fall.own_extreme == f"{SM}.fundamental.peak_to_trough_pct"
    assert fundamental_parts("worst_5min_return_pct").net == (
        "net_of_fundamental.worst_5min_return_pct"
    )
    pin = fundamental_parts(f"{SM}.pin.close_distance_pct")
    assert pin == (f"{SM}.pin.fundamental_distance_pct", None, f"{SM}.pin.close_distance_net_pct")
    # F's own columns, and metrics without a window of their own, have none
    for metric in (f"{SM}.fundamental.worst_day_pct", f"{SM}.n_halts", "price.max_drawdown_pct"):
        assert fundamental_parts(metric) is None
    cols = fundamental_columns([f"{SM}.worst_day_pct", f"{SM}.n_halts", f"{SM}.worst_day_pct"])
    assert cols == [f"{SM}.fundamental.worst_day_pct", f"{SM}.net_of_fundamental.worst_day_pct"]


def _f_runs() -> pd.DataFrame:
    """Two arms, four seeds: the treatment falls 10% of which F 4%; the control falls 5%, all F."""
    rows = []
    for seed in range(4):
        f_move = np.nan if seed == 3 else -4.0  # seed 3: F undefined, left out of F's part
        rows.append(
            {
                "arm": "treatment",
                "seed": seed,
                "fall": -10.0 + seed,
                "fundamental.fall": f_move,
                "net_of_fundamental.fall": -6.0 + seed,
                "other": 1.0,
            }
        )
        rows.append(
            {
                "arm": "control",
                "seed": seed,
                "fall": -5.0,
                "fundamental.fall": -5.0,
                "net_of_fundamental.fall": 0.0,
                "other": 2.0,
            }
        )
    return pd.DataFrame(rows)


def test_arm_table_reports_f_part_net_and_share(monkeypatch):
    # "fall" stands for a window-return metric of the scenario metrics
    monkeypatch.setattr("experiments.study.tables.NET_OF_FUNDAMENTAL", ("fall",))
    table = arm_table(_f_runs(), ["fall", "other"], ["treatment", "control"])
    t = table.set_index(["metric", "arm"])
    # seeds 0-2 (seed 3 has no F): metric mean -9, F -4, net -5
    assert t.at[("fall", "treatment"), "mean"] == pytest.approx(-8.5)  # every seed
    assert t.at[("fall", "treatment"), "fundamental_mean"] == pytest.approx(-4.0)
    assert t.at[("fall", "treatment"), "net_of_fundamental_mean"] == pytest.approx(-5.0)
    assert t.at[("fall", "treatment"), "fundamental_share"] == pytest.approx(4.0 / 9.0)
    assert t.at[("fall", "control"), "fundamental_share"] == pytest.approx(1.0)
    assert np.isnan(t.at[("fall", "treatment"), "fundamental_own_extreme_mean"])
    for col in ("fundamental_mean", "net_of_fundamental_mean", "fundamental_share"):
        assert np.isnan(t.at[("other", "treatment"), col])


# ---------------------------------------------------------------------------- spread
def test_arm_table_shows_the_spread_and_flags_two_clusters():
    rng = np.random.default_rng(4)
    crash = np.r_[rng.normal(-0.3, 0.1, 10), rng.normal(-5.0, 0.5, 10)]
    calm = rng.normal(-0.3, 0.1, 20)
    runs = pd.DataFrame(
        {
            "arm": ["treatment"] * 20 + ["control"] * 20,
            "seed": [*range(20), *range(20)],
            "worst": np.r_[crash, calm],
            "flat": 1.0,
        }
    )
    t = arm_table(runs, ["worst", "flat"], ["treatment", "control"]).set_index(["metric", "arm"])
    tr = t.loc[("worst", "treatment")]
    assert tr["median"] == pytest.approx(np.median(crash))
    assert tr["q10"] == pytest.approx(np.quantile(crash, 0.1))
    assert tr["q90"] == pytest.approx(np.quantile(crash, 0.9))
    # the mean lies between the clusters, where no seed is; the flag says so
    assert not ((crash > tr["mean"] - 0.5) & (crash < tr["mean"] + 0.5)).any()
    assert bool(tr["bimodal"]) and tr["bimodality_coefficient"] > 5 / 9
    assert not bool(t.at[("worst", "control"), "bimodal"])
    # identical values: no coefficient, no flag
    assert pd.isna(t.at[("flat", "control"), "bimodal"])


# ---------------------------------------------------------------------------- crisis
def _crisis_runs() -> pd.DataFrame:
    worst = [-6.0, -7.0, -1.0, np.nan, -5.5, -0.5, -0.4, -0.3, -8.0, -0.1]
    low = [-9.0, -9.0, -9.0, -9.0, 1.0, -9.0, -9.0, -9.0, -9.0, np.nan]
    return pd.DataFrame(
        {
            "setting": ["base"] * 8 + ["p x1.2"] * 2,
            "param": [""] * 8 + ["p"] * 2,
            "scale": [1.0] * 8 + [1.2] * 2,
            "value": [np.nan] * 8 + [3.0] * 2,
            "arm": ["treatment"] * 5 + ["control"] * 3 + ["treatment", "control"],
            "seed": [0, 1, 2, 3, 4, 0, 1, 2, 0, 0],
            f"{SM}.worst_5min_return_in_window_pct": worst,
            "intraday_low_pct": low,
        }
    )


def test_crisis_flags_need_every_condition_and_leave_unknowns_out():
    runs = _crisis_runs()
    crisis = {"worst_5min_return_in_window_pct": {"below": -5.0}}
    flags = crisis_flags(runs, crisis)
    assert flags.iloc[:5].tolist()[:3] == [True, True, False]
    assert pd.isna(flags.iloc[3])  # the metric is undefined: neither crisis nor calm
    both = {**crisis, "intraday_low_pct": {"below": -8.0, "above": -20.0}}
    flags = crisis_flags(runs, both)
    # run 4 falls 5.5% in five minutes but its low is +1%: one condition fails, no crisis
    assert flags.iloc[4] is False or not flags.iloc[4]
    # run 3: the first condition is unknown, the second holds: cannot tell
    assert pd.isna(flags.iloc[3])
    # run 9: the second is unknown but the first clearly fails: no crisis
    assert flags.iloc[9] is False or not flags.iloc[9]


def test_crisis_table_counts_per_setting_and_arm_with_wilson_intervals():
    crisis = {"worst_5min_return_in_window_pct": {"below": -5.0}}
    table = crisis_table(_crisis_runs(), crisis, ["treatment", "control"])
    assert list(table["setting"]) == ["base", "base", "p x1.2", "p x1.2"]
    t = table.set_index(["setting", "arm"])
    tr = t.loc[("base", "treatment")]
    assert (tr["n_runs"], tr["n_judged"], tr["n_crisis"]) == (5, 4, 3)
    assert tr["share"] == pytest.approx(0.75)
    # Wilson 95% for 3 of 4: centre (0.75 + 1.92/4) / (1 + 3.84/4)
    z = 1.959964
    centre = (0.75 + z * z / 8) / (1 + z * z / 4)
    half = z / (1 + z * z / 4) * np.sqrt(0.75 * 0.25 / 4 + z * z / 64)
    assert (tr["share_ci_lo"], tr["share_ci_hi"]) == pytest.approx((centre - half, centre + half))
    ctl = t.loc[("base", "control")]
    assert (ctl["n_crisis"], ctl["share"], ctl["share_ci_lo"]) == (0, 0.0, 0.0)
    assert t.at[("p x1.2", "treatment"), "n_crisis"] == 1
    assert t.at[("p x1.2", "treatment"), "param"] == "p"
    assert crisis_table(_crisis_runs(), {}, ["treatment"]).empty
    with pytest.raises(ValueError, match="'nosuch_pct', which is not among the collected"):
        crisis_table(_crisis_runs(), {"nosuch_pct": {"below": 0.0}}, ["treatment"])


def test_scenario_crisis_is_checked_and_typed():
    ok = ScenarioConfig(crisis={"pin.abs_distance_pct": {"below": 1}})
    assert ok.crisis == {"pin.abs_distance_pct": {"below": 1.0}}
    both = ScenarioConfig(crisis={"x_pct": {"above": -20, "below": -15.0}})
    assert both.crisis["x_pct"] == {"above": -20.0, "below": -15.0}
    bad = [
        ({"worst_day_pct": {"under": -15.0}}, r"unknown condition \['under'\]"),
        ({"worst_day_pct": {"below": -15.0, "above": -10.0}}, "above .* must be less than below"),
        ({"worst_day_pct": {"below": "low"}}, r"crisis\.worst_day_pct\.below must be a number"),
        ({"worst_day_pct": {"below": float("nan")}}, "must be a number"),
        ({"worst_day_pct": {"below": float("-inf")}}, "must be finite"),
        ({"worst_day_pct": {}}, "must be {below: x}, {above: x} or both"),
        ({"worst_day_pct": -15.0}, "must be {below: x}, {above: x} or both"),
        ({"worst day": {"below": -15.0}}, "must be a scenario metric's dotted name"),
    ]
    for crisis, match in bad:
        with pytest.raises(ConfigError, match=match):
            ScenarioConfig(crisis=crisis)
    # through the composed config, as a study or a run reads it
    with pytest.raises(ConfigError, match="unknown condition"):
        load_config("baseline", "++scenario.crisis={worst_day_pct:{less:-15.0}}")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_stress_scenario_defines_its_crisis(name):
    crisis = load_config(name).scenario.crisis
    assert crisis, f"{name} has no crisis definition"
    for cond in crisis.values():
        assert set(cond) <= {"below", "above"} and cond


# ---------------------------------------------------------------------------- a study dir
def _summary(seed: int, arm: str) -> dict:
    """A crash in seeds 0-9 of the treatment (worst five minutes near -6%, F -0.5% of it)."""
    crash = arm == "treatment" and seed < 10
    worst = -6.0 - 0.1 * (seed % 5) if crash else -0.3 - 0.05 * (seed % 5)
    return {
        SM: {
            "worst_5min_return_in_window_pct": worst,
            "n_halts": seed,
            "fundamental": {"worst_5min_return_in_window_pct": -0.5},
            "net_of_fundamental": {"worst_5min_return_in_window_pct": worst + 0.5},
        }
    }


def _study_dir(tmp_path: Path, arms: list[str], seeds: list[int]) -> Path:
    jobs = []
    for arm in arms:
        for seed in seeds:
            job = {
                "dir": f"main/{arm}/seed_{seed}",
                "setting": "base",
                "param": "",
                "scale": 1.0,
                "value": float("nan"),
                "arm": arm,
                "run_arm": arm,
                "seed": seed,
            }
            d = tmp_path / job["dir"]
            d.mkdir(parents=True)
            (d / STATUS_FILE).write_text(json.dumps({"status": "ok", "wall_seconds": 1.0}))
            (d / SUMMARY_FILE).write_text(json.dumps(_summary(seed, arm)))
            jobs.append(job)
    manifest = {
        "study": {
            "name": "t",
            "scenario": "flash_2010",
            "n_jobs": 1,
            "level": 0.95,
            # the study names only the crash metric's own leaf: F's part and the crisis metric
            # must be collected without being asked for
            "metrics": [f"{SM}.worst_5min_return_in_window_pct", f"{SM}.n_halts"],
            "key_metrics": [f"{SM}.n_halts"],
        },
        "arms": arms,
        "arm_overrides": {a: [] for a in arms},
        "common_overrides": ["scenario=flash_2010"],
        "seeds": seeds,
        "robustness_seeds": [],
        "robustness": [],
        "reference": {"worst_5min_return_in_window_pct": -5.0},
        "crisis": {"worst_5min_return_in_window_pct": {"below": -5.0}},
        "jobs": jobs,
    }
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    return tmp_path


def test_collected_study_reports_f_part_spread_and_crisis(tmp_path):
    # 20 seeds: with fewer than about ten the bimodality coefficient cannot flag even two clean
    # clusters (its small-sample correction), and a study's arms have at least 20
    d = _study_dir(tmp_path, ["treatment", "control"], list(range(20)))
    out = collect_study(d)
    key = f"{SM}.worst_5min_return_in_window_pct"
    table = pd.read_csv(d / "study_table.csv").set_index(["metric", "arm"])
    assert table.at[(key, "treatment"), "fundamental_mean"] == pytest.approx(-0.5)
    share = table.at[(key, "treatment"), "fundamental_share"]
    assert share == pytest.approx(
        -0.5 / out["study_table"].set_index(["metric", "arm"]).at[(key, "treatment"), "mean"]
    )
    assert bool(table.at[(key, "treatment"), "bimodal"])
    assert not bool(table.at[(key, "control"), "bimodal"])
    crisis = pd.read_csv(d / "crisis.csv").set_index("arm")
    assert (crisis.at["treatment", "n_crisis"], crisis.at["treatment", "n_judged"]) == (10, 20)
    assert crisis.at["control", "n_crisis"] == 0
    runs = pd.read_parquet(d / "study_runs.parquet")
    assert runs["crisis"].sum() == 10
    text = (d / "study.md").read_text()
    assert "## How often the crisis happens" in text
    assert f"`{'worst_5min_return_in_window_pct'}` < -5" in text
    assert "| treatment | 10/20 |" in text and "| control | 0/20 |" in text
    assert "## Spread over seeds" in text and "**bimodal**" in text
    assert "## F's part" in text
    # the crisis metric is shown although the study names no key metric with it
    assert "| scenario_metrics.worst_5min_return_in_window_pct | -" in text
    assert (d / "study.png").stat().st_size > 0
