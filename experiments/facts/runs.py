"""The many-day baseline runs, each reduced to the arrays the facts are measured on.

A run of ``days`` days is far too large to ship between processes whole (about 90,000 prints a
day), so every worker returns a :class:`SeedSample`: the mid and the fundamental value on a
1-minute grid, the traded volume per minute, the recorded spreads, the pause counts and the
volumes by population.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.api import load_config
from experiments.config import RunConfig
from experiments.facts.config import SCENARIO
from experiments.model import POPULATION_NAMES, HedgeLoopModel
from market.exchange.clock import SECONDS_PER_DAY
from market.stats.stylized import resample_last

#: the grid step of every price series the facts use (seconds)
GRID_S = 60.0


@dataclass
class SeedSample:
    """One seed's many-day run, reduced.

    ``mid`` and ``fundamental`` (currency) are on the grid ``0, 60, ..., days * 23,400`` s (the
    last record at or before each grid time), so ``390 * days`` one-minute returns; ``volume``
    holds the shares traded in each of those minutes; ``spread_ticks`` every recorded spread.
    ``pop_volume`` counts each population's side of every print (shares; a print between two
    populations counts for both, so the total is twice the traded volume). ``notional`` is the
    value traded (currency) and ``gex_abs_mean`` the mean |dealer GEX| per 1% move (currency).
    ``open_auction_volume`` and ``close_auction_volume`` are the shares of the opening and
    closing uncrosses over the run (0 without call auctions); they are part of ``volume``, in
    the minute of the uncross.
    """

    seed: int
    days: int
    mid: np.ndarray
    fundamental: np.ndarray
    volume: np.ndarray
    spread_ticks: np.ndarray
    stop_pauses: int
    luld_pauses: int
    pop_volume: dict[str, int]
    notional: float
    gex_abs_mean: float
    open_auction_volume: int = 0
    close_auction_volume: int = 0


def run_config(seed: int, days: int, overrides: Sequence[str], *extra: str) -> RunConfig:
    """The baseline scenario for ``seed`` and ``days`` with the overrides (the last word wins)."""
    return load_config(
        SCENARIO, *overrides, *extra, f"seed={seed}", f"scenario.days={days}", "progress=false"
    )


def on_grid(times, values, days: int) -> np.ndarray:
    """``values`` recorded at ``times`` as the last value at or before each 1-minute grid time."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    _, grid = resample_last(t[ok], v[ok], GRID_S, 0.0, days * SECONDS_PER_DAY)
    return grid


def run_baseline(seed: int, days: int, overrides: Sequence[str]) -> SeedSample:
    """Run the baseline for ``days`` days on ``seed`` and reduce it (conservation is checked)."""
    model = HedgeLoopModel(run_config(seed, days, overrides))
    model.run()
    model.finish()
    return sample_of(model)


def sample_of(model: HedgeLoopModel) -> SeedSample:
    """The :class:`SeedSample` of a finished run."""
    days = model.days
    frame = model.datacollector.get_model_vars_dataframe()
    prints = model.book.trades.columns()
    minute = (prints["time"] // GRID_S).astype(int)
    n_minutes = round(days * SECONDS_PER_DAY / GRID_S)
    volume = np.bincount(minute, weights=prints["qty"], minlength=n_minutes)[:n_minutes]
    pauses = [(r["rule"], r["kind"]) for r in model.halt_records()]
    spread = frame["spread_ticks"].to_numpy(dtype=float)
    calls = model.rules.get("auctions")
    return SeedSample(
        seed=model.cfg.seed,
        days=days,
        mid=on_grid(frame["time"], frame["mid"], days),
        fundamental=on_grid(frame["time"], frame["fundamental"], days),
        volume=volume,
        spread_ticks=spread[np.isfinite(spread)],
        stop_pauses=pauses.count(("stop_logic", "pause")),
        luld_pauses=pauses.count(("luld", "pause")),
        pop_volume={
            name: int(v) for name, v in zip(POPULATION_NAMES, model.pop_volume, strict=False)
        },
        notional=float(np.sum(prints["price"] * prints["qty"]) * model.tick),
        gex_abs_mean=float(np.mean(np.abs(frame["dealer_gex"].to_numpy(dtype=float)))),
        open_auction_volume=calls.volume("open") if calls is not None else 0,
        close_auction_volume=calls.volume("close") if calls is not None else 0,
    )


def run_parallel(
    calls: Sequence[tuple[Callable[..., Any], tuple]],
    workers: int,
    log: Callable[[str], None] | None = None,
) -> list[Any]:
    """Results of ``fn(*args)`` for each call, in order, on ``workers`` processes.

    One worker runs the calls here, in this process (no start-up cost, easier to debug); more
    use fresh ("spawn") processes so that no state of the caller leaks into a run.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.monotonic()
    results: list[Any] = [None] * len(calls)
    if workers == 1:
        for i, (fn, args) in enumerate(calls):
            results[i] = fn(*args)
            log(f"  {_label(fn, args)} done ({time.monotonic() - t0:.0f} s)")
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(fn, *args): i for i, (fn, args) in enumerate(calls)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            log(f"  {_label(*calls[i])} done ({time.monotonic() - t0:.0f} s)")
    return results


def _label(fn: Callable[..., Any], args: tuple) -> str:
    return f"{fn.__name__}(seed={args[0]})"
