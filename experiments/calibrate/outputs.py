"""What a calibration leaves in its dir, rewritten after every batch:

- ``trials.csv``: one row per trial: number, state, distance, each parameter (``param.<key>``),
  each metric's mean over the seeds (``metric.<name>``), the seeds that ran and any errors;
- ``calibrated/<name>.yaml``: the best trial's parameters as a Hydra config of the group
  ``calibrated`` (``# @package _global_``), used as
  ``python -m experiments.run scenario=<s> +calibrated=<name>
  'hydra.searchpath=[file://<dir>]'``; and ``best_overrides.txt``: the same run as override
  lines (run overrides, then the parameters), for ``load_config`` or a study's ``--``;
- ``calibration.md``: the best trial's metrics against their references (ratio, gap, tolerance,
  term of the distance), the remaining misses stated plainly, and the parameters with their
  searched ranges (a best value at an end of its range says the fit wants more than the search
  allows; at an end of the plausible range, more than a real market allows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from experiments.calibrate.config import CalibrationConfig
from experiments.calibrate.launch import seeds_of
from experiments.calibrate.objective import Target, metric_rows
from experiments.calibrate.space import format_value
from experiments.outputs import write_csv, write_text

TRIALS_FILE = "trials.csv"
MD_FILE = "calibration.md"
OVERRIDES_FILE = "best_overrides.txt"
GROUP = "calibrated"


def trials_table(study, targets: Sequence[Target]) -> pd.DataFrame:
    """One row per trial (see the module docstring)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name.lower(),
            "distance": t.value if t.value is not None else math.nan,
        }
        # the values the runs used (format_value's digits), not Optuna's full-precision draws
        row.update({f"param.{k}": _run_value(v) for k, v in t.params.items()})
        metrics = t.user_attrs.get("metrics", {})
        row.update({f"metric.{m.name}": metrics.get(m.name, math.nan) for m in targets})
        row["seeds_ok"] = " ".join(str(s) for s in t.user_attrs.get("seeds_ok", []))
        errors = t.user_attrs.get("errors", {})
        row["errors"] = "; ".join(f"seed {k}: {v}" for k, v in errors.items())
        rows.append(row)
    return pd.DataFrame(rows)


def _run_value(value: Any) -> float | int:
    text = format_value(value)
    return int(text) if isinstance(value, int) else float(text)


def best_trial(study):
    """The complete trial of least distance (None if none completed)."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def calibrated_yaml(params: dict[str, Any]) -> str:
    """The parameters as a ``# @package _global_`` config (nested keys)."""
    items = [f"{k}={format_value(v)}" for k, v in params.items()]
    tree = OmegaConf.to_yaml(OmegaConf.from_dotlist(items))
    return "# @package _global_\n" + tree


def _usage(cal: CalibrationConfig) -> str:
    arm = [] if cal.arm == "treatment" else [f"arm={cal.arm}"]
    extra = " ".join([*cal.run_overrides(), *arm])
    return (
        f"python -m experiments.run scenario={cal.scenario} +{GROUP}={cal.name} "
        f"'hydra.searchpath=[file://{cal.output_dir}]'" + (f" {extra}" if extra else "")
    )


def _edges(cal: CalibrationConfig, params: dict[str, Any], dists: dict[str, Any]) -> list[str]:
    """Parameters whose best value sits within 2% of the searched range's width of an end."""
    out = []
    for key, value in params.items():
        d = dists[key]
        width = float(d.high - d.low)
        for end, bound in (("low", d.low), ("high", d.high)):
            if abs(float(value) - float(bound)) <= 0.02 * width:
                out.append(f"`{key}` = {format_value(value)} is at the {end} end ({bound})")
    return out


def _metric_table(rows: list[dict]) -> list[str]:
    lines = [
        "| metric | best (mean over seeds) | reference | ratio | gap | tolerance | term | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['metric']}` | {r['mean']:.4g} | {r['reference']:.4g} | {r['ratio']:.3g} | "
            f"{r['gap']:+.4g} | {r['tolerance']:.4g} | {r['term']:.4g} | "
            f"{'MISS' if r['miss'] else 'ok'} |"
        )
    return lines


def _head(cal: CalibrationConfig, table: pd.DataFrame) -> list[str]:
    counts = table["state"].value_counts().to_dict() if len(table) else {}
    form = "sum w*((m-ref)/scale)^2" if cal.form == "squared" else "sum w*|m-ref|/scale"
    return [
        f"# Calibration {cal.name}: scenario {cal.scenario} ({cal.arm})",
        "",
        f"Trials: {len(table)} ({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none'}) "
        f"of {cal.n_trials}; seeds per trial {seeds_of(cal)}; distance {form}; "
        f"sampler {cal.sampler} (seed {cal.sampler_seed}).",
        f"Run overrides: {' '.join(cal.run_overrides()) or 'none'}.",
        "",
    ]


def _misses_text(rows: list[dict]) -> str:
    misses = [r for r in rows if r["miss"]]
    if not misses:
        return "No remaining misses: every metric is within its tolerance."
    return (
        "Remaining misses (|mean - reference| beyond the tolerance): "
        + "; ".join(
            f"`{r['metric']}` {r['mean']:.4g} against {r['reference']:.4g} "
            f"(off by {r['gap']:+.4g}, tolerance {r['tolerance']:.4g})"
            for r in misses
        )
        + "."
    )


def calibration_markdown(cal, study, targets: Sequence[Target], dists: dict[str, Any]) -> str:
    """calibration.md (see the module docstring)."""
    head = _head(cal, trials_table(study, targets))
    best = best_trial(study)
    if best is None:
        return "\n".join([*head, "No trial completed yet: nothing to report.", ""])
    rows = metric_rows(best.user_attrs.get("metrics", {}), targets, cal.form)
    params = [
        f"| `{k}` | {format_value(v)} | [{dists[k].low}, {dists[k].high}] |"
        for k, v in best.params.items()
    ]
    edges = _edges(cal, best.params, dists)
    edge_text = ["", "At an end of the searched range (the fit may want more than it allows):"]
    return "\n".join(
        [
            *head,
            f"## Best: trial {best.number}, distance {best.value:.4g}",
            "",
            *_metric_table(rows),
            "",
            _misses_text(rows),
            "",
            "| parameter | best | searched (inside its plausible range) |",
            "|---|---|---|",
            *params,
            *((edge_text + [f"- {e}" for e in edges]) if edges else []),
            "",
            "Re-run the best parameters (seed 0; add `seed=N`):",
            "",
            f"    {_usage(cal)}",
            "",
        ]
    )


def write_outputs(cal: CalibrationConfig, study, targets, dists) -> None:
    """trials.csv, the best config (YAML and override lines) and calibration.md."""
    out: Path = cal.output_dir
    write_csv(out / TRIALS_FILE, trials_table(study, targets))
    best = best_trial(study)
    if best is not None:
        write_text(out / GROUP / f"{cal.name}.yaml", calibrated_yaml(best.params))
        lines = [*cal.run_overrides(), *(f"{k}={format_value(v)}" for k, v in best.params.items())]
        if cal.arm != "treatment":
            lines.append(f"arm={cal.arm}")
        write_text(out / OVERRIDES_FILE, "\n".join(lines) + "\n")
    write_text(out / MD_FILE, calibration_markdown(cal, study, targets, dists))
