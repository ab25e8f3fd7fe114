"""Planning a study: every arm and robustness setting composed and range-checked before any run
starts, the jobs laid out (the manifest, ``study.json``) and the multirun command lines built."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.config import register_configs, to_run_config
from experiments.study.config import CONF_DIR, StudyConfig
from market.validation import ConfigError


def robust_arm_name(arm: str, param: str, scale: float) -> str:
    """The arm that runs ``arm`` with ``param`` scaled: a Hydra-safe key and a readable dir name."""
    return re.sub(r"[^A-Za-z0-9_]", "-", f"{arm}__{param}_x{scale:g}")


def _hydra_quoted(text: str, where: str) -> str:
    """``text`` as a quoted string of Hydra's override grammar."""
    if "'" in text or "\\" in text:
        raise ConfigError(f"{where}: {text!r} must not contain quotes or backslashes")
    return f"'{text}'"


def _quote_items(items: Sequence[str], where: str) -> str:
    return "[" + ",".join(_hydra_quoted(item, where) for item in items) + "]"


def _arm_override(name: str, items: Sequence[str]) -> str:
    return f"++scenario.arms.{name}={_quote_items(items, f'arms.{name}')}"


def _compose(overrides: Sequence[str]) -> DictConfig:
    """The run config ``conf/config.yaml`` composed with ``overrides`` (Hydra errors as
    :class:`ConfigError`)."""
    register_configs()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            return compose(config_name="config", overrides=list(overrides))
    except HydraException as exc:
        cause = exc.__cause__ or exc
        raise ConfigError(f"study: {str(cause).splitlines()[0]}") from exc


def _scaled(param: str, base: Any, scale: float) -> int | float:
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise ConfigError(f"study.robustness: {param} must be a number to scale, got {base!r}")
    if isinstance(base, int):
        value = round(base * scale)
        if value == base:
            raise ConfigError(
                f"study.robustness: {param} = {base} is too small to scale by {scale:g}"
            )
        return value
    if base == 0.0:
        raise ConfigError(
            f"study.robustness: {param} is 0 at the calibrated values; scaling it changes nothing"
        )
    return float(f"{base * scale:.12g}")


def _check_overrides(study: StudyConfig) -> None:
    """The study's run overrides must parse, must not sweep and must not set what the study sets
    itself (arm, seed, scenario, hydra.*)."""
    for item in study.overrides:
        key = item.partition("=")[0].lstrip("+~")
        if key in ("arm", "seed", "scenario") or key.startswith("hydra"):
            raise ConfigError(f"study.overrides: {item!r} is set by the study itself")
    try:
        parsed = OverridesParser.create().parse_overrides(list(study.overrides))
    except Exception as exc:  # Hydra's grammar errors have several types
        raise ConfigError(f"study.overrides: {exc}") from exc
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if sweeps:
        raise ConfigError(
            f"study.overrides must not sweep (the study sweeps arms and seeds): {sweeps}"
        )


def _study_arms(study: StudyConfig, scenario_arms: dict[str, list[str]]) -> list[str]:
    """The arms to run, treatment first, each known to the scenario or the study."""
    arms = list(study.arms) or ["treatment", *scenario_arms]
    unknown = [a for a in arms[1:] if a not in scenario_arms]
    if unknown:
        raise ConfigError(
            f"study.arms: {unknown} are not arms of scenario {study.scenario!r} "
            f"nor study.extra_arms; known: {sorted(scenario_arms)}"
        )
    if study.robustness and len(arms) < 2:
        raise ConfigError(
            "study.robustness needs a control arm: the scenario has none and "
            "study.extra_arms defines none"
        )
    return arms


def _robust_settings(
    study: StudyConfig, cfg: DictConfig, arms: Sequence[str], scenario_arms: dict[str, list[str]]
) -> list[dict]:
    """One entry per (robustness parameter, scale, arm), each composed and range-checked."""
    robust = []
    for param in study.robustness:
        base = OmegaConf.select(cfg, param, default=None)
        if base is None:
            raise ConfigError(f"study.robustness: {param!r} is not a config key with a value")
        for scale in study.robustness_scales:
            value = _scaled(param, base, scale)
            for arm in arms:
                name = robust_arm_name(arm, param, scale)
                items = [f"{param}={value}", *(scenario_arms.get(arm, []))]
                trial = cfg.copy()
                with open_dict(trial):
                    trial.scenario.arms[name] = items
                trial.arm = name
                try:
                    to_run_config(trial)
                except ConfigError as exc:
                    raise ConfigError(
                        f"study.robustness: {param} x{scale:g} = {value} (arm {arm}): {exc}"
                    ) from exc
                robust.append(
                    {
                        "run_arm": name,
                        "arm": arm,
                        "param": param,
                        "scale": scale,
                        "value": value,
                        "base_value": base,
                        "overrides": items,
                    }
                )
    return robust


def _study_jobs(
    study: StudyConfig,
    arms: Sequence[str],
    robust: Sequence[dict],
    seeds: Sequence[int],
    r_seeds: Sequence[int],
) -> list[dict]:
    """Every run of the study with its dir (relative to the study dir), setting, arm and seed."""
    jobs = [
        {
            "dir": f"main/{arm}/seed_{s}",
            "setting": "base",
            "param": "",
            "scale": 1.0,
            "value": math.nan,
            "arm": arm,
            "run_arm": arm,
            "seed": s,
        }
        for arm in arms
        for s in seeds
    ]
    jobs += [
        {
            "dir": f"robustness/{r['run_arm']}/seed_{s}",
            "setting": f"{r['param']} x{r['scale']:g}",
            "param": r["param"],
            "scale": r["scale"],
            "value": r["value"],
            "arm": r["arm"],
            "run_arm": r["run_arm"],
            "seed": s,
        }
        for r in robust
        for s in r_seeds
    ]
    return jobs


def plan_study(study: StudyConfig) -> dict:
    """Validate a study against the composed configs and lay out every job (the manifest).

    Every arm and robustness setting is composed and range-checked here, before any run starts,
    so a bad arm or a scale that leaves a parameter's range fails with the field named.
    """
    _check_overrides(study)
    arm_defs = [_arm_override(k, v) for k, v in study.extra_arms.items()]
    common = [f"scenario={study.scenario}", *study.overrides, "progress=false"]
    cfg = _compose([*common, *arm_defs])
    scenario_arms = {k: list(v) for k, v in (cfg.scenario.get("arms") or {}).items()}
    arms = _study_arms(study, scenario_arms)
    for arm in arms:
        to_run_config(OmegaConf.merge(cfg, {"arm": arm}))
    robust = _robust_settings(study, cfg, arms, scenario_arms)
    seeds = list(range(study.first_seed, study.first_seed + study.seeds))
    r_seeds = list(range(study.first_seed, study.first_seed + study.robustness_seeds))
    return {
        "study": asdict(study),
        "arms": arms,
        "arm_overrides": {a: scenario_arms.get(a, []) for a in arms},
        "common_overrides": common,
        "arm_definitions": arm_defs,
        "seeds": seeds,
        "robustness_seeds": r_seeds,
        "robustness": robust,
        "reference": {k: float(v) for k, v in (cfg.scenario.get("reference") or {}).items()},
        # what counts as the crisis happening (the validated, float-typed conditions)
        "crisis": to_run_config(cfg).scenario.crisis,
        "jobs": _study_jobs(study, arms, robust, seeds, r_seeds),
    }


def multirun_commands(manifest: dict, study_dir: Path) -> list[tuple[str, list[str]]]:
    """The ``python -m experiments.run -m`` command lines of a study: main, then robustness."""
    study = manifest["study"]
    common = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={study['n_jobs']}",
        "hydra/hydra_logging=disabled",
        "hydra.sweep.subdir='${arm}/seed_${seed}'",
        "+hydra.callbacks.sweep_progress._target_=experiments.study.progress.SweepProgress",
        *manifest["common_overrides"],
        *manifest["arm_definitions"],
    ]

    def sweep_dir(phase: str) -> str:
        return f"hydra.sweep.dir={_hydra_quoted(str(study_dir / phase), 'study.dir')}"

    seeds = manifest["seeds"]
    out = [
        (
            "main",
            [
                *common,
                sweep_dir("main"),
                f"arm={','.join(manifest['arms'])}",
                f"seed=range({seeds[0]},{seeds[-1] + 1})",
            ],
        )
    ]
    if manifest["robustness"]:
        r_seeds = manifest["robustness_seeds"]
        defs = [_arm_override(r["run_arm"], r["overrides"]) for r in manifest["robustness"]]
        out.append(
            (
                "robustness",
                [
                    *common,
                    *defs,
                    sweep_dir("robustness"),
                    f"arm={','.join(r['run_arm'] for r in manifest['robustness'])}",
                    f"seed=range({r_seeds[0]},{r_seeds[-1] + 1})",
                ],
            )
        )
    return out


def study_dir_of(study: StudyConfig) -> Path:
    """The study's dir, absolute: ``study.dir`` or ``results/studies/<name>``."""
    return Path(study.dir or f"results/studies/{study.name}").resolve()


def shell_quote(s: str) -> str:
    """``s`` quoted for a POSIX shell where it needs it (for printing the commands)."""
    return s if re.fullmatch(r"[A-Za-z0-9_./=,:+\-@]+", s) else "'" + s.replace("'", "'\\''") + "'"
