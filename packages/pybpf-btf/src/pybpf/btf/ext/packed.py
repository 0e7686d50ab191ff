"""``.BTF.ext`` records kept packed: checked all at once, built one at a time.

An object has a line record for every few instructions. :func:`load_packed_ext_infos`
checks every record as :func:`~pybpf.btf.ext.infos.load_ext_infos` does (the
same errors, at the same record) but keeps them as columns of numbers; a
:class:`RecordTable` builds the record object of a row when asked. The ELF
reader hands the tables to the instructions (see
:class:`pybpf.asm.instruction.DeferredMetadata`), so that a record object is
made only for an instruction whose metadata is read.
"""

from __future__ import annotations

import functools
import operator
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence

from pybpf.btf.errors import BTFError, TypeNotFoundError
from pybpf.btf.ext.records import CORERelocation, CORERelocKind, FuncInfo, LineInfo
from pybpf.btf.ext.wire import RawSection, parse_raw
from pybpf.btf.parse import _compiled_scan_for
from pybpf.btf.spec import Spec
from pybpf.btf.types import Func, Kind, Type

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Generic, NoReturn, TypeVar

    from pybpf.asm import ByteOrder
else:
    from pybpf.asm.runtime_typing import Generic, TypeVar

__all__ = ["PackedExtInfos", "RecordTable", "load_packed_ext_infos"]

_INSN_SIZE = 8
_INT_MAX = 0x7FFFFFFF

_R = TypeVar("_R", FuncInfo, LineInfo, CORERelocation)


class RecordTable(Generic[_R]):
    """The records of one kind for one ELF section, as columns, in file order.

    ``offsets[row]`` is the instruction (in slots from the section's start)
    that record ``row`` describes; ``build(row)`` makes the record, a new
    (equal) object at each call.
    """

    __slots__ = ("build", "kind", "offsets")

    def __init__(self, kind: type[_R], offsets: Sequence[int], build: Callable[[int], _R]) -> None:
        self.kind: type[_R] = kind
        self.offsets = offsets
        self.build: Callable[[int], _R] = build

    def __len__(self) -> int:
        return len(self.offsets)

    def records(self) -> list[_R]:
        """Every record, built."""
        return list(map(self.build, range(len(self.offsets))))


class PackedExtInfos:
    """Everything ``.BTF.ext`` says, per ELF section name, as :class:`RecordTable` objects."""

    # Plain classes, not dataclasses: each dataclass costs a few hundred
    # microseconds to define, at every start of a process that loads an object.
    __slots__ = ("byte_order", "core_relocations", "func_infos", "line_infos")

    def __init__(
        self,
        func_infos: dict[str, RecordTable[FuncInfo]] | None = None,
        line_infos: dict[str, RecordTable[LineInfo]] | None = None,
        core_relocations: dict[str, RecordTable[CORERelocation]] | None = None,
        byte_order: ByteOrder = "little",
    ) -> None:
        self.func_infos = func_infos if func_infos is not None else {}
        self.line_infos = line_infos if line_infos is not None else {}
        self.core_relocations = core_relocations if core_relocations is not None else {}
        self.byte_order = byte_order

    def tables(
        self, section: str
    ) -> Iterable[RecordTable[FuncInfo] | RecordTable[LineInfo] | RecordTable[CORERelocation]]:
        """The tables of ELF section ``section``: func, line, then CO-RE records."""
        for group in (self.func_infos, self.line_infos, self.core_relocations):
            table = group.get(section)
            if table is not None:
                yield table


def load_packed_ext_infos(data: bytes | bytearray | memoryview, spec: Spec) -> PackedExtInfos:
    """Parse and check ``.BTF.ext`` bytes against the object's ``spec``, keeping records packed.

    Raises :class:`BTFError` naming ``.BTF.ext``, the byte offset and the ELF
    section for any malformed record, unknown string or type, or a type of the
    wrong kind.
    """
    infos = _compiled_tables(data, spec)
    if infos is not None:
        return infos
    raw = parse_raw(data)
    if getattr(spec, "_raw", None) is None:
        raise BTFError(".BTF.ext needs the spec loaded from the same object's .BTF")
    resolve = _Resolver(spec)
    infos = PackedExtInfos(byte_order=raw.byteorder)
    # Each sub-section's records are checked at once; only when that finds
    # something wrong are they checked section by section, for the message.
    funcs_ok = _funcs_ok(resolve, _all_records(raw.func_info))
    for sec in raw.func_info:
        name = resolve.section_name(sec.name_off, sec.at, "func_info")
        _add(infos.func_infos, name, _func_infos(resolve, sec, name, checked=funcs_ok))
    lines_ok = _lines_ok(resolve, _all_records(raw.line_info))
    for sec in raw.line_info:
        name = resolve.section_name(sec.name_off, sec.at, "line_info")
        _add(infos.line_infos, name, _line_infos(resolve, sec, name, checked=lines_ok))
    for sec in raw.core_relo:
        name = resolve.section_name(sec.name_off, sec.at, "core_relo")
        _add(infos.core_relocations, name, _core_relocations(resolve, sec, name))
    return infos


def _compiled_tables(data: bytes | bytearray | memoryview, spec: Spec) -> PackedExtInfos | None:
    """:func:`load_packed_ext_infos` by the compiled scan; None where it is not used or declines.

    The scan reads the sub-sections, checks the func and line infos as the
    code below does (aligned offsets, FUNC type ids, string offsets in the
    table) and gives each section's columns, the offsets already slots, so
    that no Python code runs per record. It declines anything amiss (the
    code below then says what), and is used for an object's own blob only
    (split BTF's string offsets are checked one by one).
    """
    raw = spec._raw
    if raw is None or spec._base is not None:
        return None
    offsets = raw.native_offsets
    if offsets is None:
        return None
    # The records are the work: a large .BTF.ext pays for the module as a large blob does.
    scan = _compiled_scan_for(max(len(raw.words), len(data) // 4))
    if scan is None:
        return None
    found = scan.ext_tables(
        data, raw.words, offsets, spec._first, raw.base_strings_len + raw.strings_len
    )
    if found is None:
        return None
    little, funcs, lines, relos = found
    resolve = _Resolver(spec)
    infos = PackedExtInfos(byte_order="little" if little else "big")
    for name_off, at, slots, tids in funcs:
        name = resolve.section_name(name_off, at, "func_info")
        _add(infos.func_infos, name, _func_table(resolve, array("I", slots), array("I", tids)))
    for name_off, at, slots, files, line_offs, line_cols in lines:
        name = resolve.section_name(name_off, at, "line_info")
        table = _line_table(
            resolve,
            array("I", slots),
            array("I", files),
            array("I", line_offs),
            array("I", line_cols),
        )
        _add(infos.line_infos, name, table)
    for name_off, at, size, *columns in relos:
        records = list(zip(*(array("I", column) for column in columns), strict=True))
        sec = RawSection(name_off, records, at, size)
        name = resolve.section_name(name_off, at, "core_relo")
        _add(infos.core_relocations, name, _core_relocations(resolve, sec, name))
    return infos


def _add(group: dict[str, RecordTable[_R]], name: str, table: RecordTable[_R]) -> None:
    """Put ``table`` in ``group`` under its section's name, after a table of that name there."""
    group[name] = _merged(group.get(name), table)


def _merged(first: RecordTable[_R] | None, second: RecordTable[_R]) -> RecordTable[_R]:
    """Two tables of one section (a section named twice in a sub-section) as one."""
    if first is None:
        return second
    records = first.records() + second.records()
    return RecordTable(first.kind, [r.offset for r in records], records.__getitem__)


#: The low bytes of offsets that are multiples of 8, and where that byte is in a u32.
_ALIGNED_LOW_BYTES = bytes(range(0, 256, _INSN_SIZE))
_LOW_BYTE = 0 if sys.byteorder == "little" else 3


def _aligned(offsets: Sequence[int]) -> bool:
    if isinstance(offsets, array) and offsets.itemsize == 4:
        # Each u32's low byte, all at once: none may be left once the
        # multiples of 8 are deleted.
        low = memoryview(offsets).cast("B")[_LOW_BYTE::4]
        return not bytes(low).translate(None, _ALIGNED_LOW_BYTES)
    return not functools.reduce(operator.or_, offsets, 0) & (_INSN_SIZE - 1)


def _slots(offsets: Sequence[int]) -> Sequence[int]:
    """Byte offsets of instructions (checked to be multiples of 8) as slots."""
    if isinstance(offsets, array) and offsets.itemsize == 4 and len(offsets) > _BULK_SLOTS:
        # The u32 words as one integer, shifted right by 3 at C speed: the
        # bits each word gives its neighbour are its low three, all zero.
        slots = array("I")
        slots.frombytes(
            (int.from_bytes(offsets, sys.byteorder) >> 3).to_bytes(len(offsets) * 4, sys.byteorder)
        )
        return slots
    return [off >> 3 for off in offsets]


#: Below this many offsets, a list comprehension costs less than the detour.
_BULK_SLOTS = 64


def _all_below(columns: Sequence[array[int]], end: int) -> bool:
    """Whether every value of some arrays of u32, all of one length, is below ``end``.

    ``max()`` makes an int of each value; large columns are checked as big
    integers instead. A column's words, as one integer, are 32-bit lanes; the
    even and the odd ones are masked out into 64-bit groups, where adding
    ``2**32 - end`` to each carries into the group's bit 32 exactly when the
    lane's value is ``end`` or more, and never into the next group.
    """
    count = len(columns[0]) if columns else 0
    if count <= _BULK_SLOTS or any(c.itemsize != 4 or len(c) != count for c in columns):
        return all(not c or max(c) < end for c in columns)
    if end > 0xFFFFFFFF:
        return True
    if end <= 0:
        return False
    groups = (count + 1) // 2
    ones = int.from_bytes(b"\x01\0\0\0\0\0\0\0" * groups, "little")
    carry = ones << 32
    low = carry - ones
    bias = ones * ((1 << 32) - end)
    for column in columns:
        lanes = int.from_bytes(column, sys.byteorder)
        if ((lanes & low) + bias) & carry or (((lanes >> 32) & low) + bias) & carry:
            return False
    return True


# Frozen dataclasses refuse attribute assignment; their slot descriptors do not,
# and setting the slots costs half of calling the generated __init__.
_new = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    setter: Callable[[object, object], None] = vars(cls)[name].__set__
    return setter


_set_file = _slot_setter(LineInfo, "file")
_set_line = _slot_setter(LineInfo, "line")
_set_line_number = _slot_setter(LineInfo, "line_number")
_set_column = _slot_setter(LineInfo, "column")
_set_offset = _slot_setter(LineInfo, "offset")
_set_func = _slot_setter(FuncInfo, "func")
_set_func_offset = _slot_setter(FuncInfo, "offset")


def _all_records(sections: list[RawSection]) -> RawSection | None:
    """The records of a sub-section's sections as one, when they were parsed packed."""
    if len(sections) < 2:
        return sections[0] if sections else None
    return RawSection.joined(sections)


def _funcs_ok(resolve: _Resolver, records: RawSection | None) -> bool:
    """Whether func info records are all well-formed (True: no need to look at each)."""
    if records is None:
        return False
    offsets, tids = records.columns()
    return bool(offsets) and _aligned(offsets) and _all_funcs(resolve, set(tids))


def _lines_ok(resolve: _Resolver, records: RawSection | None) -> bool:
    """Whether line info records are all well-formed (True: no need to look at each)."""
    if records is None:
        return False
    offsets, files, lines, _ = records.columns()
    return bool(offsets) and resolve.in_string_table(files, lines) and _aligned(offsets)


def _func_infos(
    resolve: _Resolver, sec: RawSection, name: str, *, checked: bool = False
) -> RecordTable[FuncInfo]:
    """The function infos of ``sec``, each type checked once (``checked``: already done)."""
    offsets, tids = sec.columns()
    if not offsets:
        return RecordTable(FuncInfo, [], _no_record)
    if not checked and (not _aligned(offsets) or not _all_funcs(resolve, set(tids))):
        # Find the first bad record, in file order, for its exact message.
        for i, (insn_off, tid) in enumerate(sec.records):
            where = _Where(sec.record_at(i), "func_info", name)
            func = resolve.type(tid, where)
            if not isinstance(func, Func):
                raise where.error(f"type {tid} is {func!r}, not a Func")
            resolve.offset(insn_off, where)
    return _func_table(resolve, _slots(offsets), tids)


def _func_table(
    resolve: _Resolver, slots: Sequence[int], tids: Sequence[int]
) -> RecordTable[FuncInfo]:
    """The table of checked func infos: their instructions' slots and their Funcs' ids."""
    # Each Func is decoded when a record naming it is built, as the types are.
    type_by_id = resolve.spec.type_by_id

    def build(row: int) -> FuncInfo:
        info = _new(FuncInfo)
        _set_func(info, type_by_id(tids[row]))
        _set_func_offset(info, slots[row])
        return info

    return RecordTable(FuncInfo, slots, build)


def _all_funcs(resolve: _Resolver, tids: set[int]) -> bool:
    """Whether every id of ``tids`` is a FUNC of the spec, decoding none that need not be.

    The records of an object's own blob say their kind; only an id outside it
    (a type added by hand, or of a base) is decoded to look at its class.
    """
    raw = resolve.spec._raw
    first = raw.first_id if raw is not None else 0
    stop = first + raw.count if raw is not None else 0
    for tid in tids:
        if raw is not None and first <= tid < stop:
            if raw.kind_of(tid) != Kind.FUNC:
                return False
            continue
        try:
            t = resolve.spec.type_by_id(tid)
        except TypeNotFoundError:
            return False
        if t.__class__ is not Func:
            return False
    return True


def _line_infos(
    resolve: _Resolver, sec: RawSection, name: str, *, checked: bool = False
) -> RecordTable[LineInfo]:
    """The line infos of ``sec``: the bulk of ``.BTF.ext``, one per few instructions."""
    offsets, files, lines, line_cols = sec.columns()
    if not offsets:
        return RecordTable(LineInfo, [], _no_record)
    if not checked and (not resolve.in_string_table(files, lines) or not _aligned(offsets)):
        for i, (insn_off, file_off, line_off, _) in enumerate(sec.records):
            where = _Where(sec.record_at(i), "line_info", name)
            resolve.string(file_off, where)
            resolve.string(line_off, where)
            resolve.offset(insn_off, where)
    return _line_table(resolve, _slots(offsets), files, lines, line_cols)


def _line_table(
    resolve: _Resolver,
    slots: Sequence[int],
    files: Sequence[int],
    lines: Sequence[int],
    line_cols: Sequence[int],
) -> RecordTable[LineInfo]:
    """The table of checked line infos, by column: slots, file and line strings, line and column."""
    strings = resolve.strings
    text = resolve.text

    def build(row: int) -> LineInfo:
        line_col = line_cols[row]
        info = _new(LineInfo)
        _set_file(info, strings.get(files[row]) or text(files[row]))
        _set_line(info, strings.get(lines[row]) or text(lines[row]))
        _set_line_number(info, line_col >> 10)
        _set_column(info, line_col & 0x3FF)
        _set_offset(info, slots[row])
        return info

    return RecordTable(LineInfo, slots, build)


def _core_relocations(
    resolve: _Resolver, sec: RawSection, name: str
) -> RecordTable[CORERelocation]:
    """The CO-RE relocations of ``sec``, built now: there are few, and each checks much."""
    relos = []
    for i, (insn_off, tid, access_off, kind) in enumerate(sec.records):
        where = _Where(sec.record_at(i), "core_relo", name)
        relos.append(
            CORERelocation(
                resolve.type(tid, where),
                resolve.accessor(access_off, where),
                resolve.kind(kind, where),
                resolve.offset(insn_off, where),
            )
        )
    return RecordTable(CORERelocation, [r.offset for r in relos], relos.__getitem__)


def _no_record(row: int) -> NoReturn:
    raise IndexError(row)


class _Where:
    """A record's place, for error messages."""

    __slots__ = ("at", "section", "what")

    def __init__(self, at: int, what: str, section: str) -> None:
        self.at = at
        self.what = what
        self.section = section

    def error(self, message: str) -> BTFError:
        return BTFError(
            f".BTF.ext: byte offset {self.at}: {self.what} of section {self.section!r}: {message}"
        )


class _Resolver:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        # What was resolved so far, read directly by the record builders.
        self.strings: dict[int, str] = {}
        self.types: dict[int, Type] = {}

    def in_string_table(self, *columns: Sequence[int]) -> bool:
        """Whether every offset of ``columns`` has a string (without reading them)."""
        raw = self.spec._raw
        if raw is None or self.spec._base is not None:
            # Offsets below the blob's own go to the base: look at each.
            offsets = set().union(*columns).difference(self.strings)
            return all(self.try_string(off) for off in offsets)
        end = raw.base_strings_len + raw.strings_len
        # Arrays of u32 (what the parsed records give) hold no negative offset.
        arrays = [c for c in columns if isinstance(c, array)]
        if len(arrays) == len(columns):
            return _all_below(arrays, end)
        return all(min(c) >= 0 and max(c) < end for c in columns if c)

    def text(self, offset: int) -> str:
        """The string at ``offset``, known to be in the table."""
        s = self.strings[offset] = self.spec._string_at(offset)
        return s

    def try_string(self, offset: int) -> bool:
        """Resolve the string at ``offset``; False if the string table has none there."""
        try:
            self.strings[offset] = self.spec._string_at(offset)
        except BTFError:
            return False
        return True

    def string(self, offset: int, where: _Where) -> str:
        s = self.strings.get(offset)
        if s is None:
            if not self.try_string(offset):
                raise where.error(f"string offset {offset} is not in .BTF's string table")
            s = self.strings[offset]
        return s

    def section_name(self, name_off: int, at: int, what: str) -> str:
        """The name of the section whose header ends (and first record starts) at byte ``at``."""
        # Each section is named in each sub-section: mostly a name seen before.
        name = self.strings.get(name_off)
        if name:
            return name
        where = _Where(at - 8, what, f"<name at {name_off}>")
        name = self.string(name_off, where)
        if not name:
            raise where.error("empty section name")
        return name

    def type(self, type_id: int, where: _Where) -> Type:
        t = self.types.get(type_id)
        if t is None:
            try:
                t = self.types[type_id] = self.spec.type_by_id(type_id)
            except TypeNotFoundError:
                raise where.error(f"no type with id {type_id}") from None
        return t

    def offset(self, insn_off: int, where: _Where) -> int:
        if insn_off % _INSN_SIZE:
            raise where.error(f"instruction offset {insn_off} is not a multiple of 8")
        return insn_off // _INSN_SIZE

    def accessor(self, offset: int, where: _Where) -> tuple[int, ...]:
        text = self.string(offset, where)
        # Numbers joined by colons; no regex, which would import re on every load.
        parts = text.split(":")
        if not all(part.isdecimal() for part in parts):
            raise where.error(f"bad access string {text!r}")
        values = tuple(int(part) for part in parts)
        if any(v > _INT_MAX for v in values):
            raise where.error(f"access string {text!r} overflows")
        return values

    def kind(self, kind: int, where: _Where) -> CORERelocKind:
        try:
            return CORERelocKind(kind)
        except ValueError:
            raise where.error(f"unknown relocation kind {kind}") from None
