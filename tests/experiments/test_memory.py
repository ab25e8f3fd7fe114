"""Peak memory of whole runs (slow suite): flat in days apart from the outputs themselves; and
the piecewise Parquet writing that keeps a long run's trades.parquet from being built whole.

Each run is its own process, which reports its peak resident set size (``ru_maxrss``, in KiB)
after simulating and writing every output, so the figure is the run's alone.
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
# runs the default scenario for argv[1] days, noting the resident memory at the end of each day
# (KiB), then summarises and writes every output as a command-line run does, and prints the day
# figures and the peak (ru_maxrss, KiB)
DRIVER = """
import resource, sys
from pathlib import Path
from experiments import load_config
from experiments.model import HedgeLoopModel
from experiments.report import summarise, write_outputs

def peak():
    # KiB; macOS reports bytes
    scale = 1024 if sys.platform == "darwin" else 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale

def rss():
    # the resident memory now where the kernel says it (Linux), else the peak so far
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    except OSError:
        return peak()

days = int(sys.argv[1])
model = HedgeLoopModel(load_config("baseline", f"scenario.days={days}", "seed=0"))
per_day, day_ends = model.n_steps // days, []
model.run(progress=lambda done: day_ends.append(rss()) if done % per_day == 0 else None)
write_outputs(model, summarise(model, wall_seconds=0.0), Path(sys.argv[2]))
print(*day_ends, peak())
"""
#: what a simulated default day may add to the resident memory: its prints (about 110,000 at 64
#: bytes) and the per-interval records, about 8 MB; keeping every order and print as Python
#: objects took about 32 MB a day (seed 0, days 1-4)
MAX_SIM_GROWTH_MB_PER_DAY = 20
#: what a day may add to the run's peak, which comes while the summary and trades.parquet are
#: built from all the prints (about 70 MB a day when the book kept everything)
MAX_PEAK_GROWTH_MB_PER_DAY = 50


def run_days(days: int, out: Path) -> tuple[list[float], float]:
    """The resident MB at the end of each simulated day, and the run's peak MB."""
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(days), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    *day_ends, peak = (int(v) / 1024 for v in done.stdout.split()[-days - 1 :])
    return day_ends, peak


@pytest.mark.slow
def test_memory_grows_little_per_day(tmp_path):
    _, one = run_days(1, tmp_path / "d1")
    day_ends, four = run_days(4, tmp_path / "d4")
    sim_growth = (day_ends[-1] - day_ends[0]) / 3
    assert sim_growth < MAX_SIM_GROWTH_MB_PER_DAY, day_ends
    assert (four - one) / 3 < MAX_PEAK_GROWTH_MB_PER_DAY, (one, four)
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
