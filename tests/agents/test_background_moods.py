"""Background crowd: Lux-Marchesi moods of optimists and pessimists, and how they tilt orders."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from agents.background import BackgroundConfig, BackgroundCrowd
from experiments.model import HedgeLoopModel
from market.validation import ConfigError
from tests.agents.test_background import orders_of, small_config


def mood_path(n_firings: int, trend_z: float = 0.0, value_z: float = 0.0, **fields) -> np.ndarray:
    """The mood index after every firing of a crowd of 200 stand-in traders (half optimists),
    with the trend and value signals held at ``trend_z`` and ``value_z``."""
    fields.setdefault("mood_share", 0.001)
    crowd = BackgroundCrowd(BackgroundConfig(**fields), np.random.default_rng(0))
    crowd.members = [SimpleNamespace(optimist=bool(i % 2), speculator=True) for i in range(200)]
    crowd.n_optimists = 100
    crowd.trend_z, crowd.value_z = trend_z, value_z
    rng = np.random.default_rng(1)
    path = np.empty(n_firings)
    for k, i in enumerate(rng.integers(0, 200, n_firings)):
        crowd.sway(crowd.members[i])
        path[k] = crowd.mood_index()
    assert crowd.n_optimists == sum(t.optimist for t in crowd.members)
    return path


def test_the_moods_turn_with_the_trend():
    kw = {"mood_imitation": 0.5, "mood_trend": 0.5, "mood_persistence": 3600.0, "mood_value": 0}
    up = mood_path(40_000, trend_z=1.0, **kw)[20_000:].mean()
    down = mood_path(40_000, trend_z=-1.0, **kw)[20_000:].mean()
    flat = mood_path(40_000, trend_z=0.0, **kw)[20_000:].mean()
    assert up > 0.3 and down < -0.3  # a rising price makes optimists, a falling one pessimists
    assert abs(flat) < 0.2
    none = mood_path(40_000, trend_z=1.0, **{**kw, "mood_trend": 0.0})[20_000:].mean()
    assert abs(none) < 0.2  # with no weight on the trend the moods ignore it


def test_a_price_far_above_value_sours_the_moods():
    kw = {"mood_imitation": 0.5, "mood_trend": 0.0, "mood_value": 0.5}
    rich = mood_path(40_000, value_z=1.0, **kw)[20_000:].mean()
    cheap = mood_path(40_000, value_z=-1.0, **kw)[20_000:].mean()
    assert rich < -0.3 and cheap > 0.3
    blind = mood_path(40_000, value_z=1.0, **{**kw, "mood_value": 0.0})[20_000:].mean()
    assert abs(blind) < 0.2


def test_imitation_makes_the_mood_index_swing_wider():
    kw = {"mood_trend": 0.0, "mood_persistence": 600.0}
    alone = mood_path(200_000, mood_imitation=0.0, **kw)[10_000:]
    herd = mood_path(200_000, mood_imitation=0.9, **kw)[10_000:]
    assert herd.std() > 2 * alone.std()


def test_the_trend_and_value_signals_are_moves_in_standard_deviations():
    crowd = BackgroundCrowd(BackgroundConfig(mood_share=0.001), np.random.default_rng(0))
    state = SimpleNamespace(vol=0.2, mid=101.0, log_return=lambda h: 0.001)
    sd = 0.2 * math.sqrt(1800.0 / (252 * 23_400.0))
    assert crowd.trend_signal(state) == pytest.approx(0.001 / sd, rel=0.01)
    day = 0.2 / math.sqrt(252)
    assert crowd.value_signal(state, 100.0) == pytest.approx(math.log(1.01) / day, rel=0.01)
    state.log_return = lambda h: 1.0
    assert crowd.trend_signal(state) == 5.0  # clipped
    assert crowd.value_signal(state, 50.0) == 5.0


def test_a_mood_picks_the_side_and_keeps_the_size():
    model = HedgeLoopModel(small_config(n_background=2, mood_share=0.5))
    trader = model.populations["background"][0]
    for optimist, r_hat, expected in [
        (True, -0.002, 0.002),
        (True, 0.001, 0.001),
        (False, 0.002, -0.002),
        (False, -0.001, -0.001),
    ]:
        trader.optimist = optimist
        assert trader.follow_mood(r_hat) == expected


def test_a_herd_of_optimist_speculators_buys_and_investors_do_not_follow():
    def buy_share(speculator: bool, share: float) -> float:
        cfg = small_config(
            seed=5,
            n_background=200,
            mood_share=share,
            mood_persistence=1e9,  # no switching: the moods stay as set
            herding_persistence=1e9,
            herding_recruitment=0.0,
        )
        model = HedgeLoopModel(cfg)
        crowd = model.populations["background"].crowd
        for t in crowd.members:
            t.optimist, t.speculator = True, speculator
        crowd.n_optimists = len(crowd.members)
        since = model.book.n_orders
        for _ in range(900):
            model.step()
        sides = [rec.side for t in crowd.members for rec in orders_of(model, t.unique_id, since)]
        return float(np.mean(np.array(sides) > 0))

    assert buy_share(True, 0.8) > 0.8  # most speculators' orders take the mood's side
    assert 0.3 < buy_share(True, 1e-6) < 0.7  # barely any pull: both sides
    assert 0.3 < buy_share(False, 0.8) < 0.7  # investors trade on their own views


def test_moods_off_keep_every_draw_and_on_half_start_optimist():
    off = HedgeLoopModel(small_config(seed=3, n_background=400, mood_share=0.0))
    off = off.populations["background"]
    on = HedgeLoopModel(small_config(seed=3, n_background=400, mood_share=0.001))
    crowd = on.populations["background"].crowd
    assert [t.horizon for t in off] == [t.horizon for t in on.populations["background"]]
    assert not any(t.optimist for t in off)
    assert 150 < crowd.n_optimists < 250


@pytest.mark.parametrize(
    ("field", "value"),
    [("mood_share", 1.5), ("mood_imitation", -1.0), ("mood_persistence", 0.0)],
)
def test_bad_mood_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"agents.background.{field}"):
        BackgroundConfig(**{field: value})


@pytest.mark.parametrize("anchor_learning", [0.0, 1.0])
def test_a_herd_anchored_to_learnt_value_does_not_pull_toward_f(anchor_learning):
    """A price that has stood 2% above F for hours: against F it looks rich (the herd sours on
    it, pulling the price back to F); against the crowd's learnt value it looks fair."""
    cfg = BackgroundConfig(
        mood_share=1.0,
        value_learning=0.99,
        value_learning_horizon=120.0,
        mood_anchor_learning=anchor_learning,
    )
    crowd = BackgroundCrowd(cfg, np.random.default_rng(0))
    for n in range(4 * 3600):
        state = SimpleNamespace(n=n, mid=102.0, vol=0.15, log_return=lambda h: 0.0)
        crowd.activity_multiplier(state, 1.0, 100.0)
    rich = math.log(1.02) / (0.15 * math.sqrt(1 / 252))
    if anchor_learning:
        assert abs(crowd.value_z) < 0.02 * rich  # only the 1% it never learns is left
    else:
        assert crowd.value_z == pytest.approx(min(5.0, rich), rel=1e-6)
