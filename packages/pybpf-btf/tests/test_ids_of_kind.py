"""``Spec.ids_of_kind``: the ids of one kind's records, found without decoding them."""

from __future__ import annotations

import struct
from pathlib import Path

from pybpf.btf import BTFError, Int, IntEncoding, Kind, Spec
from pybpf.btf.elfsections import section_data


def test_every_kind_of_every_testdata_object(testdata: Path) -> None:
    seen = 0
    for path in sorted(testdata.glob("*.o")):
        try:
            btf = section_data(path.read_bytes(), ".BTF")
        except BTFError:  # an object without BTF
            continue
        spec = Spec.from_bytes(btf)
        kinds = [t.kind for t in Spec.from_bytes(btf).own_types()]
        for kind in Kind:
            expected = [i + 1 for i, k in enumerate(kinds) if k == kind]
            assert spec.ids_of_kind(kind) == expected, (path.name, kind)
            seen += len(expected)
        # Decoded types are found the same.
        list(spec.own_types())
        assert spec.ids_of_kind(Kind.STRUCT) == [
            i + 1 for i, k in enumerate(kinds) if k == Kind.STRUCT
        ]
    assert seen > 1000


def test_types_added_by_hand_and_empty_specs() -> None:
    assert Spec().ids_of_kind(Kind.INT) == []
    assert Spec.from_bytes(blob([])).ids_of_kind(Kind.INT) == []
    spec = Spec([Int("int", 4, IntEncoding.SIGNED)])
    assert spec.ids_of_kind(Kind.INT) == [1]
    assert spec.ids_of_kind(Kind.STRUCT) == []


def test_kind_flag_records() -> None:
    # A struct with kind_flag set (bitfield offsets), between two plain ones.
    words = [0, 4 << 24, 0, 0, (1 << 31) | (4 << 24), 0, 0, 4 << 24, 0]
    spec = Spec.from_bytes(blob(words))
    assert spec.ids_of_kind(Kind.STRUCT) == [1, 2, 3]
    assert spec.ids_of_kind(Kind.UNION) == []


def blob(words: list[int], strings: bytes = b"\0") -> bytes:
    types = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings
