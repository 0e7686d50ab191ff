"""Batch operations on maps (``BPF_MAP_*_BATCH``, Linux 5.6): many elements per call.

These functions are the batch half of :class:`~pybpf.core.map.Map`; they work
on its buffers and codecs, and the map's public methods call them.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from pybpf.core import _probes, _sys
from pybpf.core._uapi import Command
from pybpf.core.codec import Codec, IntCodec
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


#: memoryview formats of the native integer codecs, for whole-batch decoding.
_FORMATS: Final[dict[str, Literal["I", "i", "Q", "q"]]] = {
    "uint32_t": "I",
    "int32_t": "i",
    "uint64_t": "Q",
    "int64_t": "q",
}


def _as_ints(buf: Any, n: int, size: int, codec: Codec) -> list[int]:
    """``n`` native integers of ``size`` bytes at ``buf``, as a list."""
    assert isinstance(codec, IntCodec) and codec.ctype is not None
    # memoryview.tolist beats ffi.unpack by ~10% on 100k elements.
    return memoryview(_FFI.buffer(buf, n * size)).cast(_FORMATS[codec.ctype]).tolist()


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
    if count <= 0:
        raise ValueError(f"batch count must be positive, not {count}")
    if cursor.done:
        return [], []
    ffi = _sys.ffi
    if cursor._buf is None:
        # The kernel keeps a key (generic maps) or a bucket index (hash
        # maps) there: a key's size, at least 8 bytes, covers both.
        cursor._buf = ffi.new("uint8_t[]", max(m._key_size, 8))
    with m._lock:
        kbuf, vbuf, cnt = batch_buffers(m, count)
        cnt[0] = count
        in_batch = cursor._buf if cursor._started else _sys.NULL
        rc = _sys.map_batch(cmd, m._fd._num, in_batch, cursor._buf, kbuf, vbuf, cnt, 0)
        n = int(cnt[0])
        if rc == -errno.ENOENT:
            cursor.done = True
        elif rc:
            raise batch_error(m, rc, cmd, count)
        cursor._started = True
        return unpack_keys(m, kbuf, n), unpack_values(m, vbuf, n)


def write_batch(
    m: Map, cmd: Command, keys: Sequence[Any], values: Sequence[Any] | None, flags: int
) -> int:
    count = len(keys)
    if count == 0:
        return 0
    ffi = _sys.ffi
    with m._lock:
        kbuf, vbuf, cnt = batch_buffers(m, count)
        pack(kbuf, m._key_size, m._key_size, keys, encode=m._encode_key, codec=m._kcodec)
        if values is not None:
            if m._percpu:
                stride = m._stride * m._ncpu
                mem = ffi.buffer(vbuf)
                for i, value in enumerate(values):
                    m._put_value(memoryview(mem)[i * stride : (i + 1) * stride], value)
            else:
                pack(
                    vbuf,
                    m._value_size,
                    m._value_size,
                    values,
                    encode=m._encode_value,
                    codec=m._vcodec,
                )
        cnt[0] = count
        rc = _sys.map_batch(cmd, m._fd._num, _sys.NULL, _sys.NULL, kbuf, vbuf, cnt, flags)
        done = int(cnt[0])
    if rc:
        err = batch_error(m, rc, cmd, count)
        if isinstance(err, BPFError):
            err.add_note(f"{done} of {count} elements were processed")
        raise err
    return done


def pack(
    buf: Any, size: int, stride: int, objs: Sequence[Any], *, encode: Any, codec: Codec
) -> None:
    """Encode ``objs`` one after the other into ``buf``, ``stride`` bytes apart."""
    ffi = _sys.ffi
    # Plain ints go in by one slice assignment when the host's layout is theirs:
    # no codec opinion (bytes) or a native-order int codec of this size.
    ctype: str | None = f"uint{size * 8}_t"
    if isinstance(codec, IntCodec):
        ctype = codec.ctype if codec.size == size else None
    if (
        ctype is not None
        and size == stride
        and size in (4, 8)
        and all(o.__class__ is int for o in objs)
    ):
        try:
            ffi.cast(f"{ctype} *", buf)[0 : len(objs)] = objs
        except OverflowError:
            raise ValueError(f"an int does not fit in {size} bytes") from None
        return
    mem = ffi.buffer(buf)
    for i, obj in enumerate(objs):
        mem[i * stride : i * stride + size] = encode(obj)


def unpack_keys(m: Map, buf: Any, n: int) -> list[Any]:
    size = m._key_size
    if m._kout is not None:
        return _as_ints(buf, n, size, m._kcodec)
    raw = _sys.ffi.buffer(buf, n * size)[:]
    decode = m._kcodec.decode
    return [decode(raw[i : i + size]) for i in range(0, n * size, size)]


def unpack_values(m: Map, buf: Any, n: int) -> list[Any]:
    ffi = _sys.ffi
    size = m._value_size
    if m._vout is not None:
        return _as_ints(buf, n, size, m._vcodec)
    decode = m._vcodec.decode
    if not m._percpu:
        raw = ffi.buffer(buf, n * size)[:]
        return [decode(raw[i : i + size]) for i in range(0, n * size, size)]
    stride, ncpu = m._stride, m._ncpu
    raw = ffi.buffer(buf, n * stride * ncpu)[:]
    return [
        [decode(raw[j : j + size]) for j in range(i, i + stride * ncpu, stride)]
        for i in range(0, n * stride * ncpu, stride * ncpu)
    ]


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
