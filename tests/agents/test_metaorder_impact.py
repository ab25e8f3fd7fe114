"""Square-root impact per episode of one account's same-side trading, part of it kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.latent_config import LatentConfig
from agents.latent_liquidity import LatentTrader
from agents.metaorder_impact import MetaorderImpact, square_root_impact
from experiments.api import load_config
from experiments.model import HedgeLoopModel
from market.validation import ConfigError
from tests.conftest import latent_market

V = 10_000_000.0  # daily volume
C = 10e-4  # 10 bp at 1% of the daily volume


def test_square_root_impact_textbook_values():
    q = np.array([100_000.0, -400_000.0, 25_000.0, 0.0])
    got = square_root_impact(q, C, V)
    # 1% of V: the coefficient; 4%: twice it, sold; 0.25%: half of it
    np.testing.assert_allclose(got, [C, -2 * C, 0.5 * C, 0.0])
    with pytest.raises(ValueError, match="daily_volume"):
        square_root_impact(q, C, 0.0)


def test_an_episode_peaks_as_the_square_root_and_keeps_its_permanent_share():
    m = MetaorderImpact(C, 2 / 3, gap=1800.0)
    shift = 0.0
    for k in range(100):  # 100 child buys of 4,000 shares, one a minute: 4% of V
        shift += m.update(60.0 * k, [7], [4_000], V)
    assert m.level == pytest.approx(2 * C)  # peak: sqrt(4) x the coefficient
    assert shift == pytest.approx(m.level)
    assert m.kept == 0.0
    # half an hour and a bit of quiet ends it: two thirds stay
    shift = m.update(60.0 * 99 + 1801.0, [], [], V)
    assert m.level == pytest.approx(2 / 3 * 2 * C)
    assert shift == pytest.approx(-1 / 3 * 2 * C)
    assert m.episodes == 1


def test_concave_in_size_while_the_flows_sum_is_linear():
    """Two accounts each buying 1% move value by twice one account's 1%, not by 2% (sqrt 2)."""
    one, two = MetaorderImpact(C, 1.0, 1800.0), MetaorderImpact(C, 1.0, 1800.0)
    one.update(0.0, [1], [200_000], V)
    two.update(0.0, [1, 2], [100_000, 100_000], V)
    assert two.level == pytest.approx(2 * C)
    assert one.level == pytest.approx(math.sqrt(2) * C)


def test_a_reversal_ends_the_episode_and_a_round_trip_of_equal_runs_leaves_nothing():
    m = MetaorderImpact(C, 2 / 3, gap=1800.0)
    m.update(0.0, [3], [100_000], V)
    m.update(60.0, [3], [-100_000], V)  # sells it back: the buy's episode ends
    assert m.episodes == 1
    assert m.kept == pytest.approx(2 / 3 * C)
    assert m.level == pytest.approx(2 / 3 * C - C)
    m.update(60.0 + 1801.0, [], [], V)
    assert m.episodes == 2
    assert m.level == pytest.approx(0.0, abs=1e-15)


def test_accounts_are_read_apart_and_grow_the_arrays():
    m = MetaorderImpact(C, 0.5, gap=100.0)
    m.update(0.0, [0, 5000], [100_000, -100_000], V)
    assert m.q.size >= 5001
    assert m.level == pytest.approx(0.0)
    m.update(50.0, [0], [300_000], V)  # account 0's episode goes on: 4% of V
    assert m.level == pytest.approx(2 * C - C)
    m.update(120.0, [], [], V)  # account 5000 went quiet at 0 s; 0 traded at 50 s
    assert m.episodes == 1 and m.kept == pytest.approx(-0.5 * C)


def test_an_account_read_at_a_weight_moves_value_by_that_share_of_the_root():
    m = MetaorderImpact(C, 0.5, gap=100.0)
    m.set_weight(3, 0.25)
    m.update(0.0, [3, 4], [400_000, 100_000], V)  # 4% and 1% of V
    assert m.level == pytest.approx(0.25 * 2 * C + C)
    m.update(200.0, [], [], V)  # both went quiet: half of each weighted peak stays
    assert m.kept == pytest.approx(0.5 * (0.25 * 2 * C + C))
    with pytest.raises(ValueError, match="weight"):
        m.set_weight(3, 1.5)
    with pytest.raises(ValueError, match="account"):
        m.set_weight(-1, 0.5)


def test_in_the_market_the_dealers_hedges_are_read_at_their_weight_and_no_one_else():
    cfg = load_config("baseline", "agents.latent.metaorder_dealer_weight=0.25")
    cfg.scenario.days = 1
    model = HedgeLoopModel(cfg)
    for _ in range(600):
        model.step()
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    dealers = [d.account for d in model.populations["dealers"]]
    weight = trader.metaorders.weight
    assert dealers and all(weight[a] == 0.25 for a in dealers)
    assert np.all(np.delete(weight, dealers) == 1.0)
    model.finish()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metaorder_impact", -1.0),
        ("metaorder_permanent", 1.5),
        ("metaorder_gap", 0.0),
        ("metaorder_dealer_weight", -0.1),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.latent.{field}"):
        LatentConfig(**{field: value})


def _run(impact: float) -> tuple[HedgeLoopModel, LatentTrader]:
    model = latent_market(metaorder_impact=impact)
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    return model, trader


def test_in_the_market_a_buy_program_lifts_latent_value_and_off_it_does_nothing():
    for impact in (0.0, 20.0):
        model, trader = _run(impact)
        for _ in range(300):
            model.step()
        model.state.update()
        trader._next_update = model.now
        trader.act()
        before, anchor = trader.metaorders.level, trader.latent.anchor
        account = model.populations["liquidity"][0].account
        model.venue.market(account, +1, 20_000)
        model.state.update()
        trader._next_update = model.now
        trader.act()
        if impact == 0.0:
            assert trader.metaorders.level == 0.0
            continue
        assert trader.metaorders.level > before  # the program's episode holds value up
        assert trader.latent.anchor > anchor
        own = (
            trader.metaorders.q[trader.account] if trader.account < trader.metaorders.q.size else 0
        )
        assert own == 0  # the latent orders' own crossing is not an episode
        model.finish()
