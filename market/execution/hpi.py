"""The Hedge Pressure Index (HPI): an outside observer's estimate of dealer hedging pressure.

The execution desk cannot see dealers' inventories; it sees what any market participant sees (open
interest, the tape, the book, the calendar). The HPI stacks four proxies from that view, each
robustly z-scored against its own recent history, into one number per decision step:

    HPI_t = w_g z(GammaPressure_t) + w_v z(SpotVelocity_t) + w_e z(ExpiryProximity_t)
            + w_b z(BookStress_t)

Sign convention, used by every function here: **larger = more pressure against the desk** (more
hedging flow that drains liquidity in the desk's direction, higher expected cost). Units of the raw
components are stated per function; z-scores are dimensionless.

- GEX is dollar gamma per 1% move of the underlying (``gamma * OI * multiplier * S^2 * 0.01``),
  signed from the dealers' side: NEGATIVE = dealers short gamma (their hedging buys rallies and
  sells dips, amplifying moves) = more pressure.
- Side: +1 the desk is buying, -1 selling.
- Time: seconds on the simulation clock (:mod:`market.exchange.clock`); times to expiry are
  trading seconds.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from market.validation import check_array

FloatArray = NDArray[np.float64]

COMPONENTS: tuple[str, ...] = ("gamma_pressure", "spot_velocity", "expiry_proximity", "book_stress")

# Fallback (centre, scale) per component, used while a scaler has too little history to trust its
# own median/IQR. They describe a calm session in the units of the component functions below.
DEFAULT_FALLBACKS: dict[str, tuple[float, float]] = {
    "gamma_pressure": (0.0, 1.0),
    "spot_velocity": (0.0, 2.0),
    "expiry_proximity": (0.2, 0.2),
    "book_stress": (0.0, 0.5),
}

# IQR of a standard normal; dividing by it makes a robust z comparable to an ordinary one.
_IQR_OF_NORMAL = 1.3489795003921634


def _finite(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float array of finite numbers (else a ValueError naming ``name``)."""
    return check_array(name, value)


def _finite_scalar(name: str, value: object) -> float:
    # The per-step path: plain floats avoid numpy's per-call overhead on scalars.
    try:
        out = float(value)  # type: ignore[arg-type]  # anything float() accepts
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite number, got {value!r}") from exc
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return out


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _non_negative(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def gamma_pressure(
    observer_gex_near_spot: ArrayLike,
    concentration: ArrayLike,
    *,
    gex_scale: float = 1e6,
    pin_weight: float = 1.0,
) -> float | FloatArray:
    """Options-sensitivity pressure from the observer's GEX estimate near spot (dimensionless).

    ``GammaPressure = -GEX / gex_scale - pin_weight * concentration``

    - ``observer_gex_near_spot``: the observer's GEX estimate summed over strikes near spot, in
      dollars per 1% move. Negative (dealers short gamma) raises pressure; positive (dealers long
      gamma, their hedging leans against moves) lowers it.
    - ``concentration``: signed pin concentration in [-1, 1], the share of the chain's absolute GEX
      sitting at strikes inside the pin band around spot, signed like the gamma there. Positive =
      a long-gamma pin zone (hedging pins the price: dampening, pressure down); negative = short
      gamma clustered at spot (hedging accelerates moves through those strikes: pressure up).
    - ``gex_scale``: the GEX (dollars per 1% move) that counts as one unit of pressure; set it to a
      typical absolute GEX of the instrument so both terms are of order one.
    - ``pin_weight``: how many units of pressure a fully concentrated pin zone removes.

    Scalars and arrays broadcast.
    """
    gex = _finite("observer_gex_near_spot", observer_gex_near_spot)
    conc = _finite("concentration", concentration)
    if np.any(np.abs(conc) > 1.0):
        raise ValueError(f"concentration must lie in [-1, 1], got {concentration!r}")
    gex_scale = _positive("gex_scale", gex_scale)
    pin_weight = _non_negative("pin_weight", pin_weight)
    out = -gex / gex_scale - pin_weight * conc
    return float(out) if out.ndim == 0 else out


def spot_velocity(
    times: ArrayLike, prices: ArrayLike, window_seconds: float, desk_side: ArrayLike = 1
) -> FloatArray:
    """Signed speed of the price over a trailing window, in (log) bps per minute.

    For each observation ``i`` the reference is the last observation at or before
    ``times[i] - window_seconds`` (the first observation while the history is shorter than the
    window) and the velocity is ``1e4 * ln(p_i / p_ref) / (t_i - t_ref) * 60``, zero when no time
    has elapsed. The result is multiplied by ``desk_side`` so that **positive = the price is moving
    against the desk** (up for a buyer, down for a seller); dealers' hedge demand scales with this
    speed, which is why it is a pressure proxy.

    ``times`` (seconds, non-decreasing) and ``prices`` (> 0) are 1-D of equal length;
    ``desk_side`` is +1 / -1, a scalar or one per observation.
    """
    t = _finite("times", times)
    p = _finite("prices", prices)
    if t.ndim != 1 or p.shape != t.shape:
        raise ValueError(
            f"times and prices must be 1-D of equal length, got shapes {t.shape} and {p.shape}"
        )
    if t.size == 0:
        raise ValueError("times must hold at least one observation")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be non-decreasing")
    if np.any(p <= 0):
        raise ValueError("prices must be > 0")
    window_seconds = _positive("window_seconds", window_seconds)
    side = _finite("desk_side", desk_side)
    if not np.all(np.isin(side, (-1.0, 1.0))):
        raise ValueError(f"desk_side must be +1 (buy) or -1 (sell), got {desk_side!r}")
    if side.ndim and side.shape != t.shape:
        raise ValueError(
            f"desk_side must be a scalar or match times' shape {t.shape}, got {side.shape}"
        )
    ref = np.searchsorted(t, t - window_seconds, side="right") - 1
    ref = np.maximum(ref, 0)
    elapsed = t - t[ref]
    move_bps = 1e4 * np.log(p / p[ref])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_minute = np.where(
            elapsed > 0, move_bps / np.where(elapsed > 0, elapsed, 1.0) * 60.0, 0.0
        )
    return side * per_minute


def expiry_proximity(
    seconds_to_expiry: ArrayLike,
    oi_weight: ArrayLike,
    event_windows: Sequence[Sequence[float]] = (),
    now: ArrayLike = 0.0,
    *,
    floor_hours: float = 0.25,
    event_bump: float = 1.0,
    event_lead_seconds: float = 300.0,
) -> float | FloatArray:
    """Event-clock pressure: nearness of a large expiry plus scheduled event windows.

    ``ExpiryProximity = oi_weight / sqrt(max(hours_to_expiry, floor_hours)) + event_bump * E(now)``

    - The expiry term grows like ``1/sqrt(hours)`` as expiry nears (0DTE gamma explodes
      nonlinearly), capped at ``oi_weight / sqrt(floor_hours)`` so the last minutes stay finite.
      Hours are trading hours (``seconds_to_expiry / 3600``, trading seconds per
      :mod:`market.exchange.clock`).
    - ``oi_weight`` in [0, 1]: the share of open interest that expires at that expiry; a tiny
      expiry near spot matters little.
    - ``event_windows``: ``(start, end)`` or ``(start, end, weight)`` clock-second tuples (macro
      prints, auctions, the close). ``E(now)`` is ``weight`` (default 1) inside ``[start, end)``,
      ramps linearly from 0 over the ``event_lead_seconds`` before ``start`` (liquidity thins
      ahead of a print), and is 0 otherwise; overlapping windows take the largest, not the sum, so
      stacking calendar flags cannot run away.

    ``seconds_to_expiry``, ``oi_weight`` and ``now`` broadcast.
    """
    s = _finite("seconds_to_expiry", seconds_to_expiry)
    if np.any(s < 0):
        raise ValueError(f"seconds_to_expiry must be >= 0, got {seconds_to_expiry!r}")
    w = _finite("oi_weight", oi_weight)
    if np.any((w < 0) | (w > 1)):
        raise ValueError(f"oi_weight must lie in [0, 1], got {oi_weight!r}")
    now_arr = _finite("now", now)
    floor_hours = _positive("floor_hours", floor_hours)
    event_bump = _non_negative("event_bump", event_bump)
    lead = _non_negative("event_lead_seconds", event_lead_seconds)
    windows = _event_windows(event_windows)

    hours = s / 3600.0
    base = w / np.sqrt(np.maximum(hours, floor_hours))
    bump = np.zeros(now_arr.shape)
    for start, end, weight in windows:
        inside = (now_arr >= start) & (now_arr < end)
        if lead > 0:
            ramp = np.clip((now_arr - (start - lead)) / lead, 0.0, 1.0)
            ramp = np.where(now_arr < start, ramp, 0.0)
        else:
            ramp = np.zeros(now_arr.shape)
        bump = np.maximum(bump, weight * np.where(inside, 1.0, ramp))
    out = base + event_bump * bump
    return float(out) if np.ndim(out) == 0 else out


def _event_windows(
    event_windows: Sequence[Sequence[float]],
) -> list[tuple[float, float, float]]:
    parsed = []
    for i, window in enumerate(event_windows):
        if len(window) not in (2, 3):
            raise ValueError(
                f"event_windows[{i}] must be (start, end) or (start, end, weight), got {window!r}"
            )
        start, end = float(window[0]), float(window[1])
        weight = float(window[2]) if len(window) == 3 else 1.0
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise ValueError(f"event_windows[{i}] needs finite start < end, got {window!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"event_windows[{i}] weight must be >= 0, got {weight!r}")
        parsed.append((start, end, weight))
    return parsed


def book_stress_parts(
    spread: ArrayLike,
    spread_baseline: ArrayLike,
    top_depth: ArrayLike,
    top_depth_prev: ArrayLike,
    dt: ArrayLike,
    cancels_in_window: ArrayLike,
    window: ArrayLike,
    *,
    cancel_baseline_rate: float = 1.0,
) -> dict[str, FloatArray]:
    """The three microstructure stress measures behind :func:`book_stress` (see there)."""
    spread = _finite("spread", spread)
    baseline = _finite("spread_baseline", spread_baseline)
    depth = _finite("top_depth", top_depth)
    prev = _finite("top_depth_prev", top_depth_prev)
    dt = _finite("dt", dt)
    cancels = _finite("cancels_in_window", cancels_in_window)
    window = _finite("window", window)
    cancel_baseline_rate = _positive("cancel_baseline_rate", cancel_baseline_rate)
    for name, arr, strict in (
        ("spread", spread, False),
        ("spread_baseline", baseline, True),
        ("top_depth", depth, False),
        ("top_depth_prev", prev, False),
        ("dt", dt, True),
        ("cancels_in_window", cancels, False),
        ("window", window, True),
    ):
        if np.any(arr <= 0) if strict else np.any(arr < 0):
            raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}")
    widening = spread / baseline - 1.0
    lost = np.maximum(prev - depth, 0.0)
    # An already-empty touch cannot deplete further; the spread term carries that stress.
    depletion = np.where(prev > 0, lost / np.where(prev > 0, prev, 1.0), 0.0) / dt * 60.0
    cancel_excess = cancels / (window * cancel_baseline_rate) - 1.0
    return {
        "spread_widening": widening,
        "depletion_per_minute": depletion,
        "cancel_excess": cancel_excess,
    }


def book_stress(
    spread: ArrayLike,
    spread_baseline: ArrayLike,
    top_depth: ArrayLike,
    top_depth_prev: ArrayLike,
    dt: ArrayLike,
    cancels_in_window: ArrayLike,
    window: ArrayLike,
    *,
    weights: Sequence[float] = (1.0, 1.0, 1.0),
    cancel_baseline_rate: float = 1.0,
) -> float | FloatArray:
    """Microstructure stress overlay (dimensionless; 0 = a calm book).

    ``BookStress = w1 * (spread / spread_baseline - 1) + w2 * depletion + w3 * cancel_excess``

    - spread widening: the quoted spread over its calm baseline, minus one (same units, any).
    - depletion: the share of top-of-book depth (shares at the touch on the side the desk trades
      against) lost since the previous observation ``dt`` seconds ago, per minute; refills count
      as zero, because stress is about liquidity leaving.
    - cancel_excess: cancellations in the last ``window`` seconds as a rate, relative to
      ``cancel_baseline_rate`` (cancels per second in a calm book), minus one.

    Scalars and arrays broadcast.
    """
    w = _finite("weights", weights)
    if w.shape != (3,) or np.any(w < 0):
        raise ValueError(f"weights must be three numbers >= 0, got {weights!r}")
    parts = book_stress_parts(
        spread,
        spread_baseline,
        top_depth,
        top_depth_prev,
        dt,
        cancels_in_window,
        window,
        cancel_baseline_rate=cancel_baseline_rate,
    )
    out = (
        w[0] * parts["spread_widening"]
        + w[1] * parts["depletion_per_minute"]
        + w[2] * parts["cancel_excess"]
    )
    return float(out) if np.ndim(out) == 0 else out


class RobustScaler:
    """Rolling robust z-score: ``z = clip((x - median) / (IQR / 1.349), -z_clip, z_clip)``.

    - The median and IQR are over the last ``window`` observations; the IQR is divided by that of
      a standard normal so ``z`` reads like an ordinary z-score in calm data.
    - Once trusted, each new observation is winsorised at ``centre +/- z_clip * scale`` before it
      enters the history, so a burst of event-day extremes moves the quartiles no further than
      that many clipped values could: the scale does not blow up on the days it matters.
    - Until ``min_history`` observations have been seen, ``default_center`` / ``default_scale``
      are used (and values enter the history unclipped, since the defaults are only a guess).
    - A scale below ``min_scale`` (a component that has been flat) is raised to ``min_scale``;
      a scale of exactly zero falls back to ``default_scale``.
    """

    def __init__(
        self,
        window: int = 2000,
        min_history: int = 50,
        z_clip: float = 4.0,
        default_center: float = 0.0,
        default_scale: float = 1.0,
        min_scale: float = 0.0,
    ):
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 4:
            raise ValueError(f"window must be an integer >= 4, got {window!r}")
        if (
            isinstance(min_history, bool)
            or not isinstance(min_history, (int, np.integer))
            or not 1 <= min_history <= window
        ):
            raise ValueError(
                f"min_history must be an integer in [1, window={window}], got {min_history!r}"
            )
        self.window = int(window)
        self.min_history = int(min_history)
        self.z_clip = _positive("z_clip", z_clip)
        self.default_center = float(_finite("default_center", default_center))
        self.default_scale = _positive("default_scale", default_scale)
        self.min_scale = _non_negative("min_scale", min_scale)
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
        self._n_seen = 0
        self._center = self.default_center
        self._scale = self.default_scale

    @property
    def trusted(self) -> bool:
        """Whether enough history has been seen to use its own median and IQR."""
        return self._n_seen >= self.min_history

    @property
    def n_seen(self) -> int:
        """Observations passed to :meth:`update` so far."""
        return self._n_seen

    @property
    def center(self) -> float:
        """The current centre (rolling median, or the default while untrusted)."""
        return self._center

    @property
    def scale(self) -> float:
        """The current scale (rolling IQR / 1.349, or the default while untrusted)."""
        return self._scale

    def update(self, x: ArrayLike) -> None:
        """Add one observation or an array of them (in order) to the rolling history."""
        values = [_finite_scalar("x", x)] if np.ndim(x) == 0 else _finite("x", x).ravel().tolist()
        for v in values:
            if self.trusted:
                lo = self._center - self.z_clip * self._scale
                hi = self._center + self.z_clip * self._scale
                v = min(max(v, lo), hi)
            self._order.append(v)
            bisect.insort(self._sorted, v)
            if len(self._order) > self.window:
                old = self._order.popleft()
                del self._sorted[bisect.bisect_left(self._sorted, old)]
            self._n_seen += 1
            self._refresh()

    def _refresh(self) -> None:
        if not self.trusted:
            return
        q1, med, q3 = (self._quantile(q) for q in (0.25, 0.5, 0.75))
        scale = max((q3 - q1) / _IQR_OF_NORMAL, self.min_scale)
        self._center = med
        self._scale = scale if scale > 0 else self.default_scale

    def _quantile(self, q: float) -> float:
        # Linear interpolation between order statistics, as numpy.quantile's default.
        data = self._sorted
        pos = q * (len(data) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(data) - 1)
        return data[lo] + (pos - lo) * (data[hi] - data[lo])

    @overload
    def transform(self, x: float) -> float: ...

    @overload
    def transform(self, x: ArrayLike) -> float | FloatArray: ...

    def transform(self, x: ArrayLike) -> float | FloatArray:
        """Robust z-score of ``x`` (scalar or array) against the current centre and scale."""
        if np.ndim(x) == 0:
            z = (_finite_scalar("x", x) - self._center) / self._scale
            return min(max(z, -self.z_clip), self.z_clip)
        arr = _finite("x", x)
        zs = np.clip((arr - self._center) / self._scale, -self.z_clip, self.z_clip)
        return float(zs) if zs.ndim == 0 else zs


def hedge_pressure_index(
    components: Mapping[str, ArrayLike] | ArrayLike,
    weights: Mapping[str, float] | ArrayLike,
) -> float | FloatArray:
    """The pure combination ``HPI = sum_k weights[k] * components[k]`` (inputs are z-scores).

    ``components`` is a mapping name -> scalar/array (names from :data:`COMPONENTS` or any names,
    as long as ``weights`` has exactly the same keys), or an array whose last axis holds the
    components in the order of a ``weights`` sequence. Arrays broadcast.
    """
    if isinstance(components, Mapping):
        if not isinstance(weights, Mapping):
            raise ValueError("weights must be a mapping when components is a mapping")
        missing = set(components) ^ set(weights)
        if missing:
            raise ValueError(
                f"components and weights must have the same keys; unmatched: {sorted(missing)}"
            )
        total: float | FloatArray = 0.0
        for name, value in components.items():
            total = total + float(_finite(f"weights[{name!r}]", weights[name])) * _finite(
                f"components[{name!r}]", value
            )
        return float(total) if np.ndim(total) == 0 else total
    z = _finite("components", components)
    w = _finite("weights", weights)  # type: ignore[arg-type]  # a mapping fails the conversion
    if w.ndim != 1 or z.ndim == 0 or z.shape[-1] != w.shape[0]:
        raise ValueError(
            f"components' last axis ({z.shape}) must match the number of weights ({w.shape})"
        )
    out = z @ w
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class HPIReading:
    """One step of the index: ``hpi`` (dimensionless, + = pressure against the desk), its
    ``slope`` (HPI units per minute, least squares over the slope window), and per component the
    robust ``z`` score and the ``raw`` value it came from."""

    time: float
    hpi: float
    slope: float
    z: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)

    def as_row(self) -> dict[str, float]:
        """Flat record: time, hpi, hpi_slope, z_<component>, raw_<component>."""
        row = {"time": self.time, "hpi": self.hpi, "hpi_slope": self.slope}
        row.update({f"z_{k}": v for k, v in self.z.items()})
        row.update({f"raw_{k}": v for k, v in self.raw.items()})
        return row


class HedgePressureIndex:
    """Stateful HPI: robust-scales the four raw components and combines them each step.

    Each step first z-scores the new raw values against the history *before* them, then adds them
    to that history, so a sudden spike reads as a spike instead of partly normalising itself.

    - ``weights``: mapping component -> weight (missing components weigh 1; unknown names are an
      error). Weights of zero drop a component.
    - ``window``, ``min_history``, ``z_clip``, ``min_scale``: passed to each
      :class:`RobustScaler` (window and min_history count observations, i.e. calls of
      :meth:`step`, whatever the time between them).
    - ``fallbacks``: per component ``(centre, scale)`` used until ``min_history`` observations;
      missing components use :data:`DEFAULT_FALLBACKS`.
    - ``slope_window_seconds``: trailing span over which the HPI slope is fitted.
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        *,
        window: int = 2000,
        min_history: int = 50,
        z_clip: float = 4.0,
        min_scale: float = 0.0,
        fallbacks: Mapping[str, tuple[float, float]] | None = None,
        slope_window_seconds: float = 60.0,
    ):
        weights = dict(weights or {})
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(
                f"weights has unknown components {sorted(unknown)}; allowed: {list(COMPONENTS)}"
            )
        self.weights = {
            k: float(_finite(f"weights[{k!r}]", weights.get(k, 1.0))) for k in COMPONENTS
        }
        fallbacks = dict(fallbacks or {})
        unknown = set(fallbacks) - set(COMPONENTS)
        if unknown:
            raise ValueError(
                f"fallbacks has unknown components {sorted(unknown)}; allowed: {list(COMPONENTS)}"
            )
        self.slope_window_seconds = _positive("slope_window_seconds", slope_window_seconds)
        self.scalers: dict[str, RobustScaler] = {}
        for name in COMPONENTS:
            centre, scale = fallbacks.get(name, DEFAULT_FALLBACKS[name])
            self.scalers[name] = RobustScaler(
                window=window,
                min_history=min_history,
                z_clip=z_clip,
                default_center=centre,
                default_scale=scale,
                min_scale=min_scale,
            )
        self._times: deque[float] = deque()
        self._values: deque[float] = deque()
        self._last_time = -math.inf

    def step(
        self,
        t: float,
        gamma_pressure: float,
        spot_velocity: float,
        expiry_proximity: float,
        book_stress: float,
    ) -> HPIReading:
        """Advance to clock time ``t`` (seconds, non-decreasing) with the four raw components."""
        t = _finite_scalar("t", t)
        if t < self._last_time:
            raise ValueError(f"t must be non-decreasing: got {t} after {self._last_time}")
        raw = {
            "gamma_pressure": gamma_pressure,
            "spot_velocity": spot_velocity,
            "expiry_proximity": expiry_proximity,
            "book_stress": book_stress,
        }
        raw = {k: _finite_scalar(k, v) for k, v in raw.items()}
        z = {k: self.scalers[k].transform(v) for k, v in raw.items()}
        for k, v in raw.items():
            self.scalers[k].update(v)
        hpi = sum(self.weights[k] * z[k] for k in COMPONENTS)
        self._last_time = t
        self._times.append(t)
        self._values.append(hpi)
        while self._times and self._times[0] < t - self.slope_window_seconds:
            self._times.popleft()
            self._values.popleft()
        return HPIReading(time=t, hpi=hpi, slope=self._slope(), z=z, raw=raw)

    def _slope(self) -> float:
        if len(self._times) < 2:
            return 0.0
        ts = np.fromiter(self._times, float)
        hs = np.fromiter(self._values, float)
        dt = ts - ts.mean()
        denom = float(dt @ dt)
        if denom <= 0:
            return 0.0
        return float(dt @ (hs - hs.mean()) / denom * 60.0)

    def step_many(
        self,
        times: ArrayLike,
        gamma_pressure: ArrayLike,
        spot_velocity: ArrayLike,
        expiry_proximity: ArrayLike,
        book_stress: ArrayLike,
    ) -> pd.DataFrame:
        """Run :meth:`step` over equal-length arrays; one row per step (see
        :meth:`HPIReading.as_row`)."""
        arrays = [
            np.atleast_1d(_finite(name, a))
            for name, a in (
                ("times", times),
                ("gamma_pressure", gamma_pressure),
                ("spot_velocity", spot_velocity),
                ("expiry_proximity", expiry_proximity),
                ("book_stress", book_stress),
            )
        ]
        n = arrays[0].shape[0]
        if any(a.shape != (n,) for a in arrays):
            raise ValueError(
                f"times and the four components must be 1-D of equal length; got "
                f"shapes {[a.shape for a in arrays]}"
            )
        if np.any(np.diff(arrays[0]) < 0):
            raise ValueError("times must be non-decreasing")
        rows = [self.step(*(float(a[i]) for a in arrays)).as_row() for i in range(n)]
        return pd.DataFrame(rows)
