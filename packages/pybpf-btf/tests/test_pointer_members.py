"""``Spec.pointer_members``: a struct of pointers read from the undecoded records.

The compiled scan reads them when it is in use; the Python code is the
reference and decides wherever the compiled one declines (returns None).
Both must agree on every type of every testdata object and on hand-made
and hostile records, and the compiled one must never read past its input.
"""

from __future__ import annotations

import struct
from array import array
from pathlib import Path
from types import ModuleType

import pytest

from pybpf.btf import BTFError, Spec, parse
from pybpf.btf.elfsections import section_data
from pybpf.btf.spec import _POINTER_KINDS, PointerMember

INT, PTR, ARRAY, STRUCT, TYPEDEF, CONST = 1, 2, 3, 4, 8, 10
STRINGS = b"\0int\0a\0b\0"
A, B = 5, 7
# Small test blobs go through the compiled scan too, where it is used.
pytestmark = pytest.mark.usefixtures("scan_small_sections")


def info(kind: int, vlen: int = 0) -> int:
    return (kind << 24) | vlen


def blob(words: list[int], strings: bytes = STRINGS) -> bytes:
    types = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


#: A map definition: ``struct { int (*a)[5]; int *b; }`` behind a typedef.
DEFINITION = [
    *(1, info(INT), 4, 0x20),  # 1: int
    *(0, info(ARRAY), 0, 1, 1, 5),  # 2: int[5]
    *(0, info(PTR), 2),  # 3: int (*)[5]
    *(0, info(PTR), 1),  # 4: int *
    *(0, info(STRUCT, 2), 16, A, 3, 0, B, 4, 64),  # 5: the struct
    *(0, info(TYPEDEF), 5),  # 6: a typedef of it
]
EXPECTED: list[PointerMember] = [(A, 0, -1, 2, 2, ARRAY, 5), (B, 64, -1, 1, 1, INT, -1)]


def both(data: bytes, type_id: int, decode: tuple[int, ...] = ()) -> list[PointerMember] | None:
    """``pointer_members`` of fresh specs of ``data``, compiled and in Python, which must agree."""
    results = []
    for python in (False, True):
        spec = Spec.from_bytes(data)
        for decoded in decode:
            spec.type_by_id(decoded)
        assert spec._raw is not None
        if python:
            results.append(spec._pointer_members(spec._raw, type_id))
        else:
            results.append(spec.pointer_members(type_id))
    assert results[0] == results[1]
    return results[0]


def test_a_definition_read_through_typedefs(compiled: ModuleType) -> None:
    data = blob(DEFINITION)
    assert both(data, 6) == EXPECTED
    assert both(data, 5) == EXPECTED
    spec = Spec.from_bytes(data)
    assert spec._raw is not None
    assert (
        compiled.pointer_members(
            spec._raw.words, spec._raw.offsets, spec._types, 1, 6, _POINTER_KINDS
        )
        == EXPECTED
    )


def test_what_is_no_struct_of_pointers(compiled: ModuleType) -> None:
    data = blob(DEFINITION)
    for type_id in (0, 1, 2, 3, 4, 7, 1 << 20, -1, 1 << 32, 1 << 70):
        assert both(data, type_id) is None
    # A member that is no pointer: the int itself.
    assert both(blob([*DEFINITION[:4], *(0, info(STRUCT, 1), 4, A, 1, 0)]), 2) is None
    # A member of an id past the blob.
    assert both(blob([*DEFINITION[:4], *(0, info(STRUCT, 1), 8, A, 99, 0)]), 2) is None
    # A typedef that names itself, then one of a long chain.
    assert both(blob([*DEFINITION[:4], *(0, info(TYPEDEF), 2)]), 2) is None
    chain = [word for n in range(70) for word in (0, info(CONST), n + 2)]
    assert both(blob([*DEFINITION[:4], *chain[:-3], 0, info(CONST), 1]), 2) is None


def test_decoded_records(compiled: ModuleType) -> None:
    data = blob(DEFINITION)
    # A decoded record on the way to a pointer: the typed reading takes over.
    assert both(data, 6, decode=(6,)) is None
    assert both(data, 6, decode=(5,)) is None
    assert both(data, 6, decode=(3,)) is None
    # A decoded target is left to be read as a Type.
    assert both(data, 6, decode=(2,)) == [(A, 0, -1, 2, 2, -1, -1), EXPECTED[1]]
    assert both(data, 6, decode=(1,)) == [EXPECTED[0], (B, 64, -1, 1, 1, -1, -1)]


def test_arrays_of_pointers_and_bitfield_offsets(compiled: ModuleType) -> None:
    words = [
        *DEFINITION[:13],  # int, int[5], int (*)[5]
        *(0, info(ARRAY), 0, 3, 1, 0),  # 4: int (*[])[5]
        *(0, (1 << 31) | info(STRUCT, 1), 8, A, 4, (3 << 24) | 64),  # 5: kind_flag set
    ]
    assert both(blob(words), 5) == [(A, 64, 0, 2, 2, ARRAY, 5)]
    # An array of arrays is no array of pointers.
    words[13:19] = [0, info(ARRAY), 0, 2, 1, 0]
    assert both(blob(words), 5) is None


def test_compiled_never_reads_past_its_input(compiled: ModuleType) -> None:
    spec = Spec.from_bytes(blob(DEFINITION))
    raw = spec._raw
    assert raw is not None
    words, types = raw.words, spec._types
    offsets = array("I", raw.offsets)
    call = compiled.pointer_members
    assert call(words, offsets, types, 1, 6, _POINTER_KINDS) == EXPECTED
    # Record offsets past the words, cut words, few offsets, a record made already.
    for bad in (array("I", [*offsets[:4], 1 << 30, offsets[5]]), array("I", [0, 4, 10, 13, 16])):
        assert call(words, bad, types, 1, 6, _POINTER_KINDS) is None
    assert call(memoryview(words)[:20], offsets, types, 1, 5, _POINTER_KINDS) is None
    assert call(words, offsets, dict.fromkeys([4]), 1, 6, _POINTER_KINDS) is None
    assert call(words, offsets, types, 1, -1, _POINTER_KINDS) is None
    assert call(words, offsets, types, 1, 1 << 40, _POINTER_KINDS) is None
    with pytest.raises(TypeError):
        call(words, list(offsets), types, 1, 6, _POINTER_KINDS)
    with pytest.raises(TypeError):
        call(words, offsets, list(types), 1, 6, _POINTER_KINDS)


def test_python_decides_without_the_compiled_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
    parse._compiled_scan.cache_clear()
    try:
        assert Spec.from_bytes(blob(DEFINITION)).pointer_members(6) == EXPECTED
    finally:
        parse._compiled_scan.cache_clear()


def test_every_testdata_type_reads_the_same(testdata: Path, compiled: ModuleType) -> None:
    read = 0
    for path in sorted(testdata.glob("*.o")):
        try:
            btf = section_data(path.read_bytes(), ".BTF")
        except BTFError:  # an object without BTF
            continue
        count = len(Spec.from_bytes(btf))
        for type_id in range(count + 2):
            read += both(btf, type_id) is not None
    # Every BTF-defined map's definition, at least.
    assert read > 50
