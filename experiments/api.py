"""Run a scenario from Python without writing Hydra boilerplate.

    from experiments import load_config, simulate
    cfg = load_config("flash_2010", "seed=3", arm="control_low_pov")
    summary = simulate(cfg, out_dir="results/api_run")

``load_config`` composes ``conf/config.yaml`` with the scenario and any command-line style
overrides (Hydra's grammar, exactly as after ``python -m experiments.run``) and validates every
range before returning; ``simulate`` runs it and, given ``out_dir``, writes the same outputs as the
command line. Works from any directory, in a checkout or an installed package.
"""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from experiments.config import RunConfig, register_configs, to_run_config
from experiments.run import CONF_DIR, simulate

__all__ = ["load_config", "simulate"]


def load_config(scenario: str = "baseline", *overrides: str, arm: str = "treatment") -> RunConfig:
    """The validated run config of ``scenario`` in ``arm`` with ``overrides`` applied."""
    register_configs()
    GlobalHydra.instance().clear()  # a caller's own Hydra context must not leak into ours
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR):
        cfg = compose(
            config_name="config",
            overrides=[f"scenario={scenario}", f"arm={arm}", "progress=false", *overrides],
        )
    return to_run_config(cfg)
