"""Option customers: each flow type trades what it says, where it says, as often as it says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.customer_config import FLOW_TYPES, CustomersConfig, FlowType
from agents.customers import (
    chase_factor,
    expected_capped_size,
    flow_totals,
    populate,
    population_boost,
    tenor_weights,
)
from agents.dealers import DealersConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from tests.conftest import activity, options_only_config

ONLY = {
    ft: {f"{other.value}_weight": float(other is ft) for other in FLOW_TYPES} for ft in FLOW_TYPES
}


def small_model(n_customers=3, n_dealers=2, seed=0, **customer_kw):
    cfg = options_only_config(seed)
    cfg.agents.dealers = DealersConfig(n=n_dealers, hedge=False, initial_book="flat")
    customer_kw.setdefault("rate", 0.0)
    cfg.agents.customers = CustomersConfig(n=n_customers, **customer_kw)
    m = HedgeLoopModel(cfg)
    set_mid(m, 100.0)
    return m


def set_mid(model, mid):
    """A two-sided share book from account 0 around ``mid`` (the customers read the mid)."""
    for oid in getattr(model, "_test_quotes", ()):
        model.venue.cancel(oid)
    t = model.to_ticks(mid)
    model._test_quotes = [model.venue.limit(0, 1, t - 1, 100), model.venue.limit(0, -1, t + 1, 100)]
    model.state.update()


def act(model, times):
    customers = model.populations["customers"]
    for i in range(times):
        customers[i % len(customers)].act()
    return customers


def held(model, customers):
    """Every customer's non-zero positions: (contract, contracts) pairs."""
    out = []
    for c in customers:
        pos = model.ledger.options[c.account]
        out += [(int(k), int(pos[k])) for k in np.flatnonzero(pos)]
    return out


@pytest.mark.parametrize(
    ("flow", "side", "is_call", "lo", "hi"),
    [
        (FlowType.protective_put, 1, False, 0.90, 0.98),
        (FlowType.speculative_call, 1, True, 1.02, 1.10),
        (FlowType.covered_call, -1, True, 1.01, 1.06),
        (FlowType.put_selling, -1, False, 0.93, 0.99),
        (FlowType.call_frenzy, 1, True, 1.00, 1.05),
    ],
)
def test_each_flow_trades_its_side_type_and_moneyness(flow, side, is_call, lo, hi):
    m = small_model(expiry_weights=[0.0, 1.0, 1.0], **ONLY[flow])
    customers = act(m, 40)
    positions = held(m, customers)
    assert len(positions) >= 3
    for k, qty in positions:
        assert np.sign(qty) == side
        assert bool(m.chain.is_call[k]) is is_call
        assert lo - 1e-9 <= m.chain.strike[k] / 100.0 <= hi + 1e-9
    totals = flow_totals(customers)
    done = totals["bought" if side > 0 else "sold"][flow.value]
    assert done == sum(abs(q) for _, q in positions)
    other = totals["sold" if side > 0 else "bought"]
    assert sum(other.values()) == 0
    # the dealers hold exactly the other side
    dealer_pos = sum(m.ledger.options[d.account] for d in m.populations["dealers"])
    customer_pos = sum(m.ledger.options[c.account] for c in customers)
    np.testing.assert_array_equal(dealer_pos, -customer_pos)


def test_a_writing_frenzy_sells_the_same_calls_to_the_dealers():
    m = small_model(expiry_weights=[0.0, 1.0, 1.0], frenzy_side=-1, **ONLY[FlowType.call_frenzy])
    customers = act(m, 40)
    positions = held(m, customers)
    assert len(positions) >= 3
    for k, qty in positions:
        assert qty < 0 and bool(m.chain.is_call[k])
        assert 1.0 - 1e-9 <= m.chain.strike[k] / 100.0 <= 1.05 + 1e-9
    totals = flow_totals(customers)
    assert totals["sold"]["call_frenzy"] == sum(-q for _, q in positions)
    assert sum(totals["bought"].values()) == 0
    dealer_pos = sum(m.ledger.options[d.account] for d in m.populations["dealers"])
    assert (dealer_pos >= 0).all() and dealer_pos.sum() > 0  # the dealers are long the calls


def test_frenzy_trades_the_nearest_expiry_in_bigger_sizes():
    m = small_model(
        contracts_min=2, contracts_max=4, frenzy_size_multiplier=5.0, **ONLY[FlowType.call_frenzy]
    )
    customers = act(m, 30)
    positions = held(m, customers)
    assert {float(m.chain.expiry[k]) for k, _ in positions} == {float(SECONDS_PER_DAY)}
    sizes = [c.contracts_bought["call_frenzy"] for c in customers]
    assert sum(sizes) >= 30 * 10  # every trade at least 2 x 5 contracts
    m2 = small_model(
        contracts_min=2,
        contracts_max=4,
        frenzy_size_multiplier=5.0,
        frenzy_nearest_expiry=False,
        expiry_weights=[0.0, 0.0, 1.0],
        **ONLY[FlowType.call_frenzy],
    )
    positions2 = held(m2, act(m2, 10))
    assert {float(m2.chain.expiry[k]) for k, _ in positions2} == {20.0 * SECONDS_PER_DAY}


@pytest.mark.parametrize(("weights", "day"), [([1.0, 0.0, 0.0], 0), ([0.0, 0.0, 2.0], 19)])
def test_expiry_weights_choose_the_expiry(weights, day):
    m = small_model(expiry_weights=weights, **ONLY[FlowType.speculative_call])
    positions = held(m, act(m, 20))
    assert {float(m.chain.expiry[k]) for k, _ in positions} == {(day + 1.0) * SECONDS_PER_DAY}


def test_expiry_weights_spread_trades_in_proportion():
    m = small_model(
        n_customers=5,
        expiry_weights=[1.0, 1.0, 2.0],
        contracts_min=1,
        contracts_max=1,
        **ONLY[FlowType.protective_put],
    )
    customers = act(m, 400)
    days = (
        np.array(
            [
                m.chain.expiry[k]
                for c in customers
                for k in np.flatnonzero(m.ledger.options[c.account])
                for _ in range(int(m.ledger.options[c.account][k]))
            ]
        )
        / SECONDS_PER_DAY
        - 1
    )
    share_far = np.mean(days == 19)
    assert 0.4 < share_far < 0.6
    assert 0.15 < np.mean(days == 0) < 0.35


def test_contracts_close_to_expiry_are_not_traded():
    m = small_model(
        expiry_weights=[1.0, 0.0, 0.0],
        min_seconds_to_expiry=600.0,
        **ONLY[FlowType.speculative_call],
    )
    m.now = SECONDS_PER_DAY - 500.0
    customers = act(m, 10)
    assert held(m, customers) == []
    assert sum(c.refused["speculative_call"] for c in customers) == 10
    fresh = small_model(
        expiry_weights=[1.0, 1.0, 0.0],
        min_seconds_to_expiry=600.0,
        **ONLY[FlowType.speculative_call],
    )
    fresh.now = SECONDS_PER_DAY - 500.0
    positions = held(fresh, act(fresh, 10))
    assert {float(fresh.chain.expiry[k]) for k, _ in positions} == {5.0 * SECONDS_PER_DAY}


def test_contract_sizes_stay_in_range():
    m = small_model(contracts_min=3, contracts_max=5, **ONLY[FlowType.protective_put])
    customers = act(m, 60)
    sizes = [abs(q) for _, q in held(m, customers)]
    assert sum(sizes) >= 3 * 60 and sum(sizes) <= 5 * 60


def test_a_customer_without_cash_only_sells():
    m = small_model(
        n_customers=1,
        protective_put_weight=1.0,
        covered_call_weight=1.0,
        speculative_call_weight=0.0,
        put_selling_weight=0.0,
    )
    (c,) = m.populations["customers"]
    m.ledger.cash[c.account] = -(10**12)  # deep in debt: premium received never makes it positive
    for _ in range(30):
        c.act()
    assert sum(c.contracts_bought.values()) == 0
    assert c.contracts_sold["covered_call"] > 0
    assert c.refused["protective_put"] > 0


# ---------------------------------------------------------------- chasing


def test_chase_factor_and_population_boost():
    cfg = CustomersConfig(
        call_frenzy_weight=1.0,
        protective_put_weight=1.0,
        speculative_call_weight=1.0,
        covered_call_weight=1.0,
        put_selling_weight=0.0,
        frenzy_chase=2.0,
    )
    assert chase_factor(cfg, -0.05) == 1.0
    assert chase_factor(cfg, 0.01) == pytest.approx(3.0)
    assert population_boost(cfg, 0.0) == 1.0
    # a 1% rally triples the frenzy intensity: (3 + 1 * 3) / 4
    assert population_boost(cfg, 0.01) == pytest.approx(1.5)
    no_frenzy = CustomersConfig(call_frenzy_weight=0.0)
    assert population_boost(no_frenzy, 0.05) == 1.0


def test_activity_rises_with_recent_returns_only_when_there_is_a_frenzy():
    m = small_model(call_frenzy_weight=1.0, frenzy_chase=1.0, frenzy_window_seconds=60.0)
    assert activity(m, "customers") == 1.0
    set_mid(m, 102.0)
    boosted = activity(m, "customers")
    assert boosted > 1.0
    w = m.cfg.agents.customers.weights().sum()
    assert boosted == pytest.approx((w + 1.0 * math.log(102 / 100) / 0.01) / w)
    calm = small_model(call_frenzy_weight=0.0)
    set_mid(calm, 102.0)
    assert activity(calm, "customers") == 1.0


def frenzy_share(rally, typed=False):
    kw = dict(ONLY[FlowType.protective_put])
    kw.update(
        call_frenzy_weight=1.0,
        frenzy_chase=5.0,
        contracts_min=1,
        contracts_max=1,
        frenzy_size_multiplier=1.0,
    )
    m = small_model(n_customers=6, typed=typed, **kw)
    if rally:
        set_mid(m, 101.0)
    customers = act(m, 300)
    totals = flow_totals(customers)
    return totals["bought"]["call_frenzy"] / 300


def test_a_rally_shifts_the_mix_toward_the_frenzy():
    calm, hot = frenzy_share(False), frenzy_share(True)
    assert 0.35 < calm < 0.65  # equal weights
    assert hot > calm + 0.2  # 1% up: frenzy weight x 6


def test_typed_customers_keep_one_flow_each():
    m = small_model(
        n_customers=8,
        typed=True,
        protective_put_weight=1.0,
        speculative_call_weight=1.0,
        covered_call_weight=0.0,
        put_selling_weight=0.0,
    )
    customers = act(m, 80)
    types = {c.flow_type for c in customers}
    assert types <= {FlowType.protective_put, FlowType.speculative_call}
    assert len(types) == 2
    for c in customers:
        traded = {k for k, v in c.contracts_bought.items() if v} | {
            k for k, v in c.contracts_sold.items() if v
        }
        assert traded <= {c.flow_type.value}


def test_typed_frenzy_customers_trade_more_in_a_rally():
    calm, hot = frenzy_share(False, typed=True), frenzy_share(True, typed=True)
    assert hot > calm * 1.5


# ---------------------------------------------------------------- config and population


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"rate": -1.0}, "agents.customers.rate"),
        ({"protective_put_weight": -0.1}, "agents.customers.protective_put_weight"),
        ({"put_moneyness": [0.98, 0.9]}, "agents.customers.put_moneyness"),
        ({"call_moneyness": [1.1]}, "agents.customers.call_moneyness"),
        ({"contracts_min": 0}, "agents.customers.contracts_min"),
        ({"contracts_min": 5, "contracts_max": 4}, "agents.customers.contracts_max"),
        ({"frenzy_size_multiplier": 0.5}, "agents.customers.frenzy_size_multiplier"),
        ({"expiry_weights": [1.0, -1.0]}, "agents.customers.expiry_weights"),
        ({"typed": "yes"}, "agents.customers.typed"),
    ],
)
def test_bad_config_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        CustomersConfig(**kw)


def test_all_zero_weights_are_refused():
    with pytest.raises(ValueError, match="weight"):
        CustomersConfig(**{f"{ft.value}_weight": 0.0 for ft in FLOW_TYPES})


def test_expiry_weights_must_match_the_listed_expiries():
    with pytest.raises(ValueError, match=r"agents\.customers\.expiry_weights"):
        small_model(expiry_weights=[1.0, 2.0])


def test_populate_gives_cash_and_no_shares():
    m = small_model(n_customers=4, initial_cash=12_345.0)
    customers = m.populations["customers"]
    assert len(customers) == 4
    assert all(m.ledger.cash[c.account] == 1_234_500 for c in customers)
    assert all(m.ledger.shares[c.account] == 0 for c in customers)
    assert populate(m, CustomersConfig(n=0), np.random.default_rng(0)) == []


def test_same_seed_same_trades():
    runs = []
    for _ in range(2):
        m = small_model(seed=5)
        customers = act(m, 30)
        runs.append(held(m, customers))
    assert runs[0] == runs[1]
    other = small_model(seed=6)
    assert held(other, act(other, 30)) != runs[0]


def test_customers_trade_on_their_own_clock_in_a_model_run():
    m = small_model(n_customers=10, rate=0.05)
    for _ in range(200):
        m.step()
    trades = sum(
        sum(c.contracts_bought.values()) + sum(c.contracts_sold.values())
        for c in m.populations["customers"]
    )
    assert trades > 0
    assert m.option_volume == trades
    assert m.finish()["options"] == 0


# ---------------------------------------------------------------- closing


def gross(model, customers):
    """Contracts the customers hold, long and short."""
    return int(sum(np.abs(model.ledger.options[c.account]).sum() for c in customers))


def test_expected_capped_size_matches_a_capped_uniform_draw():
    caps = np.array([0, 1, 3, 5, 8, 40])
    draws = np.random.default_rng(0).integers(2, 11, 200_000)  # uniform on 2..10
    expected = [np.minimum(draws, c).mean() for c in caps]
    np.testing.assert_allclose(expected_capped_size(2, 10, caps), expected, rtol=0.01)


def test_close_probability_grows_with_holdings_and_the_hazard():
    sizes = {"contracts_min": 1, "contracts_max": 40}  # mean draw 20.5, none capped at 40
    m = small_model(n_customers=1, rate=0.001, close_hazard=0.2, **sizes)
    (c,) = m.populations["customers"]
    assert c.close_probability(np.array([], dtype=np.int64)) == 0.0
    small = c.close_probability(np.array([40, -40]))
    big = c.close_probability(np.array([400, -400]))
    assert 0.0 < small < big <= 1.0
    # hazard x contracts / (actions per day x mean close size): 0.2 * 80 / (23.4 * 20.5)
    assert small == pytest.approx(0.2 * 80 / (0.001 * SECONDS_PER_DAY * 20.5))
    assert c.close_probability(np.array([10**6])) == 1.0
    stronger = small_model(n_customers=1, rate=0.001, close_hazard=0.4)
    assert stronger.populations["customers"][0].close_probability(np.array([40, -40])) > small
    for kw in ({"close_hazard": 0.0}, {"rate": 0.0}):
        off = small_model(n_customers=1, **kw).populations["customers"][0]
        assert off.close_probability(np.array([400, -400])) == 0.0


def test_a_close_trades_back_a_held_position_through_the_dealers():
    # one dealer: with several, a close may move a position between dealers and keep the OI
    m = small_model(
        n_customers=1,
        n_dealers=1,
        rate=0.001,
        close_hazard=0.0,
        expiry_weights=[0.0, 0.0, 1.0],
        **ONLY[FlowType.protective_put],
    )
    (c,) = m.populations["customers"]
    for _ in range(20):
        c.act()
    before = m.ledger.options[c.account].copy()
    oi_before = int(m.chain.open_interest.sum())
    assert before.sum() > 0  # long puts only
    c.cfg.close_hazard = 1e3  # every trade now closes
    for _ in range(5):
        c.act()
    after = m.ledger.options[c.account]
    closed = before - after
    assert c.contracts_sold["closing"] == closed.sum() > 0
    assert np.all(closed >= 0) and np.all(after >= 0)  # longs reduced, never flipped short
    assert c.contracts_bought["protective_put"] == before.sum()  # no new opening trade
    assert int(m.chain.open_interest.sum()) == oi_before - closed.sum()
    dealer_pos = sum(m.ledger.options[d.account] for d in m.populations["dealers"])
    np.testing.assert_array_equal(dealer_pos, -after)


def test_a_short_is_bought_back():
    m = small_model(
        n_customers=1,
        rate=0.001,
        close_hazard=0.0,
        expiry_weights=[0.0, 0.0, 1.0],
        **ONLY[FlowType.covered_call],
    )
    (c,) = m.populations["customers"]
    for _ in range(10):
        c.act()
    short = m.ledger.options[c.account].copy()
    assert short.sum() < 0
    c.cfg.close_hazard = 1e3
    c.act()
    assert c.contracts_bought["closing"] > 0
    assert gross(m, [c]) == -short.sum() - c.contracts_bought["closing"]


def plateau(hazard, rounds=8, acts=60):
    """Customers' holdings after each round of ``acts`` actions per customer (about 2.5 days
    of their clock at rate 0.001)."""
    # time does not pass here, so nothing expires: every position may be closed
    m = small_model(
        n_customers=4,
        rate=0.001,
        close_hazard=hazard,
        seed=3,
        expiry_weights=[0.0, 0.0, 1.0],
        min_close_value=0.0,
    )
    customers = m.populations["customers"]
    out = []
    for _ in range(rounds):
        act(m, acts * len(customers))
        out.append(gross(m, customers))
    return np.array(out)


@pytest.mark.parametrize(("moneyness", "weights"), [(0.80, [1.0, 0.0, 0.0]), (0.98, [0, 0, 1])])
def test_nearly_worthless_positions_are_left_to_expire(moneyness, weights):
    m = small_model(
        n_customers=1,
        rate=0.001,
        close_hazard=0.0,
        put_moneyness=[moneyness, moneyness],
        expiry_weights=weights,
        **ONLY[FlowType.protective_put],
    )
    (c,) = m.populations["customers"]
    for _ in range(3):
        c.act()
    held_rows = np.flatnonzero(m.ledger.options[c.account])
    assert held_rows.size > 0
    np.testing.assert_array_equal(c.closable()[0], held_rows)
    worthless = moneyness < 0.9  # a 20% out-of-the-money put expiring today
    assert all(c.worth_closing(int(k)) is not worthless for k in held_rows)
    c.cfg.close_hazard = 1e3  # every trade tries to close
    before = m.ledger.options[c.account].copy()
    c.act()
    after = m.ledger.options[c.account]
    if worthless:  # left to expire: the trade opened a new put instead
        assert c.contracts_sold["closing"] == 0 and after.sum() > before.sum()
    else:
        assert c.contracts_sold["closing"] > 0 and after.sum() < before.sum()
    c.cfg.min_close_value = 0.0
    assert all(c.worth_closing(int(k)) for k in held_rows)


def test_holdings_settle_with_a_closing_hazard_and_grow_without_one():
    none, slow, fast = plateau(0.0), plateau(0.2), plateau(0.6)
    assert none[-1] > 5 * none[0]  # opening only: holdings grow with every trade
    for held_ in (slow, fast):
        assert held_[-1] < 1.25 * held_[-3]  # flat over the last rounds
        assert held_[-1] < 0.5 * none[-1]
    assert fast[-3:].mean() < slow[-3:].mean()  # a higher hazard, a lower plateau


def test_day_zero_mostly_opens():
    m = small_model(n_customers=4, rate=0.001, close_hazard=0.2, seed=1)
    customers = act(m, 4 * 23)  # about one day of each customer's clock
    totals = flow_totals(customers)
    closes = totals["bought"]["closing"] + totals["sold"]["closing"]
    opens = sum(totals["bought"].values()) + sum(totals["sold"].values()) - closes
    assert 0 < closes < 0.25 * opens


# ---------------------------------------------------------------- expiries by tenor


def test_tenor_weights_follow_days_to_expiry():
    tenors = np.array([0, 4, 19])
    days = np.array([0, 4, 19, 24])
    np.testing.assert_array_equal(tenor_weights([1, 2, 3], tenors, days, 0), [1, 2, 3, 3])
    # day 12: day 19 is 7 days away (nearest tenor 4), day 24 is 12 away (nearest 19)
    np.testing.assert_array_equal(tenor_weights([1, 2, 3], tenors, days, 12), [1, 1, 2, 3])
    # a tie goes to the shorter tenor: 2 days away is as near 0 as 4
    assert tenor_weights([1, 2, 3], tenors, np.array([14]), 12)[0] == 1


def test_customers_trade_a_rolling_expiry_only_once_it_is_listed():
    cfg = options_only_config(0)
    cfg.scenario.days = 10
    cfg.agents.dealers = DealersConfig(n=2, hedge=False, initial_book="flat")
    cfg.agents.customers = CustomersConfig(n=3, rate=0.0, **ONLY[FlowType.speculative_call])
    m = HedgeLoopModel(cfg)
    set_mid(m, 100.0)
    rolling = ~m.chain.is_listed
    assert rolling.any()
    first = float(m.chain.expiry[rolling].min())
    customers = act(m, 60)
    assert not any(rolling[k] for k, _ in held(m, customers))
    listing_time = float(m.chain.listed_at[rolling].min())
    m.now = listing_time
    m.chain.open_listings(listing_time)
    m.chain.expire(listing_time)  # the day-0 expiry and every earlier one are gone
    customers = act(m, 120)
    assert any(float(m.chain.expiry[k]) == first for k, _ in held(m, customers))
