"""Feature probes: what this kernel can do, asked once and cached.

Each probe creates the smallest object that shows the feature and closes it.
The version tables say which kernel release introduced what, for the messages
of :class:`~pybpf.core.errors.NotSupportedError`.
"""

from __future__ import annotations

import errno
import functools
import os

from pybpf.btf import Enum, load_kernel_spec
from pybpf.core import _boot_facts, _cmds, _sys
from pybpf.core._uapi import Command, MapFlags
from pybpf.elf import MapType

#: The first Linux release with each map type.
MAP_TYPE_SINCE: dict[int, str] = {
    MapType.HASH: "3.19",
    MapType.ARRAY: "3.19",
    MapType.PROG_ARRAY: "4.2",
    MapType.PERF_EVENT_ARRAY: "4.3",
    MapType.PERCPU_HASH: "4.6",
    MapType.PERCPU_ARRAY: "4.6",
    MapType.STACK_TRACE: "4.6",
    MapType.CGROUP_ARRAY: "4.8",
    MapType.LRU_HASH: "4.10",
    MapType.LRU_PERCPU_HASH: "4.10",
    MapType.LPM_TRIE: "4.11",
    MapType.ARRAY_OF_MAPS: "4.12",
    MapType.HASH_OF_MAPS: "4.12",
    MapType.DEVMAP: "4.14",
    MapType.SOCKMAP: "4.14",
    MapType.CPUMAP: "4.15",
    MapType.XSKMAP: "4.18",
    MapType.SOCKHASH: "4.18",
    MapType.CGROUP_STORAGE: "4.19",
    MapType.REUSEPORT_SOCKARRAY: "4.19",
    MapType.PERCPU_CGROUP_STORAGE: "4.20",
    MapType.QUEUE: "4.20",
    MapType.STACK: "4.20",
    MapType.SK_STORAGE: "5.2",
    MapType.DEVMAP_HASH: "5.4",
    MapType.STRUCT_OPS: "5.6",
    MapType.RINGBUF: "5.8",
    MapType.INODE_STORAGE: "5.10",
    MapType.TASK_STORAGE: "5.11",
    MapType.BLOOM_FILTER: "5.16",
    MapType.USER_RINGBUF: "6.1",
    MapType.CGRP_STORAGE: "6.2",
    MapType.ARENA: "6.9",
}

#: Map types that cannot be created without BTF for their key/value (or a
#: kernel struct): their probe needs the btf layer, so they are not probed.
NEEDS_BTF = frozenset(
    {
        MapType.SK_STORAGE,
        MapType.INODE_STORAGE,
        MapType.TASK_STORAGE,
        MapType.CGRP_STORAGE,
        MapType.STRUCT_OPS,
    }
)

_FD_VALUED = frozenset(
    {
        MapType.PROG_ARRAY,
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.DEVMAP,
        MapType.SOCKMAP,
        MapType.CPUMAP,
        MapType.XSKMAP,
        MapType.SOCKHASH,
        MapType.REUSEPORT_SOCKARRAY,
        MapType.DEVMAP_HASH,
    }
)


def type_name(map_type: int) -> str:
    """``HASH`` for a known type, the number otherwise."""
    try:
        return MapType(map_type).name
    except ValueError:
        return str(map_type)


def _create(
    map_type: int,
    key_size: int,
    value_size: int,
    max_entries: int,
    *,
    flags: int = 0,
    name: bytes = b"",
    inner_map_fd: int = 0,
) -> int:
    """Create and close a map; return 0 or -errno."""
    attr = _cmds.new_attr("map_create")
    attr.map_type = map_type
    attr.key_size = key_size
    attr.value_size = value_size
    attr.max_entries = max_entries
    attr.map_flags = flags
    attr.inner_map_fd = inner_map_fd
    attr.map_name = name
    rc = _cmds.map_create_raw(attr)
    if rc >= 0:
        os.close(rc)
        return 0
    return rc


def _takes_name(name: bytes) -> bool | None:
    """Whether an array map named ``name`` is created; None when the refusal is not EINVAL."""
    rc = _create(MapType.ARRAY, 4, 4, 1, name=name)
    return True if rc == 0 else False if rc == -errno.EINVAL else None


@functools.cache
def have_map_names() -> bool:
    """Whether BPF_MAP_CREATE takes ``map_name`` (4.15); asked once per boot."""
    return bool(_boot_facts.probed("map_names", lambda: _takes_name(b"feature_test")))


@functools.cache
def names_allow_dot() -> bool:
    """Whether object names may contain ``.`` (5.2); asked once per boot."""
    return bool(_boot_facts.probed("names_allow_dot", lambda: _takes_name(b".test")))


@functools.cache
def create_answer(map_type: int) -> int | None:
    """What BPF_MAP_CREATE answers for the smallest map of ``map_type``.

    0 when the kernel made one, ``-errno`` when it refused, None where no
    probe is possible (types that need BTF for their key and value).
    """
    if map_type in NEEDS_BTF:
        return None
    if map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        inner = _cmds.new_attr("map_create")
        inner.map_type = MapType.ARRAY
        inner.key_size = inner.value_size = inner.max_entries = 4
        inner_fd = _cmds.map_create_raw(inner)
        if inner_fd < 0:
            return None
        try:
            return _create(map_type, 4, 4, 1, inner_map_fd=inner_fd)
        finally:
            os.close(inner_fd)
    key, value, entries, flags = 4, 4, 1, 0
    if map_type in _FD_VALUED:
        pass
    elif map_type == MapType.STACK_TRACE:
        value = 8
    elif map_type == MapType.LPM_TRIE:
        key, flags = 8, MapFlags.NO_PREALLOC
    elif map_type in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        key, entries = 8, 0
    elif map_type in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
        key = 0
    elif map_type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        key, value, entries = 0, 0, os.sysconf("SC_PAGE_SIZE")
    elif map_type == MapType.ARENA:
        key, value, flags = 0, 0, MapFlags.MMAPABLE
    return _create(map_type, key, value, entries, flags=flags)


@functools.cache
def have_map_type(map_type: int) -> bool | None:
    """Whether this kernel knows ``map_type``; None where it can't tell.

    A kernel that refuses to create one for another reason than EINVAL (an
    EPERM from a locked-down build, say) knows the type: whether it lets
    this process use it is :func:`create_answer`'s to say.
    """
    if map_type == MapType.UNSPEC:
        return False  # in the kernel's enum, but only as a placeholder
    rc = create_answer(map_type)
    if rc == 0:
        return True
    if rc is None or rc == -errno.EINVAL:
        # EINVAL is the answer for an unknown type and for attributes the
        # type does not take: the kernel's own enum tells them apart.
        known = kernel_enum_has("bpf_map_type", f"BPF_MAP_TYPE_{type_name(map_type)}")
        return known if rc is None else known is True
    return True


_batch_support: dict[int, bool] = {}


def have_batch(map_type: int) -> bool:
    """Whether batch lookups work on ``map_type`` maps here (asked once per type)."""
    known = _batch_support.get(map_type)
    if known is not None:
        return known
    if map_type not in (
        MapType.HASH,
        MapType.PERCPU_HASH,
        MapType.LRU_HASH,
        MapType.LRU_PERCPU_HASH,
        MapType.ARRAY,
        MapType.PERCPU_ARRAY,
    ):
        # Only these implement the batch ops (Linux 5.6; arrays via the
        # generic implementation).
        _batch_support[map_type] = False
        return False
    ffi = _sys.ffi
    attr = _cmds.new_attr("map_create")
    attr.map_type = map_type
    attr.key_size = attr.value_size = 4
    attr.max_entries = 1
    fd = _cmds.map_create_raw(attr)
    if fd < 0:
        _batch_support[map_type] = False
        return False
    try:
        keys = ffi.new("uint8_t[]", 4)
        from pybpf.core import _cpus  # noqa: PLC0415 (only this probe counts CPUs)

        values = ffi.new("uint8_t[]", 8 * _cpus.possible_cpus())
        cursor = ffi.new("uint8_t[]", 8)
        cnt = ffi.new("uint32_t *", 1)
        rc = _sys.map_batch(Command.MAP_LOOKUP_BATCH, fd, _sys.NULL, cursor, keys, values, cnt, 0)
    finally:
        os.close(fd)
    ok = rc in (0, -errno.ENOENT)
    _batch_support[map_type] = ok
    return ok


@functools.cache
def kernel_enum_has(enum_name: str, member: str) -> bool | None:
    """Whether the running kernel's BTF enum has ``member``; None without kernel BTF."""
    try:
        enum = load_kernel_spec().type_by_name(enum_name, Enum)
    except (OSError, ValueError, LookupError):
        return None
    assert isinstance(enum, Enum)
    return any(value.name == member for value in enum.values)
