"""The three-line Python API: load a named scenario, simulate it, read the summary."""

from __future__ import annotations

import json
import os

import pytest

from experiments import load_config, simulate
from experiments.config import ConfigError

SMALL = (
    "scenario.days=1",
    "agents.background.n=150",
    "agents.liquidity.n=6",
    "agents.customers.n=10",
    "market.step_seconds=5",
    "market.record_interval=60",
)


def test_load_config_applies_scenario_arm_and_overrides():
    cfg = load_config("flash_2010", "seed=3", arm="control_low_pov")
    assert cfg.scenario.name == "flash_2010" and cfg.seed == 3 and cfg.arm == "control_low_pov"
    assert min(e.participation for e in cfg.scenario.events if e.qty) == pytest.approx(0.01)


def test_load_config_refuses_a_bad_value_naming_the_field():
    with pytest.raises(ConfigError, match=r"agents\.background\.n"):
        load_config("baseline", "agents.background.n=-5")


def test_simulate_from_another_directory_writes_the_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the API must not depend on the working directory
    cfg = load_config("baseline", *SMALL)
    summary = simulate(cfg, out_dir=tmp_path / "run")
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["n_steps"] == summary["n_steps"] == 23_400 // 5
    assert os.path.exists(tmp_path / "run" / "trades.parquet")
    assert all(v == 0 for v in summary["conservation_residuals"].values())
