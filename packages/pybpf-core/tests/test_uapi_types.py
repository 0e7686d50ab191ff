"""The generated kernel structs (``_uapi_types.h``) lay out as the kernel's BTF says."""

from __future__ import annotations

import importlib.util
import lzma
import sys
from pathlib import Path
from typing import Any

import cffi  # type: ignore[import-untyped]
import pytest

from pybpf.btf import Composite, Member, Spec, Union, load_spec, underlying
from pybpf.core import MapType

ROOT = Path(__file__).resolve().parents[3]
HEADER = ROOT / "packages" / "pybpf-core" / "src" / "pybpf" / "core" / "_uapi_types.h"
BLOB = ROOT / "testdata" / "uapi" / "vmlinux.btf.xz"


@pytest.fixture(scope="module")
def blob() -> Spec:
    return load_spec(lzma.decompress(BLOB.read_bytes()))


@pytest.fixture(scope="module")
def ffi() -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(HEADER.read_text())
    return ffi


def leaves(t: Composite, base: int = 0) -> list[tuple[str, int, int]]:
    """(name, bit offset, bitfield size) of every named field, anonymous members flattened."""
    out = []
    for m in t.members:
        inner = underlying(m.type)
        if not m.name and isinstance(inner, Composite):
            out += leaves(inner, base + m.offset)
        else:
            out.append((m.name, base + m.offset, m.bitfield_size))
    return out


def check(ffi: cffi.FFI, c_name: str, t: Composite) -> None:
    assert ffi.sizeof(c_name) == t.size, c_name
    ctype = ffi.typeof(c_name)
    fields = dict(ctype.fields)
    for name, bit_offset, bits in leaves(t):
        field = fields[name]
        if bits:
            assert field.bitsize == bits, (c_name, name)
            continue
        assert field.offset * 8 == bit_offset, (c_name, name)


def test_attr_variants_match_the_blob(ffi: cffi.FFI, blob: Spec) -> None:
    generator = _generator()
    variants = generator.attr_variants(blob)
    declared = {n for n in ffi.list_types()[1] if n.startswith("pybpf_attr_")}
    assert declared == {f"pybpf_attr_{name}" for name, _ in variants}
    assert {"pybpf_attr_link_create", "pybpf_attr_prog_load", "pybpf_attr_map_elem"} <= declared
    for name, body in variants:
        check(ffi, f"struct pybpf_attr_{name}", body)


def test_committed_files_are_what_the_blob_gives() -> None:
    # `nox -s generate` reproduces every committed file from the committed blob.
    generator = _generator()
    for path, text in generator.outputs(generator.read_blob(BLOB), generator.blob_kernel()).items():
        assert path.read_text() == text, f"{path.name} is stale: run `nox -s generate`"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_uapi", ROOT / "tools" / "gen_uapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_uapi", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("c_name", "kernel_name"),
    [
        ("pybpf_prog_info", "bpf_prog_info"),
        ("pybpf_map_info", "bpf_map_info"),
        ("pybpf_btf_info", "bpf_btf_info"),
        ("pybpf_link_info", "bpf_link_info"),
        ("pybpf_perf_event_attr", "perf_event_attr"),
    ],
)
def test_structs_match_the_blob(ffi: cffi.FFI, blob: Spec, c_name: str, kernel_name: str) -> None:
    t = blob.type_by_name(kernel_name)
    assert isinstance(t, Composite)
    check(ffi, f"struct {c_name}", t)


def test_canonical_names_first() -> None:
    assert MapType(19).name == "CGROUP_STORAGE"
    assert MapType.CGROUP_STORAGE_DEPRECATED is MapType.CGROUP_STORAGE


def test_members_are_fields(blob: Spec) -> None:
    # Member is what leaves() walks: a guard against a renamed attribute.
    t = blob.type_by_name("bpf_map_info")
    assert isinstance(t, Composite)
    assert all(isinstance(m, Member) for m in t.members)


def test_flag_families_are_generated_with_their_public_names() -> None:
    # The kernel's values, as the hand-kept copies that the generator replaced had them.
    from pybpf.core import FileFlags, MapFlags, PerfEventFlag, RunFlags, SampleType, UpdateFlags
    from pybpf.core._uapi_perf import (
        PERF_EVENT_IOC_ENABLE,
        PERF_EVENT_IOC_PAUSE_OUTPUT,
        PerfOpenFlags,
    )
    from pybpf.elf.sections import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS

    assert [UpdateFlags.ANY, UpdateFlags.NOEXIST, UpdateFlags.EXIST, UpdateFlags.LOCK] == [
        0,
        1,
        2,
        4,
    ]
    assert MapFlags.NO_PREALLOC == 1 and MapFlags.MMAPABLE == 1 << 10
    assert MapFlags.NO_USER_CONV == 1 << 18 and MapFlags.NONE == 0
    assert (FileFlags.RDWR, FileFlags.RDONLY, FileFlags.WRONLY) == (0, 1 << 3, 1 << 4)
    assert RunFlags.RUN_ON_CPU == 1 and RunFlags.SKB_CHECKSUM_COMPLETE == 4
    assert (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS) == (1 << 4, 1 << 5)
    assert SampleType.RAW == 1 << 10
    assert PerfEventFlag.SAMPLE_ID_ALL == 1 << 18 and PerfEventFlag.WRITE_BACKWARD == 1 << 27
    assert PerfOpenFlags.FD_CLOEXEC == 1 << 3
    assert (PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_PAUSE_OUTPUT) == (0x2400, 0x40042409)


def test_iter_link_info_matches_the_blob(ffi: cffi.FFI, blob: Spec) -> None:
    # A union declared whole: what iterator links pass in link_create.iter_info.
    t = blob.type_by_name("bpf_iter_link_info")
    assert isinstance(t, Union)
    check(ffi, "union pybpf_iter_link_info", t)
