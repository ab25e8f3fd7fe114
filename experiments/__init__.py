"""The top floor: the Mesa model, scenario events, the Hydra app, outputs, studies and sweeps.

``from experiments import load_config, simulate`` is the Python API (see :mod:`experiments.api`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_config", "simulate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from experiments import api  # start-up: `python -m experiments.run` must not load it

        return getattr(api, name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
