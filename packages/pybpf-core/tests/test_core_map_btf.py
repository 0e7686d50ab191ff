"""Maps with BTF: kernel-side BTF (a hand-made blob), and BTF-typed keys and values.

A spec's ``key_type``/``value_type`` give the map the BTF value codec: ints,
records, per-CPU lists of them; bytes stay accepted, and ``raw`` returns them.
"""

from __future__ import annotations

import errno
import gc
import struct
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.btf import Enum, EnumValue, Int, IntEncoding
from pybpf.core import (
    FD,
    BatchCursor,
    BPFError,
    ClosedError,
    Collection,
    KeyExistsError,
    KeyNotFoundError,
    Map,
    MapBTF,
    MapFlags,
    NotSupportedError,
    UpdateFlags,
    load_collection_spec,
    possible_cpus,
)
from pybpf.core._cmds import btf_load
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

pytestmark = pytest.mark.kernel

_KIND_INT, _KIND_STRUCT = 1, 4
_INT_SIGNED = 1


def _tiny_btf() -> bytes:
    """BTF with [1] ``int`` and [2] ``struct val { int x; }``, in host byte order."""
    strings = b"\0int\0val\0x\0"
    int_name, val_name, x_name = 1, 5, 9
    types = struct.pack("=III", int_name, _KIND_INT << 24, 4)
    types += struct.pack("=I", _INT_SIGNED << 24 | 32)
    types += struct.pack("=III", val_name, _KIND_STRUCT << 24 | 1, 4)
    types += struct.pack("=III", x_name, 1, 0)
    header = struct.pack("=HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


@pytest.fixture
def btf_fd() -> Iterator[FD]:
    with btf_load(_tiny_btf(), "load test BTF") as fd:
        yield fd


@pytest.mark.parametrize(
    "map_type",
    [MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE],
)
def test_storage_maps_with_btf(map_type: MapType, btf_fd: FD) -> None:
    spec = MapSpec("storage", map_type, 4, 4, 0, MapFlags.NO_PREALLOC)
    try:
        m = Map(spec, btf=MapBTF(btf_fd, key_type_id=1, value_type_id=2))
    except NotSupportedError as exc:  # cgroup storage needs 6.2, task storage 5.11
        pytest.skip(str(exc))
    with m:
        info = m.info()
        assert info.type == map_type
        assert info.btf_id > 0
        assert (info.btf_key_type_id, info.btf_value_type_id) == (1, 2)


def test_hash_with_btf_records_type_ids(btf_fd: FD) -> None:
    spec = MapSpec("typed", MapType.HASH, 4, 4, 4)
    with Map(spec, btf=MapBTF(btf_fd, key_type_id=1, value_type_id=2)) as m:
        assert m.info().btf_value_type_id == 2


def test_bad_btf_carries_the_kernel_log() -> None:
    blob = bytearray(_tiny_btf())
    blob[24 + 12 : 24 + 16] = struct.pack("=I", 64)  # an int of 64 bits in 4 bytes
    with pytest.raises(BPFError) as info:
        btf_load(bytes(blob), "load broken BTF")
    assert info.value.errno == errno.EINVAL
    assert any("kernel BTF log" in note for note in info.value.__notes__)


# -- BTF-typed keys and values -----------------------------------------------------

U32 = Int("unsigned int", 4)
U64 = Int("unsigned long long", 8)
S32 = Int("int", 4, IntEncoding.SIGNED)
S64 = Int("long long", 8, IntEncoding.SIGNED)


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, sys.byteorder)


@pytest.fixture
def maps_spec(testdata: Path) -> dict[str, MapSpec]:
    return load_collection_spec(testdata / "maps-el.o").maps


@pytest.mark.parametrize("map_type", [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY])
def test_u32_u64_map_takes_and_returns_ints(map_type: MapType) -> None:
    spec = MapSpec("typed", map_type, 4, 8, 8, key_type=U32, value_type=U64)
    with Map(spec) as m:
        m[1] = 2
        m.update(2, 1 << 63)
        assert m[1] == 2 and m.lookup(2) == 1 << 63
        assert type(m[1]) is int
        assert m.get(1) == 2
        assert 1 in m
        assert m.to_dict()[2] == 1 << 63
        assert all(type(k) is int and type(v) is int for k, v in m.items())
        assert all(type(k) is int for k in m)
        # Raw bytes are always taken; raw returns them.
        m[_le(3, 4)] = _le(30, 8)
        assert m[3] == 30 and m[_le(3, 4)] == 30
        assert m.raw[3] == _le(30, 8)
        assert m.raw.to_dict()[_le(3, 4)] == _le(30, 8)
        assert m.raw.raw is m.raw and m.raw.fd is m.fd


def test_typed_errors_come_before_the_syscall() -> None:
    spec = MapSpec("typed", MapType.HASH, 4, 8, 4, key_type=U32, value_type=U64)
    with Map(spec) as m:
        with pytest.raises(TypeError):
            m["one"] = 1
        with pytest.raises(TypeError):
            m[1] = 1.5
        with pytest.raises(TypeError):
            m[1.0]
        with pytest.raises(ValueError, match="does not fit"):
            m[1 << 32] = 1
        with pytest.raises(ValueError, match="does not fit"):
            m[1] = 1 << 64
        with pytest.raises(ValueError, match="does not fit"):
            m[-1]
        with pytest.raises(ValueError, match="8 bytes"):
            m[1] = b"\0" * 4
        with pytest.raises(ValueError, match="value 18446744073709551616 does not fit"):
            m[_le(1, 4)] = 1 << 64
        with pytest.raises(KeyNotFoundError, match="key 09000000 not found"):
            m[_le(9, 4)]
        with pytest.raises(ValueError):
            m.update_batch([1, 2], [1, -1])
        assert m.to_dict() == {}
        with pytest.raises(KeyNotFoundError) as exc:
            m[7]
        assert exc.value.errno == errno.ENOENT and "key 7" in str(exc.value)
        m[7] = 1
        with pytest.raises(BPFError) as exists:
            m.update(7, 2, UpdateFlags.NOEXIST)
        assert exists.value.errno == errno.EEXIST
    with pytest.raises(ClosedError):
        m[7]
    with pytest.raises(ClosedError):
        m[7] = 1
    with pytest.raises(ClosedError):
        m.raw[7]


def test_signed_ints_round_trip() -> None:
    spec = MapSpec("signed", MapType.HASH, 4, 8, 8, key_type=S32, value_type=S64)
    with Map(spec) as m:
        m[-5] = -(1 << 63)
        m.update_batch([-1, 2], [-2, 3])
        assert m[-5] == -(1 << 63) and m[-1] == -2
        assert m.to_dict() == {-5: -(1 << 63), -1: -2, 2: 3}
        assert m.raw[(-1).to_bytes(4, sys.byteorder, signed=True)] == _le((1 << 64) - 2, 8)
        with pytest.raises(ValueError, match="does not fit"):
            m[1 << 31] = 0
        with pytest.raises(ValueError, match="does not fit"):
            m[0] = 1 << 63


def test_small_and_enum_values_decode_through_the_codec() -> None:
    color = Enum("color", 4, [EnumValue("RED", 1), EnumValue("BLUE", 2)])
    spec = MapSpec("enum", MapType.ARRAY, 4, 4, 2, key_type=U32, value_type=color)
    with Map(spec) as m:
        m[0] = "BLUE"
        m[1] = 1
        assert m[0].name == "BLUE" and m[1] == 1
        assert [v.name for v in m.values()] == ["BLUE", "RED"]
    u16 = Int("unsigned short", 2)
    with Map(MapSpec("u16", MapType.HASH, 2, 2, 4, key_type=u16, value_type=u16)) as m:
        m[0xFFFF] = 7
        assert m[0xFFFF] == 7 and m.to_dict() == {0xFFFF: 7}


def test_struct_keys_and_values_are_records(maps_spec: dict[str, MapSpec]) -> None:
    with Map(maps_spec["flows"]) as flows:
        key = {"saddr": 1, "daddr": 2, "sport": 3, "dport": 4, "proto": 6}
        flows[key] = {"packets": 1, "bytes": 64}
        stats = flows[key]
        assert (stats.packets, stats.bytes) == (1, 64)
        stats.bytes += 10
        flows[key] = stats
        (only,) = list(flows.keys())
        assert (only.saddr, only.dport, only.proto) == (1, 4, 6)
        assert flows[only].bytes == 74
        assert [v.packets for v in flows.values()] == [1]
        with pytest.raises(TypeError):
            flows[key] = 5
        with pytest.raises(ValueError, match="nope"):
            flows[key] = {"nope": 1}
        with pytest.raises(TypeError, match="raw"):
            flows.to_dict()  # records are not hashable
        (raw_key,) = flows.raw.to_dict()
        assert flows[raw_key].packets == 1
        flows.update_batch([only], [{"packets": 9}])
        assert flows[only].packets == 9


def test_per_cpu_values_decode_per_cpu(maps_spec: dict[str, MapSpec]) -> None:
    n = possible_cpus()
    with Map(maps_spec["percpu_hash"]) as m:
        m[1] = [{"packets": cpu} for cpu in range(n)]
        assert [v.packets for v in m[1]] == list(range(n))
        keys, values = m.lookup_batch(BatchCursor(), 4)
        assert keys == [1] and [v.packets for v in values[0]] == list(range(n))
        with pytest.raises(TypeError, match="per-CPU"):
            m[2] = {"packets": 1}
    with Map(maps_spec["percpu_array"]) as m:
        m[0] = list(range(n))
        m.update_batch([1], [[7] * n])
        assert m[0] == list(range(n))
        assert m.to_dict()[1] == [7] * n
        assert m.raw[0] == [_le(cpu, 8) for cpu in range(n)]


def test_queues_stacks_and_blooms_use_the_value_type(
    maps_spec: dict[str, MapSpec], testdata: Path
) -> None:
    with Map(maps_spec["queue"]) as q:
        q.push(1)
        q.push(_le(2, 8))
        assert q.peek() == 1 and q.pop() == 1 and q.pop() == 2
        with pytest.raises(TypeError):
            q.push("x")
    with Map(maps_spec["stack"]) as st:  # value_size only: raw bytes, ints taken
        st.push(5)
        assert st.pop() == _le(5, 4)
    bloom_spec = load_collection_spec(testdata / "maps_new-el.o").maps["bloom"]
    try:
        bloom = Map(bloom_spec)
    except NotSupportedError as exc:
        pytest.skip(str(exc))
    with bloom:
        bloom.push(7)
        assert bloom.contains(7) and 7 in bloom and 8 not in bloom


def test_explicit_codecs_win_over_btf() -> None:
    spec = MapSpec("typed", MapType.HASH, 4, 8, 4, key_type=U32, value_type=U64)
    with Map(spec, value_codec=bytes) as m:
        m[1] = 5
        assert m[1] == _le(5, 8)
        with m.clone() as again:
            assert again[1] == _le(5, 8)


def test_collection_maps_are_typed(testdata: Path) -> None:
    with Collection(load_collection_spec(testdata / "demo-el.o")) as coll:
        limits, per_proto = coll.maps["limits"], coll.maps["per_proto"]
        limits[0] = 40
        assert limits[0] == 40
        per_proto[6] = {"packets": 2, "bytes": 120}
        assert per_proto[6].bytes == 120
        assert coll.maps[".bss"].value_codec == coll.maps[".bss"].raw.value_codec


def test_ints_do_not_fit_a_struct_key(maps_spec: dict[str, MapSpec]) -> None:
    with Map(maps_spec["flows"]) as flows, pytest.raises(TypeError):
        flows[1]


def test_mmapable_typed_array(maps_spec: dict[str, MapSpec]) -> None:
    with Map(maps_spec["counters"]) as m, m.mmap() as mem:
        view = memoryview(mem).cast("Q")
        view[3] = 33
        assert m[3] == 33 and m.flags & MapFlags.MMAPABLE
        view.release()


def test_int_paths_follow_the_fd_and_take_flags_by_name() -> None:
    spec = MapSpec("typed", MapType.HASH, 4, 8, 4, key_type=U32, value_type=U64)
    m = Map(spec)
    m.update(1, 2, flags=UpdateFlags.NOEXIST)
    with pytest.raises(BPFError) as exists:
        m.update(1, 3, flags=UpdateFlags.NOEXIST)
    assert exists.value.errno == errno.EEXIST
    with pytest.raises(TypeError):
        m.update(1, 3, flag=0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        m.update(1)  # type: ignore[call-arg]
    ref = weakref.ref(m)
    m.fd.close()  # behind the map's back: its number must not be reused
    with pytest.raises(ClosedError):
        m[1]
    with pytest.raises(ClosedError):
        m.lookup(1)
    with pytest.raises(ClosedError):
        m[1] = 2
    with pytest.raises(ClosedError):
        m.update(1, 2)
    del m, exists  # (the traceback holds the map)
    gc.collect()
    assert ref() is None


def test_opened_maps_are_typed_by_their_kernel_btf(testdata: Path, tmp_path: Path) -> None:
    # The kernel keeps the object's BTF for its maps: opened by id, pin or fd,
    # they decode as the collection's own maps do.
    with Collection(testdata / "demo-el.o") as coll:
        per_proto, limits = coll.maps["per_proto"], coll.maps["limits"]
        per_proto[17] = {"packets": 3, "bytes": 300}
        limits[0] = 1500
        with Map.from_id(per_proto.info().id) as again:
            stats = again[17]
            assert (stats.packets, stats.bytes) == (3, 300)
            assert again.raw[17] == per_proto.raw[17]
        with Map.from_fd(limits.fd.number) as again:
            assert again[0] == 1500 and again.to_dict() == limits.to_dict()
        pin = Path("/sys/fs/bpf") / f"pybpf_typed_{tmp_path.name}"
        limits.pin(pin)
        try:
            with Map.load_pinned(pin) as again:
                assert again.lookup(0) == 1500
        finally:
            limits.unpin()
        # A data section stays raw (its typed access is the Variables), and
        # codecs given by the caller win.
        with Map.from_id(coll.maps[".bss"].info().id) as bss:
            assert isinstance(bss[0], bytes)
        with Map.from_id(limits.info().id, value_codec=bytes) as raw_values:
            assert raw_values[0] == (1500).to_bytes(4, sys.byteorder)


def test_opened_map_without_btf_is_raw() -> None:
    with Map(MapSpec("nobtf", MapType.HASH, 4, 4, 4, key_type=Int("int", 4))) as m:
        m[1] = 2
        assert m.info().btf_id == 0
        with Map.from_id(m.info().id) as again:
            assert again[1] == (2).to_bytes(4, sys.byteorder)


@pytest.mark.parametrize("value_type", [U64, None], ids=["typed", "raw"])
def test_lookup_and_update_by_keyword(value_type: Int | None) -> None:
    # Every argument by name, on the C int paths and on the paths they hand
    # over to (bytes values, per-CPU maps).
    spec = MapSpec("kw", MapType.HASH, 4, 8, 4, key_type=U32, value_type=value_type)
    seven = (7).to_bytes(8, sys.byteorder)
    with Map(spec) as m:
        m.update(key=1, value=7)
        m.update(2, value=seven, flags=UpdateFlags.NOEXIST)
        m.update(3, 7, flags=UpdateFlags.ANY)
        m.update(value=7, key=4, flags=UpdateFlags.NOEXIST)
        want = 7 if value_type is not None else seven
        assert [m.lookup(key=k) for k in (1, 2, 3, 4)] == [want] * 4
        with pytest.raises(KeyExistsError):
            m.update(key=1, value=8, flags=UpdateFlags.NOEXIST)
        with pytest.raises(KeyNotFoundError):
            m.lookup(key=b"\x09\0\0\0")
        for bad in (
            lambda: m.update(1, 2, key=3),
            lambda: m.update(1, 2, 0, 4),  # type: ignore[call-arg]
            lambda: m.update(value=2),  # type: ignore[call-arg]
            m.lookup,
            lambda: m.lookup(1, key=1),
            lambda: m.lookup(kee=1),  # type: ignore[call-arg]
        ):
            with pytest.raises(TypeError):
                bad()
    n = possible_cpus()
    with Map(MapSpec("kwpc", MapType.PERCPU_ARRAY, 4, 8, 1, value_type=U64)) as pc:
        pc.update(key=0, value=list(range(n)), flags=UpdateFlags.EXIST)
        assert pc.lookup(key=0) == list(range(n))
