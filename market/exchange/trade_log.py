"""The record of prints: :class:`Trade` (one print) and :class:`TradeLog`, the append-only log
the order book writes and every reader of prints reads (kept apart from the book's matching;
the book appends to it and packs it, see :mod:`market.exchange.order_book`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from functools import partial
from typing import IO, Any, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

# One print as stored: the fields of Trade, in order (time, price, qty, aggressor side, aggressor
# id, resting id, aggressor owner, resting owner).
_TradeRow = tuple[float, int, int, int, int, int, int, int]


class Trade(NamedTuple):
    """One print. ``price`` in ticks, ``qty`` in shares, ``time`` in clock seconds.

    ``aggressor_side`` is +1 for a buyer-initiated print and -1 for a seller-initiated one (for
    auction prints: the side of the later-arriving order of the matched pair).
    """

    time: float
    price: int
    qty: int
    aggressor_side: int
    aggressor_id: int
    resting_id: int
    aggressor_owner: int
    resting_owner: int


_new_trade = tuple.__new__
_as_trade = partial(tuple.__new__, Trade)
_TRADE_DTYPES = {name: np.float64 if name == "time" else np.int64 for name in Trade._fields}
# one packed print: a numpy record with the Trade fields (64 bytes)
_TRADE_RECORD = np.dtype(list(_TRADE_DTYPES.items()))
#: prints read back from a trade log's spill file at a time (4 MiB)
_DISK_PIECE = 1 << 16


class TradeLog(Sequence[Trade]):
    """The append-only record of prints: a read-only sequence of :class:`Trade`.

    The newest prints are plain tuples in ``_rows`` (the matching loops append to it, and the
    cyclic garbage collector untracks tuples of numbers, unlike tuple subclasses); the book's
    compaction moves them into numpy columns (``time`` float64, the rest int64: 64 bytes a print
    instead of about 200), so a long run holds its prints compactly. Indexing, slicing,
    iteration, ``len`` and equality with another sequence of trades behave like a list, wherever
    a print is stored; values come back as Python ``float``/``int``.

    After :meth:`spill_to`, :meth:`spill` moves the packed prints (all but the newest) to an
    anonymous file on disk (64 bytes a print), so memory no longer grows with the run's prints;
    every reader still sees every print, the old ones read back from the file.
    :meth:`column_pieces` reads a range a bounded piece at a time, for readers of a long run.
    """

    __slots__ = ("_chunks", "_file", "_n_cols", "_n_disk", "_rows")
    __hash__ = None  # type: ignore[assignment]  # a mutable log: unhashable, like a list

    def __init__(self) -> None:
        self._rows: list[_TradeRow] = []
        # field -> the packed prints' column in pieces, oldest first (contiguous arrays)
        self._chunks: dict[str, list[NDArray[Any]]] = {name: [] for name in Trade._fields}
        self._n_cols = 0  # prints on disk or in the chunks; _rows holds positions _n_cols and on
        self._n_disk = 0  # prints in the spill file: positions 0.._n_disk-1
        self._file: IO[bytes] | None = None

    def __len__(self) -> int:
        return self._n_cols + len(self._rows)

    @property
    def n_columnar(self) -> int:
        """How many of the prints are held in numpy columns or on disk (the rest are the newest
        few, as tuples)."""
        return self._n_cols

    @property
    def n_spilled(self) -> int:
        """How many of the oldest prints are held on disk (0 unless :meth:`spill_to` was called)."""
        return self._n_disk

    def spill_to(self, directory: str | os.PathLike[str] | None) -> None:
        """Let :meth:`spill` move old prints to an anonymous temporary file in ``directory``
        (the system's temporary directory if None). The file has no name, so it goes with the
        log or the process, whatever ends them. Called once, before the first spill."""
        if self._file is not None:
            raise ValueError("this trade log already spills to a file")
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (lives with the log)

    def spill(self) -> None:
        """Move every packed print but the newest to the spill file (nothing without
        :meth:`spill_to`). Called between messages, e.g. at the end of a trading day."""
        file = self._file
        if file is None:
            return
        self._pack()
        n_mem = self._n_cols - self._n_disk
        if n_mem < 2:
            return
        columns = {name: np.concatenate(pieces) for name, pieces in self._chunks.items()}
        records = np.empty(n_mem - 1, dtype=_TRADE_RECORD)
        for name, column in columns.items():
            records[name] = column[:-1]
            self._chunks[name][:] = [column[-1:].copy()]  # the last print stays, for [-1]
        file.seek(0, os.SEEK_END)
        file.write(records.tobytes())
        file.flush()
        self._n_disk += n_mem - 1

    def _disk_columns(self, start: int, stop: int) -> dict[str, NDArray[Any]]:
        """Positions ``start:stop`` (``stop <= _n_disk``) of the spill file, as columns."""
        assert self._file is not None
        self._file.seek(start * _TRADE_RECORD.itemsize)
        records = np.fromfile(self._file, dtype=_TRADE_RECORD, count=stop - start)
        return {name: np.ascontiguousarray(records[name]) for name in Trade._fields}

    def _pack(self) -> None:
        """Move the buffered prints into a new chunk of numpy columns."""
        rows = self._rows
        if rows:
            # a column at a time from the transposed rows: about half the time of converting the
            # tuples to numpy records and splitting those (measured)
            columns = zip(*rows, strict=True)
            for (name, pieces), column in zip(self._chunks.items(), columns, strict=True):
                pieces.append(np.fromiter(column, _TRADE_DTYPES[name], len(rows)))
            self._n_cols += len(rows)
            rows.clear()  # in place: a matching loop may hold the bound append

    def _packed_pieces(
        self, start: int, stop: int, size: int = _DISK_PIECE
    ) -> Iterator[dict[str, NDArray[Any]]]:
        """Positions ``start:stop`` of the packed prints (``stop <= _n_cols``), as column
        pieces in order: the disk part read back ``size`` prints at a time, the chunks' parts
        as views."""
        for lo in range(start, min(stop, self._n_disk), size):
            yield self._disk_columns(lo, min(lo + size, stop, self._n_disk))
        offset = self._n_disk
        for i, piece in enumerate(self._chunks["time"]):
            n = len(piece)
            lo, hi = max(start - offset, 0), min(stop - offset, n)
            if lo < hi:
                yield {name: self._chunks[name][i][lo:hi] for name in Trade._fields}
            offset += n
            if offset >= stop:
                break

    def _packed_rows(self, start: int, stop: int) -> list[_TradeRow]:
        """Positions ``start:stop`` of the packed prints (``stop <= _n_cols``) as tuples."""
        out: list[_TradeRow] = []
        for piece in self._packed_pieces(start, stop):
            # tolist() gives Python float and int
            out.extend(zip(*(piece[name].tolist() for name in Trade._fields), strict=True))
        return out

    def _slice_rows(self, start: int, stop: int) -> list[_TradeRow]:
        """Positions ``start:stop`` (``0 <= start <= stop <= len``) as tuples."""
        n_cols = self._n_cols
        if start >= n_cols:
            return self._rows[start - n_cols : stop - n_cols]
        return self._packed_rows(start, min(stop, n_cols)) + self._rows[: max(stop - n_cols, 0)]

    @overload
    def __getitem__(self, index: int) -> Trade: ...

    @overload
    def __getitem__(self, index: slice) -> list[Trade]: ...

    def __getitem__(self, index: int | slice) -> Trade | list[Trade]:
        if index.__class__ is int:  # the common case first: a recent print, still a tuple
            rows = self._rows
            if index >= 0:
                if 0 <= index - self._n_cols < len(rows):
                    return _new_trade(Trade, rows[index - self._n_cols])
            elif -len(rows) <= index:
                return _new_trade(Trade, rows[index])
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return list(map(_as_trade, self._slice_rows(start, max(start, stop))))
        position = index + n if index < 0 else index
        if not 0 <= position < n:
            raise IndexError(f"trade index {index} out of range for {n} trades")
        if position >= self._n_cols:
            return _new_trade(Trade, self._rows[position - self._n_cols])
        return _new_trade(Trade, self._packed_rows(position, position + 1)[0])

    def __iter__(self) -> Iterator[Trade]:
        # a piece at a time, so iterating a long run's log never holds all of it as tuples
        for piece in self._packed_pieces(0, self._n_cols):
            columns = [piece[name].tolist() for name in Trade._fields]
            yield from map(_as_trade, zip(*columns, strict=True))
        yield from map(_as_trade, self._rows[:])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TradeLog):
            return self._slice_rows(0, len(self)) == other._slice_rows(0, len(other))
        if isinstance(other, Sequence):
            return self._slice_rows(0, len(self)) == [tuple(t) for t in other]
        return NotImplemented

    def __repr__(self) -> str:
        return f"TradeLog({len(self)} trades)"

    def since(self, start: int) -> list[Trade]:
        """The prints from position ``start`` on (for readers that keep a cursor)."""
        n = len(self)
        first = slice(start, None).indices(n)[0]
        return list(map(_as_trade, self._slice_rows(first, n)))

    def _bounds(self, start: int, stop: int | None) -> tuple[int, int]:
        """``start:stop`` clipped to the log, like a slice with step 1, after packing."""
        self._pack()
        first, last, _ = slice(start, stop).indices(self._n_cols)
        return first, max(first, last)

    def columns(self, start: int = 0, stop: int | None = None) -> dict[str, NDArray[Any]]:
        """The prints ``start:stop`` (slice rules; to the end by default) as numpy columns named
        like the :class:`Trade` fields (``time`` float64, the others int64), read-only.

        While no print is on disk they are views of the log's own storage, so a long run's
        prints are not copied to be read; copy them to change them. Prints on disk are read
        back, so the columns of a spilled range are new arrays of that range's length: a
        reader of a long spilled run takes :meth:`column_pieces` instead."""
        first, last = self._bounds(start, stop)
        if self._n_disk:
            read = list(self._packed_pieces(first, last))
            out = {
                name: np.concatenate([piece[name] for piece in read])
                if read
                else np.empty(0, dtype=dtype)
                for name, dtype in _TRADE_DTYPES.items()
            }
        elif not self._n_cols:
            out = {name: np.empty(0, dtype=dtype) for name, dtype in _TRADE_DTYPES.items()}
        else:
            out = {}
            for name, pieces in self._chunks.items():
                if len(pieces) > 1:
                    # one piece from now on, joined a column at a time: the extra memory while
                    # joining is one column, and later calls copy nothing
                    pieces[:] = [np.concatenate(pieces)]
                out[name] = pieces[0][first:last]
        for view in out.values():
            view.flags.writeable = False
        return out

    def column_pieces(
        self, start: int = 0, stop: int | None = None, size: int = _DISK_PIECE
    ) -> Iterator[dict[str, NDArray[Any]]]:
        """The prints ``start:stop`` as consecutive pieces of read-only columns (as
        :meth:`columns`), each of at most ``size`` prints read from disk or one in-memory chunk:
        a reader that reduces piece by piece holds no column of the whole run."""
        first, last = self._bounds(start, stop)
        for piece in self._packed_pieces(first, last, size):
            for view in piece.values():
                view.flags.writeable = False
            yield piece
