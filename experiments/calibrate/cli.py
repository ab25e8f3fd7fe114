"""The command line: ``python -m experiments.calibrate NAME [key=value ...] [--dry-run]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import experiments.calibrate as calibrate_package
from experiments.calibrate.config import load_calibration
from experiments.calibrate.pipeline import run_calibration


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or resume) the calibration NAME; exit 2 on a bad config, naming the field."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.calibrate",
        description=calibrate_package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="conf/calibrate/<NAME>.yaml, or a YAML file's path")
    parser.add_argument("items", nargs="*", help="key=value options, e.g. n_trials=20 seeds=3")
    parser.add_argument(
        "--dry-run", action="store_true", help="check the search and print it; run nothing"
    )
    args = parser.parse_intermixed_args(argv)
    try:
        cal = load_calibration(args.name, args.items)
        out = run_calibration(cal, dry_run=args.dry_run)
    except (ValueError, FileNotFoundError) as exc:  # ConfigError included: names the field
        print(f"hedgeloop calibrate: {exc}", file=sys.stderr)
        return 2
    if not args.dry_run:
        print(f"calibration {cal.name}: report in {out / 'calibration.md'}")
    return 0
