"""Peak memory of whole runs (slow suite): flat in days apart from the outputs themselves; and
the piecewise Parquet writing that keeps a long run's trades.parquet from being built whole.

Each run is its own process, which reports its peak resident set size (``ru_maxrss``, KiB on
Linux) after simulating and writing every output, so the figure is the run's alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.outputs import PARQUET_ROW_GROUP, write_parquet, write_parquet_pieces

ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import resource, sys
from experiments import load_config, simulate
simulate(load_config("baseline", f"scenario.days={sys.argv[1]}", "seed=0"), out_dir=sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
#: what a default day may add to the peak: its prints (about 110,000 a day at 64 bytes in the
#: book, the same again while trades.parquet is written) and the per-day tables; keeping every
#: order and print as Python objects took about 72 MB a day
MAX_GROWTH_MB_PER_DAY = 25


def peak_mb(days: int, out: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(days), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1]) / 1024


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_peak_memory_grows_little_per_day(tmp_path):
    one, four = peak_mb(1, tmp_path / "d1"), peak_mb(4, tmp_path / "d4")
    growth = (four - one) / 3
    assert growth < MAX_GROWTH_MB_PER_DAY, f"peak {one:.0f} MB at 1 day, {four:.0f} MB at 4 days"
    assert (tmp_path / "d4" / "trades.parquet").stat().st_size > 0


@pytest.mark.parametrize("n", [0, 1000, PARQUET_ROW_GROUP + 70_000])
def test_parquet_written_in_pieces_has_the_bytes_of_a_whole_write(tmp_path, n):
    rng = np.random.default_rng(0)
    names = np.array(["background", "dealers", "desk"], dtype=object)
    df = pd.DataFrame(
        {
            "time": np.sort(rng.random(n)) * 23_400,
            "price_ticks": rng.integers(9_000, 11_000, n),
            "population": names[rng.integers(0, 3, n)] if n else np.array([], dtype=object),
        }
    )
    write_parquet(tmp_path / "whole.parquet", df)
    step = 65_536
    pieces = (df.iloc[i : i + step].reset_index(drop=True) for i in range(0, max(n, 1), step))
    write_parquet_pieces(tmp_path / "pieces.parquet", pieces)
    whole, pieced = (
        (tmp_path / "whole.parquet").read_bytes(),
        (tmp_path / "pieces.parquet").read_bytes(),
    )
    assert pieced == whole
