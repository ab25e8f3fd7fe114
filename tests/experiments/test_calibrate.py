"""The calibration tool: the distance, the plausible ranges, the Optuna loop and its resume, the
outputs, and (end to end) a tiny calibration whose best config re-runs to the same metrics."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments import load_config, simulate
from experiments.calibrate.config import (
    CALIBRATE_CONF_DIR,
    CalibrationConfig,
    MetricTarget,
    SearchParam,
    load_calibration,
)
from experiments.calibrate.launch import TrialResult, batch_command, run_dir
from experiments.calibrate.objective import (
    Target,
    distance,
    mean_over_seeds,
    metric_rows,
    resolve_targets,
)
from experiments.calibrate.outputs import calibrated_yaml
from experiments.calibrate.pipeline import composed_for, plan, run_calibration
from experiments.calibrate.space import field_spec, search_range
from market.validation import ConfigError

REPO = Path(__file__).resolve().parents[2]

#: a small market at one-minute steps: a run takes a few seconds
TINY = [
    "agents.background.n=60",
    "agents.customers.n=4",
    "agents.liquidity.n=4",
    "market.step_seconds=60",
    "market.record_interval=60",
]


# ---------------------------------------------------------------------------- the distance


def test_distance_squared_and_absolute_exact():
    targets = [Target("a", 1.0, 2.0, 1.0, 2.0), Target("b", -5.0, 0.5, 3.0, 0.5)]
    means = {"a": 4.0, "b": -4.0}
    # a: ((4-1)/2)^2 = 2.25; b: 3 * ((-4+5)/0.5)^2 = 12
    assert distance(means, targets) == pytest.approx(14.25, abs=1e-12)
    # a: 1.5; b: 3 * 2 = 6
    assert distance(means, targets, "absolute") == pytest.approx(7.5, abs=1e-12)
    assert distance({"a": 1.0, "b": -5.0}, targets) == 0.0


def test_distance_is_nan_when_a_metric_is_missing_or_nan():
    targets = [Target("a", 1.0, 1.0, 1.0, 1.0), Target("b", 0.0, 1.0, 1.0, 1.0)]
    assert math.isnan(distance({"a": 1.0}, targets))
    assert math.isnan(distance({"a": 1.0, "b": math.nan}, targets))
    with pytest.raises(ConfigError, match=r"calibrate\.form"):
        distance({"a": 1.0, "b": 0.0}, targets, "cubic")


def test_mean_over_seeds_skips_nan_seeds_but_not_all_nan():
    per_seed = [{"a": 1.0, "b": math.nan}, {"a": 3.0, "b": math.nan}, {"a": math.nan}]
    means = mean_over_seeds(per_seed, ["a", "b"])
    assert means["a"] == 2.0
    assert math.isnan(means["b"])


def test_metric_rows_state_ratio_gap_and_misses():
    targets = [Target("a", -5.0, 1.0, 1.0, 0.5), Target("b", 0.0, 1.0, 1.0, 1.0)]
    rows = {r["metric"]: r for r in metric_rows({"a": -4.0, "b": 0.5}, targets)}
    assert rows["a"]["ratio"] == pytest.approx(0.8)
    assert rows["a"]["gap"] == pytest.approx(1.0)
    assert rows["a"]["miss"]  # 1.0 beyond the tolerance 0.5
    assert not rows["b"]["miss"]
    assert math.isnan(rows["b"]["ratio"])  # a zero reference has no ratio
    assert metric_rows({}, targets)[0]["miss"]  # no number is a miss


def test_targets_take_the_scenario_reference_unless_given_and_tolerance_defaults_to_scale():
    cal = CalibrationConfig(
        scenario="x",
        parameters={"market.fundamental_vol": SearchParam()},
        metrics={"m": MetricTarget(scale=2.0), "n": MetricTarget(reference=1.0, tolerance=0.1)},
    )
    m, n = resolve_targets(cal, {"m": -3.0, "n": 9.0})
    assert (m.reference, m.tolerance) == (-3.0, 2.0)
    assert (n.reference, n.tolerance) == (1.0, 0.1)
    with pytest.raises(ConfigError, match=r"calibrate.metrics.m: no reference figure"):
        resolve_targets(cal, {"n": 9.0})


# ---------------------------------------------------------------------------- plausible ranges


def test_field_specs_are_found_for_config_fields_and_event_kinds():
    cfg = composed_for(_tiny_cal("/unused", scenario="flash_2010", overrides=[]))
    assert field_spec("agents.insurers.wealth_fraction").plausible == (0.01, 0.05)
    assert field_spec("scenario.events.program.participation", cfg).plausible == (0.01, 0.25)
    assert field_spec("scenario.events.shock_d0_1000.size", cfg).plausible == (-0.1, 0.1)
    with pytest.raises(ConfigError, match=r"agents\.insurers\.nosuch is not a declared config"):
        field_spec("agents.insurers.nosuch")


def test_search_range_defaults_to_and_must_stay_inside_the_plausible_range():
    spec = field_spec("agents.insurers.wealth_fraction")
    assert search_range("w", SearchParam(), spec) == (0.01, 0.05)
    assert search_range("w", SearchParam(high=0.04), spec) == (0.01, 0.04)
    # insurers at 30% of the market: the implausible fit, refused with both ranges
    with pytest.raises(ConfigError) as err:
        search_range("agents.insurers.wealth_fraction", SearchParam(high=0.3), spec)
    assert str(err.value) == (
        "calibrate.parameters: agents.insurers.wealth_fraction searched over [0.01, 0.3] "
        "leaves its plausible range [0.01, 0.05] (allowed (0.0, 100.0])"
    )
    with pytest.raises(ConfigError, match="is empty"):
        search_range("w", SearchParam(low=0.03, high=0.02), spec)
    no_plausible = field_spec("market.rules.cb_halt_seconds")
    with pytest.raises(ConfigError, match="cb_halt_seconds declares no plausible range"):
        search_range("market.rules.cb_halt_seconds", SearchParam(), no_plausible)


def _never_run(cal, jobs):
    raise AssertionError("no run may start")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # F falling 20% on the crash day in one piece of news
        (
            {"scenario.events.shock_d3_0930.size": SearchParam(low=-0.2, high=-0.02)},
            r"shock_d3_0930.size searched over \[-0.2, -0.02\] leaves its plausible range "
            r"\[-0.1, 0.1\] \(allowed \[-2.0, 2.0\]\)",
        ),
        (
            {"agents.insurers.wealth_fraction": SearchParam(low=0.01, high=0.3)},
            r"wealth_fraction searched over \[0.01, 0.3\] leaves its plausible range",
        ),
        # inside the plausible range but against a cross-field rule (reentry_vol is 1.0 there)
        (
            {"agents.liquidity.withdraw_vol": SearchParam(low=0.5, high=2.0)},
            r"at their low ends: agents.liquidity.reentry_vol must be in",
        ),
        ({"agents.nosuch.x": SearchParam()}, r"agents.nosuch.x is not a key"),
        # each shock plausible alone, but day 2 could then carry 0.2 of news
        (
            {
                f"scenario.events.shock_d2_{t}.size": SearchParam(low=-0.08, high=-0.01)
                for t in ("1030", "1230")
            },
            r"day 2's fundamental shocks could add up to 0.17 of news \(shock_d2_1030 0.08, "
            r"shock_d2_1230 0.08, shock_d2_1430 0.01\), more than the plausible 0.12",
        ),
    ],
)
def test_an_implausible_search_is_refused_before_any_run(tmp_path, params, message):
    cal = _tiny_cal(tmp_path, scenario="crash_1987", overrides=[])
    cal.parameters = params
    with pytest.raises(ConfigError, match=message):
        run_calibration(cal, run_batch=_never_run)
    assert not (tmp_path / "optuna.journal").exists()


def test_calibration_config_refuses_overrides_it_sets_itself():
    with pytest.raises(ConfigError, match="set by the calibration"):
        load_calibration("flash_2010", ["overrides=[seed=3]"])
    with pytest.raises(ConfigError, match="also a searched parameter"):
        load_calibration("flash_2010", ["overrides=[agents.liquidity.dump_target=0.2]"])
    with pytest.raises(ConfigError, match=r"calibrate\.seeds must be in"):
        load_calibration("flash_2010", ["seeds=0"])


@pytest.mark.parametrize("name", sorted(p.stem for p in CALIBRATE_CONF_DIR.glob("*.yaml")))
def test_every_calibration_config_plans(name):
    cal = load_calibration(name)
    planned = plan(cal)
    assert set(planned["distributions"]) == set(cal.parameters)
    assert [t.name for t in planned["targets"]] == list(cal.metrics)


# ---------------------------------------------------------------------------- the loop


def _tiny_cal(out, **kw) -> CalibrationConfig:
    fields = {
        "name": "tiny",
        "scenario": "baseline",
        "parameters": {
            "market.fundamental_vol": SearchParam(low=0.05, high=0.3),
            "agents.liquidity.inventory_limit": SearchParam(type="int", low=500, high=5000),
        },
        "metrics": {
            "return_pct": MetricTarget(reference=0.0, scale=1.0),
            "worst_5min_return_pct": MetricTarget(reference=-0.3, scale=0.2, weight=2.0),
        },
        "seeds": 1,
        "n_trials": 3,
        "batch": 2,
        "n_startup_trials": 2,
        "overrides": TINY,
        "dir": str(out),
    }
    fields.update(kw)
    return CalibrationConfig(**fields)


class FakeRuns:
    """Stands in for the launcher: metrics are a fixed function of the trial's overrides, so the
    loop is tested without simulating. Counts the trials it runs; fails on demand."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.ran: list[int] = []
        self.fail_after = fail_after

    def __call__(self, cal, jobs):
        if self.fail_after is not None and len(self.ran) >= self.fail_after:
            raise RuntimeError("interrupted")
        out = []
        for job in jobs:
            self.ran.append(job.number)
            values = dict(item.split("=") for item in job.overrides)
            vol = float(values["market.fundamental_vol"])
            inv = int(values["agents.liquidity.inventory_limit"])
            metrics = {"return_pct": 10 * (vol - 0.1), "worst_5min_return_pct": -inv / 1e4}
            out.append(TrialResult(job.number, dict.fromkeys(range(cal.seeds), metrics)))
        return out


def _trials(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "trials.csv")


def test_loop_runs_n_trials_in_batches_and_scores_the_fake_metrics(tmp_path):
    runs = FakeRuns()
    run_calibration(_tiny_cal(tmp_path), run_batch=runs)
    assert runs.ran == [0, 1, 2]
    table = _trials(tmp_path)
    assert list(table["state"]) == ["complete"] * 3
    row = table.iloc[0]
    vol, inv = row["param.market.fundamental_vol"], row["param.agents.liquidity.inventory_limit"]
    expected = (10 * (vol - 0.1)) ** 2 + 2 * ((-inv / 1e4 + 0.3) / 0.2) ** 2
    assert row["distance"] == pytest.approx(expected, rel=1e-9)
    assert table["param.market.fundamental_vol"].min() >= 0.05
    assert table["param.market.fundamental_vol"].max() <= 0.3


def test_loop_resumes_without_rerunning_and_extends_to_more_trials(tmp_path):
    run_calibration(_tiny_cal(tmp_path), run_batch=FakeRuns())
    again = FakeRuns()
    run_calibration(_tiny_cal(tmp_path), run_batch=again)
    assert again.ran == []
    more = FakeRuns()
    run_calibration(_tiny_cal(tmp_path, n_trials=5), run_batch=more)
    assert more.ran == [3, 4]
    assert len(_trials(tmp_path)) == 5


def test_an_interrupted_calibration_resumes_to_the_same_trials_as_an_uninterrupted_one(tmp_path):
    straight = tmp_path / "straight"
    run_calibration(_tiny_cal(straight, n_trials=4), run_batch=FakeRuns())
    broken = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="interrupted"):
        run_calibration(_tiny_cal(broken, n_trials=4), run_batch=FakeRuns(fail_after=2))
    assert list(_trials(broken)["state"]) == ["complete", "complete"]
    resumed = FakeRuns()
    run_calibration(_tiny_cal(broken, n_trials=4), run_batch=resumed)
    assert resumed.ran == [2, 3]  # the trials asked before the interruption, run now
    cols = ["param.market.fundamental_vol", "param.agents.liquidity.inventory_limit", "distance"]
    pd.testing.assert_frame_equal(_trials(broken)[cols], _trials(straight)[cols])


def test_a_dir_of_another_setup_is_refused(tmp_path):
    run_calibration(_tiny_cal(tmp_path), run_batch=FakeRuns())
    with pytest.raises(ConfigError, match="holds calibration 'tiny' of another setup"):
        run_calibration(_tiny_cal(tmp_path, seeds=2), run_batch=FakeRuns())


def test_a_trial_with_a_failed_seed_fails_and_is_never_best(tmp_path):
    def half_failing(cal, jobs):
        out = FakeRuns()(cal, jobs)
        out[0].errors[0] = "failed: boom"
        return out

    run_calibration(_tiny_cal(tmp_path, n_trials=2), run_batch=half_failing)
    table = _trials(tmp_path)
    assert list(table["state"]) == ["fail", "complete"]
    assert "seed 0: failed: boom" in table.loc[0, "errors"]
    assert "## Best: trial 1" in (tmp_path / "calibration.md").read_text()


def test_outputs_state_misses_and_the_usable_config(tmp_path):
    run_calibration(_tiny_cal(tmp_path), run_batch=FakeRuns())
    md = (tmp_path / "calibration.md").read_text()
    assert "Remaining misses" in md or "No remaining misses" in md
    assert "+calibrated=tiny" in md
    assert f"hydra.searchpath=[file://{tmp_path}]" in md
    best = (tmp_path / "calibrated" / "tiny.yaml").read_text()
    assert best.startswith("# @package _global_\n")
    lines = (tmp_path / "best_overrides.txt").read_text().split()
    assert lines[: len(TINY)] == TINY
    assert any(x.startswith("agents.liquidity.inventory_limit=") for x in lines)


def test_calibrated_yaml_nests_the_dotted_keys():
    text = calibrated_yaml({"agents.liquidity.dump_target": 0.25, "scenario.events.p.qty": 7})
    assert text == (
        "# @package _global_\nagents:\n  liquidity:\n    dump_target: 0.25\n"
        "scenario:\n  events:\n    p:\n      qty: 7\n"
    )


def test_batch_command_runs_the_trial_arms_over_the_seeds_through_the_launcher(tmp_path):
    from experiments.calibrate.launch import TrialJob

    cal = _tiny_cal(tmp_path, seeds=3, first_seed=4, n_jobs=2)
    cmd = batch_command(cal, [TrialJob(0, ["a.b=1"]), TrialJob(1, ["a.b=2"])])
    assert cmd[1:4] == ["-m", "experiments.run", "-m"]
    assert "hydra/launcher=joblib" in cmd
    assert "hydra.launcher.n_jobs=2" in cmd
    assert "++scenario.arms.trial_0001=['a.b=2']" in cmd
    assert cmd[-2:] == ["arm=trial_0000,trial_0001", "seed=range(4,7)"]
    slurm = batch_command(_tiny_cal(tmp_path, launcher=["hydra/launcher=submitit_slurm"]), [])
    assert not any(c.startswith("hydra.launcher.n_jobs") for c in slurm)


# ---------------------------------------------------------------------------- end to end


def test_tiny_calibration_end_to_end_resumes_and_its_best_config_reruns(tmp_path):
    # the basic launcher runs both trials in the one child process: no worker start-up
    cal = _tiny_cal(tmp_path, n_trials=2, launcher=["hydra/launcher=basic"])
    run_calibration(cal)
    for name in ("trials.csv", "calibration.md", "calibrated/tiny.yaml", "best_overrides.txt"):
        assert (tmp_path / name).exists(), name
    table = _trials(tmp_path)
    assert list(table["state"]) == ["complete", "complete"]
    summaries = sorted((tmp_path / "runs").glob("trial_*/seed_*/summary.json"))
    stamps = {p: p.stat().st_mtime_ns for p in summaries}
    assert len(stamps) == 2
    run_calibration(cal)  # resumes: nothing left to run, no run redone
    assert {p: p.stat().st_mtime_ns for p in summaries} == stamps
    assert len(_trials(tmp_path)) == 2

    best = table.loc[table["distance"].idxmin()]
    lines = (tmp_path / "best_overrides.txt").read_text().split()
    rerun = simulate(load_config("baseline", *lines, "seed=0"))["scenario_metrics"]
    recorded = json.loads(
        (run_dir(tmp_path, f"trial_{int(best['trial']):04d}", 0) / "summary.json").read_text()
    )["scenario_metrics"]
    for metric in ("return_pct", "worst_5min_return_pct"):
        assert rerun[metric] == recorded[metric]
        assert rerun[metric] == pytest.approx(best[f"metric.{metric}"], abs=1e-12)


@pytest.mark.slow
def test_cli_best_config_reruns_through_the_calibrated_group(tmp_path):
    cal = tmp_path / "tiny.yaml"
    cal.write_text(
        "scenario: baseline\nparameters:\n  market.fundamental_vol: {low: 0.05, high: 0.3}\n"
        "metrics:\n  return_pct: {reference: 0.0, scale: 1.0}\nseeds: 1\nn_trials: 1\n"
        f"overrides: [{', '.join(TINY)}]\ndir: {tmp_path / 'out'}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "experiments.calibrate", str(cal)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rerun = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.run",
            "scenario=baseline",
            "+calibrated=tiny",
            f"hydra.searchpath=[file://{tmp_path / 'out'}]",
            f"hydra.run.dir={tmp_path / 'rerun'}",
            "progress=false",
            *TINY,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    got = json.loads((tmp_path / "rerun" / "summary.json").read_text())["scenario_metrics"]
    table = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert got["return_pct"] == pytest.approx(table.loc[0, "metric.return_pct"], abs=1e-12)
