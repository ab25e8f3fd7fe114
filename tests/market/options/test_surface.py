"""The SSVI volatility surface: smile shape, absence of static arbitrage, shifts, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.options.surface import (
    REFERENCE_T,
    ArbitrageReport,
    SurfaceParameterError,
    VolSurface,
)

EXPIRIES = np.array([1, 2, 5, 10, 21, 42, 63, 126, 252, 504, 1260]) / 252
STRIKES = np.linspace(30.0, 250.0, 221)
STANDARD_EXPIRIES = np.array([5, 21, 63, 252, 504]) / 252


def test_default_smile_puts_richer_than_atm_richer_than_calls():
    surface = VolSurface()
    t = STANDARD_EXPIRIES[:, None]
    put_90, put_95, atm, call_105, call_110 = surface.vol(
        np.array([90.0, 95.0, 100.0, 105.0, 110.0]), t, 100.0
    ).T
    assert (put_90 > put_95).all() and (put_95 > atm).all()
    assert (atm > call_105).all() and (call_105 > call_110).all()
    # typical equity-index levels: 18-20% at the money, a mild upward term structure
    one_month, one_year = surface.vol(100.0, np.array([21, 252]) / 252, 100.0)
    assert 0.17 < one_month < one_year < 0.21
    assert np.all(np.diff(atm) > 0)
    assert (np.asarray(surface.atm_skew(STANDARD_EXPIRIES)) < 0).all()


def test_defaults_are_free_of_static_arbitrage_on_a_wide_grid():
    report = VolSurface().check_static_arbitrage(STRIKES, EXPIRIES, 100.0)
    assert isinstance(report, ArbitrageReport)
    assert report.arbitrage_free
    assert report.min_durrleman_g > 0
    with_carry = VolSurface().check_static_arbitrage(STRIKES, EXPIRIES, 100.0, rate=0.05, div=0.01)
    assert with_carry.arbitrage_free


@pytest.mark.parametrize(
    "params",
    [
        {"term_slope": -0.1, "atm_vol": 0.45, "term_decay": 8.0},  # inverted, stressed regime
        {"rho": -0.95, "eta": 2 / 1.95, "skew_decay": 0.5},  # at the constraint's edge
        {"rho": 0.3, "eta": 0.5, "skew_decay": 0.1},
        {"eta": 0.0},  # a flat smile
    ],
)
def test_other_valid_parameters_are_arbitrage_free(params):
    surface = VolSurface(**params)
    report = surface.check_static_arbitrage(STRIKES, EXPIRIES, 100.0)
    assert report.arbitrage_free, report
    k = np.linspace(-1.0, 1.0, 81)[None, :]
    w = np.asarray(surface.total_variance(k, EXPIRIES[:, None]))
    assert (np.diff(w, axis=0) >= 0).all()  # calendar: total variance grows at every k


def test_the_checker_finds_arbitrage_when_it_is_there():
    # Bypass validation to build surfaces the constructor would refuse.
    butterfly = VolSurface()
    object.__setattr__(butterfly, "eta", 4.0)
    object.__setattr__(butterfly, "skew_decay", 0.5)
    report = butterfly.check_static_arbitrage(STRIKES, EXPIRIES, 100.0)
    assert report.butterfly_violations > 0 and report.min_durrleman_g < 0
    assert not report.arbitrage_free

    class FallingVariance(VolSurface):
        def _theta(self, t):
            return 0.04 * t * np.exp(-t)  # total variance that peaks at one year, then falls

    report = FallingVariance().check_static_arbitrage(STRIKES, EXPIRIES, 100.0)
    assert report.calendar_violations > 0 and report.max_calendar_decrease > 0
    assert report.invalid_points == 0
    assert not report.arbitrage_free

    class NegativeVariance(VolSurface):
        def _theta(self, t):
            return 0.04 * t * (1.0 - t)

    report = NegativeVariance().check_static_arbitrage(STRIKES, EXPIRIES, 100.0)
    assert report.invalid_points > 0 and not report.arbitrage_free


def test_shift_level():
    flat = VolSurface(term_slope=0.0)
    shifted = flat.shift_level(0.05)
    np.testing.assert_allclose(
        shifted.vol(100.0, STANDARD_EXPIRIES, 100.0) - flat.vol(100.0, STANDARD_EXPIRIES, 100.0),
        0.05,
        atol=1e-12,
    )
    base = VolSurface()
    up = base.shift_level(0.05)
    moves = up.vol(100.0, STANDARD_EXPIRIES, 100.0) - base.vol(100.0, STANDARD_EXPIRIES, 100.0)
    np.testing.assert_allclose(moves, 0.05, atol=0.002)
    assert up.rho == base.rho and up.eta == base.eta and up.term_slope == base.term_slope
    assert base.atm_vol == 0.175  # the original is untouched
    assert up.check_static_arbitrage(STRIKES, EXPIRIES, 100.0).arbitrage_free
    with pytest.raises(SurfaceParameterError, match="atm_vol"):
        base.shift_level(-0.2)


def test_shift_skew():
    base = VolSurface()
    steeper = base.shift_skew(-0.1)
    assert steeper.atm_skew(REFERENCE_T) == pytest.approx(base.atm_skew(REFERENCE_T) - 0.1)
    assert steeper.atm_curvature(REFERENCE_T) == pytest.approx(base.atm_curvature(REFERENCE_T))
    assert (
        np.asarray(steeper.atm_skew(STANDARD_EXPIRIES))
        < np.asarray(base.atm_skew(STANDARD_EXPIRIES))
    ).all()

    def risk_reversal(s):
        return s.vol(90.0, STANDARD_EXPIRIES, 100.0) - s.vol(110.0, STANDARD_EXPIRIES, 100.0)

    assert (risk_reversal(steeper) > risk_reversal(base)).all()
    np.testing.assert_allclose(
        steeper.vol(100.0, STANDARD_EXPIRIES, 100.0), base.vol(100.0, STANDARD_EXPIRIES, 100.0)
    )
    assert steeper.check_static_arbitrage(STRIKES, EXPIRIES, 100.0).arbitrage_free
    flatter = base.shift_skew(+0.3)
    assert flatter.atm_skew(REFERENCE_T) == pytest.approx(-0.3705, abs=1e-4)
    with pytest.raises(SurfaceParameterError, match="butterfly arbitrage"):
        base.shift_skew(-0.5)  # too steep for skew_decay 0.4 without butterfly arbitrage
    with pytest.raises(SurfaceParameterError, match="finite"):
        base.shift_skew(math.inf)


def test_from_params_matches_the_quoted_slope_and_curvature():
    surface = VolSurface.from_params(0.2, -0.5, 0.08, 0.01, term_decay=2.0, skew_decay=0.45)
    assert surface.atm_skew(REFERENCE_T) == pytest.approx(-0.5, rel=1e-12)
    assert surface.atm_curvature(REFERENCE_T) == pytest.approx(0.08, rel=1e-12)
    assert (surface.atm_vol, surface.term_slope, surface.term_decay, surface.skew_decay) == (
        0.2,
        0.01,
        2.0,
        0.45,
    )
    # the quoted numbers are the local expansion of the smile: check by finite differences
    h = 1e-3
    v = np.asarray(surface.vol_at_moneyness(np.array([-h, 0.0, h]), REFERENCE_T))
    assert (v[2] - v[0]) / (2 * h) == pytest.approx(-0.5, rel=1e-5)
    assert (v[2] - 2 * v[1] + v[0]) / (2 * h * h) == pytest.approx(0.08, rel=1e-3)
    # the defaults reproduce the default surface, and round trips are exact
    default = VolSurface()
    assert VolSurface.from_params().rho == pytest.approx(default.rho, abs=1e-3)
    rebuilt = VolSurface.from_params(
        default.atm_vol,
        default.atm_skew(REFERENCE_T),
        default.atm_curvature(REFERENCE_T),
        default.term_slope,
    )
    assert rebuilt.rho == pytest.approx(default.rho) and rebuilt.eta == pytest.approx(default.eta)
    symmetric = VolSurface.from_params(skew=0.0, curvature=0.3)
    assert symmetric.rho == 0.0 and symmetric.atm_curvature(REFERENCE_T) == pytest.approx(0.3)
    flat = VolSurface.from_params(skew=0.0, curvature=0.0)
    assert flat.vol(70.0, 0.25, 100.0) == pytest.approx(flat.vol(100.0, 0.25, 100.0))
    assert flat.check_static_arbitrage(STRIKES, EXPIRIES, 100.0).arbitrage_free
    with pytest.raises(SurfaceParameterError, match="curvature must exceed"):
        VolSurface.from_params(skew=-0.1, curvature=-0.5)
    with pytest.raises(SurfaceParameterError, match="curvature must be >= 0"):
        VolSurface.from_params(skew=0.0, curvature=-0.1)
    with pytest.raises(SurfaceParameterError, match=r"skew=-2.0, curvature=0.05 imply"):
        VolSurface.from_params(skew=-2.0)
    with pytest.raises(SurfaceParameterError, match="atm_vol"):
        VolSurface.from_params(atm_vol=-0.1)


def test_shift_term():
    base = VolSurface()
    steeper = base.shift_term(0.03)
    short, long = 1 / (252 * 6.5), 5.0
    assert steeper.vol(100.0, short, 100.0) == pytest.approx(
        base.vol(100.0, short, 100.0), abs=1e-4
    )
    assert steeper.vol(100.0, long, 100.0) - base.vol(100.0, long, 100.0) == pytest.approx(
        0.03, abs=0.005
    )
    inverted = base.shift_term(-0.1)
    atm = inverted.vol(100.0, EXPIRIES, 100.0)
    assert atm[-1] < atm[0]
    assert inverted.check_static_arbitrage(STRIKES, EXPIRIES, 100.0).arbitrage_free
    with pytest.raises(SurfaceParameterError, match="term_slope"):
        base.shift_term(-0.3)
    with pytest.raises(SurfaceParameterError, match="finite"):
        base.shift_term(math.nan)


def test_vectorised_and_consistent_views():
    surface = VolSurface()
    assert isinstance(surface.vol(95.0, 0.25, 100.0), float)
    strikes = np.array([80.0, 100.0, 120.0])
    times = np.array([[0.1], [0.5]])
    spots = np.array([[[95.0]], [[100.0]], [[105.0]], [[110.0]]])
    assert surface.vol(strikes, times, spots).shape == (4, 2, 3)
    vols = surface.vol(strikes, times, 100.0, rate=0.05, div=0.01)
    k = np.log(strikes / (100.0 * np.exp(0.04 * times)))
    np.testing.assert_allclose(vols, surface.vol_at_moneyness(k, times), rtol=1e-14)
    np.testing.assert_allclose(vols**2 * times, surface.total_variance(k, times), rtol=1e-12)
    np.testing.assert_allclose(
        surface.atm_total_variance(times), surface.total_variance(0.0, times), rtol=1e-14
    )
    # sticky moneyness: scaling spot and strike together leaves the vol unchanged
    assert surface.vol(190.0, 0.3, 200.0) == pytest.approx(surface.vol(95.0, 0.3, 100.0))
    # expired options get a finite vol, the short-end level at the money
    at_expiry = surface.vol(strikes, 0.0, 100.0)
    assert np.isfinite(at_expiry).all()
    assert at_expiry[1] == pytest.approx(surface.atm_vol, rel=1e-4)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"atm_vol": 0.0}, "atm_vol must be > 0"),
        ({"atm_vol": math.nan}, "atm_vol must be a finite number"),
        ({"term_slope": -0.2}, "term_slope must be > -atm_vol"),
        ({"term_decay": 0.0}, "term_decay must be > 0"),
        ({"rho": -1.0}, r"rho must lie in \(-1, 1\)"),
        ({"skew_decay": 0.6}, r"skew_decay must lie in \(0, 0.5\]"),
        ({"eta": 1.5}, r"eta must lie in .* = \[0, 1.17647\]"),
        ({"eta": -0.1}, "eta must lie in"),
        ({"eta": "big"}, "eta must be a finite number"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_message(params, fragment):
    with pytest.raises(SurfaceParameterError, match=fragment):
        VolSurface(**params)
    assert issubclass(SurfaceParameterError, ValueError)


def test_bad_arguments_are_rejected():
    surface = VolSurface()
    with pytest.raises(ValueError, match="strike"):
        surface.vol(-1.0, 0.5, 100.0)
    with pytest.raises(ValueError, match="t must be"):
        surface.total_variance(0.0, -0.1)
    with pytest.raises(SurfaceParameterError, match="3 strikes"):
        surface.check_static_arbitrage([90.0, 100.0], [0.5], 100.0)
