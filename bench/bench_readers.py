"""pybpf.core's event readers against libbpf in C and against plain-Python readers.

Records of 16 bytes are written by testdata/readers.c's XDP programs run with
BPF_PROG_TEST_RUN; only reading them is timed (per record, in interleaved
pairs with one run of ``bench/c/readers_consume.c`` or with the plain reader). The
plain-Python readers are what a user writes by hand over ``mmap`` and
``struct``: the reference the targets are stated against, measured in the
same run. The memory row reads 10^6 records in batches and reports how much
the process's RSS grew, against the records' own 16 MB.
"""

from __future__ import annotations

import gc
import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from run import Bench

from pybpf.core import Collection, PerfBuffer, RingBuffer, load_collection_spec

OBJECT = Path(__file__).resolve().parent.parent / "testdata" / "readers-el.o"
RING_RECORDS = 100_000
PERF_RECORDS = 5_000
RING_SIZE = 1 << 22
PERF_PAGES = 128
MEMORY_RECORDS = 1_000_000
PACKET = bytes(64)
_PAGE = mmap.PAGESIZE
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_PERF_HEADER = struct.Struct("=IHH")


def _plain_ring_reader(ring_map: Any) -> tuple[Callable[[], list[bytes]], Callable[[], None]]:
    """A ring buffer reader as written by hand: mmap, struct, a loop."""
    fd, size = ring_map.fd.number, ring_map.max_entries
    consumer = mmap.mmap(fd, _PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    producer = mmap.mmap(fd, _PAGE, mmap.MAP_SHARED, mmap.PROT_READ, offset=_PAGE)
    data = mmap.mmap(fd, 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=2 * _PAGE)
    mask = size - 1

    def read() -> list[bytes]:
        out = []
        cons = _U64.unpack_from(consumer, 0)[0]
        prod = _U64.unpack_from(producer, 0)[0]
        while cons < prod:
            off = cons & mask
            length = _U32.unpack_from(data, off)[0]
            if length & (1 << 31):
                break
            n = length & 0x3FFFFFFF
            if not length & (1 << 30):
                out.append(data[off + 8 : off + 8 + n])
            cons += (n + 15) & ~7
        _U64.pack_into(consumer, 0, cons)
        return out

    def close() -> None:
        for m in (consumer, producer, data):
            m.close()

    return read, close


def _plain_perf_read(pb: PerfBuffer) -> Callable[[], list[tuple[int, bytes]]]:
    """A perf ring reader as written by hand, over the rings a PerfBuffer opened."""
    rings = [(buf.cpu, buf.mapping, buf.size) for buf in pb._cpus]

    def read() -> list[tuple[int, bytes]]:
        out = []
        for cpu, m, size in rings:
            head = _U64.unpack_from(m, 1024)[0]
            tail = _U64.unpack_from(m, 1032)[0]
            while tail < head:
                off = _PAGE + tail % size
                rtype, _, rsize = _PERF_HEADER.unpack_from(m, off)
                if off - _PAGE + rsize > size:
                    rec = m[off : _PAGE + size] + m[_PAGE : _PAGE + rsize - (_PAGE + size - off)]
                else:
                    rec = m[off : off + rsize]
                if rtype == 9:
                    raw = _U32.unpack_from(rec, 8)[0]
                    out.append((cpu, rec[12 : 12 + raw]))
                tail += rsize
            _U64.pack_into(m, 1032, tail)
        return out

    return read


def _per_record(
    produce: Callable[[], None], read: Callable[[], list[Any]], n: int
) -> Callable[[], float]:
    """One sample: produce ``n`` records, then time reading them, per record."""

    def sample() -> float:
        produce()
        t0 = time.perf_counter()
        got = read()
        t1 = time.perf_counter()
        if len(got) != n:
            raise RuntimeError(f"read {len(got)} records, expected {n}")
        return (t1 - t0) / n

    return sample


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def run(bench: Bench) -> None:
    """Ring and perf buffer reading rates, typed decoding, memory."""
    c_args = (str(OBJECT), str(RING_RECORDS), str(PERF_RECORDS))
    ring_c = bench.c_figure("readers_consume", "ring_buffer__consume", *c_args)
    perf_c = bench.c_figure("readers_consume", "perf_buffer__consume", *c_args)
    os.sched_setaffinity(0, {0})
    spec = load_collection_spec(OBJECT)
    spec.maps["events"].max_entries = RING_SIZE
    with Collection(spec) as coll:
        ring_prog, perf_prog = coll.programs["out_bytes"], coll.programs["perf_bytes"]

        def ring_produce() -> None:
            ring_prog.run(PACKET, repeat=RING_RECORDS)

        def perf_produce() -> None:
            perf_prog.run(PACKET, repeat=PERF_RECORDS)

        events = coll.maps["events"]
        plain_read, plain_close = _plain_ring_reader(events)
        try:
            plain = _per_record(ring_produce, plain_read, RING_RECORDS)
            bench.compare(
                "ring: plain-Python reader (mmap + struct), per record",
                plain,
                ring_c,
                baseline_name="C libbpf",
            )
            with RingBuffer(events) as rb:
                raw = _per_record(ring_produce, lambda: rb.read_batch(0), RING_RECORDS)
                bench.compare(
                    "ring: RingBuffer.read_batch, bytes, per record",
                    raw,
                    plain,
                    baseline_name="plain Py",
                    target=0.20,
                )
                bench.compare("  the same", raw, ring_c, baseline_name="C libbpf")
            with RingBuffer(events, record="struct header", btf=coll.spec.types) as rb:
                bench.compare(
                    'ring: RingBuffer.read_batch, record="struct header", per record',
                    _per_record(ring_produce, lambda: rb.read_batch(0), RING_RECORDS),
                    plain,
                    baseline_name="plain Py",
                    target=0.50,
                )
        finally:
            plain_close()
        with PerfBuffer(coll.maps["samples"], pages=PERF_PAGES) as pb:
            perf_plain = _per_record(perf_produce, _plain_perf_read(pb), PERF_RECORDS)
            perf = _per_record(perf_produce, lambda: pb.read_batch(0), PERF_RECORDS)
            bench.compare(
                "perf: plain-Python reader (mmap + struct), per record",
                perf_plain,
                perf_c,
                baseline_name="C libbpf",
            )
            bench.compare(
                "perf: PerfBuffer.read_batch, per record",
                perf,
                perf_plain,
                baseline_name="plain Py",
                target=0.33,
            )
            bench.compare("  the same", perf, perf_c, baseline_name="C libbpf")

        with RingBuffer(events) as rb:
            rb.read_batch(0)
            gc.collect()
            before = _rss()
            total = 0
            while total < MEMORY_RECORDS:
                ring_produce()
                total += len(rb.read_batch(0))
            gc.collect()
            growth = _rss() - before
    print(
        f"  memory: RSS grew {growth / 1e6:.1f} MB reading {MEMORY_RECORDS} records of 16 bytes "
        f"({MEMORY_RECORDS * 16 / 1e6:.0f} MB of records; target: less)",
        flush=True,
    )
