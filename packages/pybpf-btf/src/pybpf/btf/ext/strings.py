"""Putting the strings of ext infos into a marshalled BTF blob.

``bpf_line_info`` names its file and source line by offsets into the string
table of the BTF loaded with the program, and ``bpf_core_relo`` its access
string; types never reference those strings, so a BTF marshalled from types
lacks them. :func:`add_strings` appends what is missing to the blob's string
section and says where every string is.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from pybpf.btf.errors import BTFError
from pybpf.btf.parse import HEADER_SIZE, MAGIC, MAX_NAME_OFFSET, detect_byte_order

__all__ = ["add_strings"]


def add_strings(btf: bytes, strings: Iterable[str]) -> tuple[bytes, dict[str, int]]:
    """``btf`` with every string of ``strings`` in its string table, and their offsets.

    Strings already there (as a whole string, or as the tail of a longer one)
    are not repeated. The string section must end the blob, as it does in
    what :func:`~pybpf.btf.marshal.marshal` and clang produce.
    """
    order = detect_byte_order(btf)
    header = struct.Struct(("<" if order == "little" else ">") + "HBBIIIII")
    if len(btf) < HEADER_SIZE:
        raise BTFError(f"truncated BTF header: {len(btf)} bytes")
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = header.unpack_from(btf)
    if magic != MAGIC or hdr_len < HEADER_SIZE:
        raise BTFError("not a BTF blob")
    start = hdr_len + str_off
    if start + str_len != len(btf):
        raise BTFError("the BTF string section does not end the blob: cannot grow it")
    table = bytearray(btf[start:])
    found: dict[str, int] = {"": 0}
    added = False
    for s in strings:
        if s in found:
            continue
        needle = s.encode() + b"\0"
        pos = table.find(needle)
        whole = pos
        while whole > 0 and table[whole - 1] != 0:
            whole = table.find(needle, whole + 1)
        if whole >= 0:
            pos = whole
        if pos < 0:
            pos = len(table)
            table += needle
            added = True
        found[s] = pos
    if len(table) > MAX_NAME_OFFSET + 1:
        raise BTFError(f"string table too large ({len(table)} bytes)")
    if not added:
        return btf, found
    new_header = header.pack(
        magic, version, flags, hdr_len, type_off, type_len, str_off, len(table)
    )
    return new_header + btf[HEADER_SIZE:start] + bytes(table), found
