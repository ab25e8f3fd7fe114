"""Portfolio insurers: the replication maths, and insurers trading in a small scripted market."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from agents.desk import DeskConfig
from agents.insurers import (
    InsurerOrderStyle,
    InsurersConfig,
    PortfolioInsurer,
    RebalanceMode,
    cppi_exposure,
    insurer_totals,
    synthetic_put_equity_fraction,
)
from experiments.config import ConfigError, RunConfig
from experiments.model import HedgeLoopModel
from tests.conftest import continuous_session

MAKER = 0  # the ledger's spare account quotes the scripted market


# ---------------------------------------------------------------------------- pure functions
def test_hull_synthetic_put_case():
    # Hull's case in docs/reference.md: S=70, K=66.5, T=1, r=6%, q=3%, vol 25%.
    before = synthetic_put_equity_fraction(70.0, 66.5, 1.0, 0.25, 0.06, 0.03)
    after = synthetic_put_equity_fraction(70.0 * 0.77, 66.5, 1.0, 0.25, 0.06, 0.03)
    assert 1.0 - before == pytest.approx(0.3166, abs=5e-5)
    assert 1.0 - after == pytest.approx(0.7028, abs=5e-5)
    # 38.6% more of the portfolio must be sold after the 23% fall
    assert before - after == pytest.approx(0.386, abs=5e-4)


def test_synthetic_put_fraction_is_n_d1_without_dividends_and_broadcasts():
    s = np.array([80.0, 100.0, 120.0])
    k, t, vol, r = 95.0, 0.5, 0.2, 0.01
    d1 = (np.log(s / k) + (r + 0.5 * vol**2) * t) / (vol * np.sqrt(t))
    got = synthetic_put_equity_fraction(s, k, t, vol, r)
    np.testing.assert_allclose(got, ndtr(d1), rtol=1e-12)
    assert np.all(np.diff(got) > 0)  # more stock as the price rises: sells into declines
    assert isinstance(synthetic_put_equity_fraction(100.0, 95.0, 0.5, 0.2), float)


def test_cppi_exposure_cushion_multiplier_and_cap():
    assert cppi_exposure(100.0, 80.0, 3.0) == pytest.approx(60.0)
    assert cppi_exposure(100.0, 80.0, 6.0) == pytest.approx(100.0)  # capped at V
    assert cppi_exposure(100.0, 80.0, 6.0, max_leverage=1.5) == pytest.approx(120.0)
    assert cppi_exposure(75.0, 80.0, 3.0) == 0.0  # below the floor: all cash
    got = cppi_exposure(np.array([90.0, 100.0, 110.0]), 80.0, 4.0)
    np.testing.assert_allclose(got, [40.0, 80.0, 110.0])
    with pytest.raises(ValueError, match="multiplier"):
        cppi_exposure(100.0, 80.0, 0.0)


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("cppi_floor", 1.0, ConfigError, r"agents\.insurers\.cppi_floor must be in \[0.0, 1.0\)"),
        ("max_participation", 1.5, ConfigError, r"agents\.insurers\.max_participation"),
        ("rate", 0.0, ConfigError, r"agents\.insurers\.rate must be in \(0.0, 100.0\]"),
        ("put_vol", -0.1, ConfigError, r"agents\.insurers\.put_vol"),
        ("rebalance", "weekly", ValueError, "weekly"),
    ],
)
def test_bad_config_names_the_field(field, value, error, match):
    with pytest.raises(error, match=match):
        InsurersConfig(**{field: value})


# ---------------------------------------------------------------------------- scripted market
class ScriptedMaker:
    """The spare account quotes a ladder around ``center`` (ticks); nothing else trades."""

    def __init__(self, model: HedgeLoopModel, center: int, size: int = 50_000) -> None:
        self.model = model
        self.center = center
        self.size = size
        self.orders: list[int] = []

    def refresh(self) -> None:
        venue = self.model.venue
        for oid in self.orders:
            venue.cancel(oid)
        self.orders = []
        for k in range(1, 6):
            self.orders.append(venue.limit(MAKER, 1, self.center - k, self.size))
            self.orders.append(venue.limit(MAKER, -1, self.center + k, self.size))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.refresh()
            self.model.step()


def make_model(**insurers) -> tuple[HedgeLoopModel, ScriptedMaker]:
    cfg = continuous_session(RunConfig())
    for name in ("background", "liquidity", "customers", "dealers"):
        getattr(cfg.agents, name).n = 0
    cfg.agents.latent.enabled = False
    cfg.desk = DeskConfig(enabled=False)
    r = cfg.market.rules
    r.circuit_breakers = r.luld = r.stop_logic = False
    opts = {
        "n": 2,
        "rate": 1.0,
        "shares_outstanding": 1_000_000,
        "wealth_fraction": 0.01,
        "max_participation": None,
    }
    opts.update(insurers)
    cfg.agents.insurers = InsurersConfig(**opts)
    model = HedgeLoopModel(cfg)
    maker = ScriptedMaker(model, model.to_ticks(cfg.market.initial_price))
    return model, maker


def members(model) -> list[PortfolioInsurer]:
    return model.populations["insurers"]


def test_populate_shares_the_wealth_and_splits_strategies():
    model, _ = make_model(n=4, cppi_share=0.25)
    ins = members(model)
    assert [m.strategy for m in ins] == ["cppi"] + ["synthetic_put"] * 3
    total = sum(m.initial_cash + m.initial_shares * 100.0 for m in ins)
    assert total == pytest.approx(0.01 * 1_000_000 * 100.0)
    # CPPI with floor 0.75 and multiplier 4 starts fully invested; the put replicator partly
    assert ins[0].initial_shares == 2500
    assert 0 < ins[1].initial_shares < 2500
    assert all(m.initial_cash >= 0 for m in ins)


def test_populate_needs_a_share_count():
    with pytest.raises(ValueError, match=r"agents\.insurers\.shares_outstanding"):
        make_model(shares_outstanding=None)


@pytest.mark.parametrize("style", [InsurerOrderStyle.market, InsurerOrderStyle.aggressive_limit])
def test_both_strategies_sell_into_a_decline_and_buy_into_a_rise(style):
    model, maker = make_model(order_style=style)
    maker.run(20)
    assert all(m.executed == 0 for m in members(model))  # no move, no trade
    maker.center = model.to_ticks(90.0)
    maker.run(30)
    sold = {m.strategy: m.executed for m in members(model)}
    assert sold["cppi"] < 0 and sold["synthetic_put"] < 0
    assert all(m.backlog == 0 for m in members(model))  # uncapped: everything executed
    maker.center = model.to_ticks(100.0)
    maker.run(30)
    for m in members(model):
        assert m.executed > sold[m.strategy]  # bought back part of it
        # executed comes from fills and agrees with the ledger
        assert model.ledger.shares[m.account] == m.initial_shares + m.executed
    model.finish()


def test_capacity_makes_execution_lag_the_demand():
    model, maker = make_model(max_shares_per_action=10)
    maker.run(5)
    maker.center = model.to_ticks(85.0)
    maker.run(20)
    for m in members(model):
        assert m.demanded < -500
        assert m.demanded < m.executed < 0
        assert m.backlog == m.demanded - m.executed
        assert m.executed == -10 * m.n_orders  # every action capped at 10 shares
    totals = insurer_totals(members(model), 85.0)
    assert totals["demanded"] < totals["executed"] < 0
    assert totals["backlog_value"] == pytest.approx(totals["backlog"] * 85.0)


def test_participation_cap_stops_trading_without_market_volume():
    # Only the insurers trade here, so a participation cap of recent volume never opens.
    model, maker = make_model(max_participation=0.1)
    maker.run(5)
    maker.center = model.to_ticks(85.0)
    maker.run(20)
    for m in members(model):
        assert m.demanded < 0
        assert m.executed == 0


def test_threshold_band_ignores_small_moves():
    model, maker = make_model(rebalance=RebalanceMode.threshold, threshold=0.05)
    maker.run(5)
    maker.center = model.to_ticks(99.0)
    maker.run(30)
    assert all(m.n_rebalances == 0 and m.executed == 0 for m in members(model))
    maker.center = model.to_ticks(92.0)
    maker.run(10)
    assert all(m.n_rebalances >= 1 and m.executed < 0 for m in members(model))


def test_schedule_rebalances_small_moves_only_at_scheduled_times():
    model, maker = make_model(rebalance=RebalanceMode.schedule, schedule_s=40.0, cppi_share=0.0)
    maker.center = model.to_ticks(99.0)
    maker.run(120)
    for m in members(model):
        assert m.executed < 0  # a 1% move is traded, no band in schedule mode
        assert 2 <= m.n_rebalances <= 3  # every 40 s over 120 s, from a random first time


def test_static_insurers_never_trade():
    model, maker = make_model(static=True)
    maker.run(5)
    maker.center = model.to_ticks(80.0)
    maker.run(30)
    for m in members(model):
        assert m.executed == 0 and m.n_orders == 0
        assert model.ledger.shares[m.account] == m.initial_shares
        assert m.demanded < 0  # the model still says what it would have sold
    assert len(model.book.trades) == 0
