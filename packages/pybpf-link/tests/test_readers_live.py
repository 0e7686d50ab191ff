"""Readers fed by real events: tracepoint programs writing to ring and perf buffers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.core import Collection, PerfBuffer, RingBuffer
from pybpf.elf import load_collection_spec
from pybpf.link import tracepoint

pytestmark = pytest.mark.kernel


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "readers_tracepoint-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    with Collection(spec) as c:
        yield c


def test_ring_buffer_gets_each_syscall_typed(coll: Collection) -> None:
    with (
        RingBuffer(coll.maps["events"], record="struct event") as rb,
        tracepoint(coll.programs["ring_getpid"], "syscalls", "sys_enter_getpid"),
    ):
        for _ in range(10):
            os.getpid()
        records = rb.read_batch(timeout=1)
    assert [r.seq for r in records] == list(range(10))
    assert {r.pid for r in records} == {os.getpid()}
    comm = records[0].comm
    assert bytes(comm).rstrip(b"\0") == Path("/proc/self/comm").read_bytes().strip()[:15]


def test_no_records_after_close(coll: Collection) -> None:
    with RingBuffer(coll.maps["events"]) as rb:
        with tracepoint(coll.programs["ring_getpid"], "syscalls", "sys_enter_getpid"):
            os.getpid()
        os.getpid()
        assert len(rb.read_batch(timeout=0)) == 1
        assert rb.read_batch(timeout=0) == []


def test_perf_buffer_gets_each_syscall(coll: Collection) -> None:
    with (
        PerfBuffer(coll.maps["perf_events"], record="struct event") as pb,
        tracepoint(coll.programs["perf_getppid"], "syscalls", "sys_enter_getppid"),
    ):
        for _ in range(5):
            os.getppid()
        records = pb.read_batch(timeout=1)
    assert sorted(r.data.seq for r in records) == list(range(5))
    assert all(r.lost == 0 for r in records)


def test_asyncio_reads_events_as_they_come(coll: Collection) -> None:
    async def main() -> list[int]:
        seqs: list[int] = []
        with (
            RingBuffer(coll.maps["events"], record="struct event") as rb,
            tracepoint(coll.programs["ring_getpid"], "syscalls", "sys_enter_getpid"),
        ):
            for _ in range(3):
                os.getpid()
                rec = await asyncio.wait_for(rb.read_async(), timeout=2)
                seqs.append(rec.seq)
        return seqs

    assert asyncio.run(main()) == [0, 1, 2]
