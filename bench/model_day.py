"""Benchmark of the default one-day run, and how its cost scales.

Prints the median wall time of the default day (several runs, one core), then two scaling checks:

* idle agents: the background population ten times larger at a tenth of the per-agent rate
  (about the same number of orders, ten times the agents) should cost about the same;
* orders: the background population's activity doubled (about twice the orders, the same agents)
  should cost up to about twice as much.

With ``--venue book`` it instead compares the two options markets on one day with 2 expiries x
15 strikes x 2 rights and 4 dealers: the request-for-quote day (``market.options.venue=rfq``)
against the order-book day (``book``), side by side, with the option books' event counts
(messages, prints, quote messages, curtailments) and the ratio of the medians.

Usage: ``python -m bench.model_day [--repeats 3] [--seed 0] [--venue book [--seeds 0 1 2]]``
(``make bench`` runs it without ``--venue``). A book-mode day is not the rfq day: its path, and
with it the number of quote messages, changes with anything in book mode, so compare over seeds.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel


def run_once(cfg: RunConfig) -> tuple[float, int, int]:
    wall, model = _run(cfg)
    return wall, len(model.agents), model.book.n_events


def _run(cfg: RunConfig) -> tuple[float, HedgeLoopModel]:
    t0 = time.perf_counter()
    model = HedgeLoopModel(cfg)
    model.run()
    wall = time.perf_counter() - t0
    model.finish()
    return wall, model


def option_chain_day(seed: int, venue: str) -> RunConfig:
    """One day with 2 expiries x 15 strikes x 2 rights and 4 dealers, options on ``venue``."""
    cfg = RunConfig(seed=seed, progress=False)
    chain = cfg.market.chain
    chain.expiry_days = [0, 4]
    chain.n_strikes_each_side = 7
    chain.strike_cover_sd = 0.0
    chain.expiry_cycle_days = 0
    cfg.agents.dealers.n = 4
    cfg.agents.dealers.initial_book_expiry = 1  # the later of the two expiries
    cfg.market.options.venue = venue
    return cfg


def compare_venues(seed: int, repeats: int) -> float:
    """The rfq day against the book day (module docstring), runs alternating; returns the
    ratio of the medians."""
    walls: dict[str, list[float]] = {"rfq": [], "book": []}
    counts: dict = {}
    for _ in range(repeats):
        for venue in walls:
            wall, model = _run(option_chain_day(seed, venue))
            walls[venue].append(wall)
            om = model.option_market
            if om is not None:
                s = om.summary()
                counts = {
                    "series": len(model.chain),
                    "messages": s["messages"],
                    "prints": s["prints"],
                    "quote messages": sum(d["requotes"] for d in s["dealers"].values()),
                    "curtailments": s["curtailments"],
                    "option events": s["events"],
                    "underlying book events": model.book.n_events,
                }
    med = {v: statistics.median(w) for v, w in walls.items()}
    print(f"one trading day, seed {seed}, 2 expiries x 15 strikes x 2 rights, 4 dealers")
    for venue, w in walls.items():
        runs = ", ".join(f"{x:.2f}" for x in w)
        print(f"{venue:<5} wall median {med[venue]:7.2f} s  (runs: {runs})")
    print("book-mode option events: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"book / rfq wall time: {med['book'] / med['rfq']:.2f}x")
    return med["book"] / med["rfq"]


def measure(label: str, cfg: RunConfig, repeats: int) -> dict:
    runs = [run_once(copy.deepcopy(cfg)) for _ in range(repeats)]
    walls = [r[0] for r in runs]
    med = statistics.median(walls)
    n_agents, events = runs[0][1], runs[0][2]
    print(
        f"{label:<34} agents {n_agents:>6}  book events {events:>8}  "
        f"wall median {med:6.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls)})  "
        f"{1e6 * med / max(events, 1):6.1f} us/event"
    )
    return {"wall": med, "events": events, "agents": n_agents}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="with --venue book: compare on each of these seeds (a book-mode day is a "
        "different day from the rfq one, and its cost follows its path) and print the median",
    )
    ap.add_argument(
        "--venue",
        choices=("book",),
        default=None,
        help="compare the order-book options market with the rfq one instead",
    )
    args = ap.parse_args()
    if args.venue == "book":
        seeds = args.seeds or [args.seed]
        ratios = [compare_venues(seed, args.repeats) for seed in seeds]
        if len(ratios) > 1:
            each = ", ".join(f"{r:.2f}" for r in ratios)
            print(
                f"\nbook / rfq over seeds {seeds}: median {statistics.median(ratios):.2f}x ({each})"
            )
        return

    base = RunConfig(seed=args.seed, progress=False)
    print("one trading day (23,400 one-second steps), every population at its defaults")
    ref = measure("default day", base, args.repeats)

    idle = copy.deepcopy(base)
    idle.agents.background.n *= 10
    idle.agents.background.rate /= 10
    many = measure("10x background agents, 1/10 rate", idle, args.repeats)

    busy = copy.deepcopy(base)
    busy.agents.background.rate *= 2
    more = measure("2x background activity", busy, args.repeats)

    print(
        f"\ncost of 10x idle agents: {many['wall'] / ref['wall']:.2f}x the default "
        f"({many['events'] / ref['events']:.2f}x the events)"
    )
    print(
        f"cost of 2x activity:     {more['wall'] / ref['wall']:.2f}x the default "
        f"({more['events'] / ref['events']:.2f}x the events)"
    )


if __name__ == "__main__":
    main()
