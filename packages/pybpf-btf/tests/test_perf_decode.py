"""Decoding every type in bulk gives what decoding them one by one gives."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import BTFError, Int, Spec, Struct, load_spec

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"
VMLINUX = Path("/sys/kernel/btf/vmlinux")


def _one_by_one(spec: Spec) -> list[tuple[object, ...]]:
    return [spec.shape(spec.type_by_id(i)) for i in range(1, len(spec) + 1)]


@pytest.mark.parametrize("obj", ["btf-el.o", "btf-eb.o", "core-el.o"])
def test_bulk_and_single_decoding_agree(obj: str) -> None:
    data = (TESTDATA / obj).read_bytes()
    bulk = load_spec(data)
    types = list(bulk)
    assert [bulk.shape(t) for t in types] == _one_by_one(load_spec(data))
    assert [bulk.type_id(t) for t in types] == list(range(1, len(bulk) + 1))
    assert all(t in bulk for t in types)
    # Adding a decoded type finds its id instead of appending it again.
    assert bulk.add(types[-1]) == len(types)
    assert len(bulk) == len(types)


def test_copy_after_iterating_copies_the_types() -> None:
    spec = load_spec(TESTDATA / "btf-el.o")
    types = list(spec)
    copy = spec.copy()
    assert copy == spec
    assert all(a is not b for a, b in zip(copy, types, strict=True))


def test_types_added_while_iterating_are_yielded() -> None:
    spec = load_spec(TESTDATA / "btf-el.o")
    count = len(spec)
    seen = []
    for t in spec:
        seen.append(t)
        if len(seen) == count:
            spec.add(Struct("pybpf_late", 0))
    assert len(seen) == count + 1 and seen[-1].name == "pybpf_late"


@pytest.mark.parametrize("order", ["<", ">"])
def test_utf8_names_in_bulk(order: str) -> None:
    strings = "\0int\0ünïcode\0tail\0".encode()
    # [1] INT "int"; [2] INT "ünïcode"; [3] INT "tail"; [4] INT at the tail of [2]'s name
    words: list[int] = []
    for off in (1, 5, strings.index(b"tail"), strings.index(b"code")):
        words += [off, 1 << 24, 4, 0x01000020]
    types = struct.pack(f"{order}{len(words)}I", *words)
    header = struct.pack(
        f"{order}HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)
    )
    data = header + types + strings
    bulk = [t.name for t in load_spec(data)]
    single = load_spec(data)
    assert bulk == [single.type_by_id(i).name for i in range(1, 5)]
    assert bulk == ["int", "ünïcode", "tail", "code"]
    assert all(isinstance(t, Int) for t in load_spec(data))


@pytest.mark.slow
@pytest.mark.kernel_files
def test_vmlinux_bulk_and_single_agree() -> None:
    data = VMLINUX.read_bytes()
    bulk = load_spec(data)
    types = list(bulk)
    assert [bulk.shape(t) for t in types] == _one_by_one(load_spec(data))


@pytest.mark.parametrize(
    ("words", "message"),
    [
        # Member 0 names a missing string, member 1 a missing type: the name comes first.
        ([1, 0x04000002, 8, 99, 1, 0, 1, 7, 32], "string offset 99 out of range"),
        ([1, 0x04000002, 8, 1, 1, 0, 1, 7, 32], "member reference to type 7 out of range"),
        ([0, 0x0D000002, 0, 1, 1, 1, 8], "parameter reference to type 8 out of range"),
        ([0, 0x0D000002, 0, 99, 8, 1, 1], "string offset 99 out of range"),
    ],
)
def test_first_bad_part_is_reported(words: list[int], message: str) -> None:
    types = struct.pack(f"<{len(words)}I", *words)
    strings = b"\0int\0"
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    with pytest.raises(BTFError, match=message):
        list(load_spec(header + types + strings))
