"""Studies and sweeps: tables, the resumable job guard, collection, the CLI."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict
from scipy import stats

from experiments.config import ConfigError
from experiments.study.collect import collect_sweep, flatten_numeric, read_job, select_metrics
from experiments.study.config import STUDY_CONF_DIR, StudyConfig, load_study
from experiments.study.figures import sweep_figure
from experiments.study.jobs import (
    ERROR_FILE,
    PROGRESS_FILE,
    STATUS_FILE,
    STDOUT_FILE,
    SUMMARY_FILE,
    append_progress,
    is_finished,
    job_fingerprint,
    read_status,
    sweep_job,
)
from experiments.study.plan import multirun_commands, plan_study
from experiments.study.progress import CollectSweep, SweepProgress, count_sweep_jobs
from experiments.study.tables import arm_table, robustness_table

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- summary leaves
def test_flatten_numeric_keeps_numbers_only():
    tree = {
        "a": 1,
        "b": {"c": 2.5, "d": True, "e": None, "f": "text", "g": [1, 2]},
        "h": np.float64(3.0),
    }
    flat = flatten_numeric(tree)
    assert flat.keys() == {"a", "b.c", "b.d", "b.e", "h"}
    assert flat["b.c"] == 2.5 and flat["b.d"] == 1.0 and math.isnan(flat["b.e"])


def test_select_metrics_by_prefix_and_leaf():
    summary = {
        "price": {"max_drawdown_pct": 1.5, "open": 100.0},
        "n_trades": 7,
        "scenario_metrics": {"depth": {"pct": -3.0}},
    }
    assert select_metrics(summary, ["scenario_metrics"]) == {"scenario_metrics.depth.pct": -3.0}
    assert select_metrics(summary, ["price.open", "n_trades", "nosuch"]) == {
        "price.open": 100.0,
        "n_trades": 7.0,
    }
    assert len(select_metrics(summary, None)) == 4


# ---------------------------------------------------------------------------- study tables
def _runs() -> pd.DataFrame:
    rows = []
    for seed, (t, c) in enumerate([(2.0, 1.0), (3.0, 1.0), (4.0, 2.0), (5.0, 2.0)]):
        rows.append({"arm": "treatment", "seed": seed, "m": t, "k": float(seed)})
        rows.append(
            {"arm": "off", "seed": seed, "m": c, "k": np.nan if seed == 3 else float(seed) + 1.0}
        )
    return pd.DataFrame(rows)


def test_arm_table_hand_example():
    table = arm_table(_runs(), ["m", "k"], ["treatment", "off"], {"m": 4.0, "x.k": -1.0})
    assert list(table["metric"]) == ["m", "m", "k", "k"]
    t = table.set_index(["metric", "arm"])
    assert t.at[("m", "treatment"), "mean"] == pytest.approx(3.5)
    assert t.at[("m", "off"), "mean"] == pytest.approx(1.5)
    # differences 1, 2, 2, 3: mean 2, sd sqrt(2/3), t(0.975, 3) = 3.182446
    half = 3.182446 * math.sqrt(2 / 3) / 2
    assert t.at[("m", "off"), "diff_mean"] == pytest.approx(2.0)
    assert t.at[("m", "off"), "diff_ci_lo"] == pytest.approx(2.0 - half, abs=1e-5)
    assert t.at[("m", "off"), "p_paired"] == pytest.approx(
        stats.ttest_rel([2, 3, 4, 5], [1, 1, 2, 2]).pvalue
    )
    assert t.at[("m", "off"), "p_welch"] == pytest.approx(
        stats.ttest_ind([2, 3, 4, 5], [1, 1, 2, 2], equal_var=False).pvalue
    )
    assert np.isnan(t.at[("m", "treatment"), "diff_mean"])
    # the run without a value is left out of the control's n and of the pairs
    assert t.at[("k", "off"), "n"] == 3 and t.at[("k", "off"), "n_pairs"] == 3
    assert t.at[("k", "off"), "diff_mean"] == pytest.approx(-1.0)
    # reference: by full name, or without the first part of the name ("x.k" does not match "k")
    assert t.at[("m", "treatment"), "ratio_to_reference"] == pytest.approx(3.5 / 4.0)
    assert bool(t.at[("m", "off"), "same_sign_as_reference"])
    assert np.isnan(t.at[("k", "treatment"), "reference"])
    assert pd.isna(t.at[("k", "treatment"), "same_sign_as_reference"])


def test_arm_table_refuses_duplicates_and_unknown_metrics():
    runs = pd.concat([_runs(), _runs().iloc[:1]])
    with pytest.raises(ValueError, match="more than one run for seeds"):
        arm_table(runs, ["m"], ["treatment", "off"])
    with pytest.raises(ValueError, match="not columns of runs"):
        arm_table(_runs(), ["nosuch"], ["treatment", "off"])


def test_robustness_table_effect_holds():
    rng = np.random.default_rng(0)
    rows = []
    # base: +2 effect on m (significant), no effect on z; "up": +1.5; "down": -1
    for setting, effect in (("base", 2.0), ("p x1.2", 1.5), ("p x0.8", -1.0)):
        for seed in range(6):
            noise = rng.normal(0, 0.1)
            common = {
                "setting": setting,
                "param": "" if setting == "base" else "p",
                "scale": 1.0,
                "value": np.nan,
                "seed": seed,
            }
            z = rng.normal(0, 1.0)
            rows.append({**common, "arm": "treatment", "m": 10 + effect + noise, "z": z})
            rows.append({**common, "arm": "off", "m": 10.0, "z": z + rng.normal(0, 1.0)})
    table = robustness_table(pd.DataFrame(rows), ["m", "z"], ["treatment", "off"])
    m = table[table["metric"] == "m"].set_index("setting")
    assert list(m.index) == ["base", "p x1.2", "p x0.8"]
    assert m.at["p x1.2", "effect_holds"] and not m.at["p x0.8", "effect_holds"]
    assert m.at["p x0.8", "base_diff_mean"] == pytest.approx(m.at["base", "diff_mean"])
    z = table[table["metric"] == "z"]
    assert z["effect_holds"].isna().all()  # no significant base effect: nothing to hold


# ---------------------------------------------------------------------------- job dirs
def _job(
    root: Path,
    name: str,
    overrides: list[str],
    status: dict | None = None,
    summary: dict | None = None,
    error: str | None = None,
) -> Path:
    d = root / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)))
    if status is not None:
        (d / STATUS_FILE).write_text(json.dumps(status))
    if summary is not None:
        (d / SUMMARY_FILE).write_text(json.dumps(summary))
    if error is not None:
        (d / ERROR_FILE).write_text(error)
    return d


def test_collector_lists_failed_and_incomplete_jobs(tmp_path):
    summary = {
        "scenario": "baseline",
        "seed": 0,
        "price": {"max_drawdown_pct": 1.5},
        "halts": [{"time": 1.0}],
        "n_trades": 10,
    }
    _job(tmp_path, "x=1,seed=0", ["x=1", "seed=0"], {"status": "ok", "wall_seconds": 2.0}, summary)
    _job(
        tmp_path,
        "x=2,seed=0",
        ["x=2", "seed=0"],
        {"status": "failed", "error": "ConfigError: x must be in [0, 1], got 2"},
        error="Traceback ...\nConfigError: x must be in [0, 1], got 2\n",
    )
    _job(tmp_path, "x=3,seed=0", ["x=3", "seed=0"])  # started, never finished
    spec = {"x": "x", "y": "seed", "metric": "price.max_drawdown_pct"}
    table = collect_sweep(tmp_path, [spec])
    t = table.set_index("x")
    assert list(t["status"]) == ["ok", "failed", "incomplete"]
    assert t.at[2, "error"].startswith("ConfigError: x must be in")
    assert t.at[1, "price.max_drawdown_pct"] == 1.5 and np.isnan(t.at[2, "price.max_drawdown_pct"])
    assert "halts" not in table.columns and "scenario" not in table.columns
    assert table["x"].dtype.kind == "i"
    back = pd.read_parquet(tmp_path / "sweep_table.parquet")
    assert list(back["status"]) == ["ok", "failed", "incomplete"]
    assert (tmp_path / "sweep_table.csv").exists()
    assert list((tmp_path / "figures").glob("*.png"))


def test_failed_job_without_error_in_status_reads_error_file(tmp_path):
    d = _job(tmp_path, "a", ["x=1"], {"status": "failed"}, error="Traceback\nRuntimeError: boom\n")
    assert read_job(d)["error"] == "RuntimeError: boom"
    assert read_job(tmp_path / "nosuch")["status"] == "missing"


def test_is_finished(tmp_path):
    ok = _job(tmp_path, "ok", ["x=1"], {"status": "ok", "fingerprint": "f1"}, {"a": 1})
    assert is_finished(ok, "f1")
    assert not is_finished(ok, "f2")
    failed = _job(tmp_path, "failed", ["x=1"], {"status": "failed", "fingerprint": "f1"}, {"a": 1})
    assert not is_finished(failed, "f1")
    no_summary = _job(tmp_path, "nosummary", ["x=1"], {"status": "ok", "fingerprint": "f1"})
    assert not is_finished(no_summary, "f1")
    (no_summary / SUMMARY_FILE).write_text("{not json")
    assert not is_finished(no_summary, "f1")
    assert not is_finished(tmp_path / "nosuch", "f1")


def test_sweep_figure_means_over_seeds(tmp_path):
    rows = [
        {"status": "ok", "a": a, "b": b, "seed": s, "m": a * 10 + b + s}
        for a in (1, 2)
        for b in (0.5, 1.5)
        for s in (0, 2)
    ]
    rows.append({"status": "failed", "a": 1, "b": 0.5, "seed": 9, "m": 1000.0})
    fig = sweep_figure(pd.DataFrame(rows), "a", "b", "m")
    values = fig.axes[0].images[0].get_array()
    # rows are b (0.5, 1.5), columns a (1, 2); the mean over seeds 0 and 2 adds 1
    np.testing.assert_allclose(values, [[11.5, 21.5], [12.5, 22.5]])
    with pytest.raises(ValueError, match="metric='nosuch' is not a column"):
        sweep_figure(pd.DataFrame(rows), "a", "b", "nosuch")
    with pytest.raises(ValueError, match="x and y must differ"):
        sweep_figure(pd.DataFrame(rows), "a", "a", "m")


def test_figure_specs_need_x_y_metric():
    with pytest.raises(ValueError, match=r"figures\[0\] must have exactly the keys"):
        CollectSweep(figures=[{"x": "a", "metric": "m"}])


# ---------------------------------------------------------------------------- the job guard
@pytest.fixture
def multirun_job(tmp_path):
    """A fake Hydra multirun job context: (task cfg, job dir); HydraConfig reset afterwards."""

    def make(seed: int = 0, mode: RunMode = RunMode.MULTIRUN):
        cfg = OmegaConf.create({"seed": seed, "progress": True, "arm": "treatment"})
        with open_dict(cfg):
            cfg.hydra = OmegaConf.structured(HydraConf)
        job = tmp_path / f"seed={seed}"
        job.mkdir(exist_ok=True)
        cfg.hydra.mode = mode
        cfg.hydra.runtime.output_dir = str(job)
        cfg.hydra.sweep.dir = str(tmp_path)
        cfg.hydra.overrides.task = [f"seed={seed}"]
        cfg.hydra.job.num = seed
        HydraConfig.instance().set_config(cfg)
        task_cfg = OmegaConf.create({"seed": seed, "progress": True, "arm": "treatment"})
        return task_cfg, job

    yield make
    HydraConfig.instance().cfg = None


def _progress(tmp_path) -> list[dict]:
    lines = (tmp_path / PROGRESS_FILE).read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_sweep_job_skips_a_finished_job(multirun_job, tmp_path):
    calls = []

    def task(cfg):
        calls.append(cfg.progress)
        out = Path(HydraConfig.get().runtime.output_dir)
        (out / SUMMARY_FILE).write_text(json.dumps({"price": {"max_drawdown_pct": 1.5}}))
        print("printed by the task")
        return 1.5

    cfg, job = multirun_job(seed=0)
    assert sweep_job(cfg, task) == 1.5
    assert calls == [False]  # the progress bar is off in sweep jobs
    assert (job / STDOUT_FILE).read_text().strip() == "printed by the task"
    mtime = (job / SUMMARY_FILE).stat().st_mtime_ns
    cfg, job = multirun_job(seed=0)
    assert sweep_job(cfg, task) == 1.5
    assert len(calls) == 1 and (job / SUMMARY_FILE).stat().st_mtime_ns == mtime
    cfg, _ = multirun_job(seed=1)  # another config: runs
    sweep_job(cfg, task)
    assert len(calls) == 2
    assert [r["status"] for r in _progress(tmp_path)] == ["ok", "skipped", "ok"]
    assert read_status(job)["overrides"] == ["seed=0"]


def test_sweep_job_records_a_failure_instead_of_raising(multirun_job, tmp_path):
    def boom(cfg):
        raise RuntimeError("boom at step 7")

    cfg, job = multirun_job(seed=0)
    assert math.isnan(sweep_job(cfg, boom))
    status = read_status(job)
    assert status["status"] == "failed" and status["error"] == "RuntimeError: boom at step 7"
    assert "Traceback" in (job / ERROR_FILE).read_text()

    def bad_config(cfg):  # the way experiments.run refuses a configuration
        try:
            raise ValueError("market.tick_size must be in (0, 10], got -1")
        except ValueError:
            sys.exit(2)

    cfg, job = multirun_job(seed=1)
    assert math.isnan(sweep_job(cfg, bad_config))
    assert read_status(job)["error"] == "ValueError: market.tick_size must be in (0, 10], got -1"
    assert [r["status"] for r in _progress(tmp_path)] == ["failed", "failed"]


def test_a_failed_job_reruns_and_a_single_run_raises(multirun_job):
    cfg, job = multirun_job(seed=0)
    sweep_job(cfg, lambda c: 1 / 0)
    cfg, job = multirun_job(seed=0)

    def ok(c):
        (job / SUMMARY_FILE).write_text("{}")
        return 2.0

    assert sweep_job(cfg, ok) == 2.0
    assert not (job / ERROR_FILE).exists() and read_status(job)["status"] == "ok"
    cfg, _ = multirun_job(seed=0, mode=RunMode.RUN)
    with pytest.raises(ZeroDivisionError):
        sweep_job(cfg, lambda c: 1 / 0)


def test_fingerprint_ignores_arm_table_and_progress():
    base = {
        "seed": 1,
        "progress": True,
        "arm": "treatment",
        "x": 1,
        "scenario": {"name": "s", "arms": {"off": ["x=2"]}},
    }
    f = job_fingerprint(OmegaConf.create(base))
    more_arms = {
        **base,
        "progress": False,
        "scenario": {"name": "s", "arms": {"off": ["x=2"], "new": ["x=3"]}},
    }
    assert job_fingerprint(OmegaConf.create(more_arms)) == f
    assert job_fingerprint(OmegaConf.create({**base, "seed": 2})) != f
    # the control arm's effective config (x=2) is what counts
    off = job_fingerprint(OmegaConf.create({**base, "arm": "off"}))
    assert off != f and off == job_fingerprint(
        OmegaConf.create({**base, "arm": "off", "progress": False})
    )


# ---------------------------------------------------------------------------- progress
def _sweep_config(tmp_path):
    return OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(tmp_path)},
                "sweeper": {
                    "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                    "params": {"a": "1,2,3", "seed": "range(4)"},
                },
                "overrides": {"task": ["seed=range(2)", "b=x", "c=0.1,0.2"]},
            }
        }
    )


def test_count_sweep_jobs(tmp_path):
    cfg = _sweep_config(tmp_path)
    assert count_sweep_jobs(cfg) == 3 * 2 * 1 * 2  # the command line's seed range wins
    cfg.hydra.sweeper._target_ = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    assert count_sweep_jobs(cfg) is None


def test_progress_prints_done_over_total_and_pickles(tmp_path):
    cb = SweepProgress(poll_seconds=0.05)
    out = io.StringIO()
    with redirect_stdout(out):
        cb.on_multirun_start(_sweep_config(tmp_path))
        pickle.loads(pickle.dumps(cb))  # Hydra ships callbacks to the joblib workers
        append_progress(tmp_path, {"job": "a=1", "status": "ok", "wall_seconds": 1.0})
        append_progress(tmp_path, {"job": "a=2", "status": "failed", "error": "E: x"})
        time.sleep(0.2)
        append_progress(tmp_path, {"job": "a=3", "status": "skipped"})
        cb.on_multirun_end(_sweep_config(tmp_path))
    text = out.getvalue()
    assert "[   1/12" in text and "[   2/12" in text and "[   3/12" in text
    assert "3 jobs in" in text and "1 ok, 1 failed, 1 skipped" in text
    assert str(tmp_path / "a=2" / ERROR_FILE) in text


# ---------------------------------------------------------------------------- studies
def test_study_config_validation():
    with pytest.raises(ConfigError, match=r"study.seeds must be in \[2"):
        load_study("baseline", ["seeds=1"])
    with pytest.raises(ConfigError, match="robustness_scales\\[0\\] must differ from 1"):
        load_study("baseline", ["robustness_scales=[1.0]"])
    with pytest.raises(ConfigError, match="nosuch"):
        load_study("baseline", ["nosuch=3"])
    with pytest.raises(ConfigError, match=r"no conf/study/nosuch\.yaml"):
        load_study("nosuch")
    with pytest.raises(ConfigError, match="must start with 'treatment'"):
        load_study(None, ["arms=[off,treatment]"])
    study = load_study("baseline", ["seeds=4", "first_seed=10"])
    assert study.name == "baseline" and study.seeds == 4 and study.first_seed == 10


def test_plan_study_lays_out_arms_seeds_and_robustness():
    study = load_study(
        "baseline", ["seeds=3", "robustness_seeds=2", "robustness=[agents.dealers.band_shares]"]
    )
    plan = plan_study(study)
    assert plan["arms"] == ["treatment", "no_dealer_hedging"]
    assert plan["arm_overrides"]["no_dealer_hedging"] == ["agents.dealers.hedge=false"]
    robust = {(r["arm"], r["scale"]): r for r in plan["robustness"]}
    assert robust[("treatment", 0.8)]["value"] == pytest.approx(1600.0)
    assert robust[("no_dealer_hedging", 1.2)]["overrides"] == [
        "agents.dealers.band_shares=2400.0",
        "agents.dealers.hedge=false",
    ]
    assert len(plan["jobs"]) == 2 * 3 + 2 * 2 * 2
    assert {j["dir"] for j in plan["jobs"]} >= {
        "main/treatment/seed_2",
        "robustness/treatment__agents-dealers-band_shares_x0-8/seed_1",
    }
    cmds = dict(multirun_commands(plan, Path("/tmp/s")))
    assert "seed=range(0,3)" in cmds["main"] and "seed=range(0,2)" in cmds["robustness"]


def test_plan_study_refuses_a_scale_outside_the_range():
    study = load_study(
        "baseline", ["robustness=[agents.insurers.cppi_share]", "robustness_scales=[2.5]"]
    )
    with pytest.raises(ConfigError, match=r"agents\.insurers\.cppi_share"):
        plan_study(study)
    with pytest.raises(ConfigError, match="not arms of scenario"):
        plan_study(load_study("baseline", ["arms=[treatment,nosuch]"]))
    with pytest.raises(ConfigError, match="must not sweep"):
        plan_study(StudyConfig(overrides=["market.tick_size=0.01,0.05"]))
    with pytest.raises(ConfigError, match="set by the study itself"):
        plan_study(StudyConfig(overrides=["seed=3"]))


# ---------------------------------------------------------------------------- end to end
TINY = [
    "scenario.days=1",
    "agents.background.n=60",
    "agents.customers.n=4",
    "agents.liquidity.n=4",
    "market.step_seconds=60",
    "market.record_interval=60",
]


def _multirun(sweep_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        "+sweep=workstation",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
        *TINY,
        *extra,
    ]
    return subprocess.run(
        cmd,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
def test_cli_sweep_resumes_and_reports_a_failure(tmp_path):
    first = _multirun(tmp_path, "market.fundamental_vol=0.1,9.0", "seed=range(2)")
    assert first.returncode == 0, first.stderr[-2000:]
    table = pd.read_parquet(tmp_path / "sweep_table.parquet")
    assert sorted(table["status"]) == ["failed", "failed", "ok", "ok"]
    assert (
        table.loc[table["status"] == "failed", "error"].str.contains("market.fundamental_vol").all()
    )
    done = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/summary.json")}
    assert len(done) == 2
    second = _multirun(tmp_path, "market.fundamental_vol=0.1,9.0", "seed=range(2)")
    assert second.returncode == 0, second.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/summary.json")} == done
    assert "0 ok, 2 failed, 2 skipped" in second.stdout


@pytest.mark.slow
def test_cli_study_end_to_end(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "experiments.study",
        "run",
        "baseline",
        "seeds=2",
        "robustness_seeds=2",
        "robustness=[agents.dealers.band_shares]",
        "robustness_scales=[0.8]",
        "n_jobs=2",
        f"dir={tmp_path}",
        "--",
        *TINY,
        # a crisis on a metric outside the study's prefixes: collected all the same
        "++scenario.crisis={peak_to_trough_pct:{below:-0.001}}",
    ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in (
        "study_table.csv",
        "study_table.parquet",
        "robustness.csv",
        "crisis.csv",
        "study.md",
        "study.png",
        "study_runs.parquet",
    ):
        assert (tmp_path / name).exists(), name
    table = pd.read_csv(tmp_path / "study_table.csv")
    assert set(table["arm"]) == {"treatment", "no_dealer_hedging"}
    assert (table.loc[table["arm"] == "treatment", "n"] == 2).all()
    assert {"median", "q10", "q90", "bimodal", "fundamental_share"} <= set(table.columns)
    fall = table[table["metric"] == "scenario_metrics.peak_to_trough_pct"]
    assert len(fall) == 2 and fall["fundamental_mean"].notna().all()
    robust = pd.read_csv(tmp_path / "robustness.csv")
    assert set(robust["setting"]) == {"base", "agents.dealers.band_shares x0.8"}
    crisis = pd.read_csv(tmp_path / "crisis.csv")
    assert set(crisis["setting"]) == {"base", "agents.dealers.band_shares x0.8"}
    assert (crisis["n_judged"] == 2).all()
    assert "## How often the crisis happens" in (tmp_path / "study.md").read_text()


def test_key_metrics_outside_the_collected_prefixes_are_refused_before_any_run():
    with pytest.raises(ConfigError, match=r"study\.key_metrics: 'max_rally_pct' lies under none"):
        StudyConfig(metrics=["scenario_metrics"], key_metrics=["max_rally_pct"])
    ok = StudyConfig(
        metrics=["scenario_metrics", "price"],
        key_metrics=["scenario_metrics.max_rally_pct", "price"],
    )
    assert ok.key_metrics[0] == "scenario_metrics.max_rally_pct"


@pytest.mark.parametrize("name", sorted(p.stem for p in STUDY_CONF_DIR.glob("*.yaml")))
def test_every_study_config_loads(name):
    study = load_study(name)
    assert study.seeds >= 20  # the default every study promises
