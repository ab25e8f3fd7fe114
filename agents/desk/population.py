"""The desk population: one desk with the slicing policy its config asks for, behind the
generic :class:`agents.base.Population` interface."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import numpy as np

from agents.base import Population
from agents.desk.config import DeskConfig, HPIMode
from agents.desk.desk import ExecutionDesk
from agents.desk.hpi_policy import HPIPolicy
from agents.desk.schedule import SchedulePolicy
from agents.desk.tables import HPI_REPORT_COLUMNS, desk_summary, desk_tables, hpi_report
from agents.world import World


def make_policy(desk_cfg: DeskConfig, world: World) -> SchedulePolicy | HPIPolicy:
    """The desk's policy for its config: :class:`HPIPolicy` unless ``desk.hpi.mode`` is off."""
    if desk_cfg.hpi.mode is HPIMode.off:
        return SchedulePolicy()
    return HPIPolicy(desk_cfg.hpi, desk_cfg, world)


def populate(world: World, cfg: DeskConfig, stream: np.random.Generator) -> list[ExecutionDesk]:
    """One desk (none when ``cfg.enabled`` is false), with the HPI policy of
    :mod:`agents.desk.hpi_policy` when ``cfg.hpi.mode`` is shadow or live."""
    if not cfg.enabled:
        return []
    return [ExecutionDesk(world, stream, cfg.rate, cfg, policy=make_policy(cfg, world))]


class DeskPopulation(Population):
    """The execution desk as a population: built from its own ``desk`` config, it looks at the
    market once per step (so an observing policy sees every step; the activity multiplier stays
    1), records ``desk_filled`` (shares filled over all parents) and the HPI columns
    (:data:`agents.desk.tables.HPI_REPORT_COLUMNS`), and adds its figures and tables to the run
    output."""

    name = "desk"
    RECORDED: ClassVar[dict[str, str]] = {"desk_filled": "filled_total"}

    @classmethod
    def build(cls, world: World, cfg: DeskConfig, stream: np.random.Generator) -> DeskPopulation:
        return cls(cfg, stream, list(populate(world, cfg, stream)))

    def observe(self, world: World) -> None:
        for desk in self.members:
            desk.observe_market()

    def recorded_columns(self) -> dict[str, Callable[[], Any]]:
        out: dict[str, Callable[[], Any]] = {**super().recorded_columns()}
        for col in HPI_REPORT_COLUMNS:
            out[col] = partial(hpi_report, self.members, col)
        return out

    def summary(self) -> dict[str, Any] | None:
        return desk_summary(self.members[0]) if self.members else None

    def tables(self) -> dict[str, Any]:
        return desk_tables(self.members[0]) if self.members else {}
