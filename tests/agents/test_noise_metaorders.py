"""Slow noise traders: power-law metaorders whose side persists, and their switch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from agents.background import BackgroundConfig
from agents.noise_metaorders import Metaorder, metaorder_children
from experiments.model import HedgeLoopModel
from market.validation import ConfigError
from tests.agents.test_background import orders_of, small_config


def test_children_follow_the_power_law_and_its_cap():
    u = np.random.default_rng(0).random(200_000)
    sizes = np.array([metaorder_children(x, 1.5, 10_000) for x in u])
    assert sizes.min() == 1
    for k in (2, 4, 16, 64):
        assert np.mean(sizes >= k) == pytest.approx(k**-1.5, rel=0.1)
    capped = np.array([metaorder_children(x, 1.5, 8) for x in u[:20_000]])
    assert capped.max() == 8 and np.mean(capped == 8) == pytest.approx(8**-1.5, rel=0.1)
    # a heavier tail (smaller exponent) makes long metaorders more common
    heavy = np.array([metaorder_children(x, 1.1, 10_000) for x in u])
    assert np.mean(heavy >= 16) > 1.5 * np.mean(sizes >= 16)


def test_a_metaorder_keeps_its_side_until_its_last_child():
    rng = np.random.default_rng(1)
    meta = Metaorder(1.5, 400)
    sides, lengths, run = [], [], 0
    for _ in range(200_000):
        fresh = meta.left == 0
        side = meta.next_side(rng.random)
        if fresh and sides:
            lengths.append(run)
            run = 0
        elif sides:
            assert side == sides[-1]  # inside a metaorder the side never changes
        run += 1
        sides.append(side)
    assert meta.started == len(lengths) + 1
    assert abs(np.mean(sides)) < 0.1  # uninformed: buys and sells alike
    assert np.mean(np.array(lengths) >= 8) == pytest.approx(8**-1.5, rel=0.25)
    # the signs' correlation decays slowly (a power law, lag ** -(tail - 1)): the chance that
    # one metaorder spans the lag, E[(L - lag)+] / E[L], about 0.07 at 50 children apart
    s = np.array(sides, dtype=float)
    c5, c50 = (np.mean(s[:-lag] * s[lag:]) for lag in (5, 50))
    assert c5 > c50 > 0.03
    assert c50 / c5 > 0.2  # an exponential decay with c5's scale would be far below


@pytest.mark.parametrize(
    ("field", "value"),
    [("slow_share", 1.5), ("metaorder_tail", 0.0), ("metaorder_max_children", 0)],
)
def test_bad_metaorder_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.background.{field}"):
        BackgroundConfig(**{field: value})


def _run(steps: int = 1200, **background) -> HedgeLoopModel:
    model = HedgeLoopModel(small_config(seed=4, n_background=80, n_liquidity=2, **background))
    for _ in range(steps):
        model.step()
    return model


def test_slow_share_zero_switches_them_off_exactly():
    """With no slow noise traders the metaorder settings draw and change nothing."""
    plain = _run(slow_share=0.0)
    other = _run(slow_share=0.0, metaorder_tail=1.1, metaorder_urgency=1.0)
    assert all(a.metaorder is None for a in plain.populations["background"])
    assert plain.book.n_orders == other.book.n_orders
    assert plain.state.mid == other.state.mid


def test_slow_noise_traders_send_long_runs_of_orders_on_one_side():
    def lag_one_agreement(model: HedgeLoopModel) -> float:
        same = total = 0
        for a in model.populations["background"]:
            sides = [rec.side for rec in orders_of(model, a.unique_id)]
            same += sum(x == y for x, y in itertools.pairwise(sides))
            total += max(0, len(sides) - 1)
        return same / total

    slow = _run(steps=3600, slow_share=1.0, metaorder_tail=1.2)
    plain = _run(steps=3600, slow_share=0.0)
    assert all(a.metaorder is not None for a in slow.populations["background"])
    # a plain trader's consecutive orders agree about as often as its opinion persists; a slow
    # noise trader's agree except where one metaorder ends and the next takes the other side
    # (1 - 1 / (2 E[L]), about 0.86 at this tail)
    slow_agree, plain_agree = lag_one_agreement(slow), lag_one_agreement(plain)
    assert slow_agree > 0.7
    assert slow_agree > plain_agree + 0.1


def test_urgency_one_makes_every_child_a_market_order():
    model = _run(steps=2400, slow_share=1.0, metaorder_urgency=1.0)
    crowd = model.populations["background"]
    assert sum(a.n_market for a in crowd) > 0
    assert sum(a.n_passive + a.n_marketable for a in crowd) == 0
    calm = _run(steps=2400, slow_share=1.0, metaorder_urgency=0.0)
    assert sum(a.n_passive for a in calm.populations["background"]) > 0


def test_the_share_of_slow_traders_follows_slow_share():
    model = HedgeLoopModel(small_config(seed=2, n_background=400, slow_share=0.25))
    crowd = model.populations["background"]
    share = sum(a.metaorder is not None for a in crowd) / len(crowd)
    assert share == pytest.approx(0.25, abs=0.06)
    assert not math.isnan(share)


def test_slow_noise_traders_make_the_crowds_order_flow_lastingly_imbalanced():
    """Lillo, Mike & Farmer's mechanism at the market level: with slow noise traders splitting
    metaorders in the crowd, the net sign of blocks of 300 consecutive crowd orders varies far
    more than independent signs would (mean square over the block size: 1 for independent
    signs); the crowd's persistent opinions alone give less. (Seed 4: about 2.0 against 1.3.)"""

    def dispersion(model: HedgeLoopModel, block: int = 300) -> float:
        book = model.book
        owners = {a.unique_id for a in model.populations["background"]}
        recs = (book.order_record(i) for i in range(1, book.n_orders + 1))
        signs = np.array([r.side for r in recs if r.owner in owners], dtype=float)
        n = signs.size // block * block
        net = signs[:n].reshape(-1, block).sum(axis=1)
        return float(np.mean(net**2) / block)

    slow = _run(
        steps=7200,
        slow_share=0.25,
        metaorder_activity=5.0,
        metaorder_min_children=20,
        metaorder_max_children=2000,
    )
    plain = _run(steps=7200, slow_share=0.0)
    assert dispersion(slow) > 1.3 * dispersion(plain)
