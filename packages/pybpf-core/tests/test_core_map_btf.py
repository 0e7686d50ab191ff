"""Maps that need BTF, created with a hand-made BTF blob (until the btf layer lands)."""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator

import pytest

from pybpf.core import FD, BPFError, Map, MapBTF, MapFlags, NotSupportedError
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
