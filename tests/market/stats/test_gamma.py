"""The gamma experiment's arithmetic: day rows, horizon returns, volatility ratios, lag-1
autocorrelation and the last-half-hour regression."""

import numpy as np
import pytest

from market.stats import gamma as gs
from market.validation import ConfigError


def test_day_rows_share_the_close_between_days():
    x = np.arange(7.0)  # 2 days of 3 steps
    rows = gs.day_rows(x, 3)
    assert rows.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6]]
    with pytest.raises(ConfigError, match="days"):
        gs.day_rows(np.arange(6.0), 3)


def test_intraday_returns_stay_inside_each_day():
    rows = gs.day_rows(np.array([0.0, 1.0, 3.0, 6.0, 100.0, 101.0, 103.0]), 3)
    # 2-step blocks: [0 -> 3] on day 0, [6 -> 101] on day 1; the odd last step is dropped
    assert gs.intraday_returns(rows, 2).tolist() == [3.0, 95.0]
    assert gs.close_to_close(rows).tolist() == [6.0, 97.0]
    with pytest.raises(ConfigError, match="step"):
        gs.intraday_returns(rows, 4)


def test_vol_ratio_scales_with_the_returns():
    rng = np.random.default_rng(0)
    r = rng.normal(0.0, 1e-3, 5000)
    assert gs.vol_ratio(2.0 * r, r) == pytest.approx(2.0)
    assert gs.vol_ratio(0.5 * r, r) == pytest.approx(0.5)
    # a drift counts as movement: the ratio is not about the mean-removed s.d.
    assert gs.vol_ratio(np.full(10, 1e-3), np.full(10, 1e-3) * np.resize([1, -1], 10)) == 1.0
    assert np.isnan(gs.vol_ratio(r, np.zeros(5)))


def test_lag1_autocorrelation_sees_bounce_back_and_not_across_segments():
    rng = np.random.default_rng(1)
    e = rng.normal(size=20001)
    bounce = np.diff(e)  # MA(1) with theta -1: lag-1 autocorrelation -0.5
    assert gs.lag1_autocorrelation([bounce]) == pytest.approx(-0.5, abs=0.03)
    assert abs(gs.lag1_autocorrelation([rng.normal(size=20000)])) < 0.03
    # two constant-sign segments: a pair across them would add a large negative product
    a, b = np.array([1.0, 1.0, 1.0]), np.array([-1.0, -1.0, -1.0])
    assert gs.lag1_autocorrelation([a, b]) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        gs.lag1_autocorrelation([np.array([1.0])])


def test_ols_slope_and_t():
    rng = np.random.default_rng(2)
    x = rng.normal(size=400)
    y = 0.3 * x + rng.normal(scale=0.5, size=400)
    reg = gs.ols_slope(y, x)
    assert reg.slope == pytest.approx(0.3, abs=0.08)
    assert reg.t > 5 and reg.n == 400
    assert abs(gs.ols_slope(rng.normal(size=400), x).t) < 3
    with pytest.raises(ConfigError, match="constant"):
        gs.ols_slope(y[:5], np.ones(5))


def _paths(days: int, per_day: int, last: int, feedback: float, seed: int) -> np.ndarray:
    """Log prices whose last ``last`` steps move by ``feedback`` times the rest of the day."""
    rng = np.random.default_rng(seed)
    out = [0.0]
    for _ in range(days):
        start = out[-1]
        day = start + np.cumsum(rng.normal(scale=1e-3, size=per_day - last))
        rest = day[-1] - start
        tail = day[-1] + np.cumsum(rng.normal(scale=1e-4, size=last) + feedback * rest / last)
        out.extend(day.tolist() + tail.tolist())
    return np.asarray(out)


@pytest.mark.parametrize("feedback, sign", [(0.2, 1), (-0.2, -1)])
def test_intraday_momentum_has_the_sign_of_the_late_feedback(feedback, sign):
    per_day, last = 40, 6
    rows = gs.day_rows(_paths(300, per_day, last, feedback, 3), per_day)
    rest, tail = gs.last_half_hour(rows, last)
    assert rest.size == tail.size == 300
    reg = gs.intraday_momentum(rows, last)
    assert np.sign(reg.slope) == sign and abs(reg.t) > 3
    none = gs.intraday_momentum(gs.day_rows(_paths(300, per_day, last, 0.0, 4), per_day), last)
    assert abs(none.t) < 3
