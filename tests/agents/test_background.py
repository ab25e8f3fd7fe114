"""Background traders: config checks, the decision rule, order types, sizes, activity feedback."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from agents.background import (
    BackgroundConfig,
    BackgroundCrowd,
    BackgroundPopulation,
    populate,
)
from agents.beliefs import (
    LearntValue,
    Sentiment,
    hedging_explained_share,
    log_uniform,
    look_probability,
    revise,
)
from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from tests.conftest import activity, book_only_config, force_vol


def small_config(
    seed: int = 0, n_background: int = 60, n_liquidity: int = 0, **background
) -> RunConfig:
    """Background (and optionally liquidity providers) only: nothing else trades."""
    cfg = book_only_config(seed, n_background, n_liquidity)
    for key, value in background.items():
        setattr(cfg.agents.background, key, value)
    return cfg


def orders_of(model: HedgeLoopModel, owner: int, since: int = 0):
    book = model.book
    return [
        rec
        for rec in (book.order_record(i) for i in range(since + 1, book.n_orders + 1))
        if rec.owner == owner
    ]


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("n", -1, "[0, "),
        ("rate", -0.1, "[0.0, "),
        ("contrarian_share", 1.5, "[0.0, 1.0]"),
        ("horizon_min", 0.0, "(0.0, "),
        ("noise_sd", -0.01, "[0.0, 1.0]"),
        ("limit_offset", 0.9, "[0.0, 0.5]"),
        ("market_order_fraction", 1.2, "[0.0, 1.0]"),
        ("marketable_fraction", -0.2, "[0.0, 1.0]"),
        ("lot_size", 0, "[1, "),
        ("size_tail_exponent", 0.0, "(0.0, "),
        ("max_lots", 0, "[1, "),
        ("order_lifetime", 0.0, "(0.0, "),
        ("activity_reference_vol", 0.0, "(0.0, "),
        ("max_expected_return", 0.0, "(0.0, "),
        ("value_learning", 1.0, "[0.0, 1.0)"),
        ("value_learning_horizon", 0.0, "(0.0, "),
        ("value_learning_gamma_discount", -1.0, "[0.0, 1000.0]"),
        ("price_learning", 1.5, "[0.0, 1.0]"),
        ("value_look_rate", -1e-4, "[0.0, 1.0]"),
        ("value_look_weight", 1.2, "[0.0, 1.0]"),
        ("belief_error_sd", -0.01, "[0.0, 1.0]"),
        ("sentiment_sd", -0.01, "[0.0, 1.0]"),
        ("sentiment_half_life", 0.0, "(0.0, "),
        ("value_horizon_min", 0.0, "(0.0, "),
    ],
)
def test_config_rejects_out_of_range_values_naming_the_field(field, value, allowed):
    with pytest.raises(ValueError, match=rf"agents\.background\.{field} must be in") as err:
        BackgroundConfig(**{field: value})
    assert allowed in str(err.value)


def test_config_rejects_inverted_horizons_and_no_components():
    with pytest.raises(ValueError, match=r"agents\.background\.horizon_max"):
        BackgroundConfig(horizon_min=100.0, horizon_max=50.0)
    with pytest.raises(ValueError, match="must not all be 0"):
        BackgroundConfig(fundamentalist_scale=0.0, chartist_scale=0.0, noise_scale=0.0)


def test_populate_with_no_traders_builds_nothing():
    assert populate(None, BackgroundConfig(n=0), np.random.default_rng(0)) == []


def test_population_weights_horizons_and_endowment():
    cfg = small_config(n_background=400, contrarian_share=0.25, horizon_min=40.0, horizon_max=80.0)
    model = HedgeLoopModel(cfg)
    members = model.populations["background"]
    assert len(members) == 400
    wc = np.array([a.w_chartist for a in members])
    assert all(a.w_fundamental >= 0 and a.w_noise >= 0 for a in members)
    assert 0.15 < np.mean(wc < 0) < 0.35  # the contrarian share
    assert all(40.0 <= a.horizon <= 80.0 for a in members)
    assert all(a.rate == cfg.agents.background.rate for a in members)
    shares = model.ledger.shares[[a.unique_id for a in members]]
    assert np.all(shares == cfg.agents.background.initial_shares)
    # one shared crowd per model
    assert len({id(a.crowd) for a in members}) == 1


def test_trader_rejects_bad_weights():
    model = HedgeLoopModel(small_config(n_background=2))
    trader = model.populations["background"][0]
    with pytest.raises(ValueError, match="w_fundamental and w_noise must be >= 0"):
        trader.set_weights(-1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="not all 0"):
        trader.set_weights(0.0, 0.0, 0.0)


# ---------------------------------------------------------------------- the decision rule
def test_fundamentalist_expects_the_gap_to_close():
    model = HedgeLoopModel(
        small_config(n_background=2, fundamental_horizon=600.0, max_expected_return=0.05)
    )
    trader = model.populations["background"][0]
    trader.set_weights(1.0, 0.0, 0.0)
    trader.horizon = 300.0
    below = trader.expected_log_return(100.0, 102.0, 0.0, 0.0)
    above = trader.expected_log_return(100.0, 98.0, 0.0, 0.0)
    assert below == pytest.approx(math.log(1.02) * 0.5)  # half the gap closes within its horizon
    assert above < 0 < below


def test_chartist_follows_and_contrarian_fades_the_trend():
    model = HedgeLoopModel(small_config(n_background=2))
    trader = model.populations["background"][0]
    trader.set_weights(0.0, 1.0, 0.0)
    assert trader.expected_log_return(100.0, 100.0, 0.002, 0.0) == pytest.approx(0.002)
    trader.set_weights(0.0, -1.0, 0.0)
    assert trader.expected_log_return(100.0, 100.0, 0.002, 0.0) == pytest.approx(-0.002)


def test_expected_return_is_clipped():
    model = HedgeLoopModel(small_config(n_background=2, max_expected_return=0.001))
    trader = model.populations["background"][0]
    trader.set_weights(0.0, 1.0, 0.0)
    assert trader.expected_log_return(100.0, 100.0, 0.05, 0.0) == pytest.approx(0.001)
    assert trader.expected_log_return(100.0, 100.0, -0.05, 0.0) == pytest.approx(-0.001)


def _sides_after_acting(model, trader, n_actions=200):
    since = model.book.n_orders
    for _ in range(n_actions):
        trader.trade()
    recs = orders_of(model, trader.unique_id, since)
    assert recs, "the trader sent no orders"
    return np.array([r.side for r in recs])


def test_fundamentalists_buy_below_and_sell_above_the_fundamental():
    model = HedgeLoopModel(small_config(n_background=2, market_order_fraction=0.0))
    trader = model.populations["background"][0]
    trader.set_weights(1.0, 0.0, 0.0)
    model.fundamental = model.state.mid * 1.01
    assert np.all(_sides_after_acting(model, trader) == 1)
    model.fundamental = model.state.mid * 0.99
    assert np.all(_sides_after_acting(model, trader) == -1)


def test_trend_followers_buy_after_a_rise_and_contrarians_sell():
    model = HedgeLoopModel(small_config(n_background=2, market_order_fraction=0.0))
    st = model.state
    st.mids[:601] = np.linspace(99.0, 100.0, 601)  # a rising mid over the last 600 s
    st.n = 600
    st.mid = 100.0
    trader = model.populations["background"][0]
    trader.horizon = 300.0
    trader.set_weights(0.0, 1.0, 0.0)
    assert np.all(_sides_after_acting(model, trader) == 1)
    trader.set_weights(0.0, -1.0, 0.0)
    assert np.all(_sides_after_acting(model, trader) == -1)


def test_noise_traders_pick_both_sides():
    model = HedgeLoopModel(small_config(n_background=2, market_order_fraction=0.0))
    trader = model.populations["background"][0]
    trader.set_weights(0.0, 0.0, 1.0)
    sides = _sides_after_acting(model, trader, 400)
    assert 0.4 < np.mean(sides == 1) < 0.6


# ---------------------------------------------------------------------- orders
def test_order_type_mix_follows_the_fractions():
    model = HedgeLoopModel(
        small_config(n_background=2, market_order_fraction=0.3, marketable_fraction=0.5)
    )
    # a resting two-sided book from another account so that marketable orders have a touch
    other = model.populations["background"][1].unique_id
    for k in range(1, 6):
        model.venue.limit(other, 1, 10_000 - 50 * k, 10**6)
        model.venue.limit(other, -1, 10_000 + 50 * k, 10**6)
    trader = model.populations["background"][0]
    trader.set_weights(0.0, 0.0, 1.0)
    n = 2000
    for _ in range(n):
        trader.trade()
    assert trader.n_market + trader.n_marketable + trader.n_passive == n
    assert trader.n_market / n == pytest.approx(0.3, abs=0.04)
    # half of the limit orders are priced to cross; passive ones shaded by the noise may cross too
    assert trader.n_marketable / n >= 0.7 * 0.5 - 0.04


def test_all_market_orders_when_the_fraction_is_one():
    model = HedgeLoopModel(small_config(n_background=2, market_order_fraction=1.0))
    trader = model.populations["background"][0]
    for _ in range(50):
        trader.trade()
    assert trader.n_market == 50 and trader.n_passive == 0
    assert all(r.kind == "market" for r in orders_of(model, trader.unique_id))


@pytest.mark.parametrize(("shape", "near_share"), [(1, 1 - math.exp(-0.25)), (4, 0.019)])
def test_passive_orders_rest_behind_the_expected_price(shape, near_share):
    model = HedgeLoopModel(
        small_config(
            n_background=2,
            market_order_fraction=0.0,
            marketable_fraction=0.0,
            limit_offset=0.01,
            offset_shape=shape,
        )
    )
    trader = model.populations["background"][0]
    trader.set_weights(1.0, 0.0, 0.0)
    model.fundamental = 101.0
    mid = model.state.mid
    target = mid * math.exp(trader.expected_log_return(mid, 101.0, 0.0, 0.0))
    for _ in range(3000):
        trader.trade()
    assert trader.n_passive == 3000
    prices = np.array([r.price for r in orders_of(model, trader.unique_id)]) * model.tick
    shade = (target - prices) / target
    assert np.all(shade >= 0)
    # the shade has mean limit_offset; shape 1 piles orders at the expected price, shape 4 a few
    # ticks behind it (gamma with 4 stages: 1.9% of draws below a quarter of the mean)
    assert np.mean(shade) == pytest.approx(0.01, rel=0.1)
    assert np.mean(shade < 0.0025) == pytest.approx(near_share, abs=0.03)


def test_sizes_are_round_lots_with_a_power_law_tail():
    cfg = BackgroundConfig(lot_size=100, size_tail_exponent=1.5, max_lots=1000)
    crowd = BackgroundCrowd(cfg, np.random.default_rng(3))
    lots = np.array([crowd.lots() for _ in range(40_000)])
    assert lots.min() >= 1 and lots.max() <= 1000
    assert np.mean(lots >= 2) == pytest.approx(2**-1.5, abs=0.01)
    assert np.mean(lots >= 10) == pytest.approx(10**-1.5, abs=0.006)
    capped = BackgroundCrowd(BackgroundConfig(max_lots=3), np.random.default_rng(3))
    assert max(capped.lots() for _ in range(5000)) == 3


def test_order_lifetime_cancels_resting_orders():
    def resting_and_cancelled(lifetime: float) -> tuple[int, float]:
        model = HedgeLoopModel(small_config(n_background=200, order_lifetime=lifetime))
        for _ in range(400):
            model.step()
        ids = {a.unique_id for a in model.populations["background"]}
        book = model.book
        recs = [book.order_record(i) for i in range(1, book.n_orders + 1)]
        limits = [r for r in recs if r.owner in ids and r.kind == "limit"]
        resting = sum(1 for r in limits if r.remaining)
        cancelled = sum(r.cancelled for r in limits) / sum(r.submitted for r in limits)
        return resting, cancelled

    short_resting, short_cancelled = resting_and_cancelled(5.0)
    long_resting, long_cancelled = resting_and_cancelled(300.0)
    # orders that live 5 s on average are nearly all gone within 400 s; 300-s ones mostly rest
    assert short_resting < long_resting
    assert short_cancelled > long_cancelled + 0.3


# ---------------------------------------------------------------------- activity feedback
def test_extra_activity_is_aggressive_and_feedback_zero_switches_it_off():
    def crowd(aggression):
        cfg = BackgroundConfig(
            market_order_fraction=0.1, marketable_fraction=0.2, aggression_feedback=aggression
        )
        return BackgroundCrowd(cfg, np.random.default_rng(0))

    base_passive = 0.9 * 0.8
    all_aggressive, half, alike = crowd(1.0), crowd(0.5), crowd(0.0)
    assert 1.0 - all_aggressive.p_aggressive == pytest.approx(base_passive)
    for c in (all_aggressive, half, alike):
        c.set_mix(4.0)
        # market and marketable orders keep their base proportion
        assert c.p_market / c.p_aggressive == pytest.approx(0.1 / (0.1 + 0.9 * 0.2))
    # resting orders arrive at multiplier ** (1 - aggression_feedback) times their base rate
    assert 1.0 - all_aggressive.p_aggressive == pytest.approx(base_passive / 4)
    assert 1.0 - half.p_aggressive == pytest.approx(base_passive / 2)
    assert 1.0 - alike.p_aggressive == pytest.approx(base_passive)
    with pytest.raises(ValueError, match="multiplier must be > 0"):
        alike.set_mix(0.0)

    model = HedgeLoopModel(small_config(activity_feedback=0.0, speculator_activity=0.0))
    force_vol(model, 3.0)
    assert activity(model, "background") == 1.0


def test_runs_are_reproducible_and_conserve_the_ledger():
    def trades(seed):
        model = HedgeLoopModel(small_config(seed=seed, n_background=300, n_liquidity=5))
        for _ in range(900):
            model.step()
        model.finish()
        return [(t.time, t.price, t.qty, t.aggressor_owner) for t in model.book.trades]

    first = trades(4)
    assert len(first) > 100
    assert first == trades(4)
    assert first != trades(5)


def test_a_fundamental_shock_is_priced_in():
    cfg = small_config(n_background=900, n_liquidity=20)
    cfg.market.fundamental_vol = 0.0
    model = HedgeLoopModel(cfg)
    for _ in range(300):
        model.step()
    before = model.state.mid
    model.fundamental *= math.exp(0.02)
    for _ in range(3600):
        model.step()
    # the background crowd pulls the price most of the way to the new value within the hour
    assert math.log(model.state.mid / before) > 0.01


# ---------------------------------------------------------------------- learning value from prices
def test_value_gap_averages_the_log_gap_with_its_half_life():
    crowd = BackgroundCrowd(
        BackgroundConfig(value_learning=0.8, value_learning_horizon=100.0),
        np.random.default_rng(0),
    )
    for _ in range(100):  # 100 steps of 1 s = one half-life at a constant 10% discount
        crowd.learn_value(mid=90.0, fundamental=100.0, dt=1.0)
    gap = math.log(0.9)
    assert crowd.value_gap == pytest.approx(0.5 * gap, rel=1e-9)
    assert crowd.anchor_factor == pytest.approx(math.exp(0.8 * 0.5 * gap))


@pytest.mark.parametrize(
    ("exponent", "sigma", "half_lives"),
    [(0.0, 1.2, 1.0), (2.0, 0.15, 1.0), (2.0, 0.6, 4.0), (1.0, 0.9, 3.0)],
)
def test_a_noisier_market_is_learnt_from_more_slowly(exponent, sigma, half_lives):
    """With ``value_learning_vol_exponent`` k the half-life is stretched by
    ``max(1, sigma / activity_reference_vol) ** k`` (reference 0.3): at k = 2 and twice the
    usual volatility, 400 s of a 100-s horizon are one half-life; a calm market is unchanged."""
    crowd = BackgroundCrowd(
        BackgroundConfig(
            value_learning=0.8,
            value_learning_horizon=100.0,
            value_learning_vol_exponent=exponent,
            activity_reference_vol=0.3,
        ),
        np.random.default_rng(0),
    )
    for _ in range(round(100 * half_lives)):
        crowd.learn_value(mid=90.0, fundamental=100.0, dt=1.0, sigma=sigma)
    assert crowd.value_gap == pytest.approx(0.5 * math.log(0.9), rel=1e-9)


def test_the_learning_slowdown_follows_the_crowds_remembered_volatility():
    """In a step the crowd learns with the volatility it has just remembered: with the exponent
    on, a market forced far above the reference moves the learnt gap less than with it off."""
    gaps = []
    for k in (0.0, 2.0):
        cfg = BackgroundConfig(
            value_learning=0.99,
            value_learning_horizon=30.0,
            value_learning_vol_exponent=k,
            mood_share=0.0,
        )
        crowd = BackgroundCrowd(cfg, np.random.default_rng(0))
        state = SimpleNamespace(n=0, mid=95.0, vol=1.5)  # five times the reference volatility
        for n in range(60):
            state.n = n
            crowd.activity_multiplier(state, 1.0, fundamental=100.0)
        gaps.append(crowd.value_gap)
    assert gaps[0] < gaps[1] < 0.0  # both learn the discount, the slowed crowd less of it


def test_the_hedging_share_is_the_dealers_short_gamma_over_the_days_notional():
    gex = np.array([-1e6, -1e6, -1e6, 2e6, -1e6])
    notional = np.array([1e8, 4e8, 1e7, 1e8, 0.0])
    share = hedging_explained_share(gex, notional, 50.0)
    # 1% of a day's notional per 1% move at c = 50 explains half; a quarter of it an eighth;
    # ten times it saturates; a long book's hedges lean against the move; no volume, no read
    np.testing.assert_allclose(share, [0.5, 0.125, 1.0, 0.0, 0.0])
    assert float(hedging_explained_share(-1e6, 1e8, 0.0)) == 0.0


@pytest.mark.parametrize("explained", [0.0, 0.4, 1.0])
def test_the_crowd_learns_only_the_share_of_a_gap_hedges_do_not_explain(explained):
    value = LearntValue(0.9, horizon=10.0)
    for _ in range(2000):  # 200 half-lives: settled
        value.update(1.0, math.log(95.0), math.log(100.0), explained=explained)
    assert value.gap == pytest.approx((1.0 - explained) * math.log(0.95), abs=1e-12)


def _dealer_world(gex: float) -> SimpleNamespace:
    """A world whose price sits 5% below value and trades 1,000 shares in each 30-s step."""
    volumes = np.full(200, 1000.0)
    state = SimpleNamespace(n=0, mid=95.0, vol=0.3, volumes=volumes)
    return SimpleNamespace(state=state, now=0.0, dt=30.0, fundamental=100.0, dealer_gex=gex)


def _learnt_gap(world: SimpleNamespace, discount: float) -> float:
    cfg = BackgroundConfig(
        value_learning=0.99,
        value_learning_horizon=30.0,
        value_learning_gamma_discount=discount,
        mood_share=0.0,
    )
    crowd = BackgroundCrowd(cfg, np.random.default_rng(0))
    population = BackgroundPopulation(cfg, np.random.default_rng(0), [], crowd)
    for n in range(1, 120):
        world.state.n, world.now = n, 30.0 * n
        population.observe(world)  # type: ignore[arg-type]
    return crowd.value_gap


def test_a_crowd_that_knows_the_dealers_short_gamma_learns_less_of_the_gap():
    """Past the 30-minute floor the notional is 95 x 1,000 / 30 s x 23,400 s = 7.41e7 a day;
    a short book of 1% of it per 1% move at c = 50 explains half the gap."""
    gex = 0.01 * 95.0 * 1000.0 / 30.0 * SECONDS_PER_DAY
    off = _learnt_gap(_dealer_world(-gex), 0.0)
    short = _learnt_gap(_dealer_world(-gex), 50.0)
    long = _learnt_gap(_dealer_world(gex), 50.0)
    assert long == off  # a long book's hedges lean against moves: nothing put down to them
    assert short / off == pytest.approx(0.5, abs=1e-6)


def test_without_value_learning_the_anchor_is_the_fundamental():
    crowd = BackgroundCrowd(BackgroundConfig(value_learning=0.0), np.random.default_rng(0))
    crowd.learn_value(mid=50.0, fundamental=100.0, dt=1.0)
    assert crowd.value_gap == 0.0 and crowd.anchor_factor == 1.0


def test_the_crowd_learns_a_gap_flow_made_but_not_one_that_fresh_news_explains():
    cfg = BackgroundConfig(value_learning=0.99, value_learning_horizon=120.0, news_horizon=150.0)
    flow, news = (BackgroundCrowd(cfg, np.random.default_rng(0)) for _ in range(2))
    flow.learn_value(mid=100.0, fundamental=100.0, dt=1.0)
    news.learn_value(mid=100.0, fundamental=100.0, dt=1.0)
    for _ in range(60):  # one minute: the price 5% under an unchanged value (selling)...
        flow.learn_value(mid=95.0, fundamental=100.0, dt=1.0)
    news.learn_value(mid=100.0, fundamental=100.0 / 0.95, dt=1.0)  # ...or value up 5.3% (news)
    for _ in range(59):
        news.learn_value(mid=100.0, fundamental=100.0 / 0.95, dt=1.0)
    assert flow.value_gap == pytest.approx(math.log(0.95) * (1 - 0.5 ** (60 / 120)), rel=1e-6)
    # the unabsorbed news fades only over the news horizon, so little of it is learnt in a minute
    assert abs(news.value_gap) < 0.2 * abs(flow.value_gap)
    # news the price never absorbs is, in the end, learnt like any other gap
    for _ in range(3600):
        news.learn_value(mid=100.0, fundamental=100.0 / 0.95, dt=1.0)
    assert news.value_gap == pytest.approx(math.log(0.95), rel=0.01)


def test_the_crowd_learns_through_learnt_value_with_the_news_correction():
    """The crowd's learning is :class:`agents.beliefs.LearntValue` with ``news_horizon``: fed
    the same path, a stand-alone one lands on the same gap and anchor."""
    cfg = BackgroundConfig(value_learning=0.9, value_learning_horizon=300.0, news_horizon=200.0)
    crowd = BackgroundCrowd(cfg, np.random.default_rng(0))
    alone = LearntValue(0.9, 300.0, news_horizon=200.0)
    rng = np.random.default_rng(3)
    log_f = log_p = math.log(100.0)
    for _ in range(2000):
        log_f += 0.001 * rng.standard_normal()
        log_p += 0.001 * rng.standard_normal()
        crowd.learn_value(mid=math.exp(log_p), fundamental=math.exp(log_f), dt=1.0)
        alone.update(1.0, log_p, log_f)
    assert crowd.value is not alone and crowd.value_gap == pytest.approx(alone.gap, rel=1e-9)
    assert crowd.news_in_transit == pytest.approx(alone.news_in_transit, rel=1e-9)
    assert crowd.anchor_factor == pytest.approx(math.exp(alone.anchor), rel=1e-12)


def test_learnt_value_without_news_horizon_ignores_the_moves_of_value():
    """The latent investors' LearntValue (no news correction) learns the raw gap: the same
    price 5% under value gives the same gap whether value jumped or the price fell."""
    jumped, fell = LearntValue(1.0, 60.0), LearntValue(1.0, 60.0)
    jumped.update(1.0, 0.0, 0.0)
    fell.update(1.0, 0.0, 0.0)
    for _ in range(60):
        jumped.update(1.0, 0.0, 0.05)
        fell.update(1.0, -0.05, 0.0)
    assert jumped.news_in_transit == 0.0
    assert jumped.gap == pytest.approx(fell.gap, rel=1e-12)
    assert jumped.gap == pytest.approx(-0.05 * 0.5, rel=1e-6)


def test_value_learning_lets_a_price_held_below_value_drag_the_anchor_down():
    """Same seed, a price held 5% under value by a seller nobody sees: the learning crowd's
    anchor falls, so its fundamentalists buy less of the gap back."""
    anchors = {}
    for learning in (0.0, 0.9):
        model = HedgeLoopModel(small_config(value_learning=learning, value_learning_horizon=600.0))
        crowd = model.populations["background"][0].crowd
        for _ in range(1200):
            model.fundamental = model.state.mid * 1.05  # value stays 5% above the price
            model.step()
        anchors[learning] = crowd.anchor_factor
    assert anchors[0.0] == 1.0
    assert anchors[0.9] == pytest.approx(math.exp(0.9 * math.log(1 / 1.05)), rel=0.05)


# ---------------------------------------------------------------------- beliefs instead of F
def test_sentiment_is_an_ou_process_with_its_stationary_sd_and_half_life():
    rng = np.random.default_rng(1)
    paths = []
    for _ in range(4000):
        s = Sentiment(sd=0.01, half_life=100.0)
        x0 = s.advance(0.0, rng.standard_normal())
        paths.append((x0, s.advance(100.0, rng.standard_normal())))
    x0, x1 = np.array(paths).T
    assert np.std(x0) == pytest.approx(0.01, rel=0.05)  # starts from the stationary law
    assert np.std(x1) == pytest.approx(0.01, rel=0.05)  # and stays there
    assert np.corrcoef(x0, x1)[0, 1] == pytest.approx(0.5, abs=0.05)  # one half-life apart
    s = Sentiment(sd=0.01, half_life=100.0)
    s.advance(0.0, 1.0)
    assert s.advance(0.0, 5.0) == 0.01  # no time passed: no move
    with pytest.raises(ValueError):
        Sentiment(sd=0.01, half_life=0.0)


def test_revise_learns_from_the_price_then_from_a_look():
    assert revise(0.0, 1.0, 0.25, None, 0.5) == pytest.approx(0.25)
    assert revise(0.0, 1.0, 0.25, 2.0, 0.5) == pytest.approx(0.25 + 0.5 * (2.0 - 0.25))
    assert revise(0.3, 1.0, 0.0, None, 0.5) == 0.3  # no learning, no look: unchanged
    assert look_probability(1e-3, 0.0) == 0.0
    assert look_probability(1e-3, 1000.0) == pytest.approx(1 - math.exp(-1.0))


def test_value_horizons_are_log_uniform_in_their_range():
    h = log_uniform(np.random.default_rng(0), 100.0, 10_000.0, 20_000)
    assert h.min() >= 100.0 and h.max() <= 10_000.0
    assert np.median(h) == pytest.approx(1000.0, rel=0.05)  # the geometric midpoint


def test_belief_mode_keeps_the_other_draws_and_adds_horizons_and_errors():
    off = HedgeLoopModel(small_config(n_background=300))
    on = HedgeLoopModel(
        small_config(
            n_background=300,
            beliefs=True,
            value_horizon_min=3600.0,
            value_horizon_max=36_000.0,
            belief_error_sd=0.01,
        )
    )
    for a, b in zip(off.populations["background"], on.populations["background"], strict=True):
        assert (a.w_fundamental, a.w_chartist, a.w_noise, a.horizon) == (
            b.w_fundamental,
            b.w_chartist,
            b.w_noise,
            b.horizon,
        )
        assert a.value_horizon is None and a.crowd.sentiment is None
        assert 3600.0 <= b.value_horizon <= 36_000.0
        assert b.reach == pytest.approx(min(1.0, b.horizon / b.value_horizon))
    eta = np.array([b.belief_error for b in on.populations["background"]])
    assert np.std(eta) == pytest.approx(0.01, rel=0.15)


def _belief_trader(**background):
    cfg = small_config(
        n_background=2,
        beliefs=True,
        market_order_fraction=0.0,
        belief_error_sd=0.0,
        sentiment_sd=0.0,
        **background,
    )
    model = HedgeLoopModel(cfg)
    trader = model.populations["background"][0]
    trader.set_weights(1.0, 0.0, 0.0)
    return model, trader


def test_the_first_action_is_a_look_then_the_belief_ignores_value_between_looks():
    model, trader = _belief_trader(value_look_rate=0.0, price_learning=0.1)
    model.fundamental = 101.0
    trader.trade()
    assert trader.belief == pytest.approx(math.log(101.0))  # first action: a look
    model.fundamental = 150.0  # value jumps; nobody looks again
    p = model.state.mid
    trader.trade()
    expected = math.log(101.0) + 0.1 * (math.log(p) - math.log(101.0))
    assert trader.belief == pytest.approx(expected)  # learnt only from the price


def test_a_look_sees_value_through_the_common_sentiment_and_the_own_error():
    model, trader = _belief_trader(value_look_rate=0.0)
    trader.belief_error = 0.02
    trader.crowd.sentiment.value = -0.01
    model.fundamental = 100.0
    trader.trade()
    assert trader.belief == pytest.approx(math.log(100.0) + 0.01)


def test_believers_buy_below_and_sell_above_their_belief_not_the_fundamental():
    model, trader = _belief_trader(value_look_rate=0.0, price_learning=0.0)
    p = model.state.mid
    model.fundamental = p * 1.02
    trader.trade()  # the look: belief 2% above the price
    model.fundamental = p * 0.5  # the fundamental collapses unseen: the trader keeps buying
    assert np.all(_sides_after_acting(model, trader) == 1)
    trader.belief = math.log(p * 0.98)
    assert np.all(_sides_after_acting(model, trader) == -1)


def test_looks_arrive_at_their_rate():
    model, trader = _belief_trader(value_look_rate=1e-3, price_learning=0.0, value_look_weight=1.0)
    model.fundamental = 100.0
    trader.trade()
    looks = 0
    for k in range(1, 401):
        model.fundamental = 100.0 * (1.0 + 0.001 * k)  # each look sees a new value
        trader.belief_time = model.now - 1000.0  # 1000 s since the last revision
        before = trader.belief
        trader.trade()
        looks += trader.belief != before
    assert looks / 400 == pytest.approx(1 - math.exp(-1.0), abs=0.08)


def test_belief_mode_runs_and_the_price_stays_near_value_over_a_session_hour():
    model = HedgeLoopModel(small_config(n_background=200, n_liquidity=5, beliefs=True))
    for _ in range(3600):
        model.step()
    members = model.populations["background"]
    beliefs = np.array([a.belief for a in members if a.belief is not None])
    assert len(beliefs) > 100
    assert abs(math.log(model.state.mid / model.fundamental)) < 0.05
    assert np.all(np.abs(beliefs - math.log(model.state.mid)) < 0.1)


# ---------------------------------------------------------------------- persistent opinions
def test_opinion_half_lives_need_a_positive_lower_end_and_keep_the_other_draws():
    with pytest.raises(ValueError, match=r"agents\.background\.opinion_half_life_min"):
        BackgroundConfig(opinion_half_life_min=0.0, opinion_half_life_max=600.0)
    with pytest.raises(ValueError, match=r"agents\.background\.opinion_half_life_max"):
        BackgroundConfig(opinion_half_life_min=600.0, opinion_half_life_max=60.0)
    off = HedgeLoopModel(small_config(n_background=200))
    on = HedgeLoopModel(
        small_config(n_background=200, opinion_half_life_min=60.0, opinion_half_life_max=6000.0)
    )
    for a, b in zip(off.populations["background"], on.populations["background"], strict=True):
        assert (a.w_fundamental, a.w_chartist, a.w_noise, a.horizon) == (
            b.w_fundamental,
            b.w_chartist,
            b.w_noise,
            b.horizon,
        )
        assert a.opinion_half_life is None and 60.0 <= b.opinion_half_life <= 6000.0


def _opinion_path(half_life, gaps, z):
    model = HedgeLoopModel(small_config(n_background=2))
    trader = model.populations["background"][0]
    trader.opinion_half_life = half_life
    out = []
    for gap, zi in zip(gaps, z, strict=True):
        model.now += gap
        out.append(trader.persist_opinion(zi))
    return np.array(out)


def test_an_opinion_persists_over_its_half_life_and_stays_standard_normal():
    rng = np.random.default_rng(5)
    z = rng.standard_normal(20_000)
    gaps = np.full(z.size, 30.0)
    # fresh draws when no half-life is set
    assert np.array_equal(_opinion_path(None, gaps, z), z)
    slow = _opinion_path(300.0, gaps, z)  # a = 0.5 ** (30 / 300) per action
    a = 0.5**0.1
    assert np.corrcoef(slow[:-1], slow[1:])[0, 1] == pytest.approx(a, abs=0.02)
    assert np.std(slow) == pytest.approx(1.0, abs=0.05)  # the stationary law is N(0, 1)
    # one half-life apart, half the opinion is left
    ten = np.corrcoef(slow[:-10], slow[10:])[0, 1]
    assert ten == pytest.approx(0.5, abs=0.05)
    # an idle trader forgets: after many half-lives the opinion is the new draw
    late = _opinion_path(300.0, np.array([0.0, 30_000.0]), np.array([2.0, -1.0]))
    assert late[0] == 2.0 and late[1] == pytest.approx(-1.0, abs=1e-9)


def test_persistent_opinions_correlate_a_traders_order_signs():
    """A noise trader's successive orders keep their side; with fresh draws they do not."""

    def same_side_share(**kw):
        model = HedgeLoopModel(
            small_config(n_background=40, noise_scale=1.0, fundamentalist_scale=0.0, **kw)
        )
        for t in model.populations["background"]:
            t.set_weights(0.0, 0.0, 1.0)
        for _ in range(1800):
            model.step()
        sides = {}
        for rec in (model.book.order_record(i) for i in range(1, model.book.n_orders + 1)):
            sides.setdefault(rec.owner, []).append(rec.side)
        pairs = [s[i] == s[i + 1] for s in sides.values() for i in range(len(s) - 1)]
        return np.mean(pairs), len(pairs)

    fresh, n_fresh = same_side_share()
    kept, n_kept = same_side_share(opinion_half_life_min=3600.0, opinion_half_life_max=7200.0)
    assert n_fresh > 100 and n_kept > 100
    assert fresh == pytest.approx(0.5, abs=0.1)
    assert kept > 0.8
