"""Dealers quoting on the option books (book mode): prices, widening, limits, hysteresis,
curtailment and coverage.

The models hold dealers and customers only, customers idle; the share book is scripted through
account 0 (as in test_dealers), so the underlying's mid and spread are the test's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.customer_config import CustomersConfig
from agents.dealer_quoting import SeriesMarks, coverage, quote_charge, stress_multiplier
from agents.dealers import DealersConfig
from experiments.model import HedgeLoopModel
from tests.agents.test_dealers import ScriptedBook, contract
from tests.conftest import force_vol, options_only_config


def book_model(
    n_dealers: int = 2, n_customers: int = 1, inventory_vol: float = 0.02, **options: object
) -> HedgeLoopModel:
    cfg = options_only_config()
    cfg.agents.dealers = DealersConfig(
        n=n_dealers,
        rate=0.05,
        initial_book="flat",
        participation_cap=1.0,
        inventory_vol=inventory_vol,
    )
    cfg.agents.customers = CustomersConfig(n=n_customers, rate=0.0)
    cfg.market.chain.n_strikes_each_side = 3
    cfg.market.chain.expiry_days = [0, 4]
    cfg.market.chain.strike_cover_sd = 0.0
    cfg.market.options.venue = "book"
    cfg.market.options.rest_share = 0.0
    for key, value in options.items():
        setattr(cfg.market.options, key, value)
    m = HedgeLoopModel(cfg)
    m.scripted_book = ScriptedBook(m)  # tests move the underlying with it
    m.scripted_book.set(100.0)
    return m


def quoter_and_rows(m: HedgeLoopModel):
    om = m.option_market
    q = next(iter(om.quoters.values()))
    live = m.chain.live(m.now) & om._listed
    rows = q.rows[live[q.rows]]
    return om, q, live, rows


def test_rfq_mode_builds_no_option_books() -> None:
    cfg = options_only_config()
    cfg.agents.dealers.n = 1
    assert HedgeLoopModel(cfg).option_market is None


def test_every_live_series_gets_two_sided_quotes_around_the_theo_on_the_tick() -> None:
    m = book_model()
    om = m.option_market
    om.quote_pass()
    bid_px, _, ask_px, ask_sz = om.venue.top()
    live = np.flatnonzero(m.chain.live(m.now))
    theo = om._theo[live] / om.tick
    assert np.all(ask_px[live] > theo) and np.all(
        ask_sz[live] == 2 * m.cfg.market.options.quote_size
    )
    quoted_bid = bid_px[live] > 0
    assert np.all(bid_px[live][quoted_bid] < theo[quoted_bid])
    assert np.all(theo[~quoted_bid] < 2)  # only a bid that could not reach a tick is missing
    assert quoted_bid.sum() > live.size // 2
    for q in om.quoters.values():  # two dealers, two per series: each covers every row
        assert q.rows.size == len(m.chain)


def test_width_grows_with_stress_and_the_stress_multiplier_with_vol_and_spread() -> None:
    m = book_model()
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    calm = np.subtract(*reversed(q.prices(rows, marks, m.now, 1.0)))
    stressed = np.subtract(*reversed(q.prices(rows, marks, m.now, 2.5)))
    both = q.prices(rows, marks, m.now, 1.0)[0] > 0
    assert np.all(stressed >= calm) and np.all(stressed[both] > calm[both])
    assert stress_multiplier(0.2, 0.2, 1.0, 1.0, 0.25) == 1.0
    assert stress_multiplier(0.4, 0.2, 1.0, 1.0, 0.25) == pytest.approx(2.0)
    assert stress_multiplier(0.2, 0.2, 5.0, 1.0, 0.25) == pytest.approx(2.0)
    assert stress_multiplier(float("nan"), 0.2, float("inf"), 1.0, 0.25) == 1.0
    calm_market = om.stress()
    force_vol(m, 4 * m.cfg.market.surface.atm_vol)
    assert om.stress() > 2 * calm_market
    assert om.stress() <= m.cfg.market.options.stress_max


def test_the_charge_prices_hedging_a_fills_delta_and_holding_its_vega() -> None:
    m = book_model()
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    tick = m.tick
    hedge_only = quote_charge(marks, 4 * tick, 1.0, 0.0, 0.15, 1 / 252)
    assert np.allclose(hedge_only, 0.5 * 4 * tick * np.abs(marks.delta))
    # in dollars it is widest in the money (|delta| near 1)
    itm_call = contract(m, 97.0, 4, True)
    otm_call = contract(m, 103.0, 4, True)
    assert hedge_only[itm_call] > 3 * hedge_only[otm_call]
    vega_only = quote_charge(marks, 4 * tick, 0.0, 1.0, 0.15, 1 / 252)
    assert np.allclose(vega_only, 0.15 * np.sqrt(1 / 252) * marks.vega)
    longer = quote_charge(marks, 4 * tick, 0.0, 1.0, 0.15, 4 / 252)
    assert np.allclose(longer, 2 * vega_only)
    assert not quote_charge(marks, 4 * tick, 0.0, 0.0, 0.15, 1 / 252).any()
    # both half-spreads are at least the charge (the Leland part is >= 0 on a flat book), which
    # they were not without it
    charge = (hedge_only + vega_only)[rows]
    theo = marks.theo[rows]
    _, ask0 = q.prices(rows, marks, m.now, 1.0)
    bid1, ask1 = q.prices(rows, marks, m.now, 1.0, hedge_only + vega_only)
    assert np.any(ask0 * tick - theo < charge - tick)
    assert np.all(ask1 * tick - theo >= charge - 1e-12)
    quoted = bid1 > 0
    assert quoted.sum() > rows.size // 2
    assert np.all(theo[quoted] - bid1[quoted] * tick >= charge[quoted] - 1e-12)


def test_the_side_just_filled_is_widened_for_a_while() -> None:
    m = book_model(fill_widen_ticks=3, fill_widen_seconds=30.0)
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    c = contract(m, 100.0, 4, True)
    i = int(np.flatnonzero(rows == c)[0])
    bid0, ask0 = (int(x[i]) for x in q.prices(rows, marks, m.now, 1.0))
    q.on_fill(c, 1, m.now)  # its bid traded
    bid1, ask1 = (int(x[i]) for x in q.prices(rows, marks, m.now, 1.0))
    assert (bid1, ask1) == (bid0 - 3, ask0)
    q.on_fill(c, -1, m.now)
    assert int(q.prices(rows, marks, m.now, 1.0)[1][i]) == ask0 + 3
    later = m.now + 30.0
    assert tuple(int(x[i]) for x in q.prices(rows, marks, later, 1.0)) == (bid0, ask0)


def test_a_side_that_would_breach_a_limit_is_not_quoted() -> None:
    m = book_model()
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    d = q.dealer
    d.net_gamma = -d.cfg.gamma_limit  # short gamma at the limit: it may buy back, not sell
    bid, ask = q.prices(rows, marks, m.now, 1.0)
    assert np.all(ask == 0) and np.any(bid > 0)
    d.net_gamma = 0.0
    d.net_vega = d.cfg.vega_limit  # long vega at the limit: it may sell, not buy
    bid, ask = q.prices(rows, marks, m.now, 1.0)
    assert np.all(bid == 0) and np.all(ask > 0)


def moved(marks: SeriesMarks, row: int, by: float) -> SeriesMarks:
    """New marks (a pass's marks are never changed in place) with one theo moved ``by``."""
    theo = marks.theo.copy()
    theo[row] += by
    return dataclasses.replace(marks, theo=theo)


def test_requotes_only_when_theo_moved_past_the_threshold() -> None:
    m = book_model(requote_ticks=2.0)
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    sent = q.quote_pass(om.venue, marks, live, m.now, 1.0)
    assert sent == rows.size and q.requotes == rows.size
    assert q.quote_pass(om.venue, marks, live, m.now, 1.0) == 0
    c = int(rows[0])
    marks = moved(marks, c, 1.9 * om.tick)
    assert q.quote_pass(om.venue, marks, live, m.now, 1.0) == 0
    marks = moved(marks, c, 0.2 * om.tick)
    assert q.quote_pass(om.venue, marks, live, m.now, 1.0) == 1
    q.on_fill(int(rows[1]), -1, m.now)  # a fill re-quotes its series
    assert q.quote_pass(om.venue, marks, live, m.now, 1.0) == 1
    assert q.quote_pass(om.venue, marks, live, m.now + 1.0, 1.0) == 0
    # and so does the end of its widening, on the same marks
    later = m.now + m.cfg.market.options.fill_widen_seconds
    assert q.quote_pass(om.venue, marks, live, later, 1.0) == 1
    # so does a change of risk state: every series, sent where its prices changed
    q.dealer.net_vega = 0.5 * q.dealer.cfg.vega_limit
    before = q.unchanged
    sent = q.quote_pass(om.venue, marks, live, m.now, 1.0)
    assert sent > rows.size // 2 and sent + q.unchanged - before == rows.size


def test_a_quote_whose_prices_did_not_change_is_not_resent_and_keeps_its_place() -> None:
    m = book_model(requote_ticks=0.0)  # every series is due at every new set of marks
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    assert q.quote_pass(om.venue, marks, live, m.now, 1.0) == rows.size
    ids = om.venue.orders_of(q.dealer.account)
    messages = om.venue.n_messages
    same = dataclasses.replace(marks, theo=marks.theo.copy())
    assert q.quote_pass(om.venue, same, live, m.now, 1.0) == 0
    assert q.unchanged == rows.size
    assert om.venue.orders_of(q.dealer.account) == ids and om.venue.n_messages == messages
    # a side filled (its widening long over): the quote no longer rests in full, so that series
    # is sent again at the same prices, and only that one
    c = int(rows[0])
    old = om.venue.quote_ids(q.dealer.account, c)
    q.on_fill(c, 1, m.now - 1e6)
    assert q.quote_pass(om.venue, same, live, m.now, 1.0) == 1
    new = om.venue.quote_ids(q.dealer.account, c)
    assert new[0] > max(old) and new[1] > max(old)
    assert [x for x in om.venue.orders_of(q.dealer.account) if x[0] != c] == [
        x for x in ids if x[0] != c
    ]


def test_a_quote_post_only_moved_behind_another_is_sent_again_at_unchanged_prices() -> None:
    m = book_model(n_dealers=2, requote_ticks=0.0)
    om, _first, second = apart_and_stale(m, 12.0)
    behind = int(np.count_nonzero(second._behind))
    assert behind > 10  # its bids would have crossed the first's stale asks
    live = m.chain.live(m.now) & om._listed
    marks = shifted(om.marks(live), 12.0 * om.tick)  # the marks it quoted on, anew
    sent = second.quote_pass(om.venue, marks, live, m.now, 1.0)
    assert sent == behind  # the others rest where they were sent


def test_the_stress_multiplier_requotes_everything_only_once_it_moved_a_full_step() -> None:
    m = book_model()
    om, q, live, rows = quoter_and_rows(m)
    marks = om.marks(live)
    q.quote_pass(om.venue, marks, live, m.now, 1.0)
    for stress, requote_all in ((1.15, False), (1.25, True), (1.1, False), (1.3, False)):
        due = q.due(marks, live, m.now, stress)
        assert (due.size == rows.size) is requote_all, stress


def test_curtailment_pulls_all_the_dealers_quotes_until_the_cooldown_ends() -> None:
    m = book_model(n_dealers=1, risk_max_contracts=15.0, risk_cooldown_seconds=20.0)
    om = m.option_market
    om.quote_pass()
    (dealer,) = m.populations["dealers"]
    (customer,) = m.populations["customers"]
    assert len(om.venue.orders_of(dealer.account)) > 20
    c = contract(m, 100.0, 4, True)
    fill = m.fill_option(customer.account, c, 1, 10)
    assert fill.filled == 10 and om.venue.orders_of(dealer.account)
    fill = m.fill_option(customer.account, contract(m, 101.0, 4, True), 1, 10)
    assert fill.filled == 10
    assert om.venue.orders_of(dealer.account) == []  # 20 > 15 contracts: everything pulled
    assert om.monitor.curtailments == {dealer.account: 1}
    assert om.summary()["dealers"][str(dealer.account)]["curtailments"] == 1
    om.quote_pass()
    assert om.venue.orders_of(dealer.account) == []  # no quoting in the cooldown
    m.now += 20.0
    om.quote_pass()
    assert len(om.venue.orders_of(dealer.account)) > 20


def test_coverage_gives_each_series_k_distinct_dealers_deterministically() -> None:
    rows = coverage(50, 4, 3, np.random.default_rng(5))
    again = coverage(50, 4, 3, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip(rows, again, strict=True))
    per_row = np.zeros(50, dtype=int)
    for r in rows:
        per_row[r] += 1
    assert np.all(per_row == 3)
    assert all(r.size for r in rows)
    assert [r.size for r in coverage(10, 2, 5, np.random.default_rng(0))] == [10, 10]
    with pytest.raises(ValueError, match="per_series"):
        coverage(10, 2, 0, np.random.default_rng(0))


def test_the_vectorised_limit_check_agrees_with_the_dealers_own() -> None:
    m = book_model(n_dealers=1)
    _, q, _, _ = quoter_and_rows(m)
    d = q.dealer
    rng = np.random.default_rng(3)
    for _ in range(20):
        d.net_gamma, d.net_vega = rng.normal(0, 1.2, 2) * (d.cfg.gamma_limit, d.cfg.vega_limit)
        dg = rng.normal(0, 0.5, 30) * d.cfg.gamma_limit
        dv = rng.normal(0, 0.5, 30) * d.cfg.vega_limit
        want = [d._beyond_limits(float(a), float(b)) for a, b in zip(dg, dv, strict=True)]
        assert q._breaches(dg, dv).tolist() == want


def resting_quotes(om, account: int) -> tuple[np.ndarray, np.ndarray]:
    """Bid and ask prices (ticks, 0 = no side) of a dealer's quotes resting on the venue, by
    contract, read back from the books' depth."""
    n = om.venue.n_contracts
    bids, asks = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for c in {c for c, _ in om.venue.orders_of(account)}:
        bid_id, ask_id = om.venue.quote_ids(account, c)
        book = om.venue._series[c].book
        for oid, out in ((bid_id, bids), (ask_id, asks)):
            if oid and book.remaining(oid):
                out[c] = book.order_record(oid).price
    return bids, asks


def shifted(marks: SeriesMarks, by: float) -> SeriesMarks:
    """New marks with every theo moved ``by`` (currency per share)."""
    return dataclasses.replace(marks, theo=marks.theo + by)


def apart_and_stale(m: HedgeLoopModel, move_ticks: float) -> tuple:
    """Two dealers, one long and one short vega, quote every series in turn: the first on the
    pass's marks, the second after the theos moved ``move_ticks`` (the first's quotes are then
    stale, as between its re-quotes). Returns the option market and both quoters."""
    om = m.option_market
    first, second = om.quoters.values()
    first.dealer.net_vega = 0.6 * first.dealer.cfg.vega_limit
    second.dealer.net_vega = -0.6 * second.dealer.cfg.vega_limit
    live = m.chain.live(m.now) & om._listed
    marks = om.marks(live)
    first.quote_pass(om.venue, marks, live, m.now, 1.0)
    second.quote_pass(om.venue, shifted(marks, move_ticks * om.tick), live, m.now, 1.0)
    return om, first, second


def test_opposite_inventories_print_nothing_from_quoting_alone() -> None:
    m = book_model(n_dealers=2)
    om, first, second = apart_and_stale(m, 12.0)
    assert om.prints == [] and om.venue.n_prints == 0
    assert first.repriced == 0  # the book was empty when it quoted
    assert second.repriced > 10  # its bids would have crossed the first's stale asks
    assert sum(om.venue.n_repriced.values()) == second.repriced
    summary = om.summary()
    assert summary["dealers"][str(second.dealer.account)]["repriced_sides"] == second.repriced
    assert summary["repriced_quote_sides"]["bid"] > 10


def test_a_dealer_quote_never_locks_or_crosses_another_dealers_resting_quote() -> None:
    for move in (-12.0, -3.0, 3.0, 12.0, 40.0):
        m = book_model(n_dealers=2)
        om, first, second = apart_and_stale(m, move)
        bid1, ask1 = resting_quotes(om, first.dealer.account)
        bid2, ask2 = resting_quotes(om, second.dealer.account)
        assert np.count_nonzero(ask1) > 10 and np.count_nonzero(ask2) > 10
        both = (bid2 > 0) & (ask1 > 0)
        assert np.all(bid2[both] < ask1[both])
        both = (bid1 > 0) & (ask2 > 0)
        assert np.all(bid1[both] < ask2[both])
        bid_px, _, ask_px, _ = om.venue.top()
        quoted = (bid_px > 0) & (ask_px > 0)
        assert np.all(bid_px[quoted] < ask_px[quoted])
        assert om.prints == []
        # the quoter keeps only what rests: a bid post-only could not place is no bid
        assert np.array_equal(second.bid > 0, bid2 > 0)
