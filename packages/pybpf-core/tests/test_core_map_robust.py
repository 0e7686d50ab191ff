"""Maps under stress: signals mid-call, threads racing close, many threads on one map."""

from __future__ import annotations

import gc
import os
import random
import signal
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from pybpf.core import BatchCursor, ClosedError, KeyNotFoundError, Map, _sys
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

pytestmark = pytest.mark.kernel


def _open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


# A storm gives up after this many runs per interrupt it wants to land.
_MAX_ROUNDS_PER_HIT = 20


def _storm(op: Callable[[], object], hits_wanted: int) -> int:
    """Run ``op`` until ``hits_wanted`` of its runs were interrupted
    (KeyboardInterrupt from a SIGALRM handler, at a random moment within its
    usual duration), or until ``_MAX_ROUNDS_PER_HIT`` times as many runs;
    returns how many interruptions landed.

    How many land depends on the machine: under emulation a timer often fires
    only after a short ``op`` has returned. Counting hits rather than rounds
    keeps the test's strength the same everywhere.

    The handler raises at most once per round (it disarms itself), so that
    the interrupt lands in ``op``, not in the loop or a finalizer after it.
    """
    spans = []
    for _ in range(9):
        start = time.perf_counter()
        op()
        spans.append(time.perf_counter() - start)
    span = sorted(spans)[4]
    rng = random.Random(1)
    armed = [False]

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if armed[0]:
            armed[0] = False
            raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    hits = 0
    try:
        for _ in range(hits_wanted * _MAX_ROUNDS_PER_HIT):
            if hits >= hits_wanted:
                break
            try:
                armed[0] = True
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, span * 1.2))
                op()
                armed[0] = False
            except KeyboardInterrupt:
                hits += 1
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return hits


def _no_leak_under_storm(op: Callable[[], object], hits_wanted: int = 250) -> None:
    before = _open_fds()
    with warnings.catch_warnings():
        # An object dropped half-made by the interrupt is closed by its
        # finalizer, which warns: that is the expected path here.
        warnings.simplefilter("ignore", ResourceWarning)
        hits = _storm(op, hits_wanted)
        gc.collect()
    leaked = _open_fds() - before
    assert hits >= hits_wanted, f"only {hits} interrupts landed in {op}"
    assert not leaked, sorted(leaked)


@pytest.fixture
def hmap() -> Iterator[Map]:
    with Map(MapSpec("robust", MapType.HASH, 4, 8, 64), key_codec=int, value_codec=int) as m:
        yield m


@pytest.fixture
def pinned(hmap: Map) -> Iterator[Path]:
    path = Path("/sys/fs/bpf") / f"pybpf_robust_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    hmap.pin(path)
    yield path
    hmap.unpin()


# -- 1. an interrupt never leaks a descriptor ---------------------------------------


def test_interrupted_creates_leak_nothing() -> None:
    spec = MapSpec("storm", MapType.ARRAY, 4, 8, 4)
    _no_leak_under_storm(lambda: Map(spec).close())


@pytest.mark.parametrize("how", ["from_id", "load_pinned", "from_fd", "clone"])
def test_interrupted_opens_leak_nothing(hmap: Map, pinned: Path, how: str) -> None:
    map_id = hmap.info().id
    num = hmap.fd.number
    opens = {
        "from_id": lambda: Map.from_id(map_id),
        "load_pinned": lambda: Map.load_pinned(pinned),
        "from_fd": lambda: Map.from_fd(num),
        "clone": hmap.clone,
    }
    _no_leak_under_storm(lambda: opens[how]().close())
    hmap[1] = 1  # the map survived every interrupt
    assert hmap[1] == 1


def test_interrupted_batches_and_iterations_leave_the_map_usable(hmap: Map) -> None:
    keys = list(range(64))

    def batches() -> None:
        hmap.update_batch(keys, keys)
        hmap.to_dict()
        for _ in hmap.items():
            pass
        hmap.lookup_batch(BatchCursor(), 16)
        hmap.delete_batch(keys[:8])

    _no_leak_under_storm(batches)
    hmap.update_batch(keys, [k * 2 for k in keys])
    assert hmap.to_dict() == {k: k * 2 for k in keys}
    assert sorted(hmap) == keys


def test_interrupted_element_operations_leave_the_map_unlocked() -> None:
    # Bytes keys take the Python paths, which lock the map's buffers.
    with Map(MapSpec("locks", MapType.HASH, 4, 8, 8)) as m:
        key, value = b"\1\0\0\0", b"\2" * 8

        def elements() -> None:
            m[key] = value
            assert m[key] == value
            assert key in m
            m.next_key(key)
            list(m.keys())
            del m[key]

        _no_leak_under_storm(elements)
        assert m._elements.lock.acquire(timeout=2), "an interrupt left the map locked"
        m._elements.lock.release()
        m[key] = value
        assert m.to_dict() == {key: value}


# -- 2. close while other threads use the map ----------------------------------------


def test_a_number_in_use_outlives_close() -> None:
    # What every syscall helper does around its call: hold the number.
    m = Map(MapSpec("held", MapType.ARRAY, 4, 8, 1))
    cell, held = m.fd._cell, _sys.ffi.new("int32_t[1]")
    num = _sys.fd_calls.hold(cell, held)
    try:
        m.close()
        assert m.closed
        # Still ours: a map created now cannot get this number.
        with Map(MapSpec("other", MapType.ARRAY, 4, 8, 1)) as other:
            assert other.fd.number != num
        os.fstat(num)
    finally:
        _sys.fd_calls.unhold(cell, held)
    with pytest.raises(OSError):
        os.fstat(num)
    with pytest.raises(ClosedError):
        m[0] = b"\0" * 8


@pytest.mark.parametrize("codec", [int, bytes], ids=["compiled-path", "python-path"])
def test_lookups_never_reach_a_map_created_after_close(codec: type) -> None:
    # Each round: threads look up key 0 of a map holding MARK while the main
    # thread closes it and creates maps holding other values, which reuse its
    # number.
    mark = 0x1111
    if codec is bytes:
        key: object = b"\0" * 4
        mark_value: object = mark.to_bytes(8, sys.byteorder)
    else:
        key, mark_value = 0, mark
    spec = MapSpec("race", MapType.ARRAY, 4, 8, 1)
    seen: list[object] = []
    # The compiled path keeps the GIL across its syscall: switch often, so
    # that the closing thread gets to run while the others look up.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for _ in range(25):
            m = Map(spec, key_codec=codec, value_codec=codec)
            m[key] = mark_value
            _race_round(m, key, mark_value, seen, lambda: Map(spec, key_codec=codec))
            with pytest.raises(ClosedError):
                m.lookup(key)
            with pytest.raises(ClosedError):
                m.update(key, mark_value)
    finally:
        sys.setswitchinterval(interval)
    assert seen == []


def _race_round(
    m: Map, key: object, mark: object, seen: list[object], new_map: Callable[[], Map]
) -> None:
    """Three threads look ``key`` up in ``m`` while it is closed and new maps
    (holding other values) take its number; what they see goes to ``seen``."""
    stop = threading.Event()

    def look() -> None:
        closed = False
        while not stop.is_set():
            try:
                got = m.lookup(key)
            except ClosedError:
                closed = True
                continue
            if got != mark or closed:
                seen.append(got if got != mark else "a lookup worked after close")

    threads = [threading.Thread(target=look) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.002)
    m.close()
    for _ in range(20):
        with new_map() as n:
            n[key] = b"\x22" * 8
    stop.set()
    for t in threads:
        t.join()


# -- 6. many threads on one map ------------------------------------------------------


def test_threads_update_lookup_delete_and_iterate_one_map(hmap: Map) -> None:
    errors: list[BaseException] = []
    rounds = 300

    def writer(base: int) -> None:
        for i in range(rounds):
            k = base + i % 16
            hmap[k] = k * 3
            hmap.update(k, k * 3)
            try:
                assert hmap[k] in (k * 3,)
                del hmap[k]
            except KeyNotFoundError:
                pass

    def reader() -> None:
        for _ in range(rounds // 10):
            for k, v in hmap.items():
                assert v == k * 3
            assert all(v == k * 3 for k, v in hmap.to_dict().items())
            for k in hmap:
                assert 0 <= k < 64

    def guard(fn: Callable[..., None], *args: int) -> Callable[[], None]:
        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guard(writer, b)) for b in (0, 16, 32)]
    threads += [threading.Thread(target=guard(reader)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hmap[1] = 3
    assert hmap[1] == 3
