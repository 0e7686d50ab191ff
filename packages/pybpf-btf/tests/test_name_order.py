"""Name lookups through the saved name order agree with scanning the blob."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import Enum, EnumValue, Int, Spec, Struct, Typedef, kernel, marshal, name_order
from pybpf.btf.corerelo import candidates
from pybpf.btf.parse import RawBTF

NAMES = [
    "task_struct",
    "task_struct___v1",
    "task_struct___v1___x",
    "task_structx",
    "task_struct_",
    "task_struct____y",
    "a____b",
    "a",
    "ab",
    "",
]


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Spec:
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path / "cache"))
    i = Int("int", 4)
    types = [Struct(n, 4, []) for n in NAMES] + [Typedef("task_struct", i), Int("a", 1)]
    types.append(Enum("task_struct___v2", 4, [EnumValue("X", 1)]))
    path = tmp_path / "vmlinux"
    path.write_bytes(marshal(Spec(types)))
    kernel._load_sysfs(path, base=None)
    loaded = kernel._load_sysfs(path, base=None)
    assert loaded._raw is not None and loaded._raw.by_name is not None
    return loaded


@pytest.mark.parametrize("name", [*NAMES, "int", "missing", "task"])
def test_exact_names_agree_with_scanning(spec: Spec, name: str) -> None:
    raw = spec._raw
    assert raw is not None and raw.by_name is not None
    if not name:
        assert spec.types_by_name(name) == []
        return
    ordered = name_order.ids_named(raw, raw.by_name, name.encode())
    assert ordered == raw.ids_named(raw.name_offsets(name))
    assert [spec.type_id(t) for t in spec.types_by_name(name)] == ordered


@pytest.mark.parametrize("essential", [b"task_struct", b"task_struct___v1", b"a", b"a____b"])
def test_essential_names_agree_with_scanning(spec: Spec, essential: bytes) -> None:
    raw = spec._raw
    assert raw is not None and raw.by_name is not None
    ordered = candidates.NameIndex(spec)._find(essential)
    raw.by_name, saved = None, raw.by_name
    try:
        scanned = candidates.NameIndex(spec)._find(essential)
    finally:
        raw.by_name = saved
    assert ordered == scanned
    if essential == b"task_struct":
        names = {spec.type_by_id(i).name for i, _ in ordered}
        assert names == {"task_struct", "task_struct___v1", "task_struct___v2"}


def test_no_order_for_split_btf() -> None:
    base = RawBTF(marshal(Spec([Int("int", 4)])))
    split = RawBTF(marshal(Spec([Int("long", 8)])), first_id=2, base_strings_len=5)
    assert name_order.build(base) is not None
    assert name_order.build(split) is None


def test_no_order_when_a_record_names_a_string_tail() -> None:
    # [1] INT named "nt" at offset 2: the tail of "int".
    words = [2, 0x01000000, 4, 0x00000020]
    types = struct.pack("<4I", *words)
    strings = b"\0int\0"
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    raw = RawBTF(header + types + strings)
    assert name_order.build(raw) is None


def test_duplicate_strings_keep_records_together() -> None:
    # Two copies of "x" in the table, each naming a record; "y" between them in order.
    words = [1, 0x01000000, 4, 0x20, 5, 0x01000000, 4, 0x20, 3, 0x01000000, 4, 0x20]
    types = struct.pack("<12I", *words)
    strings = b"\0x\0y\0x\0"
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    raw = RawBTF(header + types + strings)
    order = name_order.build(raw)
    assert order is not None
    assert name_order.ids_named(raw, order, b"x") == [1, 2]
    assert name_order.ids_named(raw, order, b"y") == [3]
