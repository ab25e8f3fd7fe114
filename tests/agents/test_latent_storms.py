"""Latent liquidity that withdraws in storms: deposits scale down with remembered volatility."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from agents.latent_liquidity import (
    LatentBook,
    LatentConfig,
    LatentTrader,
    storm_ceiling,
    storm_memory,
    storm_multiplier,
)
from agents.volatility_memory import VolatilityMemory, log_spaced, power_weights
from experiments.model import HedgeLoopModel
from market.validation import ConfigError
from tests.conftest import book_only_config, force_vol

LOG_P = math.log(100.0)


def storm_cfg(**kw) -> LatentConfig:
    """A quick latent book (20-minute memory) whose deposits answer volatility with eta 2 on
    both sides (floor 0.2) and remember it over 1-10 minutes."""
    base = {
        "deposit_rate": 2.0,
        "forget_rate": 1.0 / 1200.0,
        "diffusion": 2e-8,
        "storm_exponent": 2.0,
        "storm_calm_exponent": 2.0,
        "storm_floor": 0.2,
        "storm_reference_vol": 0.3,
        "storm_memory_min": 60.0,
        "storm_memory_max": 600.0,
        "storm_memory_windows": 3,
    }
    base.update(kw)
    return LatentConfig(**base)


def test_memory_windows_and_weights():
    assert log_spaced(10.0, 1000.0, 3) == pytest.approx([10.0, 100.0, 1000.0])
    assert log_spaced(10.0, 1000.0, 1) == [10.0]
    w = power_weights(3, 1.0, 0.6)
    assert sum(w) == pytest.approx(0.6) and w[0] > w[1] > w[2]
    assert power_weights(4, 0.0, 1.0) == pytest.approx([0.25] * 4)


def test_memory_follows_a_burst_and_fades_slower_in_its_long_windows():
    mem = VolatilityMemory(log_spaced(60.0, 6000.0, 3), power_weights(3, 1.0, 1.0))
    assert mem.update(0.04, 1.0) == pytest.approx(0.04)  # starts where it is first fed
    for _ in range(600):
        mem.update(1.0, 1.0)  # ten minutes of 100% volatility
    raised = mem.update(0.04, 1.0)
    assert 0.04 < raised < 1.0
    assert mem.var is not None and mem.var[0] > mem.var[2] > 0.04  # the short window rose most
    for _ in range(600):
        mem.update(0.04, 1.0)
    assert mem.var[0] < mem.var[2]  # and forgets first


def test_multiplier_falls_as_remembered_volatility_rises_within_its_bounds():
    cfg = storm_cfg(storm_floor=0.25, storm_cap=2.0)
    m = [storm_multiplier(cfg, s) for s in (0.05, 0.2, 0.3, 0.4, 0.6, 5.0)]
    assert m[0] == 2.0 and m[-1] == 0.25  # capped in a calm market, floored in a storm
    assert m[1] > m[2] > m[3] > m[4]
    assert m[2] == pytest.approx(1.0)  # the reference volatility deposits at the base rate
    flat = storm_cfg(storm_exponent=0.0, storm_calm_exponent=0.0)
    assert {storm_multiplier(flat, s) for s in (0.0, 0.05, 0.3, 5.0)} == {1.0}


def test_each_side_of_the_reference_has_its_own_exponent_and_zero_switches_that_side_off():
    vols = (0.0, 0.05, 0.15, 0.3, 0.45, 0.9, 5.0)
    both = storm_cfg(storm_exponent=1.0, storm_calm_exponent=2.0, storm_floor=0.5, storm_cap=2.0)
    m = [storm_multiplier(both, s) for s in vols]
    assert all(a >= b for a, b in itertools.pairwise(m))  # never rises with volatility
    assert m[0] == m[1] == m[2] == 2.0  # calm enough: at the cap
    assert storm_multiplier(both, 0.25) == pytest.approx(1.2**2.0)  # calm: the calm power (2)
    assert m[4] == pytest.approx(0.3 / 0.45)  # storm: the storm power (1), above the floor
    assert m[-1] == 0.5
    # a gentle storm side does not weaken the calm side, and the other way round
    strong = storm_cfg(storm_exponent=2.0, storm_calm_exponent=2.0, storm_floor=0.5)
    assert storm_multiplier(strong, 0.25) == storm_multiplier(both, 0.25)
    assert storm_multiplier(strong, 0.4) < storm_multiplier(both, 0.4)
    no_thinning = storm_cfg(storm_exponent=0.0, storm_calm_exponent=2.0)
    assert {storm_multiplier(no_thinning, s) for s in (0.3, 0.45, 0.9, 5.0)} == {1.0}
    assert storm_multiplier(no_thinning, 0.2) > 1.0
    no_thickening = storm_cfg(storm_exponent=2.0, storm_calm_exponent=0.0)
    assert {storm_multiplier(no_thickening, s) for s in (0.0, 0.05, 0.2, 0.3)} == {1.0}
    assert storm_multiplier(no_thickening, 0.45) < 1.0


def deposits_after(cfg: LatentConfig, vol: float, seconds: float = 3600.0) -> int:
    """Latent orders deposited over ``seconds`` by a book whose multiplier follows a memory fed
    a constant volatility ``vol`` (price pinned at 100)."""
    book = LatentBook(cfg, np.random.default_rng(11), LOG_P, 0.0)
    mem = storm_memory(cfg)
    for t in np.arange(10.0, seconds + 10.0, 10.0):
        mult = storm_multiplier(cfg, math.sqrt(mem.update(vol**2, 10.0)))
        book.advance(float(t), LOG_P, deposit_multiplier=mult)
        book.reveal(LOG_P, LOG_P)
    return book.n_deposited


def test_deposits_fall_when_remembered_volatility_rises_and_not_with_eta_zero():
    cfg = storm_cfg()
    calm, normal, storm = (deposits_after(cfg, v) for v in (0.2, 0.3, 0.6))
    assert calm > 1.5 * normal and storm < 0.5 * normal  # (0.3 / sigma) ** 2: 2.25 and 0.25
    flat = storm_cfg(storm_exponent=0.0, storm_calm_exponent=0.0)
    assert deposits_after(flat, 0.2) == deposits_after(flat, 0.6) == deposits_after(flat, 0.3)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("storm_exponent", -1.0),
        ("storm_floor", 0.0),
        ("storm_cap", 0.5),
        ("storm_reference_vol", 0.0),
        ("storm_memory_windows", 0),
    ],
)
def test_bad_storm_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.latent.{field}"):
        dataclasses.replace(LatentConfig(), **{field: value})


def test_the_longest_storm_window_may_not_be_shorter_than_the_shortest():
    with pytest.raises(ConfigError, match="storm_memory_max"):
        LatentConfig(storm_memory_min=1000.0, storm_memory_max=100.0)


def near_density_after_spell(vol: float, eta: float, seconds: int = 2400) -> int:
    """Latent orders within 30 bp of the mid after ``seconds`` of a market whose 5-minute
    volatility reads ``vol``, with deposits answering it with exponent ``eta``."""
    cfg = book_only_config(seed=8, n_background=30, n_liquidity=3)
    cfg.scenario.days = 1
    cfg.agents.latent = storm_cfg(storm_exponent=eta)
    model = HedgeLoopModel(cfg)
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    for _ in range(seconds):
        force_vol(model, vol)
        model.step()
    buy, sell = trader.latent.density(math.log(model.state.mid), np.array([-0.003, 0.0, 0.003]))
    return int(buy[0] + sell[1])


def test_in_the_market_a_volatile_spell_leaves_the_latent_book_thinner_near_the_price():
    calm, storm = near_density_after_spell(0.15, 2.0), near_density_after_spell(0.9, 2.0)
    assert storm < 0.5 * calm
    # with eta 0 the same spells differ far less: the thinning is the deposits', not the price's
    calm0, storm0 = near_density_after_spell(0.15, 0.0), near_density_after_spell(0.9, 0.0)
    assert storm / calm < 0.5 * storm0 / calm0


def test_after_a_crash_the_deposits_recover_within_days():
    # the default windows (30 minutes to 20 trading days) under a strong storm side, where the
    # memory's cap matters most: a floor of 0.2 would otherwise hold for weeks
    cfg = dataclasses.replace(LatentConfig(), storm_exponent=2.0, storm_floor=0.2)
    ceiling = storm_ceiling(cfg)
    assert storm_multiplier(cfg, ceiling) == pytest.approx(cfg.storm_floor)
    day = 23_400.0
    mults = {}
    for capped in (True, False):
        mem = storm_memory(cfg)
        for t in np.arange(0.0, 5 * day, 60.0):
            vol = 2.0 if day <= t < 2 * day else 0.17  # calm, a crash day at 200%, calm
            vol = min(vol, ceiling) if capped else vol
            mult = storm_multiplier(cfg, math.sqrt(mem.update(vol * vol, 60.0)))
        mults[capped] = mult
    assert mults[True] > 0.8  # three calm days later the inflow is nearly back
    # remembered uncapped, the crash's squared volatility would hold it near the floor for weeks
    assert mults[False] < 0.5 * mults[True]
    assert storm_ceiling(dataclasses.replace(cfg, storm_exponent=0.0)) == math.inf
