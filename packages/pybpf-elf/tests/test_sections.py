"""libbpf's section-name table: every pattern, matched as libbpf matches it."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from pybpf.elf import SECTION_DEFS, match_section
from pybpf.elf._uapi import AttachType, ProgramType
from pybpf.elf.sections import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, NEWER_THAN_LIBBPF_1_1_2


def samples() -> list[tuple[str, str]]:
    """(pattern, a section name it must match) for every row of the table."""
    out = []
    for d in SECTION_DEFS:
        if d.pattern.endswith("+"):
            out.append((d.pattern, d.pattern[:-1]))
            out.append((d.pattern, d.pattern[:-1] + "/some_target"))
        else:
            out.append((d.pattern, d.pattern))
    return out


@pytest.mark.parametrize(("pattern", "name"), samples())
def test_every_pattern_matches_its_own_names(pattern: str, name: str) -> None:
    info = match_section(name)
    assert info is not None
    # An earlier row may win (e.g. "xdp.frags/devmap" before "xdp.frags"); it
    # must then be as specific: the first row that matches is the row chosen.
    first = next(d for d in SECTION_DEFS if d.matches(name))
    assert info.definition is first
    if first.pattern == pattern and pattern.endswith("+") and "/" in name:
        assert info.attach_to == "some_target"


def test_plus_needs_a_slash() -> None:
    assert match_section("kprobe") is not None
    assert match_section("kprobe/do_unlinkat").attach_to == "do_unlinkat"  # type: ignore[union-attr]
    assert match_section("kprobefoo") is None
    info = match_section("kprobe.multi/do_*")
    assert info is not None
    assert info.attach_type == AttachType.TRACE_KPROBE_MULTI
    assert info.attach_to == "do_*"


def test_exact_patterns_take_no_target() -> None:
    assert match_section("socket/foo") is None
    assert match_section("xdp/foo") is None
    assert match_section("tc/foo") is None


def test_attach_targets_keep_slashes_and_colons() -> None:
    info = match_section("tracepoint/syscalls/sys_enter_openat")
    assert info is not None and info.attach_to == "syscalls/sys_enter_openat"
    info = match_section("uprobe/libc.so.6:malloc")
    assert info is not None and info.attach_to == "libc.so.6:malloc"


def test_no_autoload_prefix() -> None:
    info = match_section("?xdp")
    assert info is not None
    assert not info.autoload
    assert info.name == "xdp"
    info = match_section("xdp")
    assert info is not None and info.autoload


def test_flags() -> None:
    info = match_section("lsm.s/file_open")
    assert info is not None and info.sleepable and info.flags == BPF_F_SLEEPABLE
    info = match_section("xdp.frags/cpumap")
    assert info is not None
    assert info.flags == BPF_F_XDP_HAS_FRAGS
    assert info.attach_type == AttachType.XDP_CPUMAP
    assert match_section("syscall").flags == BPF_F_SLEEPABLE  # type: ignore[union-attr]
    info = match_section("fentry/x")
    assert info is not None and info.definition.attach_btf and not info.sleepable


def test_first_match_wins() -> None:
    info = match_section("sk_reuseport/migrate")
    assert info is not None
    assert info.attach_type == AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE
    info = match_section("tc/ingress")
    assert info is not None and info.attach_type == AttachType.TCX_INGRESS
    assert match_section("tc").type == ProgramType.SCHED_CLS  # type: ignore[union-attr]


def _libbpf() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("bpf")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


@pytest.mark.parametrize(("pattern", "name"), samples())
def test_same_as_installed_libbpf(pattern: str, name: str) -> None:
    lib = _libbpf()
    if lib is None:
        pytest.skip("libbpf is not installed")
    prog_type, attach = ctypes.c_int(), ctypes.c_int()
    rc = lib.libbpf_prog_type_by_name(name.encode(), ctypes.byref(prog_type), ctypes.byref(attach))
    info = match_section(name)
    assert info is not None
    if info.definition.pattern in NEWER_THAN_LIBBPF_1_1_2:
        return
    assert rc == 0, f"libbpf does not know {name!r}"
    assert prog_type.value == info.type
    assert attach.value == (info.attach_type if info.attach_type is not None else 0)
