"""Pure path metrics: falls, rallies, retraces, window returns and volatility on hand paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.exchange.clock import SECONDS_PER_YEAR
from market.stats.paths import (
    PathMetricsError,
    against_fundamental,
    annualised_vol,
    max_rally,
    minute_indices,
    move_pct,
    peak_to_trough,
    r_squared_on,
    retrace_share,
    worst_window,
    worst_window_return,
)


def test_peak_to_trough_and_rally_on_a_hand_path():
    p = np.array([100.0, 110.0, 99.0, 88.0, 95.0, 120.0, 108.0])
    pct, peak, trough = peak_to_trough(p)
    assert (peak, trough) == (1, 3)
    assert pct == pytest.approx(100 * (88 / 110 - 1))
    up, low, high = max_rally(p)
    assert (low, high) == (3, 5)
    assert up == pytest.approx(100 * (120 / 88 - 1))
    assert peak_to_trough([1.0, 2.0, 3.0]) == (0.0, 0, 0)
    assert max_rally([3.0, 2.0, 1.0]) == (0.0, 0, 0)


def test_retrace_share_counts_only_the_window_after_the_low():
    p = np.array([100.0, 90.0, 80.0, 85.0, 90.0, 100.0])
    assert retrace_share(p, 0, 2, 1) == pytest.approx(25.0)
    assert retrace_share(p, 0, 2, 2) == pytest.approx(50.0)
    assert retrace_share(p, 0, 2, 10) == pytest.approx(100.0)
    assert retrace_share(p, 0, 2, 0) == 0.0
    assert math.isnan(retrace_share(p, 2, 2, 3))
    with pytest.raises(PathMetricsError, match="peak"):
        retrace_share(p, 3, 2, 1)


def test_worst_window_return_and_annualised_vol():
    p = np.array([100.0, 99.0, 95.0, 96.0, 90.0])
    assert worst_window_return(p, 1) == pytest.approx(100 * (90 / 96 - 1))
    assert worst_window_return(p, 2) == pytest.approx(100 * (90 / 95 - 1))
    assert worst_window_return(p, 10) == pytest.approx(-10.0)
    r = np.full(100, 0.001)
    assert annualised_vol(r) == pytest.approx(0.001 * math.sqrt(SECONDS_PER_YEAR / 60))
    assert math.isnan(annualised_vol([]))


@pytest.mark.parametrize("bad", [[], [100.0, -1.0], [100.0, float("nan")], [[1.0, 2.0]]])
def test_price_paths_are_checked(bad):
    with pytest.raises(PathMetricsError, match="prices"):
        peak_to_trough(bad)


def test_minute_indices_take_the_last_sample_of_each_minute_and_the_close():
    assert minute_indices(181, 1.0).tolist() == [0, 60, 120, 180]
    assert minute_indices(200, 1.0).tolist() == [0, 60, 120, 180, 199]  # the close is in
    assert minute_indices(7, 20.0).tolist() == [0, 3, 6]
    assert minute_indices(10, 0.7).tolist() == [0, 9]  # 6.3 s: the open and the close
    assert minute_indices(1, 1.0).tolist() == [0]
    with pytest.raises(PathMetricsError, match="dt"):
        minute_indices(10, 0.0)


def test_one_minute_sampling_removes_a_one_second_spike():
    p = np.full(601, 100.0)
    p[301] = 80.0  # one second at -20%, undone the next second
    assert peak_to_trough(p)[0] == pytest.approx(-20.0)
    one_minute = p[minute_indices(p.size, 1.0)]
    assert peak_to_trough(one_minute) == (0.0, 0, 0)
    assert worst_window_return(one_minute, 5) == 0.0


def test_worst_window_returns_where_it_is():
    p = np.array([100.0, 99.0, 95.0, 96.0, 90.0])
    assert worst_window(p, 2) == (pytest.approx(100 * (90 / 95 - 1)), 2, 4)
    assert worst_window(p, 10) == (pytest.approx(-10.0), 0, 4)
    assert worst_window([5.0], 3) == (0.0, 0, 0)
    assert move_pct(p, 1, 4) == pytest.approx(100 * (90 / 99 - 1))


def test_net_of_fundamental_is_exactly_the_price_move_minus_f_move():
    p = np.array([100.0, 104.0, 97.0, 95.0, 99.0])
    f = np.array([100.0, 101.0, 99.5, 100.5, 99.0])
    cmp = against_fundamental(p, f, 1, 3)
    assert cmp.move_pct == pytest.approx(100 * (100.5 / 101 - 1))
    assert cmp.net_pct == pytest.approx(100 * (95 / 104 - 1) - 100 * (100.5 / 101 - 1))
    assert cmp.fall_pct == pytest.approx(100 * (99.5 / 101 - 1))  # F's own fall inside [1, 3]
    assert cmp.rally_pct == pytest.approx(100 * (100.5 / 99.5 - 1))
    same = against_fundamental(p, p, 0, 4)
    assert same.net_pct == 0.0
    with pytest.raises(PathMetricsError, match="one value per price"):
        against_fundamental(p, f[:3], 0, 2)
    with pytest.raises(PathMetricsError, match="start"):
        against_fundamental(p, f, 3, 2)


def test_r_squared_on_the_fundamental():
    rng = np.random.default_rng(0)
    f = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 301)))
    assert r_squared_on(f, f, 30) == pytest.approx(1.0)
    assert r_squared_on(2.0 * f, f, 30) == pytest.approx(1.0)  # a constant factor: same returns
    noise = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 301)))
    both = np.sqrt(f * noise)  # half of each log return is F's: R² near 1/2
    assert 0.2 < r_squared_on(both, f, 10) < 0.8
    assert math.isnan(r_squared_on(f, f, 150))  # two windows: not enough
    assert math.isnan(r_squared_on(f, np.full(301, 100.0), 30))  # F does not move
