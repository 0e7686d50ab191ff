"""Batch operations on maps (``BPF_MAP_*_BATCH``, Linux 5.6): many elements per call.

These functions are the batch half of :class:`~pybpf.core.map.Map`; they work
on its buffers and codecs, and the map's public methods call them.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from pybpf.core import _cmds, _probes, _sys
from pybpf.core._uapi import Command
from pybpf.core.codec import CTYPES, int_format
from pybpf.core.errors import ENOTSUPP, BPFError, KeyNotFoundError, LimitError, NotSupportedError

if TYPE_CHECKING:
    from pybpf.core.map import Map

__all__ = ["BatchCursor"]

_FFI: Final = _sys.ffi


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


def _as_ints(buf: Any, n: int, fmt: str) -> list[int]:
    """``n`` native integers of format ``fmt`` at ``buf``, as a list."""
    # memoryview.tolist beats ffi.unpack by ~10% on 100k elements.
    view = memoryview(_FFI.buffer(buf, n * struct.calcsize(fmt)))
    return view.cast(fmt).tolist()  # type: ignore[call-overload,no-any-return]


def grow_batch(m: Map, cursor: BatchCursor, chunk: int) -> tuple[list[Any], list[Any], int]:
    """A batch lookup that doubles ``chunk`` while one hash bucket does not fit."""
    while True:
        try:
            keys, values = m.lookup_batch(cursor, chunk)
        except LimitError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            chunk *= 2
            continue
        return keys, values, chunk


def batch_supported(m: Map) -> bool:
    """Whether ``m``'s type takes batch lookups on this kernel."""
    return m._key_size > 0 and _probes.have_batch(m._type)


def batch_buffers(m: Map, count: int) -> tuple[Any, Any, Any]:
    """Key, value and count buffers for ``count`` elements, kept by the map for reuse."""
    cached = m._batch
    if cached is not None and cached[0] >= count:
        return cached[1], cached[2], cached[3]
    ffi = _sys.ffi
    kbuf = ffi.new("uint8_t[]", count * m._key_size or 1)
    vbuf = ffi.new("uint8_t[]", count * m._stride * m._ncpu or 1)
    cnt = ffi.new("uint32_t *")
    m._batch = (count, kbuf, vbuf, cnt)
    return kbuf, vbuf, cnt


def read_batch(
    m: Map, cmd: Command, cursor: BatchCursor, count: int
) -> tuple[list[Any], list[Any]]:
    """One batch read after ``cursor``: its keys and values, decoded."""
    with m._lock:
        got = _read(m, cmd, cursor, count)
        if got is None:
            return [], []
        kbuf, vbuf, n = got
        return unpack_keys(m, kbuf, n), unpack_values(m, vbuf, n)


def read_all(m: Map, chunk: int) -> dict[Any, Any]:
    """The whole map as a dict, read by batches of ``chunk`` (doubled while too small)."""
    result: dict[Any, Any] = {}
    cursor = BatchCursor()
    fill = _sys.fast_fill if m._kout is not None and m._vout is not None else None
    while not cursor.done:
        with m._lock:
            try:
                got = _read(m, Command.MAP_LOOKUP_BATCH, cursor, chunk)
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
                fill(result, _sys.addr(kbuf), _sys.addr(vbuf), n, m._shape)
            else:
                result.update(zip(unpack_keys(m, kbuf, n), unpack_values(m, vbuf, n), strict=True))
    return result


def _read(m: Map, cmd: Command, cursor: BatchCursor, count: int) -> tuple[Any, Any, int] | None:
    """A batch read into the map's buffers (the caller holds its lock); None when done."""
    if count.__class__ is not int or not 0 < count < 1 << 32:
        _cmds.check_uint(count, 32, "count", f"batch read of map {m._name!r}")
        raise ValueError(f"batch count must be positive, not {count}")
    if cursor.done:
        return None
    # The kernel returns at most the map's elements: room for more is waste.
    count = min(count, max(m._max_entries, 1))
    ffi = _sys.ffi
    if cursor._buf is None:
        # The kernel keeps a key (generic maps) or a bucket index (hash
        # maps) there: a key's size, at least 8 bytes, covers both.
        cursor._buf = ffi.new("uint8_t[]", max(m._key_size, 8))
    kbuf, vbuf, cnt = batch_buffers(m, count)
    cnt[0] = count
    in_batch = cursor._buf if cursor._started else _sys.NULL
    rc = _sys.fd_calls.map_batch(cmd, m._fd._cell, in_batch, cursor._buf, kbuf, vbuf, cnt, 0)
    n = int(cnt[0])
    if rc == -errno.ENOENT:
        cursor.done = True
    elif rc:
        raise batch_error(m, rc, cmd, count)
    cursor._started = True
    return kbuf, vbuf, n


def write_batch(
    m: Map, cmd: Command, keys: Sequence[Any], values: Sequence[Any] | None, flags: int
) -> int:
    count = len(keys)
    if count == 0:
        return 0
    ffi = _sys.ffi
    with m._lock:
        kbuf, vbuf, cnt = batch_buffers(m, count)
        pack(kbuf, m._key_size, keys, encode=m._encode_key, fmt=m._kfmt)
        if values is not None:
            if m._percpu:
                stride = m._stride * m._ncpu
                mem = ffi.buffer(vbuf)
                for i, value in enumerate(values):
                    m._put_value(memoryview(mem)[i * stride : (i + 1) * stride], value)
            else:
                pack(vbuf, m._value_size, values, encode=m._encode_value, fmt=m._vfmt)
        cnt[0] = count
        rc = _sys.fd_calls.map_batch(cmd, m._fd._cell, _sys.NULL, _sys.NULL, kbuf, vbuf, cnt, flags)
        done = int(cnt[0])
    if rc:
        err = batch_error(m, rc, cmd, count)
        if isinstance(err, BPFError):
            err.add_note(f"{done} of {count} elements were processed")
        raise err
    return done


def pack(buf: Any, size: int, objs: Sequence[Any], *, encode: Any, fmt: str | None) -> None:
    """Encode ``objs`` one after the other into ``buf``, ``size`` bytes each.

    Where the map writes ints natively (``fmt``) and every object is one, they
    go in by one slice assignment.
    """
    ffi = _sys.ffi
    if fmt is not None and all(o.__class__ is int for o in objs):
        try:
            ffi.cast(f"{CTYPES[fmt]} *", buf)[0 : len(objs)] = objs
        except OverflowError:
            raise ValueError(f"an int does not fit in {size} bytes") from None
        return
    mem = ffi.buffer(buf)
    for i, obj in enumerate(objs):
        mem[i * size : (i + 1) * size] = encode(obj)


def unpack_keys(m: Map, buf: Any, n: int) -> list[Any]:
    """The ``n`` keys at ``buf``, decoded."""
    size = m._key_size
    if m._kout is not None:
        assert m._kfmt is not None
        return _as_ints(buf, n, m._kfmt)
    return _decode_all(m._kcodec.decode, _sys.ffi.buffer(buf, n * size)[:], size, size)


def unpack_values(m: Map, buf: Any, n: int) -> list[Any]:
    """The ``n`` values at ``buf``, decoded (per-CPU maps: a list per element)."""
    size = m._value_size
    if m._vout is not None:
        assert m._vfmt is not None
        return _as_ints(buf, n, m._vfmt)
    if not m._percpu:
        return _decode_all(m._vcodec.decode, _sys.ffi.buffer(buf, n * size)[:], size, size)
    stride, ncpu = m._stride, m._ncpu
    raw = _sys.ffi.buffer(buf, n * stride * ncpu)[:]
    fmt = int_format(m._vcodec, size)
    if fmt is not None:
        # One struct pass over every CPU's padded slot, then one list per element.
        flat = [v for (v,) in struct.iter_unpack(f"={fmt}{stride - size}x", raw)]
    else:
        flat = _decode_all(m._vcodec.decode, raw, size, stride)
    return [flat[i : i + ncpu] for i in range(0, len(flat), ncpu)]


def _decode_all(decode: Any, raw: bytes, size: int, stride: int) -> list[Any]:
    return [decode(raw[i : i + size]) for i in range(0, len(raw), stride)]


def batch_error(m: Map, rc: int, cmd: Command, count: int) -> Exception:
    what = cmd.name.lower().removeprefix("map_")
    if m._fd.closed:
        return m._closed()
    if -rc in (ENOTSUPP, errno.EOPNOTSUPP) or (
        -rc == errno.EINVAL and not _probes.have_batch(m._type)
    ):
        return NotSupportedError(
            f"{what} on {_probes.type_name(m._type)} maps", min_version="5.6", code=-rc
        )
    if -rc == errno.ENOSPC:
        return LimitError(
            -rc,
            f"{what} in map {m._name!r}",
            limit=f"count={count}",
            reason="a hash bucket holds more elements than count; retry with a larger count",
        )
    if -rc == errno.ENOENT:
        return KeyNotFoundError(-rc, f"{what} in map {m._name!r}", reason="key not found")
    return m._error(rc, what)
