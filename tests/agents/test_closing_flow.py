"""The closing flow: index funds' and leveraged ETFs' orders reach the closing call."""

from __future__ import annotations

import numpy as np
import pytest

from agents.closing_flow import ClosingFlowConfig, ClosingFund, index_order, letf_rebalance
from experiments.config import RunConfig, to_run_config
from experiments.model import POPULATION_NAMES, HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.validation import ConfigError


def test_letf_rebalance_buys_after_up_days_for_leveraged_and_inverse_funds():
    # AUM (L^2 - L) r / price: 1e8 * 6 * 1% / 100 = 60,000 shares for a 3x fund
    assert letf_rebalance(1e8, 3.0, 0.01, 100.0) == 60_000
    assert letf_rebalance(1e8, 3.0, -0.01, 100.0) == -60_000
    assert letf_rebalance(1e8, -1.0, 0.01, 100.0) == 20_000  # inverse funds are short gamma too
    assert letf_rebalance(1e8, 2.0, 0.02, 100.0) == 2 * letf_rebalance(1e8, 2.0, 0.01, 100.0)


def test_index_orders_scale_with_the_days_volume():
    draws = [index_order(np.random.default_rng(s), 0.02, 1e6) for s in range(400)]
    assert np.std(draws) == pytest.approx(0.02 * 1e6, rel=0.15)
    assert min(draws) < 0 < max(draws)  # buyers and sellers
    assert index_order(np.random.default_rng(0), 0.02, 0.0) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("letf_leverage", 0.5), ("letf_leverage", 1.0), ("index_flow", -0.1), ("n_index", -1)],
)
def test_bad_config_is_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.closing_flow.{field}"):
        ClosingFlowConfig(**{field: value})


def test_cutoff_beyond_the_window_is_refused():
    with pytest.raises(ConfigError, match="cutoff_seconds"):
        ClosingFlowConfig(window_seconds=10.0, cutoff_seconds=20.0)


@pytest.fixture(scope="module")
def default_day():
    """One default day (5-s steps to keep it quick; the cutoff two steps before the close)."""
    cfg = RunConfig(seed=4, progress=False)
    cfg.market.step_seconds = 5.0
    cfg.agents.closing_flow.cutoff_seconds = 10.0
    model = HedgeLoopModel(to_run_config(cfg))
    model.run()
    model.finish()
    return model


def test_default_day_has_auction_prints_at_the_open_and_the_close(default_day):
    calls = default_day.rules["auctions"]
    assert [p.kind for p in calls.prints] == ["open", "close"]
    assert all(p.volume > 0 for p in calls.prints)
    assert calls.prints[1].time == SECONDS_PER_DAY - default_day.dt
    assert default_day.closes == [pytest.approx(calls.prints[1].price)]


def test_closing_orders_trade_in_the_closing_cross(default_day):
    model = default_day
    funds = [a for a in model.populations["closing_flow"] if isinstance(a, ClosingFund)]
    assert all(f.sent_day == 0 for f in funds)  # every fund sent its order
    cols = model.book.trades.columns()
    pop = POPULATION_NAMES.index("closing_flow")
    ours = (model.population_of[cols["aggressor_owner"]] == pop) | (
        model.population_of[cols["resting_owner"]] == pop
    )
    assert ours.any()
    assert np.all(cols["time"][ours] == SECONDS_PER_DAY - model.dt)  # only in the uncross
    assert not any(model.book.remaining(o) for f in funds for o in f.orders)
