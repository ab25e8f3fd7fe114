"""A calibration from config to report: plan (compose, check every range before any run), then
ask Optuna for trials batch by batch, run each batch, tell the distances, write the outputs.

Optuna's study lives in ``<dir>/optuna.journal`` (a JournalStorage file: plain appends, safe
against an interrupted write), so running the same command again resumes: finished trials are
kept, a trial interrupted mid-batch is run again with the parameters it was given (its finished
runs are skipped), and new trials are asked until ``n_trials``. Before each ask the sampler is
seeded from ``sampler_seed`` and the number of trials so far, so a calibration resumed after an
interruption asks for exactly the parameters an uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from experiments.calibrate.config import CalibrationConfig
from experiments.calibrate.launch import TrialJob, TrialResult, launch_batch, seeds_of
from experiments.calibrate.objective import Target, distance, mean_over_seeds, resolve_targets
from experiments.calibrate.outputs import write_outputs
from experiments.calibrate.space import check_daily_news, distributions, format_value
from experiments.config import to_run_config
from experiments.study.plan import _compose
from market.validation import ConfigError

JOURNAL_FILE = "optuna.journal"
#: the user attribute of the study holding the setup's fingerprint
SETUP_ATTR = "setup_fingerprint"

RunBatch = Callable[[CalibrationConfig, Sequence[TrialJob]], list[TrialResult]]


def _base_arm(cal: CalibrationConfig, cfg: DictConfig) -> list[str]:
    """The overrides of the arm fitted (none for the treatment)."""
    if cal.arm == "treatment":
        return []
    arms = cfg.scenario.get("arms") or {}
    if cal.arm not in arms:
        raise ConfigError(
            f"calibrate.arm must be 'treatment' or one of {sorted(arms)} of scenario "
            f"{cal.scenario!r}, got {cal.arm!r}"
        )
    return [str(item) for item in arms[cal.arm]]


def _check_corners(cfg: DictConfig, base: list[str], dists: dict[str, Any]) -> None:
    """The run config with every parameter at the low ends, then at the high ends, must pass the
    run's own checks (cross-field rules included) before any run starts."""
    for end in ("low", "high"):
        items = [*base, *(f"{k}={format_value(getattr(d, end))}" for k, d in dists.items())]
        trial = cfg.copy()
        with open_dict(trial):
            trial.scenario.arms["calibration_check"] = items
        trial.arm = "calibration_check"
        try:
            to_run_config(trial)
        except ConfigError as exc:
            raise ConfigError(f"calibrate.parameters at their {end} ends: {exc}") from exc


def plan(cal: CalibrationConfig) -> dict[str, Any]:
    """Compose the scenario with the run overrides and check the whole search before any run:
    every searched field declared with a plausible range that holds the search range, every
    metric with a reference, the parameters' extremes accepted by the run config."""
    cfg = _compose([f"scenario={cal.scenario}", *cal.run_overrides(), "progress=false"])
    base = _base_arm(cal, cfg)
    dists = distributions(cal, cfg)
    check_daily_news(cfg, dists)
    reference = {k: float(v) for k, v in (cfg.scenario.get("reference") or {}).items()}
    targets = resolve_targets(cal, reference)
    _check_corners(cfg, base, dists)
    return {"base_arm": base, "distributions": dists, "targets": targets}


def setup_fingerprint(cal: CalibrationConfig, targets: Sequence[Target]) -> str:
    """What makes two calibrations comparable trial by trial: scenario, arm, run overrides,
    seeds, search space, targets, distance form and sampler (not n_trials, batch or launcher)."""
    setup = {
        "scenario": cal.scenario,
        "arm": cal.arm,
        "overrides": cal.run_overrides(),
        "seeds": seeds_of(cal),
        "parameters": {k: asdict(v) for k, v in cal.parameters.items()},
        "targets": [asdict(t) for t in targets],
        "form": cal.form,
        "sampler": [cal.sampler, cal.sampler_seed, cal.n_startup_trials],
    }
    return hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()


def _sampler(cal: CalibrationConfig, n_asked: int):
    import optuna

    seed = (cal.sampler_seed * 1_000_003 + n_asked) % 2**32
    if cal.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(n_startup_trials=cal.n_startup_trials, seed=seed)


def open_study(cal: CalibrationConfig, fingerprint: str):
    """The Optuna study in the calibration dir, created or resumed; refuses a dir that holds a
    calibration of another setup."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = cal.output_dir
    out.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(out / JOURNAL_FILE)))
    study = optuna.create_study(
        storage=storage, study_name=cal.name, direction="minimize", load_if_exists=True
    )
    previous = study.user_attrs.get(SETUP_ATTR)
    if previous is None:
        study.set_user_attr(SETUP_ATTR, fingerprint)
    elif previous != fingerprint:
        raise ConfigError(
            f"calibrate.dir {out} holds calibration {cal.name!r} of another setup (scenario, "
            "arm, overrides, seeds, parameters, metrics or sampler changed); give another "
            "calibrate.dir or name to start afresh"
        )
    return study


def _trial_overrides(base: list[str], params: dict[str, Any]) -> list[str]:
    return [*base, *(f"{k}={format_value(v)}" for k, v in params.items())]


def _next_batch(study, cal: CalibrationConfig, dists: dict[str, Any]) -> list:
    """Trials to run now: those left running by an interrupted batch, topped up with new asks
    until ``batch`` or ``n_trials``."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    pending = [t.number for t in trials if t.state == TrialState.RUNNING][: cal.batch]
    done = sum(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in trials)
    while len(pending) < cal.batch and done + len(pending) < cal.n_trials:
        study.sampler = _sampler(cal, len(study.get_trials(deepcopy=False)))
        pending.append(study.ask(dists).number)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    return [by_number[n] for n in pending]


def _tell(study, result: TrialResult, targets: Sequence[Target], form: str) -> None:
    import math

    from optuna.trial import TrialState

    names = [t.name for t in targets]
    means = mean_over_seeds(list(result.per_seed.values()), names)
    # a failed run fails the trial: a mean over the seeds that happened to run is no fit
    value = distance(means, targets, form) if not result.errors else math.nan
    trial = _live_trial(study, result.number)
    trial.set_user_attr("metrics", means)
    trial.set_user_attr("seeds_ok", sorted(result.per_seed))
    trial.set_user_attr("errors", {str(k): v for k, v in result.errors.items()})
    if math.isfinite(value):
        study.tell(trial, value)
    else:
        study.tell(trial, state=TrialState.FAIL)


def _live_trial(study, number: int):
    """The running trial ``number`` as an Optuna ``Trial`` (also one asked by an earlier,
    interrupted process)."""
    from optuna.trial import Trial

    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    return Trial(study, frozen._trial_id)


def run_calibration(
    cal: CalibrationConfig, *, run_batch: RunBatch = launch_batch, dry_run: bool = False
) -> Path:
    """Plan, run the trials batch by batch (resuming what the dir holds), write the outputs;
    returns the calibration dir."""
    planned = plan(cal)
    targets, dists = planned["targets"], planned["distributions"]
    n_params = ", ".join(f"{k} {d.low}-{d.high}" for k, d in dists.items())
    print(
        f"calibration {cal.name}: scenario {cal.scenario} ({cal.arm}), {cal.n_trials} trials x "
        f"{cal.seeds} seeds {seeds_of(cal)}; search {n_params}; into {cal.output_dir}",
        flush=True,
    )
    if dry_run:
        return cal.output_dir
    study = open_study(cal, setup_fingerprint(cal, targets))
    while batch := _next_batch(study, cal, dists):
        jobs = [TrialJob(t.number, _trial_overrides(planned["base_arm"], t.params)) for t in batch]
        print(f"calibration {cal.name}: trials {[j.number for j in jobs]}", flush=True)
        for result in run_batch(cal, jobs):
            _tell(study, result, targets, cal.form)
        write_outputs(cal, study, targets, dists)
    write_outputs(cal, study, targets, dists)
    return cal.output_dir


def composed_for(cal: CalibrationConfig) -> DictConfig:
    """The composed run config of the calibration's scenario and run overrides (for tests and
    the re-run check)."""
    return _compose([f"scenario={cal.scenario}", *cal.run_overrides(), "progress=false"])
