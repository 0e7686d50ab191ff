"""Raw BTF framing: the header, the string table and the offset of every type record.

This is all that loading checks up front: header and section bounds, and that
the type section is a whole number of well-formed records. Decoding a record
into a :class:`~pybpf.btf.types.Type` happens later, one type at a time
(:mod:`pybpf.btf.parse_types`).

Finding where each record starts touches every record (126k in vmlinux). Where
pybpf-core was installed compiled, its wheel carries ``_pybpf_btf_scan``, the
same walk in C (pybpf.btf may not import pybpf.core, so it looks that module
up by name; the contract is this module's, see :func:`_compiled_scan`). The
walk here in Python is the reference and what offline installs use; setting
``PYBPF_BTF_SCAN=python`` makes it the one used.

The type section is kept as an ``array('I')`` of 32-bit words in the host's
byte order (swapped once when the BTF is foreign), so decoding is plain
indexing.
"""

from __future__ import annotations

import functools
import operator
import os
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from types import ModuleType

from pybpf.asm.exports import compiled_module
from pybpf.btf._index_cache import RecordIndex
from pybpf.btf.errors import BTFError
from pybpf.btf.types import Kind

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["HEADER_SIZE", "MAGIC", "BytesLike", "RawBTF", "detect_byte_order"]

MAGIC = 0xEB9F
VERSION = 1
HEADER_SIZE = 24
# The kernel's limits (include/uapi/linux/btf.h and kernel/bpf/btf.c).
MAX_TYPE_ID = 0x000F_FFFF
MAX_NAME_OFFSET = 0x00FF_FFFF

BytesLike = bytes | bytearray | memoryview

# Name lookups that scan the type section before its names get packed for reuse.
_SCANS_BEFORE_PACKING = 8
# Type sections and packed name tables smaller than this are searched with
# bytes.find, larger ones with re (see _starts).
_FIND_BELOW = 1 << 16
# Names whose string offsets a blob remembers (RawBTF.name_offsets).
_NAMES_REMEMBERED = 4096

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
# A FUNC's vlen is its linkage: static, global or extern.
_FUNC_LINKAGES = 3

# The compiled scan's contract (see _compiled_scan): the module, the version of
# its functions this code calls, and the rules above as it takes them.
_SCAN_MODULE = "_pybpf_btf_scan"
_SCAN_VERSION = 6
# Type sections this large (in words) are walked by the compiled scan: below
# it, the walk in Python costs less than loading the module (an object's BTF).
_SCAN_COMPILED_FROM = 16384
# ... unless the process has walked this many smaller ones already: one that
# reads object after object pays for loading the module within a few more.
_SMALL_WALKS_BEFORE_COMPILED = 8


def _kind_rules() -> bytes:
    """The rules above per kind number (32 of them), as the compiled scan takes them.

    Four native 16-bit words each: the words before its items (0: no such
    kind), the words per item, the largest vlen, whether kind_flag may be set.
    """
    rules: list[int] = []
    for kind in range(32):
        if kind not in _EXTRA:
            rules += [0, 0, 0, 0]
            continue
        fixed, per_item = _EXTRA[kind]
        max_vlen = 0
        if kind in _VLEN_KINDS:
            max_vlen = _FUNC_LINKAGES - 1 if kind == Kind.FUNC else 0xFFFF
        rules += [3 + fixed, per_item, max_vlen, kind in _KFLAG_KINDS]
    return struct.pack(f"={len(rules)}H", *rules)


_KIND_RULES = _kind_rules()


@functools.cache
def _compiled_scan() -> ModuleType | None:
    """The compiled record scan, when installed, of this code's version, and not turned off.

    It is ``_pybpf_btf_scan``, built from pybpf-core's C sources into its
    wheel. Its ``VERSION`` is 6 and it has five functions, each returning None
    where the Python code raises or must decide (which then says what is wrong):

    - ``index(types, rules)``: for a type section of native-order words,
      every record's word offset and name offset, as two ``bytes`` of native
      uint32 (what :func:`_index` and ``RawBTF._packed_names`` compute);
      ``rules`` is :data:`_KIND_RULES`.
    - ``name_order(strings, names)``: the indices of the records with a
      non-empty name sorted by name then index, as ``bytes`` of native uint32
      (what :func:`pybpf.btf.name_order.build` computes).
    - ``dump(types, offsets, strings, base_strings_len, first_id, start, stop,
      json)``: records ``start`` to ``stop`` as ``bytes`` of bpftool's raw
      dump or of its compact JSON objects joined by commas (what
      :mod:`pybpf.btf.raw_records` makes); ``offsets`` are native uint32,
      ``strings`` the blob's own table.
    - ``pointer_members(types, offsets, decoded, first_id, type_id, kinds)``
      (from version 4): the members of a struct of pointers as
      :meth:`Spec.pointer_members <pybpf.btf.Spec.pointer_members>` reads them
      (a list of 7-tuples of ints); ``decoded`` is the spec's dict of the types
      made so far, by index (a record there is not read), ``offsets`` native uint32,
      ``kinds`` a bit per kind looked through, then the numbers of PTR, ARRAY
      and STRUCT.
    - ``ext_tables(data, types, offsets, first_id, strings_end)`` (from
      version 5): a ``.BTF.ext`` section of either byte order as columns per
      ELF section, its func and line infos checked as
      :func:`pybpf.btf.ext.packed.load_packed_ext_infos` checks them (see
      ``_compiled_tables`` there); ``types`` and ``offsets`` are the object's
      type section and record offsets (native uint32), ``strings_end`` the end
      of its string table.

    It also has ``map_readonly(fd, size)``, which :mod:`pybpf.btf._mapping`
    uses when present: the file's first ``size`` bytes mapped private and
    read-only as a buffer object that unmaps with its last view, or None
    where mmap(2) refuses; and (from version 3) ``strings(table, base)``,
    every string of a string table by its offset (``base`` plus where it
    starts), decoded as ``bytes.decode("utf-8", "replace")`` does, what
    follows the last NUL left out (what :meth:`Decoder._decode_all_strings
    <pybpf.btf.parse_types.Decoder>` computes); and (from version 6)
    ``checksum(data)``, XXH64 with seed 0 of a contiguous buffer as an int,
    the whole-entry check of :mod:`pybpf.btf._index_cache`.
    """
    if os.environ.get("PYBPF_BTF_SCAN") == "python":
        return None
    return compiled_module(_SCAN_MODULE, _SCAN_VERSION)


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
    if kind == Kind.FUNC and vlen >= _FUNC_LINKAGES:
        raise BTFError(f"FUNC with bad linkage {vlen} at type section offset {offset}")
    if info >> 31 and kind not in _KFLAG_KINDS:
        raise BTFError(f"{Kind(kind).name} with kind_flag at type section offset {offset}")
    fixed, per_item = extra
    return 3 + fixed + per_item * vlen


class RawBTF:
    """One BTF blob, framed: header checked, strings and record offsets known.

    ``first_id`` is 1 for base BTF, or the base's next free id for split BTF;
    ``base_strings_len`` is where this blob's string offsets start.
    """

    __slots__ = (
        "_names",
        "_offsets_by_name",
        "_scans",
        "_string_view",
        "_strings",
        "_types_at",
        "base_strings_len",
        "by_name",
        "byte_order",
        "data",
        "first_id",
        "infos",
        "offsets",
        "strings_len",
        "words",
    )

    def __init__(
        self,
        data: BytesLike,
        *,
        first_id: int = 1,
        base_strings_len: int = 0,
        index: RecordIndex | None = None,
        in_place: bool = False,
    ) -> None:
        """Frame ``data``; ``index`` is a saved :meth:`record_index` of the same bytes.

        ``in_place`` says ``data`` cannot change while this object lives (a
        mapped kernel BTF file): it is used without a copy.
        """
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
        strings = view[hdr_len + str_off : hdr_len + str_off + str_len]
        if base_strings_len == 0 or str_len:
            if not strings or strings[-1] != 0:
                raise BTFError(f"string section at {hdr_len + str_off} is not NUL-terminated")
            if base_strings_len == 0 and strings[0] != 0:
                raise BTFError(f"string section at {hdr_len + str_off} does not start with NUL")
        if base_strings_len + str_len > MAX_NAME_OFFSET + 1:
            raise BTFError(f"string section too large ({str_len} bytes)")
        # The table is copied (for C-speed searches) only when a search needs
        # it; reading one name at a time uses the view.
        self._strings: bytes | None = None
        self._string_view = strings if in_place or type(data) is bytes else None
        if self._string_view is None:
            self._strings = bytes(strings)
        self.strings_len: int = str_len
        self.base_strings_len = base_strings_len
        self.first_id = first_id
        start = hdr_len + type_off
        # Native-order words are a view of the blob itself: no copy of vmlinux.
        self.data: bytes | memoryview = data if type(data) is bytes else view
        if not in_place and type(data) is not bytes:
            self.data = bytes(view)
        type_view = memoryview(self.data)[start : start + type_len]
        if self.byte_order == sys.byteorder:
            native = type_view.cast("I")
            self.words: Sequence[int] = native
        else:
            swapped = array("I")
            swapped.frombytes(type_view)
            swapped.byteswap()
            self.words = swapped
            native = memoryview(swapped)
        # The words one ahead: record i's info word is infos[i] (no copy).
        self.infos: Sequence[int] = native[1:]
        self._names: bytes | memoryview | None = None
        self.offsets: Sequence[int]
        #: Named records (indices) sorted by name, when a saved index has them.
        self.by_name: Sequence[int] | None = None
        if index is not None and _fits(index, self.words, self.infos):
            self.offsets, self._names, self.by_name = index
        else:
            self.offsets, self._names = _frame(native, self.words, self.infos, start)
        if first_id + len(self.offsets) - 1 > MAX_TYPE_ID:
            raise BTFError(f"too many types: {first_id + len(self.offsets) - 1}")
        self._scans = 0
        self._offsets_by_name: dict[str, list[int]] = {}
        self._types_at = start

    @property
    def count(self) -> int:
        """The number of type records in this blob."""
        return len(self.offsets)

    @property
    def strings(self) -> bytes:
        """The string table (copied from the blob on first use)."""
        strings = self._strings
        if strings is None:
            assert self._string_view is not None
            strings = self._strings = bytes(self._string_view)
        return strings

    def cstring(self, rel: int) -> bytes:
        """The string at ``rel`` (relative to this blob's table), without its NUL.

        ``rel`` must be inside the table, which is NUL-terminated.
        """
        strings = self._strings
        if strings is not None:
            return strings[rel : strings.index(b"\0", rel)]
        view = self._string_view
        assert view is not None
        size = 64
        while True:
            chunk = bytes(view[rel : rel + size])
            end = chunk.find(b"\0")
            if end >= 0:
                return chunk[:end]
            size *= 8

    def string(self, offset: int) -> str | None:
        """The string at ``offset`` of this blob (None when it belongs to the base)."""
        rel = offset - self.base_strings_len
        if rel < 0:
            return None
        if rel >= self.strings_len:
            raise BTFError(f"string offset {offset} out of range")
        return self.cstring(rel).decode("utf-8", "replace")

    def name_offsets(self, name: str) -> list[int]:
        """Every offset (absolute) in this blob's strings where ``name`` is stored.

        Remembered per name: a base blob (vmlinux) is asked again for each
        split blob (module) over it.
        """
        found = self._offsets_by_name.get(name)
        if found is None:
            needle = name.encode() + b"\0"
            found = []
            pos = self.strings.find(needle)
            while pos >= 0:
                found.append(pos + self.base_strings_len)
                pos = self.strings.find(needle, pos + 1)
            if len(self._offsets_by_name) >= _NAMES_REMEMBERED:
                self._offsets_by_name.clear()
            self._offsets_by_name[name] = found
        return found.copy()

    def ids_named(self, name_offsets: list[int], *, many: bool = False) -> list[int]:
        """The ids of this blob's types whose ``name_off`` is one of ``name_offsets``, sorted.

        ``many`` says more lookups will follow: pack every record's name now.
        """
        if not name_offsets:
            return []
        scans = self._scans + len(name_offsets)
        if self._names is None and not many and scans <= _SCANS_BEFORE_PACKING:
            self._scans += len(name_offsets)
            return self._scan_type_section(name_offsets)
        names = self._packed_names()
        found = []
        for name_off in name_offsets:
            # One literal is searched at a time, where an alternation of several
            # is tried byte by byte. A match off a 4-byte boundary straddles two
            # records.
            needle = array("I", [name_off]).tobytes()
            for pos in _starts(names, needle, 0, len(names)):
                if pos % 4 == 0:
                    found.append(self.first_id + pos // 4)
        found.sort()
        return found

    def record_index(self, by_name: Sequence[int] | None = None) -> RecordIndex:
        """Where every record starts and the name it has: what loading computes, for saving."""
        return self.offsets, self._packed_names(), by_name

    def _packed_names(self) -> bytes | memoryview:
        """Every record's name_off, packed: 0.5 MB for vmlinux, searched at C speed.

        Building it costs a few scans of the whole type section, so the first
        lookups scan instead.
        """
        names = self._names
        if names is None:
            offsets = self.offsets
            if len(offsets) > 1:
                values = operator.itemgetter(*offsets)(self.words)
            else:
                values = [self.words[o] for o in offsets]
            names = self._names = array("I", values).tobytes()
        return names

    def _scan_type_section(self, name_offsets: list[int]) -> list[int]:
        """``ids_named`` without the packed names: each offset's bytes found in the records."""
        data = self.data
        start = self._types_at
        stop = start + 4 * len(self.words)
        offsets = self.offsets
        found = set()
        for name_off in name_offsets:
            for pos in _starts(data, name_off.to_bytes(4, self.byte_order), start, stop):
                rel, misaligned = divmod(pos - start, 4)
                if not misaligned:
                    index = bisect_left(offsets, rel)
                    if index < len(offsets) and offsets[index] == rel:
                        found.add(self.first_id + index)
        return sorted(found)

    def ids_of_kind(self, kind: int) -> list[int]:
        """The ids of this blob's records of BTF kind number ``kind``, in order.

        The top byte of a record's info word is its kind and kind_flag (the
        bits between are reserved, and framing refused them set): every
        record's top byte is gathered at C speed and the kind's two values
        searched for, not each record's kind computed in Python.
        """
        offsets = self.offsets
        if not offsets:
            return []
        if len(offsets) > 1:
            infos = array("I", operator.itemgetter(*offsets)(self.infos))
        else:
            infos = array("I", [self.infos[offsets[0]]])
        tops = infos.tobytes()[_TOP_BYTE::4]
        found = [i for value in (kind, kind | 0x80) for i in _find_all(tops, value)]
        found.sort()
        first = self.first_id
        return [first + i for i in found]

    @property
    def native_offsets(self) -> array[int] | memoryview | None:
        """``offsets`` as native uint32, what the compiled scan reads; None for a list.

        The compiled scan's array and a saved index's view are; the Python
        walk gives a list.
        """
        offsets = self.offsets
        if isinstance(offsets, array | memoryview) and offsets.itemsize == 4:
            return offsets
        return None

    def kind_of(self, type_id: int) -> int:
        """The BTF kind number of a type of this blob."""
        return (self.words[self.offsets[type_id - self.first_id] + 1] >> 24) & 0x1F


#: Where a native u32's top byte is.
_TOP_BYTE = 3 if sys.byteorder == "little" else 0


def _find_all(data: bytes, value: int) -> list[int]:
    """Every index of the byte ``value`` in ``data``."""
    found = []
    pos = data.find(value)
    while pos >= 0:
        found.append(pos)
        pos = data.find(value, pos + 1)
    return found


def _starts(data: bytes | memoryview, needle: bytes, start: int, stop: int) -> Iterator[int]:
    """Every position of ``data[start:stop]`` where ``needle`` starts, overlapping ones too.

    A regex of one literal searches at memchr speed, where ``bytes.find`` is a
    few times slower here (the needle ends in a zero byte, the commonest byte of
    BTF): the kernel's BTF is searched with ``re``. An object's own BTF is small
    enough that ``bytes.find`` costs less than importing ``re`` does, which a
    load would otherwise import for its first DATASEC lookup.
    """
    if stop - start < _FIND_BELOW:
        part = bytes(data[start:stop])
        pos = part.find(needle)
        while pos >= 0:
            yield start + pos
            pos = part.find(needle, pos + 1)
        return
    import re  # noqa: PLC0415 (large blobs only, see above)

    search = re.compile(re.escape(needle)).search
    match = search(data, start, stop)
    while match is not None:
        yield match.start()
        match = search(data, match.start() + 1, stop)


def _fits(index: RecordIndex, words: Sequence[int], infos: Sequence[int]) -> bool:
    """Whether a saved index frames these words: a name per record, the last one ending them."""
    offsets, names, _ = index
    if not offsets or len(names) != 4 * len(offsets) or offsets[0] != 0:
        return False
    last = offsets[-1]
    if last >= len(words) - 2:
        return False
    try:
        if last + _record_words(infos[last], 0) != len(words):
            return False
    except BTFError:
        return False
    # Spot checks of the names: the first and the last record's.
    packed = memoryview(names).cast("I")
    return packed[0] == words[0] and packed[-1] == words[last]


#: How many type sections below :data:`_SCAN_COMPILED_FROM` this process walked in Python.
_small_walks = 0


def _compiled_scan_for(words: int) -> ModuleType | None:
    """The compiled scan for work on a blob of ``words`` type words, when it pays to use it.

    As for walking the records (:func:`_frame`): for a large blob, or once this
    process has read enough small ones that loading the module is paid for.
    """
    if words >= _SCAN_COMPILED_FROM or _small_walks >= _SMALL_WALKS_BEFORE_COMPILED:
        return _compiled_scan()
    return None


def _frame(
    native: memoryview, words: Sequence[int], infos: Sequence[int], section_offset: int
) -> tuple[Sequence[int], bytes | None]:
    """Every record's word offset, and their packed name offsets when the compiled scan found them.

    ``native`` is the type section in native byte order: ``words`` as a buffer.
    """
    global _small_walks  # noqa: PLW0603 (a count of this process's walks)
    scan = None
    if len(words) >= _SCAN_COMPILED_FROM or _small_walks >= _SMALL_WALKS_BEFORE_COMPILED:
        scan = _compiled_scan()
    else:
        _small_walks += 1
    if scan is not None:
        found = scan.index(native, _KIND_RULES)
        if found is not None:
            offsets = array("I")
            offsets.frombytes(found[0])
            return offsets, found[1]
    # Malformed (the walk below says how), or no compiled scan.
    return _index(words, infos, section_offset), None


def _index(words: Sequence[int], infos: Sequence[int], section_offset: int) -> list[int]:
    """The word offset of every record, checking that records tile the section exactly."""
    n = len(words)
    starts: list[int] = []
    append = starts.append
    lengths: dict[int, int] = {}
    i = 0
    # The hot loop of loading vmlinux: one dict hit per record, no bounds test
    # (running off the end raises IndexError, which ends the loop).
    try:
        while True:
            append(i)
            try:
                i += lengths[infos[i]]
            except KeyError:
                info = infos[i]
                lengths[info] = _record_words(info, section_offset + 4 * i)
                i += lengths[info]
    except IndexError:
        starts.pop()
    if i != n:
        # Either a record header is cut short at i, or the last record overran.
        number, at = (len(starts) + 1, i) if i < n else (len(starts), starts[-1])
        raise BTFError(
            f"type record {number} at offset {section_offset + 4 * at} "
            f"runs past the end of the type section"
        )
    return starts
