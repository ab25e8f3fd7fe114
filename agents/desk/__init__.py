"""The execution desk: works parent orders as child orders, optionally steered by the Hedge
Pressure Index.

Modules, each importing only those listed before it: :mod:`~agents.desk.state_machine` (the
CALM ... SAFE machine from ``desk.hpi``), :mod:`~agents.desk.config` (``desk``, ``desk.hpi``,
``desk.hpi.observer``), :mod:`~agents.desk.orders` (parent order spec, parent and child
records), :mod:`~agents.desk.schedule` (the slicing-policy interface and the plain POV/TWAP
schedule), :mod:`~agents.desk.queue_priority`, :mod:`~agents.desk.desk` (the desk agent),
:mod:`~agents.desk.hpi_observer`, :mod:`~agents.desk.hpi_policy`, :mod:`~agents.desk.tables`
(summary, Parquet tables, time-series values) and :mod:`~agents.desk.population` (the desk
population: :class:`DeskPopulation`).

The desk sees the market only through its :class:`agents.world.World`; parent orders reach it as
:class:`ParentOrderSpec` (:meth:`ExecutionDesk.add_parent`).
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
from agents.desk.hpi_observer import HPIObserver, calendar_windows
from agents.desk.hpi_policy import (
    NO_EXPIRY_SECONDS,
    HPIPolicy,
    QuantileTailForecaster,
    desk_side,
)
from agents.desk.orders import ChildOrder, ParentOrder, ParentOrderSpec
from agents.desk.population import DeskPopulation, make_policy, populate
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
)

__all__ = [
    "HPI_REPORT_COLUMNS",
    "HPI_STATES",
    "NEUTRAL",
    "NO_EXPIRY_SECONDS",
    "ChildOrder",
    "DeskConfig",
    "DeskPopulation",
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
    "calendar_windows",
    "check_adjustment",
    "child_frame",
    "desk_side",
    "desk_summary",
    "desk_tables",
    "hpi_report",
    "make_policy",
    "parent_frame",
    "populate",
]
