"""A run with an output directory keeps only a day of prints in memory and writes the same
outputs as one that keeps them all; a run that crashes mid-simulation keeps what it simulated."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from experiments.report import summarise, write_outputs
from experiments.run import simulate
from market.exchange.clock import SECONDS_PER_DAY
from market.exchange.order_book import TradeLog
from tests.conftest import tiny_cfg


def two_day_cfg() -> RunConfig:
    """Two short days (few agents, five-second steps), a stress window across the night."""
    cfg = tiny_cfg()
    cfg.scenario.days = 2
    cfg.scenario.stress_window = [20_000.0, 30_000.0]
    return cfg


def test_a_spilled_run_writes_what_a_run_in_memory_writes(tmp_path, monkeypatch):
    on_disk = []
    spill = TradeLog.spill

    def noted(log):
        spill(log)
        on_disk.append(log.n_spilled)

    monkeypatch.setattr(TradeLog, "spill", noted)
    spilled = simulate(two_day_cfg(), out_dir=tmp_path / "spilled")
    assert on_disk[0] > 0 and on_disk[1] > on_disk[0]  # each close moved its day to disk
    monkeypatch.undo()
    model = HedgeLoopModel(two_day_cfg())
    model.run()
    assert model.book.trades.n_spilled == 0  # no directory given: the prints stay in memory
    kept = summarise(model, wall_seconds=0.0)
    write_outputs(model, kept, tmp_path / "kept")
    for name in ("trades.parquet", "timeseries.parquet", "flow_network.csv"):
        assert (tmp_path / "spilled" / name).read_bytes() == (tmp_path / "kept" / name).read_bytes()
    metrics = spilled["scenario_metrics"]
    assert metrics == json.loads(json.dumps(kept["scenario_metrics"]))
    flows = [p["net_flow_in_window"] for p in metrics["populations"].values()]
    assert any(flows)  # the window's flows were read back from the spill file


def test_a_run_that_crashes_mid_simulation_keeps_what_it_simulated(tmp_path, monkeypatch):
    crash_at = SECONDS_PER_DAY + 3_600.0  # an hour into the second day
    step = HedgeLoopModel.step

    def crash_on_day_1(self):
        if self.steps * self.dt > crash_at:
            raise RuntimeError("boom")
        step(self)

    monkeypatch.setattr(HedgeLoopModel, "step", crash_on_day_1)
    with pytest.raises(RuntimeError, match="boom"):
        simulate(two_day_cfg(), out_dir=tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["status"] == "failed" and written["error"]["type"] == "RuntimeError"
    assert {"timeseries.parquet", "trades.parquet", "flow_network"} <= set(
        written["outputs_written"]
    )
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert SECONDS_PER_DAY < ts["time"].max() <= crash_at  # every record up to the crash
    trades = pd.read_parquet(tmp_path / "trades.parquet")
    assert len(trades) == written["n_trades"] > 0
    # the first day's prints (read back from the spill file) and the second day's
    assert trades["time"].min() < SECONDS_PER_DAY < trades["time"].max() <= crash_at
    assert trades["time"].is_monotonic_increasing
    assert (tmp_path / "flow_network.csv").exists()
    assert (tmp_path / "figures" / "overview.png").stat().st_size > 0
