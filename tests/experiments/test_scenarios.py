"""The five stress scenarios: they compose and run, their control arms switch the mechanism off,
circuit breakers halt at the right prices, and the scenario metrics keep their documented names.

The default tests run short versions (one day at most, fewer agents, events moved early); the
calibration checks against docs/reference.md (several seeds, whole scenarios) are marked slow.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from experiments.config import (
    ConfigError,
    RunConfig,
    register_configs,
    to_run_config,
)
from experiments.events import EventConfig
from experiments.model import HedgeLoopModel
from experiments.run import simulate
from experiments.scenarios.figures import scenario_figure
from experiments.scenarios.metrics import halt_list, path_metrics, scenario_metrics
from experiments.scenarios.price_paths import ScenarioMetricsError
from market.exchange.clock import SECONDS_PER_DAY

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf")
SCENARIOS = ("crash_1987", "flash_2010", "covid_2020", "gamma_squeeze", "expiry_pinning")
register_configs()

#: the documented names (experiments.scenarios.metrics module docstring)
TOP_KEYS = {
    "open",
    "close",
    "return_pct",
    "peak_to_trough_pct",
    "peak_time_s",
    "trough_time_s",
    "time_to_trough_s",
    "retrace_pct",
    "max_rally_pct",
    "worst_5min_return_pct",
    "daily_returns_pct",
    "worst_day_pct",
    "worst_day",
    "best_day_pct",
    "intraday_low_pct",
    "worst_day_close_above_low_pct",
    "halts",
    "n_halts",
    "n_circuit_breaker_halts",
    "n_stop_logic_pauses",
    "n_luld_pauses",
    "first_halt_time_s",
    "vol",
    "volume",
    "populations",
    "dealers",
    "insurers",
    "desk",
    "liquidity",
    "pin",
    "peak_to_trough_in_window_pct",
    "worst_5min_return_in_window_pct",
    "fundamental",
    "net_of_fundamental",
}
#: the price metrics reported again net of the fundamental value's move over their window
NET_KEYS = {
    "return_pct",
    "peak_to_trough_pct",
    "retrace_pct",
    "max_rally_pct",
    "worst_5min_return_pct",
    "worst_5min_return_in_window_pct",
    "peak_to_trough_in_window_pct",
    "worst_day_pct",
    "intraday_low_pct",
}
SECTION_KEYS = {
    "vol": {"in_window", "out_window", "ratio"},
    "volume": {"in_window_per_s", "out_window_per_s", "ratio"},
    "dealers": {
        "hedge_flow",
        "hedge_flow_in_window",
        "hedge_trades",
        "gex_start",
        "gex_min",
        "gex_max",
        "gex_end",
        "hedge_flow_return_corr",
    },
    "insurers": {
        "demanded",
        "executed",
        "backlog",
        "demanded_value",
        "executed_value",
        "executed_cash",
        "max_backlog",
        "max_backlog_value",
        "max_backlog_time_s",
        "executed_share_at_max_backlog",
        "sell_share_in_window_pct",
        "demanded_at_close",
        "executed_at_close",
    },
    "desk": {
        "qty",
        "filled",
        "completion",
        "slippage_bps",
        "duration_s",
        "filled_by_trough_share",
        "participation_realised",
    },
    "liquidity": {
        "withdrawals",
        "dumps",
        "dumped_shares",
        "min_quoting",
        "max_abs_net_inventory",
        "bid_depth_min_ratio",
    },
    "pin": {
        "strike",
        "close_distance_pct",
        "abs_distance_pct",
        "last_hour_mean_abs_distance_pct",
        "pull_to_strike_bp",
        "fundamental_distance_pct",
        "fundamental_abs_distance_pct",
        "last_hour_fundamental_mean_abs_distance_pct",
        "close_distance_net_pct",
    },
    "fundamental": NET_KEYS
    | {
        "open",
        "close",
        "daily_returns_pct",
        "r2_30m",
        "r2_1d",
        "peak_to_trough_move_pct",
        "peak_to_trough_in_window_move_pct",
        "max_rally_move_pct",
    },
    "net_of_fundamental": NET_KEYS,
}
HALT_KEYS = {"rule", "level", "time", "end", "length_s", "price", "level_price"}
#: fewer agents and coarser steps for the short runs (rates per second unchanged)
SMALL = (
    "agents.background.n=300",
    "agents.liquidity.n=8",
    "agents.customers.n=20",
    "market.step_seconds=2",
    "market.record_interval=20",
)


def composed(scenario: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(version_base="1.3", config_dir=CONF):
        return compose(
            config_name="config", overrides=[f"scenario={scenario}", "progress=false", *overrides]
        )


def short(
    scenario: str,
    *overrides: str,
    days: int = 1,
    arm: str = "treatment",
    events: list[dict] | None = None,
) -> RunConfig:
    """The scenario cut to ``days`` (later events dropped, or ``events`` instead, named by
    position), in ``arm``."""
    cfg = composed(scenario, f"arm={arm}", *overrides)
    if events is None:
        named = OmegaConf.to_container(cfg.scenario.events)
    else:
        named = {str(i): e for i, e in enumerate(events)}
    cfg.scenario.days = days
    cfg.scenario.events = {
        name: OmegaConf.merge(OmegaConf.structured(EventConfig), e)
        for name, e in named.items()
        if events is not None or e["day"] < days
    }
    return to_run_config(cfg)


def run_for(cfg: RunConfig, seconds: float) -> HedgeLoopModel:
    model = HedgeLoopModel(cfg)
    for _ in range(round(seconds / model.dt)):
        model.step()
    return model


# ---------------------------------------------------------------------------- the configs
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_composes_with_arms_window_and_reference(scenario):
    cfg = composed(scenario)
    run_cfg = to_run_config(cfg)
    assert run_cfg.scenario.name == scenario
    assert run_cfg.scenario.arms, "every stress scenario has at least one control arm"
    assert run_cfg.scenario.reference, "every stress scenario names its reference figures"
    assert len(run_cfg.scenario.stress_window) == 2
    for arm in run_cfg.scenario.arms:
        assert to_run_config(composed(scenario, f"arm={arm}")).scenario.name == scenario
    # reference keys are metric names, so a study can put them side by side
    flat_keys = {k for k in TOP_KEYS if k not in SECTION_KEYS}
    flat_keys |= {f"{s}.{k}" for s, keys in SECTION_KEYS.items() for k in keys}
    assert set(run_cfg.scenario.reference) <= flat_keys


def test_arm_values_read_as_the_command_line_reads_them():
    """``off`` is the string (an enum's name), not YAML 1.1's false; true/false stay booleans."""
    cfg = composed("flash_2010", "desk=hpi", "arm=plain")
    OmegaConf.set_struct(cfg, False)
    cfg.scenario.arms["plain"] = [
        "desk.hpi.mode=off",
        "agents.liquidity.withdrawal_enabled=false",
        "scenario.events.program.participation=0.02",
    ]
    run_cfg = to_run_config(cfg)
    assert run_cfg.desk.hpi.mode.name == "off"
    assert run_cfg.agents.liquidity.withdrawal_enabled is False
    assert run_cfg.scenario.events[12].participation == 0.02
    cfg = composed("flash_2010", "arm=bad")
    OmegaConf.set_struct(cfg, False)
    cfg.scenario.arms["bad"] = ["agents.liquidity.n=1,2"]
    with pytest.raises(ConfigError, match=r"scenario\.arms\.bad: '1,2' is a sweep"):
        to_run_config(cfg)


def test_unknown_arm_is_refused_naming_the_arms():
    with pytest.raises(ConfigError, match=r"arm must be 'treatment' or one of \['control'\]"):
        to_run_config(composed("crash_1987", "arm=nosuch"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_short_version_runs_and_reports_documented_metrics(scenario, tmp_path):
    cfg = short(scenario, *SMALL)
    model = run_for(cfg, 1200)
    metrics = scenario_metrics(model)
    assert set(metrics) == TOP_KEYS
    for section, keys in SECTION_KEYS.items():
        assert set(metrics[section]) == keys, section
    assert set(metrics["populations"]) == set(model.populations)
    for h in metrics["halts"]:
        assert set(h) == HALT_KEYS
    assert metrics["peak_to_trough_pct"] <= 0.0 <= metrics["max_rally_pct"]
    assert metrics["open"] == cfg.market.initial_price
    json.dumps(metrics, default=float)  # serialisable as it stands
    ts = model.datacollector.get_model_vars_dataframe()
    path = tmp_path / f"{scenario}.png"
    scenario_figure(model, ts, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- synthetic paths
def fake_model(mids, fundamental, *, window=(), record_every: int = 10, closes=()):
    """What the path metrics read of a model, for a 1-second step: the mids (sample 0 = the
    open), F after each step recorded every ``record_every`` steps as the model records it (row
    0 before the first step, the row of step k dated at its start), closes and stress window."""
    mids = np.asarray(mids, dtype=float)
    f = np.asarray(fundamental, dtype=float)
    steps = np.r_[0, np.arange(record_every, mids.size, record_every)]
    ts = pd.DataFrame({"time": np.maximum(steps - 1.0, 0.0), "fundamental": f[steps]})
    return SimpleNamespace(
        state=SimpleNamespace(
            n=mids.size - 1, mids=mids, volumes=np.zeros(mids.size), last=float(mids[-1])
        ),
        dt=1.0,
        steps_per_day=int(SECONDS_PER_DAY),
        fundamental=float(f[-1]),
        closes=list(closes),
        datacollector=SimpleNamespace(get_model_vars_dataframe=lambda: ts),
        cfg=SimpleNamespace(
            scenario=SimpleNamespace(stress_window=list(window)),
            market=SimpleNamespace(initial_price=float(mids[0])),
        ),
    )


def ramp(t, t0, t1, a, b):
    """``a`` before ``t0``, ``b`` after ``t1``, a straight line between."""
    return a + (b - a) * np.clip((t - t0) / (t1 - t0), 0.0, 1.0)


def test_path_metrics_net_of_fundamental_on_a_synthetic_crash():
    """Two hours: F falls 1% and the price 3% from 0:50 to 1:00, the price gets half of it back
    by 1:10 while F stays; a one-second print at 90 at 0:16:40 is not a fall."""
    t = np.arange(7201.0)
    f = ramp(t, 3000, 3600, 100.0, 99.0)
    p = ramp(t, 3000, 3600, 100.0, 97.0) + ramp(t, 3600, 4200, 0.0, 1.5)
    p[1000] = 90.0
    m = path_metrics(fake_model(p, f, window=[2700.0, 4500.0]))
    # the spike is gone: drawdowns are measured on the last mid of each minute
    assert m["peak_to_trough_pct"] == pytest.approx(-3.0)
    assert (m["peak_time_s"], m["trough_time_s"]) == (0.0, 3600.0)
    assert m["intraday_low_pct"] == pytest.approx(-3.0)
    assert m["worst_5min_return_pct"] == pytest.approx(100 * (97.0 / 98.5 - 1))
    assert m["retrace_pct"] == pytest.approx(50.0)
    fund, net = m["fundamental"], m["net_of_fundamental"]
    assert fund["peak_to_trough_move_pct"] == pytest.approx(-1.0)
    assert fund["peak_to_trough_pct"] == pytest.approx(-1.0)  # F's own fall inside the window
    assert fund["worst_5min_return_pct"] == pytest.approx(100 * (99.0 / 99.5 - 1))
    assert fund["intraday_low_pct"] == pytest.approx(-1.0)
    assert fund["retrace_pct"] == pytest.approx(0.0)  # F did not move while the price came back
    assert fund["close"] == pytest.approx(99.0) and fund["open"] == 100.0
    # net of F is exactly the price's move minus F's over the same two times
    for name in (
        "return_pct",
        "worst_5min_return_pct",
        "intraday_low_pct",
        "retrace_pct",
        "worst_5min_return_in_window_pct",
    ):
        assert net[name] == pytest.approx(m[name] - fund[name], abs=1e-12), name
    for name in ("peak_to_trough_pct", "peak_to_trough_in_window_pct", "max_rally_pct"):
        move = fund[name.replace("_pct", "_move_pct")]
        assert net[name] == pytest.approx(m[name] - move, abs=1e-12), name
    assert net["peak_to_trough_pct"] == pytest.approx(-2.0)
    # the stress window holds the whole fall, so the window metrics agree with the whole run's
    assert m["peak_to_trough_in_window_pct"] == pytest.approx(-3.0)
    assert m["worst_5min_return_in_window_pct"] == pytest.approx(m["worst_5min_return_pct"])
    # under five days there is no daily R²; with four 30-minute windows there is one
    assert np.isnan(fund["r2_1d"]) and 0.0 <= fund["r2_30m"] <= 1.0
    assert np.isnan(fund["worst_day_pct"]) and fund["daily_returns_pct"] == []


def test_path_metrics_price_equal_to_f_has_nothing_net_and_r2_one():
    rng = np.random.default_rng(3)
    days = 5
    f = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, days * int(SECONDS_PER_DAY) + 1)))
    f[0] = 100.0
    day_ends = [float(f[(d + 1) * int(SECONDS_PER_DAY)]) for d in range(days)]
    m = path_metrics(fake_model(f, f, closes=day_ends, record_every=60))
    fund, net = m["fundamental"], m["net_of_fundamental"]
    assert fund["r2_30m"] == pytest.approx(1.0) and fund["r2_1d"] == pytest.approx(1.0)
    assert fund["daily_returns_pct"] == pytest.approx(m["daily_returns_pct"])
    assert fund["worst_day_pct"] == pytest.approx(m["worst_day_pct"])
    for name, value in net.items():
        if "in_window" in name:  # no stress window: NaN, never a made-up number
            assert np.isnan(value) and np.isnan(m[name]), name
        else:
            assert value == pytest.approx(0.0, abs=1e-9), name


# ---------------------------------------------------------------------------- control arms
def test_crash_control_insurers_never_trade_but_still_demand():
    shock = [{"kind": "fundamental_shock", "day": 0, "at": "09:35", "size": -0.03}]
    # latent investors who react at once, so that the news reaches the price within the
    # quarter hour the test runs (at the scenario's 359-s reaction it has fallen 1.1% of 3%)
    over = (*SMALL, "agents.insurers.threshold=0.005", "agents.latent.reveal_time=0")
    treated = run_for(short("crash_1987", *over, events=shock), 900)
    control = run_for(short("crash_1987", *over, events=shock, arm="control"), 900)
    pop = list(control.populations).index("insurers")
    assert treated.pop_volume[pop] > 0
    assert sum(i.executed for i in treated.populations["insurers"]) < 0  # sold into the fall
    assert control.pop_volume[pop] == 0
    assert all(i.executed == 0 and i.n_orders == 0 for i in control.populations["insurers"])
    assert sum(i.demanded for i in control.populations["insurers"]) < 0


@pytest.mark.parametrize("scenario", ["covid_2020", "gamma_squeeze", "expiry_pinning"])
def test_dealer_control_sends_no_hedge_trades(scenario):
    over = (*SMALL, "agents.dealers.rate=0.5", "agents.customers.rate=0.01")
    treated = run_for(short(scenario, *over, events=[]), 600)
    control = run_for(short(scenario, *over, events=[], arm="control"), 600)
    pop = list(control.populations).index("dealers")
    assert sum(d.hedge_trades for d in treated.populations["dealers"]) > 0
    assert control.pop_volume[pop] == 0
    assert all(d.hedge_trades == 0 and d.hedge_orders == 0 for d in control.populations["dealers"])
    # the control dealers still hold an option book: only their hedging is switched off
    assert any(d.contracts_bought + d.contracts_sold > 0 for d in control.populations["dealers"])


@pytest.mark.parametrize(
    ("scenario", "rate", "seconds"),
    [
        # covid: the opening book, short in the treatment and long in the control
        ("covid_2020", 0.01, 300),
        # the squeeze: the frenzy's first half hour, its calls bought or written
        ("gamma_squeeze", 0.05, 1800),
    ],
)
def test_long_gamma_arm_gives_dealers_positive_gamma(scenario, rate, seconds):
    over = (*SMALL, f"agents.customers.rate={rate}")
    short_book = run_for(short(scenario, *over, events=[]), seconds)
    long_book = run_for(short(scenario, *over, events=[], arm="control_long_gamma"), seconds)
    assert short_book.population_sum("dealers", "gex") < 0
    assert long_book.population_sum("dealers", "gex") > 0


def _flash_early(arm: str) -> HedgeLoopModel:
    """The flash crash moved to the morning, with providers quick to withdraw."""
    cfg = composed(
        "flash_2010",
        f"arm={arm}",
        *SMALL,
        "agents.liquidity.withdraw_vol=0.05",
        "agents.liquidity.reentry_vol=0.01",
    )
    for ev in cfg.scenario.events.values():
        ev.at = "09:40" if ev.kind == "parent_order" else "09:35"
    return run_for(to_run_config(cfg), 900)


def test_flash_no_withdrawal_arm_keeps_every_provider_quoting():
    treated = _flash_early("treatment")
    control = _flash_early("control_no_withdrawal")
    assert sum(lp.n_withdrawals for lp in treated.populations["liquidity"]) > 0
    assert sum(lp.n_withdrawals for lp in control.populations["liquidity"]) == 0
    ts = control.datacollector.get_model_vars_dataframe()
    assert ts["lp_quoting"].min() == len(control.populations["liquidity"])


def test_flash_low_pov_arm_lowers_the_sell_programs_participation():
    cfg = to_run_config(composed("flash_2010", "arm=control_low_pov"))
    treated = to_run_config(composed("flash_2010"))
    pov = [e for e in cfg.scenario.events if e.kind.value == "parent_order"]
    pov_t = [e for e in treated.scenario.events if e.kind.value == "parent_order"]
    assert pov[0].participation == pytest.approx(0.01)
    assert pov_t[0].participation == pytest.approx(0.09)
    assert pov[0].qty == pov_t[0].qty and pov[0].side == pov_t[0].side == -1


# ---------------------------------------------------------------------------- halts
def test_level_one_halt_prints_nothing_below_the_level_and_records_it():
    shock = [{"kind": "fundamental_shock", "day": 0, "at": "09:40", "size": -0.15}]
    cfg = short("covid_2020", *SMALL, events=shock)
    model = run_for(cfg, 2400)
    halts = [h for h in halt_list(model) if h["rule"] == "circuit_breakers"]
    assert halts, "a 15% fall must reach the 7% level"
    first = halts[0]
    assert first["level"] == 1
    assert first["level_price"] == pytest.approx(cfg.market.initial_price * 0.93)
    assert first["length_s"] == pytest.approx(cfg.market.rules.cb_halt_seconds, abs=model.dt)
    trades = model.book.trades.columns()
    price = trades["price"] * model.tick
    before = trades["time"] < first["time"]
    assert before.any()
    assert price[before].min() >= first["level_price"] - 1e-9
    during = (trades["time"] > first["time"]) & (trades["time"] < first["end"])
    assert not during.any(), "nothing prints while the market is halted"
    metrics = scenario_metrics(model)
    assert metrics["n_circuit_breaker_halts"] == len(halts)
    assert metrics["halts"][0]["level_price"] == pytest.approx(93.0)


def test_stop_logic_pause_lengths_are_the_configured_pause():
    cfg = short(
        "flash_2010",
        *SMALL,
        "market.rules.stop_max_move=0.05",
        "market.rules.stop_pause_seconds=7",
        events=[],
    )
    model = run_for(cfg, 900)
    pauses = [h for h in halt_list(model) if h["rule"] == "stop_logic"]
    assert pauses
    assert all(h["length_s"] == pytest.approx(7.0, abs=model.dt) for h in pauses[:-1])
    assert all(h["level"] is None and h["price"] is not None for h in pauses)


def test_metrics_and_figure_refuse_an_unstepped_model(tmp_path):
    model = HedgeLoopModel(short("crash_1987", *SMALL))
    with pytest.raises(ScenarioMetricsError, match="not been stepped"):
        scenario_metrics(model)
    ts = model.datacollector.get_model_vars_dataframe()
    with pytest.raises(ScenarioMetricsError, match="ts must hold"):
        scenario_figure(model, ts, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_simulate_writes_metrics_and_the_scenario_figure(tmp_path):
    cfg = short(
        "expiry_pinning",
        "agents.background.n=100",
        "agents.liquidity.n=4",
        "agents.customers.n=10",
        "market.step_seconds=30",
        "market.record_interval=60",
        events=[],
    )
    summary = simulate(cfg, tmp_path)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert set(on_disk["scenario_metrics"]) == TOP_KEYS
    assert on_disk["scenario_metrics"]["pin"]["strike"] == pytest.approx(100.0)
    assert summary["scenario_metrics"]["close"] == pytest.approx(on_disk["price"]["close"])
    assert (tmp_path / "figures" / "expiry_pinning.png").stat().st_size > 10_000


# ---------------------------------------------------------------------------- calibration (slow)
@functools.cache
def full_metrics(scenario: str, arm: str, seed: int) -> dict:
    """The whole scenario in ``arm`` with ``seed``: its scenario metrics (a run is the same
    whenever it is made, so each is made once per process; callers only read the dict)."""
    model = HedgeLoopModel(to_run_config(composed(scenario, f"arm={arm}", f"seed={seed}")))
    model.run()
    return scenario_metrics(model)


def arm_means(scenario: str, arms: tuple[str, ...], seeds: tuple[int, ...], pick) -> dict:
    """Mean over ``seeds`` of ``pick(metrics)`` per arm, and the per-seed values."""
    out = {}
    for arm in arms:
        values = [pick(full_metrics(scenario, arm, s)) for s in seeds]
        out[arm] = (float(np.mean(values)), values)
    return out


@pytest.mark.slow
def test_crash_insurers_turn_the_news_into_a_crash_with_a_backlog():
    runs = {
        arm: [full_metrics("crash_1987", arm, s) for s in (0, 1)]
        for arm in ("treatment", "control")
    }
    depth = {arm: np.mean([m["peak_to_trough_pct"] for m in ms]) for arm, ms in runs.items()}
    # seed by seed, the insurers deepen the fall the news alone causes, by several points on
    # average (the multi-seed study measures how much: conf/study/crash_1987.yaml)
    for t, c in zip(runs["treatment"], runs["control"], strict=True):
        assert t["peak_to_trough_pct"] < c["peak_to_trough_pct"]
    assert depth["treatment"] < depth["control"] - 3.0
    # rough magnitude: within a factor two of the 1987 fall (-28.5% over four days)
    assert -57.0 < depth["treatment"] < -14.0
    for m in runs["treatment"]:
        ins = m["insurers"]
        assert ins["executed"] < 0
        # their models called for much more than they could sell at the worst moment
        assert 0.0 < ins["executed_share_at_max_backlog"] < 0.8
        assert ins["sell_share_in_window_pct"] > 5.0
    assert all(m["insurers"]["executed"] == 0 for m in runs["control"])


@pytest.mark.slow
def test_flash_program_at_the_2010_pace_crashes_and_recovers():
    fast = [full_metrics("flash_2010", "pace_2010", s) for s in (0, 1)]
    slow = [full_metrics("flash_2010", "control_low_pov", s) for s in (0, 1)]
    fall = np.mean([m["worst_5min_return_pct"] for m in fast])
    assert fall < np.mean([m["worst_5min_return_pct"] for m in slow]) - 0.5
    assert -15.0 < fall < -1.0  # the reference: more than -5% in 4.5 minutes
    for m in fast:
        assert m["desk"]["completion"] == pytest.approx(1.0)
        assert m["desk"]["duration_s"] < 3600.0  # reference: about 20 minutes
        assert m["liquidity"]["withdrawals"] > 0
        # the providers reach their inventory limits and pass the excess on ("hot potato")
        assert m["liquidity"]["dumps"] > 0 and m["liquidity"]["dumped_shares"] > 0
        # the fundamental did not move: the transient part of the fall comes back, but the crowd
        # reads a fall nobody can explain partly as news, so part of it stays (seeds 0-1: 58% and
        # 28% retraced, against 60% in 2010)
        assert m["retrace_pct"] > 0.0


@pytest.mark.slow
def test_covid_short_gamma_dealers_deepen_the_drawdown_and_halts_fire():
    # with the gentler storms one seed can go the other way (seed 0: -21.0% treated against
    # -23.4% control; seeds 1 and 2: -42.3 / -33.5% and -32.3 / -21.3% when this was written),
    # so the mechanism is asserted on the mean over three seeds
    drawdowns = arm_means(
        "covid_2020", ("treatment", "control"), (0, 1, 2), lambda m: m["peak_to_trough_pct"]
    )
    assert drawdowns["treatment"][0] < drawdowns["control"][0] - 3.0
    treated = full_metrics("covid_2020", "treatment", 0)
    assert treated["dealers"]["gex_min"] < 0
    assert -60.0 < treated["peak_to_trough_pct"] < -17.0  # reference -33.9%
    assert -25.0 < treated["worst_day_pct"] < -6.0  # reference -11.98%
    assert treated["n_circuit_breaker_halts"] >= 1
    for h in treated["halts"]:
        if h["rule"] == "circuit_breakers":
            assert h["price"] <= h["level_price"] + 1e-9


@pytest.mark.slow
def test_gamma_squeeze_dealer_hedging_buys_the_rally():
    treated = full_metrics("gamma_squeeze", "treatment", 0)
    control = full_metrics("gamma_squeeze", "control", 0)
    assert treated["max_rally_pct"] > control["max_rally_pct"] + 5.0
    assert treated["dealers"]["gex_min"] < 0
    # net buyers of the underlying over the run: one seed's net flow depends on how much of the
    # rally is given back by the close (seed 0: about -0.07 M shares against +0.9 M and +2.0 M on
    # seeds 1 and 2), so the flow is summed over three seeds
    flows = [treated["dealers"]["hedge_flow"]] + [
        full_metrics("gamma_squeeze", "treatment", seed)["dealers"]["hedge_flow"] for seed in (1, 2)
    ]
    assert sum(flows) > 0


@pytest.mark.slow
def test_expiry_pinning_draws_the_close_toward_the_strike():
    seeds = tuple(range(8))
    pull = arm_means(
        "expiry_pinning", ("treatment", "control"), seeds, lambda m: m["pin"]["pull_to_strike_bp"]
    )
    paired = np.subtract(pull["treatment"][1], pull["control"][1])
    # the fundamental path is the same in both arms of a seed: compare seed by seed; with flow
    # now moving the price for good the close is noisier, so eight seeds (5 of 8 pulled, mean
    # +34 bp when this was written)
    assert paired.mean() > 0.0
    assert (paired > 0).sum() >= 5
