"""The options market in book mode: settlement of prints, halts, listings, customers' orders,
whole runs (deterministic per seed, conserved to the cent) and rfq mode left as it was."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from agents.customer_config import CustomersConfig
from experiments.config import ConfigError, RunConfig
from experiments.model import HedgeLoopModel
from experiments.option_market import OptionMarket
from experiments.options_config import OptionsMarketConfig
from experiments.report import summarise, write_outputs
from market.exchange.clock import SECONDS_PER_DAY
from tests.agents.test_dealer_quoting import book_model
from tests.agents.test_dealers import contract
from tests.conftest import small_book_config, tiny_cfg


def book_day(seed: int = 0, venue: str = "book") -> HedgeLoopModel:
    """A whole small day (tests.conftest.small_book_config) at 20-second steps."""
    cfg = small_book_config(seed, step_seconds=20.0, venue=venue)
    m = HedgeLoopModel(cfg)
    m.run()
    return m


@pytest.fixture(scope="module")
def day() -> HedgeLoopModel:
    return book_day()


def test_a_customer_order_settles_each_print_in_exact_cents_and_tells_the_dealer() -> None:
    m = book_model(n_dealers=1)
    om = m.option_market
    om.quote_pass()
    (dealer,) = m.populations["dealers"]
    (customer,) = m.populations["customers"]
    c = contract(m, 100.0, 4, True)
    ask = int(om.venue.top()[2][c])
    cash0 = int(m.ledger.cash[customer.account])
    fill = m.fill_option(customer.account, c, 1, 4)
    assert fill == (4, pytest.approx(ask * om.tick), 0)
    cents = ask * om.cents_per_tick * 4
    assert int(m.ledger.cash[customer.account]) == cash0 - cents
    assert m.ledger.options[customer.account, c] == 4
    assert m.ledger.options[dealer.account, c] == -4
    assert dealer.contracts_sold == 4 and dealer.net_gamma < 0  # booked from the print
    assert m.chain.open_interest[c] == 4
    assert m.option_volume == 4
    (record,) = om.prints
    assert (record.buyer, record.seller, record.qty, record.price) == (
        customer.account,
        dealer.account,
        4,
        ask,
    )


def test_an_order_that_cannot_fill_is_refused_and_a_resting_one_rests() -> None:
    m = book_model(n_dealers=1, rest_share=0.0)
    om = m.option_market
    (customer,) = m.populations["customers"]
    c = contract(m, 100.0, 4, True)
    assert m.fill_option(customer.account, c, 1, 5) == (0, 0.0, 0)  # no quotes yet
    om.quote_pass()
    fill = m.fill_option(customer.account, c, 1, 25)  # 10 offered
    assert (fill.filled, fill.resting) == (10, 0)
    assert om.customer["refused"] == 5 + 15
    om.cfg.rest_share = 1.0
    fill = m.fill_option(customer.account, c, -1, 3)
    assert fill == (0, 0.0, 3)
    (resting,) = om.venue.orders_of(customer.account)
    assert resting[0] == c
    m.now += om.cfg.rest_lifetime_seconds
    om._expire_resting()
    assert om.venue.orders_of(customer.account) == []


def test_underlying_halts_are_mirrored_onto_the_option_books() -> None:
    m = book_model(n_dealers=1)
    om = m.option_market
    om.quote_pass()
    (customer,) = m.populations["customers"]
    c = contract(m, 100.0, 4, True)
    m.book.halt("luld pause")
    om.sync_halt()
    assert om.venue.halt_reason == "luld pause" and om.halts == 1
    assert m.fill_option(customer.account, c, 1, 1).filled == 0
    assert om.venue.n_refused["halted"] == 1
    m.book.reopen()
    om.sync_halt()
    assert not om.venue.halted
    assert m.fill_option(customer.account, c, 1, 1).filled == 1


def test_series_are_delisted_at_expiry(day: HedgeLoopModel) -> None:
    om = day.option_market
    chain = day.chain
    expired = np.flatnonzero(chain.expired)
    assert expired.size and all(chain.expiry[expired] <= SECONDS_PER_DAY)
    assert not any(om.venue.listed(int(c)) for c in expired)
    assert all(om.venue.listed(int(c)) for c in np.flatnonzero(~chain.expired))


def test_a_book_day_is_conserved_and_trades_through_the_books(day: HedgeLoopModel) -> None:
    assert day.finish() == {"cash": 0.0, "shares": 0, "options": 0}
    om = day.option_market
    s = om.summary()
    assert s["prints"] == len(om.prints) > 0 and s["contracts"] == day.option_volume
    tables = day.extra_tables()
    trades = tables["option_trades"]
    assert list(trades.seq) == sorted(trades.seq) and trades.seq.is_unique
    assert set(trades.buyer_population) | set(trades.seller_population) <= {
        "customers",
        "dealers",
    }
    dealers = [d.account for d in day.populations["dealers"]]
    # a dealer's contracts come from prints: bought minus sold equals its ledger position
    for d in day.populations["dealers"]:
        net = (
            trades.qty[trades.buyer == d.account].sum()
            - trades.qty[trades.seller == d.account].sum()
        )
        live = ~day.chain.expired
        assert d.contracts_bought - d.contracts_sold == net
        assert (
            day.ledger.options[d.account][live].sum()
            == trades.qty[(trades.buyer == d.account) & live[trades.contract]].sum()
            - trades.qty[(trades.seller == d.account) & live[trades.contract]].sum()
        )
    top = tables["option_top"]
    assert len(top) and set(top.contract) <= set(range(len(day.chain)))
    quoted = top[(top.bid_px > 0) & (top.ask_px > 0)]
    assert np.all(quoted.bid_px < quoted.ask_px)
    assert set(s["dealers"]) == {str(a) for a in dealers}
    assert all(0.0 <= v["quoted_share"] <= 1.0 for v in s["dealers"].values())


def test_a_book_day_is_deterministic_per_seed(day: HedgeLoopModel) -> None:
    again = book_day()
    for name, frame in day.extra_tables().items():
        pd.testing.assert_frame_equal(frame, again.extra_tables()[name], obj=name)
    assert day.option_market.summary() == again.option_market.summary()
    assert np.array_equal(day.ledger.cash, again.ledger.cash)


def test_rfq_mode_takes_no_option_venue_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the option venue path was taken in rfq mode")

    for name in ("__init__", "customer_order", "before_act", "quote_pass", "record"):
        monkeypatch.setattr(OptionMarket, name, refuse)
    m = book_day(venue="rfq")
    assert m.option_market is None
    assert m.option_volume > 0
    assert "options_market" not in m.population_summaries()
    assert not any(name.startswith("option_") for name in m.extra_tables())


def test_the_options_config_is_validated() -> None:
    assert not OptionsMarketConfig().book
    assert RunConfig().market.options.venue == "rfq"
    with pytest.raises(ConfigError, match=r"market\.options\.venue"):
        OptionsMarketConfig(venue="auction")
    with pytest.raises(ConfigError, match="customer_cross_ticks"):
        OptionsMarketConfig(max_cross_ticks=2, customer_cross_ticks=3)
    with pytest.raises(ConfigError, match=r"market\.options\.quote_size"):
        OptionsMarketConfig(quote_size=0)


def test_book_mode_needs_an_option_tick_of_whole_cents() -> None:
    cfg = tiny_cfg()
    cfg.agents.dealers.n = 1
    cfg.agents.customers = CustomersConfig(n=1, rate=0.0)
    cfg.agents.dealers.option_tick = 0.00001
    cfg.market.options.venue = "book"
    with pytest.raises(ValueError, match="option_tick"):
        HedgeLoopModel(cfg)


def test_a_book_run_writes_the_option_tables_summary_and_figure(
    day: HedgeLoopModel, tmp_path
) -> None:
    summary = summarise(day, wall_seconds=1.0)
    write_outputs(day, summary, tmp_path)
    trades = pd.read_parquet(tmp_path / "option_trades.parquet")
    assert {"seq", "time", "contract", "price", "qty", "package_id"} <= set(trades.columns)
    assert {"buyer_population", "seller_population"} <= set(trades.columns)
    assert len(trades) == len(day.option_market.prints)
    top = pd.read_parquet(tmp_path / "option_top.parquet")
    record_times = np.unique(top.time)
    assert len(record_times) == len(day.option_market.top_rows)
    assert (tmp_path / "figures" / "option_market.png").stat().st_size > 10_000
    written = json.loads((tmp_path / "summary.json").read_text())["options_market"]
    for figures in written["dealers"].values():
        assert {"requotes", "curtailments", "quoted_share", "net_contracts"} <= set(figures)
        assert figures["requotes"] > 0
    spreads = written["quoted_half_spread"]
    assert spreads["all"]["n"] == sum(b["n"] for k, b in spreads.items() if k != "all") > 0
    shares = [b["median_share"] for b in spreads.values() if b["n"]]
    assert shares and all(0 < v < 1 for v in shares)
    assert all(b["median_ticks"] >= 1 for b in spreads.values() if b["n"])
