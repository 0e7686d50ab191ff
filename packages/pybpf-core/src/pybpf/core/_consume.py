"""The readers' consume loops in Python: what ``_pybpf_readers`` does in C, slower.

A BPF ring buffer (``kernel/bpf/ringbuf.c``) is a consumer page, a producer
page and a data area mapped twice in a row, so that a record running past the
end of the ring reads as one piece. Every record starts with an 8-byte header:
its length, with the *busy* bit (1 << 31) set while the producer still writes
it and the *discard* bit (1 << 30) set when the producer dropped it, then a
word the consumer ignores; records are 8-byte aligned. The consumer reads
the producer position and each header with acquire ordering, and publishes
how far it read with a release store, which frees that space for the producer.

A perf ring (``perf_event_mmap_page``) is a header page whose ``data_head``
the kernel advances and whose ``data_tail`` the reader advances, then a data
area mapped once: a record that wraps around is put back together.

:data:`COMPILED` says whether :data:`pybpf.core._sys.readers` (the C loops)
is there; the readers use it when it is, and these loops otherwise. Where the
hardware keeps plain loads and stores in order as the loops need (x86, s390),
they use plain accesses; elsewhere :func:`barrier` (a lock's acquire and
release, a full barrier) stands where the C loops use acquire and release.
"""

from __future__ import annotations

import contextlib
import gc
import os
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from pybpf.core import _sys

__all__ = [
    "COMPILED",
    "PerfRecord",
    "barrier",
    "gc_paused",
    "perf_read",
    "ring_read",
    "short_record",
]

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER_SIZE = 8
#: ``struct perf_event_mmap_page``: where ``data_head`` and ``data_tail`` are.
PERF_DATA_HEAD = 1024
PERF_DATA_TAIL = 1032
PERF_RECORD_LOST = 2
PERF_RECORD_SAMPLE = 9

#: True when the compiled loops are there.
COMPILED = _sys.readers is not None

_TSO = os.uname().machine.lower() in {"x86_64", "amd64", "i386", "i686", "s390x"}
_barrier_lock = threading.Lock()
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_PERF_HEADER = struct.Struct("=IHH")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a batch of records is decoded.

    Decoded records are containers the collector tracks: a batch of 10^5 of
    them sets off collections that walk every record already made, which
    costs more than the decoding. Records cannot form cycles while they are
    made, so pausing the collector frees nothing late.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def barrier() -> None:
    """A full memory barrier where the hardware needs one between the loops' accesses."""
    if not _TSO:
        with _barrier_lock:
            pass


class _PerfRecord(NamedTuple):
    """A perf buffer record: ``cpu``, ``data`` (the sample), ``lost``.

    ``data`` is bytes, or what the reader's record type decoded; for a
    record that reports lost samples it is ``None`` and ``lost`` says how
    many samples the kernel dropped on that CPU (0 for a sample).
    """

    cpu: int
    data: Any
    lost: int


#: The type of perf buffer records: a named tuple of ``cpu``, ``data``, ``lost``
#: (the compiled module's struct sequence, or the same fields in Python).
PerfRecord: Any = _sys.readers.PerfRecord if COMPILED else _PerfRecord


def short_record(size: int, record_size: int) -> ValueError:
    """What reading a ``size``-byte record as a ``record_size``-byte type raises."""
    return ValueError(
        f"a record of {size} bytes is shorter than its record type "
        f"({record_size} bytes); it was skipped"
    )


def ring_read(  # noqa: PLR0917 (the compiled function's signature, with views for addresses)
    consumer: memoryview,
    producer: memoryview,
    data: Any,
    mask: int,
    out: list[Any],
    limit: int,
    decode: Callable[..., Any] | None,
    view: memoryview | None,
    record_size: int,
) -> int:
    """Append up to ``limit`` (all when negative) ring buffer records to ``out``; how many.

    ``consumer`` and ``producer`` are one-item ``"Q"`` views of the positions,
    ``data`` the data area mapped twice (an ``mmap`` slice gives bytes).
    Records are bytes, ``decode(view, offset)`` when ``view`` is given, or
    ``decode(bytes)``. A record whose decoding fails is consumed all the same.
    """
    cons = consumer[0]
    n = 0
    unpack = _U32.unpack_from
    while True:
        progressed = False
        prod = producer[0]
        barrier()
        while cons < prod and (limit < 0 or n < limit):
            off = cons & mask
            (length,) = unpack(data, off)
            if length & BUSY_BIT:
                return n
            barrier()
            size = length & ~(BUSY_BIT | DISCARD_BIT)
            progressed = True
            start = off + HEADER_SIZE
            cons += (size + HEADER_SIZE + 7) & ~7
            if length & DISCARD_BIT:
                barrier()
                consumer[0] = cons
                continue
            try:
                if decode is None:
                    rec = data[start : start + size]
                elif view is None:
                    rec = decode(data[start : start + size])
                elif size < record_size:
                    raise short_record(size, record_size)
                else:
                    rec = decode(view, start)
            finally:
                barrier()
                consumer[0] = cons
            out.append(rec)
            n += 1
        if not progressed or (limit >= 0 and n >= limit):
            return n


def perf_read(  # noqa: PLR0917 (the compiled function's signature, with buffers for addresses)
    page: Any,
    data: Any,
    size: int,
    cpu: int,
    out: list[Any],
    limit: int,
    decode: Callable[[bytes], Any] | None,
) -> tuple[int, int]:
    """Append up to ``limit`` records of one CPU's perf ring to ``out``: (how many, samples lost).

    ``page`` is the writable header page, ``data`` the ``size`` bytes after it.
    """
    head = _U64.unpack_from(page, PERF_DATA_HEAD)[0]
    barrier()
    tail = _U64.unpack_from(page, PERF_DATA_TAIL)[0]
    n = lost = 0
    while tail < head and (limit < 0 or n < limit):
        off = tail % size
        rtype, _, rsize = _PERF_HEADER.unpack_from(data, off)
        if rsize < 8:
            break  # a corrupt ring: stop rather than spin
        tail += rsize
        try:
            item = _perf_record(data, size, off, rtype, rsize, cpu=cpu, decode=decode)
        finally:
            # Consumed even when its decoding fails: a bad record cannot wedge the reader.
            barrier()
            _U64.pack_into(page, PERF_DATA_TAIL, tail)
        if item is None:
            continue
        lost += item.lost
        out.append(item)
        n += 1
    barrier()
    _U64.pack_into(page, PERF_DATA_TAIL, tail)
    return n, lost


def _perf_record(
    data: Any,
    size: int,
    off: int,
    rtype: int,
    rsize: int,
    *,
    cpu: int,
    decode: Callable[[bytes], Any] | None,
) -> Any:
    """The reader's record for the perf record at ``off`` (put together if it wraps), or None."""
    buf: Any = data
    if off + rsize > size:
        buf = bytes(data[off:size]) + bytes(data[: rsize - (size - off)])
        off = 0
    if rtype == PERF_RECORD_SAMPLE and rsize >= 12:
        raw = min(_U32.unpack_from(buf, off + 8)[0], rsize - 12)
        sample = bytes(buf[off + 12 : off + 12 + raw])
        return _PerfRecord(cpu, sample if decode is None else decode(sample), 0)
    if rtype == PERF_RECORD_LOST and rsize >= 24:
        return _PerfRecord(cpu, None, _U64.unpack_from(buf, off + 16)[0])
    return None


def perf_read_backward(
    data: Any,
    size: int,
    *,
    head: int,
    since: int,
    cpu: int,
    decode: Callable[[bytes], Any] | None,
) -> list[Any]:
    """The records of an overwritable perf ring written since position ``since``, oldest first.

    The kernel writes such a ring backward: ``head`` (its ``data_head``,
    paused) is where the newest record starts, and older ones follow it.
    Reading stops at ``since`` (the head of the previous read), at space the
    kernel never wrote, or where the oldest record was partly overwritten.
    """
    newest_first = []
    pos = head
    while pos != since:
        used = (pos - head) & _U64_MASK
        off = pos % size
        rtype, _, rsize = _PERF_HEADER.unpack_from(data, off)
        if rsize < 8 or used + rsize > size:
            break
        item = _perf_record(data, size, off, rtype, rsize, cpu=cpu, decode=decode)
        if item is not None:
            newest_first.append(item)
        pos = (pos + rsize) & _U64_MASK
    newest_first.reverse()
    return newest_first


_U64_MASK = (1 << 64) - 1
