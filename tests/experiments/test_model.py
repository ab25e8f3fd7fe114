"""The assembled model: reproducibility, conservation, independent streams, action-driven cost."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from experiments.config import RunConfig
from experiments.events import EventConfig, EventKind
from experiments.model import HedgeLoopModel, population_stream
from experiments.run import simulate
from market.exchange.clearing import ConservationError
from market.exchange.clock import SECONDS_PER_DAY


def short_cfg(seed: int = 0, **pop_n) -> RunConfig:
    cfg = RunConfig(seed=seed, progress=False)
    for name, n in pop_n.items():
        getattr(cfg.agents, name).n = n
    return cfg


def run_for(cfg: RunConfig, seconds: float) -> HedgeLoopModel:
    model = HedgeLoopModel(cfg)
    for _ in range(round(seconds / model.dt)):
        model.step()
    return model


def trades_of(model) -> list:
    return list(model.book.trades)


def test_same_seed_same_trades_and_state():
    a = run_for(short_cfg(3), 1200)
    b = run_for(short_cfg(3), 1200)
    assert trades_of(a) == trades_of(b)
    assert np.array_equal(a.ledger.cash, b.ledger.cash)
    assert np.array_equal(a.ledger.options, b.ledger.options)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )


def test_different_seed_different_trades():
    a = run_for(short_cfg(3), 900)
    b = run_for(short_cfg(4), 900)
    assert trades_of(a) != trades_of(b)


def test_population_streams_are_independent_of_each_other():
    s1 = population_stream(11, "background").random(5)
    s2 = population_stream(11, "background").random(5)
    s3 = population_stream(11, "liquidity").random(5)
    assert np.array_equal(s1, s2)
    assert not np.allclose(s1, s3)


def test_adding_a_population_leaves_others_draws_unchanged():
    """Background traders' clock draws are the same whether insurers exist or not."""
    with_ins = HedgeLoopModel(short_cfg(5))
    without = HedgeLoopModel(short_cfg(5, insurers=0))
    bg_a = with_ins.clocks[0]
    bg_b = without.clocks[0]
    assert bg_a.members[0].population == bg_b.members[0].population == "background"
    bg_a.population.observe(with_ins)
    bg_b.population.observe(without)
    draws_a = [len(bg_a.draw(1.0)) for _ in range(200)]
    draws_b = [len(bg_b.draw(1.0)) for _ in range(200)]
    assert draws_a == draws_b


def test_every_print_is_conserved_to_the_cent():
    model = run_for(short_cfg(1), 2400)
    res = model.finish()
    assert res == {"cash": 0.0, "shares": 0, "options": 0}
    assert model.ledger.n_transfers >= len(model.book.trades)


def test_broken_conservation_fails_loudly():
    model = run_for(short_cfg(1), 60)
    model.ledger.cash[1] += 1  # one cent created from nothing
    with pytest.raises(ConservationError, match="cash"):
        model.finish()


def test_fundamental_shock_event_moves_the_value():
    cfg = short_cfg(2)
    cfg.market.fundamental_vol = 0.0
    cfg.scenario.events = [
        EventConfig(kind=EventKind.fundamental_shock, day=0, at="09:40", size=-0.05)
    ]
    model = run_for(cfg, 660)
    assert model.fundamental == pytest.approx(cfg.market.initial_price * np.exp(-0.05))
    assert model.public_news == pytest.approx(-0.05)  # news everyone hears of at once


def test_full_day_closes_and_settles_0dte_expiry():
    cfg = short_cfg(0)
    model = HedgeLoopModel(cfg)
    model.run()
    assert model.now == SECONDS_PER_DAY - model.dt
    assert len(model.closes) == 1
    first_expiry = model.chain.expiry.min()
    assert first_expiry == SECONDS_PER_DAY
    expired = model.chain.expired
    assert expired[model.chain.expiry == first_expiry].all()
    assert not model.ledger.options[:, expired].any()
    model.finish()


def test_actions_drive_cost_not_idle_agents():
    """Ten times the background agents at a tenth of the rate: about the same number of orders.

    The rate is held constant (no activity feedback): how calm the market is, and so how much
    the crowd trades, depends on how many independent opinions it holds.
    """
    base = short_cfg(7)
    base.agents.background.activity_feedback = 0.0
    many = copy.deepcopy(base)
    many.agents.background.n *= 10
    many.agents.background.rate /= 10
    a = run_for(base, 1200)
    b = run_for(many, 1200)
    ratio = b.book.n_events / a.book.n_events
    assert 0.7 < ratio < 1.4


def test_simulate_writes_the_output_contract(tmp_path):
    cfg = RunConfig(seed=0, progress=False)
    cfg.scenario.days = 1
    summary = simulate(cfg, tmp_path)
    for name in (
        "summary.json",
        "timeseries.parquet",
        "trades.parquet",
        "flow_network.graphml",
        "flow_network.csv",
        "figures/overview.png",
    ):
        assert (tmp_path / name).exists(), name
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    for key in (
        "scenario",
        "seed",
        "wall_seconds",
        "n_agents",
        "n_book_events",
        "price",
        "stylized_facts",
        "populations",
        "conservation_residuals",
        "halts",
        "flow_network",
    ):
        assert key in on_disk, key
    assert on_disk["conservation_residuals"] == {"cash": 0.0, "shares": 0, "options": 0}
    assert on_disk["n_agents"] >= 1000
    trades = pd.read_parquet(tmp_path / "trades.parquet")
    assert len(trades) == summary["n_trades"]
    assert set(trades["buyer_population"]) <= {*on_disk["populations"], "other"}
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert {
        "time",
        "mid",
        "spread_ticks",
        "volume",
        "halted",
        "dealer_gex",
        "insurer_demanded",
        "desk_filled",
    } <= set(ts.columns)
    # net flows across populations sum to zero: every share bought was sold by someone
    assert sum(p["net_flow"] for p in on_disk["populations"].values()) == 0
