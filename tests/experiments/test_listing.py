"""The run's option listing and the customers' open interest over many days: rolling expiries
are listed as old ones expire, strike grids cover the drift, and closing keeps OI stationary."""

from __future__ import annotations

import numpy as np
import pytest

from agents.customer_config import CustomersConfig
from agents.dealers import DealersConfig
from experiments.config import ChainConfig, RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.options.chain import expiry_of_day
from tests.conftest import options_only_config


def expiry_days_of(chain) -> list[int]:
    return sorted({round(e / SECONDS_PER_DAY) - 1 for e in chain.expiry})


def test_a_one_day_run_lists_the_configured_expiries_only():
    m = HedgeLoopModel(RunConfig(seed=0, progress=False))
    assert expiry_days_of(m.chain) == [0, 4, 19]
    assert len(m.chain) == 3 * 21 * 2  # 21 strikes, 1% apart, +/- 10%: no drift to cover
    assert m.chain.is_listed.all()


def test_a_long_run_lists_weeklies_ahead_with_wider_strikes():
    cfg = RunConfig(seed=0, progress=False)
    cfg.scenario.days = 20
    m = HedgeLoopModel(cfg)
    assert expiry_days_of(m.chain) == [0, 4, 19, 24, 29, 34, 39]
    frame = m.chain.to_frame()
    listed_day = frame.groupby("expiry_day")["listed_day"].first().to_dict()
    assert listed_day == {0: 0, 4: 0, 19: 0, 24: 4, 29: 9, 34: 14, 39: 19}
    width = frame.groupby("expiry_day")["strike"].agg(lambda k: k.max() - k.min()).to_dict()
    assert width[0] == pytest.approx(20.0)  # trades on day 0 only
    assert width[4] < width[19] == width[24] == width[39]  # 4 days of drift vs the whole run
    # 3 s.d. of 19 days at 17.5% vol: about 14.4% more on each side of the 10%
    assert m.chain.strike.max() == pytest.approx(124.0)
    # explicit expiries keep their configuration, rolling ones can be switched off
    cfg.market.chain.expiry_cycle_days = 0
    assert expiry_days_of(HedgeLoopModel(cfg).chain) == [0, 4, 19]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"expiry_cycle_days": 5, "listing_horizon_days": 3}, "market.chain.listing_horizon_days"),
        ({"expiry_cycle_days": -1}, "market.chain.expiry_cycle_days"),
        ({"strike_cover_sd": -0.5}, "market.chain.strike_cover_sd"),
    ],
)
def test_bad_listing_config_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        ChainConfig(**kw)


def daily_open_interest(close_hazard: float, days: int, min_close_value: float = 0.05, **chain):
    """The customers' open contracts (long and short) at each close of a customers-and-dealers
    run with 60-second steps. (The chain's open interest also counts dealers' positions, which
    offset across dealers without ever being netted, as no dealer trades with another.)"""
    cfg = options_only_config(0, step_seconds=60.0)
    cfg.scenario.days = days
    for key, value in chain.items():
        setattr(cfg.market.chain, key, value)
    cfg.agents.dealers = DealersConfig(n=2, hedge=False, initial_book="flat")
    cfg.agents.customers = CustomersConfig(
        n=4, rate=0.002, close_hazard=close_hazard, min_close_value=min_close_value
    )
    m = HedgeLoopModel(cfg)
    oi = []
    while m.running:
        m.step()
        if m.steps % m.steps_per_day == 0:
            customers = m.populations["customers"]
            oi.append(sum(int(np.abs(m.ledger.options[c.account]).sum()) for c in customers))
    return m, np.array(oi)


def test_open_interest_settles_with_closing_and_grows_without():
    # one far expiry and every position closable: nothing expires, so only closing can stop
    # the growth
    far = {"expiry_days": [40], "expiry_cycle_days": 0, "min_close_value": 0.0}
    _, settled = daily_open_interest(0.5, 8, **far)
    _, growing = daily_open_interest(0.0, 8, **far)
    assert growing[5:].mean() > 1.4 * growing[2:5].mean()
    assert settled[5:].mean() < 1.1 * settled[2:5].mean()
    assert settled[-1] < 0.5 * growing[-1]


def test_rolling_weeklies_are_traded_once_listed():
    m, _ = daily_open_interest(0.2, 6)
    traded = m.chain.to_frame().groupby("expiry_day")["open_interest"].sum()
    assert traded[24] > 0  # listed on day 4
    assert float(m.chain.expiry[m.chain.is_listed].max()) == expiry_of_day(24)
    assert not m.chain.is_listed[m.chain.expiry == expiry_of_day(29)].any()  # due on day 9
