"""Name lookups: scanning the records and the packed name index find the same ids."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import load_spec
from pybpf.btf.parse import RawBTF

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"


def _records_named(raw: RawBTF, name_offsets: list[int]) -> list[int]:
    wanted = set(name_offsets)
    return [raw.first_id + i for i, o in enumerate(raw.offsets) if raw.words[o] in wanted]


@pytest.mark.parametrize("obj", ["btf-el.o", "btf-eb.o", "core-el.o", "core-eb.o"])
def test_scans_and_packed_names_agree(obj: str) -> None:
    spec = load_spec(TESTDATA / obj)
    raw = spec._raw
    assert raw is not None
    names = {spec.type_by_id(i).name for i in range(1, len(spec) + 1)} - {""}
    queries = [raw.name_offsets(n) for n in sorted(names)]
    # Enough lookups to go from scanning to the packed index part way through.
    for offsets in queries + queries:
        assert raw.ids_named(offsets) == _records_named(raw, offsets)
    assert raw._names is not None


@pytest.mark.parametrize("order", ["<", ">"])
def test_scan_ignores_name_offsets_inside_records(order: str) -> None:
    # [1] INT "int"; [2] PTR -> 1, whose target word equals the name offset of "int".
    words = [1, 0x01000000, 4, 0x01000020, 0, 0x02000000, 1]
    types = struct.pack(f"{order}{len(words)}I", *words)
    strings = b"\0int\0"
    header = struct.pack(f"{order}HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), 5)
    raw = RawBTF(header + types + strings)
    assert raw.ids_named([1]) == [1]
    assert raw.ids_named([]) == []


def test_name_offsets_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    # A base blob is asked for the same names once per split blob over it.
    raw = load_spec(TESTDATA / "btf-el.o")._raw
    assert raw is not None
    first = raw.name_offsets("int")
    assert first and raw.name_offsets("int") == first
    first.append(-1)  # callers get their own list
    assert -1 not in raw.name_offsets("int")
    assert raw.name_offsets("no such name") == []
    monkeypatch.setattr("pybpf.btf.parse._NAMES_REMEMBERED", 2)
    raw.name_offsets("a")  # a third name: the memory is emptied, not grown
    assert len(raw._offsets_by_name) <= 2
    assert raw.name_offsets("int") == first[:-1]
