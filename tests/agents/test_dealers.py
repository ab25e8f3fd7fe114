"""Option dealers: quotes, book Greeks, hedging direction, execution and the P&L split.

The models here hold only customers and dealers; the share book is scripted by the test through
account 0 (the ledger's spare account), so the price path is under the test's control.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.customer_config import CustomersConfig
from agents.customers import OptionCustomer
from agents.dealer_book import InitialBook
from agents.dealers import DealersConfig, OptionDealer, hedge_policy_of, populate
from agents.hedge_execution import HedgeOrderType
from agents.hedging_policies import FixedBand, HedgePolicyKind, NoHedge
from experiments.config import ConfigError
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.options.pricing import bs_greeks, bs_price
from tests.conftest import options_only_config

SCRIPT_OWNER = 0


def small_model(n_dealers=1, n_customers=2, customer_rate=0.0, step_seconds=1.0, **dealer_kw):
    cfg = options_only_config(step_seconds=step_seconds)
    dealer_kw.setdefault("rate", 0.05)
    dealer_kw.setdefault("initial_book", "flat")  # the tests script every option trade
    # the scripted book prints no volume to participate in: no ceiling unless a test sets one
    dealer_kw.setdefault("participation_cap", 1.0)
    cfg.agents.dealers = DealersConfig(n=n_dealers, **dealer_kw)
    cfg.agents.customers = CustomersConfig(n=n_customers, rate=customer_rate)
    return HedgeLoopModel(cfg)


class ScriptedBook:
    """Resting bids and asks from account 0 around a chosen mid (the test's price path)."""

    def __init__(self, model, depth=50_000, levels=5):
        self.model = model
        self.depth = depth
        self.levels = levels
        self.orders: list[int] = []

    def set(self, mid: float, half_spread_ticks: int = 1, update_state: bool = True) -> None:
        m = self.model
        for oid in self.orders:
            m.venue.cancel(oid)
        centre = round(mid / m.tick)
        self.orders = []
        for i in range(self.levels):
            self.orders.append(
                m.venue.limit(SCRIPT_OWNER, 1, centre - half_spread_ticks - i, self.depth)
            )
            self.orders.append(
                m.venue.limit(SCRIPT_OWNER, -1, centre + half_spread_ticks + i, self.depth)
            )
        if update_state:  # outside model.step(), which updates the state itself
            m.state.update()


def contract(model, strike, expiry_day, call):
    return model.chain.index_of(strike, (expiry_day + 1) * SECONDS_PER_DAY, call)


def surface_mid(model, c):
    ch = model.chain
    s = model.state.mid
    t = max(ch.expiry[c] - model.now, 0.0) / SECONDS_PER_YEAR
    vol = model.surface.vol(ch.strike[c], t, s)
    return bs_price(s, ch.strike[c], t, vol, call=bool(ch.is_call[c]))


def account_value(model, agent):
    """Mark-to-market value computed here, independently of the dealer's own bookkeeping."""
    led = model.ledger
    s = model.state.mid
    ch = model.chain
    live = ch.expiry > model.now
    t = np.maximum(ch.expiry - model.now, 0.0) / SECONDS_PER_YEAR
    vol = model.surface.vol(ch.strike, t, s)
    values = np.where(live, bs_price(s, ch.strike, t, vol, call=np.asarray(ch.is_call)), 0.0)
    return led.value(agent.account, s, values)


def parts(model):
    return model.populations["dealers"], model.populations["customers"]


# ---------------------------------------------------------------- quoting


def test_quotes_bracket_the_surface_mid_on_the_tick_grid():
    m = small_model()
    ScriptedBook(m).set(100.0)
    (d,), _ = parts(m)
    checked = 0
    for strike in (95.0, 99.0, 100.0, 101.0, 105.0):
        for day in (0, 4):
            for call in (True, False):
                c = contract(m, strike, day, call)
                mid = surface_mid(m, c)
                ask = d.quote(c, 1, 10)
                bid = d.quote(c, -1, 10)
                assert ask >= mid + 0.01 - 1e-9
                assert abs(ask / 0.01 - round(ask / 0.01)) < 1e-6
                if bid is not None:
                    assert bid <= mid - 0.01 + 1e-9
                    assert bid >= 0.01 - 1e-12
                    checked += 1
    assert checked >= 15


def quoted_spread(book_half_spread, **dealer_kw):
    m = small_model(**dealer_kw)
    ScriptedBook(m).set(100.0, half_spread_ticks=book_half_spread)
    (d,), _ = parts(m)
    c = contract(m, 100.0, 4, True)
    return d.quote(c, 1, 50) - d.quote(c, -1, 50)


def test_quoted_spread_grows_with_the_book_spread():
    kw = {"policy": "time_based", "interval_seconds": 300.0}
    assert quoted_spread(4, **kw) > quoted_spread(1, **kw) + 0.05


def test_quoted_spread_grows_with_rebalancing_frequency():
    often = quoted_spread(1, policy="time_based", interval_seconds=60.0)
    rarely = quoted_spread(1, policy="time_based", interval_seconds=3600.0)
    assert often > rarely + 0.02


def test_quotes_follow_leland_volatility():
    m = small_model(policy="time_based", interval_seconds=300.0, inventory_vol=0.0)
    ScriptedBook(m).set(100.0, half_spread_ticks=2)
    (d,), _ = parts(m)
    c = contract(m, 100.0, 4, True)
    k = 4 * m.tick / 100.0
    t = (m.chain.expiry[c] - m.now) / SECONDS_PER_YEAR
    vol = m.surface.vol(100.0, t, 100.0)
    le = math.sqrt(2 / math.pi) * k / (vol * math.sqrt(300.0 / SECONDS_PER_YEAR))
    ask = bs_price(100.0, 100.0, t, vol * math.sqrt(1 + le))
    bid = bs_price(100.0, 100.0, t, vol * math.sqrt(1 - le))
    assert d.quote(c, 1, 5) == pytest.approx(math.ceil(ask / 0.01 - 1e-9) * 0.01)
    assert d.quote(c, -1, 5) == pytest.approx(math.floor(bid / 0.01 + 1e-9) * 0.01)


def test_inventory_term_moves_both_quotes_against_the_book():
    m = small_model(policy="time_based", interval_seconds=300.0, vega_limit=200_000.0)
    ScriptedBook(m).set(100.0)
    (d,), (cust, _) = parts(m)
    c = contract(m, 100.0, 4, False)
    ask0, bid0 = d.quote(c, 1, 5), d.quote(c, -1, 5)
    assert m.trade_option(cust.account, contract(m, 100.0, 19, True), 1, 100) is not None
    assert d.net_vega < 0  # the dealer sold options
    assert d.quote(c, 1, 5) > ask0
    assert d.quote(c, -1, 5) > bid0


def test_expired_contracts_and_worthless_bids_are_refused():
    m = small_model()
    ScriptedBook(m).set(100.0)
    (d,), _ = parts(m)
    c = contract(m, 100.0, 0, True)
    assert d.quote(c, 1, 1) is not None
    m.now = float(SECONDS_PER_DAY)
    assert d.quote(c, 1, 1) is None
    assert d.quote(c, -1, 1) is None
    far_otm = contract(m, 110.0, 4, True)  # worth far less than a tick
    assert d.quote(far_otm, -1, 1) is None
    assert d.quote(far_otm, 1, 1) >= 0.01
    assert d.quotes_refused == 3


def test_round_trip_cost_comes_from_the_book_spread_with_a_floor():
    m = small_model(cost_spread_multiple=1.5, min_round_trip_cost=0.0001)
    book = ScriptedBook(m)
    book.set(100.0, half_spread_ticks=2)
    (d,), _ = parts(m)
    assert d.round_trip_cost() == pytest.approx(1.5 * 4 * 0.01 / 100.0)
    d.cfg.min_round_trip_cost = 0.01
    assert d.round_trip_cost() == 0.01


def test_min_half_spread_ticks_keeps_cheap_quotes_away_from_the_mid():
    asks = {}
    for ticks in (1, 5):
        m = small_model(min_half_spread_ticks=ticks)
        ScriptedBook(m).set(100.0)
        (d,), _ = parts(m)
        c = contract(m, 106.0, 4, True)
        asks[ticks] = d.quote(c, 1, 1) - surface_mid(m, c)
    assert 0.01 - 1e-9 <= asks[1] < 0.02
    assert asks[5] >= 0.05 - 1e-9


def test_risk_limits_refuse_only_trades_that_add_exposure():
    m = small_model(gamma_limit=1e9)
    ScriptedBook(m).set(100.0)
    (d,), (cust, _) = parts(m)
    c = contract(m, 100.0, 4, True)
    assert m.trade_option(cust.account, c, 1, 100) is not None
    d.book_greeks()
    assert d.net_gamma < 0
    d.cfg.gamma_limit = abs(d.net_gamma) * 0.5
    assert d.quote(c, 1, 10) is None  # would sell more gamma
    assert d.quote(c, -1, 10) is not None  # buying back reduces it
    d.cfg.gamma_limit = 1e9
    d.cfg.vega_limit = abs(d.net_vega) * 0.5
    assert d.quote(c, 1, 10) is None
    assert d.quote(c, -1, 10) is not None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"rate": 0.0}, "agents.dealers.rate"),
        ({"policy": "bogus"}, "agents.dealers.policy"),
        ({"order_type": "limit"}, "agents.dealers.order_type"),
        ({"initial_book": "huge"}, "agents.dealers.initial_book"),
        ({"max_order_size": 0}, "agents.dealers.max_order_size"),
        ({"gamma_limit": -1.0}, "agents.dealers.gamma_limit"),
        ({"min_round_trip_cost": float("nan")}, "agents.dealers.min_round_trip_cost"),
        ({"initial_book_strikes": 1.5}, "agents.dealers.initial_book_strikes"),
    ],
)
def test_bad_config_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        DealersConfig(**kw)


def test_config_accepts_lower_case_names_for_its_enums():
    cfg = DealersConfig(policy="whalley_wilmott", order_type="ioc", initial_book="long_gamma")
    assert cfg.policy is HedgePolicyKind.whalley_wilmott
    assert cfg.order_type is HedgeOrderType.ioc
    assert cfg.initial_book is InitialBook.long_gamma
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------- the book


def test_book_greeks_equal_the_sum_of_per_contract_greeks():
    m = small_model()
    ScriptedBook(m).set(100.0)
    (d,), (cust, _) = parts(m)
    trades = [
        ((98.0, 0, False), 1, 30),
        ((103.0, 4, True), 1, 20),
        ((100.0, 19, True), -1, 40),
        ((97.0, 4, False), -1, 15),
        ((100.0, 0, True), 1, 25),
    ]
    for (k, day, call), side, qty in trades:
        assert m.trade_option(cust.account, contract(m, k, day, call), side, qty) is not None
    g = d.book_greeks()
    pos = m.ledger.options[d.account]
    expected = np.zeros(4)
    for c in np.flatnonzero(pos):
        t = (m.chain.expiry[c] - m.now) / SECONDS_PER_YEAR
        vol = m.surface.vol(m.chain.strike[c], t, 100.0)
        one = bs_greeks(100.0, m.chain.strike[c], t, vol, call=bool(m.chain.is_call[c]))
        expected += pos[c] * 100 * np.array([one.delta, one.gamma, one.vega, one.theta])
    np.testing.assert_allclose([g.delta, g.gamma, g.vega, g.theta], expected, rtol=1e-12)
    assert d.net_delta == pytest.approx(g.delta + m.ledger.shares[d.account])
    assert d.gex == pytest.approx(g.gamma * 100.0**2 * 0.01)
    # dealer positions are the opposite of the customer's, contract by contract
    np.testing.assert_array_equal(pos, -m.ledger.options[cust.account])


def test_running_greeks_between_looks_match_a_full_recomputation():
    m = small_model()
    ScriptedBook(m).set(100.0)
    (d,), (cust, _) = parts(m)
    m.trade_option(cust.account, contract(m, 101.0, 4, True), 1, 30)
    m.trade_option(cust.account, contract(m, 99.0, 0, False), -1, 20)
    running = (d.net_delta, d.net_gamma, d.net_vega)
    d.book_greeks()
    np.testing.assert_allclose(running, (d.net_delta, d.net_gamma, d.net_vega), rtol=1e-9)


# ---------------------------------------------------------------- hedging direction


def hedge_after_moves(customer_side, moves=(101.0, 99.0), **dealer_kw):
    """Dealer takes the other side of a customer straddle, hedges at 100, then follows moves."""
    dealer_kw = {
        "policy": "fixed_band",
        "band_shares": 50.0,
        "min_trade_shares": 1,
        "max_order_size": 100_000,
        **dealer_kw,
    }
    m = small_model(**dealer_kw)
    book = ScriptedBook(m)
    book.set(100.0)
    (d,), (cust, _) = parts(m)
    for call in (True, False):
        c = contract(m, 100.0, 4, call)
        assert m.trade_option(cust.account, c, customer_side, 200) is not None
    d.act()
    trades = []
    for mid in moves:
        book.set(mid)
        before = d.hedge_flow
        d.act()
        trades.append(d.hedge_flow - before)
    return m, d, trades


def test_short_gamma_dealer_buys_when_the_price_rises_and_sells_when_it_falls():
    _, d, (up, down) = hedge_after_moves(customer_side=1)
    assert d.net_gamma < 0
    assert up > 0
    assert down < 0
    assert abs(d.net_delta) <= 2.5 * 50.0  # crossed back to the outer band edge


def test_long_gamma_dealer_sells_when_the_price_rises_and_buys_when_it_falls():
    _, d, (up, down) = hedge_after_moves(customer_side=-1)
    assert d.net_gamma > 0
    assert up < 0
    assert down > 0


@pytest.mark.parametrize("kw", [{"policy": "none"}, {"hedge": False}])
def test_the_none_policy_never_trades(kw):
    m, d, trades = hedge_after_moves(customer_side=1, moves=(101.0, 98.0, 103.0), **kw)
    assert trades == [0, 0, 0]
    assert d.hedge_orders == 0
    assert m.ledger.shares[d.account] == 0
    assert abs(d.net_delta) > 100  # it is exposed, and leaves it


def test_hedge_cost_is_the_half_spread_paid_on_market_orders():
    m = small_model(
        policy="fixed_band",
        band_shares=10.0,
        min_trade_shares=1,
        order_type="market",
        max_order_size=5000,
        max_child_orders=2,
    )
    ScriptedBook(m).set(100.0, half_spread_ticks=3)
    (d,), (cust, _) = parts(m)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)
    d.act()
    assert d.hedge_flow > 4000  # bought the calls' delta at the ask, 3 ticks over the mid
    assert d.pnl_hedge_cost == pytest.approx(-3 * m.tick * d.hedge_flow)
    assert d.hedge_orders == 2  # sliced at max_order_size = 5,000
    assert d.hedge_trades == 2


def test_slicing_caps_each_child_order_and_the_rest_waits_for_the_next_look():
    m = small_model(
        policy="fixed_band",
        band_shares=10.0,
        min_trade_shares=1,
        max_order_size=500,
        max_child_orders=2,
    )
    book = ScriptedBook(m)
    book.set(100.0)
    (d,), (cust, _) = parts(m)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)  # about -5,000 delta
    d.act()
    assert d.hedge_orders == 2
    assert d.hedge_flow == 1000
    d.act()
    assert d.hedge_orders == 4
    assert d.hedge_flow == 2000
    for _ in range(10):
        d.act()
    assert abs(d.net_delta) <= 2.5 * 10.0  # back to the outer band edge


def test_ioc_hedges_stop_at_their_limit_and_market_orders_walk_the_book():
    fills = {}
    for order_type in ("ioc", "market"):
        m = small_model(
            policy="fixed_band",
            band_shares=10.0,
            min_trade_shares=1,
            order_type=order_type,
            ioc_offset_ticks=0,
            max_order_size=100_000,
        )
        book = ScriptedBook(m, depth=1_000)
        book.set(100.0)
        (d,), (cust, _) = parts(m)
        m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 100)
        d.act()
        fills[order_type] = d.hedge_flow
    assert fills["ioc"] == 1_000  # only the touch
    assert fills["market"] > 4_000


def test_a_halt_makes_the_hedger_wait_then_resume():
    m = small_model(policy="fixed_band", band_shares=10.0, min_trade_shares=1)
    book = ScriptedBook(m)
    book.set(100.0)
    (d,), (cust, _) = parts(m)
    m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 50)
    m.book.halt("test")
    d.act()
    assert d.hedge_waits == 1
    assert d.hedge_orders == 0
    m.book.reopen()
    d.act()
    assert d.hedge_orders >= 1
    assert abs(d.net_delta) <= 2.5 * 10.0  # back to the outer band edge


# ---------------------------------------------------------------- opening book


@pytest.mark.parametrize(("kind", "sign"), [("short_gamma", -1), ("long_gamma", 1)])
def test_the_opening_book_comes_from_customer_trades(kind, sign):
    m = small_model(
        n_dealers=2,
        n_customers=3,
        initial_book=kind,
        initial_book_contracts=50,
        initial_book_strikes=1,
    )
    ScriptedBook(m).set(100.0)
    dealers, customers = parts(m)
    opening = customers[0].opening
    assert opening.planned == 6  # 3 strikes x call and put
    acts = 0
    while opening.pending:  # the first customers to act work through it, 4 trades per act
        customers[acts % 3].act()
        acts += 1
    assert acts == 2
    assert opening.done == 6
    gamma = 0.0
    for d in dealers:
        gamma += d.book_greeks().gamma
    assert np.sign(gamma) == sign
    dealer_pos = sum(m.ledger.options[d.account] for d in dealers)
    customer_pos = sum(m.ledger.options[c.account] for c in customers)
    np.testing.assert_array_equal(dealer_pos, -customer_pos)
    assert int(np.abs(dealer_pos).sum()) == 6 * 50
    total = sum(c.contracts_bought["opening"] + c.contracts_sold["opening"] for c in customers)
    assert total == 300
    np.testing.assert_array_equal(m.chain.dealer_position, dealer_pos)


def test_a_flat_opening_book_trades_nothing():
    m = small_model(n_customers=1)
    assert m.populations["customers"][0].opening.planned == 0


# ---------------------------------------------------------------- P&L


def test_pnl_parts_sum_to_the_total_mark_to_market_change_through_an_expiry():
    m = small_model(
        n_dealers=2,
        n_customers=4,
        customer_rate=0.004,
        step_seconds=5.0,
        policy="fixed_band",
        band_shares=300.0,
        min_trade_shares=1,
        rate=0.1,
    )
    book = ScriptedBook(m)
    book.set(100.0, update_state=False)
    rng = np.random.default_rng(11)
    mid = 100.0
    dealers, _ = parts(m)
    start = [account_value(m, d) for d in dealers]
    traded_0dte = False
    while m.running and m.now < SECONDS_PER_DAY - 5.0:
        m.step()
        if m.steps % 6 == 0:  # a new price every 30 s: a random walk with 25% volatility
            mid *= math.exp(0.25 * math.sqrt(30.0 / SECONDS_PER_YEAR) * rng.standard_normal())
            book.set(mid, half_spread_ticks=int(rng.integers(1, 4)), update_state=False)
        if not traded_0dte:
            traded_0dte = any(
                m.ledger.options[d.account][m.chain.expiry == SECONDS_PER_DAY].any()
                for d in dealers
            )
    assert m.chain.expired[m.chain.expiry == SECONDS_PER_DAY].all()  # the 0DTE settled
    assert traded_0dte
    for d, v0 in zip(dealers, start, strict=True):
        d.mark()
        total = account_value(m, d) - v0
        assert d.hedge_trades > 0 and d.contracts_sold + d.contracts_bought > 0
        assert d.pnl_premium > 0  # it earns its spread
        assert d.pnl_hedge_cost < 0  # and pays the book's
        assert d.pnl_total == pytest.approx(total, abs=1e-6 * max(1.0, abs(total)) + 1e-4)
        assert d.pnl_gamma_theta != 0.0
    assert m.finish()["cash"] == 0


def test_mark_interval_sets_how_often_looks_refresh_the_gamma_theta_figure():
    results = {}
    for interval in (0.0, 1e6):
        m = small_model(mark_interval_seconds=interval, hedge=False)
        book = ScriptedBook(m)
        book.set(100.0)
        (d,), (cust, _) = parts(m)
        d.act()  # first look: the marks start here
        m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 50)
        book.set(101.0)
        m.now = 60.0
        d.act()
        results[interval] = d.pnl_gamma_theta
    assert results[1e6] == 0.0
    assert results[0.0] < -1000.0  # short 50 calls, the price rose a dollar


def test_an_opening_book_expiry_that_is_not_listed_is_refused():
    with pytest.raises(ValueError, match=r"agents\.dealers\.initial_book_expiry"):
        small_model(initial_book="short_gamma", initial_book_expiry=3)


def test_populate_builds_n_dealers_with_cash_and_no_shares():
    m = small_model(n_dealers=3)
    dealers = m.populations["dealers"]
    assert len(dealers) == 3 and all(isinstance(d, OptionDealer) for d in dealers)
    assert all(m.ledger.cash[d.account] == 50_000_000 * 100 for d in dealers)
    assert all(m.ledger.shares[d.account] == 0 for d in dealers)
    assert dealers[0].marks is dealers[1].marks
    assert populate(m, DealersConfig(n=0), np.random.default_rng(0)) == []
    assert isinstance(m.populations["customers"][0], OptionCustomer)


def test_the_hedge_policy_is_injected_through_the_constructor():
    model = small_model(policy="fixed_band")
    built = model.populations["dealers"][0]
    assert isinstance(built.policy, FixedBand) and built.hedging  # populate built it from cfg
    assert isinstance(hedge_policy_of(DealersConfig(hedge=False)), NoHedge)
    quiet = OptionDealer(model, np.random.default_rng(0), 0.05, built.cfg, policy=NoHedge())
    assert quiet.policy.__class__ is NoHedge and not quiet.hedging  # the injected one wins


def test_banded_dealers_narrow_their_band_before_the_close():
    """A gap tolerated during the day is traded in the closing window, not carried overnight."""
    m = small_model(
        policy="fixed_band",
        band_shares=3000.0,
        min_trade_shares=1,
        execution="banded",
        close_window_seconds=1800.0,
        close_band_factor=0.25,
        max_order_size=100_000,
    )
    book = ScriptedBook(m)
    book.set(100.0)
    (d,), (cust, _) = parts(m)
    # the customer buys calls: the dealer is short about 2,000 shares of delta, inside its band
    assert m.trade_option(cust.account, contract(m, 100.0, 4, True), 1, 40) is not None
    m.now = SECONDS_PER_DAY - 3600.0
    assert d.close_factor() == 1.0
    d.act()
    assert d.hedge_flow == 0 and d.passive.orders == 0
    m.now = SECONDS_PER_DAY - 900.0
    assert d.close_factor() == 0.25
    d.act()
    # beyond the narrowed band: a passive bid rests for the excess (or crosses beyond the outer)
    assert d.passive.orders + d.hedge_orders > 0
    assert d.passive.side > 0 or d.hedge_flow > 0
    off = small_model(close_window_seconds=0.0)
    off.now = SECONDS_PER_DAY - 10.0
    assert parts(off)[0][0].close_factor() == 1.0


def test_the_summary_says_how_the_hedges_were_worked_summed_over_the_dealers():
    m = small_model(n_dealers=2)
    pop = m.populations["dealers"]
    for i, d in enumerate(parts(m)[0]):
        d.bands.looks, d.bands.outside_inner, d.bands.outside_outer = 10, 4 + i, 1 + i
        d.hedge_orders, d.cap.binds, d.passive.filled = 3, 1 + i, 500
    s = pop.summary()
    assert s["looks"] == 20
    assert s["outside_inner_fraction"] == pytest.approx(9 / 20)
    assert s["outside_outer_fraction"] == pytest.approx(3 / 20)
    assert (s["crossing_orders"], s["participation_cap_binds"]) == (6, 3)
    assert s["passive_filled_shares"] == 1000
    assert small_model(n_dealers=0).populations["dealers"].summary() is None


@pytest.mark.parametrize("hedge", [True, False])
def test_the_public_dealer_gex_counts_only_dealers_whose_hedges_reach_the_market(hedge):
    m = small_model(n_dealers=2, n_customers=3, hedge=hedge, initial_book="short_gamma")
    ScriptedBook(m).set(100.0)
    dealers, customers = parts(m)
    while customers[0].opening.pending:
        customers[0].act()
    for d in dealers:
        d.book_greeks()
    own = m.populations["dealers"].total("gex")
    assert own < 0.0  # the opening book is short gamma
    assert m.dealer_gex == (own if hedge else 0.0)
