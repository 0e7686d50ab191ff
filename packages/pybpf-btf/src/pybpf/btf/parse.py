"""Raw BTF framing: the header, the string table and the offset of every type record.

This is all that loading checks up front: header and section bounds, and that
the type section is a whole number of well-formed records. Decoding a record
into a :class:`~pybpf.btf.types.Type` happens later, one type at a time
(:mod:`pybpf.btf.parse_types`).

The type section is kept as an ``array('I')`` of 32-bit words in the host's
byte order (swapped once when the BTF is foreign), so decoding is plain
indexing.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import Literal

from pybpf.btf.errors import BTFError
from pybpf.btf.types import Kind

__all__ = ["HEADER_SIZE", "MAGIC", "ByteOrder", "BytesLike", "RawBTF", "detect_byte_order"]

MAGIC = 0xEB9F
VERSION = 1
HEADER_SIZE = 24
# The kernel's limits (include/uapi/linux/btf.h and kernel/bpf/btf.c).
MAX_TYPE_ID = 0x000F_FFFF
MAX_NAME_OFFSET = 0x00FF_FFFF

ByteOrder = Literal["little", "big"]
BytesLike = bytes | bytearray | memoryview

_HEADER = {"little": struct.Struct("<HBBIIIII"), "big": struct.Struct(">HBBIIIII")}

# Extra 32-bit words after the 3-word common header, per kind: (fixed, per vlen item).
_EXTRA: dict[int, tuple[int, int]] = {
    Kind.INT: (1, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (3, 0),
    Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3),
    Kind.ENUM: (0, 2),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 2),
    Kind.VAR: (1, 0),
    Kind.DATASEC: (0, 3),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 3),
}
# Kinds whose vlen field is a count of trailing items (FUNC keeps its linkage there).
_VLEN_KINDS = frozenset(
    {Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FUNC_PROTO, Kind.DATASEC, Kind.ENUM64, Kind.FUNC}
)
_KFLAG_KINDS = frozenset(
    {Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64, Kind.DECL_TAG, Kind.TYPE_TAG}
)


def detect_byte_order(data: BytesLike) -> ByteOrder:
    """The byte order of raw BTF, from its magic number."""
    head = bytes(memoryview(data)[:2])
    if head == b"\x9f\xeb":
        return "little"
    if head == b"\xeb\x9f":
        return "big"
    if len(head) < 2:
        raise BTFError("truncated BTF header at offset 0")
    raise BTFError(f"bad BTF magic {head.hex()} at offset 0 (want 0xeb9f)")


def _record_words(info: int, offset: int) -> int:
    """The length in words of a record with this ``info``; checks kind, vlen, kind_flag."""
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    extra = _EXTRA.get(kind)
    if extra is None:
        raise BTFError(f"unknown BTF kind {kind} at type section offset {offset}")
    if info & 0x60FF_0000:
        raise BTFError(f"reserved info bits set ({info:#x}) at type section offset {offset}")
    if vlen and kind not in _VLEN_KINDS:
        raise BTFError(f"{Kind(kind).name} with vlen {vlen} at type section offset {offset}")
    if kind == Kind.FUNC and vlen > 2:
        raise BTFError(f"FUNC with bad linkage {vlen} at type section offset {offset}")
    if info >> 31 and kind not in _KFLAG_KINDS:
        raise BTFError(f"{Kind(kind).name} with kind_flag at type section offset {offset}")
    fixed, per_item = extra
    return 3 + fixed + per_item * vlen


class RawBTF:
    """One BTF blob, framed: header checked, strings and record offsets known.

    ``first_id`` is 1 for base BTF, or the base's type count for split BTF;
    ``base_strings_len`` is where this blob's string offsets start.
    """

    __slots__ = (
        "_name_index",
        "base_strings_len",
        "byte_order",
        "first_id",
        "offsets",
        "strings",
        "type_bytes",
        "words",
    )

    def __init__(self, data: BytesLike, *, first_id: int = 1, base_strings_len: int = 0) -> None:
        view = memoryview(data).cast("B")
        self.byte_order = detect_byte_order(view)
        size = len(view)
        if size < HEADER_SIZE:
            raise BTFError(f"truncated BTF header: {size} bytes, want {HEADER_SIZE}")
        _, version, flags, hdr_len, type_off, type_len, str_off, str_len = _HEADER[
            self.byte_order
        ].unpack_from(view)
        if version != VERSION:
            raise BTFError(f"unsupported BTF version {version} at offset 2")
        if flags:
            raise BTFError(f"unsupported BTF flags {flags:#x} at offset 3")
        if hdr_len < HEADER_SIZE or hdr_len > size:
            raise BTFError(f"bad BTF header length {hdr_len} (blob is {size} bytes)")
        if any(view[HEADER_SIZE:hdr_len]):
            raise BTFError("unknown non-zero fields in BTF header")
        body = size - hdr_len
        if type_off % 4 or type_len % 4:
            raise BTFError(f"type section at {type_off} (+{type_len}) is not 4-byte aligned")
        if type_off + type_len > body:
            raise BTFError(
                f"type section {hdr_len + type_off}..{hdr_len + type_off + type_len} "
                f"past the end ({size} bytes)"
            )
        if str_off + str_len > body:
            raise BTFError(
                f"string section {hdr_len + str_off}..{hdr_len + str_off + str_len} "
                f"past the end ({size} bytes)"
            )
        if type_off < str_off + str_len and str_off < type_off + type_len:
            raise BTFError("type and string sections overlap")
        strings = bytes(view[hdr_len + str_off : hdr_len + str_off + str_len])
        if base_strings_len == 0 or str_len:
            if not strings or strings[-1] != 0:
                raise BTFError(f"string section at {hdr_len + str_off} is not NUL-terminated")
            if base_strings_len == 0 and strings[0] != 0:
                raise BTFError(f"string section at {hdr_len + str_off} does not start with NUL")
        if base_strings_len + str_len > MAX_NAME_OFFSET + 1:
            raise BTFError(f"string section too large ({str_len} bytes)")
        self.strings = strings
        self.base_strings_len = base_strings_len
        self.first_id = first_id
        type_view = view[hdr_len + type_off : hdr_len + type_off + type_len]
        self.type_bytes = bytes(type_view)
        words = array("I")
        words.frombytes(self.type_bytes)
        if self.byte_order != sys.byteorder:
            words.byteswap()
        self.words = words
        self.offsets = _index(words, hdr_len + type_off)
        if first_id + len(self.offsets) - 1 > MAX_TYPE_ID:
            raise BTFError(f"too many types: {first_id + len(self.offsets) - 1}")
        self._name_index: dict[int, list[int]] | None = None

    @property
    def count(self) -> int:
        """The number of type records in this blob."""
        return len(self.offsets)

    def string(self, offset: int) -> str | None:
        """The string at ``offset`` of this blob (None when it belongs to the base)."""
        rel = offset - self.base_strings_len
        if rel < 0:
            return None
        end = self.strings.find(b"\0", rel)
        if end < 0:
            raise BTFError(f"string offset {offset} out of range")
        return self.strings[rel:end].decode("utf-8", "replace")

    def name_offsets(self, name: str) -> list[int]:
        """Every offset (absolute) in this blob's strings where ``name`` is stored."""
        needle = name.encode() + b"\0"
        found = []
        pos = self.strings.find(needle)
        while pos >= 0:
            found.append(pos + self.base_strings_len)
            pos = self.strings.find(needle, pos + 1)
        return found

    def ids_named(self, name_offset: int) -> Iterator[int]:
        """The ids of this blob's types whose ``name_off`` is ``name_offset``."""
        if self._name_index is not None:
            yield from self._name_index.get(name_offset, ())
            return
        pattern = struct.pack("<I" if self.byte_order == "little" else ">I", name_offset)
        data = self.type_bytes
        offsets = self.offsets
        hits = 0
        pos = data.find(pattern)
        while pos >= 0:
            if pos % 4 == 0:
                word = pos // 4
                i = bisect_left(offsets, word)
                if i < len(offsets) and offsets[i] == word:
                    yield self.first_id + i
                hits += 1
                # A small offset matches many sizes and ids: index every name once instead.
                if hits > 64:
                    self._build_name_index()
                    assert self._name_index is not None
                    for type_id in self._name_index.get(name_offset, ()):
                        if offsets[type_id - self.first_id] > word:
                            yield type_id
                    return
            pos = data.find(pattern, pos + 1)

    def _build_name_index(self) -> None:
        index: dict[int, list[int]] = {}
        words = self.words
        type_id = self.first_id
        for off in self.offsets:
            index.setdefault(words[off], []).append(type_id)
            type_id += 1
        self._name_index = index

    def kind_of(self, type_id: int) -> int:
        """The BTF kind number of a type of this blob."""
        return (self.words[self.offsets[type_id - self.first_id] + 1] >> 24) & 0x1F


def _index(words: array[int], section_offset: int) -> array[int]:
    """The word offset of every record, checking that records tile the section exactly."""
    n = len(words)
    starts: list[int] = []
    append = starts.append
    lengths: dict[int, int] = {}
    get = lengths.get
    i = 0
    try:
        while i < n:
            append(i)
            info = words[i + 1]
            step = get(info)
            if step is None:
                step = lengths[info] = _record_words(info, section_offset + 4 * i)
            i += step
    except IndexError:
        pass
    if i != n:
        raise BTFError(
            f"type {len(starts)} at offset {section_offset + 4 * starts[-1]} "
            f"runs past the end of the type section"
        )
    return array("I", starts)
