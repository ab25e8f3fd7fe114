"""A refused config leaves no directory behind, and names never lead a path out of results/."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from experiments.config import ConfigError, check_name
from experiments.hpi_study.config import EventClass, HPIStudyConfig
from experiments.study.config import StudyConfig, load_study
from experiments.study.figures import figure_specs
from tests.conftest import run_cli


def test_a_refused_run_leaves_no_run_dir(tmp_path):
    proc = run_cli(tmp_path, "agents.background.n=-1")  # a range, checked after composing
    assert proc.returncode == 2
    assert "agents.background.n must be in [0, 1000000], got -1" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # not even results/runs/<...>/.hydra


def test_a_refused_run_leaves_no_given_run_dir(tmp_path):
    proc = run_cli(tmp_path, "market.tick_size=0", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2 and "market.tick_size" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_refused_hpi_study_leaves_no_study_dir(tmp_path):
    proc = run_cli(tmp_path, "hpi_study.sessions=1", config_name="hpi_study")
    assert proc.returncode == 2 and "hpi_study.sessions" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["/tmp/x", "../../../x", ".hidden", "a/b", "", "x" * 65])
def test_check_name_refuses_what_could_leave_its_dir(name):
    with pytest.raises(ConfigError, match=r"scenario\.name must be 1-64 characters"):
        check_name("scenario.name", name)


@pytest.mark.parametrize("name", ["baseline", "crash_1987", "v1.2-b", "_x", "x" * 64])
def test_check_name_accepts_plain_names(name):
    check_name("scenario.name", name)


def test_an_absolute_scenario_name_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "outside" / "evil"
    (tmp_path / "cwd").mkdir()
    proc = run_cli(tmp_path / "cwd", f"scenario.name={target}")
    assert proc.returncode == 2 and "scenario.name" in proc.stderr
    assert not (tmp_path / "outside").exists()
    assert list((tmp_path / "cwd").iterdir()) == []


def test_a_multirun_refuses_a_swept_name_before_its_sweep_dir(tmp_path):
    proc = run_cli(tmp_path, "-m", "arm=treatment,../../x", f"hydra.sweep.dir={tmp_path}/sweep")
    assert proc.returncode == 2 and "arm must be" in proc.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_scenario_arm_name_is_checked():
    from experiments.config import ScenarioConfig

    with pytest.raises(ConfigError, match=r"scenario\.arms: arm name '/abs'"):
        ScenarioConfig(arms={"/abs": ["agents.dealers.hedge=false"]})


def test_study_names_are_checked_before_they_name_a_dir():
    with pytest.raises(ConfigError, match=r"study\.name must be"):
        StudyConfig(name="/tmp/study")
    with pytest.raises(ConfigError, match=r"study\.scenario must be"):
        StudyConfig(scenario="../baseline")
    with pytest.raises(ConfigError, match=r"study must be"):
        load_study("../../conf/study/baseline")
    with pytest.raises(ConfigError, match=r"study\.name must be"):
        load_study("baseline", ["name=../elsewhere"])


def test_sweep_figure_names_are_checked():
    with pytest.raises(ConfigError, match=r"figures\[0\]\.metric must be"):
        figure_specs([{"x": "seed", "y": "arm", "metric": "/tmp/figure"}])
    ok = figure_specs([{"x": "agents.dealers.band_shares", "y": "seed", "metric": "price.close"}])
    assert ok[0]["x"] == "agents.dealers.band_shares"


def test_hpi_study_class_names_are_checked():
    with pytest.raises(ConfigError, match=r"hpi_study\.classes: class name '\.\./x'"):
        HPIStudyConfig(classes={"../x": EventClass()})
    cfg = OmegaConf.to_object(OmegaConf.structured(HPIStudyConfig))
    assert "calm" in cfg.classes
