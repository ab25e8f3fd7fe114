"""``python -m experiments.facts``: measure the stylized facts, impact and news absorption, print
the table.

Trailing ``key=value`` arguments are Hydra overrides applied to every run (e.g. a smaller
population for a quick look); they change the market measured, so the headline lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from experiments.facts.config import FactsConfig, quick_config
from experiments.facts.study import report_text, run_facts, write_outputs
from market.validation import ConfigError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.facts", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="2 seeds x 3 days and 2 impact seeds (a minute or two on two cores)",
    )
    p.add_argument("--seeds", type=int, nargs="+", help="seeds of the many-day runs")
    p.add_argument("--days", type=int, help="days of each many-day run")
    p.add_argument("--impact-seeds", type=int, nargs="+", help="seeds of the impact runs")
    p.add_argument("--sizes", type=float, nargs="+", help="impact sizes Q/V (0.01 = 1%%)")
    p.add_argument(
        "--news-size", type=float, help="size of the public news, a log return (0.03 = 3%%)"
    )
    p.add_argument("--workers", type=int, help="runs in parallel (default 2)")
    p.add_argument("--out", type=Path, help="output directory (default results/facts/<time>)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for every run, key=value")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> FactsConfig:
    """The preset (``--quick`` or the default) with the options given on the command line."""
    base = quick_config() if args.quick else FactsConfig()
    given = {
        "seeds": args.seeds,
        "days": args.days,
        "impact_seeds": args.impact_seeds,
        "sizes": args.sizes,
        "news_size": args.news_size,
        "workers": args.workers,
        "overrides": args.overrides or None,
    }
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = config_from(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("results/facts") / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    result = run_facts(cfg)
    write_outputs(result, out)
    print(report_text(result))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
