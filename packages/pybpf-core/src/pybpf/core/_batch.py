"""Batch operations on maps (``BPF_MAP_*_BATCH``, Linux 5.6): many elements per call.

:class:`MapBatches` is the batch half of :class:`~pybpf.core.map.Map`: it
works from the map's fd, its :class:`~pybpf.core._elements.Elements` (codecs
and buffers, under their lock) and its
:class:`~pybpf.core._map_errors.MapErrors`, and the map's public methods call it.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pybpf.core import _cmds, _probes, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError, LimitError

if TYPE_CHECKING:
    from pybpf.core._elements import Elements
    from pybpf.core._map_errors import MapErrors
    from pybpf.core.fd import FD

__all__ = ["BatchCursor", "MapBatches"]


class BatchCursor:
    """Where a batch lookup stopped; pass the same cursor again to continue.

    ``done`` turns true once the whole map was read.
    """

    __slots__ = ("_buf", "_started", "done")

    def __init__(self) -> None:
        self._buf: Any = None
        self._started = False
        #: True once the last batch was returned.
        self.done = False


class MapBatches:
    """The batch operations of one map object."""

    __slots__ = ("_elements", "_errors", "_fd")

    def __init__(self, fd: FD, elements: Elements, errors: MapErrors) -> None:
        self._fd = fd
        self._elements = elements
        self._errors = errors

    def supported(self) -> bool:
        """Whether the map's type takes batch lookups on this kernel."""
        el = self._elements
        return el.key_size > 0 and _probes.have_batch(el.map_type)

    def grow(self, cursor: BatchCursor, chunk: int) -> tuple[list[Any], list[Any], int]:
        """A batch lookup that doubles ``chunk`` while one hash bucket does not fit."""
        while True:
            try:
                keys, values = self.read(Command.MAP_LOOKUP_BATCH, cursor, chunk)
            except LimitError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk *= 2
                continue
            return keys, values, chunk

    def read(self, cmd: Command, cursor: BatchCursor, count: int) -> tuple[list[Any], list[Any]]:
        """One batch read after ``cursor``: its keys and values, decoded."""
        el = self._elements
        el.require_keys()
        with el.lock:
            got = self._read(cmd, cursor, count)
            if got is None:
                return [], []
            kbuf, vbuf, n = got
            return el.unpack_keys(kbuf, n), el.unpack_values(vbuf, n)

    def read_all(self, chunk: int) -> dict[Any, Any]:
        """The whole map as a dict, read by batches of ``chunk`` (doubled while too small)."""
        el = self._elements
        result: dict[Any, Any] = {}
        cursor = BatchCursor()
        fill = _sys.fast_fill if el.key_out is not None and el.value_out is not None else None
        while not cursor.done:
            with el.lock:
                try:
                    got = self._read(Command.MAP_LOOKUP_BATCH, cursor, chunk)
                except LimitError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    chunk *= 2
                    continue
                if got is None:
                    break
                kbuf, vbuf, n = got
                if not result:
                    result = _sys.new_dict(n)  # one allocation, not a dozen resizes
                if fill is not None:
                    # Ints straight from the buffers into the dict: no lists between.
                    fill(result, _sys.addr(kbuf), _sys.addr(vbuf), n, el.shape)
                else:
                    keys = el.unpack_keys(kbuf, n)
                    result.update(zip(keys, el.unpack_values(vbuf, n), strict=True))
        return result

    def _read(self, cmd: Command, cursor: BatchCursor, count: int) -> tuple[Any, Any, int] | None:
        """A batch read into the batch buffers (the caller holds the lock); None when done."""
        el = self._elements
        if count.__class__ is not int or not 0 < count < 1 << 32:
            _cmds.check_uint(count, 32, "count", f"batch read of map {el.name!r}")
            raise ValueError(f"batch count must be positive, not {count}")
        if cursor.done:
            return None
        # The kernel returns at most the map's elements: room for more is waste.
        count = min(count, max(el.max_entries, 1))
        ffi = _sys.ffi
        if cursor._buf is None:
            # The kernel keeps a key (generic maps) or a bucket index (hash
            # maps) there: a key's size, at least 8 bytes, covers both.
            cursor._buf = ffi.new("uint8_t[]", max(el.key_size, 8))
        kbuf, vbuf, cnt = el.batch_buffers(count)
        cnt[0] = count
        in_batch = cursor._buf if cursor._started else _sys.NULL
        rc = _sys.fd_calls.map_batch(cmd, self._fd._cell, in_batch, cursor._buf, kbuf, vbuf, cnt, 0)
        n = int(cnt[0])
        if rc == -errno.ENOENT:
            cursor.done = True
        elif rc:
            raise self._errors.batch(rc, cmd, count)
        cursor._started = True
        return kbuf, vbuf, n

    def write(
        self, cmd: Command, keys: Sequence[Any], values: Sequence[Any] | None, flags: int
    ) -> int:
        """Update (``values`` given) or delete ``keys`` in one call; how many were done."""
        count = len(keys)
        if count == 0:
            return 0
        el = self._elements
        with el.lock:
            kbuf, vbuf, cnt = el.batch_buffers(count)
            el.pack_keys(kbuf, keys)
            if values is not None:
                el.pack_values(vbuf, values)
            cnt[0] = count
            fd = self._fd._cell
            rc = _sys.fd_calls.map_batch(cmd, fd, _sys.NULL, _sys.NULL, kbuf, vbuf, cnt, flags)
            done = int(cnt[0])
        if rc:
            err = self._errors.batch(rc, cmd, count)
            if isinstance(err, BPFError):
                err.add_note(f"{done} of {count} elements were processed")
            raise err
        return done
