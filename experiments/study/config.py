"""What a study is: :class:`StudyConfig` (``conf/study/<name>.yaml``) and how it is loaded."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.config import check_name
from experiments.study.runner import REPO_ROOT
from market.validation import ConfigError, Validated, param

CONF_DIR = REPO_ROOT / "conf"
STUDY_CONF_DIR = CONF_DIR / "study"


@dataclass
class StudyConfig(Validated):
    """A study of one scenario: its treatment and control arms over shared seeds, and how the arm
    differences move under changes of the main calibrated parameters. Units: counts, fractions.

    ``arms``: the arms to run, treatment first (empty: treatment and every arm of the scenario and
    of ``extra_arms``). ``extra_arms``: arms defined here (name -> ``key=value`` overrides) on top
    of the scenario's. ``overrides``: run overrides for every job (the command line after ``--``
    adds to them). ``metrics``: dotted summary.json prefixes whose numeric leaves are tabulated.
    ``key_metrics``: those shown in study.md and study.png (empty: the ones with a reference
    figure, else all). ``robustness``: dotted config keys run at each of ``robustness_scales``
    times their calibrated value with ``robustness_seeds`` seeds. ``dir``: the study dir (empty:
    results/studies/<name>); running again into the same dir resumes. The numeric fields state
    their ranges below.
    """

    config_path: ClassVar[str] = "study"

    name: str = ""
    scenario: str = "baseline"
    seeds: int = param(20, lo=2, hi=100_000, unit="runs", doc="seeds per arm")
    first_seed: int = param(0, lo=0, hi=2**62, doc="the first seed; seeds run consecutively")
    arms: list[str] = field(default_factory=list)
    extra_arms: dict[str, list[str]] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=lambda: ["scenario_metrics"])
    key_metrics: list[str] = field(default_factory=list)
    robustness: list[str] = field(default_factory=list)
    # param() returns a dataclasses.field (with a default_factory), not a shared list
    robustness_scales: list[float] = param(
        default_factory=lambda: [0.8, 1.2],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="x calibrated",
        doc="scales of each robustness parameter (never 1)",
    )
    robustness_seeds: int = param(
        5, lo=2, hi=100_000, unit="runs", doc="seeds per arm at each robustness setting"
    )
    level: float = param(
        0.95, lo=0.0, hi=1.0, lo_open=True, hi_open=True, doc="confidence level of the intervals"
    )
    n_jobs: int = param(
        -1, lo=-1, hi=1024, unit="processes", doc="worker processes (-1: one per core)"
    )
    dir: str = ""

    def check(self) -> None:
        """Rules across fields, and the shape of the lists of names."""
        # the study's name names its dir; the scenario's, a config file
        if self.name:
            check_name("study.name", self.name)
        check_name("study.scenario", self.scenario)
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError(f"study.n_jobs must be -1 or in [1, 1024], got {self.n_jobs!r}")
        if not self.metrics:
            raise ConfigError("study.metrics must name at least one summary.json prefix")
        # checked here, not when the runs are collected: a typo must not cost a whole study
        for key in self.key_metrics:
            if not any(key == m or key.startswith(m + ".") for m in self.metrics):
                raise ConfigError(
                    f"study.key_metrics: {key!r} lies under none of study.metrics "
                    f"{list(self.metrics)} (write the full dotted name, e.g. "
                    f"'{self.metrics[0]}.<name>')"
                )
        if self.arms and self.arms[0] != "treatment":
            raise ConfigError(f"study.arms must start with 'treatment', got {self.arms}")
        if len(set(self.arms)) != len(self.arms):
            raise ConfigError(f"study.arms must not repeat an arm, got {self.arms}")
        if self.robustness and not self.robustness_scales:
            raise ConfigError("study.robustness_scales must list at least one scale")
        for i, s in enumerate(self.robustness_scales):
            if s == 1.0:
                raise ConfigError(f"study.robustness_scales[{i}] must differ from 1, got {s}")
        for name in self.extra_arms:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name) or name == "treatment":
                raise ConfigError(
                    f"study.extra_arms: arm name {name!r} must be an identifier "
                    "other than 'treatment'"
                )


def load_study(name: str | None, dotlist: Sequence[str] = ()) -> StudyConfig:
    """``conf/study/<name>.yaml`` (or, if there is none, the scenario ``name`` with the defaults),
    then the ``key=value`` items of ``dotlist``; validated."""
    layers: list = [OmegaConf.structured(StudyConfig)]
    if name:
        check_name("study", name)  # before it names a file to read
        path = STUDY_CONF_DIR / f"{name}.yaml"
        if path.exists():
            layers.append(OmegaConf.load(path))
        elif (CONF_DIR / "scenario" / f"{name}.yaml").exists():
            layers.append(OmegaConf.create({"scenario": name}))
        else:
            studies = sorted(p.stem for p in STUDY_CONF_DIR.glob("*.yaml"))
            scenarios = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))
            raise ConfigError(
                f"study {name!r}: no conf/study/{name}.yaml and no scenario of that "
                f"name; studies: {studies}, scenarios: {scenarios}"
            )
    for item in dotlist:
        if "=" not in item:
            raise ConfigError(f"study option {item!r} must be key=value")
    try:
        layers.append(OmegaConf.from_dotlist(list(dotlist)))
        study = OmegaConf.to_object(OmegaConf.merge(*layers))
    except OmegaConfBaseException as exc:  # a wrong type or an unknown key
        raise ConfigError(
            f"study: {str(exc).splitlines()[0]} (key: {getattr(exc, 'full_key', '?')})"
        ) from exc
    if not study.name:
        study.name = name or study.scenario
    return study
