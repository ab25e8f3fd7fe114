"""``python -m experiments.facts.gamma``: the paired gamma experiment.

Each seed is run three times on the baseline market, identical but for the dealers' book and
hedging (the arms, :data:`ARMS`):

- ``short``: customers only buy options (out-of-the-money puts and calls, and an opening book
  of at-the-money straddles), so the dealers are short gamma; they hedge;
- ``long``: the mirror image, customers only sell the same contracts (covered calls and sold
  puts on the same strikes, the opening book sold), so the dealers are long gamma; they hedge;
- ``neutral``: the ``short`` option flow, but the dealers never hedge, so nothing of the options
  reaches the underlying: the market without dealer feedback.

Every population draws from its own random stream, so the three arms of one seed see the same
background orders, news and liquidity until the dealers' trades change the path.

Printed per arm (pooled over the seeds): realised volatility at 10 s, 1 min, 30 min and 1 day
over the ``neutral`` arm's (the 1-day ratio only when there are at least
:data:`MIN_DAILY_RETURNS` days per arm), the lag-1 autocorrelation of 10-s returns, the
regression of the last-30-minute return on the rest-of-day return (slope, t statistic, days;
Baltussen, Da, Lammers & Martens 2021), the dealers' share of traded volume, the fraction of
dealer looks outside the outer band, and mean |GEX| per 1% move over the mean day's traded value.
Then each seed's days apart (:func:`seed_day_ratios`), with the number of short-gamma days that
ran away, so that a regime some seeds enter is not averaged away.
The arithmetic is in :mod:`market.stats.gamma`. Trailing ``key=value`` arguments are Hydra
overrides applied to every arm (after the arm's own).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from experiments.facts.runs import run_config, run_parallel
from experiments.model import POPULATION_NAMES, HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.stats import gamma as gs
from market.stats.stylized import resample_last

#: grid step of the price paths (seconds): the shortest horizon measured
STEP_S = 10.0
PER_DAY = round(SECONDS_PER_DAY / STEP_S)
#: horizons measured inside the day: label -> grid steps
HORIZONS = {"10 s": 1, "1 min": 6, "30 min": 180}
#: the last period of the intraday-momentum regression (30 minutes in grid steps)
LAST_STEPS = 180
#: fewer close-to-close returns than this per arm and the 1-day ratio is not reported
MIN_DAILY_RETURNS = 8

_PUTS = "[0.90,0.98]"
_CALLS = "[1.02,1.10]"
#: the customers' flow that makes the dealers short gamma: buy OTM puts and calls
_BUY = [
    "agents.customers.protective_put_weight=0.5",
    "agents.customers.speculative_call_weight=0.5",
    "agents.customers.covered_call_weight=0",
    "agents.customers.put_selling_weight=0",
    "agents.customers.call_frenzy_weight=0",
    f"agents.customers.put_moneyness={_PUTS}",
    f"agents.customers.call_moneyness={_CALLS}",
]
#: its mirror image: sell the same contracts
_SELL = [
    "agents.customers.protective_put_weight=0",
    "agents.customers.speculative_call_weight=0",
    "agents.customers.covered_call_weight=0.5",
    "agents.customers.put_selling_weight=0.5",
    "agents.customers.call_frenzy_weight=0",
    f"agents.customers.put_selling_moneyness={_PUTS}",
    f"agents.customers.covered_call_moneyness={_CALLS}",
]
#: the scale of every arm: one-sided flow of 1-40 contract trades and an opening book of 1,500
#: contracts a line (5 strikes, calls and puts, the second expiry) give a mean |GEX| per 1% move
#: of about 1.5-2% of daily notional, inside the 1-3% of index options (docs/gamma.md); with
#: hedges sized to the band's excess the short arm stays inside 1.2-3x there (calibration seeds
#: 0-1)
_SCALE = [
    "agents.customers.contracts_min=1",
    "agents.customers.contracts_max=40",
    "agents.dealers.initial_book_contracts=1500",
    "agents.dealers.initial_book_strikes=2",
    "agents.dealers.initial_book_expiry=1",
]
#: arm -> overrides; ``neutral`` is the reference of every ratio
ARMS: dict[str, list[str]] = {
    "short": [*_BUY, *_SCALE, "agents.dealers.initial_book=short_gamma"],
    "long": [*_SELL, *_SCALE, "agents.dealers.initial_book=long_gamma"],
    "neutral": [
        *_BUY,
        *_SCALE,
        "agents.dealers.initial_book=short_gamma",
        "agents.dealers.hedge=false",
    ],
}


@dataclass
class ArmSample:
    """One seed's run in one arm, reduced: ``log_mid`` on the 10-s grid (``days * 2340 + 1``
    points from the first open), ``notional`` traded (currency, all days), mean |GEX| and mean
    GEX per 1% move (currency, summed over dealers, over the recorded rows), each population's
    side of all prints (``pop_volume``, shares), and the dealers' looks and looks outside the
    inner and outer bands."""

    seed: int
    arm: str
    days: int
    log_mid: np.ndarray
    notional: float
    gex_abs_mean: float
    gex_mean: float
    pop_volume: dict[str, int]
    looks: int
    outside_inner: int
    outside_outer: int


def run_arm(seed: int, arm: str, days: int, overrides: Sequence[str]) -> ArmSample:
    """Run ``arm`` of the experiment for ``days`` days on ``seed`` and reduce it."""
    model = HedgeLoopModel(run_config(seed, days, [*ARMS[arm], *overrides]))
    model.run()
    model.finish()
    frame = model.datacollector.get_model_vars_dataframe()
    t = frame["time"].to_numpy(dtype=float)
    mid = frame["mid"].to_numpy(dtype=float)
    ok = np.isfinite(mid)
    _, grid = resample_last(t[ok], mid[ok], STEP_S, 0.0, days * SECONDS_PER_DAY)
    prints = model.book.trades.columns()
    gex = frame["dealer_gex"].to_numpy(dtype=float)
    dealers = model.populations["dealers"]
    return ArmSample(
        seed=seed,
        arm=arm,
        days=days,
        log_mid=np.log(grid),
        notional=float(np.sum(prints["price"] * prints["qty"]) * model.tick),
        gex_abs_mean=float(np.mean(np.abs(gex))),
        gex_mean=float(np.mean(gex)),
        pop_volume={n: int(v) for n, v in zip(POPULATION_NAMES, model.pop_volume, strict=False)},
        looks=sum(d.bands.looks for d in dealers),
        outside_inner=sum(d.bands.outside_inner for d in dealers),
        outside_outer=sum(d.bands.outside_outer for d in dealers),
    )


def _days(samples: Sequence[ArmSample]) -> list[np.ndarray]:
    return [gs.day_rows(s.log_mid, PER_DAY) for s in samples]


def arm_figures(samples: Sequence[ArmSample], reference: Sequence[ArmSample]) -> dict:
    """The figures of one arm (module docstring) against the paired ``reference`` runs."""
    days, ref = _days(samples), _days(reference)
    out: dict = {}
    for label, step in HORIZONS.items():
        mine = np.concatenate([gs.intraday_returns(d, step) for d in days])
        base = np.concatenate([gs.intraday_returns(d, step) for d in ref])
        out[f"vol {label}"] = gs.vol_ratio(mine, base)
    daily = np.concatenate([gs.close_to_close(d) for d in days])
    base_daily = np.concatenate([gs.close_to_close(d) for d in ref])
    enough = daily.size >= MIN_DAILY_RETURNS
    out["vol 1 day"] = gs.vol_ratio(daily, base_daily) if enough else float("nan")
    out["acf1 10 s"] = gs.lag1_autocorrelation([gs.intraday_returns(d, 1) for d in days])
    rows = np.vstack(days)
    out["last30 slope"] = out["last30 t"] = float("nan")
    if rows.shape[0] >= 3:  # a slope and its t need three days or more
        reg = gs.intraday_momentum(rows, LAST_STEPS)
        out["last30 slope"], out["last30 t"] = reg.slope, reg.t
    out["days"] = int(rows.shape[0])
    sides = sum(sum(s.pop_volume.values()) for s in samples)
    out["dealer share %"] = 100.0 * sum(s.pop_volume["dealers"] for s in samples) / sides
    looks = sum(s.looks for s in samples)
    out["outside outer %"] = 100.0 * sum(s.outside_outer for s in samples) / looks if looks else 0.0
    out["outside inner %"] = 100.0 * sum(s.outside_inner for s in samples) / looks if looks else 0.0
    daily_notional = sum(s.notional for s in samples) / sum(s.days for s in samples)
    out["|GEX| % notional"] = 100.0 * np.mean([s.gex_abs_mean for s in samples]) / daily_notional
    out["GEX % notional"] = 100.0 * np.mean([s.gex_mean for s in samples]) / daily_notional
    return out


def measure(samples: Sequence[ArmSample]) -> dict[str, dict]:
    """Figures per arm; ratios against the ``neutral`` runs of the same seeds."""
    by_arm = {arm: [s for s in samples if s.arm == arm] for arm in ARMS}
    ref = by_arm["neutral"]
    return {arm: arm_figures(runs, ref) for arm, runs in by_arm.items() if runs}


#: the hedging arms and horizons of the per-seed, per-day table
SPLIT_ARMS = ("short", "long")
SPLIT_HORIZONS = ("1 min", "30 min")
#: a short-gamma ratio above this at 1 minute marks a day as a runaway (the target is 1.2-3x)
RUNAWAY_RATIO = 3.0


def seed_day_ratios(samples: Sequence[ArmSample]) -> list[dict]:
    """Per seed and day: each hedging arm's 1-minute and 30-minute volatility over the neutral
    arm's on the same seed and day. A regime that some seeds or days enter (a short-gamma
    runaway) shows here, where the pooled table averages it away."""
    by = {(s.seed, s.arm): s for s in samples}
    rows = []
    for seed in sorted({s.seed for s in samples}):
        ref = by.get((seed, "neutral"))
        if ref is None:
            continue
        ref_days = gs.day_rows(ref.log_mid, PER_DAY)
        arm_days = {
            a: gs.day_rows(by[(seed, a)].log_mid, PER_DAY) for a in SPLIT_ARMS if (seed, a) in by
        }
        for d in range(ref_days.shape[0]):
            row: dict = {"seed": seed, "day": d}
            for arm, days in arm_days.items():
                for label in SPLIT_HORIZONS:
                    step = HORIZONS[label]
                    mine = gs.intraday_returns(days[d], step)
                    row[f"{arm} {label}"] = gs.vol_ratio(
                        mine, gs.intraday_returns(ref_days[d], step)
                    )
            rows.append(row)
    return rows


def split_text(rows: Sequence[dict]) -> str:
    """The per-seed, per-day table and how many days ran away (short gamma above
    :data:`RUNAWAY_RATIO` at 1 minute)."""
    keys = [f"{a} {h}" for a in SPLIT_ARMS for h in SPLIT_HORIZONS]
    keys = [k for k in keys if any(k in r for r in rows)]
    lines = ["| seed | day | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for r in rows:
        cells = [f"{r[k]:.2f}x" if np.isfinite(r.get(k, np.nan)) else "n/a" for k in keys]
        lines.append(f"| {r['seed']} | {r['day']} | " + " | ".join(cells) + " |")
    short = [r["short 1 min"] for r in rows if np.isfinite(r.get("short 1 min", np.nan))]
    if short:
        away = sum(v > RUNAWAY_RATIO for v in short)
        lines.append(
            f"\nshort gamma above {RUNAWAY_RATIO:g}x at 1 minute: {away} of {len(short)} days"
        )
    return "\n".join(lines)


ROWS = (
    ("vol 10 s", "{:.2f}x"),
    ("vol 1 min", "{:.2f}x"),
    ("vol 30 min", "{:.2f}x"),
    ("vol 1 day", "{:.2f}x"),
    ("acf1 10 s", "{:+.3f}"),
    ("last30 slope", "{:+.3f}"),
    ("last30 t", "{:+.2f}"),
    ("days", "{:d}"),
    ("dealer share %", "{:.2f}%"),
    ("outside inner %", "{:.1f}%"),
    ("outside outer %", "{:.1f}%"),
    ("|GEX| % notional", "{:.2f}%"),
    ("GEX % notional", "{:+.2f}%"),
)


def table_text(figures: dict[str, dict], seeds: Sequence[int], days: int, overrides) -> str:
    """The table, one column per arm, with the seeds and overrides it was measured on."""
    arms = list(figures)
    head = f"paired gamma experiment: seeds {list(seeds)} x {days} days"
    if overrides:
        head += f"; overrides {' '.join(overrides)}"
    lines = [head, "", "| figure | " + " | ".join(arms) + " |", "|---" * (len(arms) + 1) + "|"]
    for key, fmt in ROWS:
        cells = []
        for arm in arms:
            v = figures[arm].get(key)
            ok = v is not None and (isinstance(v, int) or np.isfinite(v))
            cells.append(fmt.format(v) if ok else "n/a")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.facts.gamma", description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002, 1003, 1004])
    p.add_argument("--days", type=int, default=5, help="days of each run")
    p.add_argument("--workers", type=int, default=1, help="runs in parallel")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for every run, key=value")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.days < 1 or args.workers < 1 or not args.seeds:
        print("error: --days and --workers must be >= 1, --seeds non-empty", file=sys.stderr)
        return 2
    calls = [
        (run_arm, (seed, arm, args.days, args.overrides)) for seed in args.seeds for arm in ARMS
    ]
    samples = run_parallel(calls, args.workers)
    print(table_text(measure(samples), args.seeds, args.days, args.overrides))
    print()
    print(split_text(seed_day_ratios(samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
