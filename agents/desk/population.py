"""Building the desk population: one desk with the slicing policy its config asks for."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.desk.config import DeskConfig, HPIMode
from agents.desk.desk import ExecutionDesk
from agents.desk.hpi_policy import HPIPolicy
from agents.desk.schedule import SchedulePolicy


def make_policy(desk_cfg: DeskConfig, model: Any) -> SchedulePolicy | HPIPolicy:
    """The desk's policy for its config: :class:`HPIPolicy` unless ``desk.hpi.mode`` is off."""
    if desk_cfg.hpi.mode is HPIMode.off:
        return SchedulePolicy()
    return HPIPolicy(desk_cfg.hpi, desk_cfg, model)


def populate(model: Any, cfg: DeskConfig, stream: np.random.Generator) -> list[ExecutionDesk]:
    """One desk (the model skips this when ``cfg.enabled`` is false), with the HPI policy of
    :mod:`agents.desk.hpi_policy` when ``cfg.hpi.mode`` is shadow or live."""
    if not cfg.enabled:
        return []
    return [ExecutionDesk(model, stream, cfg.rate, cfg, policy=make_policy(cfg, model))]
