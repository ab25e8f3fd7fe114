"""The stale-quote taker: which quotes it takes, at what price and size, within which limits.

The models hold one dealer, one idle customer and the takers; the share book is scripted through
account 0 (as in test_dealers), so the underlying's mid is the test's. ``stale_orders`` is also
tested alone on tops built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from agents.stale_quote_taker import (
    StaleQuoteTaker,
    StaleTakerParams,
    fair_values,
    stale_orders,
)
from agents.world import OptionTops
from experiments.model import POPULATION_NAMES, HedgeLoopModel
from market.validation import ConfigError
from tests.agents.test_dealer_quoting import book_model
from tests.agents.test_dealers import ScriptedBook, surface_mid

TICK = 0.01


def tops(bid: list[int], bid_sz: list[int], ask: list[int], ask_sz: list[int]) -> OptionTops:
    arr = [np.asarray(x, dtype=np.int64) for x in (bid, bid_sz, ask, ask_sz)]
    return OptionTops(*arr, tick=TICK, halted=False)


def params(**kw: float) -> StaleTakerParams:
    base: dict = {
        "n": 1,
        "edge_ticks": 1.0,
        "max_contracts": 10,
        "max_orders_per_look": 10,
        "max_position_contracts": 100,
    }
    return StaleTakerParams(**{**base, **kw})


ROWS = np.arange(3)
FAIR = np.array([1.00, 2.00, 3.00])  # 100, 200, 300 ticks
FLAT = np.zeros(3, dtype=np.int64)


def test_an_ask_below_fair_is_bought_and_a_bid_above_fair_sold_at_the_stale_price() -> None:
    # row 0: ask 95 < fair 100; row 1: quoted around fair; row 2: bid 305 > fair 300
    t = tops([90, 198, 305], [5, 5, 7], [95, 202, 310], [4, 5, 5])
    orders = stale_orders(t, ROWS, FAIR, FLAT, params())
    assert [(o.contract, o.side, o.price, o.qty) for o in orders] == [
        (0, 1, 95, 4),
        (2, -1, 305, 7),
    ]
    assert [o.edge for o in orders] == pytest.approx([5.0, 5.0])
    assert orders[0].fair == pytest.approx(1.0)


def test_a_quote_at_or_around_fair_is_not_taken_even_with_no_edge_required() -> None:
    t = tops([99, 199, 300], [5, 5, 5], [101, 200, 301], [5, 5, 5])
    assert stale_orders(t, ROWS, FAIR, FLAT, params(edge_ticks=0.0)) == []


def test_the_edge_threshold_is_strict_and_orders_come_largest_edge_first() -> None:
    t = tops([0, 0, 0], [0, 0, 0], [97, 196, 299], [5, 5, 5])  # edges 3, 4, 1 ticks
    got = stale_orders(t, ROWS, FAIR, FLAT, params(edge_ticks=3.0))
    assert [o.contract for o in got] == [1]  # an edge of exactly 3 is not more than 3
    got = stale_orders(t, ROWS, FAIR, FLAT, params(edge_ticks=0.5))
    assert [o.contract for o in got] == [1, 0, 2]
    got = stale_orders(t, ROWS, FAIR, FLAT, params(edge_ticks=0.5, max_orders_per_look=2))
    assert [o.contract for o in got] == [1, 0]


def test_size_is_capped_by_max_contracts_the_size_shown_and_the_position_limit() -> None:
    t = tops([0, 0, 310], [0, 0, 50], [90, 190, 0], [50, 3, 0])
    held = np.array([95, 0, -100], dtype=np.int64)
    got = stale_orders(t, ROWS, FAIR, held, params(max_contracts=8))
    # row 0: 5 left to the limit of 100; row 1: 3 shown; row 2: already short 100, no sale
    assert [(o.contract, o.qty) for o in got] == [(0, 5), (1, 3)]
    held = np.array([100, 0, -92], dtype=np.int64)
    got = stale_orders(t, ROWS, FAIR, held, params(max_contracts=20))
    # equal edges of 10 ticks: the lower chain row first
    assert [(o.contract, o.side, o.qty) for o in got] == [(1, 1, 3), (2, -1, 8)]


def test_empty_sides_and_unlisted_series_are_never_taken() -> None:
    t = tops([-1, 0, 0], [-1, 0, 0], [-1, 0, 0], [-1, 0, 0])
    assert stale_orders(t, ROWS, FAIR, FLAT, params(edge_ticks=0.0)) == []


def test_bad_parameters_are_refused_naming_the_field_and_range() -> None:
    with pytest.raises(ConfigError, match=r"max_contracts must be in \[1, 100000\], got 0"):
        params(max_contracts=0)
    with pytest.raises(ConfigError, match=r"edge_ticks must be in \[0.*got -1"):
        params(edge_ticks=-1.0)
    with pytest.raises(ConfigError, match="rate"):
        StaleTakerParams(rate=0.0)


# ---------------------------------------------------------------------- in a model
def taker_model(**options: object) -> tuple[HedgeLoopModel, StaleQuoteTaker, ScriptedBook]:
    options.setdefault("stale_takers", 1)
    m = book_model(n_dealers=1, **options)
    m.option_market.quote_pass()
    (taker,) = m.populations["stale_takers"]
    assert isinstance(taker, StaleQuoteTaker)
    return m, taker, ScriptedBook(m)


def test_quotes_at_the_current_mid_are_not_taken() -> None:
    m, taker, _ = taker_model(stale_edge_ticks=0.0)
    assert taker.look() == []
    taker.act()
    assert taker.iocs == 0 and taker.looks == 1
    assert not m.ledger.options[taker.account].any()


def test_after_the_underlying_rises_stale_call_asks_are_bought_and_put_bids_sold() -> None:
    m, taker, script = taker_model(stale_max_orders_per_look=10, stale_max_contracts=4)
    om = m.option_market
    bid_before, _, ask_before, _ = (a.copy() for a in om.venue.top())
    script.set(101.0, update_state=False)  # the dealers have not re-quoted yet
    orders = taker.look()
    assert len(orders) == 10
    is_call = np.asarray(m.chain.is_call, dtype=bool)
    for o in orders:
        assert o.side == (1 if is_call[o.contract] else -1)
        assert o.price == (ask_before if o.side > 0 else bid_before)[o.contract]
        assert o.edge > 1.0 and o.qty == 4
    n_prints = len(om.prints)
    taker.act()
    assert taker.iocs == len(orders) and taker.contracts_taken == 4 * len(orders)
    assert taker.contracts_from_dealers == taker.contracts_taken
    new = om.prints[n_prints:]
    for o, p in zip(orders, new, strict=True):  # one print per order, at the stale price
        assert (p.contract, p.price, p.qty) == (o.contract, o.price, 4)
        assert (p.buyer if o.side > 0 else p.seller) == taker.account
        assert m.ledger.options[taker.account, o.contract] == 4 * o.side
    # the dealer sold below and bought above fair: a positive cost, in currency
    expected = sum((o.fair - o.price * TICK) * o.side * 4 * m.ledger.multiplier for o in orders)
    assert taker.dealer_adverse_cost == pytest.approx(expected) and expected > 0
    assert taker.adverse_cost == pytest.approx(expected)
    # marked at the new mid its holdings are worth more than it paid
    m.state.update()
    assert taker.pnl_at_mid() > 0


def test_a_burst_past_the_risk_monitor_curtails_the_dealer_and_later_orders_find_nothing() -> None:
    m, taker, script = taker_model(
        stale_max_orders_per_look=1000, stale_max_contracts=4, risk_max_contracts=30.0
    )
    script.set(101.0, update_state=False)
    orders = taker.look()
    assert len(orders) > 8
    taker.act()
    # the eighth fill takes the dealer past 30 contracts in the window: its quotes are pulled
    assert taker.contracts_taken == 32 and taker.iocs == len(orders) and taker.refused == 0
    assert m.option_market.monitor.curtailments == {m.populations["dealers"][0].account: 1}


def test_the_position_limit_holds_over_repeated_looks() -> None:
    m, taker, script = taker_model(
        stale_max_orders_per_look=1000,
        stale_max_contracts=4,
        stale_max_position_contracts=6,
        risk_max_contracts=1e9,  # no curtailment: the dealer keeps re-quoting at the old mid
        risk_max_delta=1e12,
        risk_max_vega=1e15,
        # quotes no wider than their Leland part: each re-quote stays stale by the edge
        hedge_cost_weight=0.0,
        vega_charge_weight=0.0,
    )
    script.set(101.0, update_state=False)
    for _ in range(4):
        taker.act()
        m.option_market.quote_pass()
    held = m.ledger.options[taker.account]
    assert np.abs(held).max() == 6  # 4, then the 2 left to the limit, then nothing
    assert set(np.abs(held).tolist()) <= {0, 6}
    assert taker.contracts_taken == np.abs(held).sum()


def test_a_halted_option_market_is_not_looked_at() -> None:
    m, taker, script = taker_model()
    script.set(101.0, update_state=False)
    m.option_market.venue.halt_all("test")
    assert taker.look() == []


def test_fair_values_are_black_scholes_at_the_surface_for_every_live_row() -> None:
    m, _, _ = taker_model()
    rows, fair = fair_values(m, 100.0)
    assert np.array_equal(rows, np.flatnonzero(m.chain.live(m.now)))
    assert fair == pytest.approx([surface_mid(m, int(c)) for c in rows])


def test_no_takers_builds_no_population_and_rfq_mode_none_at_all() -> None:
    m = book_model(n_dealers=1)
    assert tuple(m.populations) == POPULATION_NAMES
    assert "net_stale_takers" not in m.datacollector.model_reporters
    m = book_model(n_dealers=1, venue="rfq", stale_takers=2)
    assert tuple(m.populations) == POPULATION_NAMES
    assert m.option_tops() is None
    with pytest.raises(ValueError, match="venue=book"):
        m.take_option(0, 0, 1, 10, 1)
