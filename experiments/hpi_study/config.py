"""What the HPI study is: :class:`HPIStudyConfig` (the ``hpi_study`` node of
``conf/hpi_study.yaml``), its session design (parents, event classes, volatility regimes) and the
canary gates. Ranges are declared once on each field (:func:`market.validation.param`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import ClassVar

from hydra.core.config_store import ConfigStore

from experiments.config import RunConfig, check_name, override_value
from experiments.events import EventConfig, EventKind
from market.validation import ConfigError, Validated, param


def split_override(where: str, item: str) -> tuple[str, object]:
    """``key=value`` as ``(key, value)``, the value read as the command line and the scenario
    arms read it (Hydra's override grammar: ``mode=off`` is the string "off", ``at=10:30`` the
    string "10:30"); ConfigError naming ``where`` if it is not one."""
    key, sep, raw = str(item).partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{where}: {item!r} must be 'key=value'")
    return key.strip(), override_value(raw, where)


@dataclass
class StudyParent:
    """One parent order every session works (see :class:`experiments.events.EventConfig`)."""

    at: str = "10:00"
    side: int = 1
    qty: int = 6_000
    algo: str = "pov"
    participation: float = 0.1
    horizon_s: float = 1800.0
    urgency: float = 0.5

    def event(self) -> EventConfig:
        return EventConfig(
            kind=EventKind.parent_order,
            at=self.at,
            side=self.side,
            qty=self.qty,
            algo=self.algo,
            participation=self.participation,
            horizon_s=self.horizon_s,
            urgency=self.urgency,
        )


@dataclass
class EventClass:
    """An event class: dotted ``key=value`` overrides of the run config and extra events."""

    overrides: list[str] = field(default_factory=list)
    events: list[EventConfig] = field(default_factory=list)


@dataclass
class CanaryConfig(Validated):
    """Canary deployment of the live policy, judged window by window against the plain desk.

    ``sessions``: sessions per window (at most ``hpi_study.sessions``). Gates
    (:class:`market.execution.states.CanaryGate`, on the window's parents): p95 implementation
    shortfall above ``p95_limit_bps``, or, when that is null, above the plain desk's p95 of the
    same window times ``1 + p95_tolerance``; mean completion more than ``completion_drop`` below
    plain; queue-loss rate of resting children more than ``queue_loss_jump`` above plain.
    ``min_samples``: parents needed to judge.
    """

    config_path: ClassVar[str] = "hpi_study.canary"

    sessions: int = param(5, lo=1, unit="sessions", doc="sessions per canary window")
    p95_limit_bps: float | None = param(
        None,
        lo=-1e4,
        hi=1e4,
        optional=True,
        unit="bps",
        doc="fixed p95 IS limit (null: plain p95 x tolerance)",
    )
    p95_tolerance: float = param(
        0.25, lo=0.0, hi=100.0, unit="fraction", doc="allowed p95 excess over the plain desk"
    )
    completion_drop: float = param(
        0.05, lo=0.0, hi=1.0, unit="fraction", doc="allowed fall of mean completion below plain"
    )
    queue_loss_jump: float = param(
        0.10, lo=0.0, hi=1.0, unit="fraction", doc="allowed rise of the queue-loss rate above plain"
    )
    min_samples: int = param(20, lo=1, hi=10**6, unit="parents", doc="parents needed to judge")


def _default_parents() -> list[StudyParent]:
    # one parent every half hour from 09:40 to 15:10, alternating sides, urgency cycling
    urgencies = (0.2, 0.5, 0.8)
    return [
        StudyParent(
            at=f"{9 + (40 + 30 * i) // 60:02d}:{(40 + 30 * i) % 60:02d}",
            side=1 if i % 2 == 0 else -1,
            urgency=urgencies[i % 3],
        )
        for i in range(12)
    ]


def _default_classes() -> dict[str, EventClass]:
    opening = [
        "agents.dealers.initial_book_contracts=1500",
        "agents.dealers.initial_book_strikes=3",
    ]
    return {
        "calm": EventClass(),
        # a 0DTE-heavy day: most customer flow and a large opening book in today's expiry
        "expiry": EventClass(
            overrides=[
                "agents.customers.expiry_weights=[0.85,0.1,0.05]",
                "agents.customers.rate=0.003",
                "agents.dealers.initial_book=short_gamma",
                "agents.dealers.initial_book_expiry=0",
                "agents.dealers.initial_book_contracts=1000",
                "agents.dealers.initial_book_strikes=2",
            ]
        ),
        # two macro prints that move the fundamental, on the public calendar (scheduled), so
        # the observer knows their times in advance
        "macro": EventClass(
            events=[
                EventConfig(
                    kind=EventKind.fundamental_shock, at="11:00", size=-0.015, scheduled=True
                ),
                EventConfig(
                    kind=EventKind.fundamental_shock, at="13:45", size=0.012, scheduled=True
                ),
            ]
        ),
        # dealers open short gamma (customers bought calls and puts) and customers chase calls
        "short_gamma": EventClass(
            overrides=[
                "agents.dealers.initial_book=short_gamma",
                *opening,
                "agents.customers.call_frenzy_weight=0.2",
            ]
        ),
        # dealers open long gamma (customers wrote calls and puts)
        "long_gamma": EventClass(
            overrides=[
                "agents.dealers.initial_book=long_gamma",
                *opening,
                "agents.customers.covered_call_weight=0.4",
                "agents.customers.put_selling_weight=0.3",
            ]
        ),
    }


def _default_regimes() -> dict[str, list[str]]:
    return {
        "low": ["market.fundamental_vol=0.10", "market.surface.atm_vol=0.13"],
        "mid": [],
        "high": ["market.fundamental_vol=0.28", "market.surface.atm_vol=0.30"],
    }


@dataclass
class HPIStudyConfig(Validated):
    """The study (``hpi_study`` node of ``conf/hpi_study.yaml``; see :mod:`experiments.hpi_study`).

    - ``sessions``: sessions (trading days) per arm; ``n_jobs``: worker processes.
    - ``calibration_sessions``: sessions (covering every class and every regime once there are
      as many as the larger of the two counts; own seeds) whose raw HPI components set the
      robust scaler's reference (0 = keep the configured fallbacks).
    - ``overrides``: dotted ``key=value`` overrides applied to every session.
    - ``parents``, ``classes``, ``vol_regimes``: the session design.
    - ``n_splits``: rolling time splits; ``decile_bins``, ``min_spearman``: the monotonicity
      alarm; ``drift_method`` (``psi`` | ``ks``) and ``drift_threshold`` (null = the method's
      default) for feature drift; ``expiry_bucket_edges``: Layer B's time-to-expiry buckets
      (seconds, increasing; buckets holding under ``min_bucket_share`` of the rows are merged
      away).
    - ``keep_every_s``: spacing of the per-step HPI rows kept for the figures.
    - ``canary``: :class:`CanaryConfig`.

    Seeds come from the run config's top-level ``seed``, not from this node: session ``i`` runs
    on ``seed + i``, calibration session ``i`` on ``seed + 100000 + i``.
    """

    config_path: ClassVar[str] = "hpi_study"

    sessions: int = param(30, lo=2, hi=100_000, unit="sessions", doc="sessions per arm")
    n_jobs: int = param(2, lo=1, hi=1024, unit="processes", doc="worker processes")
    calibration_sessions: int = param(
        5, lo=0, hi=1000, unit="sessions", doc="reference-history sessions (0: keep the fallbacks)"
    )
    overrides: list[str] = field(default_factory=lambda: ["market.record_interval=60"])
    parents: list[StudyParent] = field(default_factory=_default_parents)
    classes: dict[str, EventClass] = field(default_factory=_default_classes)
    vol_regimes: dict[str, list[str]] = field(default_factory=_default_regimes)
    n_splits: int = param(4, lo=1, hi=100, unit="splits", doc="rolling time splits")
    decile_bins: int = param(
        10, lo=3, hi=100, unit="bins", doc="HPI bins of the monotonicity check"
    )
    min_spearman: float = param(
        0.7, lo=-1.0, hi=1.0, doc="monotonicity alarm below this rank correlation"
    )
    drift_method: str = param("psi", choices=("psi", "ks"), doc="feature-drift statistic")
    drift_threshold: float | None = param(
        None,
        lo=0.0,
        lo_open=True,
        optional=True,
        doc="drift alarm level (null: the method's default)",
    )
    # param() returns a dataclasses.field (with a default_factory), not a shared list
    expiry_bucket_edges: list[float] = param(
        default_factory=lambda: [3600.0, 23_400.0, 117_000.0],
        lo=0.0,
        lo_open=True,
        unit="s",
        doc="Layer B's time-to-expiry bucket edges, increasing",
    )
    min_bucket_share: float = param(
        0.02, lo=0.0, hi=0.5, unit="fraction", doc="buckets thinner than this are merged"
    )
    keep_every_s: float = param(
        10.0, lo=1.0, hi=23_400.0, unit="s", doc="spacing of the per-step HPI rows kept"
    )
    canary: CanaryConfig = field(default_factory=CanaryConfig)

    def check(self) -> None:
        """The session design, the bucket edges' order and the canary window against the
        study's length (the numeric ranges are checked already)."""
        p = self.config_path
        self._check_design(p)
        edges = list(self.expiry_bucket_edges)
        if not edges or any(b <= a for a, b in pairwise(edges)):
            raise ConfigError(
                f"{p}.expiry_bucket_edges must be positive and increasing, got {edges!r}"
            )
        if isinstance(self.canary, dict):
            self.canary = CanaryConfig(**self.canary)
        if self.canary.sessions > self.sessions:
            raise ConfigError(
                f"{p}.canary.sessions must be at most {p}.sessions "
                f"({self.sessions}), got {self.canary.sessions}"
            )

    def _check_design(self, p: str) -> None:
        """Parents, event classes, regimes and overrides (dicts from YAML become dataclasses)."""
        if not self.parents:
            raise ConfigError(f"{p}.parents must list at least one parent order")
        for i, parent in enumerate(self.parents):
            if isinstance(parent, dict):
                parent = self.parents[i] = StudyParent(**parent)
            parent.event().validate(f"{p}.parents[{i}]", 1)
        if not self.classes:
            raise ConfigError(f"{p}.classes must define at least one event class")
        for name, ec in list(self.classes.items()):
            # a session's scenario is named hpi_<class>, and a scenario's name is a path's part
            check_name(f"{p}.classes: class name {name!r}", name, max_len=60)
            if isinstance(ec, dict):
                ec = self.classes[name] = EventClass(**ec)
            for i, ev in enumerate(ec.events):
                if isinstance(ev, dict):
                    ev = ec.events[i] = EventConfig(**ev)
                if ev.kind is EventKind.parent_order:
                    raise ConfigError(
                        f"{p}.classes.{name}.events[{i}]: parent orders belong in {p}.parents"
                    )
                ev.validate(f"{p}.classes.{name}.events[{i}]", 1)
            for item in ec.overrides:
                split_override(f"{p}.classes.{name}.overrides", item)
        if not self.vol_regimes:
            raise ConfigError(f"{p}.vol_regimes must define at least one regime")
        for name, items in self.vol_regimes.items():
            for item in items:
                split_override(f"{p}.vol_regimes.{name}", item)
        for item in self.overrides:
            split_override(f"{p}.overrides", item)


@dataclass
class HPIStudyRunConfig(RunConfig):
    """The run config every session starts from, plus the study node."""

    hpi_study: HPIStudyConfig = field(default_factory=HPIStudyConfig)


def register_configs() -> None:
    """Register the study's schema (``conf/hpi_study.yaml`` composes against it)."""
    ConfigStore.instance().store(name="hpi_study_schema", node=HPIStudyRunConfig)


# registered on import: ``python -m experiments.run --config-name hpi_study`` composes against it
register_configs()
