"""Pure path metrics: falls, rallies, retraces, window returns and volatility on hand paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.exchange.clock import SECONDS_PER_YEAR
from market.stats.paths import (
    PathMetricsError,
    annualised_vol,
    max_rally,
    peak_to_trough,
    retrace_share,
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
