"""Atomic file writes: every file a run, sweep or study leaves is written through here.

A file is written under a temporary name in its own directory, then renamed into place, so an
interrupted run never leaves a half-written file under a final name (a resumed sweep trusts the
files it finds).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


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


#: rows per Parquet row group, as ``pyarrow.parquet.write_table`` cuts them by default
PARQUET_ROW_GROUP = 1024 * 1024


def write_parquet_pieces(path: Path, frames: Iterable[pd.DataFrame]) -> None:
    """The frames, one after the other, as one Parquet file without index, atomically.

    The bytes are those :func:`write_parquet` writes for the frames joined into one (the same
    schema, row groups of :data:`PARQUET_ROW_GROUP` rows, each written from contiguous columns),
    but only about one row group's worth of Arrow data and one frame are held at a time: a long
    run's table is never built whole. The frames' columns wait as chunks, column by column, and
    each row group's contiguous columns are joined one column at a time, each column's chunks
    freed as it is joined, so the row group is not held twice.
    """

    def write(tmp: str) -> None:
        writer: pq.ParquetWriter | None = None
        pending: list[list[pa.Array]] = []  # per column, the chunks not yet written
        held = 0
        for df in frames:
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
                pending = [[] for _ in table.columns]
            for chunks, column in zip(pending, table.columns, strict=True):
                chunks.extend(column.chunks)
            held += table.num_rows
            del table
            while held >= PARQUET_ROW_GROUP:
                # contiguous columns, as a whole table's would be: pages are cut alike
                writer.write_table(_joined(pending, writer.schema, PARQUET_ROW_GROUP))
                held -= PARQUET_ROW_GROUP
        if writer is None:
            raise ValueError("write_parquet_pieces needs at least one frame")
        writer.write_table(_joined(pending, writer.schema, held))
        writer.close()

    atomic_write(path, write)


def _joined(pending: list[list[pa.Array]], schema: pa.Schema, n: int) -> pa.Table:
    """The first ``n`` rows of the waiting chunks as a table of contiguous columns; the
    chunks left in ``pending`` are the rest (the joined ones are dropped, a column at a time)."""
    columns = []
    for i, field in enumerate(schema):
        head: list[pa.Array] = []
        rest: list[pa.Array] = []
        taken = 0
        for chunk in pending[i]:
            if taken >= n:
                rest.append(chunk)
            elif taken + len(chunk) <= n:
                head.append(chunk)
                taken += len(chunk)
            else:
                head.append(chunk.slice(0, n - taken))
                rest.append(chunk.slice(n - taken))
                taken = n
        pending[i] = rest
        columns.append(pa.concat_arrays(head) if head else pa.array([], type=field.type))
        del head
    return pa.Table.from_arrays(columns, schema=schema)


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
