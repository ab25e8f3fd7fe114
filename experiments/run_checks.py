"""Refusing a bad config before Hydra makes a directory for it.

Hydra creates the run dir (with ``.hydra/`` and ``run.log``) before it calls the task function,
so a config refused there would leave an empty run dir behind. :class:`CheckBeforeRunDir`, a
Hydra callback that ``conf/config.yaml`` and ``conf/hpi_study.yaml`` configure, validates the
composed config in ``on_run_start``, which Hydra calls before it makes the dir: a refused config
leaves nothing on disk. In a multirun each job's dir is its record (a refused job is written there
as failed, see :mod:`experiments.study.jobs`), so only the names that form the sweep dir's path
are checked before the sweep starts.
"""

from __future__ import annotations

import sys
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from experiments.config import check_name, to_run_config
from experiments.hpi_study.pipeline import study_from_config

#: config keys whose values Hydra's run and sweep dirs are named after (conf/config.yaml)
PATH_KEYS = ("scenario.name", "arm")


def _task_config(config: DictConfig) -> DictConfig:
    """``config`` without its ``hydra`` node: what the task function will receive."""
    task = config.copy()
    with read_write(task), open_dict(task):
        task.pop("hydra", None)
    return task


def validate_task(config: DictConfig) -> None:
    """Raise :class:`ConfigError` (a ValueError) if the task config would be refused: the HPI
    study's (``--config-name hpi_study``) or a single run's, ranges and names included."""
    task = _task_config(config)
    if "hpi_study" in task:
        study_from_config(task)
    else:
        to_run_config(task)


def check_path_names(config: DictConfig) -> None:
    """The names a multirun's dirs are made of, each value of a swept one included."""
    for key in PATH_KEYS:
        value = OmegaConf.select(config, key, default=None)
        if value is not None:
            check_name(key, value)
    task_overrides = OmegaConf.select(config, "hydra.overrides.task", default=[]) or []
    try:
        parsed = OverridesParser.create().parse_overrides([str(o) for o in task_overrides])
    except Exception:  # Hydra's sweeper reports a grammar error itself, with its own message
        return
    for override in parsed:
        if override.get_key_element().lstrip("+~") in PATH_KEYS and override.is_sweep_override():
            for value in override.sweep_string_iterator():
                check_name(override.get_key_element().lstrip("+~"), value)


def _refuse(exc: ValueError) -> None:
    print(f"hedgeloop: invalid configuration: {exc}", file=sys.stderr)
    sys.exit(2)


class CheckBeforeRunDir(Callback):
    """Hydra callback: a config that would be refused stops before Hydra makes its dir.

    Configure as ``hydra.callbacks.<name>._target_: experiments.run_checks.CheckBeforeRunDir``.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            validate_task(config)
        except ValueError as exc:  # ConfigError and OmegaConf validation both subclass it
            _refuse(exc)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_path_names(config)
        except ValueError as exc:
            _refuse(exc)
