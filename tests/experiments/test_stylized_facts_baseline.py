"""The default baseline shows the stylized facts of real returns (Cont 2001).

Every population runs at its defaults. Statistics are computed on the mid sampled each second,
per trading day (returns never span a night), with :mod:`market.stats.stylized`. The fast test runs
one day with loose bounds that a Gaussian random walk or a broken book would still fail; the slow
test pools several days and seeds, so its bounds are the calibration targets themselves (the
targets the market misses today, kurtosis and clustering of 1-minute returns, are a strict xfail
beside it, so reaching them shows):

* heavy tails: excess kurtosis of 1-minute returns well above 0; Hill tail index of 5-minute
  returns (top 5%) between 2.5 and 4.5;
* no linear autocorrelation beyond a few lags: |ACF| of 1-minute returns small at lags >= 3;
* volatility clustering: the ACF of absolute 1-minute returns positive over lags 1..30;
* a spread of a few ticks (median 1-5) and a daily realised volatility of 10-40% a year.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.stats.stylized import autocorrelation, hill_tail_index, stylized_facts

ABS_LAGS = tuple(range(1, 31))
RETURN_LAGS = tuple(range(1, 11))


def run_baseline(seed: int, days: int):
    """Per-day stylized facts, pooled 5-minute returns and spread samples of one default run."""
    cfg = RunConfig(seed=seed, progress=False)
    cfg.scenario.days = days
    model = HedgeLoopModel(cfg)
    spreads = []
    while model.running:
        model.step()
        if model.steps % 10 == 0 and not model.book.halted:
            spreads.append(model.state.spread_ticks)
    model.finish()
    mids = model.state.mids[: model.state.n + 1]
    per_day, r5 = [], []
    for d in range(days):
        day = mids[d * SECONDS_PER_DAY : (d + 1) * SECONDS_PER_DAY + 1]
        times = np.arange(day.size, dtype=float)
        per_day.append(
            stylized_facts(times, day, return_lags=RETURN_LAGS, abs_return_lags=ABS_LAGS)
        )
        r5.append(np.diff(np.log(day[::300])))
    return per_day, np.concatenate(r5), np.array(spreads)


def acf_matrix(per_day, prefix: str, lags) -> np.ndarray:
    return np.array([[f[f"{prefix}{k}"] for k in lags] for f in per_day], dtype=float)


def test_one_baseline_day_looks_like_a_market():
    per_day, _r5, spreads = run_baseline(seed=11, days=1)
    f = per_day[0]
    assert f["n_returns_1m"] == 390
    assert 0.08 < f["realised_vol_1m_annual"] < 0.5
    racf = acf_matrix(per_day, "acf_r_1m_lag_", RETURN_LAGS)[0]
    # one day holds 390 returns: the ACF's standard error is about 0.05
    assert np.max(np.abs(racf[2:])) < 0.25
    assert 1 <= np.median(spreads) <= 5
    assert np.percentile(spreads, 95) < 40


def test_one_baseline_day_has_heavy_tailed_clustered_minute_returns():
    # failed while the latent book pinned the price (excess kurtosis about 0 on this day); with
    # latent investors who learn value from the price the day's minute returns pass again
    per_day, _r5, _spreads = run_baseline(seed=11, days=1)
    assert per_day[0]["excess_kurtosis_1m"] > 1.0
    absacf = acf_matrix(per_day, "acf_abs_r_1m_lag_", ABS_LAGS)[0]
    assert absacf[:10].mean() > 0.03 and np.mean(absacf[:10] > 0) >= 0.7


@functools.cache
def pooled_baseline():
    """Seeds 1 and 2, five days each: per-day facts, pooled 5-minute returns, median spreads."""
    per_day, r5, spreads = [], [], []
    for seed in (1, 2):
        days, returns, s = run_baseline(seed=seed, days=5)
        per_day += days
        r5.append(returns)
        spreads.append(np.median(s))
    return per_day, np.concatenate(r5), spreads


@pytest.mark.slow
def test_baseline_stylized_facts_over_several_days_and_seeds():
    per_day, r5, spreads = pooled_baseline()
    assert r5.size == 10 * 78

    kurt = np.array([f["excess_kurtosis_1m"] for f in per_day])
    assert np.all(kurt > 0.0)

    assert 2.5 <= hill_tail_index(r5, 0.05) <= 4.5

    racf = acf_matrix(per_day, "acf_r_1m_lag_", RETURN_LAGS).mean(axis=0)
    assert np.all(np.abs(racf[2:]) < 0.1)
    assert np.mean(np.abs(racf[2:])) < 0.05

    absacf = acf_matrix(per_day, "acf_abs_r_1m_lag_", ABS_LAGS).mean(axis=0)
    assert absacf[:5].mean() > 0.03  # some clustering at minutes (the target is below)

    vols = np.array([f["realised_vol_1m_annual"] for f in per_day])
    # calm days as real calm markets have them (the S&P 500's realised volatility was near 7% in
    # 2017): the default dealers are long gamma and damp the price, and the latent book thickens
    # when the market it remembers is calm, so a calm day can sit below F's own 11%
    assert np.all((vols > 0.07) & (vols < 0.40))

    assert all(1 <= s <= 5 for s in spreads)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known miss: with the latent order book the pooled 1-minute returns have a median "
    "excess kurtosis of 1.8 (target 2), and the ACF of |r| is 0.07 over lags 1-5 minutes (target "
    "0.1) and 0.006 over 20-30 minutes (target 0.02), positive at 87% of lags (target 90%)",
)
def test_baseline_minute_returns_reach_the_tail_and_clustering_targets():
    per_day, _r5, _spreads = pooled_baseline()
    kurt = np.array([f["excess_kurtosis_1m"] for f in per_day])
    assert np.median(kurt) > 2.0
    absacf = acf_matrix(per_day, "acf_abs_r_1m_lag_", ABS_LAGS).mean(axis=0)
    assert np.mean(absacf > 0) >= 0.9  # lags 1..30 minutes
    assert absacf[:5].mean() > 0.1 and absacf[19:].mean() > 0.02


def test_hill_index_of_the_baseline_is_not_gaussian():
    # the statistic that the slow test bounds separates heavy from light tails on this sample size
    rng = np.random.default_rng(0)
    assert hill_tail_index(rng.standard_normal(780), 0.05) > 4.5
    assert 2.5 < hill_tail_index(rng.standard_t(3, 780), 0.05) < 4.5
    assert autocorrelation(np.abs(rng.standard_normal(390)), [1])[0] < 0.15
