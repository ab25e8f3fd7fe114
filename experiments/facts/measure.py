"""The stylized facts of the many-day runs: one flat dict of named numbers, plus figure curves.

Every statistic pools the seeds as independent segments (:mod:`market.stats.facts`): returns,
lags and windows never cross from one seed to the next. Returns are log returns of the mid on the
1-minute grid; "a day" is 390 one-minute returns (the clock skips nights). Names of the numbers
(stable: facts.json carries them):

``r2_30m``, ``r2_1d``: R² of the mid's 30-minute and daily returns on the fundamental value's.
``beta_30m``, ``f_sd_30m_bp``, ``rest_sd_30m_bp``: slope of the mid's 30-minute returns on F's
(through the origin), F's own s.d. and the s.d. of the rest (what F does not explain), in bp.
``log_mid_f_std``, ``log_mid_f_half_life_min``: s.d. of ``log(mid / F)`` and its AR(1)
half-life on the 1-minute grid (minutes).
``abs_acf_1d``, ``abs_acf_positive_to_min``, ``abs_acf_exponent``, ``abs_acf_band``: ACF of
deseasonalised 1-minute |r| at one day; the longest lag (minutes) up to which every measured lag
is above the 95% band; the power-law exponent fitted from 30 minutes to one day; the band.
``kurtosis_30m``, ``kurtosis_1d``: excess kurtosis of 30-minute and daily returns.
``acf_max_r_1m``, ``acf_band_r_1m``, ``acf_max_r_5m``, ``acf_band_r_5m``: largest |ACF| of 1- and
5-minute returns at lags of 5 to 30 minutes, and the 95% band.
``vr_5m``, ``vr_30m``, ``vr_1d``: variance ratios of 1-minute returns.
``u_volume_open``, ``u_volume_close``, ``u_abs_r_open``, ``u_abs_r_close``: volume and |r| of the
first and last 30 minutes over midday (12:00 to 14:00); ``close_auction_share``,
``open_auction_share``: shares of the closing and opening uncrosses in all traded volume.
``hill_5m``, ``hill_5m_k``, ``hill_5m_se``: Hill index of 5-minute returns, k and s.e.
``spread_median_ticks``; ``stop_pauses_per_day``, ``luld_pauses_per_day``.
``dealer_volume_share``: dealers' share of all sides of all prints.
``gex_pct_daily_notional``: mean |dealer GEX| per 1% move over the mean day's traded value, %.
``sigma_daily``: s.d. of daily returns (decimal), the unit of the impact law.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from experiments.facts.runs import SeedSample
from market.stats import facts as fx
from market.stats.stylized import excess_kurtosis
from market.validation import ConfigError

PER_DAY = fx.MINUTES_PER_DAY
#: time-of-day windows in minutes since the open: first and last 30 minutes, midday 12:00-14:00
OPEN, CLOSE, MIDDAY = slice(0, 30), slice(PER_DAY - 30, PER_DAY), slice(150, 270)
#: the power law of the |r| ACF is fitted between these lags (minutes)
FIT_LO, FIT_HI = 30, PER_DAY
#: bin of the time-of-day |r| profile removed before the |r| ACF (minutes)
PROFILE_BIN = 5
#: below this many daily returns the daily s.d. comes from 30-minute returns instead
MIN_DAILY_RETURNS = 20

Facts = dict[str, float | int | None]


def _log(samples: Sequence[SeedSample], attr: str) -> list[np.ndarray]:
    return [np.log(getattr(s, attr)) for s in samples]


def _returns(samples: Sequence[SeedSample], block: int) -> list[np.ndarray]:
    return [fx.block_returns(x, block) for x in _log(samples, "mid")]


def _or_none(fn, *args) -> float | None:
    """``fn(*args)`` as a float, or None when the sample cannot support it."""
    try:
        value = float(fn(*args))
    except (ConfigError, ValueError):
        return None
    return value if np.isfinite(value) else None


def price_and_fundamental(samples: Sequence[SeedSample]) -> Facts:
    """How much of the price the fundamental value explains, and how far the price strays."""
    out: Facts = {}
    log_mid, log_f = _log(samples, "mid"), _log(samples, "fundamental")
    for key, block in (("r2_30m", 30), ("r2_1d", PER_DAY)):
        y = np.concatenate([fx.block_returns(m, block) for m in log_mid])
        x = np.concatenate([fx.block_returns(f, block) for f in log_f])
        out[key] = _or_none(fx.r_squared, y, x)
        if block == 30:
            out.update(_split(y, x, "30m"))
    gap = [m - f for m, f in zip(log_mid, log_f, strict=True)]
    out["log_mid_f_std"] = float(np.std(np.concatenate(gap)))
    out["log_mid_f_half_life_min"] = _or_none(fx.ar1_half_life, gap, 1.0)
    return out


def _split(y: np.ndarray, x: np.ndarray, horizon: str) -> Facts:
    """Where the variance of the mid's returns ``y`` comes from, given F's ``x`` over the same
    blocks: the slope on F (through the origin), F's own s.d. and the s.d. of what F does not
    explain (the flow's part), both in bp."""
    names = (f"beta_{horizon}", f"f_sd_{horizon}_bp", f"rest_sd_{horizon}_bp")
    if y.size < 3 or not np.dot(x, x) > 0:
        return dict.fromkeys(names)
    beta = float(np.dot(x, y) / np.dot(x, x))
    values = (beta, float(np.std(x)) * 1e4, float(np.std(y - beta * x)) * 1e4)
    return dict(zip(names, values, strict=True))


def volatility_memory(samples: Sequence[SeedSample]) -> tuple[Facts, dict]:
    """ACF of |1-minute returns| after removing the time-of-day profile; its power-law decay."""
    r1 = _returns(samples, 1)
    abs_r = [np.abs(r) for r in r1]
    profile = fx.time_of_day_profile(np.concatenate(abs_r), bin_width=PROFILE_BIN)
    profile = np.where(profile > 0.0, profile, profile.mean())  # a silent bin divides by its day
    scaled = [fx.deseasonalise(a, profile) for a in abs_r]
    longest = min(s.size for s in scaled)
    lags = fx.log_spaced_lags(1, max(2, min(5 * PER_DAY, longest // 4)))
    acf = fx.pooled_autocorrelation(scaled, lags)
    band = fx.acf_band(sum(s.size for s in scaled))
    above = np.isfinite(acf) & (acf > band)
    n_above = int(np.argmin(above)) if not above.all() else above.size
    beta, used = fx.power_law_exponent(lags, acf, FIT_LO, min(FIT_HI, lags[-1]))
    at_day = fx.pooled_autocorrelation(scaled, [PER_DAY])[0] if longest > PER_DAY else np.nan
    out: Facts = {
        "abs_acf_1d": None if np.isnan(at_day) else float(at_day),
        "abs_acf_positive_to_min": int(lags[n_above - 1]) if n_above else 0,
        "abs_acf_exponent": None if np.isnan(beta) else beta,
        "abs_acf_fit_points": used,
        "abs_acf_band": band,
    }
    return out, {"lags_min": lags.tolist(), "acf": acf.tolist(), "band": band}


def return_distribution(samples: Sequence[SeedSample], tail_fraction: float) -> Facts:
    """Fat tails: kurtosis at 30 minutes and a day, the Hill index of 5-minute returns."""
    out: Facts = {}
    for key, block in (("kurtosis_30m", 30), ("kurtosis_1d", PER_DAY)):
        out[key] = _or_none(excess_kurtosis, np.concatenate(_returns(samples, block)))
    r1d = np.concatenate(_returns(samples, PER_DAY))
    r30 = np.concatenate(_returns(samples, 30))
    out["n_daily_returns"] = int(r1d.size)
    out["sigma_daily"] = float(
        np.std(r1d) if r1d.size >= MIN_DAILY_RETURNS else np.std(r30) * np.sqrt(PER_DAY / 30)
    )
    try:
        hill = fx.hill_estimate(np.concatenate(_returns(samples, 5)), tail_fraction)
        out.update(hill_5m=hill.alpha, hill_5m_k=hill.k, hill_5m_se=hill.se)
    except (ConfigError, ValueError):
        out.update(hill_5m=None, hill_5m_k=None, hill_5m_se=None)
    return out


def linear_dependence(samples: Sequence[SeedSample]) -> Facts:
    """No linear predictability: return ACF beyond 5 minutes and variance ratios."""
    out: Facts = {}
    for key, block, lags in (("1m", 1, np.arange(5, 31)), ("5m", 5, np.arange(1, 7))):
        r = _returns(samples, block)
        acf = fx.pooled_autocorrelation(r, lags)
        out[f"acf_max_r_{key}"] = float(np.nanmax(np.abs(acf)))
        out[f"acf_band_r_{key}"] = fx.acf_band(sum(x.size for x in r))
    r1 = _returns(samples, 1)
    for key, h in (("vr_5m", 5), ("vr_30m", 30), ("vr_1d", PER_DAY)):
        out[key] = _or_none(fx.variance_ratio, r1, h)
    return out


def intraday_shape(samples: Sequence[SeedSample]) -> tuple[Facts, dict]:
    """Volume and |r| by minute of the day; the open and close over midday."""
    volume = fx.time_of_day_profile(np.concatenate([s.volume for s in samples]))
    abs_r = fx.time_of_day_profile(np.concatenate([np.abs(r) for r in _returns(samples, 1)]))
    out: Facts = {}
    for name, profile in (("volume", volume), ("abs_r", abs_r)):
        out[f"u_{name}_open"] = _or_none(fx.intraday_ratio, profile, OPEN, MIDDAY)
        out[f"u_{name}_close"] = _or_none(fx.intraday_ratio, profile, CLOSE, MIDDAY)
    total = float(sum(s.volume.sum() for s in samples))
    for kind in ("open", "close"):
        auction = sum(getattr(s, f"{kind}_auction_volume") for s in samples)
        out[f"{kind}_auction_share"] = auction / total if total > 0 else None
    return out, {"volume": volume.tolist(), "abs_r": abs_r.tolist()}


def market_quality(samples: Sequence[SeedSample]) -> Facts:
    """Spread, pauses per day, and the dealers' scale against the market's volume."""
    n_days = sum(s.days for s in samples)
    sides = {name: sum(s.pop_volume[name] for s in samples) for name in samples[0].pop_volume}
    total_sides = sum(sides.values())
    daily_notional = sum(s.notional for s in samples) / n_days
    gex = float(np.mean([s.gex_abs_mean for s in samples]))
    return {
        "spread_median_ticks": float(np.median(np.concatenate([s.spread_ticks for s in samples]))),
        "stop_pauses_per_day": sum(s.stop_pauses for s in samples) / n_days,
        "luld_pauses_per_day": sum(s.luld_pauses for s in samples) / n_days,
        "dealer_volume_share": sides.get("dealers", 0) / total_sides if total_sides else None,
        "gex_pct_daily_notional": 100.0 * gex / daily_notional if daily_notional else None,
    }


def measure_facts(samples: Sequence[SeedSample], tail_fraction: float) -> tuple[Facts, dict]:
    """Every fact of the module doc, and the curves the figures draw."""
    if not samples:
        raise ConfigError("measure_facts needs at least one run")
    memory, acf_curve = volatility_memory(samples)
    shape, profiles = intraday_shape(samples)
    facts: Facts = {
        **price_and_fundamental(samples),
        **memory,
        **return_distribution(samples, tail_fraction),
        **linear_dependence(samples),
        **shape,
        **market_quality(samples),
    }
    return facts, {"abs_acf": acf_curve, "intraday": profiles}
