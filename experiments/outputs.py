"""Atomic file writes: every file a run, sweep or study leaves is written through here.

A file is written under a temporary name in its own directory, then renamed into place, so an
interrupted run never leaves a half-written file under a final name (a resumed sweep trusts the
files it finds).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``.

    The parent directory is created; the temporary file is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path``, atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: Path, obj) -> None:
    """``obj`` as indented JSON (numpy scalars and arrays as plain values, NaN as null)."""
    atomic_write(
        path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2, default=_json_default))
    )


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    """``df`` as Parquet without its index, atomically."""
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """``df`` as CSV without its index, atomically."""
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def save_png(fig, path: Path, dpi: int) -> None:
    """A matplotlib figure as PNG at ``dpi``, atomically (the caller closes the figure)."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
