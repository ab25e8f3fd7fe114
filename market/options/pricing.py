"""Black-Scholes-Merton pricing, Greeks, implied volatility and transaction-cost adjustments.

Conventions used by every function here:

- Time ``t`` is time to expiry in trading years, ``trading seconds / (252 * 23,400)``
  (:data:`market.exchange.clock.SECONDS_PER_YEAR`); convert clock seconds with
  :func:`market.exchange.clock.years`. Rates, dividend yields and volatilities are annualised
  on the same trading-year basis.
- ``rate`` is the continuously compounded risk-free rate, ``div`` the continuous dividend yield.
- ``call`` is a bool or a bool array (True = call, False = put); it broadcasts like the rest.
- Prices are per unit of underlying (one share), in currency units; multiply by the contract
  multiplier (100 by default elsewhere) for contract values.
- Every function accepts scalars or arrays and broadcasts them with numpy rules. When every input
  is a scalar the result is a Python ``float``; otherwise it is an ``ndarray`` of the broadcast
  shape.

Degenerate inputs are allowed and give their limits, without warnings: at ``t = 0`` or
``vol = 0`` the price is the discounted intrinsic value on the forward,
``exp(-rate*t) * max(±(F - K), 0)`` with ``F = spot * exp((rate - div) * t)``; delta is the step
``exp(-div*t) * 1{F > K}`` for calls (``-exp(-div*t) * 1{F < K}`` for puts) and exactly half of
that step when ``F == K``; gamma, vanna and the diffusion part of theta and charm are reported as
0 (their limit away from the forward; at it they diverge). Vega keeps its finite limit,
``spot*exp(-div*t)*sqrt(t)*N'(0)`` at the forward for ``vol = 0, t > 0``, and 0 elsewhere.

Bad inputs (non-finite numbers, non-positive spot or strike, negative time or volatility) raise
:class:`OptionInputError`, a ``ValueError``, naming the argument and the allowed range.
"""

from __future__ import annotations

import math
from typing import NamedTuple, NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf, erfinv, ndtr

from market.validation import ConfigError, check_array

__all__ = [
    "FloatArray",
    "FloatOrArray",
    "Greeks",
    "OptionInputError",
    "as_checked_array",
    "bs_delta",
    "bs_greeks",
    "bs_price",
    "implied_vol",
    "leland_number",
    "leland_volatility",
    "unchecked_bs_price",
    "whalley_wilmott_halfwidth",
]

FloatArray = NDArray[np.float64]
FloatOrArray = float | FloatArray
"""What the pricing functions return: a float for all-scalar input, else an array."""
# A checked argument: a numpy float for a Python scalar (the fast path), else an array.
_Checked = np.float64 | FloatArray
_BoolArray = NDArray[np.bool_]
# An argument already checked (np.float64 is a float).
_Num = float | FloatArray

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class OptionInputError(ValueError):
    """An option-maths argument outside its allowed range; the message names it."""


class Greeks(NamedTuple):
    """Black-Scholes-Merton sensitivities of one option on one unit of underlying.

    - ``delta``: d price / d spot (per 1 currency unit of spot).
    - ``gamma``: d² price / d spot² (per currency unit squared).
    - ``vega``: d price / d vol, per 1.00 of volatility (divide by 100 for one vol point).
    - ``theta``: d price / d (time elapsed), per trading year; time to expiry shrinks as time
      elapses, so a long option's theta is typically negative.
    - ``vanna``: d delta / d vol (= d vega / d spot), per 1.00 of volatility.
    - ``charm``: d delta / d (time elapsed), per trading year (= -d delta / d t, t to expiry).
    """

    delta: FloatOrArray
    gamma: FloatOrArray
    vega: FloatOrArray
    theta: FloatOrArray
    vanna: FloatOrArray
    charm: FloatOrArray


def as_checked_array(
    name: str, value: ArrayLike, *, above: float | None = None, at_least: float | None = None
) -> _Checked:
    """``value`` as a float ndarray, refusing non-finite entries and entries out of range.

    ``above`` is an exclusive lower bound, ``at_least`` an inclusive one (``above`` wins when
    both are given). A value that fails is described by :func:`market.validation.check_array`,
    whose error, naming ``name``, the allowed range and the offending value, is raised as an
    :class:`OptionInputError`. A Python ``float`` or ``int`` comes back as a ``numpy.float64``
    (checked without array machinery: scalar calls are common in agents' inner loops).
    """
    if type(value) is float or type(value) is int:
        scalar = float(value)
        if (
            math.isfinite(scalar)
            and (above is None or scalar > above)
            and (at_least is None or scalar >= at_least)
        ):
            return np.float64(scalar)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise OptionInputError(
            f"{name} must be a number or an array of numbers, got {value!r}"
        ) from exc
    # A cheap pass/fail screen (this runs in pricing loops); a failure is then described by
    # check_array, which owns the range semantics and the message.
    ok = np.isfinite(arr)
    if above is not None:
        ok &= arr > above
    elif at_least is not None:
        ok &= arr >= at_least
    if not ok.all():
        lo = above if above is not None else at_least
        try:
            check_array(name, value, lo, lo_open=above is not None)
        except ConfigError as exc:
            raise OptionInputError(str(exc)) from None
    return arr


def _option_sign(call: ArrayLike) -> FloatArray:
    """+1.0 for calls, -1.0 for puts, from a bool (or 0/1 integer) scalar or array."""
    arr = np.asarray(call)
    if arr.dtype != bool:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise OptionInputError(f"call must be a bool or an array of bools, got {call!r}")
        arr = arr.astype(bool)
    return np.where(arr, 1.0, -1.0)


def _result(arr: FloatArray) -> FloatOrArray:
    """A float for a 0-d array (all-scalar input), else the array itself."""
    return float(arr) if np.ndim(arr) == 0 else arr


class _Terms(NamedTuple):
    spot: _Num
    strike: _Num
    t: _Num
    vol: _Num
    rate: _Num
    div: _Num
    omega: FloatArray
    sd: FloatArray  # vol * sqrt(t), the standard deviation of log(S_T)
    live: _BoolArray  # sd > 0: the non-degenerate case
    d1: FloatArray
    d2: FloatArray
    df_r: FloatArray
    df_q: FloatArray


def _terms(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    call: ArrayLike,
) -> _Terms:
    """:func:`_terms_of` the arguments, each checked against its range first."""
    return _terms_of(
        as_checked_array("spot", spot, above=0.0),
        as_checked_array("strike", strike, above=0.0),
        as_checked_array("t", t, at_least=0.0),
        as_checked_array("vol", vol, at_least=0.0),
        as_checked_array("rate", rate),
        as_checked_array("div", div),
        _option_sign(call),
    )


def _terms_of(
    spot: _Num, strike: _Num, t: _Num, vol: _Num, rate: _Num, div: _Num, omega: FloatArray
) -> _Terms:
    """d1, d2, the discount factors and the degenerate-case mask; ``omega`` is +1 call, -1 put."""
    sd = vol * np.sqrt(t)
    log_fk = np.log(spot / strike) + (rate - div) * t
    live = sd > 0.0
    sd_safe = np.where(live, sd, 1.0)
    # With no diffusion d1 = d2 = ±inf on either side of the forward and 0 exactly at it, which
    # turns N(d1) into the step function and makes every density term vanish.
    step = np.where(log_fk > 0.0, np.inf, np.where(log_fk < 0.0, -np.inf, 0.0))
    d1 = np.where(live, log_fk / sd_safe + 0.5 * sd, step)
    d2 = d1 - sd
    return _Terms(
        spot,
        strike,
        t,
        vol,
        rate,
        div,
        omega,
        sd,
        live,
        d1,
        d2,
        np.exp(-rate * t),
        np.exp(-div * t),
    )


def _price_from_terms(k: _Terms) -> FloatArray:
    w = k.omega
    price: FloatArray = w * (k.spot * k.df_q * ndtr(w * k.d1) - k.strike * k.df_r * ndtr(w * k.d2))
    return price


def bs_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> FloatOrArray:
    """Black-Scholes-Merton price of a European option with a continuous dividend yield.

    Price per unit of underlying, in the currency of ``spot``. ``t`` in trading years.
    Broadcasts all arguments; returns a float for all-scalar input, else an ndarray.
    """
    return _result(_price_from_terms(_terms(spot, strike, t, vol, rate, div, call)))


def bs_delta(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> FloatOrArray:
    """Black-Scholes-Merton delta, d price / d spot (cheaper than :func:`bs_greeks`)."""
    k = _terms(spot, strike, t, vol, rate, div, call)
    return _result(k.omega * k.df_q * ndtr(k.omega * k.d1))


def unchecked_bs_price(
    spot: _Num, strike: _Num, t: _Num, vol: _Num, omega: FloatArray
) -> FloatArray:
    """:func:`bs_price` at zero rate and dividend without argument checks, for quoting loops
    whose inputs were validated once (the chain's strikes, the surface's vols, the model's mid):
    the checks cost more than the pricing at a few dozen series. ``omega`` is +1.0 for a call,
    -1.0 for a put; nothing here catches a bad input, so the caller must."""
    return _price_from_terms(_terms_of(spot, strike, t, vol, 0.0, 0.0, omega))


def _unchecked_delta(
    spot: _Num, strike: _Num, t: _Num, vol: _Num, rate: _Num, div: _Num, call: ArrayLike
) -> FloatArray:
    """Delta without argument checks, for inner loops whose inputs are validated once."""
    k = _terms_of(spot, strike, t, vol, rate, div, np.where(call, 1.0, -1.0))
    delta: FloatArray = k.omega * k.df_q * ndtr(k.omega * k.d1)
    return delta


def bs_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> Greeks:
    """Delta, gamma, vega, theta, vanna and charm; units and signs as in :class:`Greeks`.

    Broadcasts all arguments; every field is a float for all-scalar input, else an ndarray.
    """
    k = _terms(spot, strike, t, vol, rate, div, call)
    w = k.omega
    sqrt_t = np.sqrt(k.t)
    pdf = np.exp(-0.5 * k.d1 * k.d1) * _INV_SQRT_2PI  # 0 at d1 = ±inf
    n1 = ndtr(w * k.d1)
    n2 = ndtr(w * k.d2)
    sd_safe = np.where(k.live, k.sd, 1.0)
    t_safe = np.where(k.live, k.t, 1.0)
    d2_live = np.where(k.live, k.d2, 0.0)  # keeps 0 * inf out of the masked branches

    delta = w * k.df_q * n1
    gamma = np.where(k.live, k.df_q * pdf / (k.spot * sd_safe), 0.0)
    vega = k.spot * k.df_q * pdf * sqrt_t
    diffusion_theta = np.where(k.live, k.spot * k.df_q * pdf * k.sd / (2.0 * t_safe), 0.0)
    theta = (
        -diffusion_theta - w * k.rate * k.strike * k.df_r * n2 + w * k.div * k.spot * k.df_q * n1
    )
    # d d1 / d vol = -d2 / vol, written with sd so that vol = 0 never divides.
    vanna = np.where(k.live, -k.df_q * pdf * d2_live * sqrt_t / sd_safe, 0.0)
    dd1_dt = np.where(
        k.live, (2.0 * (k.rate - k.div) * k.t - d2_live * k.sd) / (2.0 * t_safe * sd_safe), 0.0
    )
    charm = w * k.div * k.df_q * n1 - k.df_q * pdf * dd1_dt
    return Greeks(*(_result(g) for g in (delta, gamma, vega, theta, vanna, charm)))


# --------------------------------------------------------------------------------------------
# Implied volatility
#
# The solver works on Jäckel's normalised Black price of an out-of-the-money call,
#     b(x, s) = exp(x/2) N(x/s + s/2) - exp(-x/2) N(x/s - s/2)
# with x = ln(F/K) <= 0 and s = vol * sqrt(t),
# to which every option reduces: price / (exp(-rate*t) * sqrt(F*K)) minus the normalised intrinsic
# value, with a put at x mapped to a call at -x. b rises from 0 to exp(x/2) as s grows, is convex
# below s_c = sqrt(2|x|) and concave above it. Above s_c, Newton on b started at or left of the
# root converges monotonically; below it Newton on ln(b) is used, whose curvature is mild where b
# is astronomically small. A bracket [lo, hi] is kept and any step leaving it is replaced by
# bisection, so every price strictly inside the bounds converges.
# --------------------------------------------------------------------------------------------

_IV_MAX_ITER = 200
_IV_REL_TOL = 1e-14


def _normalised_otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """b(x, s) for x <= 0, s > 0, accurate also when both x and s are tiny."""
    h1 = x / s + 0.5 * s
    h2 = x / s - 0.5 * s
    # N(h1) - N(h2): erf when h1 >= 0 > h2 (no cancellation), complementary tails otherwise.
    gap = np.where(
        h1 >= 0.0,
        0.5 * (erf(h1 / math.sqrt(2.0)) - erf(h2 / math.sqrt(2.0))),
        ndtr(h1) - ndtr(h2),
    )
    b: FloatArray = np.exp(0.5 * x) * gap - 2.0 * np.sinh(-0.5 * x) * ndtr(h2)
    return b


def _normalised_vega(x: FloatArray, s: FloatArray) -> FloatArray:
    """d b / d s = exp(x/2) N'(x/s + s/2), written without the cancelling factors."""
    return _INV_SQRT_2PI * np.exp(-0.5 * ((x / s) ** 2 + 0.25 * s * s))


def _solve_normalised(x: FloatArray, beta: FloatArray) -> FloatArray:
    """s > 0 with b(x, s) = beta, for flat arrays x <= 0 and 0 < beta < exp(x/2).

    NaN where beta is so close to exp(x/2) that no s resolves it in floating point.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        s_c = np.sqrt(-2.0 * x)
        b_c = np.where(s_c > 0.0, _normalised_otm_call(x, np.where(s_c > 0, s_c, 1.0)), 0.0)
        low_branch = beta < b_c
        # b(x, s) <= b(0, s) = erf(s / (2 sqrt 2)) for x <= 0, so the at-the-money inversion of
        # beta is a lower bound on the root: a start left of it for the concave branch.
        s_atm = 2.0 * math.sqrt(2.0) * erfinv(np.minimum(beta, 1.0 - 1e-16))
        s = np.where(low_branch, s_c, np.maximum(s_c, s_atm))
        s = np.where(s > 0.0, s, 1e-8)

        hi = np.maximum(2.0 * s, 1.0)
        for _ in range(12):  # b(x, 4096) equals exp(x/2) to the last bit, so doubling stops here
            short = _normalised_otm_call(x, hi) <= beta
            if not short.any():
                break
            hi = np.where(short, 2.0 * hi, hi)
        unbracketed = _normalised_otm_call(x, hi) <= beta  # too close to the upper bound
        lo = np.zeros_like(s)
        s = np.minimum(s, hi)
        log_beta = np.log(beta)
        active = ~unbracketed
        for _ in range(_IV_MAX_ITER):
            b = _normalised_otm_call(x, s)
            above = b > beta
            hi = np.where(above, s, hi)
            lo = np.where(above, lo, s)
            vega = _normalised_vega(x, s)
            step = np.where(low_branch, (np.log(b) - log_beta) * b / vega, (b - beta) / vega)
            s_new = s - step
            outside = ~((s_new > lo) & (s_new < hi))  # also catches NaN from b = 0
            s_new = np.where(outside, 0.5 * (lo + hi), s_new)
            priced = np.abs(b - beta) <= _IV_REL_TOL * beta  # keep s itself: it reprices
            settled = (np.abs(s_new - s) <= _IV_REL_TOL * s) | (hi - lo <= _IV_REL_TOL * hi)
            s = np.where(active & ~priced, s_new, s)
            active &= ~(priced | settled)
            if not active.any():
                break
    return np.where(unbracketed, np.nan, s)


def implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    outside: str = "raise",
) -> FloatOrArray:
    """The volatility at which :func:`bs_price` returns ``price``; vectorised and broadcasting.

    Converges for every price strictly inside the no-arbitrage bounds: above the discounted
    intrinsic value on the forward, ``max(±(spot*exp(-div*t) - strike*exp(-rate*t)), 0)``, and
    below ``spot*exp(-div*t)`` for calls or ``strike*exp(-rate*t)`` for puts. In-the-money options
    are solved through their out-of-the-money counterpart (put-call parity), so deep in- and
    out-of-the-money prices, down to the smallest positive floats, are resolved; the result
    reprices to within a few ulps of ``price``.

    ``outside="raise"`` (default) raises :class:`OptionInputError` naming the first offending
    price and its bounds when any price is not strictly inside them (which includes a deep
    in-the-money price whose time value is below floating-point resolution, and ``t = 0``);
    ``outside="nan"`` returns NaN for those elements and solves the rest.
    """
    if outside not in ("raise", "nan"):
        raise OptionInputError(f"outside must be 'raise' or 'nan', got {outside!r}")
    shape, (price, spot, strike, t, rate, div, omega) = _flat_checked(
        as_checked_array("price", price),
        as_checked_array("spot", spot, above=0.0),
        as_checked_array("strike", strike, above=0.0),
        as_checked_array("t", t, at_least=0.0),
        as_checked_array("rate", rate),
        as_checked_array("div", div),
        _option_sign(call),
    )
    df_r = np.exp(-rate * t)
    df_q = np.exp(-div * t)
    intrinsic = np.maximum(omega * (spot * df_q - strike * df_r), 0.0)
    upper = np.where(omega > 0, spot * df_q, strike * df_r)
    log_fk = np.log(spot / strike) + (rate - div) * t
    scale = df_r * np.sqrt(spot * strike) * np.exp(0.5 * (rate - div) * t)  # df_r * sqrt(F K)
    beta = (price - intrinsic) / scale
    # beta > 0 also refuses prices above intrinsic by less than the resolution of the parity
    # subtraction: their time value, hence their vol, is lost to rounding.
    solvable = (price > intrinsic) & (price < upper) & (beta > 0.0) & (t > 0.0)
    if outside == "raise" and not solvable.all():
        _raise_unsolvable(~solvable, shape, price, spot, strike, t, intrinsic, upper, omega)

    vol = np.full(price.shape, np.nan)
    if solvable.any():
        s = _solve_normalised(-np.abs(log_fk[solvable]), beta[solvable])
        if outside == "raise" and np.isnan(s).any():
            unbracketed = np.zeros(price.shape, dtype=bool)
            unbracketed[np.flatnonzero(solvable)[np.isnan(s)]] = True
            _raise_unsolvable(unbracketed, shape, price, spot, strike, t, intrinsic, upper, omega)
        vol[solvable] = s / np.sqrt(t[solvable])
    return _result(vol.reshape(shape))


def _flat_checked(*arrays: _Num) -> tuple[tuple[int, ...], list[FloatArray]]:
    """The broadcast shape of checked ``arrays`` and each broadcast to it and flattened."""
    broadcast = np.broadcast_arrays(*arrays)
    return broadcast[0].shape, [a.ravel() for a in broadcast]


def _raise_unsolvable(
    bad: _BoolArray,
    shape: tuple[int, ...],
    price: FloatArray,
    spot: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    intrinsic: FloatArray,
    upper: FloatArray,
    omega: FloatArray,
) -> NoReturn:
    """Raise the OptionInputError that names the first price outside its bounds."""
    i = int(np.flatnonzero(bad)[0])
    kind = "call" if omega[i] > 0 else "put"
    count = f" ({int(bad.sum())} of {bad.size} outside)"
    where = f" at flat index {i}{count}" if shape else ""
    p, s, k, tt, lo, hi = (float(a[i]) for a in (price, spot, strike, t, intrinsic, upper))
    if tt == 0.0:
        reason = "t must be > 0 for an implied volatility (an expired option has no time value)"
    else:
        reason = f"it must lie strictly between the discounted intrinsic value {lo!r} and {hi!r}"
    raise OptionInputError(
        f"price {p!r}{where} is outside the no-arbitrage bounds of a {kind} with "
        f"spot={s!r}, strike={k!r}, t={tt!r}: {reason} (resolvably, in floating point)"
    )


# --------------------------------------------------------------------------------------------
# Transaction costs: Leland (1985) and Whalley & Wilmott (1997)
# --------------------------------------------------------------------------------------------


def leland_number(
    vol: ArrayLike, round_trip_cost: ArrayLike, rebalance_interval: ArrayLike
) -> FloatOrArray:
    """Leland's number ``Le = sqrt(2/pi) * k / (vol * sqrt(dt))``.

    ``k`` = ``round_trip_cost``, the proportional cost of buying and then selling one unit of
    underlying (0.001 = 10 bp round trip, i.e. 5 bp per side); ``dt`` = ``rebalance_interval`` in
    trading years; ``vol`` annualised. Dimensionless.
    """
    vol = as_checked_array("vol", vol, above=0.0)
    k = as_checked_array("round_trip_cost", round_trip_cost, at_least=0.0)
    dt = as_checked_array("rebalance_interval", rebalance_interval, above=0.0)
    return _result(_SQRT_2_OVER_PI * k / (vol * np.sqrt(dt)))


def leland_volatility(
    vol: ArrayLike,
    round_trip_cost: ArrayLike,
    rebalance_interval: ArrayLike,
    option_side: int = -1,
) -> FloatOrArray:
    """Leland's cost-adjusted volatility ``vol * sqrt(1 + option_side' * Le)``.

    For a hedger who is SHORT a convex option (sold it, ``option_side=-1``, the default: the
    dealer who sells), replication buys high and sells low more often than continuous hedging
    assumes, so the adjusted volatility is higher, ``vol * sqrt(1 + Le)``, and the Black-Scholes
    price at it is the price that covers expected rebalancing costs. For a hedger who is LONG
    the option (``option_side=+1``) it is ``vol * sqrt(1 - Le)``, which requires ``Le < 1``.
    Arguments as in :func:`leland_number`.
    """
    if option_side not in (-1, 1):
        raise OptionInputError(f"option_side must be -1 (short) or +1 (long), got {option_side!r}")
    vol_arr = as_checked_array("vol", vol, above=0.0)
    le = np.asarray(leland_number(vol_arr, round_trip_cost, rebalance_interval))
    factor = 1.0 - option_side * le
    if not (factor > 0.0).all():
        raise OptionInputError(
            "leland_volatility for a long option needs Leland number < 1 (costs too high for "
            f"the rebalance interval); got Le = {float(np.max(le))!r}"
        )
    return _result(vol_arr * np.sqrt(factor))


def whalley_wilmott_halfwidth(
    spot: ArrayLike,
    gamma: ArrayLike,
    cost: ArrayLike,
    risk_aversion: ArrayLike,
    t_remaining: ArrayLike = 0.0,
    rate: ArrayLike = 0.0,
) -> FloatOrArray:
    """Half-width of Whalley & Wilmott's no-trade band around the Black-Scholes delta.

    ``H = (3 * exp(-rate * t_remaining) * cost * spot * gamma**2 / (2 * risk_aversion))**(1/3)``,
    so ``H ∝ cost**(1/3) * risk_aversion**(-1/3) * |gamma|**(2/3)``. ``cost`` is the proportional
    cost per unit traded (fraction of notional, one side), ``risk_aversion`` the hedger's absolute
    risk aversion (per currency unit), ``gamma`` the position's gamma in shares per currency unit of
    spot, ``t_remaining`` the time to expiry in trading years. ``H`` is in the shares of
    ``gamma * spot``: pass one option's gamma to get delta per option (shares per share of
    underlying); the hedger trades only when the held hedge leaves ``[delta - H, delta + H]``.
    """
    spot = as_checked_array("spot", spot, above=0.0)
    gamma = as_checked_array("gamma", gamma)
    cost = as_checked_array("cost", cost, at_least=0.0)
    risk_aversion = as_checked_array("risk_aversion", risk_aversion, above=0.0)
    t_remaining = as_checked_array("t_remaining", t_remaining, at_least=0.0)
    rate = as_checked_array("rate", rate)
    inside = 3.0 * np.exp(-rate * t_remaining) * cost * spot * gamma * gamma / (2.0 * risk_aversion)
    return _result(np.cbrt(inside))
