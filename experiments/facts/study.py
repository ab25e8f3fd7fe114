"""One facts measurement: run everything, measure, compare with the real ranges, write it out.

Outputs in the chosen directory: ``facts.json`` (the configuration, the seeds, every fact, the
impact and news rows and the table), ``facts.md`` (the table with sources) and three figures,
``abs_acf.png``, ``impact.png`` and ``intraday.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path

from experiments.facts import figures
from experiments.facts.config import SCENARIO, FactsConfig
from experiments.facts.impact import impact_summary
from experiments.facts.measure import measure_facts
from experiments.facts.news import news_facts, news_rows, run_seed_pairs
from experiments.facts.runs import run_baseline, run_parallel
from experiments.facts.table import render_markdown, render_text, table_rows


def run_facts(cfg: FactsConfig, log: Callable[[str], None] | None = None) -> dict:
    """Run the many-day, the paired impact and the paired news runs and measure them (the
    ``facts.json`` dict).

    All runs share one pool; the long many-day runs go first so that the pool finishes evenly.
    Impact seeds alternate buy (even position) and sell (odd position); the news on the same seeds
    alternates bad (even position) and good (odd position); both share the seed's control day,
    one job per seed.
    """
    commit = _commit()  # before the runs: the source they ran, even if it changes meanwhile
    calls = [(run_baseline, (seed, cfg.days, cfg.overrides)) for seed in cfg.seeds]
    calls += [(run_seed_pairs, (seed, i, cfg)) for i, seed in enumerate(cfg.impact_seeds)]
    results = run_parallel(calls, cfg.workers, log)
    samples = results[: len(cfg.seeds)]
    paired = [r[0] for r in results[len(cfg.seeds) :]]
    news = [r[1] for r in results[len(cfg.seeds) :]]
    facts, curves = measure_facts(samples, cfg.tail_fraction)
    impact = impact_summary(paired, facts["sigma_daily"])  # type: ignore[arg-type]
    facts.update(impact["facts"])
    rows_news = news_rows(news)
    facts.update(news_facts(rows_news, news))
    return {
        "scenario": SCENARIO,
        "config": dataclasses.asdict(cfg),
        "commit": commit,
        "facts": facts,
        "impact_rows": impact["rows"],
        "impact_decay": impact["decay"],
        "impact_runs": [dataclasses.asdict(p) for p in paired],
        "news_rows": rows_news,
        "news_runs": [dataclasses.asdict(n) for n in news],
        "table": table_rows(facts),
        "curves": curves,
    }


def _commit() -> str | None:
    """The source's git commit, when run from a checkout (so a table names what it measured)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def headline(result: dict) -> str:
    """Which runs the table measured: scenario, seeds, days, impact seeds and sizes, news."""
    c = result["config"]
    sizes = ", ".join(f"{s:.1%}" for s in c["sizes"])
    news = f"; news ±{c['news_size']:.1%} on the same seeds" if "news_size" in c else ""
    return (
        f"scenario {result['scenario']}: seeds {c['seeds']} x {c['days']} days; impact: "
        f"seeds {c['impact_seeds']}, Q/V {sizes} at {c['participation']:.0%} POV from "
        f"{c['start']}{news}; commit {result['commit'] or 'unknown'}"
        + (f"; overrides {c['overrides']}" if c["overrides"] else "")
    )


def impact_lines(result: dict) -> list[str]:
    """The impact rows as Markdown: Q/V, I_peak and I_after (bp, mean ± s.e.), Y, ratio."""

    def bp(v: float | None, se: float | None) -> str:
        if v is None:
            return "n/a"
        return f"{v * 1e4:.1f}" + ("" if se is None else f" ± {se * 1e4:.1f}")

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    out = [
        "| Q/V | completed | I_peak (bp) | I(T_end + 60 min) (bp) | Y | after/peak |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["impact_rows"]:
        out.append(
            f"| {r['q_over_v']:.2%} | {r['n_completed']}/{r['n_seeds']} | "
            f"{bp(r['i_peak'], r['i_peak_se'])} | {bp(r['i_after'], r['i_after_se'])} | "
            f"{num(r['y'])} | {num(r['after_over_peak'])} |"
        )
    return out


def decay_lines(result: dict) -> list[str]:
    """The decay curve as Markdown: pooled share of the peak left at each horizon, with its 90%
    seed-bootstrap interval."""

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    out = [
        "| after completion | I_after / I_peak | 90% interval (seeds resampled) |",
        "|---|---|---|",
    ]
    for r in result.get("impact_decay", []):
        out.append(
            f"| {r['after_s'] / 60:.0f} min | {num(r['ratio'])} | "
            f"{num(r['lo'])} to {num(r['hi'])} |"
        )
    return out


def news_lines(result: dict) -> list[str]:
    """The news rows as Markdown: horizon, mean absorption ± s.e. over seeds, seeds."""

    def share(v: float | None, se: float | None) -> str:
        if v is None:
            return "n/a"
        return f"{v:.2f}" + ("" if se is None else f" ± {se:.2f}")

    out = ["| after the news | absorption (mean ± s.e.) | seeds |", "|---|---|---|"]
    for r in result.get("news_rows", []):
        h = r["horizon_s"]
        when = f"{h / 60:g} min" if h >= 60 else f"{h:g} s"
        out.append(f"| {when} | {share(r['absorption'], r['absorption_se'])} | {r['n']} |")
    return out


def write_outputs(result: dict, out_dir: Path) -> None:
    """facts.json, facts.md and the figures into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "facts.json").write_text(json.dumps(jsonable(result), indent=1, allow_nan=False))
    md = [
        "# Stylized facts and impact",
        "",
        headline(result),
        "",
        render_markdown(result["table"]),
        "",
        "## Impact by size",
        "",
        *impact_lines(result),
        "",
        "## Decay after completion",
        "",
        *decay_lines(result),
        "",
        "## Public news in the price",
        "",
        *news_lines(result),
        "",
        f"σ_daily = {result['facts']['sigma_daily']:.4%}",
        "",
    ]
    (out_dir / "facts.md").write_text("\n".join(md))
    curves = result["curves"]
    figures.abs_acf_figure(curves["abs_acf"], out_dir / "abs_acf.png")
    figures.impact_figure(
        result["impact_rows"], result["facts"]["sigma_daily"], out_dir / "impact.png"
    )
    figures.intraday_figure(curves["intraday"], out_dir / "intraday.png")


def jsonable(value: object) -> object:
    """``value`` with numpy scalars as plain numbers and NaN or infinity as None (JSON null)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_text(result: dict) -> str:
    """The terminal report: headline, the table, the impact rows, the decay and the news."""
    return "\n".join(
        [
            headline(result),
            "",
            render_text(result["table"]),
            "",
            *impact_lines(result),
            "",
            *decay_lines(result),
            "",
            *news_lines(result),
        ]
    )
