"""An implied-volatility surface with skew and term structure, free of static arbitrage.

The surface is Gatheral & Jacquier's surface SVI (SSVI, "Arbitrage-free SVI volatility
surfaces", 2014) in log-forward-moneyness ``k = ln(K / F)``, ``F = spot * exp((rate - div) t)``:

    w(k, t) = theta(t) / 2 * (1 + rho phi k + sqrt((phi k + rho)² + 1 - rho²)),
    phi = phi(theta) = eta / (theta**gamma * (1 + theta)**(1 - gamma)),

where ``w = vol² t`` is total implied variance and ``theta(t) = w(0, t)`` the at-the-money
total variance, with the at-the-money variance term structure of a mean-reverting variance:

    theta(t) = long² t + (short² - long²) (1 - exp(-decay t)) / decay,
    short = atm_vol, long = atm_vol + term_slope, decay = term_decay.

Parameters (fields of :class:`VolSurface`):

- ``atm_vol``: short-end at-the-money volatility (the limit as ``t -> 0``);
- ``term_slope``: long-end minus short-end at-the-money volatility (> 0: upward sloping, the
  calm regime; < 0: inverted, the stressed regime);
- ``term_decay``: speed (per year) at which the at-the-money vol moves from the short-end to the
  long-end level;
- ``rho`` (in (-1, 1)): asymmetry of the smile, negative = downside puts richer;
- ``eta`` (>= 0): scale of the smile, 0 = flat; the at-the-money slope grows with
  ``rho * eta``, the curvature with ``eta² (1 - rho²)``;
- ``skew_decay`` (SSVI's gamma, in (0, 1/2]): how fast skew flattens with maturity (the
  at-the-money slope in vol per unit k falls roughly like ``t**(-skew_decay)``).

The market-facing description is the at-the-money slope ``d vol / d k`` (:meth:`atm_skew`) and
half the second derivative (:meth:`atm_curvature`, so ``vol ≈ atm + skew k + curvature k²``
near the money) at the reference maturity :data:`REFERENCE_T` (one month);
:meth:`VolSurface.from_params` builds a surface from them and :meth:`VolSurface.shift_skew` moves
the slope in those units.

No static arbitrage, by construction: ``theta`` strictly increases in ``t`` whenever both
``atm_vol`` and ``atm_vol + term_slope`` are positive (no calendar arbitrage), and
``eta * (1 + |rho|) <= 2`` with ``0 < skew_decay <= 1/2`` is Gatheral & Jacquier's sufficient
condition for no butterfly arbitrage (their Remark 4.4). Both are enforced at construction;
:meth:`VolSurface.check_static_arbitrage` verifies them numerically on a grid.

Time ``t`` is in trading years (``trading seconds / (252 * 23,400)``), vols annualised.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from market.options.pricing import FloatArray, FloatOrArray, _result, as_checked_array, bs_price

# A checked argument, a scalar or an array (np.float64 is a float).
_Num = float | FloatArray

__all__ = ["MIN_TIME", "REFERENCE_T", "ArbitrageReport", "SurfaceParameterError", "VolSurface"]

# Below one trading second the SSVI smile wings grow without bound (w/t ~ t**(-skew_decay));
# options that close to expiry are worth their intrinsic value under any vol, so the surface is
# read at one second instead.
MIN_TIME = 1.0 / (252 * 23_400)

# The maturity at which skew and curvature are quoted: one month of 21 trading days.
REFERENCE_T = 21 / 252


class SurfaceParameterError(ValueError):
    """A volatility-surface parameter outside its allowed range; the message names it."""


def _durrleman_g(k: _Num, w: FloatArray, dw: FloatArray, d2w: FloatArray) -> FloatArray:
    """Durrleman's g(k) from the total variance and its first two k-derivatives."""
    return (1.0 - k * dw / (2.0 * w)) ** 2 - 0.25 * dw * dw * (1.0 / w + 0.25) + 0.5 * d2w


@dataclass(frozen=True)
class ArbitrageReport:
    """Result of :meth:`VolSurface.check_static_arbitrage` on a strike x expiry grid.

    - ``min_durrleman_g``: smallest Durrleman ``g(k)`` (butterfly arbitrage iff < 0).
    - ``butterfly_violations``: grid points with ``g(k) < -tolerance``.
    - ``convexity_violations``: strike triples where the call price is not convex in strike,
      beyond ``tolerance`` times spot.
    - ``monotonicity_violations``: adjacent strikes where the call price rises with strike.
    - ``calendar_violations``: (k, adjacent expiries) pairs where total variance falls with t.
    - ``max_calendar_decrease``: the largest such fall (0 if none).
    - ``invalid_points``: grid points whose total variance is not a positive finite number.
    """

    min_durrleman_g: float
    butterfly_violations: int
    convexity_violations: int
    monotonicity_violations: int
    calendar_violations: int
    max_calendar_decrease: float
    invalid_points: int

    @property
    def arbitrage_free(self) -> bool:
        """True when no check found a violation."""
        return (
            self.butterfly_violations
            + self.convexity_violations
            + self.monotonicity_violations
            + self.calendar_violations
            + self.invalid_points
        ) == 0


@dataclass(frozen=True)
class VolSurface:
    """SSVI implied-volatility surface; see the module docstring for the formulas.

    Defaults describe a calm equity index: about 18% one-month and 20% one-year at-the-money
    vol, downside puts richer (a 90% one-month put near 25%, a 110% call near 13%; one-month
    at-the-money slope about -0.67 vol per unit log-moneyness).
    """

    atm_vol: float = 0.175
    term_slope: float = 0.035
    term_decay: float = 4.0
    rho: float = -0.7
    eta: float = 1.0
    skew_decay: float = 0.4

    def __post_init__(self) -> None:
        for name in (
            "atm_vol",
            "term_slope",
            "term_decay",
            "rho",
            "eta",
            "skew_decay",
        ):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and math.isfinite(value)):
                raise SurfaceParameterError(
                    f"VolSurface.{name} must be a finite number, got {value!r}"
                )
        if not self.atm_vol > 0:
            raise SurfaceParameterError(f"VolSurface.atm_vol must be > 0, got {self.atm_vol!r}")
        if not self.atm_vol + self.term_slope > 0:
            raise SurfaceParameterError(
                "VolSurface.term_slope must be > -atm_vol (the long-end vol atm_vol + term_slope "
                f"must stay positive); got term_slope={self.term_slope!r}, atm_vol={self.atm_vol!r}"
            )
        if not self.term_decay > 0:
            raise SurfaceParameterError(
                f"VolSurface.term_decay must be > 0 (per year), got {self.term_decay!r}"
            )
        if not -1.0 < self.rho < 1.0:
            raise SurfaceParameterError(f"VolSurface.rho must lie in (-1, 1), got {self.rho!r}")
        if not 0.0 < self.skew_decay <= 0.5:
            raise SurfaceParameterError(
                "VolSurface.skew_decay must lie in (0, 0.5] (no butterfly arbitrage), got "
                f"{self.skew_decay!r}"
            )
        bound = 2.0 / (1.0 + abs(self.rho))
        if not 0.0 <= self.eta <= bound:
            raise SurfaceParameterError(
                f"VolSurface.eta must lie in [0, 2 / (1 + |rho|)] = [0, {bound:.6g}] to "
                f"exclude butterfly arbitrage at rho={self.rho!r}; got {self.eta!r}"
            )

    @classmethod
    def from_params(
        cls,
        atm_vol: float = 0.175,
        skew: float = -0.67,
        curvature: float = 0.05,
        term_slope: float = 0.035,
        *,
        term_decay: float = 4.0,
        skew_decay: float = 0.4,
    ) -> VolSurface:
        """The surface with the given at-the-money slope and curvature at :data:`REFERENCE_T`.

        ``skew`` is ``d vol / d k`` and ``curvature`` half of ``d² vol / d k²`` at ``k = 0`` and
        ``t = REFERENCE_T`` (so ``vol ≈ atm + skew k + curvature k²`` near the money; a negative
        ``skew`` makes downside puts richer); ``atm_vol``, ``term_slope``, ``term_decay`` and
        ``skew_decay`` are the fields of the same name. SSVI's ``rho`` and ``eta`` follow in
        closed form, ``1/rho² = 2 + 2 curvature a / skew²`` with ``a`` the reference at-the-money
        vol, so ``|rho| <= 1/sqrt(2)`` when ``curvature >= 0``. Combinations that would allow
        butterfly arbitrage raise :class:`SurfaceParameterError` naming ``skew`` and
        ``curvature``.
        """
        for name, value in (("skew", skew), ("curvature", curvature)):
            if not (isinstance(value, numbers.Real) and math.isfinite(value)):
                raise SurfaceParameterError(
                    f"VolSurface.from_params {name} must be a finite number, got {value!r}"
                )
        shape = cls(  # validates the other parameters
            atm_vol=atm_vol,
            term_slope=term_slope,
            term_decay=term_decay,
            rho=0.0,
            eta=0.0,
            skew_decay=skew_decay,
        )
        theta = float(shape._theta(REFERENCE_T))
        rho, psi = _ssvi_rho_psi(skew, curvature, theta)
        eta = psi * ((1.0 + theta) / theta) ** (1.0 - skew_decay)
        try:
            return dataclasses.replace(shape, rho=rho, eta=eta)
        except SurfaceParameterError as exc:
            raise SurfaceParameterError(
                f"VolSurface.from_params skew={skew!r}, curvature={curvature!r} imply a smile "
                f"with butterfly arbitrage ({exc}); use a flatter skew or a larger skew_decay"
            ) from exc

    # ---- the surface ---------------------------------------------------------------------

    def atm_total_variance(self, t: ArrayLike) -> FloatOrArray:
        """``theta(t)``, at-the-money total implied variance ``vol² t``; ``t`` in years, >= 0."""
        t = as_checked_array("t", t, at_least=0.0)
        return _result(self._theta(t))

    def _theta(self, t: _Num) -> FloatArray:
        """At-the-money total variance on checked ``t`` (years)."""
        short2 = self.atm_vol**2
        long2 = (self.atm_vol + self.term_slope) ** 2
        x = self.term_decay * t
        # (1 - exp(-x)) / x -> 1 as x -> 0; -expm1 keeps it accurate for tiny t.
        weight = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
        theta: FloatArray = long2 * t + (short2 - long2) * t * weight
        return theta

    def _phi(self, theta: FloatArray) -> FloatArray:
        """SSVI's power-law curvature function of the at-the-money total variance."""
        g = self.skew_decay
        phi: FloatArray = self.eta / (theta**g * (1.0 + theta) ** (1.0 - g))
        return phi

    def _total_variance_and_derivatives(
        self, k: _Num, t: _Num
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``w(k, t)`` and its first two derivatives in ``k``, on checked inputs."""
        theta = self._theta(t)
        phi = self._phi(theta)
        rho = self.rho
        root = np.sqrt((phi * k + rho) ** 2 + 1.0 - rho * rho)
        w = 0.5 * theta * (1.0 + rho * phi * k + root)
        dw = 0.5 * theta * phi * (rho + (phi * k + rho) / root)
        d2w = 0.5 * theta * phi * phi * (1.0 - rho * rho) / root**3
        return w, dw, d2w

    def total_variance(self, k: ArrayLike, t: ArrayLike) -> FloatOrArray:
        """Total implied variance ``w(k, t) = vol² t`` at log-forward-moneyness ``k = ln(K/F)``.

        ``t`` in years, floored at :data:`MIN_TIME`. Broadcasts ``k`` and ``t``.
        """
        k = as_checked_array("k", k)
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        return _result(self._total_variance_and_derivatives(k, t)[0])

    def vol_at_moneyness(self, k: ArrayLike, t: ArrayLike) -> FloatOrArray:
        """Implied vol at log-forward-moneyness ``k``; ``t`` in years (floored at MIN_TIME)."""
        k = as_checked_array("k", k)
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        return _result(np.sqrt(self._total_variance_and_derivatives(k, t)[0] / t))

    def vol(
        self,
        strike: ArrayLike,
        t: ArrayLike,
        spot: ArrayLike,
        rate: ArrayLike = 0.0,
        div: ArrayLike = 0.0,
    ) -> FloatOrArray:
        """Implied vol for ``strike`` and time to expiry ``t`` (years) given ``spot``.

        Moneyness is measured on the forward ``spot * exp((rate - div) t)``. Vectorised; all
        arguments broadcast. ``t`` is floored at :data:`MIN_TIME` (one trading second).
        """
        strike = as_checked_array("strike", strike, above=0.0)
        spot = as_checked_array("spot", spot, above=0.0)
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        rate = as_checked_array("rate", rate)
        div = as_checked_array("div", div)
        k = np.log(strike / spot) - (rate - div) * t
        return _result(np.sqrt(self._total_variance_and_derivatives(k, t)[0] / t))

    def atm_skew(self, t: ArrayLike) -> FloatOrArray:
        """At-the-money slope ``d vol / d k`` at ``k = 0`` (vol per unit log-moneyness)."""
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        w, dw, _ = self._total_variance_and_derivatives(np.zeros_like(t), t)
        return _result(dw / (2.0 * np.sqrt(w * t)))

    def atm_curvature(self, t: ArrayLike) -> FloatOrArray:
        """Half the at-the-money ``d² vol / d k²``: the ``k²`` coefficient of the smile near k=0."""
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        w, dw, d2w = self._total_variance_and_derivatives(np.zeros_like(t), t)
        vol = np.sqrt(w / t)
        second = d2w / (2.0 * vol * t) - dw * dw / (4.0 * vol**3 * t * t)
        return _result(0.5 * second)

    def durrleman_g(self, k: ArrayLike, t: ArrayLike) -> FloatOrArray:
        """Durrleman's ``g(k) = (1 - k w'/(2w))² - w'²/4 (1/w + 1/4) + w''/2`` at ``(k, t)``.

        The risk-neutral density is ``N'(d2) g(k) / sqrt(w)``; ``g >= 0`` everywhere means no
        butterfly arbitrage in that slice.
        """
        k = as_checked_array("k", k)
        t = np.maximum(as_checked_array("t", t, at_least=0.0), MIN_TIME)
        return _result(_durrleman_g(k, *self._total_variance_and_derivatives(k, t)))

    def check_static_arbitrage(
        self,
        strikes: ArrayLike,
        expiries: ArrayLike,
        spot: ArrayLike,
        rate: ArrayLike = 0.0,
        div: ArrayLike = 0.0,
        tolerance: float = 1e-10,
    ) -> ArbitrageReport:
        """Check the surface for butterfly and calendar arbitrage on a strike x expiry grid.

        Butterfly: Durrleman's ``g(k)`` on every grid point, plus call prices (per unit spot)
        convex and non-increasing in strike for each expiry. Calendar: total variance
        non-decreasing in ``t`` at each fixed ``k = ln(strike / spot)`` across sorted expiries.
        ``tolerance`` absorbs floating-point noise. Returns an :class:`ArbitrageReport`.
        """
        strikes = np.sort(np.ravel(as_checked_array("strikes", strikes, above=0.0)))
        expiries = np.sort(np.ravel(as_checked_array("expiries", expiries, above=0.0)))
        spot = float(as_checked_array("spot", spot, above=0.0))
        rate = float(as_checked_array("rate", rate))
        div = float(as_checked_array("div", div))
        if strikes.size < 3 or expiries.size < 1:
            raise SurfaceParameterError("check_static_arbitrage needs >= 3 strikes and >= 1 expiry")
        t = np.maximum(expiries[:, None], MIN_TIME)
        k = np.log(strikes[None, :] / spot) - (rate - div) * t
        k_fixed = np.log(strikes / spot)[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            w, dw, d2w = self._total_variance_and_derivatives(k, t)
            w_fixed = self._total_variance_and_derivatives(k_fixed, t)[0]
            valid = (w > 0) & np.isfinite(w) & (w_fixed > 0) & np.isfinite(w_fixed)
            g = _durrleman_g(k, w, dw, d2w)
        # Points without a usable variance are reported as invalid and priced at zero vol so
        # that the remaining checks still run on the rest of the grid.
        vols = np.sqrt(np.where(valid, w, 0.0) / t)
        calls = np.asarray(bs_price(spot, strikes[None, :], t, vols, rate, div, True)) / spot
        slopes = np.diff(calls, axis=1) / np.diff(strikes)[None, :]
        convexity_gaps = np.diff(slopes, axis=1)
        calendar_drop = -np.diff(np.where(valid, w_fixed, np.nan), axis=0)
        g_valid = g[valid]
        return ArbitrageReport(
            min_durrleman_g=float(g_valid.min()) if g_valid.size else math.nan,
            butterfly_violations=int((g_valid < -tolerance).sum()),
            convexity_violations=int((convexity_gaps < -tolerance).sum()),
            monotonicity_violations=int((slopes > tolerance).sum()),
            calendar_violations=int((calendar_drop > tolerance).sum()),
            max_calendar_decrease=float(np.nanmax(calendar_drop, initial=0.0)),
            invalid_points=int((~valid).sum()),
        )

    # ---- scenario shifts -------------------------------------------------------------------

    def shift_level(self, dv: float) -> VolSurface:
        """A surface with both the short- and long-end at-the-money vols raised by ``dv``.

        Every at-the-money vol moves by ``dv`` when the term structure is flat and by ``dv`` to
        within ``O(term_slope * dv / atm)`` otherwise. The smile's shape (``rho``, ``eta``) is
        kept, which cannot create arbitrage; the slope in vol units grows mildly with the level.
        """
        return self._replace(atm_vol=self.atm_vol + dv)

    def shift_skew(self, d: float) -> VolSurface:
        """A surface whose at-the-money slope at :data:`REFERENCE_T` is ``d`` higher.

        ``d`` is in vol per unit log-moneyness (the units of :meth:`atm_skew`); negative ``d``
        steepens the put skew. The at-the-money curvature at the reference maturity, the
        at-the-money term structure and ``skew_decay`` are kept.
        """
        if not (isinstance(d, numbers.Real) and math.isfinite(d)):
            raise SurfaceParameterError(f"shift_skew d must be a finite number, got {d!r}")
        return VolSurface.from_params(
            self.atm_vol,
            float(self.atm_skew(REFERENCE_T)) + d,
            float(self.atm_curvature(REFERENCE_T)),
            self.term_slope,
            term_decay=self.term_decay,
            skew_decay=self.skew_decay,
        )

    def shift_term(self, d: float) -> VolSurface:
        """A surface whose long-end at-the-money vol is ``d`` higher, the short end unchanged."""
        return self._replace(term_slope=self.term_slope + d)

    def _replace(self, **changes: float) -> VolSurface:
        for name, value in changes.items():
            if not math.isfinite(value):
                raise SurfaceParameterError(
                    f"shift of VolSurface.{name} must be finite, got {value!r}"
                )
        return dataclasses.replace(self, **changes)


def _ssvi_rho_psi(skew: float, curvature: float, theta: float) -> tuple[float, float]:
    """SSVI's ``rho`` and ``psi = theta * phi(theta)`` at :data:`REFERENCE_T` that give the
    at-the-money ``skew`` and ``curvature`` (see :meth:`VolSurface.from_params`); ``theta`` is
    the reference at-the-money total variance."""
    t_ref = REFERENCE_T
    a = math.sqrt(theta / t_ref)
    second = 2.0 * curvature
    if skew != 0.0:
        inv_rho2 = 2.0 + second * a / skew**2
        if not inv_rho2 > 1.0:
            raise SurfaceParameterError(
                f"VolSurface.from_params curvature must exceed -skew²/(2 atm) = "
                f"{-(skew**2) / (2.0 * a):.6g} at skew={skew!r}; got {curvature!r}"
            )
        rho = math.copysign(1.0 / math.sqrt(inv_rho2), skew)
        return rho, 2.0 * a * t_ref * skew / rho
    if curvature < 0.0:
        raise SurfaceParameterError(
            f"VolSurface.from_params curvature must be >= 0 when skew is 0, got {curvature!r}"
        )
    return 0.0, 2.0 * t_ref * a**1.5 * math.sqrt(second)
