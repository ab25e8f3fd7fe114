"""Two-layer slippage quantile model (baseline + hedge-flow residual) and its validation.

Slippage ``y`` is in bps of the arrival mid, + = cost (see :mod:`market.execution.costs`). For
each quantile level ``tau``:

- Layer A (baseline microstructure): ``A_tau(X) = x' a_tau``, a linear quantile regression of
  ``y`` on book and order features (spread, depth, imbalance, volatility, participation, latency).
- Layer B (hedge-flow residual): ``B_tau(H) = h' b_tau``, a linear quantile regression of the
  residual ``y - A_tau(X)`` on Hedge Pressure Index features: HPI level, HPI slope,
  HPI x urgency, HPI x queue fragility and HPI x time-to-expiry bucket dummies.
- Final: ``Q_tau(y) = A_tau(X) + B_tau(H)``; Layer B can be switched off (``use_hedge=False``),
  which is the rollback path if the HPI proxy degrades.

Quantile regressions are solved exactly as linear programs (the bounded dual of the check-loss
problem, HiGHS). Validation helpers cover time-ordered splits, event-class holdouts, calibration,
CVaR drift, model comparison, HPI decile monotonicity and feature drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from market.execution.costs import cvar

FloatArray = NDArray[np.float64]

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95)
DEFAULT_BASELINE_FEATURES: tuple[str, ...] = (
    "spread_bps",
    "depth",
    "imbalance",
    "volatility",
    "participation",
    "latency_ms",
)


def _finite_1d(name: str, value: ArrayLike) -> FloatArray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers")
    return arr


def _quantile_level(name: str, tau: float) -> float:
    level = float(tau)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {level!r}")
    return level


def pinball_loss(y: ArrayLike, prediction: ArrayLike, tau: float) -> float:
    """Mean check (pinball) loss ``mean(max(tau (y - q), (tau - 1) (y - q)))``; lower = better."""
    tau = _quantile_level("tau", tau)
    y = _finite_1d("y", y)
    q = np.broadcast_to(np.asarray(prediction, dtype=float), y.shape)
    if not np.all(np.isfinite(q)):
        raise ValueError("prediction must be finite numbers")
    u = y - q
    return float(np.mean(np.maximum(tau * u, (tau - 1.0) * u)))


def fit_linear_quantile(X: ArrayLike, y: ArrayLike, tau: float) -> FloatArray:
    """Coefficients of the linear ``tau``-quantile regression of ``y`` on the columns of ``X``.

    Solves ``min_b sum rho_tau(y - X b)`` through its dual, ``max_a y'a`` subject to
    ``X'a = (1 - tau) X'1`` and ``0 <= a <= 1`` (Koenker and Bassett), whose equality-constraint
    multipliers are ``b``. The dual has one bounded variable per row and one constraint per column,
    which HiGHS solves far faster than the primal. Columns are standardised internally (and the
    coefficients mapped back) so the solver's tolerances mean the same for every feature. ``X``
    must contain its own intercept column if one is wanted; without one, columns are only scaled.
    """
    tau = _quantile_level("tau", tau)
    X = np.asarray(X, dtype=float)
    y = _finite_1d("y", y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be 2-D with one row per y, got {X.shape} for {y.shape[0]} rows")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite numbers")
    n, p = X.shape
    if n <= p:
        raise ValueError(f"need more rows than columns, got {n} rows and {p} columns")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("X is rank deficient: some feature columns are collinear or constant")
    centre = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = scale <= 1e-12 * np.maximum(1.0, np.abs(centre))
    has_intercept = bool(constant.any())
    # Centring needs a constant column to absorb the shift; constant columns are only rescaled.
    centre = np.where(constant | (not has_intercept), 0.0, centre)
    scale = np.where(constant, np.abs(X[0]), scale)
    scale = np.where(scale > 0, scale, 1.0)
    Z = (X - centre) / scale
    y_scale = float(np.std(y)) or 1.0
    res = optimize.linprog(
        -y / y_scale, A_eq=Z.T, b_eq=(1.0 - tau) * Z.sum(axis=0), bounds=(0.0, 1.0), method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"quantile regression (tau={tau}) failed: {res.message}")
    beta_z = -res.eqlin.marginals * y_scale
    beta = beta_z / scale
    if has_intercept:
        # Undo the centring: a constant column absorbs -sum(beta * centre).
        const_idx = int(np.flatnonzero(constant)[0])
        beta[const_idx] -= float(beta @ centre) / X[0, const_idx]
    coefficients: FloatArray = beta
    return coefficients


@dataclass(frozen=True)
class HedgeFeatureSpec:
    """Column names of Layer B's inputs and the time-to-expiry buckets.

    Layer B's design: intercept, ``hpi``, ``hpi_slope``, ``hpi * urgency``,
    ``hpi * queue_fragility`` and ``hpi * 1[bucket k]`` for every time-to-expiry bucket but the
    first (the first, nearest expiry, is the reference, since the HPI level term covers it).
    ``expiry_bucket_edges`` are in trading seconds to expiry, increasing: the defaults split at
    one hour, one day (23,400 s) and one week (117,000 s).
    """

    hpi: str = "hpi"
    hpi_slope: str = "hpi_slope"
    urgency: str = "urgency"
    queue_fragility: str = "queue_fragility"
    seconds_to_expiry: str = "seconds_to_expiry"
    expiry_bucket_edges: tuple[float, ...] = (3600.0, 23_400.0, 117_000.0)

    def __post_init__(self) -> None:
        edges = np.asarray(self.expiry_bucket_edges, dtype=float)
        if (
            edges.ndim != 1
            or not np.all(np.isfinite(edges))
            or np.any(edges <= 0)
            or np.any(np.diff(edges) <= 0)
        ):
            raise ValueError(
                f"expiry_bucket_edges must be positive and strictly increasing, "
                f"got {self.expiry_bucket_edges!r}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns Layer B reads."""
        return (
            self.hpi,
            self.hpi_slope,
            self.urgency,
            self.queue_fragility,
            self.seconds_to_expiry,
        )

    def feature_names(self) -> list[str]:
        """Names of Layer B's design columns (after the intercept)."""
        names = ["hpi", "hpi_slope", "hpi_x_urgency", "hpi_x_queue_fragility"]
        edges = self.expiry_bucket_edges
        for k in range(1, len(edges) + 1):
            lo = edges[k - 1]
            hi = edges[k] if k < len(edges) else math.inf
            names.append(f"hpi_x_expiry_{lo:g}_{hi:g}s")
        return names

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """Layer B's design matrix (with a leading intercept column) from ``frame``."""
        cols = _columns(frame, self.columns)
        h, slope, urgency, fragility, tte = cols.T
        if np.any(tte < 0):
            raise ValueError(f"column {self.seconds_to_expiry!r} must be >= 0")
        bucket = np.searchsorted(np.asarray(self.expiry_bucket_edges), tte, side="right")
        parts = [np.ones_like(h), h, slope, h * urgency, h * fragility]
        parts += [h * (bucket == k) for k in range(1, len(self.expiry_bucket_edges) + 1)]
        return np.column_stack(parts)


def _columns(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame with named feature columns")
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"X is missing columns {missing}")
    values = frame.loc[:, list(names)].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        col = names[int(np.flatnonzero(bad.any(axis=0))[0])]
        raise ValueError(f"column {col!r} must be finite numbers")
    return values


@dataclass
class TwoLayerQuantileModel:
    """Baseline (Layer A) + hedge-residual (Layer B) linear quantile model of slippage bps.

    ``baseline_features``: Layer A's columns (an intercept is added). ``hedge``: Layer B's
    column names and buckets. ``quantiles``: levels fitted. ``rearrange``: sort each row's
    predictions across levels so quantiles never cross (Chernozhukov et al. rearrangement).
    Layer B is fitted on Layer A's in-sample residuals at the same level.
    """

    baseline_features: Sequence[str] = DEFAULT_BASELINE_FEATURES
    hedge: HedgeFeatureSpec = field(default_factory=HedgeFeatureSpec)
    quantiles: Sequence[float] = DEFAULT_QUANTILES
    rearrange: bool = True
    baseline_coef_: dict[float, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    hedge_coef_: dict[float, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.baseline_features = tuple(self.baseline_features)
        if not self.baseline_features:
            raise ValueError("baseline_features must name at least one column")
        qs = tuple(_quantile_level("quantiles", q) for q in self.quantiles)
        if not qs or len(set(qs)) != len(qs):
            raise ValueError(f"quantiles must be distinct levels in (0, 1), got {self.quantiles}")
        self.quantiles = tuple(sorted(qs))

    def _baseline_design(self, X: pd.DataFrame) -> np.ndarray:
        values = _columns(X, self.baseline_features)
        return np.column_stack([np.ones(len(values)), values])

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> TwoLayerQuantileModel:
        """Fit both layers at every level; ``y`` in bps (+ = cost), one per row of ``X``."""
        y = _finite_1d("y", y)
        if len(X) != y.size:
            raise ValueError(f"X has {len(X)} rows but y has {y.size}")
        A = self._baseline_design(X)
        B = self.hedge.design(X)
        baseline, hedge = {}, {}
        for tau in self.quantiles:
            baseline[tau] = fit_linear_quantile(A, y, tau)
            hedge[tau] = fit_linear_quantile(B, y - A @ baseline[tau], tau)
        self.baseline_coef_, self.hedge_coef_ = baseline, hedge
        return self

    def _check_fitted(self) -> None:
        if not self.baseline_coef_:
            raise RuntimeError("the model is not fitted; call fit(X, y) first")

    def predict_all(self, X: pd.DataFrame, use_hedge: bool = True) -> dict[float, np.ndarray]:
        """Predicted quantiles (bps) at every fitted level: ``{tau: A_tau + B_tau}``."""
        self._check_fitted()
        A = self._baseline_design(X)
        preds = np.column_stack([A @ self.baseline_coef_[tau] for tau in self.quantiles])
        if use_hedge:
            B = self.hedge.design(X)
            preds = preds + np.column_stack([B @ self.hedge_coef_[tau] for tau in self.quantiles])
        if self.rearrange:
            preds = np.sort(preds, axis=1)
        return {tau: preds[:, i] for i, tau in enumerate(self.quantiles)}

    def predict(self, X: pd.DataFrame, quantile: float, use_hedge: bool = True) -> np.ndarray:
        """Predicted ``quantile`` of slippage (bps); ``use_hedge=False`` gives Layer A alone."""
        quantile = float(quantile)
        if quantile not in self.quantiles:
            raise ValueError(
                f"quantile must be one of the fitted levels {self.quantiles}, got {quantile}"
            )
        return self.predict_all(X, use_hedge=use_hedge)[quantile]

    def hedge_contribution(self, X: pd.DataFrame, quantile: float) -> np.ndarray:
        """Layer B alone, ``B_tau(H)`` in bps, before any rearrangement."""
        self._check_fitted()
        quantile = float(quantile)
        if quantile not in self.quantiles:
            raise ValueError(
                f"quantile must be one of the fitted levels {self.quantiles}, got {quantile}"
            )
        hedge_bps: np.ndarray = self.hedge.design(X) @ self.hedge_coef_[quantile]
        return hedge_bps

    def predictions_by_model(self, X: pd.DataFrame) -> dict[str, dict[float, np.ndarray]]:
        """Both variants for :func:`compare_models`: "baseline" and "baseline+hedge"."""
        return {
            "baseline": self.predict_all(X, use_hedge=False),
            "baseline+hedge": self.predict_all(X, use_hedge=True),
        }


def rolling_time_splits(
    times: ArrayLike,
    n_splits: int,
    *,
    min_train_fraction: float | None = None,
    gap_seconds: float = 0.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window, time-ordered train/test splits (no shuffling).

    The rows are ordered by time; the first ``min_train_fraction`` of them (default
    ``1 / (n_splits + 1)``) form the first training set and the rest is cut into ``n_splits``
    consecutive test blocks of equal count. Each split trains on everything before its test
    block, minus rows within ``gap_seconds`` of the block's first time (an embargo, for labels
    such as markouts that look ahead). Block edges move off tied times so every training time is
    strictly earlier than every test time; that is checked, and a violation raises. Returns
    ``[(train_index, test_index), ...]`` as positions into ``times``.
    """
    t = _finite_1d("times", times)
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"n_splits must be an integer >= 1, got {n_splits!r}")
    frac = 1.0 / (n_splits + 1) if min_train_fraction is None else float(min_train_fraction)
    if not 0.0 < frac < 1.0:
        raise ValueError(f"min_train_fraction must lie in (0, 1), got {min_train_fraction!r}")
    gap = float(gap_seconds)
    if not math.isfinite(gap) or gap < 0:
        raise ValueError(f"gap_seconds must be >= 0, got {gap_seconds!r}")
    order = np.argsort(t, kind="stable")
    ts = t[order]
    n = t.size
    first = round(frac * n)
    raw_edges = np.linspace(first, n, n_splits + 1).round().astype(int)
    # Snap each edge to the first row of its time, so equal times never straddle an edge.
    edges = np.searchsorted(ts, ts[np.minimum(raw_edges, n - 1)], side="left")
    edges[-1] = n
    splits = []
    for k in range(n_splits):
        lo, hi = int(edges[k]), int(edges[k + 1])
        if lo <= 0 or hi <= lo:
            raise ValueError(
                f"not enough distinct times for {n_splits} splits with "
                f"min_train_fraction={frac:g} ({n} rows)"
            )
        test_start = ts[lo]
        train = order[:lo][ts[:lo] < test_start - gap] if gap > 0 else order[:lo]
        test = order[lo:hi]
        if train.size == 0:
            raise ValueError(
                f"split {k} has no training rows before its test block "
                f"(gap_seconds={gap:g} too large?)"
            )
        if not t[train].max() < t[test].min():
            raise RuntimeError(f"split {k} leaks: a training time is not before every test time")
        splits.append((train, test))
    return splits


def event_class_holdout(
    classes: ArrayLike, holdout: str | Sequence[str] | set[str] | frozenset[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole event classes: train on rows whose class is not in ``holdout``.

    ``classes`` is one label per row (e.g. "calm", "expiry", "macro", "earnings"); ``holdout`` a
    label or a collection of labels, each of which must occur. Returns ``(train_index,
    test_index)`` positions; the test set holds exactly the held-out classes.
    """
    labels = np.asarray(classes, dtype=object)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError("classes must be a non-empty 1-D sequence of labels")
    if isinstance(holdout, str) or not isinstance(holdout, (Sequence, set, frozenset, np.ndarray)):
        held = {holdout}
    else:
        held = set(np.asarray(holdout, dtype=object).tolist())
    if not held:
        raise ValueError("holdout must name at least one class")
    present = set(labels.tolist())
    unknown = held - present
    if unknown:
        raise ValueError(
            f"holdout classes {sorted(map(str, unknown))} do not occur; present: "
            f"{sorted(map(str, present))}"
        )
    if present <= held:
        raise ValueError("holdout covers every class: nothing is left to train on")
    is_test = np.array([label in held for label in labels.tolist()])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def calibration_table(
    y: ArrayLike, predictions_by_quantile: Mapping[float, np.ndarray]
) -> pd.DataFrame:
    """Share of outcomes at or below each predicted quantile, against its nominal level.

    One row per level: ``quantile`` (nominal), ``observed`` (share of ``y <= prediction``),
    ``error`` (observed - nominal; + = the prediction is too high, i.e. conservative) and ``n``.
    """
    y = _finite_1d("y", y)
    if y.size == 0:
        raise ValueError("y must hold at least one outcome")
    rows = []
    for tau, pred in sorted(predictions_by_quantile.items()):
        tau = _quantile_level("quantile", tau)
        q = np.broadcast_to(np.asarray(pred, dtype=float), y.shape)
        if not np.all(np.isfinite(q)):
            raise ValueError(f"predictions for quantile {tau} must be finite numbers")
        observed = float(np.mean(y <= q))
        rows.append(
            {"quantile": tau, "observed": observed, "error": observed - tau, "n": int(y.size)}
        )
    return pd.DataFrame(rows, columns=["quantile", "observed", "error", "n"])


def cvar95(x: ArrayLike) -> float:
    """CVaR at 95% of costs (bps, + = cost): the mean of the worst 5% (see
    :func:`market.execution.costs.cvar`)."""
    return cvar(x, 0.95)


def cvar_drift(
    times: ArrayLike, costs: ArrayLike, n_windows: int = 5, *, level: float = 0.95
) -> pd.DataFrame:
    """CVaR of costs over consecutive time windows of equal row count, and its drift.

    One row per window: ``start``, ``end`` (times), ``n``, ``var`` (the ``level`` quantile) and
    ``cvar`` (mean beyond it; both bps), and ``drift`` = cvar - the first window's cvar. A tail
    that grows over time (a degrading model or a changing regime) shows as a rising drift.
    """
    t = _finite_1d("times", times)
    c = _finite_1d("costs", costs)
    if t.shape != c.shape:
        raise ValueError(f"times and costs must have equal length, got {t.size} and {c.size}")
    if (
        isinstance(n_windows, bool)
        or not isinstance(n_windows, (int, np.integer))
        or not 1 <= n_windows <= t.size
    ):
        raise ValueError(f"n_windows must be an integer in [1, {t.size}], got {n_windows!r}")
    order = np.argsort(t, kind="stable")
    rows = []
    for block in np.array_split(order, n_windows):
        rows.append(
            {
                "start": float(t[block].min()),
                "end": float(t[block].max()),
                "n": int(block.size),
                "var": float(np.quantile(c[block], level)),
                "cvar": cvar(c[block], level),
            }
        )
    frame = pd.DataFrame(rows)
    frame["drift"] = frame["cvar"] - frame["cvar"].iloc[0]
    return frame


def compare_models(
    y: ArrayLike,
    predictions: Mapping[str, Mapping[float, np.ndarray]],
    *,
    tail_quantile: float = 0.95,
    tail_bucket_share: float = 0.1,
) -> pd.DataFrame:
    """Tidy comparison of models' quantile predictions on the same outcomes.

    ``predictions`` maps a model name (e.g. "baseline", "baseline+hedge") to ``{tau: array}``.
    Rows ``(model, quantile, metric, value)`` with metrics:

    - ``pinball``: mean pinball loss at that level (lower = better);
    - ``calibration_error``: ``|observed share below - tau|``;
    - ``tail_bucket_cvar95`` (at ``tail_quantile`` only): CVaR95 of the realised costs in the
      ``tail_bucket_share`` of rows the model ranks highest by its predicted ``tail_quantile``;
      a model that sees the tail coming puts the worst outcomes there (higher = sharper);
    - ``tail_bucket_exceedance`` (idem): share of those rows whose cost exceeds the prediction
      (should be near ``1 - tail_quantile``).
    """
    y = _finite_1d("y", y)
    tail_quantile = _quantile_level("tail_quantile", tail_quantile)
    share = float(tail_bucket_share)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"tail_bucket_share must lie in (0, 1], got {tail_bucket_share!r}")
    rows = []
    for model, by_tau in predictions.items():
        table = calibration_table(y, by_tau)
        for tau, pred in sorted(by_tau.items()):
            tau = float(tau)
            rows.append((model, tau, "pinball", pinball_loss(y, pred, tau)))
            err = float(table.loc[table["quantile"] == tau, "error"].iloc[0])
            rows.append((model, tau, "calibration_error", abs(err)))
            if tau == tail_quantile:
                pred = np.broadcast_to(np.asarray(pred, dtype=float), y.shape)
                k = max(1, round(share * y.size))
                top = np.argsort(pred, kind="stable")[-k:]
                rows.append((model, tau, "tail_bucket_cvar95", cvar(y[top], 0.95)))
                rows.append(
                    (model, tau, "tail_bucket_exceedance", float(np.mean(y[top] > pred[top])))
                )
    return pd.DataFrame(rows, columns=["model", "quantile", "metric", "value"])


@dataclass(frozen=True)
class DecileMonotonicity:
    """Slippage residual by HPI decile and the monotonicity alarm.

    ``table``: per bin ``bin``, ``hpi_mean``, ``residual_mean``, ``n``. ``spearman``: rank
    correlation between bin order and the bins' mean residuals. ``sample_spearman``: rank
    correlation of the raw (hpi, residual) pairs. ``top_minus_bottom``: last bin's mean residual
    minus the first's (bps). ``alarm``: True when ``spearman < min_spearman`` or
    ``top_minus_bottom <= min_spread_bps``, i.e. more pressure no longer means more residual cost.
    """

    table: pd.DataFrame
    spearman: float
    sample_spearman: float
    top_minus_bottom: float
    alarm: bool


def decile_monotonicity(
    hpi: ArrayLike,
    residual: ArrayLike,
    *,
    n_bins: int = 10,
    min_spearman: float = 0.7,
    min_spread_bps: float = 0.0,
) -> DecileMonotonicity:
    """Check that slippage residuals rise with HPI across its quantile bins (deciles by default).

    If the proxy works, the residual left by the baseline model rises with HPI bin by bin; when
    that monotonicity disappears, the proxy has likely degraded (a stale option-chain feed, a
    changed dealer sign convention). Rule: alarm when the Spearman correlation of bin order vs bin
    mean residual is below ``min_spearman``, or when the top bin's mean residual does not exceed
    the bottom bin's by more than ``min_spread_bps``.
    """
    h = _finite_1d("hpi", hpi)
    r = _finite_1d("residual", residual)
    if h.shape != r.shape:
        raise ValueError(f"hpi and residual must have equal length, got {h.size} and {r.size}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 3:
        raise ValueError(f"n_bins must be an integer >= 3, got {n_bins!r}")
    if h.size < 2 * n_bins:
        raise ValueError(f"need at least {2 * n_bins} observations for {n_bins} bins, got {h.size}")
    min_spearman = float(min_spearman)
    if not -1.0 <= min_spearman <= 1.0:
        raise ValueError(f"min_spearman must lie in [-1, 1], got {min_spearman!r}")
    # Ranks rather than value cut points, so heavy ties (a flat HPI) still give equal-count bins.
    ranks = stats.rankdata(h, method="ordinal") - 1
    bins = ranks * n_bins // h.size
    frame = pd.DataFrame({"bin": bins, "hpi": h, "residual": r})
    table = (
        frame.groupby("bin", sort=True)
        .agg(hpi_mean=("hpi", "mean"), residual_mean=("residual", "mean"), n=("residual", "size"))
        .reset_index()
    )
    rho = float(stats.spearmanr(table["bin"], table["residual_mean"]).statistic)
    sample_rho = float(stats.spearmanr(h, r).statistic)
    spread = float(table["residual_mean"].iloc[-1] - table["residual_mean"].iloc[0])
    rho = 0.0 if math.isnan(rho) else rho
    sample_rho = 0.0 if math.isnan(sample_rho) else sample_rho
    alarm = rho < min_spearman or spread <= float(min_spread_bps)
    return DecileMonotonicity(
        table=table,
        spearman=rho,
        sample_spearman=sample_rho,
        top_minus_bottom=spread,
        alarm=bool(alarm),
    )


def feature_drift(
    reference: pd.DataFrame | Mapping[str, ArrayLike],
    current: pd.DataFrame | Mapping[str, ArrayLike],
    *,
    method: str = "psi",
    n_bins: int = 10,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Distribution drift per feature between a reference window and the current one.

    ``reference`` and ``current`` are DataFrames (or mappings of name -> 1-D array); features are
    their common columns. ``method``:

    - "psi": population stability index over ``n_bins`` bins cut at the reference's quantiles,
      ``sum (c - r) ln(c / r)`` with shares floored at 1e-4; alarm default 0.25 (a common rule:
      < 0.1 stable, 0.1-0.25 moderate, > 0.25 shifted).
    - "ks": two-sample Kolmogorov-Smirnov statistic; alarm default 0.1.

    Returns one row per feature: ``feature``, ``statistic``, ``alarm``.
    """
    if method not in ("psi", "ks"):
        raise ValueError(f"method must be 'psi' or 'ks', got {method!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    limit = (0.25 if method == "psi" else 0.1) if threshold is None else float(threshold)
    if not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    ref = pd.DataFrame(reference) if not isinstance(reference, pd.DataFrame) else reference
    cur = pd.DataFrame(current) if not isinstance(current, pd.DataFrame) else current
    features = [c for c in ref.columns if c in cur.columns]
    if not features:
        raise ValueError("reference and current share no feature columns")
    rows = []
    for name in features:
        r = _finite_1d(f"reference[{name!r}]", ref[name].to_numpy(dtype=float))
        c = _finite_1d(f"current[{name!r}]", cur[name].to_numpy(dtype=float))
        if r.size == 0 or c.size == 0:
            raise ValueError(f"feature {name!r} needs observations in both windows")
        statistic = float(stats.ks_2samp(r, c).statistic) if method == "ks" else _psi(r, c, n_bins)
        rows.append({"feature": name, "statistic": statistic, "alarm": statistic > limit})
    return pd.DataFrame(rows, columns=["feature", "statistic", "alarm"])


def _psi(reference: np.ndarray, current: np.ndarray, n_bins: int) -> float:
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1]))
    r_share = (
        np.bincount(np.searchsorted(inner, reference, side="right"), minlength=inner.size + 1)
        / reference.size
    )
    c_share = (
        np.bincount(np.searchsorted(inner, current, side="right"), minlength=inner.size + 1)
        / current.size
    )
    r_share = np.maximum(r_share, 1e-4)
    c_share = np.maximum(c_share, 1e-4)
    return float(np.sum((c_share - r_share) * np.log(c_share / r_share)))
