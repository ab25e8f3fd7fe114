"""Dealer gamma exposure (GEX): by strike, as a function of spot, the gamma flip and the regime.

Conventions, stated once:

- GEX of one leg is the dealers' *dollar gamma per 1% move*::

      GEX = gamma * position * multiplier * S**2 * 0.01

  in currency: the change of the dealers' delta, in currency of underlying, when spot moves by 1%.
  ``gamma`` is the Black-Scholes gamma per share (1/currency), ``position`` in contracts signed
  + = dealers long. Positive total GEX means dealers are long gamma: their delta hedging sells
  rallies and buys dips and dampens moves. Negative means short gamma: they buy rallies and sell
  dips, which amplifies moves.
- The *true* GEX uses the dealers' actual positions, which the simulation knows. The *observer's*
  estimate uses only open interest and an assumed sign per option type,
  ``position = sign * open_interest``; the default :data:`DEALERS_SHORT_CALLS_LONG_PUTS` is
  calls -1, puts +1 (dealers short calls, long puts, the index convention of the GEX literature);
  :data:`DEALERS_LONG_CALLS_SHORT_PUTS` is the opposite. Both go through one implementation.
- Time to expiry is in trading-time years (:mod:`market.exchange.clock`); legs at or past expiry
  carry no gamma here (their gamma is a point mass at the strike, not a number).
- Volatilities are decimals (0.2 = 20%); rates and dividend yields continuously compounded.

Contracts come from an :class:`~market.options.chain.OptionChain` or from plain arrays
(:class:`Legs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from market.exchange.clock import SECONDS_PER_YEAR
from market.options.chain import DEFAULT_MULTIPLIER, OptionChain
from market.options.pricing import FloatArray, bs_greeks

DEALERS_SHORT_CALLS_LONG_PUTS = (-1.0, 1.0)
DEALERS_LONG_CALLS_SHORT_PUTS = (1.0, -1.0)
ONE_PERCENT = 0.01

# Spot-grid rows evaluated at once in a profile, so memory stays near rows x legs <= this.
_PROFILE_CELLS_PER_CHUNK = 2_000_000

VolInput = float | np.ndarray | Callable[..., np.ndarray]
RegimeLabel = Literal["long_gamma", "short_gamma"]


class GexInputError(ValueError):
    """An argument to a GEX computation is outside its allowed range."""


def dollar_gamma(
    gamma: ArrayLike,
    contracts: ArrayLike,
    spot: ArrayLike,
    multiplier: ArrayLike = DEFAULT_MULTIPLIER,
) -> FloatArray:
    """Dollar gamma per 1% move: ``gamma * contracts * multiplier * spot**2 * 0.01``.

    Pure and broadcasting; the sign follows ``contracts`` (+ = long).
    """
    dollars: FloatArray = (
        np.asarray(gamma, dtype=float)
        * np.asarray(contracts, dtype=float)
        * np.asarray(multiplier, dtype=float)
        * np.square(np.asarray(spot, dtype=float))
        * ONE_PERCENT
    )
    return dollars


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class Legs:
    """Option contracts given as aligned arrays (length ``n``), the alternative to a chain.

    ``strike`` (> 0), ``is_call`` (bool), ``multiplier`` (> 0, default 100), and optionally
    ``expiry`` (clock seconds, needed only when time is given as ``now``), ``open_interest``
    (contracts >= 0, for the observer's estimate), ``dealer_position`` (contracts, signed) and
    ``expired`` (bool: settled contracts, which carry no gamma whatever the time given).
    """

    strike: np.ndarray
    is_call: np.ndarray
    multiplier: np.ndarray | float = DEFAULT_MULTIPLIER
    expiry: np.ndarray | None = None
    open_interest: np.ndarray | None = None
    dealer_position: np.ndarray | None = None
    expired: np.ndarray | None = None

    def __post_init__(self) -> None:
        strike = np.atleast_1d(np.asarray(self.strike, dtype=float))
        if strike.ndim != 1 or not np.all(np.isfinite(strike)) or np.any(strike <= 0):
            raise GexInputError("strike must be a one-dimensional array of finite values > 0")
        n = strike.size

        def aligned(name: str, value: ArrayLike, dtype: type) -> NDArray[Any]:
            arr: NDArray[Any] = np.asarray(value, dtype=dtype)
            try:
                return np.broadcast_to(arr, (n,)).copy()
            except ValueError:
                raise GexInputError(
                    f"{name} must be a scalar or have the strike array's length {n}"
                ) from None

        is_call = np.asarray(self.is_call)
        if is_call.dtype != bool:
            raise GexInputError("is_call must be booleans (True = call, False = put)")
        object.__setattr__(self, "strike", strike)
        object.__setattr__(self, "is_call", aligned("is_call", is_call, bool))
        mult = aligned("multiplier", self.multiplier, float)
        if not np.all(np.isfinite(mult)) or np.any(mult <= 0):
            raise GexInputError("multiplier must be finite and > 0 (shares per contract)")
        object.__setattr__(self, "multiplier", mult)
        if self.expiry is not None:
            expiry = aligned("expiry", self.expiry, float)
            if not np.all(np.isfinite(expiry)):
                raise GexInputError("expiry must be finite clock seconds")
            object.__setattr__(self, "expiry", expiry)
        if self.open_interest is not None:
            oi = aligned("open_interest", self.open_interest, float)
            if not np.all(np.isfinite(oi)) or np.any(oi < 0):
                raise GexInputError("open_interest must be finite and >= 0 contracts")
            object.__setattr__(self, "open_interest", oi)
        if self.dealer_position is not None:
            dp = aligned("dealer_position", self.dealer_position, float)
            if not np.all(np.isfinite(dp)):
                raise GexInputError("dealer_position must be finite (contracts, signed)")
            object.__setattr__(self, "dealer_position", dp)
        if self.expired is not None:
            expired = np.asarray(self.expired)
            if expired.dtype != bool:
                raise GexInputError("expired must be booleans")
            object.__setattr__(self, "expired", aligned("expired", expired, bool))

    def __len__(self) -> int:
        return int(self.strike.size)

    @classmethod
    def from_chain(cls, chain: OptionChain) -> Legs:
        return cls(
            strike=np.array(chain.strike),
            is_call=np.array(chain.is_call),
            multiplier=np.array(chain.multiplier),
            expiry=np.array(chain.expiry),
            open_interest=np.array(chain.open_interest, dtype=float),
            dealer_position=np.array(chain.dealer_position, dtype=float),
            expired=np.array(chain.expired),
        )


ChainInput = OptionChain | Legs | Mapping[str, Any]


def _as_legs(chain: ChainInput) -> Legs:
    if isinstance(chain, Legs):
        return chain
    if isinstance(chain, OptionChain):
        return Legs.from_chain(chain)
    if isinstance(chain, Mapping):
        unknown = set(chain) - set(Legs.__dataclass_fields__)
        if unknown:
            raise GexInputError(
                f"unknown chain field(s) {sorted(unknown)}; allowed: "
                f"{sorted(Legs.__dataclass_fields__)}"
            )
        return Legs(**chain)
    raise GexInputError(
        f"chain must be an OptionChain, Legs or a mapping of arrays, got {type(chain).__name__}"
    )


def _years_to_expiry(legs: Legs, now: float | None, t: ArrayLike | None) -> FloatArray:
    if (now is None) == (t is None):
        raise GexInputError("give exactly one of now (clock seconds) or t (years to expiry)")
    if t is not None:
        years = np.asarray(t, dtype=float)
        try:
            years = np.broadcast_to(years, (len(legs),)).copy()
        except ValueError:
            raise GexInputError(
                f"t must be a scalar or have one value per contract ({len(legs)})"
            ) from None
        if not np.all(np.isfinite(years)) or np.any(years < 0):
            raise GexInputError("t must be finite years >= 0")
    else:
        if legs.expiry is None:
            raise GexInputError("now needs contract expiries: give t (years) or include expiry")
        assert now is not None  # exactly one of now and t was given
        if not np.isfinite(now):
            raise GexInputError(f"now must be finite clock seconds, got {now}")
        years = np.maximum(legs.expiry - now, 0.0) / SECONDS_PER_YEAR
    if legs.expired is not None:
        years = np.where(legs.expired, 0.0, years)
    return years


def observer_positions(
    is_call: ArrayLike,
    open_interest: ArrayLike,
    sign_convention: Iterable[float] = DEALERS_SHORT_CALLS_LONG_PUTS,
) -> FloatArray:
    """The positions an outside observer assumes: ``sign * open_interest`` per option type.

    ``sign_convention = (call_sign, put_sign)``, each +1 (dealers long) or -1 (dealers short).
    """
    call_sign, put_sign = _check_convention(sign_convention)
    positions: FloatArray = np.where(
        np.asarray(is_call, dtype=bool), call_sign, put_sign
    ) * np.asarray(open_interest, dtype=float)
    return positions


def _check_convention(sign_convention: Iterable[float]) -> tuple[float, float]:
    try:
        call_sign, put_sign = (float(s) for s in sign_convention)
    except (TypeError, ValueError):
        raise GexInputError(
            f"sign_convention must be a pair (call_sign, put_sign), got {sign_convention!r}"
        ) from None
    if call_sign not in (-1.0, 1.0) or put_sign not in (-1.0, 1.0):
        raise GexInputError(f"sign_convention signs must each be +1 or -1, got {sign_convention!r}")
    return call_sign, put_sign


def _positions(
    legs: Legs, positions: ArrayLike | None, sign_convention: Iterable[float] | None
) -> FloatArray:
    if positions is not None and sign_convention is not None:
        raise GexInputError("give positions (true) or sign_convention (observer), not both")
    if sign_convention is not None:
        if legs.open_interest is None:
            raise GexInputError("sign_convention needs open_interest in the chain")
        return observer_positions(legs.is_call, legs.open_interest, sign_convention)
    if positions is None:
        if legs.dealer_position is None:
            raise GexInputError("no positions: give positions or a chain with dealer_position")
        return legs.dealer_position
    pos = np.asarray(positions, dtype=float)
    try:
        pos = np.broadcast_to(pos, (len(legs),))
    except ValueError:
        raise GexInputError(f"positions must have one value per contract ({len(legs)})") from None
    if not np.all(np.isfinite(pos)):
        raise GexInputError("positions must be finite (contracts, signed, + = dealers long)")
    return pos


def _check_spot(spot: ArrayLike) -> FloatArray:
    s = np.asarray(spot, dtype=float)
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise GexInputError("spot must be finite and > 0 (currency)")
    return s


def _vols(
    vols: VolInput,
    spot: FloatArray,
    legs_strike: FloatArray,
    years: FloatArray,
    n_rows: int | None,
) -> FloatArray:
    """Volatility per leg, per spot row when a vol function is given, validated."""
    if callable(vols):
        raw = np.asarray(vols(spot, legs_strike, years), dtype=float)
    else:
        raw = np.asarray(vols, dtype=float)
    shape = (len(legs_strike),) if n_rows is None else (n_rows, len(legs_strike))
    try:
        sigma = np.broadcast_to(raw, shape)
    except ValueError:
        raise GexInputError(
            f"vols must be a scalar, one value per contract, or a function giving shape {shape}"
        ) from None
    if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
        raise GexInputError("vols must be finite and > 0 (decimal, 0.2 = 20%)")
    return sigma


def _leg_gex(
    spot: FloatArray,
    legs: Legs,
    years: FloatArray,
    sigma: FloatArray,
    pos: FloatArray,
    rate: float,
    div: float,
) -> FloatArray:
    """Per-leg GEX, broadcasting ``spot`` against the legs (the one implementation)."""
    alive = years > 0.0
    # At expiry gamma is a point mass, not a number: evaluate at a stand-in time, then zero it.
    t_eval = np.where(alive, years, 1.0)
    gamma = bs_greeks(spot, legs.strike, t_eval, sigma, rate=rate, div=div, call=True).gamma
    return np.where(alive, dollar_gamma(gamma, pos, spot, legs.multiplier), 0.0)


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class GexReport:
    """GEX at one spot: per contract, per strike (all expiries, calls + puts) and in total.

    Currency per 1% move; + = dealers long gamma. ``strikes`` ascending and unique.
    """

    spot: float
    positions: np.ndarray
    per_contract: np.ndarray
    strikes: np.ndarray
    by_strike: np.ndarray
    call_by_strike: np.ndarray
    put_by_strike: np.ndarray
    total: float

    @property
    def call_total(self) -> float:
        return float(self.call_by_strike.sum())

    @property
    def put_total(self) -> float:
        return float(self.put_by_strike.sum())

    def pin_concentration(self, band_pct: ArrayLike = 1.0) -> float | FloatArray:
        """Share of per-strike ``|GEX|`` within ``band_pct`` percent of spot (see module fn)."""
        return pin_concentration(self.strikes, self.by_strike, self.spot, band_pct)


def gex_by_strike(
    chain: ChainInput,
    spot: float,
    vols: VolInput,
    *,
    now: float | None = None,
    t: ArrayLike | None = None,
    positions: ArrayLike | None = None,
    sign_convention: Iterable[float] | None = None,
    rate: float = 0.0,
    div: float = 0.0,
) -> GexReport:
    """Dealer GEX per contract, per strike and in total at ``spot``.

    Time is ``now`` (clock seconds; needs expiries) or ``t`` (years, scalar or per contract).
    Positions are, in order of precedence: ``positions`` (contracts, + = dealers long), the
    observer's ``sign * open_interest`` when ``sign_convention`` is given, or the chain's true
    ``dealer_position``. ``vols`` is a scalar, one per contract, or ``vol(spot, strike, t)``.
    """
    legs = _as_legs(chain)
    s = _check_spot(spot)
    if s.ndim != 0:
        raise GexInputError("spot must be a scalar here; use gex_profile for a grid of spots")
    years = _years_to_expiry(legs, now, t)
    pos = _positions(legs, positions, sign_convention)
    sigma = _vols(vols, s, legs.strike, years, None)
    per_contract = _leg_gex(s, legs, years, sigma, pos, rate, div)
    strikes, where = np.unique(legs.strike, return_inverse=True)
    call_part = np.where(legs.is_call, per_contract, 0.0)
    calls = np.bincount(where, weights=call_part, minlength=strikes.size)
    puts = np.bincount(where, weights=per_contract - call_part, minlength=strikes.size)
    return GexReport(
        spot=float(s),
        positions=np.array(pos, dtype=float),
        per_contract=per_contract,
        strikes=strikes,
        by_strike=calls + puts,
        call_by_strike=calls,
        put_by_strike=puts,
        total=float(per_contract.sum()),
    )


def observer_gex(
    chain: ChainInput,
    spot: float,
    vols: VolInput,
    *,
    now: float | None = None,
    t: ArrayLike | None = None,
    sign_convention: Iterable[float] | None = DEALERS_SHORT_CALLS_LONG_PUTS,
    rate: float = 0.0,
    div: float = 0.0,
) -> GexReport:
    """The outside observer's GEX estimate: positions ``sign * open_interest`` per option type.

    Same computation as :func:`gex_by_strike`; ``sign_convention = (call_sign, put_sign)``,
    default calls -1, puts +1.
    """
    if sign_convention is None:
        raise GexInputError("sign_convention must be a pair (call_sign, put_sign), got None")
    return gex_by_strike(
        chain, spot, vols, now=now, t=t, sign_convention=sign_convention, rate=rate, div=div
    )


def gex_profile(
    spot_grid: ArrayLike,
    chain: ChainInput,
    vols: VolInput,
    *,
    now: float | None = None,
    t: ArrayLike | None = None,
    positions: ArrayLike | None = None,
    sign_convention: Iterable[float] | None = None,
    rate: float = 0.0,
    div: float = 0.0,
) -> FloatArray:
    """Total GEX at every spot of ``spot_grid`` (same shape; a scalar gives a 0-d array).

    Greeks and ``S**2`` are recomputed at each spot with fixed time and positions; ``vols`` is
    fixed per contract (sticky strike) unless it is a function ``vol(spot, strike, t)``, which is
    called with ``spot`` shaped ``(rows, 1)`` against per-contract ``strike`` and ``t``.
    Positions as in :func:`gex_by_strike`.
    """
    legs = _as_legs(chain)
    grid = _check_spot(spot_grid)
    years = _years_to_expiry(legs, now, t)
    pos = _positions(legs, positions, sign_convention)
    # Legs without a position or past expiry add nothing at any spot: skip them for speed.
    keep = (pos != 0) & (years > 0)
    flat = grid.ravel()
    totals = np.zeros(flat.size)
    if not np.any(keep):
        if callable(vols):
            _vols(vols, flat[:1, None], legs.strike, years, 1)
        else:
            _vols(vols, flat[:1], legs.strike, years, None)
        return totals.reshape(grid.shape)
    sub = Legs(
        strike=legs.strike[keep],
        is_call=legs.is_call[keep],
        multiplier=np.asarray(legs.multiplier)[keep],
    )
    sub_years, sub_pos = years[keep], pos[keep]
    fixed_sigma = None
    if not callable(vols):
        fixed_sigma = _vols(vols, flat[:1], legs.strike, years, None)[keep]
    rows_per_chunk = max(1, _PROFILE_CELLS_PER_CHUNK // len(sub))
    for lo in range(0, flat.size, rows_per_chunk):
        s = flat[lo : lo + rows_per_chunk, None]
        if fixed_sigma is None:
            sigma = _vols(vols, s, sub.strike, sub_years, s.shape[0])
        else:
            sigma = fixed_sigma
        totals[lo : lo + rows_per_chunk] = _leg_gex(
            s, sub, sub_years, sigma, sub_pos, rate, div
        ).sum(axis=1)
    return totals.reshape(grid.shape)


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


def pin_concentration(
    strikes: ArrayLike, gex: ArrayLike, spot: float, band_pct: ArrayLike = 1.0
) -> float | FloatArray:
    """Share of ``|GEX|`` at strikes within ``band_pct`` percent of ``spot`` (0..1).

    ``gex`` is per strike (net of calls and puts at the same strike, since their hedges offset);
    ``band_pct`` may be an array, giving one share per band. With no gamma at all the share is 0.
    """
    k = np.asarray(strikes, dtype=float)
    g = np.asarray(gex, dtype=float)
    if k.ndim != 1 or k.shape != g.shape:
        raise GexInputError("strikes and gex must be 1-d arrays of the same length")
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(g))):
        raise GexInputError("strikes and gex must be finite")
    s = _check_spot(spot)
    if s.ndim != 0:
        raise GexInputError("spot must be a scalar")
    band = np.asarray(band_pct, dtype=float)
    if not np.all(np.isfinite(band)) or np.any(band < 0):
        raise GexInputError("band_pct must be finite and >= 0 (percent of spot)")
    weight = np.abs(g)
    total = weight.sum()
    distance_pct = np.abs(k - s) / s * 100.0
    inside = distance_pct <= band[..., None]
    near = (inside * weight).sum(axis=-1)
    return np.where(total > 0, near / np.where(total > 0, total, 1.0), 0.0)[()]
