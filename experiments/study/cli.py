"""The command line: ``python -m experiments.study run|collect ...`` (the package docstring
says what each does)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

import experiments.study as study_package
from experiments.study.collect import MANIFEST_FILE, collect_study, collect_sweep
from experiments.study.config import load_study
from experiments.study.figures import figure_specs
from experiments.study.lock import StudyLockedError
from experiments.study.pipeline import run_study


def _collect_cli(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    if (target / MANIFEST_FILE).exists():
        collect_study(target, args.metrics, args.key_metrics)
        return 0
    figures = [{"x": x, "y": y, "metric": m} for x, y, m in args.figure or []]
    if not figures and (target / "multirun.yaml").exists():
        saved = OmegaConf.load(target / "multirun.yaml")
        for cb in (OmegaConf.select(saved, "hydra.callbacks", default=None) or {}).values():
            if str(cb.get("_target_", "")).endswith(".CollectSweep"):
                figures += figure_specs(cb.get("figures") or [])
    table = collect_sweep(target, figures)
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    print(
        f"{len(table)} jobs ({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none'}) "
        f"into {target / 'sweep_table.parquet'} and .csv"
        + (f"; figures ({len(figures)}) in {target / 'figures'}" if figures else "")
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``run [STUDY] [key=value ...] [--dry-run] [-- run overrides]`` or ``collect DIR ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m experiments.study",
        description=study_package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a study (conf/study/<STUDY>.yaml or a scenario name)")
    run.add_argument("items", nargs="*", help="STUDY first (optional), then key=value options")
    run.add_argument("--dry-run", action="store_true", help="validate and print the commands")
    col = sub.add_parser("collect", help="re-collect a sweep dir or a study dir")
    col.add_argument("dir")
    col.add_argument("--figure", nargs=3, action="append", metavar=("X", "Y", "METRIC"))
    col.add_argument("--metrics", nargs="+", help="study: summary.json prefixes to tabulate")
    col.add_argument("--key-metrics", nargs="+", help="study: metrics for study.md/study.png")
    # options may come after the key=value items, which argparse's subcommands cannot mix
    dry_run = "--dry-run" in argv
    args = parser.parse_args([a for a in argv if a != "--dry-run"])
    try:
        if args.command == "collect":
            return _collect_cli(args)
        items = list(args.items)
        name = items.pop(0) if items and "=" not in items[0] else None
        study = load_study(name, items)
        if extra:
            study.overrides = [*study.overrides, *extra]
        run_study(study, dry_run=dry_run)
    except (ValueError, FileNotFoundError, StudyLockedError) as exc:  # ConfigError: names the field
        print(f"hedgeloop study: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the multirun child has stopped (the runner waited for it)
        print("hedgeloop study: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
