"""Shared test set-ups: models holding only the populations a test needs, and ways to put the
market into a chosen state.

``book_only_config``: background traders and liquidity providers only (no option, insurer,
desk or latent flow). ``options_only_config``: customers and dealers only, with the share book
left to the test (scripted through account 0) and the price rules off, so the test controls the
price path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_YEAR

#: the background crowd anchored to the fundamental (no value learning, fresh opinions, the
#: fundamentalist, chartist and noise scales it had then, no volatility memory, no speculators and
#: no moods, a calm market at the base activity): unit tests of other mechanisms run on a market
#: whose price follows F closely, so that they test their mechanism rather than price formation.
#: With the memory on, this trend-following crowd keeps a 5% crash's storm going for hours
#: (activity at its cap, about 250% volatility): the habituation that used to end it is gone, and
#: value learning is what calms the default crowd
ANCHORED_BACKGROUND = {
    "value_learning": 0.0,
    "fundamentalist_scale": 1.0,
    "opinion_half_life_min": 0.0,
    "opinion_half_life_max": 0.0,
    "chartist_scale": 1.0,
    "noise_sd": 0.0005,
    "memory_weight": 0.0,
    "speculator_activity": 0.0,
    "activity_min_multiplier": 1.0,
    "mood_share": 0.0,
}


def anchor_background(cfg: RunConfig) -> RunConfig:
    """Set :data:`ANCHORED_BACKGROUND` on ``cfg`` (in place) and return it."""
    for key, value in ANCHORED_BACKGROUND.items():
        setattr(cfg.agents.background, key, value)
    return cfg


def continuous_session(cfg: RunConfig) -> RunConfig:
    """A flat day of continuous trading on ``cfg`` (in place): no call auctions, no intraday
    profile or news rhythm, no overnight news and no closing flow. Unit tests of other
    mechanisms start trading at the first second and read a market that stays open."""
    cfg.market.auctions.open_seconds = cfg.market.auctions.close_seconds = 0.0
    day = cfg.market.intraday
    day.open_boost = day.close_boost = day.overnight_variance = 0.0
    day.news = False
    cfg.agents.closing_flow.enabled = False
    return cfg


def book_only_config(seed: int, n_background: int, n_liquidity: int) -> RunConfig:
    """Background traders (anchored to F) and liquidity providers only: nothing else trades."""
    cfg = continuous_session(anchor_background(RunConfig(seed=seed, progress=False)))
    cfg.agents.customers.n = 0
    cfg.agents.dealers.n = 0
    cfg.agents.insurers.n = 0
    cfg.desk.enabled = False
    cfg.agents.latent.enabled = False
    cfg.agents.background.n = n_background
    cfg.agents.liquidity.n = n_liquidity
    return cfg


def options_only_config(seed: int = 0, step_seconds: float = 1.0) -> RunConfig:
    """Customers and dealers only (set them on the result); no circuit breakers or stop logic."""
    cfg = continuous_session(RunConfig())
    cfg.seed = seed
    cfg.agents.background.n = 0
    cfg.agents.liquidity.n = 0
    cfg.agents.insurers.n = 0
    cfg.desk.enabled = False
    cfg.agents.latent.enabled = False
    cfg.market.rules.circuit_breakers = False
    cfg.market.rules.stop_logic = False
    cfg.market.rules.luld = False
    cfg.market.step_seconds = step_seconds
    return cfg


def force_vol(model: HedgeLoopModel, vol: float) -> None:
    """Make the model's EWMA volatility read ``vol`` (annualised)."""
    st = model.state
    st._var = vol**2 * st._vol_sample / SECONDS_PER_YEAR
    assert st.vol == pytest.approx(vol)


def activity(model: HedgeLoopModel, population: str) -> float:
    """The population's activity multiplier after it observes the market now."""
    pop = model.populations[population]
    pop.observe(model)
    return pop.activity_multiplier


#: the checkout under test
ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    cwd: Path, *args: str, config_name: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``python -m experiments.run`` of this checkout with ``args``, launched from ``cwd``."""
    name = ["--config-name", config_name] if config_name else []
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *name, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def tiny_cfg() -> RunConfig:
    """A whole day in a second or two: few agents, five-second steps, no options."""
    cfg = RunConfig(seed=0, progress=False)
    cfg.agents.background.n = 60
    cfg.agents.liquidity.n = 2
    cfg.agents.customers.n = cfg.agents.dealers.n = cfg.agents.insurers.n = 0
    cfg.desk.enabled = False
    cfg.market.step_seconds = 5.0
    cfg.market.record_interval = 60.0
    return cfg


def small_book_config(seed: int = 0, step_seconds: float = 60.0, venue: str = "book") -> RunConfig:
    """A small day on the options' order books: a crowd, customers and three flat dealers on a
    short chain (two expiries, two strikes each side), requoting on 5-tick moves so that a day
    takes seconds."""
    cfg = tiny_cfg()
    cfg.seed = seed
    cfg.agents.background.n = 20
    cfg.agents.customers.n = 10
    cfg.agents.customers.rate = 0.01
    cfg.agents.dealers.n = 3
    cfg.agents.dealers.initial_book = "flat"
    cfg.market.step_seconds = step_seconds
    cfg.market.chain.n_strikes_each_side = 2
    cfg.market.chain.expiry_days = [0, 4]
    cfg.market.chain.strike_cover_sd = 0.0
    cfg.market.options.venue = venue
    cfg.market.options.requote_ticks = 5.0
    return cfg


def latent_market(**latent: float) -> HedgeLoopModel:
    """A crowd, liquidity providers and a dense latent book that does not learn from the price
    (seed 7, one day), with ``latent`` fields set on top; the latent trader is
    ``model.populations["latent"][0]``."""
    cfg = book_only_config(seed=7, n_background=60, n_liquidity=3)
    cfg.scenario.days = 1
    cfg.agents.latent.enabled = True
    cfg.agents.latent.deposit_rate = 2.0
    cfg.agents.latent.learning = 0.0
    for name, value in latent.items():
        setattr(cfg.agents.latent, name, value)
    return HedgeLoopModel(cfg)
