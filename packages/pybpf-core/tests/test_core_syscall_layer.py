"""pybpf.core.sys: the one syscall layer, its generated structs, its build's freshness."""

from __future__ import annotations

import ast
import errno
import mmap
import os
import re
import warnings
from pathlib import Path

import pytest

from pybpf.core import BPFError, _sys, _sys_build
from pybpf.core import sys as bpf_sys

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "packages").glob("pybpf-*/src/pybpf/**/*.py"))
_MAP_FIXED_NOREPLACE = 0x100000


def test_every_attr_variant_and_info_struct_is_made_zeroed() -> None:
    for variant in bpf_sys.ATTRS:
        attr = bpf_sys.new_attr(variant)
        assert bpf_sys.ffi.typeof(attr).cname == f"struct pybpf_attr_{variant} *"
        assert bytes(bpf_sys.ffi.buffer(attr)) == bytes(bpf_sys.ffi.sizeof(attr[0]))
    for kind in bpf_sys.INFOS:
        assert bpf_sys.ffi.typeof(bpf_sys.new_info(kind)).cname == f"struct pybpf_{kind}_info *"
    with pytest.raises(ValueError, match="no bpf_attr variant 'nope'"):
        bpf_sys.new_attr("nope")
    with pytest.raises(ValueError, match="no bpf_nope_info"):
        bpf_sys.new_info("nope")


def test_anonymous_unions_of_the_generated_attrs_are_reachable() -> None:
    # The kernel's names, flattened as in C: prog_attach's target_fd/target_ifindex,
    # get_id's start_id/prog_id/..., map_elem's value/next_key.
    ffi = bpf_sys.ffi
    assert ffi.offsetof("struct pybpf_attr_get_id", "prog_id") == 0
    assert ffi.offsetof("struct pybpf_attr_get_id", "start_id") == 0
    attr = bpf_sys.new_attr("map_elem")
    attr.next_key = 7
    assert attr.value == 7
    link = bpf_sys.new_attr("link_create")
    link.target_ifindex = 3
    assert link.target_fd == 3


@pytest.mark.kernel
def test_link_create_raises_the_kernels_answer_typed() -> None:
    attr = bpf_sys.new_attr("link_create")
    attr.prog_fd = 0xFFFFFFFF  # no program: the kernel answers EBADF
    with pytest.raises(BPFError, match="link a nothing") as info:
        bpf_sys.link_create(attr, "link a nothing")
    assert info.value.errno == errno.EBADF


@pytest.mark.kernel
def test_enable_stats_returns_an_owned_fd() -> None:
    with bpf_sys.enable_stats(bpf_sys.StatsType.RUN_TIME, "stats") as fd:
        assert isinstance(fd, bpf_sys.FD)
        assert fd.number > 0


def test_mmap_at_a_fixed_address_owned_by_its_view() -> None:
    size = mmap.PAGESIZE
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    anon = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    # A free address: map anywhere, then give it back.
    address = bpf_sys.mmap(0, size, prot, anon, -1)
    assert address > 0
    assert bpf_sys.munmap(address, size) == 0
    fixed = anon | _MAP_FIXED_NOREPLACE
    assert bpf_sys.mmap(address, size, prot, fixed, -1) == address
    view = bpf_sys.mapped_view(address, size)
    view[0:3] = b"abc"
    assert bytes(view[0:3]) == b"abc" and len(view) == size
    # Taken: the kernel says so, as an errno.
    assert bpf_sys.mmap(address, size, prot, fixed, -1) == -errno.EEXIST
    del view  # the last view unmaps
    assert bpf_sys.mmap(address, size, prot, fixed, -1) == address
    assert bpf_sys.munmap(address, size) == 0


def test_compiled_module_carries_the_hash_of_its_sources() -> None:
    if not _sys.COMPILED:
        pytest.skip("ABI mode: no compiled module here")
    import _pybpf_sys

    assert _sys_build.source_hash() == _pybpf_sys.lib.PYBPF_SYS_HASH
    assert _sys_build.source_hash() == _sys.fast.SOURCE_HASH


def test_a_module_built_from_other_sources_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _sys.COMPILED:
        pytest.skip("ABI mode: no compiled module here")
    monkeypatch.setattr(_sys_build, "source_hash", lambda: -1)
    monkeypatch.setattr(_sys, "_installed_apart", lambda path: True)
    with pytest.warns(RuntimeWarning, match="stale"):
        assert _sys._load_compiled() is None


def test_only_a_module_installed_apart_from_its_sources_is_hashed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A wheel's module sits beside the pybpf directory these sources are in:
    # one install wrote both, so its processes skip reading and hashing them.
    root = Path(_sys_build.HERE).parent.parent
    assert not _sys._installed_apart(str(root / "_pybpf_sys.cpython-311-x86_64-linux-gnu.so"))
    assert _sys._installed_apart(str(root / "elsewhere" / "_pybpf_sys.so"))
    if not _sys.COMPILED:
        pytest.skip("ABI mode: no compiled module here")
    hashed: list[int] = []
    real = _sys_build.source_hash
    monkeypatch.setattr(_sys_build, "source_hash", lambda: hashed.append(1) or real())
    monkeypatch.setattr(_sys, "_installed_apart", lambda path: False)
    assert _sys._load_compiled() is not None
    assert hashed == []
    monkeypatch.setattr(_sys, "_installed_apart", lambda path: True)
    assert _sys._load_compiled() is not None
    assert hashed == [1]


def test_the_hash_follows_every_compiled_source() -> None:
    before = _sys_build.source_hash()
    assert 0 <= before < 1 << 31
    paths = [Path(p) for p in (*_sys_build.HEADERS, *_sys_build.SOURCES)]
    assert [p.name for p in paths] == [
        "_uapi_types.h",
        "pybpf_sys.h",
        "sys.c",
        "fast.c",
        "readers.c",
    ]
    assert all(p.is_file() for p in paths)


def _own(path: Path) -> set[str]:
    """The top-level pybpf packages of the distribution ``path`` belongs to."""
    dist = ROOT / "packages" / path.relative_to(ROOT / "packages").parts[0]
    return {p.name for p in (dist / "src" / "pybpf").iterdir() if p.is_dir()}


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def test_no_distribution_imports_another_distributions_private_module() -> None:
    wrong = []
    for path in SOURCES:
        own = _own(path)
        for name in _imported(ast.parse(path.read_text())):
            parts = name.split(".")
            if parts[0] != "pybpf" or len(parts) < 3 or parts[1] in own:
                continue
            if any(part.startswith("_") for part in parts[2:]):
                wrong.append(f"{path.relative_to(ROOT)}: {name}")
    assert not wrong, "\n".join(wrong)


def test_only_the_syscall_layer_makes_kernel_structs() -> None:
    layer = {"_sys.py", "_cmds.py"}
    made = re.compile(r"""new\(\s*f?["'](struct pybpf_(?!fd_cell)|uint32_t\[16\])""")
    wrong = [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if path.name not in layer and made.search(path.read_text())
    ]
    assert not wrong
    issued = re.compile(r"_sys\.bpf\(")
    assert not [p for p in SOURCES if p.name not in layer and issued.search(p.read_text())]


def test_the_link_layer_calls_the_kernel_only_through_core() -> None:
    # ioctls and mounts go through pybpf.core.sys (namespace_type, mount, perf_ioctl).
    calls = re.compile(r"^\s*import (ctypes|fcntl)\b|\bfcntl\.ioctl\(|\bCDLL\(", re.M)
    link = sorted((ROOT / "packages" / "pybpf-link" / "src").rglob("*.py"))
    assert link
    assert not [str(p.relative_to(ROOT)) for p in link if calls.search(p.read_text())]


def test_namespace_type_names_the_namespace_of_a_file(tmp_path: Path) -> None:
    with bpf_sys.FD(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)) as net:
        assert bpf_sys.namespace_type(net, "net") is bpf_sys.NamespaceType.NET
    with bpf_sys.FD(os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)) as uts:
        assert bpf_sys.namespace_type(uts, "uts") is bpf_sys.NamespaceType.UTS
    plain = bpf_sys.FD(os.open(tmp_path, os.O_RDONLY | os.O_CLOEXEC))
    with plain, pytest.raises(BPFError, match="ask a directory") as e:
        bpf_sys.namespace_type(plain, "ask a directory")
    assert e.value.errno == errno.ENOTTY


@pytest.mark.kernel
def test_mount_raises_the_kernels_answer_typed(tmp_path: Path) -> None:
    with pytest.raises(BPFError, match="mount nothing") as e:
        bpf_sys.mount("none", str(tmp_path), "no-such-filesystem", "mount nothing")
    assert e.value.errno == errno.ENODEV
    assert not os.path.ismount(tmp_path)


def test_the_abi_cdef_declares_what_the_compiled_module_does() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import cffi  # type: ignore[import-untyped]

        abi = cffi.FFI()
        abi.cdef(_sys_build.abi_cdef())
    assert abi.sizeof("struct pybpf_attr_map_elem_ptr") == abi.sizeof("struct pybpf_attr_map_elem")
    for variant in bpf_sys.ATTRS:
        assert abi.sizeof(f"struct pybpf_attr_{variant}") == bpf_sys.ffi.sizeof(
            f"struct pybpf_attr_{variant}"
        )


def test_the_c_side_names_the_commands_as_the_generated_enum_does() -> None:
    import cffi  # type: ignore[import-untyped]

    abi = cffi.FFI()
    abi.cdef(_sys_build.abi_cdef())
    names = abi.typeof("enum pybpf_bpf_cmd").relements
    for cmd in bpf_sys.Command:
        assert names[f"PYBPF_BPF_{cmd.name}"] == cmd
