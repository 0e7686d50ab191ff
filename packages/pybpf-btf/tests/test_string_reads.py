"""``Spec.string`` on an object's (small) table: decoded whole at the first read."""

from __future__ import annotations

import struct

import pytest

from pybpf.btf import BTFError, Spec

STRINGS = b"\0int\0long int\0caf\xc3\xa9\0\xff\0"


def blob() -> bytes:
    types = struct.pack("<4I", 1, 1 << 24, 4, 0x20)  # int
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(STRINGS))
    return header + types + STRINGS


def test_first_read_decodes_the_table() -> None:
    spec = Spec.from_bytes(blob())
    decoder = spec._decoder
    assert decoder is not None
    assert spec.string(5) == "long int"
    assert decoder._bulk
    assert decoder.names[1] == "int"
    # A suffix of another string, and what decoding replaces.
    assert spec.string(10) == "int"
    assert spec.string(14) == "café"
    assert spec.string(20) == "\ufffd"
    with pytest.raises(BTFError, match="string offset 22 out of range"):
        spec.string(22)
    assert spec.type_by_id(1).name == "int"


def test_the_same_strings_as_one_at_a_time() -> None:
    data = blob()
    whole = Spec.from_bytes(data)
    raw = Spec.from_bytes(data)._raw
    assert raw is not None
    for offset in range(len(STRINGS)):
        assert whole.string(offset) == raw.string(offset)
