"""The intraday rhythm and the call auctions, wired into the model."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY


def cfg_with(open_boost=0.0, close_boost=0.0, open_s=0.0, close_s=0.0, seed=0, **market):
    cfg = RunConfig(seed=seed, progress=False)
    cfg.market.intraday.open_boost = open_boost
    cfg.market.intraday.close_boost = close_boost
    cfg.market.auctions.open_seconds = open_s
    cfg.market.auctions.close_seconds = close_s
    for key, value in market.items():
        setattr(cfg.market, key, value)
    return cfg


def run_for(cfg, seconds):
    model = HedgeLoopModel(cfg)
    for _ in range(round(seconds / model.dt)):
        model.step()
    return model


def test_profile_brings_activity_to_the_open():
    flat = run_for(cfg_with(), 600.0)
    u_shaped = run_for(cfg_with(open_boost=4.0), 600.0)
    assert u_shaped.book.n_orders > 1.5 * flat.book.n_orders


def test_opening_call_prints_once_then_trading_runs():
    model = run_for(cfg_with(open_s=60.0), 120.0)
    calls = model.rules["auctions"]
    assert calls.prints[0].kind == "open" and calls.prints[0].time == 60.0
    assert all(t.time >= 60.0 for t in model.book.trades)
    assert any(t.time > 60.0 for t in model.book.trades)
    model.finish()


@pytest.mark.slow
def test_closing_auction_is_the_official_close():
    model = HedgeLoopModel(cfg_with(open_s=60.0, close_s=300.0, close_boost=2.0, step_seconds=5.0))
    model.run()
    calls = model.rules["auctions"]
    close = [p for p in calls.prints if p.kind == "close"]
    assert len(close) == 1 and close[0].time == SECONDS_PER_DAY - model.dt
    assert close[0].volume > 0 and model.closes == [pytest.approx(close[0].price)]
    in_call = [
        t
        for t in model.book.trades
        if SECONDS_PER_DAY - 300.0 <= t.time < SECONDS_PER_DAY - model.dt
    ]
    assert not in_call  # continuous trading stopped
    model.finish()


def agentless_config(days: int, seed: int = 0, **intraday) -> RunConfig:
    """A run with no participants and one-minute steps: only F moves."""
    cfg = RunConfig(seed=seed, progress=False)
    for name in ("background", "liquidity", "customers", "dealers", "insurers"):
        getattr(cfg.agents, name).n = 0
    cfg.desk.enabled = False
    cfg.agents.closing_flow.enabled = False
    cfg.agents.latent.enabled = False  # alone in an empty book it trades with itself, slowly
    cfg.market.step_seconds = 60.0
    cfg.market.record_interval = 60.0
    cfg.scenario.days = days
    cfg.scenario.events = {}
    for key, value in intraday.items():
        setattr(cfg.market.intraday, key, value)
    return cfg


def fundamental_path(days: int, seed: int = 0, **intraday) -> np.ndarray:
    """log F at every step of an agent-less run with one-minute steps (only F moves)."""
    model = HedgeLoopModel(agentless_config(days, seed, **intraday))
    path = [model.fundamental]
    while model.running:
        model.step()
        path.append(model.fundamental)
    return np.log(np.asarray(path))


def test_overnight_news_moves_the_fundamental_at_the_open():
    def open_jumps(var):
        steps = np.diff(fundamental_path(8, overnight_variance=var))
        at_open = np.abs(steps[390::390])  # the first step of days 1..7
        return at_open.mean() / np.abs(steps).mean()

    assert open_jumps(0.0) < 3.0  # an ordinary step
    assert open_jumps(0.5) > 5.0  # a session's worth of news, released at once


@pytest.mark.parametrize("variance", [0.0, 0.5])
def test_the_nights_news_is_public_news_and_the_day_s_diffusion_is_not(variance):
    model = HedgeLoopModel(agentless_config(4, seed=3, overnight_variance=variance))
    changed_on = []
    while model.running:
        day, news = model.day, model.public_news
        model.step()
        if model.public_news != news:
            changed_on.append(model.day != day)
    # the news moves only when a day opens (once a night), never within a session
    assert changed_on == ([True] * 3 if variance else [])


def test_news_boost_scale_concentrates_news_at_the_ends_of_the_day():
    def open_over_midday(scale):
        steps = np.diff(fundamental_path(20, news=True, news_boost_scale=scale)).reshape(20, 390)
        return np.abs(steps[:, :30]).mean() / np.abs(steps[:, 150:270]).mean()

    assert open_over_midday(3.0) > 1.2 * open_over_midday(1.0) > 1.0
