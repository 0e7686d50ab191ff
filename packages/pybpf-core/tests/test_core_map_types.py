"""Every map type this kernel offers can be created, and unknown ones fail clearly."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any, cast

import pytest

from pybpf.core import BPFError, Map, MapFlags, NotSupportedError, _cmds, _probes, features
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

if TYPE_CHECKING:
    from conftest import KernelAnswers

pytestmark = pytest.mark.kernel

PAGE = os.sysconf("SC_PAGE_SIZE")

# (type, key_size, value_size, max_entries, flags, extra spec fields)
CREATABLE: list[tuple[MapType, int, int, int, int, dict[str, Any]]] = [
    (MapType.HASH, 4, 8, 16, 0, {}),
    (MapType.ARRAY, 4, 8, 16, 0, {}),
    (MapType.PROG_ARRAY, 4, 4, 4, 0, {}),
    (MapType.PERF_EVENT_ARRAY, 4, 4, 0, 0, {}),
    (MapType.PERCPU_HASH, 4, 8, 16, 0, {}),
    (MapType.PERCPU_ARRAY, 4, 8, 16, 0, {}),
    (MapType.STACK_TRACE, 4, 8 * 127, 16, 0, {}),
    (MapType.CGROUP_ARRAY, 4, 4, 4, 0, {}),
    (MapType.LRU_HASH, 4, 8, 16, 0, {}),
    (MapType.LRU_PERCPU_HASH, 4, 8, 16, 0, {}),
    (MapType.LPM_TRIE, 8, 8, 16, MapFlags.NO_PREALLOC, {}),
    (MapType.ARRAY_OF_MAPS, 4, 4, 4, 0, {"inner_map": MapSpec("inner", MapType.ARRAY, 4, 4, 1)}),
    (MapType.HASH_OF_MAPS, 4, 4, 4, 0, {"inner_map": MapSpec("inner", MapType.HASH, 4, 4, 1)}),
    (MapType.DEVMAP, 4, 4, 4, 0, {}),
    (MapType.SOCKMAP, 4, 4, 4, 0, {}),
    (MapType.CPUMAP, 4, 4, 4, 0, {}),
    (MapType.XSKMAP, 4, 4, 4, 0, {}),
    (MapType.SOCKHASH, 4, 4, 4, 0, {}),
    (MapType.CGROUP_STORAGE, 8, 8, 0, 0, {}),
    (MapType.REUSEPORT_SOCKARRAY, 4, 4, 4, 0, {}),
    (MapType.PERCPU_CGROUP_STORAGE, 8, 8, 0, 0, {}),
    (MapType.QUEUE, 0, 8, 16, 0, {}),
    (MapType.STACK, 0, 8, 16, 0, {}),
    (MapType.DEVMAP_HASH, 4, 4, 4, 0, {}),
    (MapType.RINGBUF, 0, 0, PAGE, 0, {}),
    (MapType.BLOOM_FILTER, 0, 8, 16, 0, {"map_extra": 3}),
    (MapType.USER_RINGBUF, 0, 0, PAGE, 0, {}),
    (MapType.ARENA, 0, 0, 4, MapFlags.MMAPABLE, {}),
]


@pytest.mark.parametrize(
    ("map_type", "key", "value", "entries", "flags", "extra"),
    CREATABLE,
    ids=[row[0].name for row in CREATABLE],
)
def test_create(  # noqa: PLR0917
    map_type: MapType, key: int, value: int, entries: int, flags: int, extra: dict[str, Any]
) -> None:
    features.have_map_type(map_type)  # the kernel's answer, as a skip, where it has none
    spec = MapSpec(f"t_{map_type.name.lower()}", map_type, key, value, entries, flags, **extra)
    with Map(spec) as m:
        info = m.info()
        assert info.type == map_type
        assert info.key_size == key
        assert info.name == spec.name[:15]
        assert m.type == map_type
        if map_type == MapType.PERF_EVENT_ARRAY:
            assert m.max_entries > 0
        if map_type == MapType.BLOOM_FILTER:
            assert info.map_extra == 3


def test_map_extra_before_516_is_none(
    monkeypatch: pytest.MonkeyPatch, this_kernel: KernelAnswers
) -> None:
    # Kernels before 5.16 fill 80 bytes of struct bpf_map_info: no map_extra.
    real = _cmds.obj_info
    with Map(MapSpec("plain", MapType.HASH, 4, 4, 1)) as m:
        size = this_kernel.info_size(m.fd)
        reported = size >= _cmds.field_ends("struct pybpf_map_info")["map_extra"]
        assert m.info().map_extra == (0 if reported else None)
        monkeypatch.setattr(_cmds, "obj_info", lambda fd, raw, what: min(real(fd, raw, what), 80))
        info = m.info()
    assert info.map_extra is None
    assert info.key_size == 4 and info.btf_vmlinux_id == 0


@pytest.mark.parametrize("bogus", [0, 9999])
def test_unknown_type_is_not_supported(bogus: int) -> None:
    spec = MapSpec("bogus", cast(MapType, bogus), 4, 4, 1)
    with pytest.raises(NotSupportedError) as info:
        Map(spec)
    assert info.value.feature == f"map type {MapType(bogus).name if bogus == 0 else bogus}"
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize(
    "map_type",
    [MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE],
)
def test_storage_without_btf_says_so(map_type: MapType) -> None:
    # Creating these for real waits for the btf layer (MapBTF carries its ids).
    spec = MapSpec("storage", map_type, 4, 8, 0, MapFlags.NO_PREALLOC)
    if _probes.have_map_type(map_type) is False:
        with pytest.raises(NotSupportedError, match=map_type.name):
            Map(spec)
        pytest.skip(f"{map_type.name} is not in this kernel: only its absence is checked")
    with pytest.raises(BPFError, match="needs BTF"):
        Map(spec)


def test_bad_attributes_explained() -> None:
    with pytest.raises(BPFError, match="rejected these attributes") as info:
        Map(MapSpec("bad", MapType.HASH, 0, 8, 16))
    assert not isinstance(info.value, NotSupportedError)
    assert info.value.errno == errno.EINVAL


def test_map_of_maps_needs_inner() -> None:
    with pytest.raises(ValueError, match="inner_map"):
        Map(MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 1))


def test_name_sanitised_and_truncated() -> None:
    with Map(MapSpec("my-very-long-map-name", MapType.ARRAY, 4, 4, 1)) as m:
        assert m.name == "my_very_long_ma"
        assert m.info().name == "my_very_long_ma"
