"""The byte layout of ``.BTF.ext``, as numbers: no strings or types resolved.

Layout (``struct btf_ext_header`` of libbpf, either byte order)::

    u16 magic 0xeb9f | u8 version 1 | u8 flags 0 | u32 hdr_len
    u32 func_info_off, func_info_len, line_info_off, line_info_len
    [u32 core_relo_off, core_relo_len]        (when hdr_len >= 32)

Each sub-section starts ``hdr_len + off`` bytes into the data with a u32
record size, then per ELF section ``u32 sec_name_off, u32 num_info`` and
``num_info`` records of that size. Records larger than the known layout
(a newer producer) are read by their known prefix.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Sequence

from pybpf.btf.errors import BTFError

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["SUBSECTIONS", "RawExtInfos", "RawSection", "marshal_raw", "parse_raw"]


MAGIC = 0xEB9F
VERSION = 1
_SHORT_HEADER = 24
_FULL_HEADER = 32

# Sub-section name -> number of u32 fields in its known record layout.
SUBSECTIONS: dict[str, int] = {"func_info": 2, "line_info": 4, "core_relo": 4}

Record = tuple[int, ...]


class RawSection:
    """The records of one ELF section in one sub-section, in file order.

    A parsed section keeps its records as one array of u32 words and builds
    the ``records`` tuples only when they are read: :meth:`columns` gives
    each field's values without them.
    """

    # Plain classes, not dataclasses: each dataclass costs a few hundred
    # microseconds to define, at every start of a process that loads an object.
    __slots__ = ("_nfields", "_records", "_words", "at", "name_off", "record_size")

    def __init__(
        self,
        name_off: int,
        records: list[Record] | None = None,
        at: int = 0,
        record_size: int = 0,
    ) -> None:
        self.name_off = name_off
        self._records: list[Record] | None = records if records is not None else []
        self._words: array[int] | None = None
        self._nfields = 0
        #: Where the first record starts in the parsed bytes, and each record's size.
        self.at = at
        self.record_size = record_size

    @classmethod
    def _packed(
        cls, name_off: int, words: array[int], nfields: int, at: int, record_size: int
    ) -> RawSection:
        """A section whose records are ``words`` (native order), ``nfields`` used per record."""
        sec = cls(name_off, None, at, record_size)
        sec._records = None
        sec._words = words
        sec._nfields = nfields
        return sec

    @classmethod
    def joined(cls, sections: list[RawSection]) -> RawSection | None:
        """Every record of ``sections`` (of one sub-section) as one section, to check at once.

        None unless each was parsed packed with one record layout. The result
        names the first section and places its records from the first one's
        start: it is for checks, not for saying where a record is.
        """
        first = sections[0]
        words = array("I")
        for sec in sections:
            if (
                sec._words is None
                or sec.record_size != first.record_size
                or sec._nfields != first._nfields
            ):
                return None
            words += sec._words
        return cls._packed(first.name_off, words, first._nfields, first.at, first.record_size)

    @property
    def records(self) -> list[Record]:
        """Each record's known fields, as a tuple."""
        records = self._records
        if records is None:
            records = self._records = list(zip(*self.columns(), strict=True))
        return records

    def columns(self) -> list[Sequence[int]]:
        """Each known field's values, one sequence per field, in record order.

        A parsed section gives arrays of u32 (``array("I")``), made without a
        Python object per record.
        """
        words = self._words
        if words is None:
            return [list(column) for column in zip(*self.records, strict=True)]
        stride = self.record_size // 4
        return [words[k::stride] for k in range(self._nfields)]

    def record_at(self, index: int) -> int:
        """The byte offset of record ``index`` in the parsed ``.BTF.ext``."""
        return self.at + index * self.record_size


class RawExtInfos:
    """``.BTF.ext`` as numbers: string offsets, type ids and byte offsets."""

    __slots__ = ("byteorder", "core_relo", "func_info", "has_core_relo_header", "line_info")

    def __init__(
        self,
        byteorder: ByteOrder = "little",
        func_info: list[RawSection] | None = None,
        line_info: list[RawSection] | None = None,
        core_relo: list[RawSection] | None = None,
        has_core_relo_header: bool = True,
    ) -> None:
        self.byteorder = byteorder
        self.func_info = func_info if func_info is not None else []
        self.line_info = line_info if line_info is not None else []
        self.core_relo = core_relo if core_relo is not None else []
        #: False when the header stops before the CO-RE fields (an older producer).
        self.has_core_relo_header = has_core_relo_header


def _fail(offset: int, message: str) -> BTFError:
    return BTFError(f".BTF.ext: byte offset {offset}: {message}")


def parse_raw(data: bytes | bytearray | memoryview) -> RawExtInfos:
    """Parse ``.BTF.ext`` bytes of either byte order; :class:`BTFError` if malformed."""
    buf = bytes(data)
    if len(buf) < 8:
        raise _fail(0, f"header needs 8 bytes, section has {len(buf)}")
    if buf[0:2] == MAGIC.to_bytes(2, "little"):
        byteorder: ByteOrder = "little"
    elif buf[0:2] == MAGIC.to_bytes(2, "big"):
        byteorder = "big"
    else:
        raise _fail(0, f"bad magic {buf[0:2].hex()} (want 9feb or eb9f)")
    prefix = "<" if byteorder == "little" else ">"
    if buf[2] != VERSION:
        raise _fail(2, f"unsupported version {buf[2]}")
    if buf[3] != 0:
        raise _fail(3, f"unsupported flags {buf[3]:#x}")
    (hdr_len,) = struct.unpack_from(prefix + "I", buf, 4)
    if hdr_len < _SHORT_HEADER:
        raise _fail(4, f"header length {hdr_len} is shorter than {_SHORT_HEADER}")
    if hdr_len > len(buf):
        raise _fail(4, f"header length {hdr_len} exceeds the section's {len(buf)} bytes")
    has_core = hdr_len >= _FULL_HEADER
    nfields = 6 if has_core else 4
    fields = struct.unpack_from(prefix + "I" * nfields, buf, 8)

    raw = RawExtInfos(byteorder=byteorder, has_core_relo_header=has_core)
    for i, name in enumerate(SUBSECTIONS if has_core else ("func_info", "line_info")):
        off, length = fields[2 * i], fields[2 * i + 1]
        sections = _parse_subsection(
            buf, prefix, name, hdr_len=hdr_len, off=off, length=length, field_at=8 + 8 * i
        )
        setattr(raw, name, sections)
    return raw


def _parse_subsection(
    buf: bytes, prefix: str, name: str, *, hdr_len: int, off: int, length: int, field_at: int
) -> list[RawSection]:
    if length == 0:
        return []
    if off % 4:
        raise _fail(field_at, f"{name} offset {off} is not 4-byte aligned")
    start = hdr_len + off
    end = start + length
    if end > len(buf):
        raise _fail(
            field_at, f"{name} ({length} bytes at {start}) runs past the end ({len(buf)} bytes)"
        )
    if length < 4:
        raise _fail(start, f"{name} has no record size")
    nfields = SUBSECTIONS[name]
    known = 4 * nfields
    (rec_size,) = struct.unpack_from(prefix + "I", buf, start)
    if rec_size < known or rec_size % 4:
        raise _fail(start, f"{name} record size {rec_size} (need a multiple of 4, >= {known})")
    swap = prefix != ("<" if sys.byteorder == "little" else ">")
    sec_header = struct.Struct(prefix + "II")

    sections: list[RawSection] = []
    pos = start + 4
    while pos < end:
        if end - pos < sec_header.size:
            raise _fail(pos, f"{name}: truncated section header ({end - pos} bytes left)")
        name_off, count = sec_header.unpack_from(buf, pos)
        if count == 0:
            raise _fail(pos + 4, f"{name}: section with no records")
        pos += sec_header.size
        if count * rec_size > end - pos:
            raise _fail(
                pos - 4,
                f"{name}: {count} records of {rec_size} bytes exceed the {end - pos} bytes left",
            )
        # Every record at once, as u32 words: the columns are strided slices.
        words = array("I", buf[pos : pos + count * rec_size])
        if swap:
            words.byteswap()
        sections.append(RawSection._packed(name_off, words, nfields, pos, rec_size))
        pos += count * rec_size
    return sections


def marshal_raw(raw: RawExtInfos, byteorder: ByteOrder | None = None) -> bytes:
    """Encode ``raw`` as ``.BTF.ext`` bytes (known record sizes, the full header)."""
    order = byteorder or raw.byteorder
    prefix = "<" if order == "little" else ">"
    bodies: list[bytes] = []
    for name, nfields in SUBSECTIONS.items():
        sections: list[RawSection] = getattr(raw, name)
        bodies.append(_marshal_subsection(prefix, nfields, sections))
    header = struct.pack(prefix + "HBBI", MAGIC, VERSION, 0, _FULL_HEADER)
    offsets: list[int] = []
    off = 0
    for body in bodies:
        offsets += [off, len(body)]
        off += len(body)
    header += struct.pack(prefix + "6I", *offsets)
    return header + b"".join(bodies)


def _marshal_subsection(prefix: str, nfields: int, sections: list[RawSection]) -> bytes:
    if not sections:
        return b""
    record = struct.Struct(prefix + "I" * nfields)
    parts = [struct.pack(prefix + "I", record.size)]
    for sec in sections:
        if not sec.records:
            continue
        parts.append(struct.pack(prefix + "II", sec.name_off, len(sec.records)))
        parts.extend(record.pack(*rec) for rec in sec.records)
    return b"".join(parts)
