"""The packed time series recorder gives back Mesa's frame exactly, in less memory."""

from __future__ import annotations

import io
import tracemalloc

import mesa
import pandas as pd

import experiments.recording as recording
from experiments.recording import PackedDataCollector


class Ticker(mesa.Model):
    """A model whose recorded values are functions of a counter: floats, ints, flags, a value
    that is None on some rows only, and one that is None for a whole packed piece."""

    def __init__(self) -> None:
        super().__init__(rng=0)
        self.k = 0

    def reporters(self) -> dict:
        return {
            "time": "k",
            "mid": lambda m: 100.0 + 0.01 * m.k,
            "net": lambda m: m.k * 3 - 50,
            "halted": lambda m: m.k % 7 == 0,
            "spread": lambda m: None if m.k % 5 == 0 else 1.5,
            "late": lambda m: None if m.k < 40 else m.k,
        }


def record(collector_class, rows: int) -> pd.DataFrame:
    model = Ticker()
    collector = collector_class(model_reporters=model.reporters())
    for k in range(rows):
        model.k = k
        collector.collect(model)
    return collector.get_model_vars_dataframe()


def test_the_packed_frame_is_mesas_frame(monkeypatch):
    monkeypatch.setattr(recording, "PACK_EVERY", 16)  # several pieces, one of them all None
    for rows in (0, 10, 16, 100):
        packed, mesas = record(PackedDataCollector, rows), record(mesa.DataCollector, rows)
        pd.testing.assert_frame_equal(packed, mesas, check_exact=True)
        assert (packed.dtypes == mesas.dtypes).all()
        a, b = io.BytesIO(), io.BytesIO()
        packed.to_parquet(a, index=False)
        mesas.to_parquet(b, index=False)
        assert a.getvalue() == b.getvalue()


def test_packed_values_take_about_eight_bytes():
    model = Ticker()
    collector = PackedDataCollector(model_reporters=model.reporters())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(20_000):
            model.k = k
            collector.collect(model)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 6 columns x 20,000 rows; Mesa's lists of Python objects take about 30 bytes a value
    assert grown / (6 * 20_000) < 12, grown
