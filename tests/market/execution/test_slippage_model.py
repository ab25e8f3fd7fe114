"""Tests of the two-layer slippage quantile model and its validation tools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.execution.slippage_model import (
    HedgeFeatureSpec,
    TwoLayerQuantileModel,
    calibration_table,
    compare_models,
    cvar95,
    cvar_drift,
    decile_monotonicity,
    event_class_holdout,
    feature_drift,
    fit_linear_quantile,
    pinball_loss,
    rolling_time_splits,
)


def synthetic(n: int, seed: int, hedge_scale: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """y = base(X) + hedge(HPI) + heteroscedastic heavy-tailed noise, with known structure."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "spread_bps": rng.uniform(1, 5, n),
            "depth": rng.lognormal(8, 0.5, n),
            "imbalance": rng.uniform(-1, 1, n),
            "volatility": rng.uniform(0.1, 0.5, n),
            "participation": rng.uniform(0.01, 0.2, n),
            "latency_ms": rng.uniform(0.5, 5, n),
            "hpi": rng.normal(0, 1, n),
            "hpi_slope": rng.normal(0, 1, n),
            "urgency": rng.uniform(0, 1, n),
            "queue_fragility": rng.uniform(0, 1, n),
            "seconds_to_expiry": rng.uniform(0, 200_000, n),
        }
    )
    base = (
        0.5 * X.spread_bps
        + 30 * X.participation
        + 10 * X.volatility
        - 1e-4 * X.depth
        + X.imbalance
        + 0.2 * X.latency_ms
    )
    hedge = hedge_scale * (
        2.0 * X.hpi + 2.0 * X.hpi * X.queue_fragility + 1.0 * X.hpi * (X.seconds_to_expiry < 3600)
    )
    noise = (0.5 + 4 * X.volatility) * rng.standard_t(5, n)
    return X, (base + hedge + noise).to_numpy()


@pytest.fixture(scope="module")
def fitted():
    X, y = synthetic(6000, seed=0)
    return TwoLayerQuantileModel().fit(X, y)


# ---------------------------------------------------------------- the solver


def test_intercept_only_fit_is_the_sample_quantile():
    rng = np.random.default_rng(1)
    y = rng.exponential(2.0, 401)
    for tau in (0.5, 0.9):
        beta = fit_linear_quantile(np.ones((401, 1)), y, tau)
        assert pinball_loss(y, beta[0], tau) == pytest.approx(
            pinball_loss(y, np.quantile(y, tau, method="inverted_cdf"), tau), rel=1e-9
        )


def test_linear_fit_is_a_minimum_of_the_check_loss():
    rng = np.random.default_rng(2)
    n = 500
    X = np.column_stack([np.ones(n), rng.normal(0, 1, n), rng.uniform(0, 100, n)])
    y = X @ [1.0, 2.0, 0.05] + rng.standard_t(3, n)
    beta = fit_linear_quantile(X, y, 0.9)
    best = pinball_loss(y, X @ beta, 0.9)
    for _ in range(50):
        nudged = beta + rng.normal(0, 0.02, 3) * [1.0, 1.0, 0.01]
        assert pinball_loss(y, X @ nudged, 0.9) >= best - 1e-12
    # Without an intercept column, only scaling is applied and the fit still minimises.
    no_const = fit_linear_quantile(X[:, 1:], y, 0.5)
    assert pinball_loss(y, X[:, 1:] @ no_const, 0.5) <= pinball_loss(
        y, X[:, 1:] @ (no_const * 1.01), 0.5
    )


def test_solver_rejects_bad_input():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(ValueError, match="tau"):
        fit_linear_quantile(X, np.arange(10.0), 1.0)
    with pytest.raises(ValueError, match="rank deficient"):
        fit_linear_quantile(np.column_stack([X, 2 * X[:, 1]]), np.arange(10.0), 0.5)
    with pytest.raises(ValueError, match="X must be finite"):
        fit_linear_quantile(np.where(X > 8, np.nan, X), np.arange(10.0), 0.5)


# ---------------------------------------------------------------- the two-layer model


def test_hedge_layer_beats_baseline_out_of_sample(fitted):
    X_test, y_test = synthetic(4000, seed=1)
    table = compare_models(y_test, fitted.predictions_by_model(X_test))
    wide = table.pivot_table(index=["metric", "quantile"], columns="model", values="value")
    for tau in (0.5, 0.9, 0.95):
        assert (
            wide.loc[("pinball", tau), "baseline+hedge"]
            < 0.8 * wide.loc[("pinball", tau), "baseline"]
        )
        assert wide.loc[("calibration_error", tau), "baseline+hedge"] < 0.03
    # In the rows it ranks as riskiest, the p95 forecast is still exceeded about 5% of the time.
    assert 0.02 < wide.loc[("tail_bucket_exceedance", 0.95), "baseline+hedge"] < 0.09
    assert wide.loc[("tail_bucket_cvar95", 0.95), "baseline+hedge"] > cvar95(y_test)


def test_layer_b_finds_the_planted_hedge_structure(fitted):
    names = ["intercept", *fitted.hedge.feature_names()]
    coef = dict(zip(names, fitted.hedge_coef_[0.5], strict=True))
    # Nearest-expiry bucket is the reference: its HPI slope is 2 + 1 there, 2 elsewhere.
    assert coef["hpi"] == pytest.approx(3.0, abs=0.4)
    assert coef["hpi_x_queue_fragility"] == pytest.approx(2.0, abs=0.4)
    assert coef["hpi_x_expiry_3600_23400s"] == pytest.approx(-1.0, abs=0.4)
    assert abs(coef["hpi_slope"]) < 0.2
    assert abs(coef["hpi_x_urgency"]) < 0.4


def test_use_hedge_false_is_layer_a_alone(fitted):
    X, _ = synthetic(50, seed=3)
    full = fitted.predict(X, 0.95)
    base = fitted.predict(X, 0.95, use_hedge=False)
    assert not np.allclose(full, base)
    A = np.column_stack([np.ones(50), X[list(fitted.baseline_features)].to_numpy()])
    raw_base = np.column_stack([A @ fitted.baseline_coef_[tau] for tau in fitted.quantiles])
    np.testing.assert_allclose(base, np.sort(raw_base, axis=1)[:, 2])
    unsorted = TwoLayerQuantileModel(rearrange=False)
    unsorted.baseline_coef_, unsorted.hedge_coef_ = fitted.baseline_coef_, fitted.hedge_coef_
    np.testing.assert_allclose(
        unsorted.predict(X, 0.95) - unsorted.predict(X, 0.95, False),
        fitted.hedge_contribution(X, 0.95),
    )


def test_rearranged_quantiles_never_cross(fitted):
    X, _ = synthetic(2000, seed=4)
    preds = fitted.predict_all(X)
    assert np.all(preds[0.5] <= preds[0.9]) and np.all(preds[0.9] <= preds[0.95])


def test_feature_names_and_buckets_are_configurable():
    X, y = synthetic(1500, seed=5)
    X = X.rename(columns={"hpi": "pressure", "latency_ms": "lat"})
    spec = HedgeFeatureSpec(hpi="pressure", expiry_bucket_edges=(7200.0,))
    model = TwoLayerQuantileModel(
        baseline_features=("spread_bps", "volatility", "lat"), hedge=spec, quantiles=(0.9,)
    ).fit(X, y)
    assert model.hedge_coef_[0.9].shape == (6,)
    assert model.baseline_coef_[0.9].shape == (4,)
    assert spec.feature_names()[-1] == "hpi_x_expiry_7200_infs"


def test_model_rejects_bad_use():
    X, y = synthetic(200, seed=6)
    with pytest.raises(RuntimeError, match="not fitted"):
        TwoLayerQuantileModel().predict(X, 0.5)
    with pytest.raises(ValueError, match="missing columns"):
        TwoLayerQuantileModel().fit(X.drop(columns="depth"), y)
    with pytest.raises(ValueError, match="quantiles"):
        TwoLayerQuantileModel(quantiles=(0.5, 1.2))
    with pytest.raises(ValueError, match="expiry_bucket_edges"):
        HedgeFeatureSpec(expiry_bucket_edges=(10.0, 5.0))
    model = TwoLayerQuantileModel(quantiles=(0.5,)).fit(X, y)
    with pytest.raises(ValueError, match="quantile must be one of"):
        model.predict(X, 0.9)
    with pytest.raises(ValueError, match="'hpi'"):
        model.predict(X.assign(hpi=np.nan), 0.5)


# ---------------------------------------------------------------- validation tools


def test_calibration_table_hand_example():
    y = np.arange(1.0, 11.0)
    table = calibration_table(y, {0.5: np.full(10, 5.0), 0.9: np.full(10, 8.5)})
    assert table["observed"].tolist() == [0.5, 0.8]
    np.testing.assert_allclose(table["error"], [0.0, -0.1])
    assert table["n"].tolist() == [10, 10]


def test_pinball_loss_hand_example():
    assert pinball_loss([1.0, 3.0], 2.0, 0.9) == pytest.approx((0.1 * 1 + 0.9 * 1) / 2)
    assert pinball_loss([0.0, 10.0], 0.0, 0.25) == pytest.approx(0.25 * 10 / 2)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=30, max_size=120),
    st.integers(1, 4),
    st.sampled_from([0.0, 2.0]),
)
def test_rolling_splits_never_leak(raw_times, n_splits, gap):
    times = np.array(raw_times, dtype=float)
    try:
        splits = rolling_time_splits(times, n_splits, gap_seconds=gap)
    except ValueError as exc:  # too few distinct times for this many splits: refused, not leaked
        assert "not enough distinct times" in str(exc) or "no training rows" in str(exc)
        return
    assert len(splits) == n_splits
    seen_test = []
    for train, test in splits:
        assert times[train].max() < times[test].min() - gap
        assert not set(train) & set(test)
        seen_test.append(test)
    tests = np.concatenate(seen_test)
    assert len(set(tests)) == tests.size  # test blocks do not overlap


def test_rolling_splits_expand_and_cover_the_tail():
    times = np.random.default_rng(0).permutation(np.arange(100.0))
    splits = rolling_time_splits(times, 4)
    sizes = [train.size for train, _ in splits]
    assert sizes == sorted(sizes) and sizes[0] == 20
    covered = np.sort(np.concatenate([times[test] for _, test in splits]))
    np.testing.assert_array_equal(covered, np.arange(20.0, 100.0))
    later = rolling_time_splits(times, 2, min_train_fraction=0.5, gap_seconds=5.0)
    assert times[later[0][0]].max() == 44.0  # embargo of 5 s before the test block at 50
    with pytest.raises(ValueError, match="n_splits"):
        rolling_time_splits(times, 0)


def test_event_class_holdout():
    classes = ["calm", "expiry", "calm", "macro", "expiry", "calm"]
    train, test = event_class_holdout(classes, "expiry")
    assert test.tolist() == [1, 4] and train.tolist() == [0, 2, 3, 5]
    train, test = event_class_holdout(classes, ["expiry", "macro"])
    assert test.tolist() == [1, 3, 4]
    with pytest.raises(ValueError, match="earnings"):
        event_class_holdout(classes, "earnings")
    with pytest.raises(ValueError, match="every class"):
        event_class_holdout(classes, {"calm", "expiry", "macro"})


def test_cvar95_and_its_drift_over_time():
    rng = np.random.default_rng(3)
    times = np.arange(5000.0)
    costs = rng.normal(0, 1, 5000) * (1 + times / 2500)  # the tail widens over time
    drift = cvar_drift(times, costs, n_windows=5)
    assert len(drift) == 5 and drift["n"].sum() == 5000
    assert drift["drift"].iloc[0] == 0.0
    assert np.all(np.diff(drift["cvar"]) > 0)
    assert np.all(drift["cvar"] > drift["var"])
    assert np.all(cvar_drift(times, costs, n_windows=5, level=0.99)["cvar"] > drift["cvar"])
    assert cvar95(np.arange(1.0, 101.0)) == pytest.approx(98.0)
    with pytest.raises(ValueError, match="n_windows"):
        cvar_drift(times, costs, n_windows=0)


def test_decile_monotonicity_alarm():
    rng = np.random.default_rng(4)
    hpi = rng.normal(0, 1, 3000)
    healthy = decile_monotonicity(hpi, 2.0 * hpi + rng.normal(0, 1, 3000))
    assert not healthy.alarm
    assert healthy.spearman > 0.9 and healthy.top_minus_bottom > 0
    assert len(healthy.table) == 10 and healthy.table["n"].sum() == 3000
    broken = decile_monotonicity(hpi, rng.normal(0, 1, 3000))  # the proxy no longer explains
    assert broken.alarm
    u_shaped = decile_monotonicity(hpi, hpi**2 + rng.normal(0, 0.1, 3000))
    assert u_shaped.alarm
    strict = decile_monotonicity(hpi, 0.05 * hpi + rng.normal(0, 0.01, 3000), min_spread_bps=1.0)
    assert strict.alarm and strict.spearman > 0.9
    with pytest.raises(ValueError, match="n_bins"):
        decile_monotonicity(hpi, hpi, n_bins=2)


@pytest.mark.parametrize("method", ["psi", "ks"])
def test_feature_drift_flags_the_shifted_feature(method):
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"gex": rng.normal(0, 1, 4000), "spread": rng.exponential(1, 4000)})
    cur = pd.DataFrame({"gex": rng.normal(1.0, 1, 4000), "spread": rng.exponential(1, 4000)})
    table = feature_drift(ref, cur, method=method).set_index("feature")
    assert table.loc["gex", "alarm"] and not table.loc["spread", "alarm"]
    assert table.loc["gex", "statistic"] > 5 * table.loc["spread", "statistic"]
    loose = feature_drift(ref, cur, method=method, threshold=1e3)
    assert not loose["alarm"].any()


def test_feature_drift_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        feature_drift({"a": [1.0]}, {"a": [1.0]}, method="chi2")
    with pytest.raises(ValueError, match="no feature"):
        feature_drift({"a": [1.0]}, {"b": [1.0]})
