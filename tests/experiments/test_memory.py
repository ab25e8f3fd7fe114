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
# runs the default scenario for argv[1] days as a command-line run does (experiments.run.simulate
# with its run directory argv[2], so each close moves the day's prints to the spill file), noting
# the resident memory at the end of each day (KiB), and prints the day figures and the peak
# (ru_maxrss, KiB). The Parquet row group is cut to 65,536 rows: the writer holds a row group
# (about 250 MB at the real 1,048,576 rows, reached after some 12 default days), and the point is
# what grows with the days, not that fixed cost.
DRIVER = """
import resource, sys
from pathlib import Path
import experiments.outputs
from experiments import load_config
from experiments.model import HedgeLoopModel
from experiments.run import simulate

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

experiments.outputs.PARQUET_ROW_GROUP = 1 << 16
days, day_ends = int(sys.argv[1]), []
close_day = HedgeLoopModel._close_day

def noted(model, day):
    close_day(model, day)
    day_ends.append(rss())

HedgeLoopModel._close_day = noted
simulate(load_config("baseline", f"scenario.days={days}", "seed=0"), Path(sys.argv[2]))
print(*day_ends, peak())
"""
#: what a simulated default day may add to the resident memory, now that each close moves the
#: day's prints (about 85,000, 5.4 MB as columns) to disk: the per-interval records and little
#: else, under 1 MB (seed 0, days 1-5). Holding the prints in memory grew it by about 8 MB a day.
MAX_SIM_GROWTH_MB_PER_DAY = 4
#: what a day may add to the run's peak: about 6.6 MB (seed 0: 330 MB for one day, 363 MB for
#: six), the post-run work on the day's recorded series. Building the summary and trades.parquet
#: from every print held in memory added about 13 MB a day.
MAX_PEAK_GROWTH_MB_PER_DAY = 10
#: the peak of a six-day run: about 355 MB (405 MB when every print was held in memory)
MAX_SIX_DAY_PEAK_MB = 380


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
def test_memory_is_flat_in_days_apart_from_the_outputs(tmp_path):
    _, one = run_days(1, tmp_path / "d1")
    day_ends, six = run_days(6, tmp_path / "d6")
    # from the end of day 1: the first close is the first to free a day of prints
    sim_growth = (day_ends[-1] - day_ends[1]) / (len(day_ends) - 2)
    assert sim_growth < MAX_SIM_GROWTH_MB_PER_DAY, day_ends
    assert (six - one) / 5 < MAX_PEAK_GROWTH_MB_PER_DAY, (one, six)
    assert six < MAX_SIX_DAY_PEAK_MB, six
    assert (tmp_path / "d6" / "trades.parquet").stat().st_size > 0


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


# writes one row group and a bit of text columns through write_parquet_pieces and prints the
# Arrow memory pool's peak over the Arrow size of one row group
POOL_DRIVER = """
import sys
import numpy as np, pandas as pd, pyarrow as pa
from pathlib import Path
from experiments.outputs import PARQUET_ROW_GROUP, write_parquet_pieces

n, step = PARQUET_ROW_GROUP + 1000, 65_536
names = np.array(["background", "dealers", "latent"], dtype=object)
def frames():
    for i in range(0, n, step):
        yield pd.DataFrame({c: names[np.arange(i, min(i + step, n)) % 3] for c in "abcd"})
group = pa.Table.from_pandas(next(frames()), preserve_index=False).nbytes * n / step
write_parquet_pieces(Path(sys.argv[1]), frames())
print(pa.default_memory_pool().max_memory() / group)
"""


def test_writing_in_pieces_holds_a_row_group_about_once(tmp_path):
    """The waiting frames' columns are joined into the row group's one column at a time, each
    column's pieces freed as it is joined: the Arrow pool's peak is the row group once plus the
    writer's own buffers (about 1.3 times its size), not the pieces and the joined copy (2.0)."""
    done = subprocess.run(
        [sys.executable, "-c", POOL_DRIVER, str(tmp_path / "t.parquet")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(done.stdout.split()[-1]) < 1.65
