"""Benchmark of the default one-day run, and how its cost scales.

Prints the median wall time of the default day (several runs, one core), then two scaling checks:

* idle agents: the background population ten times larger at a tenth of the per-agent rate
  (about the same number of orders, ten times the agents) should cost about the same;
* orders: the background population's activity doubled (about twice the orders, the same agents)
  should cost up to about twice as much.

Usage: ``python -m bench.model_day [--repeats 3] [--seed 0]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel


def run_once(cfg: RunConfig) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    model = HedgeLoopModel(cfg)
    model.run()
    wall = time.perf_counter() - t0
    model.finish()
    return wall, len(model.agents), model.book.n_events


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
    args = ap.parse_args()

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
