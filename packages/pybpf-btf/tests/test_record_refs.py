"""What records refer to, read from their words, is what the decoded types refer to."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import BTFError, Int, load_spec
from pybpf.btf.cdump import _referenced_by
from pybpf.btf.record_refs import referenced_flags
from pybpf.btf.spec import Spec

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def _decoded(spec: Spec) -> bytearray:
    """The flags from resolving every reference of every decoded type (the C dump's own rule)."""
    types = list(spec)
    ids = {id(t): i for i, t in enumerate(types, start=1)}
    flags = bytearray(spec.next_id)
    for t in types:
        for r in _referenced_by(t):
            flags[ids.get(id(r), 0)] = 1
    flags[0] = 0  # void: no type of the spec's list
    return flags


def _check(path: Path | bytes) -> None:
    flags = referenced_flags(load_spec(path))
    assert flags is not None
    flags[0] = 0
    assert flags == _decoded(load_spec(path))


def test_every_testdata_object(testdata: Path) -> None:
    checked = 0
    for path in sorted(testdata.glob("*.o")):
        try:
            load_spec(path)
        except (BTFError, ValueError):
            continue
        _check(path)
        checked += 1
    assert checked


@pytest.mark.kernel_files
def test_vmlinux() -> None:
    _check(VMLINUX)


def _blob(types: bytes, strings: bytes = b"\0") -> bytes:
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def test_none_for_a_reference_past_the_last_id() -> None:
    # A pointer to type 7 of 1: the decoded types report it, so no flags here.
    spec = load_spec(_blob(struct.pack("<III", 0, 2 << 24, 7)))
    assert referenced_flags(spec) is None


def test_none_once_decoded_or_not_a_loaded_spec(testdata: Path) -> None:
    spec = load_spec(testdata / "globals-el.o")
    spec.type_by_id(1)
    assert referenced_flags(spec) is None
    assert referenced_flags(Spec([Int("int", 4)])) is None
    assert referenced_flags([Int("int", 4)]) is None
