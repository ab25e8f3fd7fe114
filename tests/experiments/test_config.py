"""The Hydra app's configs: every scenario composes, bad values stop the run and name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from experiments.config import ConfigError, RunConfig, register_configs
from tests.conftest import ROOT, run_cli

CONF = str(ROOT / "conf")
register_configs()


def load(*overrides: str) -> RunConfig:
    with initialize_config_dir(version_base="1.3", config_dir=CONF):
        cfg = compose(config_name="config", overrides=list(overrides))
    return OmegaConf.to_object(cfg)


SCENARIOS = sorted(p.stem for p in Path(CONF, "scenario").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_composes(scenario):
    cfg = load(f"scenario={scenario}")
    assert cfg.scenario.name == scenario
    assert isinstance(cfg, RunConfig)


@pytest.mark.parametrize("preset", sorted(p.stem for p in Path(CONF, "agents").glob("*.yaml")))
def test_every_agents_preset_composes_with_every_scenario(preset):
    for scenario in SCENARIOS:
        cfg = load(f"agents={preset}", f"scenario={scenario}")
        assert isinstance(cfg, RunConfig)
    if preset == "fundamental_anchored":  # its fields reach the dataclasses, off in the default
        assert cfg.agents.latent.metaorder_impact == 0 and cfg.agents.latent.value_tracking == 1
        assert load().agents.latent.metaorder_impact > 0


def test_overrides_reach_the_dataclasses():
    cfg = load("seed=7", "agents.dealers.policy=whalley_wilmott", "market.tick_size=0.05")
    assert cfg.seed == 7
    assert (
        str(getattr(cfg.agents.dealers.policy, "value", cfg.agents.dealers.policy))
        == "whalley_wilmott"
    )
    assert cfg.market.tick_size == 0.05


def test_string_where_number_belongs_names_the_key():
    with pytest.raises(ConfigCompositionException) as e:
        load("market.initial_price=abc")
    assert "market.initial_price" in str(e.value.__cause__)


def test_unknown_scenario_is_refused():
    with pytest.raises((ConfigCompositionException, MissingConfigException)) as e:
        load("scenario=nosuch")
    assert "scenario/nosuch" in str(e.value)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("market.initial_price=-5", "market.initial_price"),
        ("market.tick_size=0.03", "market.initial_price"),
        ("scenario.days=0", "scenario.days"),
        ("market.rules.cb_levels=[0.2,0.1,0.3]", "market.rules.cb_levels"),
        ("market.surface.atm_vol=9", "market.surface.atm_vol"),
        ("market.record_interval=0.5", "market.record_interval"),
        ("market.rules.stop_reference=print", "market.rules.stop_reference"),
    ],
)
def test_range_errors_name_field_and_range(override, field):
    with pytest.raises(ConfigError) as e:
        load(override)
    assert field in str(e.value)


def test_parent_order_participation_above_one_is_refused():
    with pytest.raises(ConfigError, match=r"participation must be in \(0\.0, 1\.0\]"):
        load("scenario.events.program.participation=1.5")


def test_negative_parent_size_is_refused():
    with pytest.raises(ConfigError, match=r"qty must be in"):
        load("scenario.events.program.qty=-100")


def test_cli_bad_value_exits_before_work(tmp_path):
    """Through the real entry point: exit code 2, a clear message, and no outputs written."""
    proc = run_cli(
        ROOT, "scenario.events.program.participation=1.5", f"hydra.run.dir={tmp_path}/run"
    )
    assert proc.returncode == 2
    assert "participation" in proc.stderr and "(0.0, 1.0]" in proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "run" / "timeseries.parquet").exists()


def test_fundamental_vol_event_changes_the_fundamental_volatility():
    from experiments.events import EventConfig, EventKind
    from experiments.model import HedgeLoopModel

    cfg = RunConfig(seed=0, progress=False)
    cfg.agents.background.n = 20
    cfg.agents.liquidity.n = 2
    cfg.agents.customers.n = cfg.agents.dealers.n = cfg.agents.insurers.n = 0
    cfg.desk.enabled = False
    cfg.market.fundamental_vol = 0.1
    cfg.scenario.events = [EventConfig(kind=EventKind.fundamental_vol, at="09:31", value=0.4)]
    model = HedgeLoopModel(cfg)
    before = model._fund_sd
    for _ in range(int(30 / model.dt)):
        model.step()
    assert model._fund_sd == before  # not yet
    for _ in range(int(31 / model.dt) + 1):
        model.step()
    assert model._fund_sd == pytest.approx(4 * before)


def test_fundamental_vol_event_out_of_range_is_refused():
    from experiments.events import EventConfig, EventKind

    with pytest.raises(ConfigError, match=r"value must be in \[0\.0, 5\.0\]"):
        EventConfig(kind=EventKind.fundamental_vol, value=-0.2).validate("scenario.events[0]", 1)


def test_stop_reference_reaches_the_stop_logic_rule():
    from experiments.model import HedgeLoopModel

    assert load().market.rules.stop_reference == "window"  # CME velocity logic by default
    armed = {}
    for ref in ("window", "step", "order"):
        model = HedgeLoopModel(load(f"market.rules.stop_reference={ref}", "scenario.days=1"))
        rule = model.rules["stop_logic"]
        assert rule.reference_mode == ref
        for _ in range(120):
            model.step()
        armed[ref] = (model.book.sweep_limit[0], model.book.band("halt", "StopLogic"))
    assert armed["order"] == (100, (None, None))  # 1.0 at a 0.01 tick, around each order
    assert armed["step"][0] is None and armed["step"][1][0] is not None
    low, high = armed["window"][1]  # within 1.0 of every print of the last second
    assert armed["window"][0] is None and 0 < high - low <= 200
