"""Execution cost measurement: implementation shortfall, its decomposition, markouts, CVaR.

Conventions, used by every function here:

- Side: +1 buy, -1 sell.
- Costs are in basis points of the **arrival mid** (the parent order's decision mid ``M0``), and
  positive = a cost to the trader. Per-child figures are per share filled; parent figures are per
  share of the parent's *target* quantity, so child figures weighted by ``fill_qty / target_qty``
  plus the opportunity cost of the unfilled part add up to the parent's shortfall.
- Prices are currency units; quantities shares; times seconds on the simulation clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from market.validation import check_array

BPS = 1e4

COST_COMPONENTS: tuple[str, ...] = ("delay", "spread", "temp", "perm", "hedge", "residual")

FloatArray = NDArray[np.float64]
AnyArray = NDArray[Any]  # arrays numpy's stubs give no precise dtype (broadcasts, stacks)


def _finite(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float array of finite numbers (else a ValueError naming ``name``)."""
    return check_array(name, value)


def _side(value: ArrayLike) -> FloatArray:
    side = _finite("side", value)
    if not np.all(np.isin(side, (-1.0, 1.0))):
        raise ValueError(f"side must be +1 (buy) or -1 (sell), got {value!r}")
    return side


def _positive_array(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float array of finite numbers > 0 (else a ValueError naming ``name``)."""
    return check_array(name, value, 0.0, lo_open=True)


@dataclass(frozen=True)
class Shortfall:
    """Implementation shortfall of one parent order, in bps of the arrival mid (+ = cost).

    ``total_bps = executed_bps + opportunity_bps``; ``fill_rate`` = filled / target in [0, 1];
    ``vwap`` is NaN when nothing filled.
    """

    total_bps: float
    executed_bps: float
    opportunity_bps: float
    filled_qty: float
    fill_rate: float
    vwap: float


def implementation_shortfall(
    side: int,
    arrival_mid: float,
    fill_prices: ArrayLike,
    fill_qtys: ArrayLike,
    target_qty: float,
    final_mid: float | None = None,
) -> Shortfall:
    """Perold's implementation shortfall of a parent order.

    ``executed_bps   = 1e4 * side * sum_i q_i (p_i - M0) / (Q * M0)``
    ``opportunity_bps = 1e4 * side * (Q - sum_i q_i) (M_final - M0) / (Q * M0)``

    with ``M0`` the arrival mid, ``Q`` the target quantity and ``M_final`` the mark for the unfilled
    remainder (the mid at the end of the horizon, or the close). Both parts are normalised by the
    *target*, so a half-filled order at zero slippage whose price ran away still shows the cost
    of what it failed to buy. ``final_mid`` may be omitted only when the order is fully filled.
    """
    s = float(_side(side))
    m0 = float(_positive_array("arrival_mid", arrival_mid))
    prices = np.atleast_1d(_positive_array("fill_prices", fill_prices))
    qtys = np.atleast_1d(_finite("fill_qtys", fill_qtys))
    if prices.ndim != 1 or prices.shape != qtys.shape:
        raise ValueError(
            f"fill_prices and fill_qtys must be 1-D of equal length, got "
            f"{prices.shape} and {qtys.shape}"
        )
    if np.any(qtys < 0):
        raise ValueError("fill_qtys must be >= 0")
    target = float(_positive_array("target_qty", target_qty))
    filled = float(qtys.sum())
    if filled > target * (1 + 1e-12):
        raise ValueError(f"fill_qtys sum to {filled}, more than target_qty={target}")
    unfilled = max(target - filled, 0.0)
    if final_mid is None:
        if unfilled > 0:
            raise ValueError("final_mid is required when the order is not fully filled")
        opportunity = 0.0
    else:
        m_final = float(_positive_array("final_mid", final_mid))
        opportunity = BPS * s * unfilled * (m_final - m0) / (target * m0)
    executed = BPS * s * float(qtys @ (prices - m0)) / (target * m0)
    vwap = float(qtys @ prices / filled) if filled > 0 else math.nan
    return Shortfall(
        total_bps=executed + opportunity,
        executed_bps=executed,
        opportunity_bps=opportunity,
        filled_qty=filled,
        fill_rate=filled / target,
        vwap=vwap,
    )


@dataclass(frozen=True)
class HedgeTermFit:
    """Least-squares fit of ``C_hedge = b1 HPI + b2 HPI*VolState + b3 HPI*QueueFragility``.

    ``betas`` and ``std_errors`` are in bps per unit of each regressor (order b1, b2, b3);
    ``intercept`` (with ``intercept_se``) is the mean residual cost not attributed to hedging
    pressure and is *not* part of the hedge term. ``r_squared`` of the whole regression.
    """

    betas: FloatArray
    std_errors: FloatArray
    intercept: float
    intercept_se: float
    r_squared: float
    n: int

    def predict(
        self, hpi: ArrayLike, vol_state: ArrayLike, queue_fragility: ArrayLike
    ) -> float | FloatArray:
        """The hedge-flow term in bps (+ = cost) for the given regressors (broadcast)."""
        return hedge_term(self.betas, hpi, vol_state, queue_fragility)


def hedge_term(
    betas: HedgeTermFit | ArrayLike,
    hpi: ArrayLike,
    vol_state: ArrayLike,
    queue_fragility: ArrayLike,
) -> float | FloatArray:
    """``C_hedge = b1 HPI + b2 HPI*VolState + b3 HPI*QueueFragility`` in bps (broadcasts)."""
    b = _finite("betas", betas.betas if isinstance(betas, HedgeTermFit) else betas)
    if b.shape != (3,):
        raise ValueError(f"betas must be three numbers (b1, b2, b3), got {betas!r}")
    h = _finite("hpi", hpi)
    v = _finite("vol_state", vol_state)
    q = _finite("queue_fragility", queue_fragility)
    out = h * (b[0] + b[1] * v + b[2] * q)
    return float(out) if np.ndim(out) == 0 else out


def fit_hedge_term(
    hpi: ArrayLike,
    vol_state: ArrayLike,
    queue_fragility: ArrayLike,
    cost_residual: ArrayLike,
    *,
    fit_intercept: bool = True,
    robust: bool = True,
) -> HedgeTermFit:
    """Fit the hedge-flow betas by ordinary least squares.

    ``cost_residual`` (bps, + = cost) is the cost left after the microstructure parts, typically
    the permanent drift of :func:`decompose_costs` minus an own-impact model. ``fit_intercept``
    adds a constant so a non-zero mean residual is not forced onto ``b1``. ``robust`` reports
    heteroscedasticity-consistent (HC1) standard errors, which suit costs whose dispersion grows
    with pressure; otherwise the classical ones. A design whose columns are collinear (e.g. a
    constant ``vol_state``, making ``HPI*VolState`` proportional to ``HPI``) is refused.
    """
    h, v, q, y = _hedge_fit_inputs(hpi, vol_state, queue_fragility, cost_residual)
    X = _hedge_design(h, v, q, fit_intercept)
    n = X.shape[0]
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    se = _coef_std_errors(X, resid, robust)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 0.0
    k = 1 if fit_intercept else 0
    return HedgeTermFit(
        betas=coef[k:],
        std_errors=se[k:],
        intercept=float(coef[0]) if fit_intercept else 0.0,
        intercept_se=float(se[0]) if fit_intercept else 0.0,
        r_squared=r2,
        n=n,
    )


def _hedge_fit_inputs(
    hpi: ArrayLike, vol_state: ArrayLike, queue_fragility: ArrayLike, cost_residual: ArrayLike
) -> tuple[AnyArray, AnyArray, AnyArray, AnyArray]:
    """The regressors and the cost of :func:`fit_hedge_term`, checked, broadcast and flattened."""
    inputs = (
        _finite("hpi", hpi),
        _finite("vol_state", vol_state),
        _finite("queue_fragility", queue_fragility),
        _finite("cost_residual", cost_residual),
    )
    try:
        h, v, q, y = (np.atleast_1d(a).ravel() for a in np.broadcast_arrays(*inputs))
    except ValueError as exc:
        raise ValueError(
            "hpi, vol_state, queue_fragility and cost_residual must broadcast to one shape"
        ) from exc
    return h, v, q, y


def _hedge_design(h: AnyArray, v: AnyArray, q: AnyArray, fit_intercept: bool) -> AnyArray:
    """The design matrix ``[1,] HPI, HPI*VolState, HPI*QueueFragility``, refused when it cannot
    identify the coefficients (too few rows, or collinear columns)."""
    cols = [h, h * v, h * q]
    if fit_intercept:
        cols.insert(0, np.ones_like(h))
    X = np.column_stack(cols)
    n, p = X.shape
    if n <= p:
        raise ValueError(f"need more observations than coefficients ({p}), got {n}")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError(
            "the design [HPI, HPI*VolState, HPI*QueueFragility] is rank deficient: "
            "vol_state and queue_fragility must vary independently of each other "
            "and of a constant, and hpi must not be all zero"
        )
    return X


def _coef_std_errors(X: AnyArray, resid: AnyArray, robust: bool) -> FloatArray:
    """Standard errors of least-squares coefficients: HC1 when ``robust``, else classical."""
    n, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    if robust:
        meat = (X * resid[:, None] ** 2).T @ X
        cov = xtx_inv @ meat @ xtx_inv * n / (n - p)
    else:
        cov = xtx_inv * float(resid @ resid) / (n - p)
    se: FloatArray = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return se


@dataclass(frozen=True)
class CostDecomposition:
    """Result of :func:`decompose_costs`.

    ``children``: one row per child, columns ``qty`` and the per-share components of
    :data:`COST_COMPONENTS` plus ``total`` (bps of the arrival mid; rows sum exactly).
    ``parent``: ``None`` unless a target quantity was given; otherwise the target-weighted
    components and ``opportunity``, which add up to ``total`` (equal to
    :func:`implementation_shortfall`), and ``fill_rate`` (filled / target, not a cost).

    The components, per child, in the notation of :func:`decompose_costs` (every difference in
    bps of ``M0``, ``x_bps = 1e4 * x / M0``):

    - delay    = s (M_d - M0): drift between the parent's arrival and the child's decision;
    - spread   = (2a - 1) h: the half-spread paid against the decision mid (earned if passive);
    - temp     = s (P - M_a) - spread: the premium over the later mid beyond the half-spread,
                 i.e. impact that reverted;
    - drift    = s (M_a - M_d): the mid move from decision to after the child, which stayed;
    - hedge    = b1 H + b2 H V + b3 H Q (from ``betas``; 0 when none are given);
    - perm     = ``expected_perm_bps`` (an own-impact model's permanent impact) when given,
                 otherwise drift - hedge;
    - residual = drift - hedge - perm (identically 0 when ``expected_perm_bps`` is None).

    So ``delay + spread + temp + perm + hedge + residual = s (P - M0)``, the child's shortfall per
    share, by construction: the permanent drift is split into the part explained by hedging
    pressure, the own-impact part and the unexplained rest.
    """

    children: pd.DataFrame
    parent: dict[str, float] | None


def decompose_costs(
    side: ArrayLike,
    arrival_mid: float,
    decision_mid: ArrayLike,
    half_spread: ArrayLike,
    fill_price: ArrayLike,
    fill_qty: ArrayLike,
    mid_after: ArrayLike,
    *,
    aggressive_share: ArrayLike = 1.0,
    hpi: ArrayLike = 0.0,
    vol_state: ArrayLike = 0.0,
    queue_fragility: ArrayLike = 0.0,
    betas: HedgeTermFit | Sequence[float] | None = None,
    expected_perm_bps: ArrayLike | None = None,
    target_qty: float | None = None,
    final_mid: float | None = None,
) -> CostDecomposition:
    """Decompose child orders' costs (and their parent's) into additive parts.

    Per child (arguments are per child and broadcast over children): ``M0`` = ``arrival_mid``
    (the parent's arrival mid), ``M_d`` = ``decision_mid`` (mid when the child was decided),
    ``h`` = ``half_spread`` (quoted, at decision; currency), ``P`` = ``fill_price`` (the child's
    VWAP), ``M_a`` = ``mid_after`` (mid a short horizon after the child's last fill, once the
    transient part of its impact has reverted), ``a`` = ``aggressive_share`` (share of the
    child's quantity filled by crossing the spread; passive fills earn the half-spread), ``s`` =
    side, ``H``, ``V``, ``Q`` = ``hpi``, ``vol_state``, ``queue_fragility``. Each child's cost
    splits into delay, spread, temp, perm, hedge and residual (defined in
    :class:`CostDecomposition`), which add up to its shortfall per share ``s (P - M0)`` in bps.

    Parent (when ``target_qty`` is given): each component is summed over children weighted by
    ``fill_qty / target_qty``, and ``opportunity = (1 - filled / target) * s (M_final - M0)`` (bps)
    is added, ``M_final`` = ``final_mid`` (required unless fully filled); the parent's ``total``
    equals :func:`implementation_shortfall` of the same fills.
    """
    side_arr = _side(side)
    if side_arr.ndim:
        raise ValueError("side must be a scalar: one parent order has one side")
    s = float(side_arr)
    m0 = float(_positive_array("arrival_mid", arrival_mid))
    b = _child_arrays(
        decision_mid,
        half_spread,
        fill_price,
        fill_qty,
        mid_after,
        aggressive_share,
        hpi,
        vol_state,
        queue_fragility,
        expected_perm_bps,
    )
    target = _checked_target(b["fill_qty"], target_qty, final_mid)
    children = _child_components(s, m0, b, np.zeros(3) if betas is None else betas)
    parent = None
    if target is not None:
        parent = _parent_components(children, b["fill_qty"] / target, s, m0, final_mid)
    return CostDecomposition(children=children, parent=parent)


def _child_arrays(
    decision_mid: ArrayLike,
    half_spread: ArrayLike,
    fill_price: ArrayLike,
    fill_qty: ArrayLike,
    mid_after: ArrayLike,
    aggressive_share: ArrayLike,
    hpi: ArrayLike,
    vol_state: ArrayLike,
    queue_fragility: ArrayLike,
    expected_perm_bps: ArrayLike | None,
) -> dict[str, FloatArray]:
    """The per-child arguments of :func:`decompose_costs`, checked, broadcast and flattened."""
    arrays = {
        "decision_mid": _positive_array("decision_mid", decision_mid),
        "half_spread": _finite("half_spread", half_spread),
        "fill_price": _positive_array("fill_price", fill_price),
        "fill_qty": _positive_array("fill_qty", fill_qty),
        "mid_after": _positive_array("mid_after", mid_after),
        "aggressive_share": _finite("aggressive_share", aggressive_share),
        "hpi": _finite("hpi", hpi),
        "vol_state": _finite("vol_state", vol_state),
        "queue_fragility": _finite("queue_fragility", queue_fragility),
    }
    if np.any(arrays["half_spread"] < 0):
        raise ValueError("half_spread must be >= 0")
    a = arrays["aggressive_share"]
    if np.any((a < 0) | (a > 1)):
        raise ValueError(f"aggressive_share must lie in [0, 1], got {aggressive_share!r}")
    if expected_perm_bps is not None:
        arrays["expected_perm_bps"] = _finite("expected_perm_bps", expected_perm_bps)
    try:
        b = dict(zip(arrays, np.broadcast_arrays(*arrays.values()), strict=True))
    except ValueError as exc:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"per-child arguments must broadcast to one shape, got {shapes}") from exc
    return {k: np.atleast_1d(v).ravel() for k, v in b.items()}


def _checked_target(
    fill_qty: FloatArray, target_qty: float | None, final_mid: float | None
) -> float | None:
    """The parent's target quantity (None without one), checked against the fills."""
    if target_qty is None:
        if final_mid is not None:
            raise ValueError("final_mid marks a parent's unfilled remainder: give target_qty too")
        return None
    target = float(_positive_array("target_qty", target_qty))
    if fill_qty.sum() > target * (1 + 1e-12):
        raise ValueError(f"fill_qty sums to {fill_qty.sum()}, more than target_qty={target}")
    if final_mid is None and fill_qty.sum() < target:
        raise ValueError("final_mid is required when the parent is not fully filled")
    if final_mid is not None:
        _positive_array("final_mid", final_mid)
    return target


def _child_components(
    s: float, m0: float, b: dict[str, FloatArray], hedge_betas: HedgeTermFit | ArrayLike
) -> pd.DataFrame:
    """One row per child: ``qty``, the components of :data:`COST_COMPONENTS` and ``total``."""
    to_bps = BPS / m0
    delay = s * (b["decision_mid"] - m0) * to_bps
    spread = (2.0 * b["aggressive_share"] - 1.0) * b["half_spread"] * to_bps
    temp = s * (b["fill_price"] - b["mid_after"]) * to_bps - spread
    drift = s * (b["mid_after"] - b["decision_mid"]) * to_bps
    hedge = np.broadcast_to(
        hedge_term(hedge_betas, b["hpi"], b["vol_state"], b["queue_fragility"]), drift.shape
    )
    perm = b["expected_perm_bps"] if "expected_perm_bps" in b else drift - hedge
    residual = drift - hedge - perm
    children = pd.DataFrame(
        {
            "qty": b["fill_qty"],
            "delay": delay,
            "spread": spread,
            "temp": temp,
            "perm": perm,
            "hedge": hedge,
            "residual": residual,
        }
    )
    children["total"] = s * (b["fill_price"] - m0) * to_bps
    return children


def _parent_components(
    children: pd.DataFrame, weights: FloatArray, s: float, m0: float, final_mid: float | None
) -> dict[str, float]:
    """The target-weighted components, ``opportunity``, ``total`` and ``fill_rate``."""
    to_bps = BPS / m0
    parent = {k: float(weights @ children[k].to_numpy()) for k in COST_COMPONENTS}
    unfilled_share = max(1.0 - float(weights.sum()), 0.0)
    parent["opportunity"] = (
        0.0 if final_mid is None else unfilled_share * s * (float(final_mid) - m0) * to_bps
    )
    parent["total"] = float(sum(parent[k] for k in (*COST_COMPONENTS, "opportunity")))
    parent["fill_rate"] = float(weights.sum())
    return parent


def markouts(
    side: ArrayLike,
    fill_time: ArrayLike,
    fill_price: ArrayLike,
    times: ArrayLike,
    mids: ArrayLike,
    horizons: Sequence[float] = (5, 30, 120),
) -> FloatArray:
    """Markouts of fills at fixed horizons, in bps of the fill price; + = adverse to the trader.

    ``markout_h = 1e4 * side * (fill_price - mid(fill_time + h)) / fill_price``: positive when the
    fill looks bad in hindsight (a buyer paid more than the mid was ``h`` seconds later: adverse
    selection, or the trader's own impact reverting). ``mid(t)`` is the last observed mid at or
    before ``t`` (the tape is a step function); horizons that reach past the last observation give
    NaN. ``side``, ``fill_time`` and ``fill_price`` broadcast over fills; ``times`` (seconds,
    non-decreasing) and ``mids`` are the mid series. Returns shape ``fills + (len(horizons),)``.
    """
    s = _side(side)
    ft = _finite("fill_time", fill_time)
    fp = _positive_array("fill_price", fill_price)
    t = np.atleast_1d(_finite("times", times))
    m = np.atleast_1d(_positive_array("mids", mids))
    if t.ndim != 1 or t.shape != m.shape or t.size == 0:
        raise ValueError(
            f"times and mids must be 1-D, non-empty and of equal length, got "
            f"{t.shape} and {m.shape}"
        )
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be non-decreasing")
    h = np.atleast_1d(_finite("horizons", horizons))
    if h.ndim != 1 or h.size == 0 or np.any(h < 0):
        raise ValueError(f"horizons must be a non-empty sequence of seconds >= 0, got {horizons!r}")
    s, ft, fp = np.broadcast_arrays(s, ft, fp)
    target_t = ft[..., None] + h
    idx = np.searchsorted(t, target_t, side="right") - 1
    valid = (idx >= 0) & (target_t <= t[-1])
    mid_h = np.where(valid, m[np.clip(idx, 0, None)], np.nan)
    return BPS * s[..., None] * (fp[..., None] - mid_h) / fp[..., None]


def cvar(x: ArrayLike, level: float = 0.95) -> float:
    """Conditional value at risk of costs: the mean of the worst ``1 - level`` share (bps).

    Costs are positive = bad, so the tail is the *largest* values. With ``n`` observations the
    tail holds ``(1 - level) * n`` of them; when that is fractional, the boundary observation
    enters with its fractional weight (Rockafellar-Uryasev), so the estimate moves continuously
    with ``level``. A tail smaller than one observation is the maximum.
    """
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError("x must hold at least one cost")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x must be finite numbers")
    level = float(level)
    if not 0.0 <= level < 1.0:
        raise ValueError(f"level must lie in [0, 1), got {level!r}")
    worst = np.sort(arr)[::-1]
    mass = (1.0 - level) * arr.size
    if mass <= 1.0:
        return float(worst[0])
    full = math.floor(mass)
    frac = mass - full
    total = worst[:full].sum() + (frac * worst[full] if frac > 0 and full < arr.size else 0.0)
    return float(total / mass)
