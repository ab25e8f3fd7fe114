"""The execution desk: works parent orders as child orders, optionally steered by the Hedge
Pressure Index.

Modules, each importing only those listed before it: :mod:`~agents.desk.state_machine` (the
CALM ... SAFE machine from ``desk.hpi``), :mod:`~agents.desk.config` (``desk``, ``desk.hpi``,
``desk.hpi.observer``), :mod:`~agents.desk.orders` (parent order spec, parent and child
records), :mod:`~agents.desk.schedule` (the slicing-policy interface and the plain POV/TWAP
schedule), :mod:`~agents.desk.queue_priority`, :mod:`~agents.desk.desk` (the desk agent),
:mod:`~agents.desk.hpi_observer`, :mod:`~agents.desk.hpi_policy`, :mod:`~agents.desk.tables`
(summary, Parquet tables, reporters) and :mod:`~agents.desk.population` (building the desk).

The model uses this package as a population module: :func:`populate`, :func:`summary`,
:func:`tables`, :data:`HPI_REPORT_COLUMNS` and :func:`hpi_report`.
"""

from agents.desk.config import (
    DeskConfig,
    HPIMode,
    HPIObserverConfig,
    HPIPolicyConfig,
    OverrideWindow,
    VolumeBasis,
)
from agents.desk.desk import ExecutionDesk
from agents.desk.hpi_observer import HPIObserver, scenario_event_windows
from agents.desk.hpi_policy import (
    NO_EXPIRY_SECONDS,
    HPIPolicy,
    QuantileTailForecaster,
    desk_side,
)
from agents.desk.orders import ChildOrder, ParentOrder, ParentOrderSpec
from agents.desk.population import make_policy, populate
from agents.desk.schedule import (
    NEUTRAL,
    SchedulePolicy,
    SliceAdjustment,
    SlicingPolicy,
    check_adjustment,
)
from agents.desk.state_machine import HPI_STATES, build_state_machine
from agents.desk.tables import (
    HPI_REPORT_COLUMNS,
    child_frame,
    desk_summary,
    desk_tables,
    hpi_report,
    parent_frame,
    summary,
    tables,
)

__all__ = [
    "HPI_REPORT_COLUMNS",
    "HPI_STATES",
    "NEUTRAL",
    "NO_EXPIRY_SECONDS",
    "ChildOrder",
    "DeskConfig",
    "ExecutionDesk",
    "HPIMode",
    "HPIObserver",
    "HPIObserverConfig",
    "HPIPolicy",
    "HPIPolicyConfig",
    "OverrideWindow",
    "ParentOrder",
    "ParentOrderSpec",
    "QuantileTailForecaster",
    "SchedulePolicy",
    "SliceAdjustment",
    "SlicingPolicy",
    "VolumeBasis",
    "build_state_machine",
    "check_adjustment",
    "child_frame",
    "desk_side",
    "desk_summary",
    "desk_tables",
    "hpi_report",
    "make_policy",
    "parent_frame",
    "populate",
    "scenario_event_windows",
    "summary",
    "tables",
]
