"""Stale-quote takers in a whole book-mode day: they trade, the market stays conserved to the
cent, the run is deterministic per seed, the dealers pay for their stale quotes, and the config
refuses bad values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import ConfigError, RunConfig
from experiments.model import POPULATION_NAMES, HedgeLoopModel
from experiments.options_config import OptionsMarketConfig
from tests.conftest import small_book_config


def taker_config(seed: int = 0, takers: int = 2) -> RunConfig:
    """A small book-mode day (tests.conftest.small_book_config: minute steps, so the dealers
    re-quote once a minute) with ``takers`` stale-quote takers."""
    cfg = small_book_config(seed)
    opts = cfg.market.options
    opts.stale_takers = takers
    opts.stale_taker_rate = 0.01
    return cfg


def taker_day(seed: int = 0, takers: int = 2) -> HedgeLoopModel:
    m = HedgeLoopModel(taker_config(seed, takers))
    m.run()
    return m


@pytest.fixture(scope="module")
def day() -> HedgeLoopModel:
    return taker_day()


def test_the_takers_are_a_population_of_their_own_and_trade(day: HedgeLoopModel) -> None:
    assert tuple(day.populations) == (*POPULATION_NAMES, "stale_takers")
    s = day.population_summaries()["stale_takers"]
    assert s["takers"] == 2 and s["iocs"] > 0 and s["contracts_taken"] > 0
    assert 0 < s["contracts_from_dealers"] <= s["contracts_taken"]
    trades = day.extra_tables()["option_trades"]
    takers = {t.account for t in day.populations["stale_takers"]}
    mine = trades[trades.buyer.isin(takers) | trades.seller.isin(takers)]
    assert mine.qty.sum() == s["contracts_taken"]
    assert set(mine.buyer_population) | set(mine.seller_population) >= {"stale_takers", "dealers"}
    # a taker only ever takes: it is the aggressor of every print it is in
    aggressor = np.where(mine.aggressor_side > 0, mine.buyer, mine.seller)
    assert set(aggressor.tolist()) <= takers


def test_a_taker_day_is_conserved_and_positions_come_from_prints(day: HedgeLoopModel) -> None:
    assert day.finish() == {"cash": 0.0, "shares": 0, "options": 0}
    trades = day.extra_tables()["option_trades"]
    live = ~day.chain.expired
    for t in day.populations["stale_takers"]:
        bought = trades[(trades.buyer == t.account) & live[trades.contract]]
        sold = trades[(trades.seller == t.account) & live[trades.contract]]
        net = np.zeros(len(day.chain), dtype=np.int64)
        np.add.at(net, bought.contract.to_numpy(), bought.qty.to_numpy())
        np.subtract.at(net, sold.contract.to_numpy(), sold.qty.to_numpy())
        assert np.array_equal(day.ledger.options[t.account][live], net[live])
        limit = day.cfg.market.options.stale_max_position_contracts
        assert np.abs(day.ledger.options[t.account]).max() <= limit


def test_the_dealers_pay_an_adverse_selection_cost_to_the_takers(day: HedgeLoopModel) -> None:
    s = day.population_summaries()["stale_takers"]
    opts = day.cfg.market.options
    # every fill is more than the edge beyond the fair value of the look that sent it
    hurdle = opts.stale_edge_ticks * day.option_market.tick * day.ledger.multiplier
    assert s["dealers_adverse_selection_cost"] > hurdle * s["contracts_from_dealers"] > 0
    assert s["adverse_selection_cost"] >= s["dealers_adverse_selection_cost"]
    assert np.isfinite(s["pnl_at_mid"])


def test_a_taker_day_is_deterministic_per_seed(day: HedgeLoopModel) -> None:
    again = taker_day()
    for name, frame in day.extra_tables().items():
        pd.testing.assert_frame_equal(frame, again.extra_tables()[name], obj=name)
    assert day.population_summaries() == again.population_summaries()
    assert np.array_equal(day.ledger.cash, again.ledger.cash)


def test_bad_taker_settings_are_refused_naming_the_field_and_range() -> None:
    assert OptionsMarketConfig().stale_takers == 0
    assert RunConfig().market.options.stale_takers == 0
    cases = {
        "stale_takers": (-1, r"\[0, 1000\]"),
        "stale_taker_rate": (0.0, r"\(0"),
        "stale_edge_ticks": (-0.5, r"\[0"),
        "stale_max_contracts": (0, r"\[1, 100000\]"),
        "stale_max_orders_per_look": (0, r"\[1, 10000\]"),
        "stale_max_position_contracts": (0, r"\[1, 10000000\]"),
    }
    for field, (value, rng) in cases.items():
        with pytest.raises(ConfigError, match=rf"market\.options\.{field} must be in {rng}"):
            OptionsMarketConfig(**{field: value})


def test_no_takers_leaves_a_book_day_as_it_was() -> None:
    plain = taker_config(takers=0)
    tuned = taker_config(takers=0)
    tuned.market.options.stale_taker_rate = 50.0
    tuned.market.options.stale_edge_ticks = 0.0
    runs = [HedgeLoopModel(cfg) for cfg in (plain, tuned)]
    for m in runs:
        for _ in range(120):
            m.step()
    a, b = runs
    assert tuple(a.populations) == tuple(b.populations) == POPULATION_NAMES
    assert a.option_market.prints == b.option_market.prints and a.option_market.prints
    assert np.array_equal(a.ledger.cash, b.ledger.cash)
    assert np.array_equal(a.ledger.options, b.ledger.options)
