"""The entry point: ``python -m experiments.run [overrides]`` (or ``make run ARGS="..."``).

Composes ``conf/config.yaml`` against the schema of :mod:`experiments.config`, validates every
range before any work, runs the scenario with a progress bar and writes the output contract
(summary.json, timeseries.parquet, trades.parquet, the flow network and figures/) into the run
directory, whose path it prints at the end.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from tqdm import tqdm

from experiments.config import RunConfig, register_configs, to_run_config
from experiments.hpi_study.pipeline import run_from_config as run_hpi_study
from experiments.model import HedgeLoopModel
from experiments.report import summarise, write_failure, write_outputs
from experiments.study.jobs import sweep_job

#: the Hydra configs: inside the installed package, or beside the packages in a checkout
_PACKAGED_CONF = Path(__file__).resolve().parent / "conf"
CONF_DIR = str(
    _PACKAGED_CONF if _PACKAGED_CONF.is_dir() else Path(__file__).resolve().parents[1] / "conf"
)
register_configs()


def simulate(
    run_cfg: RunConfig,
    out_dir: str | Path | None = None,
    progress: bool = False,
    spill_dir: str | Path | None = None,
) -> dict:
    """Run one scenario; write the outputs to ``out_dir`` if given. Returns the summary dict.

    At each close the day's prints move from memory to an unnamed temporary file in ``out_dir``
    (else in ``spill_dir``), so memory stays flat however many days the run has; with neither
    directory they stay in memory (a few MB a default day).

    A run that fails after it started (a crash, a file that cannot be written, the ledger not
    conserved) still leaves ``summary.json`` in ``out_dir`` with ``status: failed``, the error
    and whatever was computed, and, if it failed before its summary, the tables and figures
    of what it simulated (:func:`experiments.report.write_failure`); then it raises.
    """
    t0 = time.perf_counter()
    model = HedgeLoopModel(run_cfg)
    spill = out_dir if out_dir is not None else spill_dir
    if spill is not None:
        Path(spill).mkdir(parents=True, exist_ok=True)
        model.book.trades.spill_to(spill)
    summary = None
    try:
        _run(model, run_cfg, progress)
        residuals = model.ledger.residuals()
        summary = summarise(model, wall_seconds=time.perf_counter() - t0)
        if out_dir is not None:
            write_outputs(model, summary, Path(out_dir))
        model.finish()  # raises ConservationError after the evidence is written
    except Exception as exc:
        if out_dir is not None:
            # the run's own error is the one to raise, even if the record of it fails too
            with contextlib.suppress(Exception):
                write_failure(model, summary, exc, Path(out_dir), time.perf_counter() - t0)
        raise
    summary["conservation_residuals"] = residuals
    return summary


def _run(model: HedgeLoopModel, run_cfg: RunConfig, progress: bool) -> None:
    """Every step of the run, with a progress bar if asked."""
    if not progress:
        model.run()
        return
    with tqdm(
        total=model.n_steps,
        unit="s",
        unit_scale=model.dt,
        desc=run_cfg.scenario.name,
        mininterval=0.5,
        dynamic_ncols=True,
    ) as bar:
        every = max(1, model.n_steps // 200)

        def tick(done: int) -> None:
            if done % every == 0 or done == model.n_steps:
                bar.update(done - bar.n)

        model.run(progress=tick)


def run_configured(cfg: DictConfig) -> float:
    """One run of a composed config: validate, simulate, write the outputs; max drawdown (%)."""
    try:
        run_cfg = to_run_config(cfg)
    except ValueError as exc:  # ConfigError and OmegaConf validation both subclass ValueError
        print(f"hedgeloop: invalid configuration: {exc}", file=sys.stderr)
        sys.exit(2)
    out = Path(HydraConfig.get().runtime.output_dir)
    summary = simulate(run_cfg, out, progress=run_cfg.progress)
    print(
        f"hedgeloop: {run_cfg.scenario.name} (seed {run_cfg.seed}) finished in "
        f"{summary['wall_seconds']:.1f} s; results in {out}"
    )
    return float(summary["price"]["max_drawdown_pct"])


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> float:
    if "hpi_study" in cfg:  # --config-name hpi_study: the HPI execution study
        return run_hpi_study(cfg)
    # in a multirun: skip a finished job, record a failed one instead of aborting the sweep
    return sweep_job(cfg, run_configured)


if __name__ == "__main__":
    main()
