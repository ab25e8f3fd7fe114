"""The HPI study's models: the child dataset, the own-impact and hedge-flow cost terms, the
two-layer slippage model with its out-of-sample validation, and feature drift.

Costs and slippage are bps of the arrival mid, + = cost; ``study_time`` orders children across
sessions (session index x 23,400 s + decision time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.desk import NO_EXPIRY_SECONDS
from experiments.hpi_study.config import HPIStudyConfig
from market.execution.costs import fit_hedge_term
from market.execution.slippage_model import (
    DEFAULT_QUANTILES,
    HedgeFeatureSpec,
    TwoLayerQuantileModel,
    calibration_table,
    compare_models,
    decile_monotonicity,
    event_class_holdout,
    feature_drift,
    pinball_loss,
    rolling_time_splits,
)

#: Layer A's columns in the child dataset (see agents.desk.desk.ExecutionDesk)
BASELINE_FEATURES = (
    "spread_bps",
    "depth",
    "imbalance",
    "volatility",
    "participation",
    "latency_ms",
)

#: features watched for drift; the gamma proxy first
DRIFT_FEATURES = (
    "raw_gamma_pressure",
    "observer_gex_near",
    "raw_spot_velocity",
    "raw_expiry_proximity",
    "raw_book_stress",
    "spread_bps",
    "volatility",
    "hpi",
)

#: the two-layer model's variants compared in validation (Layer A alone, and with Layer B)
MODEL_NAMES = ("baseline", "baseline+hedge")


def child_dataset(children: pd.DataFrame) -> pd.DataFrame:
    """Filled children with ``study_time`` (session index * 23,400 + decision time, the order of
    the rolling splits) and a finite ``seconds_to_expiry`` (see :data:`NO_EXPIRY_SECONDS`)."""
    data = children[children["filled"] > 0].copy()
    data["study_time"] = data["session"] * 23_400.0 + data["decision_time"]
    tte = data["seconds_to_expiry"].to_numpy(dtype=float)
    data["seconds_to_expiry"] = np.where(np.isfinite(tte), tte, NO_EXPIRY_SECONDS)
    keep = np.isfinite(
        data[
            ["slippage_bps", *BASELINE_FEATURES, "hpi", "hpi_slope", "urgency", "queue_fragility"]
        ].to_numpy(dtype=float)
    ).all(axis=1)
    return data[keep].reset_index(drop=True)


def expiry_edges(tte: np.ndarray, edges, min_share: float) -> tuple[float, ...]:
    """The configured bucket edges, dropping each edge whose bucket would be empty or hold fewer
    than ``min_share`` of the rows (Layer B needs every bucket column to be non-empty)."""
    kept = list(edges)
    changed = True
    while changed and kept:
        changed = False
        counts = np.bincount(np.searchsorted(kept, tte, side="right"), minlength=len(kept) + 1)
        share = counts / max(tte.size, 1)
        for b in range(len(kept) + 1):
            if counts[b] == 0 or share[b] < min_share:
                # merge bucket b into a neighbour by removing the edge that bounds it
                kept.pop(min(b, len(kept) - 1))
                changed = True
                break
    return tuple(kept)  # empty: one bucket, so Layer B has no time-to-expiry terms


def fit_cost_terms(data: pd.DataFrame) -> dict:
    """Own-impact OLS ``drift = a + b sqrt(participation)`` and the hedge-flow fit on the rest.

    ``data`` holds the filled children with ``cost_perm`` (the permanent drift, bps, of a plain
    decomposition), ``participation``, ``hpi``, ``volatility`` and ``queue_fragility``.
    """
    drift = data["cost_perm"].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(data)), np.sqrt(data["participation"].to_numpy(float))])
    coef, *_ = np.linalg.lstsq(X, drift, rcond=None)
    own = X @ coef
    fit = fit_hedge_term(data["hpi"], data["volatility"], data["queue_fragility"], drift - own)
    return {"own_impact": coef, "hedge": fit}


def own_impact(coef: np.ndarray, participation) -> np.ndarray:
    """The own-impact model's permanent impact (bps) for each child's participation."""
    return coef[0] + coef[1] * np.sqrt(np.asarray(participation, dtype=float))


def fit_two_layer(study: HPIStudyConfig, train: pd.DataFrame, y) -> TwoLayerQuantileModel:
    """The two-layer model fitted on ``train``: Layer A on the baseline features that vary in
    it (a constant one, e.g. latency in a coarse-stepped run, would make the design singular),
    Layer B with the time-to-expiry buckets the training rows populate."""
    features = tuple(f for f in BASELINE_FEATURES if np.ptp(train[f].to_numpy(float)) > 0)
    edges = expiry_edges(
        train["seconds_to_expiry"].to_numpy(float),
        study.expiry_bucket_edges,
        study.min_bucket_share,
    )
    return TwoLayerQuantileModel(
        baseline_features=features, hedge=HedgeFeatureSpec(expiry_bucket_edges=edges)
    ).fit(train, y)


def _rolling_validation(
    study: HPIStudyConfig, data: pd.DataFrame, y: np.ndarray
) -> tuple[dict, list[dict]]:
    """Out-of-sample quantile predictions of each model on the rolling time splits (NaN where a
    row is never tested) and one pinball/coverage row per (split, model, quantile)."""
    quantiles = DEFAULT_QUANTILES
    oos = {m: {q: np.full(len(data), np.nan) for q in quantiles} for m in MODEL_NAMES}
    split_rows = []
    splits = rolling_time_splits(data["study_time"].to_numpy(float), study.n_splits)
    for k, (train, test) in enumerate(splits):
        model = fit_two_layer(study, data.iloc[train], y[train])
        preds = model.predictions_by_model(data.iloc[test])
        for m in MODEL_NAMES:
            for q in quantiles:
                oos[m][q][test] = preds[m][q]
                split_rows.append(
                    {
                        "split": k,
                        "model": m,
                        "quantile": q,
                        "n_train": train.size,
                        "n_test": test.size,
                        "pinball": pinball_loss(y[test], preds[m][q], q),
                        "observed": float(np.mean(y[test] <= preds[m][q])),
                    }
                )
    return oos, split_rows


def _event_class_holdouts(study: HPIStudyConfig, data: pd.DataFrame, y: np.ndarray) -> list[dict]:
    """One row per (held-out event class, model, quantile): each non-calm class predicted by a
    model fitted on all the other rows."""
    holdouts = []
    classes = data["event_class"].to_numpy(object)
    for held in sorted(set(classes) - {"calm"}):
        train, test = event_class_holdout(classes, held)
        model = fit_two_layer(study, data.iloc[train], y[train])
        preds = model.predictions_by_model(data.iloc[test])
        for m in MODEL_NAMES:
            for q in DEFAULT_QUANTILES:
                holdouts.append(
                    {
                        "holdout": held,
                        "model": m,
                        "quantile": q,
                        "n_test": test.size,
                        "pinball": pinball_loss(y[test], preds[m][q], q),
                        "observed": float(np.mean(y[test] <= preds[m][q])),
                        "error": float(np.mean(y[test] <= preds[m][q])) - q,
                    }
                )
    return holdouts


def _coefficient_rows(full: TwoLayerQuantileModel) -> list[dict]:
    """The fitted model's coefficients, one row per (quantile, layer, feature)."""
    coefs = []
    for q in DEFAULT_QUANTILES:
        for name, value in zip(
            ("intercept", *full.baseline_features), full.baseline_coef_[q], strict=True
        ):
            coefs.append({"layer": "A", "quantile": q, "feature": name, "coef": float(value)})
        for name, value in zip(
            ("intercept", *full.hedge.feature_names()), full.hedge_coef_[q], strict=True
        ):
            coefs.append({"layer": "B", "quantile": q, "feature": name, "coef": float(value)})
    return coefs


def model_validation(study: HPIStudyConfig, data: pd.DataFrame) -> dict:
    """Rolling-split and holdout validation of the two-layer model on the child dataset."""
    y = data["slippage_bps"].to_numpy(float)
    quantiles = DEFAULT_QUANTILES
    oos, split_rows = _rolling_validation(study, data, y)
    tested = np.isfinite(oos["baseline"][quantiles[0]])
    y_t = y[tested]
    oos_t = {m: {q: oos[m][q][tested] for q in quantiles} for m in MODEL_NAMES}
    calib = pd.concat(
        [calibration_table(y_t, oos_t[m]).assign(model=m) for m in MODEL_NAMES], ignore_index=True
    )
    comparison = compare_models(y_t, oos_t)
    holdouts = _event_class_holdouts(study, data, y)
    full = fit_two_layer(study, data, y)
    coefs = _coefficient_rows(full)
    residual = y_t - oos_t["baseline"][0.5]
    mono = decile_monotonicity(
        data["hpi"].to_numpy(float)[tested],
        residual,
        n_bins=study.decile_bins,
        min_spearman=study.min_spearman,
    )
    return {
        "spec": full.hedge,
        "calibration": calib,
        "comparison": comparison,
        "splits": pd.DataFrame(split_rows),
        "holdouts": pd.DataFrame(holdouts),
        "coefficients": pd.DataFrame(coefs),
        "monotonicity": mono,
        "model": full,
        "tested": tested,
        "oos": oos,
    }


def drift_table(study: HPIStudyConfig, data: pd.DataFrame) -> pd.DataFrame:
    """Feature drift of each event class (and of the later half of the sessions) against calm
    (against the earlier half); one row per (window, feature)."""
    feats = [f for f in DRIFT_FEATURES if f in data.columns]
    rows = []
    ref = (
        data[data["event_class"] == "calm"][feats]
        if "calm" in set(data["event_class"])
        else data[feats]
    )
    kw = {"method": study.drift_method, "threshold": study.drift_threshold}
    for cls in sorted(set(data["event_class"]) - {"calm"}):
        cur = data[data["event_class"] == cls][feats]
        if len(cur) and len(ref):
            rows.append(feature_drift(ref, cur, **kw).assign(window=f"{cls} vs calm"))
    half = data["session"].median()
    early, late = data[data["session"] <= half][feats], data[data["session"] > half][feats]
    if len(early) and len(late):
        rows.append(feature_drift(early, late, **kw).assign(window="later vs earlier sessions"))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
