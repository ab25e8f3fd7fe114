"""Running a batch of trials: one multirun of ``experiments.run`` through the configured Hydra
launcher, exactly as a study runs its arms (each trial is an arm holding its parameters).

Every run writes into ``<calibration dir>/runs/trial_<n>/seed_<s>`` with the study machinery's
``job_status.json`` (:mod:`experiments.study.jobs`), so a batch that is interrupted resumes run
by run: a run whose effective config already finished there is skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from experiments.calibrate.config import CalibrationConfig
from experiments.study.collect import read_job
from experiments.study.plan import _arm_override, _hydra_quoted
from experiments.study.runner import run_child

RUNS_DIR = "runs"
METRICS_PREFIX = "scenario_metrics"


@dataclass
class TrialJob:
    """A trial to run: its number and the ``key=value`` overrides of its arm (the base arm's
    own, then the trial's parameters)."""

    number: int
    overrides: list[str]

    @property
    def arm(self) -> str:
        return f"trial_{self.number:04d}"


@dataclass
class TrialResult:
    """What a trial's runs gave: per seed the numeric scenario metrics (dotted names) of the
    runs that finished, and the errors of those that did not."""

    number: int
    per_seed: dict[int, dict[str, float]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)


def seeds_of(cal: CalibrationConfig) -> list[int]:
    return list(range(cal.first_seed, cal.first_seed + cal.seeds))


def run_dir(out: Path, arm: str, seed: int) -> Path:
    """The run dir of one trial arm and seed."""
    return out / RUNS_DIR / arm / f"seed_{seed}"


def batch_command(cal: CalibrationConfig, jobs: Sequence[TrialJob]) -> list[str]:
    """The ``python -m experiments.run -m`` command line that runs ``jobs`` over the seeds."""
    seeds = seeds_of(cal)
    launcher = list(cal.launcher)
    if any(item.endswith("launcher=joblib") for item in launcher):
        launcher.append(f"hydra.launcher.n_jobs={cal.n_jobs}")
    runs = _hydra_quoted(str(cal.output_dir / RUNS_DIR), "calibrate.dir")
    return [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        *launcher,
        "hydra/hydra_logging=disabled",
        f"hydra.sweep.dir={runs}",
        "hydra.sweep.subdir='${arm}/seed_${seed}'",
        "+hydra.callbacks.sweep_progress._target_=experiments.study.progress.SweepProgress",
        f"scenario={cal.scenario}",
        "progress=false",
        *cal.run_overrides(),
        *(_arm_override(job.arm, job.overrides) for job in jobs),
        f"arm={','.join(job.arm for job in jobs)}",
        f"seed=range({seeds[0]},{seeds[-1] + 1})",
    ]


def read_results(cal: CalibrationConfig, jobs: Sequence[TrialJob]) -> list[TrialResult]:
    """Each job's runs read back from their dirs (a run that is missing or failed is an error)."""
    out = []
    for job in jobs:
        result = TrialResult(job.number)
        for seed in seeds_of(cal):
            row = read_job(run_dir(cal.output_dir, job.arm, seed), [METRICS_PREFIX])
            if row["status"] != "ok":
                result.errors[seed] = f"{row['status']}: {row.get('error') or ''}".strip(": ")
                continue
            n = len(METRICS_PREFIX) + 1
            result.per_seed[seed] = {
                k[n:]: v for k, v in row.items() if k.startswith(METRICS_PREFIX + ".")
            }
        out.append(result)
    return out


def launch_batch(cal: CalibrationConfig, jobs: Sequence[TrialJob]) -> list[TrialResult]:
    """Run ``jobs`` as one multirun child process and read their results back.

    A child that exits non-zero (the launcher itself failed) is an error; runs that fail inside
    it are recorded by the study machinery and come back as per-seed errors.
    """
    rc, _ = run_child(batch_command(cal, jobs))
    if rc != 0:
        raise RuntimeError(
            f"calibration {cal.name}: the multirun exited with code {rc} (its messages are "
            "above); rerun the same command to resume"
        )
    return read_results(cal, jobs)
