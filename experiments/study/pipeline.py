"""A study from plan to report: plan, run the main arms then the robustness settings (each one
multirun child process), collect."""

from __future__ import annotations

import time
from pathlib import Path

from experiments.outputs import write_json
from experiments.study.collect import MANIFEST_FILE, collect_study
from experiments.study.config import StudyConfig
from experiments.study.lock import study_lock
from experiments.study.plan import multirun_commands, plan_study, shell_quote, study_dir_of
from experiments.study.runner import run_child


def _announce(study: StudyConfig, manifest: dict, study_dir: Path) -> None:
    n_robust = len(manifest["jobs"]) - len(manifest["arms"]) * len(manifest["seeds"])
    print(
        f"study {study.name}: scenario {study.scenario}, arms {manifest['arms']}, "
        f"{len(manifest['seeds'])} seeds; robustness: {len(manifest['robustness'])} arm settings"
        f" x {len(manifest['robustness_seeds'])} seeds = {n_robust} runs; into {study_dir}"
    )


def run_study(study: StudyConfig, *, dry_run: bool = False) -> Path:
    """Plan, run (main arms, then robustness) and collect a study; returns the study dir.

    ``study.json`` records each phase's wall seconds and exit code as it ends, so an interrupted
    study shows how far it got; rerunning the same command resumes (finished jobs are skipped).
    The study dir is locked while it runs (:mod:`.lock`): a second run into it is refused.
    """
    manifest = plan_study(study)
    study_dir = study_dir_of(study)
    commands = multirun_commands(manifest, study_dir)
    _announce(study, manifest, study_dir)
    if dry_run:
        for phase, cmd in commands:
            print(f"# {phase}\n" + " ".join(shell_quote(c) for c in cmd))
        return study_dir
    study_dir.mkdir(parents=True, exist_ok=True)
    with study_lock(study_dir) as lock_fd:  # one run per study dir at a time
        t0 = time.perf_counter()
        manifest["phases"] = {}
        write_json(study_dir / MANIFEST_FILE, manifest)
        for phase, cmd in commands:
            print(f"study {study.name}: {phase} runs", flush=True)
            rc, wall = run_child(cmd, pass_fds=(lock_fd,))
            manifest["phases"][phase] = {"wall_seconds": wall, "returncode": rc}
            write_json(study_dir / MANIFEST_FILE, manifest)
            if rc != 0:
                raise RuntimeError(
                    f"study {study.name}: the {phase} multirun exited with code {rc} "
                    "(its messages are above); rerun the same command to resume"
                )
        manifest["wall_seconds"] = time.perf_counter() - t0
        write_json(study_dir / MANIFEST_FILE, manifest)
        collect_study(study_dir)
    return study_dir
