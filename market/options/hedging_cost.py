"""The cost of delta-hedging an option position: initial hedge, expected rebalancing, Monte Carlo.

Conventions (as in :mod:`market.options.pricing`): time in trading years (``trading seconds / (252 *
23,400)``), volatilities and rates annualised on that basis, prices per unit of underlying.
``cost`` is the proportional cost per unit traded, one side, as a fraction of notional: a
round-trip cost ``k`` is ``cost = k / 2`` (5 bp per side is ``cost = 0.0005``; divide a cost in
bp by 10,000). Costs are reported as positive currency amounts (positive = cost to the hedger).
Option positions are signed: +1 long, -1 short (a dealer who sold is short); the hedge holds
``-position * delta`` shares per option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.options.pricing import (
    FloatArray,
    FloatOrArray,
    OptionInputError,
    _option_sign,
    _result,
    _unchecked_delta,
    as_checked_array,
    bs_price,
)

__all__ = [
    "BandRule",
    "HedgingSimulation",
    "TimeRule",
    "expected_dollar_gamma",
    "expected_rebalancing_cost",
    "initial_hedging_cost",
    "simulate_discrete_hedging",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# A checked argument, a scalar or an array (np.float64 is a float).
_Num = float | FloatArray


def initial_hedging_cost(
    delta: ArrayLike,
    contracts: ArrayLike,
    spot: ArrayLike,
    cost: ArrayLike,
    multiplier: ArrayLike = 100,
) -> FloatOrArray:
    """Cost of putting on the initial delta hedge of ``contracts`` options.

    The hedge trade is ``|delta * contracts * multiplier|`` shares (``delta`` per option per unit
    of underlying, ``contracts`` signed), paid ``cost`` (fraction of notional, one side) on its
    notional at ``spot``: ``|delta * contracts * multiplier| * spot * cost``, in currency.
    """
    delta = as_checked_array("delta", delta)
    contracts = as_checked_array("contracts", contracts)
    spot = as_checked_array("spot", spot, above=0.0)
    cost = as_checked_array("cost", cost, at_least=0.0)
    multiplier = as_checked_array("multiplier", multiplier, above=0.0)
    return _result(np.abs(delta * contracts * multiplier) * spot * cost)


def expected_dollar_gamma(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    elapsed: ArrayLike,
    hedge_vol: ArrayLike,
    realised_vol: ArrayLike | None = None,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    drift: ArrayLike | None = None,
) -> FloatOrArray:
    """``E[S_u**2 * Gamma(S_u, t - u)]`` at ``u = elapsed`` for an option expiring at ``t``.

    Gamma is Black-Scholes-Merton at ``hedge_vol``; the spot follows a geometric Brownian motion
    from ``spot`` with volatility ``realised_vol`` (default ``hedge_vol``) and drift ``drift``
    (default ``rate - div``). Exact under that model:

        E[S_u² Γ_u] = K exp(-rate (t-u)) N'(m / Σ) / Σ,
        Σ² = hedge_vol² (t-u) + realised_vol² u,
        m = ln(S/K) + (drift - realised_vol²/2) u + (rate - div - hedge_vol²/2)(t-u).

    When the two vols agree and ``drift = rate - div`` this is ``S² Γ exp(rate*u)``: the
    expected dollar gamma does not decay towards expiry even though the at-the-money gamma
    explodes, because the spot is ever less likely to be near the strike. Currency units
    (dollar gamma per unit of log-return squared); multiply by 0.01 for a 1% move scale.
    """
    spot = as_checked_array("spot", spot, above=0.0)
    strike = as_checked_array("strike", strike, above=0.0)
    t = as_checked_array("t", t, at_least=0.0)
    elapsed = as_checked_array("elapsed", elapsed, at_least=0.0)
    if not (elapsed <= t).all():
        raise OptionInputError("elapsed must lie in [0, t] (time since the start, in years)")
    hedge_vol = as_checked_array("hedge_vol", hedge_vol, above=0.0)
    realised = hedge_vol if realised_vol is None else realised_vol
    realised = as_checked_array("realised_vol", realised, at_least=0.0)
    rate = as_checked_array("rate", rate)
    div = as_checked_array("div", div)
    drift = rate - div if drift is None else as_checked_array("drift", drift)
    return _result(
        _expected_dollar_gamma(spot, strike, t, elapsed, hedge_vol, realised, rate, div, drift)
    )


def _expected_dollar_gamma(
    spot: _Num,
    strike: _Num,
    t: _Num,
    u: _Num,
    hedge_vol: _Num,
    realised: _Num,
    rate: _Num,
    div: _Num,
    drift: _Num,
) -> FloatArray:
    """The formula of :func:`expected_dollar_gamma` on checked inputs (``u`` = elapsed)."""
    tau = t - u
    total_sd = np.sqrt(hedge_vol**2 * tau + realised**2 * u)
    live = total_sd > 0.0
    sd_safe = np.where(live, total_sd, 1.0)
    m = (
        np.log(spot / strike)
        + (drift - 0.5 * realised**2) * u
        + (rate - div - 0.5 * hedge_vol**2) * tau
    )
    z = m / sd_safe
    density = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return np.where(live, strike * np.exp(-rate * tau) * density / sd_safe, 0.0)


def expected_rebalancing_cost(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    cost: ArrayLike,
    rebalance_interval: ArrayLike,
    multiplier: ArrayLike = 100,
    contracts: ArrayLike = 1,
    rate: ArrayLike = 0.0,
    div: ArrayLike = 0.0,
    hedge_vol: ArrayLike | None = None,
    drift: ArrayLike | None = None,
    max_dates: int = 512,
) -> FloatOrArray:
    """Expected present value of the cost of time-based delta rebalancing until expiry.

    Leland's approximation: over an interval of length ``l`` the hedge changes by
    ``|dDelta| ≈ Gamma * S * vol * sqrt(l) * |Z|``, so ``E|dDelta| ≈ Gamma S vol sqrt(2 l / pi)``
    shares per option and the rebalance at the interval's end costs ``|dDelta| * S * cost``.
    Rebalances fall at ``i * dt`` (``dt = rebalance_interval`` in years) and, last, at expiry
    (adjusting to the payoff's delivery quantity). Summed and discounted:

        E[cost] = cost * multiplier * |contracts| * vol * sqrt(2/pi)
                  * sum_i exp(-rate t_i) * E[S² Gamma](t_{i-1}) * sqrt(t_i - t_{i-1}),

    with ``E[S² Gamma]`` from :func:`expected_dollar_gamma` (Gamma at ``hedge_vol``, default
    ``vol``; the spot moves with ``vol`` and ``drift``). The sum runs over a time-grid axis
    broadcast against the option arrays; past ``max_dates`` rebalances per option, consecutive
    dates are grouped ``n / max_dates`` at a time (the summand is smooth in time). With equal
    vols, ``rate = div = 0`` and a fine grid this is ``cost * S² Gamma * vol *
    sqrt(2/(pi dt)) * t`` per option, the cost that Leland's adjusted volatility prices in.

    ``vol`` is the volatility of the underlying's moves (the realised volatility); ``cost`` the
    proportional cost per side. Returns currency per position, positive.
    """
    spot = as_checked_array("spot", spot, above=0.0)
    strike = as_checked_array("strike", strike, above=0.0)
    t = as_checked_array("t", t, at_least=0.0)
    vol = as_checked_array("vol", vol, above=0.0)
    cost = as_checked_array("cost", cost, at_least=0.0)
    dt = as_checked_array("rebalance_interval", rebalance_interval, above=0.0)
    multiplier = as_checked_array("multiplier", multiplier, above=0.0)
    contracts = as_checked_array("contracts", contracts)
    rate = as_checked_array("rate", rate)
    div = as_checked_array("div", div)
    hedge = vol if hedge_vol is None else as_checked_array("hedge_vol", hedge_vol, above=0.0)
    drift = rate - div if drift is None else as_checked_array("drift", drift)
    if not (isinstance(max_dates, int) and max_dates >= 1):
        raise OptionInputError(f"max_dates must be an integer >= 1, got {max_dates!r}")
    scale = cost * multiplier * np.abs(contracts) * vol * _SQRT_2_OVER_PI
    dated = _discounted_gamma_sum(spot, strike, t, vol, dt, rate, div, hedge, drift, max_dates)
    return _result(scale * dated)


def _discounted_gamma_sum(
    spot: _Num,
    strike: _Num,
    t: _Num,
    vol: _Num,
    dt: _Num,
    rate: _Num,
    div: _Num,
    hedge: _Num,
    drift: _Num,
    max_dates: int,
) -> FloatArray:
    """``sum_i exp(-rate t_i) * E[S² Gamma](t_{i-1}) * sqrt(t_i - t_{i-1})`` over the
    rebalancing dates of :func:`expected_rebalancing_cost`, on checked inputs."""
    spot, strike, t, vol, dt, rate, div, hedge, drift = np.broadcast_arrays(
        spot, strike, t, vol, dt, rate, div, hedge, drift
    )
    # Intervals of full length dt, then one shorter interval ending at expiry (if any).
    n_full = np.floor(t / dt * (1.0 + 1e-12))
    last = np.maximum(t - n_full * dt, 0.0)
    nodes = int(min(max(float(n_full.max(initial=0.0)), 1.0), max_dates))
    used = np.minimum(n_full, nodes)
    dates_per_node = np.where(used > 0, n_full / np.maximum(used, 1.0), 0.0)
    j = np.arange(nodes, dtype=float)
    ex = (..., np.newaxis)  # the trailing time-grid axis
    start = ((j + 0.5) * dates_per_node[ex] - 0.5) * dt[ex]
    start = np.clip(start, 0.0, t[ex])
    end = np.minimum(start + dt[ex], t[ex])
    active = j < used[ex]
    dollar_gamma = _expected_dollar_gamma(
        spot[ex], strike[ex], t[ex], start, hedge[ex], vol[ex], rate[ex], div[ex], drift[ex]
    )
    full_sum = (
        np.sum(np.where(active, np.exp(-rate[ex] * end) * dollar_gamma, 0.0), axis=-1)
        * dates_per_node
        * np.sqrt(dt)
    )
    last_start = n_full * dt
    last_sum = np.where(
        last > 1e-12 * np.maximum(t, 1e-300),
        np.exp(-rate * t)
        * _expected_dollar_gamma(spot, strike, t, last_start, hedge, vol, rate, div, drift)
        * np.sqrt(last),
        0.0,
    )
    total: FloatArray = full_sum + last_sum
    return total


# --------------------------------------------------------------------------------------------
# Monte-Carlo discrete hedging
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeRule:
    """Rebalance to the target delta every ``interval_seconds`` of trading time (and at expiry)."""

    interval_seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_seconds) and self.interval_seconds > 0):
            raise OptionInputError(
                f"TimeRule.interval_seconds must be finite and > 0, got {self.interval_seconds!r}"
            )


@dataclass(frozen=True)
class BandRule:
    """Rebalance when ``|target - held|`` exceeds ``half_width`` shares per option.

    Checked at every simulation step. ``rebalance_to="target"`` trades back to the target delta;
    ``"edge"`` trades only to the nearest edge of the band (Whalley-Wilmott's optimal policy).
    """

    half_width: float
    rebalance_to: str = "target"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_width) and self.half_width >= 0):
            raise OptionInputError(
                f"BandRule.half_width must be finite and >= 0 (shares per option), got "
                f"{self.half_width!r}"
            )
        if self.rebalance_to not in ("target", "edge"):
            raise OptionInputError(
                f"BandRule.rebalance_to must be 'target' or 'edge', got {self.rebalance_to!r}"
            )


@dataclass(frozen=True)
class HedgingSimulation:
    """Per-path outcome of :func:`simulate_discrete_hedging`, in currency per position.

    - ``pnl``: premium received or paid + hedge trading P&L (incl. financing and dividends) +
      option payoff, excluding transaction costs; discounted to the start at ``rate``.
    - ``initial_cost``: cost of the initial hedge trade (the same on every path).
    - ``trading_cost``: present value of the costs of every later hedge trade, including the
      adjustment at expiry to the payoff's delivery quantity (delivery itself is free).
    - ``n_trades``: number of hedge trades after the initial one.
    - ``terminal_spot``: the spot at expiry.
    """

    pnl: FloatArray
    initial_cost: FloatArray
    trading_cost: FloatArray
    n_trades: NDArray[np.int64]
    terminal_spot: FloatArray

    @property
    def net_pnl(self) -> FloatArray:
        """P&L after every transaction cost, the initial hedge's included."""
        return self.pnl - self.initial_cost - self.trading_cost

    def summary(self) -> dict[str, float]:
        """Mean, standard deviation, standard error of the mean and 5/50/95% quantiles.

        Keys ``<field>_<statistic>`` for ``pnl``, ``net_pnl``, ``trading_cost`` and ``n_trades``,
        plus ``n_paths``.
        """
        out: dict[str, float] = {"n_paths": float(self.pnl.size)}
        for name in ("pnl", "net_pnl", "trading_cost", "n_trades"):
            values = np.asarray(getattr(self, name), dtype=float)
            std = float(values.std(ddof=1)) if values.size > 1 else 0.0
            q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
            out |= {
                f"{name}_mean": float(values.mean()),
                f"{name}_std": std,
                f"{name}_stderr": std / math.sqrt(values.size),
                f"{name}_q05": float(q05),
                f"{name}_q50": float(q50),
                f"{name}_q95": float(q95),
            }
        return out


def _scalar(
    name: str, value: ArrayLike, *, above: float | None = None, at_least: float | None = None
) -> float:
    arr = as_checked_array(name, value, above=above, at_least=at_least)
    if arr.ndim:
        raise OptionInputError(f"{name} must be a scalar for simulate_discrete_hedging")
    return float(arr)


class _HedgeParams(NamedTuple):
    """The checked scalar inputs of :func:`simulate_discrete_hedging` (units as there)."""

    spot: float
    strike: float
    t: float
    implied_vol: float
    realised_vol: float
    hedge_vol: float
    cost: float
    rate: float
    div: float
    drift: float
    position: float


def simulate_discrete_hedging(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    implied_vol: ArrayLike,
    realised_vol: ArrayLike,
    rule: TimeRule | BandRule,
    cost: ArrayLike,
    n_paths: int,
    rng: np.random.Generator,
    rate: ArrayLike = 0.0,
    call: ArrayLike = True,
    position: ArrayLike = -1,
    steps_per_day: int = 78,
    hedge_vol: ArrayLike | None = None,
    div: ArrayLike = 0.0,
    drift: ArrayLike | None = None,
) -> HedgingSimulation:
    """Monte-Carlo discrete delta hedging of one European option position to expiry.

    The position (``position`` options, -1 = short one, the default) is opened at the
    Black-Scholes price at ``implied_vol`` and hedged with ``-position * delta`` shares, delta at
    ``hedge_vol`` (default ``implied_vol``). The spot follows an exact geometric Brownian motion
    with ``realised_vol`` and ``drift`` (default ``rate - div``) on a grid of ``steps_per_day``
    steps per 23,400-s trading day (78 = 5 minutes); the last step is shorter when ``t`` is not a
    whole number of steps. ``rule`` is a :class:`TimeRule` (its interval a multiple of the step)
    or a :class:`BandRule` (checked every step). At expiry the hedge is brought to the payoff's
    delivery quantity (costed); delivery and cash settlement are free. Every hedge trade pays
    ``cost`` (fraction of notional, one side) on its notional. Cash earns ``rate``; shares earn
    ``div``. Vectorised across paths; ``rng`` (a ``numpy.random.Generator``) draws one normal per
    path per step in step order, so two rules run with equal seeds see the same paths.
    """
    params = _hedge_params(
        spot, strike, t, implied_vol, realised_vol, hedge_vol, cost, rate, div, drift, position
    )
    _check_simulation_setup(rule, rng, n_paths, steps_per_day, call)
    omega = float(_option_sign(call))
    step_seconds = SECONDS_PER_DAY / steps_per_day
    every = _steps_per_rebalance(rule, step_seconds, steps_per_day)
    return _hedge_paths(params, rule, every, omega, step_seconds / SECONDS_PER_YEAR, n_paths, rng)


def _hedge_params(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    implied_vol: ArrayLike,
    realised_vol: ArrayLike,
    hedge_vol: ArrayLike | None,
    cost: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    drift: ArrayLike | None,
    position: ArrayLike,
) -> _HedgeParams:
    """The scalar arguments checked (in this order) and defaulted."""
    spot_ = _scalar("spot", spot, above=0.0)
    strike_ = _scalar("strike", strike, above=0.0)
    t_ = _scalar("t", t, above=0.0)
    implied = _scalar("implied_vol", implied_vol, above=0.0)
    realised = _scalar("realised_vol", realised_vol, at_least=0.0)
    hedge = implied if hedge_vol is None else _scalar("hedge_vol", hedge_vol, above=0.0)
    cost_ = _scalar("cost", cost, at_least=0.0)
    rate_ = _scalar("rate", rate)
    div_ = _scalar("div", div)
    drift_ = rate_ - div_ if drift is None else _scalar("drift", drift)
    position_ = _scalar("position", position)
    if position_ == 0.0:
        raise OptionInputError("position must be non-zero (signed number of options)")
    return _HedgeParams(
        spot_, strike_, t_, implied, realised, hedge, cost_, rate_, div_, drift_, position_
    )


def _check_simulation_setup(
    rule: object, rng: object, n_paths: object, steps_per_day: object, call: ArrayLike
) -> None:
    """Refuse a rule, generator, path count, grid or option kind of the wrong kind."""
    if not isinstance(rule, TimeRule | BandRule):
        raise OptionInputError(f"rule must be a TimeRule or a BandRule, got {rule!r}")
    if not isinstance(rng, np.random.Generator):
        raise OptionInputError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not (isinstance(n_paths, int | np.integer) and n_paths >= 1):
        raise OptionInputError(f"n_paths must be an integer >= 1, got {n_paths!r}")
    if not (isinstance(steps_per_day, int | np.integer) and steps_per_day >= 1):
        raise OptionInputError(f"steps_per_day must be an integer >= 1, got {steps_per_day!r}")
    if np.ndim(call) != 0:
        raise OptionInputError("call must be a single bool for simulate_discrete_hedging")


def _steps_per_rebalance(rule: TimeRule | BandRule, step_seconds: float, steps_per_day: int) -> int:
    """Simulation steps between a TimeRule's rebalances (0 for a BandRule, which checks every
    step); the interval must be a whole number of steps."""
    if not isinstance(rule, TimeRule):
        return 0
    ratio = rule.interval_seconds / step_seconds
    every = round(ratio)
    if every < 1 or abs(ratio - every) > 1e-9 * ratio:
        raise OptionInputError(
            f"TimeRule.interval_seconds must be a whole multiple of the simulation step "
            f"({step_seconds:g} s at steps_per_day={steps_per_day}), got "
            f"{rule.interval_seconds!r}"
        )
    return every


def _hedge_paths(
    p: _HedgeParams,
    rule: TimeRule | BandRule,
    every: int,
    omega: float,
    step_years: float,
    n_paths: int,
    rng: np.random.Generator,
) -> HedgingSimulation:
    """Open the position, then step the spot, the cash and the hedge to expiry on every path."""
    is_call = omega > 0
    n_steps = max(1, math.ceil(p.t / step_years - 1e-9))
    premium = bs_price(p.spot, p.strike, p.t, p.implied_vol, p.rate, p.div, is_call)
    s = np.full(n_paths, p.spot)
    held0 = -p.position * _unchecked_delta(
        p.spot, p.strike, p.t, p.hedge_vol, p.rate, p.div, is_call
    )
    held = np.full(n_paths, float(held0))
    initial_cost = np.abs(held) * p.spot * p.cost
    cash = np.full(n_paths, -p.position * premium) - held * p.spot
    trading_cost = np.zeros(n_paths)
    n_trades = np.zeros(n_paths, dtype=np.int64)
    half_width = rule.half_width * abs(p.position) if isinstance(rule, BandRule) else 0.0

    elapsed = 0.0
    for k in range(1, n_steps + 1):
        step = min(step_years, p.t - elapsed) if k == n_steps else step_years
        z = rng.standard_normal(n_paths)
        s_new = s * np.exp(
            (p.drift - 0.5 * p.realised_vol**2) * step + p.realised_vol * math.sqrt(step) * z
        )
        cash = cash * math.exp(p.rate * step) + held * s * math.expm1(p.div * step)
        s = s_new
        elapsed = p.t if k == n_steps else elapsed + step
        if k == n_steps:
            delivered = np.where(omega * (s - p.strike) > 0.0, omega, 0.0)
            trade = -p.position * delivered - held
        elif isinstance(rule, TimeRule):
            if k % every:
                continue
            trade = _target_hedge(p, s, elapsed, is_call) - held
        else:
            trade = _band_trade(rule, _target_hedge(p, s, elapsed, is_call) - held, half_width)
        traded = trade != 0.0
        n_trades += traded
        trading_cost += np.abs(trade) * s * p.cost * math.exp(-p.rate * elapsed)
        cash -= trade * s
        held = held + trade

    payoff = np.maximum(omega * (s - p.strike), 0.0)
    pnl = (cash + held * s + p.position * payoff) * math.exp(-p.rate * p.t)
    return HedgingSimulation(
        pnl=pnl,
        initial_cost=initial_cost,
        trading_cost=trading_cost,
        n_trades=n_trades,
        terminal_spot=s,
    )


def _target_hedge(p: _HedgeParams, s: FloatArray, elapsed: float, is_call: bool) -> FloatArray:
    """The hedge's target holding per path: ``-position * delta`` at ``hedge_vol``."""
    return -p.position * _unchecked_delta(
        s, p.strike, p.t - elapsed, p.hedge_vol, p.rate, p.div, is_call
    )


def _band_trade(rule: BandRule, gap: FloatArray, half_width: float) -> FloatArray:
    """The BandRule's trade per path: none inside the band, else to the target or the edge."""
    outside = np.abs(gap) > half_width
    if rule.rebalance_to == "edge":
        gap = gap - np.sign(gap) * half_width
    return np.where(outside, gap, 0.0)
