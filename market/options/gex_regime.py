"""Where dealers' gamma changes sign, and the gamma regime: built on :mod:`market.options.gex`.

Conventions (GEX per 1% move, dealers' sign, trading-time years) are those of
:mod:`market.options.gex`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from market.options.gex import (
    ChainInput,
    GexInputError,
    RegimeLabel,
    VolInput,
    _check_spot,
    gex_profile,
)
from market.options.pricing import FloatArray


@dataclass(frozen=True)
class GammaFlip:
    """Where total GEX changes sign as spot moves.

    ``level`` is the crossing nearest to ``spot`` (None when total GEX keeps one sign over the
    searched range), ``crossings`` all crossings found in ascending order, ``distance_pct`` is
    ``(level - spot) / spot * 100`` (None without a level), ``search_range`` the spots searched.
    """

    spot: float
    level: float | None
    crossings: tuple[float, ...]
    search_range: tuple[float, float]

    @property
    def found(self) -> bool:
        return self.level is not None

    @property
    def distance_pct(self) -> float | None:
        return None if self.level is None else (self.level - self.spot) / self.spot * 100.0


def gamma_flip(
    chain: ChainInput,
    vols: VolInput,
    *,
    spot: float,
    now: float | None = None,
    t: ArrayLike | None = None,
    positions: ArrayLike | None = None,
    sign_convention: Iterable[float] | None = None,
    range_pct: float = 20.0,
    grid_points: int = 201,
    spot_grid: ArrayLike | None = None,
    rate: float = 0.0,
    div: float = 0.0,
    xtol: float = 1e-8,
) -> GammaFlip:
    """The gamma-flip level: the spot at which total GEX crosses zero.

    The profile is evaluated on ``spot_grid`` (default ``grid_points`` spots evenly spread over
    ``spot * (1 +/- range_pct / 100)``); every sign change brackets a root refined by
    :func:`scipy.optimize.brentq` to ``xtol`` (relative to spot). A grid spot where the profile is
    exactly zero between opposite signs is itself a crossing. Positions as in
    :func:`gex_by_strike`.
    """
    spot_arr = _check_spot(spot)
    if spot_arr.ndim != 0:
        raise GexInputError("spot must be a scalar")
    s0 = float(spot_arr)
    grid = _flip_grid(s0, range_pct, grid_points, spot_grid)
    if not (np.isfinite(xtol) and xtol > 0):
        raise GexInputError(f"xtol must be > 0, got {xtol}")

    kwargs: dict[str, Any] = {
        "now": now,
        "t": t,
        "positions": positions,
        "sign_convention": sign_convention,
        "rate": rate,
        "div": div,
    }
    crossings = _zero_crossings(
        grid,
        gex_profile(grid, chain, vols, **kwargs),
        lambda x: float(gex_profile(x, chain, vols, **kwargs)),
        xtol * s0,
    )
    level = min(crossings, key=lambda x: abs(x - s0)) if crossings else None
    return GammaFlip(
        spot=s0,
        level=level,
        crossings=tuple(crossings),
        search_range=(float(grid[0]), float(grid[-1])),
    )


def _flip_grid(
    s0: float, range_pct: float, grid_points: int, spot_grid: ArrayLike | None
) -> FloatArray:
    """The checked search grid of :func:`gamma_flip` (currency, ascending)."""
    if spot_grid is None:
        if not (np.isfinite(range_pct) and 0 < range_pct < 100):
            raise GexInputError(f"range_pct must lie in (0, 100), got {range_pct}")
        if int(grid_points) != grid_points or grid_points < 3:
            raise GexInputError(f"grid_points must be an integer >= 3, got {grid_points}")
        return np.linspace(s0 * (1 - range_pct / 100), s0 * (1 + range_pct / 100), int(grid_points))
    grid = _check_spot(spot_grid).astype(float)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise GexInputError("spot_grid must be a strictly increasing 1-d array of >= 2 spots")
    return grid


def _zero_crossings(
    grid: FloatArray, profile: FloatArray, total_at: Callable[[float], float], xtol: float
) -> list[float]:
    """Ascending spots where ``profile`` (total GEX on ``grid``) changes sign: each bracketing
    pair refined by brentq on ``total_at`` to ``xtol`` (currency), plus the middle grid spot of
    any run of exact zeros between opposite signs."""
    sign = np.sign(profile)
    crossings: list[float] = []
    for i in np.flatnonzero(sign[:-1] * sign[1:] < 0):
        root = brentq(total_at, grid[i], grid[i + 1], xtol=xtol)
        crossings.append(float(root))
    nonzero = np.flatnonzero(sign != 0)
    for a, b in pairwise(nonzero):
        if b > a + 1 and sign[a] != sign[b]:
            # The profile is exactly zero on grid spots between them: take the middle one.
            crossings.append(float(grid[(a + b) // 2]))
    crossings.sort()
    return crossings


@dataclass(frozen=True)
class GammaRegime:
    """The dealer-gamma regime and the inputs that decided it.

    ``label`` is "short_gamma" when total GEX < 0 (hedging amplifies moves), else "long_gamma"
    (hedging dampens; zero counts as long: no amplification). ``qualifiers`` name the notable
    conditions ("steep_skew", "call_skew", "inverted_term", "near_flip"); ``reasons`` explains
    each decision (keys "label", "skew", "term", "flip").
    """

    label: RegimeLabel
    total_gex: float
    skew: float
    term_slope: float
    flip_distance_pct: float | None
    qualifiers: tuple[str, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "total_gex": self.total_gex,
            "skew": self.skew,
            "term_slope": self.term_slope,
            "flip_distance_pct": self.flip_distance_pct,
            "qualifiers": list(self.qualifiers),
            "reasons": dict(self.reasons),
        }


def classify_regime(
    total_gex: float,
    skew: float,
    term_slope: float,
    *,
    spot: float | None = None,
    flip: float | GammaFlip | None = None,
    steep_skew_at: float = 0.08,
    inverted_term_below: float = 0.0,
    near_flip_pct: float = 1.0,
) -> GammaRegime:
    """Label the regime by the sign of total GEX and qualify it by skew, term structure and flip.

    - ``skew``: 25-delta put vol minus 25-delta call vol (decimal vol; 0.05 = 5 vol points).
      "steep_skew" when ``skew >= steep_skew_at`` (default 8 vol points: crash protection bid);
      "call_skew" when ``skew < 0`` (calls bid over puts, the signature of a call-buying squeeze).
    - ``term_slope``: far-expiry ATM vol minus near-expiry ATM vol (decimal). "inverted_term" when
      ``term_slope < inverted_term_below`` (default 0: near vol above far vol, a stressed market).
    - ``flip``: the gamma-flip level (currency, or a :class:`GammaFlip`), with ``spot``;
      "near_flip" when it is within ``near_flip_pct`` percent of spot (a regime change is one
      modest move away).
    """
    _check_regime_thresholds(
        total_gex, skew, term_slope, steep_skew_at, inverted_term_below, near_flip_pct
    )
    if isinstance(flip, GammaFlip):
        spot = flip.spot if spot is None else spot
        flip = flip.level
    if flip is not None:
        if spot is None or not (np.isfinite(spot) and spot > 0):
            raise GexInputError("a flip level needs spot (finite, > 0) to measure the distance")
        if not (np.isfinite(flip) and flip > 0):
            raise GexInputError(f"flip must be a finite level > 0, got {flip}")

    label: RegimeLabel = "short_gamma" if total_gex < 0 else "long_gamma"
    reasons = {"label": _label_reason(total_gex)}
    found = [
        _skew_qualifier(skew, steep_skew_at),
        _term_qualifier(term_slope, inverted_term_below),
    ]
    distance = None
    if flip is None:
        found.append((None, "no gamma flip in the searched range"))
    else:
        assert spot is not None  # checked above: a flip level comes with a spot
        distance = (float(flip) - float(spot)) / float(spot) * 100.0
        found.append(_flip_qualifier(distance, near_flip_pct))
    for key, (_, reason) in zip(("skew", "term", "flip"), found, strict=True):
        reasons[key] = reason
    return GammaRegime(
        label=label,
        total_gex=float(total_gex),
        skew=float(skew),
        term_slope=float(term_slope),
        flip_distance_pct=distance,
        qualifiers=tuple(q for q, _ in found if q is not None),
        reasons=reasons,
    )


def _check_regime_thresholds(
    total_gex: float,
    skew: float,
    term_slope: float,
    steep_skew_at: float,
    inverted_term_below: float,
    near_flip_pct: float,
) -> None:
    """Refuse non-finite inputs and thresholds outside their ranges (see classify_regime)."""
    values = {"total_gex": total_gex, "skew": skew, "term_slope": term_slope}
    for name, value in values.items():
        if not np.isfinite(value):
            raise GexInputError(f"{name} must be finite, got {value}")
    if not (np.isfinite(steep_skew_at) and steep_skew_at > 0):
        raise GexInputError(f"steep_skew_at must be > 0 (decimal vol), got {steep_skew_at}")
    if not np.isfinite(inverted_term_below):
        raise GexInputError(f"inverted_term_below must be finite, got {inverted_term_below}")
    if not (np.isfinite(near_flip_pct) and near_flip_pct >= 0):
        raise GexInputError(f"near_flip_pct must be >= 0 percent, got {near_flip_pct}")


def _label_reason(total_gex: float) -> str:
    if total_gex < 0:
        return f"total_gex={total_gex:.6g} < 0: dealers short gamma, hedging amplifies moves"
    return f"total_gex={total_gex:.6g} >= 0: dealers long gamma, hedging dampens moves"


def _skew_qualifier(skew: float, steep_skew_at: float) -> tuple[str | None, str]:
    """("steep_skew" | "call_skew" | None, the reason)."""
    if skew >= steep_skew_at:
        return "steep_skew", f"skew={skew:.4g} >= steep_skew_at={steep_skew_at:.4g}"
    if skew < 0:
        return "call_skew", f"skew={skew:.4g} < 0: calls priced over puts"
    return None, f"0 <= skew={skew:.4g} < steep_skew_at={steep_skew_at:.4g}: normal"


def _term_qualifier(term_slope: float, inverted_term_below: float) -> tuple[str | None, str]:
    """("inverted_term" | None, the reason)."""
    if term_slope < inverted_term_below:
        return "inverted_term", (
            f"term_slope={term_slope:.4g} < inverted_term_below={inverted_term_below:.4g}"
        )
    return None, (
        f"term_slope={term_slope:.4g} >= inverted_term_below={inverted_term_below:.4g}: normal"
    )


def _flip_qualifier(distance: float, near_flip_pct: float) -> tuple[str | None, str]:
    """("near_flip" | None, the reason), ``distance`` in percent of spot."""
    if abs(distance) <= near_flip_pct:
        return "near_flip", f"flip {distance:+.3g}% from spot, within {near_flip_pct:.3g}%"
    return None, f"flip {distance:+.3g}% from spot, beyond {near_flip_pct:.3g}%"
