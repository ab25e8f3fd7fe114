"""The real-market ranges and the table that sets the simulated facts against them.

Each :class:`Target` names one fact of :mod:`experiments.facts.measure`,
:mod:`experiments.facts.impact` or :mod:`experiments.facts.news`, the range observed in real
markets (with its source, written out in docs/facts.md) and how its simulated value is shown. A
bound may name another fact (the 95% band of an autocorrelation depends on the sample size). A
target without bounds is shown for information only.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass

Bound = float | str | None


@dataclass(frozen=True)
class Target:
    """One row of the facts table. ``shown`` formats the facts (``str.format`` with the facts
    as keywords); ``lo``/``hi`` are inclusive bounds, a string naming another fact."""

    key: str
    fact: str
    real: str
    lo: Bound
    hi: Bound
    shown: str
    source: str


TARGETS: tuple[Target, ...] = (
    Target(
        "r2_30m",
        "R² of 30-min returns on F",
        "0.2–0.5",
        0.2,
        0.5,
        "{r2_30m:.3f}",
        "Black 1986; French & Roll 1986",
    ),
    Target(
        "rest_sd_30m_bp",
        "30-min s.d.: F's / the rest's (slope on F)",
        "rest ≥ F's",
        None,
        None,
        "{f_sd_30m_bp:.1f} / {rest_sd_30m_bp:.1f} bp ({beta_30m:.2f})",
        "R² 0.2–0.5 needs the rest's variance 1–4× F's",
    ),
    Target("r2_1d", "R² of daily returns on F", "—", None, None, "{r2_1d:.3f}", ""),
    Target("log_mid_f_std", "s.d. of log(mid/F)", "—", None, None, "{log_mid_f_std:.2%}", ""),
    Target(
        "log_mid_f_half_life_min",
        "half-life of log(mid/F)",
        "—",
        None,
        None,
        "{log_mid_f_half_life_min:.1f} min",
        "",
    ),
    Target(
        "abs_acf_positive_to_min",
        "|r| ACF above its band up to",
        "≥ 1 day (390 min)",
        390,
        None,
        "{abs_acf_positive_to_min} min (ACF at 1 day {abs_acf_1d:.3f}, band {abs_acf_band:.3f})",
        "Ding, Granger & Engle 1993; Cont 2001",
    ),
    Target(
        "abs_acf_exponent",
        "|r| ACF power-law exponent (30 min–1 day)",
        "0.2–0.5",
        0.2,
        0.5,
        "{abs_acf_exponent:.2f} ({abs_acf_fit_points} lags)",
        "Ding, Granger & Engle 1993; Cont 2001",
    ),
    Target(
        "kurtosis_30m",
        "excess kurtosis, 30-min returns",
        "≥ 1",
        1.0,
        None,
        "{kurtosis_30m:.2f}",
        "Cont 2001",
    ),
    Target(
        "kurtosis_1d",
        "excess kurtosis, daily returns",
        "≥ 2",
        2.0,
        None,
        "{kurtosis_1d:.2f} ({n_daily_returns} days)",
        "Cont 2001",
    ),
    Target(
        "acf_max_r_1m",
        "max |ACF| of 1-min returns, lags 5–30 min",
        "≈ 0 (inside ±2/√N)",
        None,
        "acf_band_r_1m",
        "{acf_max_r_1m:.4f} (band {acf_band_r_1m:.4f})",
        "Cont 2001",
    ),
    Target(
        "acf_max_r_5m",
        "max |ACF| of 5-min returns, lags 5–30 min",
        "≈ 0 (inside ±2/√N)",
        None,
        "acf_band_r_5m",
        "{acf_max_r_5m:.4f} (band {acf_band_r_5m:.4f})",
        "Cont 2001",
    ),
    Target(
        "vr_5m",
        "variance ratio VR(5 min)",
        "0.9–1.1",
        0.9,
        1.1,
        "{vr_5m:.3f}",
        "Lo & MacKinlay 1988",
    ),
    Target(
        "vr_30m",
        "variance ratio VR(30 min)",
        "0.9–1.1",
        0.9,
        1.1,
        "{vr_30m:.3f}",
        "Lo & MacKinlay 1988",
    ),
    Target(
        "vr_1d",
        "variance ratio VR(1 day)",
        "0.9–1.1",
        0.9,
        1.1,
        "{vr_1d:.3f}",
        "Lo & MacKinlay 1988",
    ),
    Target(
        "u_volume_open",
        "volume, first 30 min / midday",
        "≥ 1.5×",
        1.5,
        None,
        "{u_volume_open:.2f}×",
        "Wood, McInish & Ord 1985; Jain & Joh 1988",
    ),
    Target(
        "u_volume_close",
        "volume, last 30 min / midday",
        "≥ 1.5×",
        1.5,
        None,
        "{u_volume_close:.2f}×",
        "Wood, McInish & Ord 1985; Jain & Joh 1988",
    ),
    Target(
        "u_abs_r_open",
        "|r|, first 30 min / midday",
        "≥ 1.5×",
        1.5,
        None,
        "{u_abs_r_open:.2f}×",
        "Harris 1986; Andersen & Bollerslev 1997",
    ),
    Target(
        "u_abs_r_close",
        "|r|, last 30 min / midday",
        "≥ 1.5×",
        1.5,
        None,
        "{u_abs_r_close:.2f}×",
        "Harris 1986; Andersen & Bollerslev 1997",
    ),
    Target(
        "close_auction_share",
        "closing auction's share of daily volume",
        "5–10%",
        0.05,
        0.10,
        "{close_auction_share:.2%}",
        "Bogousslavsky & Muravyev 2023",
    ),
    Target(
        "hill_5m",
        "Hill tail index, 5-min returns",
        "2.5–4.5",
        2.5,
        4.5,
        "{hill_5m:.2f} ± {hill_5m_se:.2f} (k = {hill_5m_k})",
        "Gopikrishnan et al. 1999",
    ),
    Target(
        "spread_median_ticks",
        "median spread",
        "a few ticks (1–5)",
        1.0,
        5.0,
        "{spread_median_ticks:.1f} ticks",
        "CME and exchange quote data",
    ),
    Target(
        "stop_pauses_per_day",
        "stop-logic pauses per calm day",
        "≤ 1",
        None,
        1.0,
        "{stop_pauses_per_day:.2f}",
        "CME Globex stop and velocity logic",
    ),
    Target(
        "luld_pauses_per_day",
        "LULD pauses per calm day",
        "0",
        None,
        0.0,
        "{luld_pauses_per_day:.2f}",
        "SEC Limit Up-Limit Down plan (2012)",
    ),
    Target(
        "dealer_volume_share",
        "dealers' share of volume",
        "a minority (< 50%)",
        0.0,
        0.5,
        "{dealer_volume_share:.2%}",
        "Ni, Pearson, Poteshman & White 2021",
    ),
    Target(
        "gex_pct_daily_notional",
        "|dealer GEX| per 1% move / daily notional",
        "a few % (1–5%)",
        1.0,
        5.0,
        "{gex_pct_daily_notional:.2f}%",
        "SqueezeMetrics 2017; Barbon & Buraschi 2021",
    ),
    Target(
        "impact_slope",
        "impact: slope of log I_peak on log Q/V",
        "0.4–0.6",
        0.4,
        0.6,
        "{impact_slope:.2f} ({impact_sizes_positive} sizes)",
        "Tóth et al. 2011; Zarinelli et al. 2015",
    ),
    Target(
        "impact_y",
        "impact: Y = I_peak / (σ_D √(Q/V))",
        "order 1 (0.5–1.5)",
        0.5,
        1.5,
        "{impact_y:.2f}",
        "Tóth et al. 2011",
    ),
    Target(
        "impact_after_over_peak",
        "impact: I(T_end + 60 min) / I_peak",
        "0.5–0.67",
        0.5,
        0.67,
        "{impact_after_over_peak:.2f} (90%: {impact_after_over_peak_lo:.2f} to "
        "{impact_after_over_peak_hi:.2f})",
        "Moro et al. 2009; Bucci et al. 2019",
    ),
    Target(
        "news_absorption_5m",
        "public news in the price after 5 min",
        "≥ 0.8",
        0.8,
        None,
        "{news_absorption_5m:.2f} ({news_seeds_5m} seeds)",
        "Andersen et al. 2003; Busse & Green 2002",
    ),
    Target(
        "news_absorption_30m",
        "public news in the price after 30 min",
        "0.9–1.1",
        0.9,
        1.1,
        "{news_absorption_30m:.2f} ({news_seeds_30m} seeds)",
        "no lasting under- or overreaction on average",
    ),
)


def _bound(bound: Bound, facts: Mapping[str, object]) -> float | None:
    if isinstance(bound, str):
        value = facts.get(bound)
        return None if value is None else float(value)  # type: ignore[arg-type]
    return bound


def verdict(target: Target, facts: Mapping[str, object]) -> str:
    """``pass`` or ``miss`` against the real range, ``info`` without one, ``n/a`` without data."""
    value = facts.get(target.key)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if target.lo is None and target.hi is None:
        return "info"
    lo, hi = _bound(target.lo, facts), _bound(target.hi, facts)
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)  # type: ignore[operator]
    return "pass" if ok else "miss"


def shown(target: Target, facts: Mapping[str, object]) -> str:
    """The simulated value as the table shows it (``n/a`` if a fact it uses is missing)."""
    names = [f[1] for f in string.Formatter().parse(target.shown) if f[1]]
    if any(facts.get(n) is None for n in names):
        return "n/a"
    return target.shown.format(**facts)


def table_rows(facts: Mapping[str, object]) -> list[dict[str, str]]:
    """One row per target: fact, real range, simulated value, verdict, source."""
    return [
        {
            "fact": t.fact,
            "real": t.real,
            "simulated": shown(t, facts),
            "verdict": verdict(t, facts),
            "source": t.source,
            "key": t.key,
        }
        for t in TARGETS
    ]


def render_text(rows: list[dict[str, str]]) -> str:
    """The table in aligned plain text (for the terminal)."""
    cols = ("fact", "real", "simulated", "verdict")
    heads = ("fact", "real range", "simulated", "pass/miss")
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in zip(cols, heads, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(r[c].ljust(w) for c, w in zip(cols, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in out)


def render_markdown(rows: list[dict[str, str]]) -> str:
    """The table in Markdown, with each range's source."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # |r| must not end the cell

    out = ["| fact | real range | simulated | pass/miss | source |", "|---|---|---|---|---|"]
    out += [
        "| "
        + " | ".join(cell(r[c]) for c in ("fact", "real", "simulated", "verdict", "source"))
        + " |"
        for r in rows
    ]
    return "\n".join(out)
