"""Hydra callbacks of a multirun: progress lines while it runs, the sweep collected when it ends.

Configure as ``hydra.callbacks.<name>._target_: experiments.study.progress.SweepProgress`` (or
``.CollectSweep``); ``conf/sweep/workstation.yaml`` does.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from experiments.study.collect import collect_sweep
from experiments.study.figures import figure_specs
from experiments.study.jobs import ERROR_FILE, PROGRESS_FILE
from market.validation import check_range


def count_sweep_jobs(config: DictConfig) -> int | None:
    """Number of jobs Hydra's basic sweeper makes of ``config`` (``hydra.sweeper.params`` and the
    command-line overrides, the latter winning per key); None for other sweepers or globs."""
    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default="") or "")
    if not target.endswith("BasicSweeper"):
        return None
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    lines = [f"{k}={v}" for k, v in params.items()]
    lines += list(OmegaConf.select(config, "hydra.overrides.task", default=[]) or [])
    sizes: dict[str, int] = {}
    try:
        for o in OverridesParser.create().parse_overrides(lines):
            sizes[o.get_key_element()] = (
                len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1
            )
    except Exception:  # glob() needs the config loader
        return None
    return math.prod(sizes.values())


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class SweepProgress(Callback):
    """Hydra callback: while a multirun runs, print one line per finished job with jobs done /
    total and the elapsed time (it follows the sweep dir's ``progress.jsonl``).

    Configure as ``hydra.callbacks.<name>._target_: experiments.study.progress.SweepProgress``.
    """

    def __init__(self, poll_seconds: float = 1.0) -> None:
        check_range("poll_seconds", poll_seconds, 0.0, 60.0, lo_open=True)
        self.poll_seconds = float(poll_seconds)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.failed: list[str] = []

    def __getstate__(self) -> dict:
        # Hydra pickles its callbacks into every joblib worker; threads do not pickle
        state = self.__dict__.copy()
        state["_thread"] = None
        state["_stop"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._stop = threading.Event()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        self.total = count_sweep_jobs(config)
        self.t0 = time.perf_counter()
        path = self.sweep_dir / PROGRESS_FILE
        self._offset = path.stat().st_size if path.exists() else 0
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.failed = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="sweep-progress", daemon=True)
        self._thread.start()
        print(
            f"sweep: {self.total if self.total is not None else '?'} jobs into {self.sweep_dir}",
            flush=True,
        )

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        path = self.sweep_dir / PROGRESS_FILE
        if not path.exists():
            return
        with open(path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        complete, _, _ = chunk.rpartition(b"\n")  # a line still being written waits
        if not complete:
            return
        self._offset += len(complete) + 1
        for line in complete.decode(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            self._report(rec)

    def _report(self, rec: dict) -> None:
        status = rec.get("status", "?")
        self.counts[status] = self.counts.get(status, 0) + 1
        done = sum(self.counts.values())
        total = self.total if self.total is not None else "?"
        wall = rec.get("wall_seconds")
        what = f"{wall:.1f} s" if isinstance(wall, (int, float)) else ""
        if status == "failed":
            self.failed.append(rec.get("job", "?"))
            what = f"{rec.get('error', '')}"
        elif status == "skipped":
            what = "finished earlier"
        print(
            f"[{done:>4}/{total} {_clock(time.perf_counter() - self.t0):>7}] {status:<7} "
            f"{rec.get('job', '?')}  {what}",
            flush=True,
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        c = self.counts
        line = (
            f"sweep: {sum(c.values())} jobs in {_clock(time.perf_counter() - self.t0)}: "
            f"{c['ok']} ok, {c['failed']} failed, {c['skipped']} skipped (finished earlier)"
        )
        print(line, flush=True)
        for job in self.failed:
            print(f"  failed: {self.sweep_dir / job / ERROR_FILE}", flush=True)


class CollectSweep(SweepProgress):
    """Hydra callback: progress lines while the multirun runs, then :func:`collect_sweep` of the
    sweep dir with the heatmaps ``figures`` (a list of ``{x, y, metric}``) when it ends."""

    def __init__(self, figures: Sequence[Mapping] = (), poll_seconds: float = 1.0) -> None:
        super().__init__(poll_seconds)
        self.figures = figure_specs(figures)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        super().on_multirun_end(config, **kwargs)
        table = collect_sweep(self.sweep_dir, self.figures)
        where = f"; figures in {self.sweep_dir / 'figures'}" if self.figures else ""
        print(
            f"sweep: {len(table)} jobs collected into {self.sweep_dir / 'sweep_table.parquet'}"
            f" (and .csv){where}",
            flush=True,
        )
