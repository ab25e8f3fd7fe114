"""News absorption on synthetic mid paths whose answer is known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from market.stats.facts import news_absorption, pre_arrival_gap
from market.validation import ConfigError

T0 = 1800.0
TIMES = np.arange(0.0, 23_401.0, 60.0)  # one day on a 1-minute grid, seconds since the open
HORIZONS = [60.0, 300.0, 1800.0, 3600.0]


def _paths(size: float, taken: float) -> tuple[np.ndarray, np.ndarray]:
    """A wandering control and the same path with ``taken`` of a jump of ``size`` (log return)
    added from ``t0`` on."""
    rng = np.random.default_rng(7)
    without = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, TIMES.size)))
    with_news = without * np.exp(np.where(TIMES >= T0, taken * size, 0.0))
    return with_news, without


@pytest.mark.parametrize("taken", [1.0, 0.5, 1.3, 0.0])
@pytest.mark.parametrize("size", [0.03, -0.03])
def test_the_share_taken_comes_back_whatever_the_sign(size, taken):
    with_news, without = _paths(size, taken)
    a = news_absorption(TIMES, with_news, without, T0, size, HORIZONS)
    assert a == pytest.approx([taken] * 4, abs=1e-12)


def test_a_price_that_moves_the_wrong_way_reads_negative():
    with_news, without = _paths(0.02, -0.5)  # good news, price fell by half the jump
    assert news_absorption(TIMES, with_news, without, T0, 0.02, [300.0]) == pytest.approx([-0.5])


def test_absorption_building_up_is_read_at_the_last_record_at_or_before_each_horizon():
    without = np.full(TIMES.size, 50.0)
    after = np.clip((TIMES - T0) / 600.0, 0.0, 1.0)  # the news goes in linearly over 10 min
    with_news = without * np.exp(-0.04 * after)
    a = news_absorption(TIMES, with_news, without, T0, -0.04, [60.0, 90.0, 300.0, 900.0])
    assert a == pytest.approx([0.1, 0.1, 0.5, 1.0])


def test_a_horizon_past_the_last_record_is_nan():
    with_news, without = _paths(0.03, 1.0)
    a = news_absorption(TIMES, with_news, without, T0, 0.03, [3600.0, 23_400.0])
    assert a[0] == pytest.approx(1.0) and np.isnan(a[1])


def test_pre_arrival_gap_is_zero_for_identical_pairs_and_finds_the_largest_difference():
    with_news, without = _paths(0.03, 1.0)
    assert pre_arrival_gap(TIMES, with_news, without, T0) == 0.0
    early = with_news.copy()
    early[3] *= np.exp(-2e-4)
    early[10] *= np.exp(1e-4)
    assert pre_arrival_gap(TIMES, early, without, T0) == pytest.approx(2e-4)
    assert pre_arrival_gap(TIMES, early, without, 0.0) == 0.0  # nothing recorded before


def test_bad_arguments_name_themselves():
    with_news, without = _paths(0.03, 1.0)
    with pytest.raises(ConfigError, match="size must be a finite nonzero"):
        news_absorption(TIMES, with_news, without, T0, 0.0, HORIZONS)
    with pytest.raises(ConfigError, match=r"horizons must be in \(0"):
        news_absorption(TIMES, with_news, without, T0, 0.03, [0.0])
    with pytest.raises(ConfigError, match="mid_without must be in"):
        news_absorption(TIMES, with_news, -without, T0, 0.03, HORIZONS)
    with pytest.raises(ConfigError, match="grid's"):
        pre_arrival_gap(TIMES, with_news[:-1], without[:-1], T0)
