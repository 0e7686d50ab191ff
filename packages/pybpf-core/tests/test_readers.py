"""Ring buffer, user ring buffer and perf buffer readers on the running kernel.

Records are produced by XDP programs of testdata/readers.c run with
BPF_PROG_TEST_RUN (``repeat=N`` writes N records on the calling CPU). Every
reading test runs twice: with the compiled consume loops and with the Python
ones.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.btf import codec_for
from pybpf.core import (
    ClosedError,
    Collection,
    LimitError,
    Map,
    MapSpec,
    MapType,
    PerfBuffer,
    PerfEventAttr,
    RingBuffer,
    RingBuffers,
    SoftwareEvent,
    UserRingBuffer,
    _sys,
    features,
    perf_event_open,
)

pytestmark = pytest.mark.kernel

SUFFIX = "el" if sys.byteorder == "little" else "eb"
PACKET = bytes(64)
HEADER = struct.Struct("=QII")


@pytest.fixture(params=["compiled", "python"])
def loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which consume loops the readers use."""
    if request.param == "compiled":
        if _sys.readers is None:
            pytest.skip("the compiled readers are not built (ABI mode)")
    else:
        monkeypatch.setattr(_sys, "readers", None)
    return str(request.param)


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    features.have_map_type(MapType.RINGBUF)
    with Collection(testdata / f"readers-{SUFFIX}.o") as c:
        yield c


def produce(coll: Collection, prog: str, n: int, *, size: int = 16) -> None:
    coll.variables["size"].set(size)
    coll.programs[prog].run(PACKET, repeat=n)


def seqs(records: list[bytes]) -> list[int]:
    return [HEADER.unpack_from(r)[0] for r in records]


def test_ring_order_and_content(coll: Collection, loops: str) -> None:
    with RingBuffer(coll.maps["events"]) as rb:
        assert rb.size == 64 * 1024
        assert rb.available == 0
        assert rb.read_batch(timeout=0) == []
        produce(coll, "out_bytes", 100, size=20)
        assert rb.available == 100 * 32  # 8-byte header, 20 bytes rounded up to 24
        assert rb.poll(0)
        recs = rb.read_batch(0)
        assert seqs(recs) == list(range(100))
        for i, rec in enumerate(recs):
            assert len(rec) == 20
            assert HEADER.unpack_from(rec)[2] == 20
            assert rec[19] == i & 0x7F
        assert rb.available == 0
        assert not rb.poll(0)


def test_ring_wraps_around(coll: Collection, loops: str) -> None:
    # 200-byte records in a 64 KiB ring: many rounds, records straddling the end.
    with RingBuffer(coll.maps["events"]) as rb:
        seen: list[int] = []
        for _ in range(20):
            produce(coll, "out_bytes", 200, size=200)
            recs = rb.read_batch(0)
            assert all(len(r) == 200 and r[199] == HEADER.unpack_from(r)[0] & 0x7F for r in recs)
            seen += seqs(recs)
        assert seen == list(range(4000))
        assert coll.variables["dropped"].get() == 0


def test_ring_max_records_and_read(coll: Collection, loops: str) -> None:
    with RingBuffer(coll.maps["events"]) as rb:
        produce(coll, "out_bytes", 10)
        assert seqs(rb.read_batch(0, max_records=3)) == [0, 1, 2]
        assert HEADER.unpack_from(rb.read(0))[0] == 3
        it = iter(rb)
        assert [HEADER.unpack_from(next(it))[0] for _ in range(6)] == [4, 5, 6, 7, 8, 9]
        with pytest.raises(TimeoutError):
            rb.read(timeout=0.01)
        assert rb.read_batch(timeout=0.01) == []


def test_ring_discarded_records_are_skipped(coll: Collection, loops: str) -> None:
    coll.variables["discard_every"].set(3)
    with RingBuffer(coll.maps["events"]) as rb:
        coll.programs["event_reserve"].run(PACKET, repeat=30)
        got = [HEADER.unpack_from(r)[0] for r in rb.read_batch(0)]
        assert got == [i for i in range(30) if i % 3]
        assert rb.available == 0


def test_ring_full_drops_at_the_producer(coll: Collection, loops: str) -> None:
    with RingBuffer(coll.maps["events"]) as rb:
        produce(coll, "out_bytes", 5000, size=64)  # 72 bytes each: 910 fit in 64 KiB
        dropped = coll.variables["dropped"].get()
        recs = rb.read_batch(0)
        assert len(recs) + dropped == 5000
        assert len(recs) == (64 * 1024) // 72
        assert seqs(recs) == list(range(len(recs)))
        produce(coll, "out_bytes", 1)  # room again once read
        assert len(rb.read_batch(0)) == 1


def test_ring_typed_records(coll: Collection, loops: str) -> None:
    with RingBuffer(coll.maps["events"], record="struct event", btf=coll.spec.types) as rb:
        coll.programs["event_reserve"].run(PACKET, repeat=5)
        recs = rb.read_batch(0)
        assert [r.seq for r in recs] == [0, 1, 2, 3, 4]
        r = recs[2]
        assert r.len == 32
        assert r.comm == b"pybpf"
        assert [(p.lo, p.hi) for p in r.pairs] == [(2, 1), (2, 3)]
        assert r.cpu in os.sched_getaffinity(0) or r.cpu >= 0


def test_ring_typed_int_records_match_the_codec(coll: Collection, loops: str) -> None:
    # A struct of ints only: the compiled loop fills the record's slots itself.
    codec = codec_for(coll.spec.types.type_by_name("header"))
    with RingBuffer(coll.maps["events"], record="struct header", btf=coll.spec.types) as rb:
        produce(coll, "out_bytes", 300, size=24)
        recs = rb.read_batch(0)
    assert [r.seq for r in recs] == list(range(300))
    assert all(type(r) is codec.record and r.len == 24 for r in recs)
    assert recs[7] == codec.decode(HEADER.pack(7, recs[7].cpu, 24))
    recs[7].cpu = 99  # records stay ordinary, mutable records
    assert recs[7].cpu == 99


def test_ring_typed_record_too_short(coll: Collection, loops: str) -> None:
    with RingBuffer(coll.maps["events"], record="struct event", btf=coll.spec.types) as rb:
        produce(coll, "out_bytes", 1, size=16)
        coll.programs["event_reserve"].run(PACKET)
        with pytest.raises(ValueError, match="16 bytes is shorter"):
            rb.read_batch(0)
        # The bad record was consumed; the reader goes on.
        assert [r.seq for r in rb.read_batch(0)] == [1]


def test_ring_record_type_from_btf_type_and_codec(coll: Collection, loops: str) -> None:
    from pybpf.btf import codec_for

    event = coll.spec.types.type_by_name("event")
    for record in (event, codec_for(event)):
        with RingBuffer(coll.maps["events"], record=record) as rb:
            coll.programs["event_reserve"].run(PACKET)
            assert rb.read(0).comm == b"pybpf"


def test_ring_record_name_from_the_object_or_btf(coll: Collection) -> None:
    # A collection's map knows its object's BTF; a map made alone needs btf=.
    assert coll.maps["events"].types is coll.spec.types
    with RingBuffer(coll.maps["events"], record="struct event"):
        pass
    alone = MapSpec("alone", MapType.RINGBUF, max_entries=4096)
    with Map(alone) as m, pytest.raises(ValueError, match="pass btf="):
        RingBuffer(m, record="struct event")
    with pytest.raises(ValueError, match="no Struct named 'nope'"):
        RingBuffer(coll.maps["events"], record="struct nope", btf=coll.spec.types)


def test_ring_several_maps_one_epoll(coll: Collection, loops: str) -> None:
    with RingBuffers([coll.maps["events"], coll.maps["other"]]) as rbs:
        produce(coll, "other_bytes", 2)
        produce(coll, "out_bytes", 3)
        assert seqs(rbs.read_batch(0)) == [2, 3, 4, 0, 1]
        assert rbs.size == 64 * 1024 + 4096


def test_ring_blocking_read_wakes(coll: Collection, loops: str) -> None:
    import threading

    with RingBuffer(coll.maps["events"]) as rb:
        timer = threading.Timer(0.05, produce, (coll, "out_bytes", 1))
        timer.start()
        try:
            assert seqs([rb.read(timeout=10)]) == [0]
        finally:
            timer.join()


def test_ring_many_batches_keep_every_record_in_order(coll: Collection, loops: str) -> None:
    # A million records through the compiled loop; the Python one, which takes
    # seconds for those, reads a tenth of them.
    batches = 400 if loops == "compiled" else 40
    total = 0
    with RingBuffer(coll.maps["events"]) as rb:
        for _ in range(batches):
            produce(coll, "out_bytes", 2500)
            batch = rb.read_batch(0)
            assert HEADER.unpack_from(batch[-1])[0] == total + len(batch) - 1
            total += len(batch)
    assert total == batches * 2500


def test_ring_wrong_map_type_and_close(coll: Collection) -> None:
    with pytest.raises(ValueError, match="needs a RINGBUF map"):
        RingBuffer(coll.maps["samples"])
    rb = RingBuffer(coll.maps["events"])
    rb.close()
    rb.close()
    for op in (lambda: rb.read_batch(0), lambda: rb.available, lambda: rb.poll(0)):
        with pytest.raises(ClosedError, match="is closed"):
            op()


def test_ring_asyncio_two_readers(coll: Collection, loops: str) -> None:
    async def main() -> tuple[list[int], list[int]]:
        with RingBuffer(coll.maps["events"]) as a, RingBuffer(coll.maps["other"]) as b:

            async def take(rb: RingBuffer, n: int) -> list[int]:
                out = []
                async for rec in rb:
                    out.append(HEADER.unpack_from(rec)[0])
                    if len(out) == n:
                        return out
                return out

            ta = asyncio.create_task(take(a, 3))
            tb = asyncio.create_task(take(b, 2))
            await asyncio.sleep(0.01)
            produce(coll, "out_bytes", 3)
            await asyncio.sleep(0.01)
            produce(coll, "other_bytes", 2)
            return await asyncio.wait_for(ta, 10), await asyncio.wait_for(tb, 10)

    assert asyncio.run(main()) == ([0, 1, 2], [3, 4])


def test_ring_asyncio_cancel_keeps_records(coll: Collection, loops: str) -> None:
    async def main() -> int:
        with RingBuffer(coll.maps["events"]) as rb:
            with pytest.raises(TimeoutError):
                await rb.read_async(timeout=0.02)
            produce(coll, "out_bytes", 2)
            first = await rb.read_async(timeout=5)
            second = await rb.read_async(timeout=5)  # held back by the reader
            return HEADER.unpack_from(first)[0] * 10 + HEADER.unpack_from(second)[0]

    assert asyncio.run(main()) == 1


def test_user_ring_buffer_drained_by_program(testdata: Path, loops: str) -> None:
    features.have_map_type(MapType.USER_RINGBUF)
    with Collection(testdata / f"readers_user-{SUFFIX}.o") as c:
        with UserRingBuffer(c.maps["requests"], record="struct request", btf=c.spec.types) as urb:
            assert urb.size == 4096
            assert urb.free == 4096
            for i in range(10):
                urb.write({"id": i, "amount": 100 + i})
            urb.write({"id": 99, "amount": 1})
            with pytest.raises(RuntimeError), urb.reserve(16) as res:
                res.data[:] = bytes(16)
                raise RuntimeError  # discarded: the block raised
            assert urb.free == 4096 - 12 * 24
            c.programs["drain"].run(PACKET)
            assert c.variables["drained"].get() == 11
            assert c.variables["total"].get() == sum(100 + i for i in range(10)) + 1
            assert c.variables["last_id"].get() == 99
            assert urb.free == 4096
            # Full: 170 records of 24 bytes fit, the next one waits, then fails.
            for i in range(170):
                urb.write({"id": i, "amount": 1})
            with pytest.raises(LimitError, match="full"):
                urb.write({"id": 0, "amount": 1}, timeout=0.01)
            c.programs["drain"].run(PACKET)
            assert c.variables["drained"].get() == 11 + 170
            with pytest.raises(LimitError):
                urb.reserve(5000)
        with pytest.raises(ClosedError):
            urb.write(b"x" * 16)


def test_perf_every_cpu(coll: Collection, loops: str) -> None:
    with PerfBuffer(coll.maps["samples"]) as pb:
        cpus = pb.cpus
        assert cpus
        for cpu in cpus:
            os.sched_setaffinity(0, {cpu})
            produce(coll, "perf_bytes", 50, size=20)
        os.sched_setaffinity(0, set(cpus))
        recs = pb.read_batch(0)
        assert len(recs) == 50 * len(cpus)
        by_cpu: dict[int, list[int]] = {}
        for rec in recs:
            seq, cpu, size = HEADER.unpack_from(rec.data)
            assert rec.cpu == cpu and rec.lost == 0 and size == 20
            assert len(rec.data) >= 20
            by_cpu.setdefault(rec.cpu, []).append(seq)
        assert sorted(by_cpu) == cpus
        assert sorted(s for v in by_cpu.values() for s in v) == list(range(50 * len(cpus)))
        assert pb.lost == 0


def test_perf_lost_samples_and_wrap(coll: Collection, loops: str) -> None:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    try:
        with PerfBuffer(coll.maps["samples"], pages=1) as pb:
            produce(coll, "perf_bytes", 1000, size=100)
            samples = pb.read_batch(0)
            dropped = coll.variables["dropped"].get()
            assert dropped > 0
            assert len(samples) + dropped == 1000
            assert all(r.lost == 0 for r in samples)
            # The kernel reports the loss with the next sample that fits.
            produce(coll, "perf_bytes", 1, size=100)
            lost, sample = pb.read_batch(0)
            assert (lost.cpu, lost.data, lost.lost) == (cpu, None, dropped)
            assert HEADER.unpack_from(sample.data)[0] == 1000
            assert pb.lost == dropped
            assert pb.lost_by_cpu == {cpu: dropped}
            # Keep going round the 4 KiB ring: records straddle its end.
            for _ in range(5):
                produce(coll, "perf_bytes", 7, size=100)
                got = pb.read_batch(0)
                assert [len(r.data) for r in got] == [100] * 7
                assert all(r.data[99] == HEADER.unpack_from(r.data)[0] & 0x7F for r in got)
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def test_perf_typed_pause_resume(coll: Collection, loops: str) -> None:
    with PerfBuffer(coll.maps["samples"], record="struct header", btf=coll.spec.types) as pb:
        produce(coll, "perf_bytes", 2, size=16)
        assert [r.data.seq for r in pb.read_batch(0)] == [0, 1]
        pb.pause()
        produce(coll, "perf_bytes", 2)
        assert pb.read_batch(0) == []
        assert coll.variables["dropped"].get() == 2
        pb.resume()
        produce(coll, "perf_bytes", 1)
        assert [r.data.seq for r in pb.read_batch(0)] == [4]


def test_perf_wrong_map_and_close(coll: Collection) -> None:
    with pytest.raises(ValueError, match="needs a PERF_EVENT_ARRAY"):
        PerfBuffer(coll.maps["events"])
    with pytest.raises(ValueError, match="power of two"):
        PerfBuffer(coll.maps["samples"], pages=3)
    pb = PerfBuffer(coll.maps["samples"])
    pb.close()
    with pytest.raises(ClosedError):
        pb.read_batch(0)


def test_perf_event_open_software_counter() -> None:
    attr = PerfEventAttr.software(SoftwareEvent.CPU_CLOCK)
    with perf_event_open(attr, pid=0) as fd:
        assert fd.number > 0
    m = Map(MapSpec(name="x", type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1))
    with m, pytest.raises(OSError):
        perf_event_open(attr)  # pid and cpu both -1: EINVAL


def test_perf_overwritable_keeps_the_newest(coll: Collection, loops: str) -> None:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    try:
        with PerfBuffer(coll.maps["samples"], pages=1, overwritable=True) as pb:
            produce(coll, "perf_bytes", 1000, size=100)
            recs = pb.read_batch(0)
            got = [HEADER.unpack_from(r.data)[0] for r in recs]
            # 112 bytes a record (header, size, 100 bytes): the newest that fit, oldest first.
            assert len(got) == mmap.PAGESIZE // 112
            assert got == list(range(1000 - len(got), 1000))
            assert all(r.cpu == cpu and r.lost == 0 for r in recs)
            assert pb.read_batch(0) == []
            produce(coll, "perf_bytes", 3, size=100)
            assert [HEADER.unpack_from(r.data)[0] for r in pb.read_batch(0, 2)] == [1000, 1001]
            assert HEADER.unpack_from(pb.read(0).data)[0] == 1002
            assert coll.variables["dropped"].get() == 0
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def test_perf_watermark_wakes_once_enough(coll: Collection) -> None:
    with PerfBuffer(coll.maps["samples"], watermark=1024) as pb:
        cpu = pb.cpus[0]
        os.sched_setaffinity(0, {cpu})
        try:
            produce(coll, "perf_bytes", 1, size=16)
            assert pb._wait(0) is False  # data, but below the watermark: no wakeup
            assert len(pb.read_batch(0)) == 1
            produce(coll, "perf_bytes", 40, size=40)  # 56 bytes each: past 1 KiB
            assert pb._wait(5) is True
            assert len(pb.read_batch(0)) == 40
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def test_ctrl_c_in_a_blocking_read_leaves_the_reader_usable(coll: Collection) -> None:
    import signal
    import threading

    with RingBuffer(coll.maps["events"]) as rb:
        main = threading.main_thread().ident
        assert main is not None
        timer = threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                rb.read(timeout=10)
        finally:
            timer.join()
        produce(coll, "out_bytes", 1)
        assert seqs([rb.read(timeout=1)]) == [0]


def test_perf_record_too_short_is_skipped(coll: Collection, loops: str) -> None:
    with PerfBuffer(coll.maps["samples"], record="struct event", btf=coll.spec.types) as pb:
        cpu = pb.cpus[0]
        os.sched_setaffinity(0, {cpu})
        try:
            produce(coll, "perf_bytes", 1, size=16)  # 16 bytes (+4 of padding) < 32
            with pytest.raises(ValueError, match=r"shorter|need 32 bytes|do not fit"):
                pb.read_batch(0)
            produce(coll, "perf_bytes", 1, size=40)
            (rec,) = pb.read_batch(0)
            assert rec.data.seq == 1
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
