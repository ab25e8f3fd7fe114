"""Customers' packages through the complex order book in a whole book-mode day: packages trade by
every route they can, each package's legs print in one consecutive range under one id at prices
inside the legs' quotes, the market stays conserved to the cent, the run is deterministic per
seed, a share of 0 leaves the day as it was, and the config refuses bad values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.complex_market import ComplexMarket
from experiments.config import ConfigError, RunConfig
from experiments.model import HedgeLoopModel
from experiments.option_market import OptionMarket
from experiments.options_config import OptionsMarketConfig
from tests.conftest import small_book_config


def spread_config(seed: int = 0, share: float = 0.5) -> RunConfig:
    """A small book-mode day (tests.conftest.small_book_config) with customers' packages."""
    cfg = small_book_config(seed)
    opts = cfg.market.options
    opts.spread_share = share
    opts.spread_straddle_share = 0.3
    return cfg


def spread_day(seed: int = 0, share: float = 0.5) -> HedgeLoopModel:
    m = HedgeLoopModel(spread_config(seed, share))
    m.run()
    return m


@pytest.fixture(scope="module")
def day() -> HedgeLoopModel:
    return spread_day()


def _packages(day: HedgeLoopModel) -> dict:
    return day.population_summaries()["options_market"]["packages"]


def test_customers_trade_packages_and_the_summary_counts_them(day: HedgeLoopModel) -> None:
    s = _packages(day)
    assert s["packages"] > 0 and s["contracts"] > 0
    assert s["packages_by_route"]["coa"] > 0
    assert 0 < s["share_of_option_contracts"] < 1
    assert sum(s["contracts_by_route"].values()) == s["contracts"]
    trades = day.extra_tables()["option_trades"]
    routed = trades[trades.package_route != ""]
    assert routed.qty.sum() == s["contracts"]
    for route, n in s["contracts_by_route"].items():
        assert routed[routed.package_route == route].qty.sum() == n
    customers = day.populations["customers"]
    assert sum(sum(c.packages_traded.values()) for c in customers) > 0


def test_each_package_prints_its_legs_in_one_seq_range_inside_the_quotes(
    day: HedgeLoopModel,
) -> None:
    om = day.option_market
    assert om is not None
    trades = day.extra_tables()["option_trades"]
    legs = trades[trades.package_id > 0]
    assert (legs.price > 0).all()
    for package in om.complex.book.packages:
        mine = legs[legs.package_id == package.package_id].sort_values("seq")
        n = len(package.strategy.legs)
        assert mine.seq.tolist() == list(range(package.seq + 1, package.seq + 1 + n))
        assert mine.contract.tolist() == list(package.strategy.contracts)
        assert mine.price.tolist() == list(package.leg_prices)
        net = sum(r * p for r, p in zip(package.strategy.ratios, package.leg_prices, strict=True))
        assert net == package.net_price
    # every package leg printed inside its leg's best bid and offer of the last top recorded
    # before it, when the dealers' quotes stood on both sides then and did not move in between
    top = om.top_frame()
    checked = 0
    for leg in legs.itertuples():
        before = top[(top.contract == leg.contract) & (top.time < leg.time)]
        after = top[(top.contract == leg.contract) & (top.time >= leg.time)]
        if before.empty or after.empty:
            continue
        b, a = before.iloc[-1], after.iloc[0]
        if (b.bid_px, b.ask_px) != (a.bid_px, a.ask_px) or b.bid_px <= 0 or b.ask_px <= 0:
            continue
        assert b.bid_px <= leg.price <= b.ask_px
        checked += 1
    assert checked > 0


def test_a_package_day_is_conserved_to_the_cent(day: HedgeLoopModel) -> None:
    assert day.finish() == {"cash": 0.0, "shares": 0, "options": 0}


def test_a_package_day_is_deterministic_per_seed(day: HedgeLoopModel) -> None:
    again = spread_day()
    pd.testing.assert_frame_equal(
        day.extra_tables()["option_trades"], again.extra_tables()["option_trades"]
    )
    assert _packages(day) == _packages(again)


def test_a_share_of_zero_leaves_a_book_day_as_without_the_complex_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_book = spread_day(share=0.0)
    assert _packages(with_book)["packages"] == 0

    class Idle(ComplexMarket):
        """The complex market without its top listener: nothing of it runs."""

        def __init__(self, market: OptionMarket, *args: object) -> None:
            listeners = market.venue._top_listeners
            super().__init__(market, *args)  # type: ignore[arg-type]
            listeners.clear()

    monkeypatch.setattr("experiments.option_market.ComplexMarket", Idle)
    without = spread_day(share=0.0)
    pd.testing.assert_frame_equal(
        with_book.extra_tables()["option_trades"], without.extra_tables()["option_trades"]
    )
    assert with_book.population_summaries() == without.population_summaries()


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("spread_share", 1.5, "[0.0, 1.0]"),
        ("spread_share", -0.1, "[0.0, 1.0]"),
        ("spread_straddle_share", 2.0, "[0.0, 1.0]"),
        ("spread_calendar_share", -0.5, "[0.0, 1.0]"),
        ("spread_diagonal_share", 1.5, "[0.0, 1.0]"),
        ("package_max_packages", 0, "[1, 100000]"),
        ("package_vol_points", -1.0, "[0.0, 100.0]"),
        ("package_gamma_move", 1.5, "[0.0, 1.0]"),
    ],
)
def test_bad_package_fields_are_refused_naming_the_field(
    field: str, value: float, needle: str
) -> None:
    with pytest.raises(ConfigError) as err:
        OptionsMarketConfig(**{field: value})
    assert f"market.options.{field}" in str(err.value)
    assert needle in str(err.value)


def test_package_kind_shares_above_one_are_refused_naming_them() -> None:
    with pytest.raises(ConfigError, match="spread_calendar_share") as err:
        OptionsMarketConfig(spread_straddle_share=0.6, spread_calendar_share=0.4)
    assert "must be <= 1" in str(err.value) and "got 1.05" in str(err.value)


def test_calendars_and_diagonals_trade_with_legs_in_two_expiries() -> None:
    cfg = spread_config(share=1.0)
    opts = cfg.market.options
    opts.spread_straddle_share, opts.spread_calendar_share, opts.spread_diagonal_share = 0, 0.5, 0.5
    m = HedgeLoopModel(cfg)
    m.run()
    trades = m.extra_tables()["option_trades"]
    legs = trades[trades.package_id > 0]
    assert legs.package_id.nunique() > 10
    expiry = np.asarray(m.chain.expiry)
    spans = legs.groupby("package_id").contract.agg(lambda c: len(set(expiry[c])))
    assert (spans == 2).all()  # every package spans two expiries


def test_packages_are_refused_while_the_option_books_are_halted_and_trade_after() -> None:
    m = HedgeLoopModel(spread_config())
    om = m.option_market
    assert om is not None
    om.before_act()
    calls = [
        c
        for c in range(len(m.chain))
        if m.chain.is_call[c] and m.chain.live(m.now)[c] and m.chain.expiry[c] > m.now + 86_400
    ]
    legs = ((calls[0], 1), (calls[1], -1))
    account = m.populations["customers"][0].account
    om.venue.halt_all("test")
    fill = om.customer_package(account, legs, 1, 2)
    assert (fill.filled, fill.resting) == (0, 0)
    assert om.complex.book.refusals["halted"] == 1
    om.venue.reopen_all()
    before = m.ledger.options[account].copy()
    fill = om.customer_package(account, legs, 1, 2)
    assert fill.filled == 2 and fill.price > 0
    assert m.ledger.options[account][calls[0]] - before[calls[0]] == 2
    assert m.ledger.options[account][calls[1]] - before[calls[1]] == -2
