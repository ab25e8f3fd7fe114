"""Behaviour fingerprints: record what seeded runs produce, then check that a change kept it.

    python -m bench.fingerprint record FILE [--quick] [--jobs N]   # run and write fingerprints
    python -m bench.fingerprint compare FILE [--quick] [--jobs N]  # run again and compare

Each fingerprint runs one scenario in one arm at a fixed seed through the command line (the same
path a user takes, so it survives any re-arrangement of the code behind it) and keeps

- the SHA-256 of ``trades.parquet`` as written (byte-identical, not just equal in value),
- the SHA-256 of the other tables (timeseries, desk tables) as written,
- ``summary.json`` with its wall-clock fields removed (they measure the machine, not the model).

By default every arm of every scenario runs (the control arms switch mechanisms off, so they
exercise other code paths); ``--quick`` runs only each scenario's treatment. ``compare`` exits 1
and names every difference if anything changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = (
    "baseline",
    "flash_2010",
    "expiry_pinning",
    "gamma_squeeze",
    "crash_1987",
    "covid_2020",
)
SEED = 0
#: summary fields that measure the machine (wall time, rates per second), not the model
MACHINE_FIELDS = ("wall_seconds", "events_per_second", "steps_per_second")


def arms_of(scenario: str) -> list[str]:
    """The scenario's arms as its config file lists them, treatment first."""
    text = (ROOT / "conf" / "scenario" / f"{scenario}.yaml").read_text()
    node = yaml.safe_load(text).get("scenario", {})
    return ["treatment", *sorted((node.get("arms") or {}).keys())]


def _strip_machine(node):
    if isinstance(node, dict):
        return {k: _strip_machine(v) for k, v in node.items() if k not in MACHINE_FIELDS}
    if isinstance(node, list):
        return [_strip_machine(v) for v in node]
    return node


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(scenario: str, arm: str) -> dict:
    """Run ``scenario`` in ``arm`` at the fixed seed in a scratch directory; its fingerprint."""
    with tempfile.TemporaryDirectory(prefix="hedgeloop-fp-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "experiments.run",
            f"scenario={scenario}",
            f"arm={arm}",
            f"seed={SEED}",
            "progress=false",
            f"hydra.run.dir={tmp}/run",
        ]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        run = Path(tmp) / "run"
        if done.returncode != 0 or not (run / "summary.json").exists():
            return {"error": f"exit {done.returncode}: {done.stderr.strip()[-2000:]}"}
        tables = {p.name: _sha(p) for p in sorted(run.glob("*.parquet"))}
        summary = _strip_machine(json.loads((run / "summary.json").read_text()))
        return {
            "trades_sha256": tables.pop("trades.parquet", None),
            "tables_sha256": tables,
            "summary": summary,
        }


def collect(quick: bool, jobs: int) -> dict[str, dict]:
    keys = [(s, a) for s in SCENARIOS for a in (["treatment"] if quick else arms_of(s))]
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each job is its own process
        results = list(pool.map(lambda k: fingerprint(*k), keys))
    return {f"{s}/{a}": r for (s, a), r in zip(keys, results, strict=True)}


def _diff(path: str, old, new, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            _diff(f"{path}.{k}", old.get(k, "<absent>"), new.get(k, "<absent>"), out)
    elif old != new:
        out.append(f"{path}: {old!r:.120} -> {new!r:.120}")


def compare(recorded: dict, now: dict) -> list[str]:
    """Every difference between two fingerprint sets, one line each (empty: unchanged)."""
    out: list[str] = []
    for key in sorted(set(recorded) & set(now)):
        _diff(key, recorded[key], now[key], out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("record", "compare"))
    ap.add_argument("file", type=Path)
    ap.add_argument("--quick", action="store_true", help="treatment arms only")
    ap.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")
    now = collect(args.quick, args.jobs)
    failed = sorted(k for k, v in now.items() if "error" in v)
    if args.action == "record":
        args.file.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(now)} fingerprints in {args.file} ({len(failed)} failed runs)")
        return 1 if failed else 0
    recorded = json.loads(args.file.read_text())
    missing = sorted(set(now) - set(recorded))
    diffs = compare(recorded, now)
    for line in diffs:
        print(line)
    same = len(now) - len({d.split(":")[0].split(".")[0] for d in diffs}) - len(missing)
    print(
        f"{same} of {len(now)} runs unchanged; {len(diffs)} differences; "
        f"{len(missing)} not in the record"
    )
    return 1 if diffs or missing or failed else 0


if __name__ == "__main__":
    sys.exit(main())
