"""Background crowd: volatility memory over log-spaced windows, and herding of speculators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agents.background import (
    BackgroundConfig,
    BackgroundCrowd,
    memory_half_lives,
    memory_weights,
)
from experiments.model import HedgeLoopModel
from tests.agents.test_background import small_config
from tests.conftest import activity, force_vol

DAY = 23_400.0  # trading seconds


def crowd_of(**fields) -> BackgroundCrowd:
    """A crowd with no speculator boost and no moods unless asked: its multiplier is the
    volatility one."""
    fields.setdefault("speculator_activity", 0.0)
    fields.setdefault("mood_share", 0.0)
    return BackgroundCrowd(BackgroundConfig(**fields), np.random.default_rng(0))


class VolFeed:
    """Feeds a crowd one annualised volatility a step, as the market state would (dt seconds)."""

    def __init__(self, crowd: BackgroundCrowd, dt: float = 60.0) -> None:
        self.crowd = crowd
        self.dt = dt
        self.state = SimpleNamespace(n=0, vol=0.0, mid=100.0)

    def run(self, vol: float, seconds: float) -> float:
        """Hold ``vol`` for ``seconds``; the multiplier at the end."""
        m = self.crowd.multiplier
        for _ in range(max(1, round(seconds / self.dt))):
            self.state.n += 1
            self.state.vol = vol
            m = self.crowd.activity_multiplier(self.state, self.dt)
        return m


MEMORY = {
    "activity_reference_vol": 0.1,
    "activity_feedback": 1.0,
    "activity_min_multiplier": 0.5,
    "activity_max_multiplier": 10.0,
}


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("activity_min_multiplier", 0.05, "[0.1, 1.0]"),
        ("activity_min_multiplier", 1.5, "[0.1, 1.0]"),
        ("activity_max_multiplier", 0.5, "[1.0, "),
        ("memory_weight", 1.0, "[0.0, 1.0)"),
        ("memory_windows", 0, "[1, 32]"),
        ("memory_min", 0.5, "[1.0, "),
        ("memory_alpha", -1.0, "[0.0, 5.0]"),
        ("herding_persistence", 0.0, "(0.0, "),
        ("herding_recruitment", 1.5, "[0.0, 1.0]"),
        ("speculator_activity", -1.0, "[0.0, 20.0]"),
        ("speculator_chartist", -0.5, "[0.0, 10.0]"),
    ],
)
def test_config_refuses_bad_memory_and_herding_settings(field, value, allowed):
    with pytest.raises(ValueError, match=rf"agents\.background\.{field} must be in") as err:
        BackgroundConfig(**{field: value})
    assert allowed in str(err.value)


def test_the_longest_window_may_not_be_shorter_than_the_shortest():
    with pytest.raises(ValueError, match=r"agents\.background\.memory_max"):
        BackgroundConfig(memory_min=3600.0, memory_max=1800.0)


def test_windows_are_log_spaced_and_weights_follow_a_power_law_summing_to_the_memory():
    cfg = BackgroundConfig(
        memory_windows=5, memory_min=100.0, memory_max=1e6, memory_alpha=1.0, memory_weight=0.6
    )
    assert memory_half_lives(cfg) == pytest.approx([1e2, 1e3, 1e4, 1e5, 1e6])
    w = memory_weights(cfg)
    assert sum(w) == pytest.approx(0.6)
    assert w[0] / w[1] == pytest.approx(2.0) and w[0] / w[4] == pytest.approx(5.0)
    one = BackgroundConfig(memory_windows=1, memory_min=500.0, memory_max=1e6)
    assert memory_half_lives(one) == [500.0]


# ---------------------------------------------------------------------- the multiplier
def test_multiplier_follows_volatility_between_its_floor_and_its_cap():
    feed = VolFeed(crowd_of(memory_weight=0.0, **MEMORY))
    assert feed.run(0.1, 60) == pytest.approx(1.0)  # the normal level: the base rate
    assert feed.run(0.3, 60) == pytest.approx(3.0)
    assert feed.run(5.0, 60) == pytest.approx(10.0)  # the cap
    assert feed.run(0.02, 60) == pytest.approx(0.5)  # the floor: a calm market thins the crowd
    assert feed.crowd.p_aggressive < BackgroundCrowd(BackgroundConfig(), None).p_aggressive


def test_after_a_burst_the_multiplier_stays_raised_over_the_long_windows():
    def after_burst(memory_weight: float) -> tuple[float, float, float]:
        feed = VolFeed(crowd_of(memory_weight=memory_weight, memory_alpha=0.5, **MEMORY))
        feed.run(0.1, 2 * DAY)  # settled at the normal level
        peak = feed.run(0.4, 3600.0)
        return peak, feed.run(0.1, DAY), feed.run(0.1, 4 * DAY)

    peak, day_after, days_after = after_burst(0.8)
    assert peak > 2.0
    assert 1.1 < day_after < peak  # a day later the crowd still remembers the storm
    assert 1.0 < days_after < day_after  # and forgets it only slowly
    # without memory the crowd is back to its base rate as soon as the market calms down
    _, no_memory_day_after, _ = after_burst(0.0)
    assert no_memory_day_after == pytest.approx(1.0)


def test_alpha_moves_the_memory_between_short_and_long_windows():
    def profile(alpha: float) -> tuple[float, float]:
        feed = VolFeed(crowd_of(memory_weight=0.9, memory_alpha=alpha, **MEMORY))
        feed.run(0.1, 2 * DAY)
        feed.run(0.4, 3600.0)
        return feed.run(0.1, 1800.0), feed.run(0.1, 5 * DAY)

    short_soon, short_late = profile(3.0)
    flat_soon, flat_late = profile(0.0)
    assert short_soon > flat_soon  # steep weights: a strong but short echo
    assert flat_late > short_late  # flat weights: the long windows keep it for days


def test_model_feeds_its_volatility_to_the_crowd():
    cfg = small_config(speculator_activity=0.0, memory_weight=0.0, **MEMORY)
    model = HedgeLoopModel(cfg)
    force_vol(model, 0.25)
    assert activity(model, "background") == pytest.approx(2.5)


# ---------------------------------------------------------------------- herding
def herd_path(n_firings: int, **fields) -> np.ndarray:
    """The speculators' share after every firing of a crowd of 100 stand-in traders."""
    crowd = crowd_of(**fields)
    rng = np.random.default_rng(1)
    crowd.members = [SimpleNamespace(speculator=bool(i % 2)) for i in range(100)]
    crowd.n_speculators = 50
    path = np.empty(n_firings)
    for k, i in enumerate(rng.integers(0, 100, n_firings)):
        crowd.herd(crowd.members[i])
        path[k] = crowd.speculating_share()
    assert crowd.n_speculators == sum(t.speculator for t in crowd.members)
    return path


def test_recruitment_makes_the_speculators_share_wander():
    kw = {"rate": 0.003, "herding_persistence": DAY}  # about 70 firings a trader per persistence
    alone = herd_path(100_000, herding_recruitment=0.0, **kw)
    herding = herd_path(100_000, herding_recruitment=1.0, **kw)
    assert alone.std() < 0.08  # independent switching: binomial noise around one half
    assert herding.std() > 2 * alone.std()
    assert herding.min() < 0.3 and herding.max() > 0.7


def test_persistence_sets_how_slowly_the_share_moves():
    def mean_move(persistence: float) -> float:
        path = herd_path(
            60_000, rate=0.003, herding_persistence=persistence, herding_recruitment=0.3
        )
        return float(np.abs(path[2000:] - path[:-2000]).mean())

    assert mean_move(10 * DAY) < 0.7 * mean_move(DAY / 10)


def test_speculators_act_more_often_than_investors():
    # no switching: every trader keeps the state it was drawn with
    cfg = small_config(
        n_background=200,
        speculator_activity=3.0,
        herding_persistence=1e9,
        herding_recruitment=0.0,
        activity_feedback=0.0,
    )
    model = HedgeLoopModel(cfg)
    crowd = model.populations["background"].crowd
    assert activity(model, "background") == pytest.approx(4.0 / 2.5)
    for _ in range(1800):
        model.step()

    def actions(speculating: bool, *kinds: str) -> float:
        traders = [t for t in model.populations["background"] if t.speculator == speculating]
        return np.mean([sum(getattr(t, k) for k in kinds) for t in traders])

    assert 0 < crowd.n_speculators < 200
    every = ("n_market", "n_marketable", "n_passive")
    assert actions(True, *every) / actions(False, *every) == pytest.approx(4.0, rel=0.25)
    # the extra actions are aggressive: 4 x 0.68 market orders per investor's 0.3 (base mix)
    assert actions(True, "n_market") / actions(False, "n_market") == pytest.approx(9.1, rel=0.25)


def test_a_speculator_weighs_the_trend_by_its_chartist_factor():
    model = HedgeLoopModel(small_config(n_background=2, speculator_chartist=3.0))
    trader = model.populations["background"][0]
    trader.set_weights(0.0, 1.0, 1.0)
    trader.speculator = False
    investor = trader.expected_log_return(100.0, 100.0, 0.001, 0.0)
    trader.speculator = True
    speculator = trader.expected_log_return(100.0, 100.0, 0.001, 0.0)
    assert investor == pytest.approx(0.001 / 2)
    assert speculator == pytest.approx(0.003 / 4)
