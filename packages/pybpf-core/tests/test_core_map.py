"""Map operations and their errors, on the running kernel."""

from __future__ import annotations

import errno
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.core import (
    BatchCursor,
    BPFError,
    ClosedError,
    IntCodec,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    Map,
    MapFlags,
    NotSupportedError,
    Program,
    UpdateFlags,
)
from pybpf.core._cpus import possible_cpus
from pybpf.elf import load_collection_spec
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

pytestmark = pytest.mark.kernel

NCPU = possible_cpus()


def u32(n: int) -> bytes:
    return n.to_bytes(4, sys.byteorder)


def u64(n: int) -> bytes:
    return n.to_bytes(8, sys.byteorder)


@pytest.fixture
def hmap() -> Iterator[Map]:
    with Map(MapSpec("h", MapType.HASH, 4, 8, 4), key_codec=int, value_codec=int) as m:
        yield m


@pytest.fixture
def raw() -> Iterator[Map]:
    with Map(MapSpec("raw", MapType.HASH, 4, 8, 8)) as m:
        yield m


@pytest.fixture
def pinpath() -> Iterator[Path]:
    path = Path("/sys/fs/bpf") / f"pybpf_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield path
    if path.exists():
        path.unlink()


def test_typed_roundtrip(hmap: Map) -> None:
    hmap.update(1, 10)
    hmap[2] = 20
    assert hmap.lookup(1) == 10
    assert hmap[2] == 20
    assert hmap.get(3) is None
    assert hmap.get(3, -1) == -1
    assert 1 in hmap
    assert 3 not in hmap
    assert sorted(hmap) == [1, 2]
    assert sorted(hmap.keys()) == [1, 2]
    assert sorted(hmap.values()) == [10, 20]
    assert dict(hmap.items()) == {1: 10, 2: 20}
    assert hmap.to_dict() == {1: 10, 2: 20}
    del hmap[1]
    assert 1 not in hmap
    assert hmap.lookup_and_delete(2) == 20
    assert hmap.to_dict() == {}
    assert bool(hmap)


def test_int_fast_path_edges(hmap: Map) -> None:
    hmap[7] = 0
    assert hmap[7] == 0  # 0 is also what a failed call returns: errno decides
    hmap[8] = (1 << 64) - 1
    assert hmap[8] == (1 << 64) - 1
    with pytest.raises(ValueError, match="key 4294967296 does not fit in 4 bytes"):
        hmap[1 << 32] = 1
    with pytest.raises(ValueError, match="key -1 does not fit"):
        hmap[-1] = 1
    with pytest.raises(ValueError, match=r"value .* does not fit in 8 bytes"):
        hmap[1] = 1 << 64
    with pytest.raises(ValueError, match="does not fit"):
        hmap.lookup(1 << 32)
    with pytest.raises(ValueError, match="does not fit"):
        hmap.lookup(-1)
    with Map(MapSpec("w", MapType.HASH, 8, 4, 2), key_codec=int, value_codec=int) as wide:
        wide[1 << 40] = 5
        assert wide[1 << 40] == 5
        with pytest.raises(ValueError, match="value 4294967296 does not fit in 4 bytes"):
            wide[1] = 1 << 32


def test_signed_codecs() -> None:
    codec = IntCodec(8, signed=True)
    with Map(MapSpec("s", MapType.HASH, 8, 8, 2), key_codec=codec, value_codec=codec) as m:
        m[-1] = -5
        assert m[-1] == -5
        assert list(m.items()) == [(-1, -5)]


def test_bytes_roundtrip(raw: Map) -> None:
    raw[u32(1)] = u64(7)
    raw[bytearray(u32(2))] = memoryview(u64(8))
    raw[3] = 9  # ints are accepted for integer-sized keys and values
    assert raw[u32(1)] == u64(7)
    assert raw[2] == u64(8)
    assert raw.lookup(u32(3)) == u64(9)
    assert set(raw.keys()) == {u32(1), u32(2), u32(3)}
    assert raw.next_key() in {u32(1), u32(2), u32(3)}


def test_next_key_walks_to_the_end(hmap: Map) -> None:
    hmap[5] = 1
    hmap[6] = 2
    first = hmap.next_key()
    second = hmap.next_key(first)
    assert {first, second} == {5, 6}
    assert hmap.next_key(second) is None


def test_wrong_key_size(raw: Map) -> None:
    with pytest.raises(ValueError, match="key must be 4 bytes, got 3"):
        raw.lookup(b"abc")
    with pytest.raises(ValueError, match="value must be 8 bytes, got 4"):
        raw.update(u32(1), b"abcd")
    with pytest.raises(ValueError, match="does not fit"):
        raw.lookup(1 << 32)
    with pytest.raises(ValueError, match="does not fit"):
        raw.update(1, -1)
    with pytest.raises(TypeError):
        raw.lookup("key")


def test_int_keys_need_integer_size() -> None:
    with (
        Map(MapSpec("odd", MapType.HASH, 3, 8, 1)) as m,
        pytest.raises(TypeError, match="pass bytes"),
    ):
        m.lookup(1)


def test_missing_key(hmap: Map) -> None:
    with pytest.raises(KeyNotFoundError) as info:
        hmap.lookup(42)
    assert info.value.errno == errno.ENOENT
    assert "key 42 not found" in str(info.value)
    with pytest.raises(KeyError):
        _ = hmap[42]
    with pytest.raises(KeyNotFoundError):
        del hmap[42]
    with pytest.raises(KeyNotFoundError):
        hmap.lookup_and_delete(42)


def test_update_flags(hmap: Map) -> None:
    hmap.update(1, 1, UpdateFlags.NOEXIST)
    with pytest.raises(KeyExistsError) as info:
        hmap.update(1, 2, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST
    hmap.update(1, 3, UpdateFlags.EXIST)
    assert hmap[1] == 3
    with pytest.raises(KeyNotFoundError):
        hmap.update(2, 3, UpdateFlags.EXIST)
    with pytest.raises(BPFError) as bad:
        hmap.update(1, 1, UpdateFlags.LOCK)  # no bpf_spin_lock in the value
    assert bad.value.errno == errno.EINVAL


def test_full_hash_is_e2big(hmap: Map) -> None:
    for i in range(4):
        hmap[i] = i
    with pytest.raises(LimitError) as info:
        hmap[100] = 1
    assert info.value.errno == errno.E2BIG
    assert info.value.limit == "max_entries=4"
    assert "map is full" in str(info.value)


def test_array() -> None:
    with Map(MapSpec("arr", MapType.ARRAY, 4, 4, 3), value_codec=int) as m:
        assert len(m) == 3
        assert list(m.items()) == [(u32(0), 0), (u32(1), 0), (u32(2), 0)]
        m[1] = 5
        assert m[1] == 5
        with pytest.raises(LimitError, match="key out of range"):
            m[3] = 1
        with pytest.raises(KeyNotFoundError):
            m.lookup(3)
        with pytest.raises(BPFError, match="cannot be deleted"):
            del m[0]


def test_len_only_for_arrays(hmap: Map) -> None:
    with pytest.raises(TypeError, match="len"):
        len(hmap)


def test_percpu_hash() -> None:
    with Map(MapSpec("pc", MapType.PERCPU_HASH, 4, 4, 4), value_codec=int) as m:
        assert m.per_cpu
        m[1] = list(range(NCPU))
        assert m[1] == list(range(NCPU))
        with pytest.raises(TypeError, match="one value per possible CPU"):
            m[1] = 5
        with pytest.raises(ValueError, match=f"{NCPU} values needed"):
            m[1] = [1] * (NCPU + 1)
        # One blob with every CPU's slot, each rounded up to 8 bytes.
        m[2] = b"".join(u32(c) + bytes(4) for c in range(NCPU))
        assert m[2] == list(range(NCPU))
        assert m.to_dict() == {u32(1): list(range(NCPU)), u32(2): list(range(NCPU))}


def test_percpu_array_contents_start_on_every_cpu() -> None:
    spec = MapSpec("pca", MapType.PERCPU_ARRAY, 4, 8, 2, contents=[(u32(1), u64(9))])
    with Map(spec, value_codec=int) as m:
        assert m[0] == [0] * NCPU
        assert m[1] == [9] * NCPU


def test_initial_contents_and_readonly() -> None:
    spec = MapSpec(
        ".rodata", MapType.ARRAY, 4, 8, 1, MapFlags.MMAPABLE, contents=[(u32(0), u64(77))]
    )
    spec.readonly = True
    with Map(spec, value_codec=int) as m:
        assert m[0] == 77
        with pytest.raises(BPFError) as info:
            m[0] = 1
        assert info.value.errno == errno.EPERM
        with m.mmap() as mem:
            assert bytes(mem[:8]) == u64(77)
            with pytest.raises(TypeError):
                mem[0] = 1


def test_contents_naming_objects_are_refused() -> None:
    spec = MapSpec("progs", MapType.PROG_ARRAY, 4, 4, 1, contents=[(u32(0), "prog")])
    with pytest.raises(ValueError, match="Collection"):
        Map(spec)


def test_a_program_is_a_prog_array_value(testdata: Path) -> None:
    # Like a Map or an FD, a Program stands for its fd as a value.
    demo = load_collection_spec(testdata / "demo-el.o")
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, types=demo.types) as prog,
        Map(MapSpec("progs", MapType.PROG_ARRAY, 4, 4, 1), key_codec=int) as progs,
    ):
        progs[0] = prog
        assert progs[0] == prog.info().id


def test_mmap() -> None:
    with Map(MapSpec("mm", MapType.ARRAY, 4, 8, 4, MapFlags.MMAPABLE), value_codec=int) as m:
        with m.mmap() as mem:
            view = memoryview(mem).cast("Q")
            view[2] = 1234
            assert m[2] == 1234
            m[3] = 99
            assert view[3] == 99
            view.release()
        with (
            Map(MapSpec("plain", MapType.ARRAY, 4, 8, 4)) as plain,
            pytest.raises(ValueError, match="MMAPABLE"),
        ):
            plain.mmap()


def test_queue_and_stack() -> None:
    with Map(MapSpec("q", MapType.QUEUE, 0, 8, 2), value_codec=int) as q:
        q.push(1)
        q.push(2)
        with pytest.raises(LimitError):
            q.push(3)
        assert q.peek() == 1
        assert q.pop() == 1
        assert q.pop() == 2
        with pytest.raises(KeyNotFoundError, match="empty"):
            q.pop()
        with pytest.raises(TypeError, match="no keys"):
            q.lookup(1)
    with Map(MapSpec("s", MapType.STACK, 0, 8, 4), value_codec=int) as s:
        s.push(1)
        s.push(2)
        assert s.pop() == 2
        assert s.peek() == 1


def test_bloom_filter() -> None:
    with Map(MapSpec("bloom", MapType.BLOOM_FILTER, 0, 8, 100, map_extra=3)) as b:
        b.push(u64(5))
        assert b.contains(u64(5))
        assert 5 in b
        assert not b.contains(u64(6))


def test_push_exist_replaces_the_oldest_value_of_a_full_queue() -> None:
    with Map(MapSpec("q", MapType.QUEUE, 0, 8, 2), value_codec=int) as q:
        q.push(1)
        q.push(2)
        q.push(3, UpdateFlags.EXIST)
        assert (q.pop(), q.pop()) == (2, 3)


def test_bloom_filter_contains_and_in_test_a_value() -> None:
    spec = MapSpec("bloom", MapType.BLOOM_FILTER, 0, 4, 64, map_extra=3)
    with Map(spec, value_codec=int) as b:
        assert not b.contains(7)
        assert 7 not in b
        b.push(7)
        assert b.contains(7)
        assert 7 in b
        # No false negatives; 1000 absent values are not all false positives.
        assert not all(b.contains(v) for v in range(1000, 2000))


#: Every operation of a dict-like map, none of which a queue, stack or bloom filter has.
_KEYED_OPERATIONS = {
    "m[k]": lambda m: m[1],
    "m[k] = v": lambda m: m.__setitem__(1, 1),
    "del m[k]": lambda m: m.__delitem__(1),
    "lookup": lambda m: m.lookup(1),
    "update": lambda m: m.update(1, 1),
    "delete": lambda m: m.delete(1),
    "get": lambda m: m.get(1),
    "lookup_and_delete": lambda m: m.lookup_and_delete(1),
    "next_key": lambda m: m.next_key(),
    "keys": lambda m: m.keys(),
    "iter": iter,
    "items": lambda m: m.items(),
    "values": lambda m: m.values(),
    "to_dict": lambda m: m.to_dict(),
    "lookup_batch": lambda m: m.lookup_batch(BatchCursor(), 4),
    "lookup_and_delete_batch": lambda m: m.lookup_and_delete_batch(BatchCursor(), 4),
    "update_batch": lambda m: m.update_batch([1], [1]),
    "delete_batch": lambda m: m.delete_batch([1]),
}


@pytest.mark.parametrize(
    ("map_type", "extra", "instead"),
    [
        (MapType.QUEUE, 0, "push(), pop() and peek()"),
        (MapType.STACK, 0, "push(), pop() and peek()"),
        (MapType.BLOOM_FILTER, 3, "push() and contains()"),
    ],
)
@pytest.mark.parametrize("operation", sorted(_KEYED_OPERATIONS))
def test_dict_operations_on_a_keyless_map_name_its_methods(
    map_type: MapType, extra: int, instead: str, operation: str
) -> None:
    spec = MapSpec("keyless", map_type, 0, 8, 4, map_extra=extra)
    with Map(spec, value_codec=int) as m:
        m.push(5)
        with pytest.raises(TypeError) as info:
            _KEYED_OPERATIONS[operation](m)
        assert f"a {map_type.name} map has no keys" in str(info.value)
        assert instead in str(info.value)
        # Nothing reached the kernel: the value pushed is still there.
        assert m.contains(5) if map_type == MapType.BLOOM_FILTER else m.peek() == 5


def test_a_queue_has_no_contains_and_a_bloom_filter_no_pop() -> None:
    with Map(MapSpec("q", MapType.QUEUE, 0, 8, 4), value_codec=int) as q:
        q.push(5)
        # contains() once peeked at the queue and answered True for any value.
        with pytest.raises(TypeError, match=r"QUEUE map has no contains\(\); use push\(\)"):
            q.contains(6)
        assert q.pop() == 5
    spec = MapSpec("bloom", MapType.BLOOM_FILTER, 0, 8, 4, map_extra=3)
    with Map(spec, value_codec=int) as b:
        b.push(5)
        for method in (b.pop, b.peek):
            with pytest.raises(TypeError, match=r"BLOOM_FILTER map has no p..k?\(\); use push"):
                method()


@pytest.mark.parametrize(
    ("method", "instead"),
    [
        ("push", "m[k] = v"),
        ("pop", "lookup_and_delete(k)"),
        ("peek", "m[k]"),
        ("contains", "k in m"),
    ],
)
def test_queue_methods_on_a_hash_map_name_the_dict_operation(
    hmap: Map, method: str, instead: str
) -> None:
    args = (1,) if method in ("push", "contains") else ()
    with pytest.raises(TypeError, match=f"HASH map has no {method}") as info:
        getattr(hmap, method)(*args)
    assert instead in str(info.value)


def test_lpm_trie() -> None:
    spec = MapSpec("lpm", MapType.LPM_TRIE, 8, 4, 16, MapFlags.NO_PREALLOC)
    with Map(spec, value_codec=int) as m:
        m[u32(24) + bytes([10, 0, 0, 0])] = 1
        assert m[u32(32) + bytes([10, 0, 0, 7])] == 1
        with pytest.raises(KeyNotFoundError):
            m.lookup(u32(32) + bytes([11, 0, 0, 0]))


def test_map_of_maps_takes_maps_and_returns_ids() -> None:
    inner_spec = MapSpec("inner", MapType.HASH, 4, 8, 4)
    with (
        Map(MapSpec("outer", MapType.HASH_OF_MAPS, 4, 4, 2, inner_map=inner_spec)) as outer,
        Map(inner_spec) as inner,
    ):
        outer[1] = inner
        assert outer[1] == inner.info().id
        outer[2] = inner.fd
        with Map.from_id(outer[2]) as again:
            assert again.info().id == inner.info().id


def test_batch_cursor_continues() -> None:
    with Map(MapSpec("a", MapType.ARRAY, 4, 8, 5), key_codec=int, value_codec=int) as m:
        assert m.update_batch([0, 1, 2, 3, 4], [0, 10, 20, 30, 40]) == 5
        cursor = BatchCursor()
        chunks = []
        while not cursor.done:
            chunks.append(m.lookup_batch(cursor, 2))
        assert [keys for keys, _ in chunks][:3] == [[0, 1], [2, 3], [4]]
        assert m.lookup_batch(cursor, 2) == ([], [])


def test_hash_batch_too_small_for_a_bucket_grows(hmap: Map) -> None:
    hmap.update_batch([1, 2, 3, 4], [1, 2, 3, 4])
    assert hmap.to_dict(chunk=1) == {1: 1, 2: 2, 3: 3, 4: 4}
    assert dict(hmap.items()) == {1: 1, 2: 2, 3: 3, 4: 4}


def test_batches(hmap: Map) -> None:
    assert hmap.update_batch([1, 2, 3], [10, 20, 30]) == 3
    cursor = BatchCursor()
    keys, values = hmap.lookup_batch(cursor, 4)
    assert dict(zip(keys, values, strict=True)) == {1: 10, 2: 20, 3: 30}
    assert hmap.delete_batch([1]) == 1
    with pytest.raises(KeyNotFoundError) as info:
        hmap.delete_batch([1])
    assert "0 of 1 elements" in str(info.value.__notes__)
    cursor = BatchCursor()
    keys, values = hmap.lookup_and_delete_batch(cursor, 10)
    assert dict(zip(keys, values, strict=True)) == {2: 20, 3: 30}
    assert hmap.to_dict() == {}
    with pytest.raises(ValueError):
        hmap.lookup_batch(BatchCursor(), 0)
    with pytest.raises(ValueError, match="2 keys but 1 values"):
        hmap.update_batch([1, 2], [1])


def test_batch_bytes_and_percpu() -> None:
    with Map(MapSpec("pb", MapType.PERCPU_HASH, 4, 4, 8)) as m:
        m.update_batch([u32(1)], [[u32(c) for c in range(NCPU)]])
        cursor = BatchCursor()
        keys, values = m.lookup_batch(cursor, 8)
        assert keys == [u32(1)]
        assert values == [[u32(c) for c in range(NCPU)]]


def test_batch_falls_back_where_unsupported() -> None:
    spec = MapSpec("lpm", MapType.LPM_TRIE, 8, 4, 16, MapFlags.NO_PREALLOC)
    with Map(spec, value_codec=int) as m:
        m[u32(8) + bytes(4)] = 3
        assert m.to_dict() == {u32(8) + bytes(4): 3}
    with Map(MapSpec("progs", MapType.PROG_ARRAY, 4, 4, 2)) as progs:
        assert progs.to_dict() == {}
        with pytest.raises(NotSupportedError, match="lookup_batch on PROG_ARRAY maps"):
            progs.lookup_batch(BatchCursor(), 4)


def test_closed_map_refuses_everything(hmap: Map) -> None:
    hmap[1] = 1
    hmap.close()
    assert hmap.closed
    for op in (
        lambda: hmap.lookup(1),
        lambda: hmap.update(1, 1),
        lambda: hmap.delete(1),
        hmap.next_key,
        lambda: list(hmap.keys()),
        hmap.to_dict,
        hmap.info,
        lambda: hmap.fd,
        lambda: hmap.pin("/sys/fs/bpf/nothing"),
        hmap.clone,
        lambda: 1 in hmap,
        lambda: hmap.update_batch([1], [1]),
    ):
        with pytest.raises(ClosedError, match="'h' is closed"):
            op()
    hmap.close()


def test_pin_load_pinned_unpin(hmap: Map, pinpath: Path) -> None:
    hmap[1] = 11
    hmap.pin(pinpath)
    assert hmap.pinned == str(pinpath)
    with Map.load_pinned(pinpath, key_codec=int, value_codec=int) as again:
        assert again[1] == 11
        assert again.info().id == hmap.info().id
        assert again.pinned == str(pinpath)
    with pytest.raises(BPFError) as info:
        hmap.pin(pinpath)
    assert info.value.errno == errno.EEXIST
    hmap.unpin()
    assert not pinpath.exists()
    assert hmap.pinned is None
    with pytest.raises(BPFError) as missing:
        Map.load_pinned(pinpath)
    assert missing.value.errno == errno.ENOENT


def test_from_id_and_from_fd(hmap: Map) -> None:
    hmap[3] = 33
    info = hmap.info()
    with Map.from_id(info.id, value_codec=int) as byid:
        assert byid[3] == 33
        assert byid.type == MapType.HASH
        assert (byid.key_size, byid.value_size, byid.max_entries) == (4, 8, 4)
        assert byid.name == "h"
    with Map.from_fd(hmap.fd.number, value_codec=IntCodec(8)) as byfd:
        assert byfd[3] == 33
    assert not hmap.closed  # from_fd(int) duplicated the fd
    with pytest.raises(BPFError) as gone:
        Map.from_id(0xFFFFFFF0)
    assert gone.value.errno == errno.ENOENT


def test_clone(hmap: Map) -> None:
    with hmap.clone() as copy:
        assert copy.fd.number != hmap.fd.number
        copy[1] = 5
        hmap.close()
        assert copy[1] == 5


def test_info(hmap: Map) -> None:
    info = hmap.info()
    assert info.type == MapType.HASH
    assert (info.key_size, info.value_size, info.max_entries) == (4, 8, 4)
    assert info.flags == MapFlags.NONE
    assert info.id > 0
    assert info.btf_id == 0
    assert repr(hmap) == "<Map 'h' HASH>"


def test_threads_share_a_map(hmap: Map) -> None:
    hmap.update_batch([0, 1, 2, 3], [0, 10, 20, 30])
    errors: list[BaseException] = []

    def worker(key: int) -> None:
        try:
            for _ in range(2000):
                assert hmap[key] == key * 10
                hmap[key] = key * 10
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_readonly_pin_refuses_writes(hmap: Map, pinpath: Path) -> None:
    from pybpf.core import FileFlags

    hmap.pin(pinpath)
    with Map.load_pinned(pinpath, flags=FileFlags.RDONLY, key_codec=int) as ro:
        with pytest.raises(BPFError) as info:
            ro[1] = 1
        assert info.value.errno == errno.EPERM
    hmap.unpin()


def test_memlock_not_charged_on_this_kernel() -> None:
    import resource

    from pybpf.core import _cmds, _rlimit

    before = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if before[0] == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_MEMLOCK is already unlimited")
    # Ask the kernel directly: a map of a few pages under a zero soft limit
    # is refused with EPERM only where BPF memory is charged to the rlimit.
    attr = _cmds.new_attr("map_create")
    attr.map_type = MapType.ARRAY
    attr.key_size, attr.value_size, attr.max_entries = 4, 4096, 4
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, before[1]))
    try:
        rc = _cmds.map_create_raw(attr)
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, before)
    if rc >= 0:
        os.close(rc)
    assert rc >= 0 or rc == -errno.EPERM, os.strerror(-rc)
    assert _rlimit._detect() is (rc < 0)
    if rc < 0:
        pytest.skip("this kernel charges BPF memory to RLIMIT_MEMLOCK: it refused a map under 0")
    _rlimit.ensure_memlock()
    assert resource.getrlimit(resource.RLIMIT_MEMLOCK) == before
    assert _rlimit.memlock_hint() == ""


def test_memlock_answer_is_kept_for_the_boot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resource

    from pybpf.btf.kernel import load_boot_note
    from pybpf.core import _boot_facts, _rlimit

    if resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_MEMLOCK is unlimited: nothing is probed")
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path))
    _boot_facts._saved.cache_clear()
    try:
        charged = _rlimit._charged()
        assert charged is not None
        assert load_boot_note("core-probes") == f"memlock_charged={int(charged)}\n".encode()
        _boot_facts._saved.cache_clear()

        def no_probe() -> int:
            raise AssertionError("probed again")

        monkeypatch.setattr(_rlimit, "_try_create", no_probe)
        assert _rlimit._charged() is charged
    finally:
        _boot_facts._saved.cache_clear()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() warns on 3.12+
def test_eperm_without_privileges_has_a_hint() -> None:
    from pybpf.core import BPFPermissionError

    if Path("/proc/sys/kernel/unprivileged_bpf_disabled").read_text().strip() == "0":
        pytest.skip("unprivileged bpf(2) is allowed here")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                Map(MapSpec("denied", MapType.ARRAY, 4, 4, 1)).close()
                msg = "created"
            except BPFPermissionError as exc:
                msg = f"{exc.errno}|{isinstance(exc, PermissionError)}|{exc}"
            except BaseException as exc:
                msg = f"other|{exc!r}"
            os.write(write, msg.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        msg = f.read().decode()
    os.waitpid(pid, 0)
    code, is_perm, text = msg.split("|", 2)
    assert code == str(errno.EPERM), msg
    assert is_perm == "True"
    assert "CAP_BPF" in text


def test_threads_share_a_bytes_map(raw: Map) -> None:
    # Bytes keys go through the map's buffers: the lock (and the slow path for
    # a thread that finds the map busy) must keep each thread's key its own.
    for k in range(4):
        raw[u32(k)] = u64(k * 10)
    errors: list[BaseException] = []

    def worker(key: int) -> None:
        try:
            for _ in range(2000):
                assert raw[u32(key)] == u64(key * 10)
                raw[u32(key)] = u64(key * 10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_map_fd_is_cloexec(hmap: Map) -> None:
    import fcntl

    assert fcntl.fcntl(hmap.fd.number, fcntl.F_GETFD) & fcntl.FD_CLOEXEC


def test_numa_node_and_map_extra() -> None:
    spec = MapSpec("numa", MapType.HASH, 4, 4, 4, numa_node=0, flags=MapFlags.NUMA_NODE)
    with Map(spec) as m:
        assert m.flags & MapFlags.NUMA_NODE
    spec = MapSpec("bloom", MapType.BLOOM_FILTER, 0, 4, 16, map_extra=7)
    with Map(spec) as b:
        assert b.info().map_extra == 7


def test_bad_initial_contents_close_the_new_map() -> None:
    spec = MapSpec("bad", MapType.HASH, 4, 8, 4, contents=[(u32(1), b"short")])
    with pytest.raises(ValueError, match="value must be 8 bytes, got 5"):
        Map(spec)


def test_from_fd_rejects_other_files() -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(BPFError) as info:
            Map.from_fd(r)
        assert info.value.errno == errno.EINVAL
    finally:
        os.close(r)
        os.close(w)


def test_map_ids_walk(hmap: Map) -> None:
    from pybpf.core import _cmds
    from pybpf.core._uapi import Command

    ids = []
    current: int | None = 0
    while current is not None:
        current = _cmds.get_next_id(Command.MAP_GET_NEXT_ID, current)
        if current is not None:
            ids.append(current)
    assert hmap.info().id in ids
    assert ids == sorted(ids)


def test_from_fd_takes_over_an_fd_object(hmap: Map) -> None:
    hmap[1] = 2
    owned = hmap.fd.dup()
    with Map.from_fd(owned, value_codec=int) as again:
        assert again.fd is owned
        assert again[1] == 2
    assert owned.closed
    assert not hmap.closed


def test_big_endian_codec_is_honoured() -> None:
    other = "big" if sys.byteorder == "little" else "little"
    codec = IntCodec(4, byteorder=other)
    with Map(MapSpec("be", MapType.HASH, 4, 4, 2), key_codec=codec, value_codec=codec) as m:
        m[1] = 2
        assert m[1] == 2
        assert m.next_key() == 1
        raw = Map.from_fd(m.fd.number)
        with raw:
            assert raw[(1).to_bytes(4, other)] == (2).to_bytes(4, other)
        assert m.to_dict() == {1: 2}


def test_batch_update_honours_codecs() -> None:
    other = "big" if sys.byteorder == "little" else "little"
    be = IntCodec(4, byteorder=other)
    with Map(MapSpec("be", MapType.HASH, 4, 4, 4), key_codec=be, value_codec=be) as m:
        m.update_batch([1, 2], [10, 20])
        assert m[1] == 10
        assert m.to_dict() == {1: 10, 2: 20}
    signed = IntCodec(8, signed=True)
    with Map(MapSpec("s", MapType.HASH, 8, 8, 4), key_codec=signed, value_codec=signed) as m:
        m.update_batch([-1, -2], [-10, -20])
        assert m.to_dict() == {-1: -10, -2: -20}
