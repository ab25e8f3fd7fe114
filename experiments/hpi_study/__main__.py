"""``python -m experiments.hpi_study [overrides]``: the HPI execution study (Hydra app)."""

from pathlib import Path

import hydra

from experiments.config import register_configs as register_run_configs
from experiments.hpi_study.pipeline import run_from_config

register_run_configs()
conf_dir = str(Path(__file__).resolve().parents[2] / "conf")
hydra.main(version_base="1.3", config_path=conf_dir, config_name="hpi_study")(run_from_config)()
