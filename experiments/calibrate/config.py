"""What a calibration is: :class:`CalibrationConfig` (``conf/calibrate/<name>.yaml``), its search
parameters and its metric targets, and how it is loaded."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.study.config import CONF_DIR
from market.validation import ConfigError, Validated, param

CALIBRATE_CONF_DIR = CONF_DIR / "calibrate"


@dataclass
class SearchParam(Validated):
    """One config field the calibration searches: its type and range.

    ``low``/``high``: the search range in the field's own unit; null takes that end of the
    field's declared plausible range. The range must lie inside the plausible range (checked
    against the field's declaration before any run, :mod:`experiments.calibrate.space`).
    ``log``: sample uniformly in log space (both ends > 0).
    """

    config_path: ClassVar[str] = "calibrate.parameters.<key>"

    type: str = param("float", choices=("float", "int"), doc="the field's type")
    low: float | None = param(None, optional=True, doc="lower end of the search (null: plausible)")
    high: float | None = param(None, optional=True, doc="upper end of the search (null: plausible)")
    log: bool = param(False, choices=(True, False), doc="sample in log space")


@dataclass
class MetricTarget(Validated):
    """One metric of ``summary.json``'s ``scenario_metrics`` (a dotted name, e.g.
    ``insurers.executed_share_at_max_backlog``) and how far from its reference it may lie.

    The metric's term in the distance is ``weight * ((m - ref) / scale) ** 2`` (or
    ``weight * |m - ref| / scale`` with ``form: absolute``), ``m`` the mean over the trial's
    seeds. ``scale`` is in the metric's own unit: the size of a miss worth one unit of
    distance. ``reference``: null takes ``scenario.reference[<name>]``. ``tolerance``: a miss is
    ``|m - ref| > tolerance`` (metric's unit; null: ``scale``).
    """

    config_path: ClassVar[str] = "calibrate.metrics.<name>"

    weight: float = param(1.0, lo=0.0, lo_open=True, hi=1e6, doc="weight in the distance")
    scale: float = param(
        1.0, lo=0.0, lo_open=True, hi=1e12, unit="metric's unit", doc="a miss worth 1"
    )
    reference: float | None = param(
        None, optional=True, unit="metric's unit", doc="null: scenario.reference"
    )
    tolerance: float | None = param(
        None, lo=0.0, hi=1e12, optional=True, unit="metric's unit", doc="null: scale"
    )


@dataclass
class CalibrationConfig(Validated):
    """A calibration of one scenario arm to its reference figures (docs/calibration.md).

    Each trial runs the scenario's ``arm`` with the trial's ``parameters`` over ``seeds`` seeds
    from ``first_seed`` (calibrate on seeds 0-9; report on unseen ones), averages each metric
    over the seeds and scores the distance of the means to their references. ``batch`` trials
    are asked at once and run as one multirun, so a launcher with many workers runs them in
    parallel. ``launcher``: Hydra launcher overrides of that multirun (``hydra/launcher=...``);
    with joblib, ``n_jobs`` workers. ``overrides``: run overrides of every trial (``days``, when
    set, adds ``scenario.days``). ``dir``: empty = results/calibrations/<name>; running again
    into the same dir resumes.
    """

    config_path: ClassVar[str] = "calibrate"

    name: str = ""
    scenario: str = param("baseline", doc="the scenario (conf/scenario/<name>.yaml)")
    arm: str = param("treatment", doc="the arm fitted (`treatment` or a scenario arm)")
    parameters: dict[str, SearchParam] = field(default_factory=dict)
    metrics: dict[str, MetricTarget] = field(default_factory=dict)
    form: str = param(
        "squared",
        choices=("squared", "absolute"),
        doc="sum of w*((m-ref)/scale)^2, or of w*|m-ref|/scale",
    )
    seeds: int = param(2, lo=1, hi=10_000, unit="runs", doc="seeds per trial")
    first_seed: int = param(0, lo=0, hi=2**62, doc="the first seed; seeds run consecutively")
    n_trials: int = param(8, lo=1, hi=100_000, unit="trials", doc="trials in all (resumes count)")
    batch: int = param(1, lo=1, hi=10_000, unit="trials", doc="trials run in one multirun")
    sampler: str = param("tpe", choices=("tpe", "random"), doc="Optuna's sampler")
    n_startup_trials: int = param(
        4, lo=0, hi=100_000, unit="trials", doc="TPE: random trials before it models"
    )
    sampler_seed: int = param(0, lo=0, hi=2**31 - 1, doc="seed of the sampler")
    days: int | None = param(None, lo=1, hi=250, optional=True, doc="scenario.days of each run")
    overrides: list[str] = field(default_factory=list)
    launcher: list[str] = field(default_factory=lambda: ["hydra/launcher=joblib"])
    n_jobs: int = param(1, lo=-1, hi=1024, unit="processes", doc="joblib workers (-1: all cores)")
    dir: str = ""

    def check(self) -> None:
        """Names and the rules across fields."""
        if not self.parameters:
            raise ConfigError("calibrate.parameters must name at least one field to search")
        if not self.metrics:
            raise ConfigError("calibrate.metrics must name at least one metric")
        if self.n_jobs == 0:
            raise ConfigError("calibrate.n_jobs must be -1 or in [1, 1024], got 0")
        if self.name and not re.fullmatch(r"[A-Za-z0-9_\-]+", self.name):
            raise ConfigError(f"calibrate.name must be [A-Za-z0-9_-]+, got {self.name!r}")
        for key in self.overrides:
            bare = key.partition("=")[0].lstrip("+~")
            if bare in ("arm", "seed", "scenario") or bare.startswith("hydra"):
                raise ConfigError(f"calibrate.overrides: {key!r} is set by the calibration")
            if bare in self.parameters:
                raise ConfigError(f"calibrate.overrides: {bare} is also a searched parameter")

    @property
    def output_dir(self) -> Path:
        """The calibration's dir, absolute."""
        return Path(self.dir or f"results/calibrations/{self.name}").resolve()

    def run_overrides(self) -> list[str]:
        """Overrides of every trial's runs (``days`` first, so ``overrides`` may restate it)."""
        days = [] if self.days is None else [f"scenario.days={self.days}"]
        return [*days, *self.overrides]


def _config_layer(name: str) -> tuple[str, object]:
    """The YAML of ``name``: a file path, or conf/calibrate/<name>.yaml."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path.stem, OmegaConf.load(path)
    path = CALIBRATE_CONF_DIR / f"{name}.yaml"
    if path.exists():
        return name, OmegaConf.load(path)
    known = sorted(p.stem for p in CALIBRATE_CONF_DIR.glob("*.yaml"))
    raise ConfigError(f"calibration {name!r}: no conf/calibrate/{name}.yaml; known: {known}")


def load_calibration(name: str, dotlist: Sequence[str] = ()) -> CalibrationConfig:
    """``conf/calibrate/<name>.yaml`` (or a YAML file's path), then ``key=value`` overrides of
    ``dotlist``; validated, ranges and names checked."""
    stem, layer = _config_layer(name)
    for item in dotlist:
        if "=" not in item:
            raise ConfigError(f"calibration option {item!r} must be key=value")
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(CalibrationConfig), layer, OmegaConf.from_dotlist(list(dotlist))
        )
        cal = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:  # a wrong type or an unknown key
        raise ConfigError(
            f"calibrate: {str(exc).splitlines()[0]} (key: {getattr(exc, 'full_key', '?')})"
        ) from exc
    if not cal.name:
        cal.name = stem
    cal.check()  # the name may have come from the file
    return cal
