"""Liquidity providers: quoting, skew, widening, withdrawal and return, inventory limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.liquidity import (
    InventoryAction,
    LiquidityConfig,
    LiquidityProvider,
    WithdrawalReason,
    populate,
    size_multiplier,
)
from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from tests.conftest import book_only_config, force_vol


def lp_config(seed: int = 0, n_liquidity: int = 3, n_background: int = 4, **liquidity) -> RunConfig:
    """Liquidity providers and a few background traders (as counterparties), nothing else."""
    cfg = book_only_config(seed, n_background, n_liquidity)
    cfg.agents.liquidity.threshold_dispersion = 0.0
    for key, value in liquidity.items():
        setattr(cfg.agents.liquidity, key, value)
    return cfg


def give_inventory(
    model: HedgeLoopModel, lp: LiquidityProvider, shares: int, price: float = 100.0
) -> None:
    """Move ``shares`` (+ bought, - sold) between the provider and a background trader."""
    other = model.populations["background"][0].unique_id
    cents = round(price * 100)
    if shares > 0:
        model.ledger.settle_trade(lp.unique_id, other, shares, cents)
    else:
        model.ledger.settle_trade(other, lp.unique_id, -shares, cents)


def quotes(model: HedgeLoopModel, lp: LiquidityProvider) -> tuple[list[int], list[int]]:
    """Live bid and ask prices (ticks) of one provider."""
    book = model.book
    live = [book.order_record(i) for i in lp.live_orders if book.remaining(i)]
    bids = sorted(r.price for r in live if r.side == 1)
    return bids, sorted(r.price for r in live if r.side == -1)


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", -1),
        ("rate", -1.0),
        ("quote_levels", 0),
        ("quote_size", 0),
        ("half_spread_ticks", 0.1),
        ("skew_per_share", -0.1),
        ("inventory_limit", 0),
        ("loss_limit", 0.0),
        ("withdraw_vol", 0.0),
        ("cooldown_seconds", -1.0),
        ("return_vol_tolerance", -0.1),
        ("threshold_dispersion", 1.0),
        ("dump_target", 1.5),
        ("reopen_vol_tolerance", -0.1),
    ],
)
def test_config_rejects_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"agents\.liquidity\.{field} must be in"):
        LiquidityConfig(**{field: value})


def test_config_checks_reentry_below_withdrawal_and_the_inventory_action():
    with pytest.raises(ValueError, match=r"agents\.liquidity\.reentry_vol must be in \(0.0, 0.5\]"):
        LiquidityConfig(withdraw_vol=0.5, reentry_vol=0.6)
    cfg = LiquidityConfig(inventory_action="hot_potato")
    assert cfg.inventory_action is InventoryAction.hot_potato
    with pytest.raises(ValueError, match=r"agents\.liquidity\.inventory_action must be one of"):
        LiquidityConfig(inventory_action="panic")


def test_populate_spreads_thresholds_and_endows():
    assert populate(None, LiquidityConfig(n=0), np.random.default_rng(0)) == []
    cfg = lp_config(n_liquidity=30, threshold_dispersion=0.5, initial_shares=500)
    model = HedgeLoopModel(cfg)
    lps = model.populations["liquidity"]
    scales = np.array([lp.withdraw_vol for lp in lps]) / cfg.agents.liquidity.withdraw_vol
    assert scales.min() >= 0.5 and scales.max() <= 1.5 and scales.std() > 0.1
    assert all(
        lp.reentry_vol / lp.withdraw_vol
        == pytest.approx(cfg.agents.liquidity.reentry_vol / cfg.agents.liquidity.withdraw_vol)
        for lp in lps
    )
    assert all(model.ledger.shares[lp.unique_id] == 500 and lp.inventory == 0 for lp in lps)
    assert all(lp.quoting and lp.withdrawn_since is None and lp.n_withdrawals == 0 for lp in lps)
    assert lps[0].pnl == pytest.approx(0.0)


# ---------------------------------------------------------------------- quoting
def test_quotes_are_two_sided_ladders_around_the_mid():
    model = HedgeLoopModel(
        lp_config(quote_levels=3, quote_size=150, level_spacing_ticks=2, half_spread_ticks=1.0)
    )
    force_vol(model, 0.1)
    lp = model.populations["liquidity"][0]
    lp.act()
    bids, asks = quotes(model, lp)
    assert bids == [9995, 9997, 9999] and asks == [10001, 10003, 10005]
    assert all(model.book.remaining(i) == 150 for i in lp.live_orders)


def test_requoting_keeps_unchanged_quotes_and_replaces_moved_ones():
    model = HedgeLoopModel(lp_config())
    force_vol(model, 0.1)
    lp = model.populations["liquidity"][0]
    lp.act()
    first = set(lp.live_orders)
    lp.act()
    assert set(lp.live_orders) == first  # same prices: same orders, queue places kept
    give_inventory(model, lp, 2000)
    lp.act()
    assert set(lp.live_orders) != first
    assert all(model.book.remaining(i) == 0 for i in first - set(lp.live_orders))


def test_skew_against_inventory_long_lowers_both_quotes():
    cfg = lp_config(skew_per_share=0.002, inventory_widening=0.0)
    model = HedgeLoopModel(cfg)
    lp = model.populations["liquidity"][0]
    flat = lp.quote_prices(10_000.0, 0, 0.1)
    long = lp.quote_prices(10_000.0, 1000, 0.1)
    short = lp.quote_prices(10_000.0, -1000, 0.1)
    assert long[0] == pytest.approx(flat[0] - 2.0) and long[1] == pytest.approx(flat[1] - 2.0)
    assert short[0] == pytest.approx(flat[0] + 2.0) and short[1] == pytest.approx(flat[1] + 2.0)
    # in whole ticks: a long provider backs off its bid and sells at the touch, never inside it
    bid, ask = lp.quote_ticks(10_000.0, 1000, 0.1, 9_999, 10_001)
    assert bid == 9_997 and ask == 10_001
    bid, ask = lp.quote_ticks(10_000.0, -1000, 0.1, 9_999, 10_001)
    assert bid == 9_999 and ask == 10_003


def test_skewed_quotes_in_the_book():
    model = HedgeLoopModel(lp_config(n_liquidity=2, skew_per_share=0.002, inventory_widening=0.0))
    force_vol(model, 0.1)
    flat, long = model.populations["liquidity"]
    flat.act()
    give_inventory(model, long, 1500)
    long.act()
    fb, fa = quotes(model, flat)
    lb, la = quotes(model, long)
    assert max(lb) < max(fb)  # backs off the side that adds to its inventory
    assert min(la) <= min(fa)  # and sells at least as cheaply as the flat provider


def test_spread_widens_with_volatility_and_inventory():
    model = HedgeLoopModel(
        lp_config(
            reference_vol=0.2,
            vol_widening=1.0,
            inventory_widening=1.0,
            inventory_limit=1000,
            half_spread_ticks=1.0,
        )
    )
    lp = model.populations["liquidity"][0]

    def width(inv, vol):
        b, a = lp.quote_prices(10_000.0, inv, vol)
        return a - b

    assert width(0, 0.1) == pytest.approx(2.0)  # calm: no widening below the reference
    assert width(0, 0.6) == pytest.approx(2.0 * 3.0)
    assert width(500, 0.1) == pytest.approx(2.0 * 1.5)
    assert width(-500, 0.6) == pytest.approx(2.0 * 3.5)


def test_quotes_never_cross_the_others_best():
    model = HedgeLoopModel(lp_config())
    force_vol(model, 0.1)
    other = model.populations["background"][1].unique_id
    model.venue.limit(other, -1, 9_990, 100)  # a lone offer far below the last mid
    lp = model.populations["liquidity"][0]
    n_trades = len(model.book.trades)
    lp.act()
    assert len(model.book.trades) == n_trades  # quotes rest, they do not take
    bids, asks = quotes(model, lp)
    assert max(bids) == 9_989 and min(asks) > 9_990


# ---------------------------------------------------------------------- withdrawal and return
def test_withdraws_under_high_vol_and_returns_after_a_calm_cooldown():
    model = HedgeLoopModel(lp_config(withdraw_vol=0.8, reentry_vol=0.4, cooldown_seconds=60.0))
    lp = model.populations["liquidity"][0]
    force_vol(model, 0.2)
    lp.act()
    assert lp.quoting and lp.live_orders
    model.now = 100.0
    force_vol(model, 1.0)
    lp.act()
    assert not lp.quoting and lp.withdrawn_since == 100.0 and lp.n_withdrawals == 1
    assert lp.withdrawal_reason is WithdrawalReason.volatility
    assert model.book.best_bid is None and model.book.best_ask is None  # everything cancelled
    # below the withdrawal level but above re-entry: stays out
    model.now = 200.0
    force_vol(model, 0.6)
    lp.act()
    assert not lp.quoting
    # calm, but the cool-down has only just started
    model.now = 210.0
    force_vol(model, 0.3)
    lp.act()
    model.now = 250.0
    lp.act()
    assert not lp.quoting
    # a flare-up restarts the cool-down
    model.now = 260.0
    force_vol(model, 0.5)
    lp.act()
    model.now = 300.0
    force_vol(model, 0.3)
    lp.act()
    model.now = 350.0
    lp.act()
    assert not lp.quoting
    model.now = 361.0
    lp.act()
    assert lp.quoting and lp.withdrawn_since is None and lp.live_orders
    assert lp.withdrawn_seconds == pytest.approx(261.0)
    assert lp.n_withdrawals == 1


def test_withdrawal_disabled_never_withdraws():
    model = HedgeLoopModel(lp_config(withdrawal_enabled=False, loss_limit=1.0))
    lp = model.populations["liquidity"][0]
    force_vol(model, 5.0)
    give_inventory(model, lp, 1000, price=150.0)  # a large loss as well
    for k in range(20):
        model.now = float(k)
        lp.act()
    assert lp.quoting and lp.n_withdrawals == 0 and lp.live_orders


def test_loss_limit_stops_the_provider_for_the_day():
    model = HedgeLoopModel(lp_config(loss_limit=1000.0, cooldown_seconds=10.0))
    lp = model.populations["liquidity"][0]
    force_vol(model, 0.1)
    give_inventory(model, lp, 100, price=120.0)  # bought 100 at 120 with the mid at 100
    assert lp.pnl == pytest.approx(-2000.0)
    lp.act()
    assert not lp.quoting and lp.withdrawal_reason is WithdrawalReason.loss_limit
    for t in (100.0, 200.0, 5000.0):
        model.now = t
        lp.act()
    assert not lp.quoting  # calm all day, but the daily stop holds
    lp.on_close(0)
    model.day = 1
    for t in (SECONDS_PER_DAY + 1.0, SECONDS_PER_DAY + 20.0):
        model.now = t
        lp.act()
    assert lp.quoting  # a new day and a calm market: back


def test_inventory_limit_reduce_only_quotes_the_reducing_side():
    model = HedgeLoopModel(
        lp_config(inventory_limit=1000, inventory_action=InventoryAction.reduce_only)
    )
    force_vol(model, 0.1)
    lp = model.populations["liquidity"][0]
    give_inventory(model, lp, 1500)
    lp.act()
    bids, asks = quotes(model, lp)
    assert not bids and asks and lp.quoting
    give_inventory(model, lp, -3000)
    lp.act()
    bids, asks = quotes(model, lp)
    assert bids and not asks


def test_inventory_limit_hot_potato_dumps_the_excess():
    model = HedgeLoopModel(
        lp_config(
            inventory_limit=1000, inventory_action=InventoryAction.hot_potato, dump_target=0.5
        )
    )
    force_vol(model, 0.1)
    other = model.populations["background"][1].unique_id
    model.venue.limit(other, 1, 9_995, 5_000)  # a bid to dump into
    lp = model.populations["liquidity"][0]
    give_inventory(model, lp, 1800)
    lp.act()
    assert lp.inventory == 500
    assert lp.n_dumps == 1 and lp.dumped_shares == 1300
    assert model.book.trades[-1].aggressor_owner == lp.unique_id
    assert model.book.trades[-1].aggressor_side == -1


def test_halted_book_pulls_the_quotes():
    model = HedgeLoopModel(lp_config())
    force_vol(model, 0.1)
    lp = model.populations["liquidity"][0]
    lp.act()
    assert lp.live_orders
    model.book.halt("test")
    lp.act()
    assert not lp.live_orders and lp.quoting and lp.n_withdrawals == 0


def _crash(loss_limit: float, stop_logic: bool = False, after: int = 5400, **liquidity):
    """20 providers in a 900-trader market whose fundamental drops 5% after ten minutes; the
    model, the providers, the most of them out at once and the mean number quoting in the
    30 minutes of the fall.

    Stop logic is off unless asked for: its pauses, and the reopenings that bring providers
    back, are tested on their own."""
    cfg = lp_config(
        n_liquidity=20,
        n_background=900,
        cooldown_seconds=60.0,
        threshold_dispersion=0.2,
        loss_limit=loss_limit,
        **liquidity,
    )
    cfg.market.fundamental_vol = 0.0
    cfg.market.rules.stop_logic = stop_logic
    model = HedgeLoopModel(cfg)
    lps = model.populations["liquidity"]
    for _ in range(600):
        model.step()
    assert sum(lp.quoting for lp in lps) == 20
    model.fundamental *= math.exp(-0.05)  # news: the value drops 5%, and everyone hears it
    model.public_news -= 0.05
    out = quoting = 0
    for _ in range(1800):
        model.step()
        out = max(out, sum(not lp.quoting for lp in lps))
        quoting += sum(lp.quoting for lp in lps)
    for _ in range(after):
        model.step()
    return model, lps, out, quoting / 1800


def test_population_withdraws_in_a_crash_and_comes_back():
    # a loss limit that cannot bind: every withdrawal is a volatility one, and all come back
    _, lps, out, _ = _crash(loss_limit=1e9)
    assert out == 20  # every provider pulled out in the fall
    assert all(lp.withdrawal_reason is None for lp in lps)
    assert all(lp.quoting for lp in lps)
    assert all(lp.n_withdrawals >= 1 for lp in lps)


def test_loss_limit_stops_a_provider_for_the_rest_of_the_day():
    model, lps, out, _ = _crash(loss_limit=5000.0)
    cfg = model.cfg
    assert out == 20
    stopped = [lp for lp in lps if lp.withdrawal_reason is WithdrawalReason.loss_limit]
    assert stopped  # long inventory into a 5% fall costs more than the limit
    assert all(not lp.quoting for lp in stopped)  # a daily stop: not back the same day
    assert all(lp.pnl <= -cfg.agents.liquidity.loss_limit for lp in stopped)


def test_providers_come_back_after_the_longest_withdrawal_even_if_not_calm():
    model = HedgeLoopModel(
        lp_config(withdraw_vol=1.0, reentry_vol=0.3, max_withdrawal_seconds=600.0)
    )
    lp = model.populations["liquidity"][0]
    force_vol(model, 1.5)
    lp.act()
    assert not lp.quoting
    force_vol(model, 0.7)  # calmer, but never calm enough to re-enter on its own
    model.now = 599.0
    lp.act()
    assert not lp.quoting
    model.now = 600.0
    lp.act()
    assert lp.quoting and lp.live_orders and lp.n_withdrawals == 1
    force_vol(model, 1.5)  # back into a storm: out again at once
    model.now = 601.0
    lp.act()
    assert not lp.quoting and lp.n_withdrawals == 2 and lp.withdrawn_since == 601.0


def test_control_arm_keeps_quoting_through_the_same_crash():
    cfg = lp_config(
        n_liquidity=20,
        n_background=900,
        withdraw_vol=0.6,
        reentry_vol=0.35,
        withdrawal_enabled=False,
    )
    cfg.market.fundamental_vol = 0.0
    model = HedgeLoopModel(cfg)
    for _ in range(600):
        model.step()
    model.fundamental *= math.exp(-0.05)
    for _ in range(1800):
        model.step()
        assert all(lp.quoting for lp in model.populations["liquidity"])
    assert sum(lp.n_withdrawals for lp in model.populations["liquidity"]) == 0


@pytest.mark.parametrize("tolerance", [0.0, 0.5])
def test_a_provider_back_on_the_clock_accepts_the_regime_it_returns_into(tolerance):
    model = HedgeLoopModel(
        lp_config(
            max_withdrawal_seconds=10.0,
            return_vol_tolerance=tolerance,
            withdraw_vol=1.0,
            reentry_vol=0.5,
        )
    )
    lp = model.populations["liquidity"][0]
    force_vol(model, 0.1)
    lp.act()
    assert lp.quoting
    force_vol(model, 2.0)
    lp.act()
    assert not lp.quoting and lp.withdrawal_reason is WithdrawalReason.volatility
    model.now += 11.0  # out longer than max_withdrawal_seconds, the market still wild
    lp.act()
    if tolerance == 0.0:
        # back on the clock, but the usual check pulls it out again at once
        assert not lp.quoting and lp.n_withdrawals == 2
        return
    assert lp.quoting and lp.live_orders  # it quotes in the regime it came back into
    force_vol(model, 2.9)  # below (1 + 0.5) x 2.0
    lp.act()
    assert lp.quoting and lp.n_withdrawals == 1
    force_vol(model, 3.1)
    lp.act()
    assert not lp.quoting and lp.n_withdrawals == 2
    lp.on_close(0)  # a new day starts from the configured thresholds
    assert lp._tolerated_vol == 0.0


# ---------------------------------------------------------------------- pauses and reopenings
def _paused_and_reopened(model: HedgeLoopModel) -> None:
    """A halt the rules do not own, then its reopening, each seen by a model step."""
    model.book.halt("test")
    model.step()
    model.book.reopen()
    model.step()


@pytest.mark.parametrize("tolerance", [0.0, 0.5])
def test_a_reopening_brings_providers_out_for_volatility_back(tolerance):
    # clocks that practically never fire: whatever happens at the reopening is the reopening's
    model = HedgeLoopModel(
        lp_config(rate=1e-9, withdraw_vol=1.0, reentry_vol=0.5, reopen_vol_tolerance=tolerance)
    )
    lps = model.populations["liquidity"]
    force_vol(model, 2.0)
    for lp in lps:
        lp.act()
    assert not any(lp.quoting or lp.live_orders for lp in lps)
    _paused_and_reopened(model)
    if tolerance == 0.0:  # the pre-existing behaviour: out until calm or the maximum time
        assert not any(lp.quoting or lp.live_orders for lp in lps)
        return
    assert all(lp.quoting and lp.live_orders and lp.n_reopen_returns == 1 for lp in lps)
    assert lps.n_reopenings == 1
    lp = lps[0]
    force_vol(model, 2.9)  # below (1 + 0.5) x the 2.0 it came back into
    lp.act()
    assert lp.quoting and lp.n_withdrawals == 1
    force_vol(model, 3.1)  # the storm grows after the reopening: genuine stress, out again
    lp.act()
    assert not lp.quoting and lp.n_withdrawals == 2


def test_a_reopening_does_not_end_a_loss_limit_stop():
    model = HedgeLoopModel(lp_config(rate=1e-9, loss_limit=1.0))
    lp = model.populations["liquidity"][0]
    force_vol(model, 0.1)
    give_inventory(model, lp, 1000, price=101.0)  # bought above the market: a loss at once
    lp.act()
    assert lp.withdrawal_reason is WithdrawalReason.loss_limit
    _paused_and_reopened(model)
    assert not lp.quoting and lp.n_reopen_returns == 0


def test_providers_requote_at_once_around_the_reopening_price():
    model = HedgeLoopModel(lp_config(rate=1e-9))
    lps = model.populations["liquidity"]
    force_vol(model, 0.1)
    model.book.halt("test")
    for lp in lps:
        lp.act()  # a halted book: quotes pulled
    assert not any(lp.live_orders for lp in lps)
    model.step()
    model.book.reopen()
    model.step()
    bb, ba = model.book.best_bid, model.book.best_ask
    for lp in lps:
        bids, asks = quotes(model, lp)
        assert bids and asks  # two-sided again in the step of the reopening
        assert bb - bids[-1] <= 2 and asks[0] - ba <= 2  # at the touch, not a hollow book


def test_reopenings_keep_a_crash_from_hollowing_the_book_yet_providers_still_withdraw():
    # the same fall under stop logic: providers out for volatility stay out through the
    # reopenings (tolerance 0), or come back at each one (0.5)
    runs = {t: _crash(1e9, stop_logic=True, after=0, reopen_vol_tolerance=t) for t in (0.0, 0.5)}
    pauses = {
        t: sum(e.kind == "pause" for e in model.rules["stop_logic"].events)
        for t, (model, *_) in runs.items()
    }
    back = {t: sum(lp.n_reopen_returns for lp in run[1]) for t, run in runs.items()}
    assert back[0.0] == 0 and back[0.5] > 0
    assert pauses[0.5] < pauses[0.0]  # a refilled book trips the rule less often
    assert runs[0.5][3] > runs[0.0][3]  # more of them quote through the fall
    assert sum(lp.n_withdrawals for lp in runs[0.5][1]) > 0  # the stress still pulls them out


# ---------------------------------------------------------------------- size in storms
@pytest.mark.parametrize(
    ("kappa", "vol", "size"), [(1.0, 0.1, 100), (1.0, 0.8, 25), (0.0, 0.8, 100)]
)
def test_quote_size_shrinks_with_remembered_volatility(kappa, vol, size):
    model = HedgeLoopModel(
        lp_config(quote_size=100, reference_vol=0.2, size_vol_exponent=kappa, size_floor=0.1)
    )
    force_vol(model, vol)
    lp = model.populations["liquidity"][0]
    lp.act()  # the first look starts the memory at what it sees: 0.8 is (0.2 / 0.8) ** 1 = 1/4
    assert lp.live_orders
    assert all(model.book.remaining(i) == size for i in lp.live_orders)


def test_quote_size_never_falls_below_its_floor():
    cfg = LiquidityConfig(reference_vol=0.2, size_vol_exponent=2.0, size_floor=0.3)
    assert size_multiplier(cfg, 0.1) == 1.0  # never above the configured size
    assert size_multiplier(cfg, 0.3) == pytest.approx((0.2 / 0.3) ** 2)
    assert size_multiplier(cfg, 5.0) == 0.3
