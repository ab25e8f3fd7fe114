"""The paired gamma experiment: arms that flip the dealers' gamma, and the table's figures."""

import numpy as np
import pytest

from experiments.facts import gamma as gx
from experiments.facts.runs import run_config


def _sample(arm: str, scale: float, seed: int, days: int = 10, dealers: int = 0) -> gx.ArmSample:
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=1e-4, size=days * gx.PER_DAY)
    log_mid = np.log(100.0) + np.concatenate([[0.0], np.cumsum(scale * steps)])
    return gx.ArmSample(
        seed=seed,
        arm=arm,
        days=days,
        log_mid=log_mid,
        notional=1e9 * days,
        gex_abs_mean=2e7,
        gex_mean=-2e7 if arm == "short" else 2e7,
        pop_volume={"background": 1000 - dealers, "dealers": dealers},
        looks=100,
        outside_inner=20,
        outside_outer=1,
    )


def test_figures_compare_each_arm_with_the_neutral_runs_of_the_same_seeds():
    samples = [
        _sample(arm, scale, seed, dealers=d)
        for seed in (1, 2)
        for arm, scale, d in (("short", 2.0, 50), ("long", 0.5, 20), ("neutral", 1.0, 0))
    ]
    fig = gx.measure(samples)
    # the same shocks, scaled: every horizon's ratio is the scale
    for key in ("vol 10 s", "vol 1 min", "vol 30 min", "vol 1 day"):
        assert fig["short"][key] == pytest.approx(2.0)
        assert fig["long"][key] == pytest.approx(0.5)
        assert fig["neutral"][key] == pytest.approx(1.0)
    assert fig["short"]["dealer share %"] == pytest.approx(5.0)
    assert fig["short"]["|GEX| % notional"] == pytest.approx(2.0)
    assert fig["short"]["GEX % notional"] == pytest.approx(-2.0)
    assert fig["long"]["outside outer %"] == pytest.approx(1.0)
    assert fig["short"]["days"] == 20
    text = gx.table_text(fig, [1, 2], 10, ["x=1"])
    assert "| vol 30 min | 2.00x | 0.50x | 1.00x |" in text and "x=1" in text


def test_one_day_ratio_needs_enough_days():
    samples = [_sample(arm, 1.0, 1, days=2) for arm in gx.ARMS]
    assert np.isnan(gx.measure(samples)["short"]["vol 1 day"])


def test_arms_flip_the_dealers_book_and_only_neutral_stops_hedging():
    short, long_, neutral = (run_config(1, 1, gx.ARMS[a]) for a in ("short", "long", "neutral"))
    assert short.agents.dealers.initial_book.value == "short_gamma"
    assert long_.agents.dealers.initial_book.value == "long_gamma"
    assert short.agents.dealers.hedge and long_.agents.dealers.hedge
    assert not neutral.agents.dealers.hedge
    # customers buy in the short arm, sell the same strikes in the long arm
    sc, lc = short.agents.customers, long_.agents.customers
    assert sc.protective_put_weight > 0 and sc.covered_call_weight == 0
    assert lc.covered_call_weight > 0 and lc.protective_put_weight == 0
    assert sc.put_moneyness == lc.put_selling_moneyness
    assert sc.call_moneyness == lc.covered_call_moneyness
    assert neutral.agents.customers == sc


@pytest.mark.slow
def test_long_gamma_hedging_lowers_10s_volatility_against_the_neutral_arm():
    """The mechanism, on paired runs: a long-gamma book hedged with resting orders leans on the
    price, so 10-s returns are smaller than in the same market without hedging. One seed-day
    is too noisy to show it (0.66-1.28x on seeds 0-3), so the test pools four seeds of two days
    (about 80 s of simulation)."""
    samples = [gx.run_arm(seed, arm, 2, []) for seed in (0, 1, 2, 3) for arm in ("long", "neutral")]
    fig = gx.measure(samples)
    assert fig["long"]["vol 10 s"] < 1.0
    assert fig["long"]["dealer share %"] > 0.0


def test_per_seed_and_day_ratios_show_a_runaway_the_pooled_table_averages():
    samples = [_sample(arm, 1.0, seed, days=3) for seed in (1, 2) for arm in gx.ARMS]
    # seed 2's short arm: day 1's moves five times the neutral arm's, the other days the same
    runaway = next(s for s in samples if s.seed == 2 and s.arm == "short")
    steps = np.diff(runaway.log_mid)
    steps[gx.PER_DAY : 2 * gx.PER_DAY] *= 5.0
    runaway.log_mid = np.concatenate([[runaway.log_mid[0]], runaway.log_mid[0] + np.cumsum(steps)])
    rows = gx.seed_day_ratios(samples)
    assert [(r["seed"], r["day"]) for r in rows] == [(s, d) for s in (1, 2) for d in range(3)]
    by = {(r["seed"], r["day"]): r for r in rows}
    assert by[(2, 1)]["short 1 min"] == pytest.approx(5.0)
    assert by[(2, 1)]["short 30 min"] == pytest.approx(5.0)
    assert by[(2, 0)]["short 1 min"] == pytest.approx(1.0)
    assert by[(1, 1)]["long 30 min"] == pytest.approx(1.0)
    text = gx.split_text(rows)
    assert "| 2 | 1 | 5.00x | 5.00x | 1.00x | 1.00x |" in text
    assert "above 3x at 1 minute: 1 of 6 days" in text
    pooled = gx.measure(samples)["short"]["vol 1 min"]
    assert 1.0 < pooled < 3.0  # the pooled ratio hides the runaway day
