"""Latent liquidity: the V-shaped latent book, revealing at the price, and what each knob does."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from agents.beliefs import ImpactMemory, LearntValue, Sentiment
from agents.latent_config import LatentConfig
from agents.latent_liquidity import LatentBook, LatentTrader
from experiments.model import HedgeLoopModel
from market.validation import ConfigError
from tests.conftest import book_only_config, latent_market

LOG_P = math.log(100.0)


def latent_cfg(**kw) -> LatentConfig:
    """A quick latent book: 20-minute memory, 1% deposit band, ample diffusion."""
    base = {
        "deposit_rate": 2.0,
        "deposit_width": 0.01,
        "forget_rate": 1.0 / 1200.0,
        "diffusion": 2e-8,
    }
    base.update(kw)
    return LatentConfig(**base)


def run_book(cfg: LatentConfig, seconds: float, seed: int = 0, step: float = 5.0) -> LatentBook:
    """A latent book against a price pinned at 100 (spread 0): advanced every ``step`` seconds,
    revealing whatever reaches the price, for ``seconds``."""
    book = LatentBook(cfg, np.random.default_rng(seed), LOG_P, 0.0)
    for t in np.arange(step, seconds + step, step):
        book.advance(float(t), LOG_P)
        book.reveal(LOG_P, LOG_P)
    return book


EDGES = np.linspace(-0.01, 0.01, 11)  # ten bins of 20 bp


def test_stationary_density_is_v_shaped_around_the_price():
    book = run_book(latent_cfg(), 6 * 1200.0)
    buy, sell = book.density(LOG_P, EDGES)
    assert buy[5:].sum() == 0 and sell[:5].sum() == 0  # buyers below the price, sellers above
    # the density vanishes at the price and grows with the distance from it, on both sides
    assert buy[4] < buy[3] < buy[2] and sell[5] < sell[6] < sell[7]
    assert buy[4] < 0.5 * buy[1] and sell[5] < 0.5 * sell[8]


def test_without_diffusion_nothing_reaches_a_pinned_price_and_there_is_no_v():
    book = run_book(latent_cfg(diffusion=0.0), 6 * 1200.0)
    buy, sell = book.density(LOG_P, EDGES)
    assert book.n_deposited == len(book) + book.n_forgotten  # nothing was revealed
    assert buy[4] > 0.5 * buy[1] and sell[5] > 0.5 * sell[8]  # flat, not V-shaped


def test_a_touch_through_latent_prices_reveals_them_most_eager_first():
    book = run_book(latent_cfg(), 3 * 1200.0)
    buyers_before = book.density(LOG_P, EDGES)[0].sum()
    ask = LOG_P - 0.003  # the ask falls 30 bp: every buyer at or above it is revealed
    assert book.crosses(-math.inf, ask)
    out = book.reveal(-math.inf, ask)
    assert out and all(side == 1 and x >= ask for side, x in out)
    xs = [x for _, x in out]
    assert xs == sorted(xs, reverse=True)
    assert not book.crosses(-math.inf, ask)  # what is left stays latent
    assert book.density(LOG_P, EDGES)[0].sum() == buyers_before - len(out)
    assert book.reveal(-math.inf, math.inf) == []  # an empty side reveals nothing


def test_slow_investors_convert_the_reached_orders_over_time_most_eager_first():
    """With reveal_time > 0 a reached order becomes real only at rate 1 / reveal_time: a look
    one second after converts about 1 - exp(-1 / 60) of them, the rest wait at the heads in
    their order, and a long pause (a halt) converts nearly all."""
    ask = LOG_P - 0.003
    cfg = latent_cfg(reveal_time=60.0)
    reached = len(run_book(latent_cfg(), 3 * 1200.0).reveal(-math.inf, ask))
    book = run_book(cfg, 3 * 1200.0)  # the same seed: the same latent orders (none was reached)
    first = book.reveal(-math.inf, ask, elapsed=1.0)
    assert reached > 50 and len(first) < 0.1 * reached  # about 1.7%, not all
    assert book.crosses(-math.inf, ask)  # the others still wait at the front
    later = book.reveal(-math.inf, ask, elapsed=600.0)  # after a 10-minute pause
    assert len(first) + len(later) > 0.95 * reached
    xs = [x for _, x in later]
    assert xs == sorted(xs, reverse=True)  # still the most eager first


def test_deposit_rate_scales_the_latent_book():
    small = run_book(latent_cfg(deposit_rate=1.0), 4 * 1200.0, seed=1)
    large = run_book(latent_cfg(deposit_rate=4.0), 4 * 1200.0, seed=1)
    assert len(large) > 3.0 * len(small)


def test_a_faster_forgetting_thins_the_book_and_flattens_the_v():
    slow = run_book(latent_cfg(), 6 * 1200.0, seed=2)
    fast = run_book(latent_cfg(forget_rate=1.0 / 120.0), 6 * 1200.0, seed=2)
    assert len(fast) < 0.3 * len(slow)
    # with a short memory the diffusion cannot hollow the book far from the price: its V is
    # narrower, so the density near the price is a larger share of the density further out
    b_slow, _ = slow.density(LOG_P, EDGES)
    b_fast, _ = fast.density(LOG_P, EDGES)
    assert b_fast[3] / b_fast[0] > b_slow[3] / b_slow[0]


def test_a_lagging_anchor_keeps_depositing_around_the_old_price():
    moved = LOG_P + 0.01
    shares = {}
    for hl in (0.0, 3600.0):
        book = LatentBook(latent_cfg(anchor_half_life=hl), np.random.default_rng(3), LOG_P, 0.0)
        book.advance(600.0, moved)
        shares[hl] = book.anchor
    assert shares[0.0] == pytest.approx(moved)
    assert LOG_P < shares[3600.0] < LOG_P + 0.002


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deposit_rate", 0.0),
        ("forget_rate", -1.0),
        ("diffusion", -1e-9),
        ("order_lots", 0),
        ("learning", 1.5),
        ("learning_horizon", 0.0),
        ("reveal_time", -1.0),
        ("flow_impact", -1.0),
        ("flow_impact_half_life", -1.0),
        ("flow_expectation_half_life", -1.0),
        ("flow_impact_decay_exponent", 3.0),
    ],
)
def test_bad_config_is_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.latent.{field}"):
        dataclasses.replace(LatentConfig(), **{field: value})


def test_in_the_market_latent_orders_trade_when_the_price_reaches_them():
    cfg = book_only_config(seed=4, n_background=60, n_liquidity=3)
    cfg.scenario.days = 1
    cfg.agents.latent.enabled = True  # the helper leaves it out
    cfg.agents.latent.deposit_rate = 2.0
    model = HedgeLoopModel(cfg)
    for _ in range(3600):
        model.step()
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    assert trader.n_revealed > 0
    latent = list(model.populations).index("latent")
    assert model.pop_volume[latent] > 0
    # once it has looked, what is still latent lies beyond the touch
    trader.act()
    tick = model.tick
    book = model.book_view
    assert not trader.latent.crosses(math.log(book.best_bid * tick), math.log(book.best_ask * tick))
    model.finish()  # cash and shares conserved


def test_switched_off_it_has_no_member():
    cfg = book_only_config(seed=4, n_background=10, n_liquidity=2)
    cfg.agents.latent.enabled = False
    assert LatentConfig().enabled  # on by default
    assert len(HedgeLoopModel(cfg).populations["latent"]) == 0


@pytest.mark.parametrize("tracking", [0.0, 0.5, 1.0])
def test_news_in_value_shifts_reservation_prices_by_the_tracked_share(tracking):
    cfg = latent_cfg(diffusion=0.0, value_tracking=tracking, anchor_half_life=1e8)
    book = run_book(cfg, 1200.0, seed=5)
    before = book.x[~np.isnan(book.x)].copy()
    anchor = book.anchor
    book.advance(book.time, LOG_P, news=0.01)  # no time passes: only the news moves prices
    assert book.x[~np.isnan(book.x)] == pytest.approx(before + tracking * 0.01)
    assert book.anchor == pytest.approx(anchor + tracking * 0.01)


@pytest.mark.parametrize(("tracking", "news_tracking"), [(0.0, 1.0), (0.5, 0.0), (0.2, 0.7)])
def test_public_news_shifts_prices_by_news_tracking_and_the_rest_by_value_tracking(
    tracking, news_tracking
):
    cfg = latent_cfg(
        diffusion=0.0, value_tracking=tracking, news_tracking=news_tracking, anchor_half_life=1e8
    )
    book = run_book(cfg, 1200.0, seed=5)
    before = book.x[~np.isnan(book.x)].copy()
    # value moved 3%: 2% of it a public jump, 1% its diffusion
    book.advance(book.time, LOG_P, news=0.03, public=0.02)
    shift = tracking * 0.01 + news_tracking * 0.02
    assert book.x[~np.isnan(book.x)] == pytest.approx(before + shift)


@pytest.mark.parametrize("news_tracking", [0.0, 1.0])
def test_a_news_event_reaches_the_latent_investors_as_public_news(news_tracking):
    model = latent_market(value_tracking=0.0, news_tracking=news_tracking)
    for _ in range(300):
        model.step()
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    trader._next_update = model.now
    trader.act()
    anchor = trader.latent.anchor
    model.fundamental *= math.exp(-0.05)
    model.public_news += -0.05  # what a fundamental_shock event does
    trader._next_update = model.now
    trader.act()  # no time passes: the anchor moves by the news and nothing else
    assert trader.latent.anchor - anchor == pytest.approx(-0.05 * news_tracking, abs=1e-12)
    model.finish()


def test_deposits_stay_within_their_band_around_the_anchor():
    book = LatentBook(
        latent_cfg(diffusion=0.0, deposit_width=0.004), np.random.default_rng(6), LOG_P, 0.0
    )
    book.advance(600.0, LOG_P)
    buy, sell = book.density(LOG_P, np.array([-1.0, -0.004, 0.0, 0.004, 1.0]))
    assert buy[0] == 0 and sell[3] == 0  # nothing beyond the band
    assert buy[1] > 0 and sell[2] > 0 and buy[2:].sum() == 0 and sell[:2].sum() == 0


def test_the_common_sentiment_moves_only_when_it_has_a_spread():
    cfg = book_only_config(seed=7, n_background=10, n_liquidity=2)
    cfg.agents.latent.enabled = True
    moves = {}
    for sd in (0.0, 0.02):
        cfg.agents.latent.sentiment_sd = sd
        trader = HedgeLoopModel(cfg).populations["latent"][0]
        assert isinstance(trader, LatentTrader)
        moves[sd] = [trader._move_sentiment(3600.0 * k) for k in range(1, 201)]
    assert all(m == 0.0 for m in moves[0.0])
    assert 0.002 < float(np.std(moves[0.02])) < 0.02  # about sd * sqrt(1 - a**2) an hour


def test_the_sentiment_is_off_by_default_and_starts_at_zero_when_on():
    assert LatentConfig().sentiment_sd == 0.0
    cfg = book_only_config(seed=7, n_background=10, n_liquidity=2)
    cfg.agents.latent.enabled = True
    cfg.agents.latent.sentiment_sd = 0.02
    trader = HedgeLoopModel(cfg).populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    assert trader.sentiment.value == 0.0  # the open is where the run says, whatever the mood
    assert trader._move_sentiment(59.0) == 0.0  # nothing before the first grid point


def _forced_move(learning: float, seconds: float, move: float = 0.01) -> tuple[float, np.ndarray]:
    """Shift of the anchor and of every latent price after the mid is held ``move`` (log) above
    value for ``seconds`` (learning horizon 600 s), against the same book without learning."""
    cfg = latent_cfg(diffusion=0.0, forget_rate=1e-7, anchor_half_life=1e8, deposit_rate=0.2)
    books = [LatentBook(cfg, np.random.default_rng(11), LOG_P, 0.0) for _ in range(2)]
    learnt = LearntValue(learning, 600.0)
    for b in books:
        b.advance(1200.0, LOG_P)  # the book before the move
    for t in np.arange(1210.0, 1200.0 + seconds + 1.0, 10.0):
        mood = learnt.update(10.0, LOG_P + move, LOG_P)  # F stays at 100, the mid 1% above
        books[0].advance(float(t), LOG_P + move, mood=mood)
        books[1].advance(float(t), LOG_P + move)
    return books[0].anchor - books[1].anchor, books[0].x - books[1].x


@pytest.mark.parametrize("learning", [0.0, 0.4, 0.8])
def test_the_latent_book_adopts_a_share_learning_of_a_lasting_price_move(learning):
    anchor, x = _forced_move(learning, 10 * 600.0)  # ten horizons
    assert anchor == pytest.approx(learning * 0.01, rel=0.01, abs=1e-12)
    n_before = round(0.2 * 1200)  # about the orders deposited before the move
    old = x[: n_before // 2]  # the oldest orders: in the book all along
    assert old == pytest.approx(learning * 0.01, rel=0.01, abs=1e-12)
    if learning:
        early, _ = _forced_move(learning, 120.0)  # a fifth of a horizon: little adopted yet
        assert 0.0 < early < 0.2 * learning * 0.01


def test_learnt_value_averages_the_gap_over_its_horizon_and_refuses_bad_input():
    lv = LearntValue(0.5, 100.0)
    assert lv.update(100.0, 0.02, 0.0) == pytest.approx(0.5 * 0.01)  # half the gap in a half-life
    assert lv.update(0.0, 0.5, 0.0) == 0.0  # no time, no learning
    assert LearntValue(0.0, 100.0).update(100.0, 0.02, 0.0) == 0.0
    with pytest.raises(ValueError):
        LearntValue(1.5, 100.0)
    with pytest.raises(ValueError):
        LearntValue(0.5, 0.0)


def test_sentiment_with_a_start_value_starts_there():
    s = Sentiment(sd=0.01, half_life=100.0, start=0.0, time=50.0)
    assert s.value == 0.0
    a = 0.5
    assert s.advance(150.0, 1.0) == pytest.approx(0.01 * math.sqrt(1 - a * a))


def _flow_run(
    flow_impact: float, half_life: float = 0.0, expectation: float = 0.0
) -> tuple[HedgeLoopModel, LatentTrader, int]:
    """A crowd, liquidity providers and the latent book for 20 minutes; returns the model, the
    latent trader and the index of the first print after the first pass."""
    model = latent_market(
        flow_impact=flow_impact,
        flow_impact_half_life=half_life,
        flow_expectation_half_life=expectation,
    )
    trader = model.populations["latent"][0]
    assert isinstance(trader, LatentTrader)
    return model, trader, len(model.book.trades)


@pytest.mark.parametrize("flow_impact", [0.0, 100.0])
def test_the_others_net_flow_moves_every_reservation_price_by_flow_impact(flow_impact):
    model, trader, _ = _flow_run(flow_impact)
    for _ in range(1200):
        model.step()
    trader._next_update = model.now  # a pass now counts everything up to the last step
    trader.act()
    prints = model.book.trades.columns()
    others = prints["aggressor_owner"] != trader.account
    flow = float((prints["aggressor_side"] * prints["qty"])[others].sum())
    assert abs(flow) > 0  # the crowd's flow was not balanced to the share
    assert trader.flow_memory.level == pytest.approx(
        flow_impact * 1e-10 * flow, rel=1e-9, abs=1e-15
    )
    own = ~others
    assert own.any()  # the latent orders did cross, and their own flow is not counted
    model.finish()


def _pass(model: HedgeLoopModel, trader: LatentTrader) -> None:
    """Record the step and let the latent trader make a full pass now."""
    model.state.update()
    trader._next_update = model.now
    trader.act()


def test_a_buy_raises_the_latent_value_and_selling_it_back_takes_it_away():
    model, trader, _ = _flow_run(500.0)
    for _ in range(300):
        model.step()
    _pass(model, trader)  # count what came before
    before, anchor = trader.flow_memory.level, trader.latent.anchor
    account = model.populations["liquidity"][0].account
    n = len(model.book.trades)
    model.venue.market(account, +1, 20_000)
    bought = int(model.book.trades.columns(n)["qty"].sum())  # what the visible book held
    _pass(model, trader)
    up = trader.flow_memory.level - before
    assert bought > 10_000
    assert up == pytest.approx(500e-10 * bought)  # the buy and nothing else
    assert trader.latent.anchor > anchor
    n = len(model.book.trades)
    model.venue.market(account, -1, 20_000)
    sold = int(model.book.trades.columns(n)["qty"].sum())
    _pass(model, trader)
    assert sold > 0
    # linear: each share sold back takes away what a share bought added
    assert trader.flow_memory.level - before == pytest.approx(500e-10 * (bought - sold))


@pytest.mark.parametrize(("half_life", "left"), [(0.0, 1.0), (600.0, 0.5), (300.0, 0.25)])
def test_the_level_the_flow_holds_fades_with_its_half_life(half_life, left):
    model, trader, _ = _flow_run(100.0, half_life)
    trader.flow_memory.add(0.0, 0.01)
    trader._state_step, trader._own_aggressive = model.state.n, 0  # no new flow
    shift = trader._absorbed_flow_shift(600.0)
    assert trader.flow_memory.level == pytest.approx(0.01 * left)
    assert shift == pytest.approx(0.01 * (left - 1.0), abs=1e-15)


@pytest.mark.parametrize("beta", [0.25, 0.5])
def test_a_power_law_memory_fades_as_tau_to_minus_beta_and_counts_in_full_at_once(beta):
    memory = ImpactMemory.power_law(60.0, beta)
    assert memory.add(0.0, 0.01) == pytest.approx(0.01)  # G(0) = 1
    levels = {}
    t = 0.0
    for tau in (300.0, 3_000.0):
        memory.add(tau - t, 0.0)
        t = tau
        levels[tau] = memory.level
    slope = math.log(levels[3_000.0] / levels[300.0]) / math.log(10.0)
    # minutes to an hour, far from the last window (20 days), which steepens the tail
    assert slope == pytest.approx(-beta, abs=0.08)
    assert ImpactMemory([], []).add(1e9, 0.01) == 0.01  # permanent: nothing fades


def test_a_power_law_needs_its_start():
    with pytest.raises(ConfigError, match=r"agents\.latent\.flow_impact_half_life"):
        LatentConfig(flow_impact_decay_exponent=0.5)
    with pytest.raises(ValueError):
        ImpactMemory([60.0], [0.5])  # weights must sum to 1


@pytest.mark.parametrize("expectation", [0.0, 60.0])
def test_a_steady_flow_stops_being_news_once_it_is_expected(expectation):
    _, trader, _ = _flow_run(100.0, expectation=expectation)
    surprises = [600.0 - trader._expected_flow(600.0, 10.0) for _ in range(200)]  # 60 shares/s
    assert surprises[0] == 600.0  # nothing was expected at first
    if expectation == 0.0:
        assert surprises == [600.0] * 200  # every share is news
        return
    a = 0.5 ** (10.0 / 60.0)
    assert surprises[5] == pytest.approx(600.0 * a**5)  # the estimate closes in on 60/s
    assert sum(surprises) == pytest.approx(600.0 / (1.0 - a))  # bounded: the order's start
    assert trader.flow_rate == pytest.approx(60.0)
    assert -600.0 - trader._expected_flow(-600.0, 10.0) < -1000.0  # a reversal is news again
