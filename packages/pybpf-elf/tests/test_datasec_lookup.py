"""The reader's DATASEC lookup by section name: one index of every DATASEC per object.

It must find what ``Spec.type_by_name(name, Datasec)`` finds: the one
DATASEC of that name, none for several or none, a name offset outside the
string table naming nothing.
"""

from __future__ import annotations

import struct

import pytest

from pybpf.btf import Datasec, Spec, TypeNotFoundError
from pybpf.elf._btf import BTFInfo

DATASEC = 15
STRINGS = b"\0.data\0.bss\0.d\xffx\0"
DATA, BSS, BAD = 1, 7, 12


def blob(words: list[int]) -> bytes:
    types = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(STRINGS))
    return header + types + STRINGS


def datasecs(*names: int) -> bytes:
    return blob([word for name in names for word in (name, DATASEC << 24, 0)])


def by_name(data: bytes, name: str) -> Datasec | None:
    try:
        t = Spec.from_bytes(data).type_by_name(name, Datasec)
    except TypeNotFoundError:
        return None
    assert isinstance(t, Datasec)
    return t


@pytest.mark.parametrize(
    "names",
    [(DATA, BSS), (DATA, DATA, BSS), (BSS, 0x7FFF, DATA), (BAD, DATA), ()],
    ids=["two", "one name twice", "name offset past the table", "bad UTF-8", "none"],
)
def test_the_same_as_type_by_name(names: tuple[int, ...]) -> None:
    data = datasecs(*names)
    for name in (".data", ".bss", ".rodata", ".d\ufffdx"):
        found = BTFInfo(Spec.from_bytes(data), None).datasec(name)
        expected = by_name(data, name)
        assert (found is None) == (expected is None), name
        if found is not None:
            assert found.name == name


def test_a_decoded_datasec_is_found_by_its_name() -> None:
    spec = Spec.from_bytes(datasecs(BSS, DATA))
    spec.type_by_id(2)
    found = BTFInfo(spec, None).datasec(".data")
    assert found is spec.type_by_id(2)
