"""``.BTF.ext`` with its strings and types resolved: :func:`load_ext_infos` and back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pybpf.asm import ByteOrder
from pybpf.btf._gc import gc_paused
from pybpf.btf.errors import BTFError, TypeNotFoundError
from pybpf.btf.ext.records import CORERelocation, CORERelocKind, FuncInfo, LineInfo
from pybpf.btf.ext.wire import RawExtInfos, RawSection, marshal_raw, parse_raw
from pybpf.btf.spec import Spec
from pybpf.btf.types import Func, Type

__all__ = ["ExtInfos", "SectionExtInfos", "load_ext_infos"]

_INSN_SIZE = 8
_ACCESSOR = re.compile(r"\d+(?::\d+)*")
_INT_MAX = 0x7FFFFFFF


@dataclass
class SectionExtInfos:
    """The records of one ELF section, each list in file order."""

    func_infos: list[FuncInfo] = field(default_factory=list)
    line_infos: list[LineInfo] = field(default_factory=list)
    core_relocations: list[CORERelocation] = field(default_factory=list)


@dataclass
class ExtInfos:
    """Everything ``.BTF.ext`` says, per ELF section name (``"xdp"``, ``".text"``...)."""

    func_infos: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_infos: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relocations: dict[str, list[CORERelocation]] = field(default_factory=dict)
    byte_order: ByteOrder = "little"

    @property
    def sections(self) -> list[str]:
        """Every section with at least one record, in order of first appearance."""
        names = dict.fromkeys(self.func_infos)
        names.update(dict.fromkeys(self.line_infos))
        names.update(dict.fromkeys(self.core_relocations))
        return list(names)

    def section(self, name: str) -> SectionExtInfos:
        """The records of section ``name`` (empty lists when it has none)."""
        return SectionExtInfos(
            list(self.func_infos.get(name, ())),
            list(self.line_infos.get(name, ())),
            list(self.core_relocations.get(name, ())),
        )

    def strings(self) -> Iterator[str]:
        """Every string the records need in the BTF string table, with repeats.

        Section names, file names, source lines and access strings: a loader
        that marshals its own ``.BTF`` must put them in its string table.
        """
        yield from self.sections
        for lines in self.line_infos.values():
            for line in lines:
                yield line.file
                yield line.line
        for relos in self.core_relocations.values():
            for relo in relos:
                yield relo.access_string

    def marshal(
        self,
        type_id: Callable[[Type], int],
        string_offset: Callable[[str], int],
        byte_order: ByteOrder | None = None,
    ) -> bytes:
        """``.BTF.ext`` bytes, with ids and string offsets from the BTF it goes with.

        ``type_id`` maps a type to its id and ``string_offset`` a string to its
        offset in the marshalled ``.BTF`` (see :meth:`strings`); for the spec an
        object was loaded from, :meth:`marshal_for` provides both.
        """
        raw = RawExtInfos(byteorder=byte_order or self.byte_order)
        for name, funcs in self.func_infos.items():
            raw.func_info.append(
                RawSection(
                    string_offset(name),
                    [(f.offset * _INSN_SIZE, type_id(f.func)) for f in funcs],
                )
            )
        for name, lines in self.line_infos.items():
            raw.line_info.append(
                RawSection(
                    string_offset(name),
                    [
                        (
                            li.offset * _INSN_SIZE,
                            string_offset(li.file),
                            string_offset(li.line),
                            li.line_col,
                        )
                        for li in lines
                    ],
                )
            )
        for name, relos in self.core_relocations.items():
            raw.core_relo.append(
                RawSection(
                    string_offset(name),
                    [
                        (
                            r.offset * _INSN_SIZE,
                            type_id(r.type),
                            string_offset(r.access_string),
                            int(r.kind),
                        )
                        for r in relos
                    ],
                )
            )
        return marshal_raw(raw)

    def marshal_for(self, spec: Spec, byte_order: ByteOrder | None = None) -> bytes:
        """``.BTF.ext`` bytes against the string table and ids of the loaded ``spec``."""
        offsets = _StringOffsets(spec)
        return self.marshal(spec.type_id, offsets, byte_order)


class _StringOffsets:
    """The offset of a string in a loaded spec's string table (the first occurrence)."""

    def __init__(self, spec: Spec) -> None:
        raw = getattr(spec, "_raw", None)
        if raw is None:
            raise BTFError("marshal_for needs a spec loaded from BTF bytes")
        self._strings: bytes = raw.strings
        self._base: int = raw.base_strings_len
        self._cache: dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        offset = self._cache.get(s)
        if offset is None:
            needle = s.encode() + b"\0"
            pos = self._strings.find(needle)
            suffix = pos
            # Prefer a whole string (at 0 or after a NUL); the tail of a longer
            # string is a valid offset too, and records may point there.
            while pos > 0 and self._strings[pos - 1] != 0:
                pos = self._strings.find(needle, pos + 1)
            if pos < 0:
                pos = suffix
            if pos < 0:
                raise BTFError(f"string {s!r} is not in the spec's string table")
            offset = self._cache[s] = self._base + pos
        return offset


def load_ext_infos(data: bytes | bytearray | memoryview, spec: Spec) -> ExtInfos:
    """Parse ``.BTF.ext`` bytes, resolving names and types through the object's ``spec``.

    Raises :class:`BTFError` naming ``.BTF.ext``, the byte offset and the ELF
    section for any malformed record, unknown string or type, or a type of the
    wrong kind.
    """
    raw = parse_raw(data)
    if getattr(spec, "_raw", None) is None:
        raise BTFError(".BTF.ext needs the spec loaded from the same object's .BTF")
    resolve = _Resolver(spec)
    infos = ExtInfos(byte_order=raw.byteorder)
    with gc_paused():
        for sec in raw.func_info:
            name = resolve.section_name(sec, "func_info")
            _func_infos(resolve, sec, name, infos.func_infos.setdefault(name, []))
        for sec in raw.line_info:
            name = resolve.section_name(sec, "line_info")
            _line_infos(resolve, sec, name, infos.line_infos.setdefault(name, []))
    for sec in raw.core_relo:
        name = resolve.section_name(sec, "core_relo")
        relos = infos.core_relocations.setdefault(name, [])
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
    return infos


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


# The place of a record is only worked out for an error message.
def _func_infos(resolve: _Resolver, sec: RawSection, name: str, funcs: list[FuncInfo]) -> None:
    """Append the function infos of ``sec``."""
    cached = resolve.types.get
    append = funcs.append
    for i, (insn_off, tid) in enumerate(sec.records):
        func = cached(tid)
        if func is None or insn_off & 7 or func.__class__ is not Func:
            where = _Where(sec.record_at(i), "func_info", name)
            func = resolve.type(tid, where)
            if not isinstance(func, Func):
                raise where.error(f"type {tid} is {func!r}, not a Func")
            resolve.offset(insn_off, where)
        info = _new(FuncInfo)
        _set_func(info, func)
        _set_func_offset(info, insn_off >> 3)
        append(info)


def _line_infos(resolve: _Resolver, sec: RawSection, name: str, lines: list[LineInfo]) -> None:
    """Append the line infos of ``sec``: the bulk of ``.BTF.ext``, one per few instructions."""
    cached = resolve.strings.get
    append = lines.append
    for i, (insn_off, file_off, line_off, line_col) in enumerate(sec.records):
        file = cached(file_off)
        line = cached(line_off)
        if file is None or line is None or insn_off & 7:
            where = _Where(sec.record_at(i), "line_info", name)
            file = resolve.string(file_off, where)
            line = resolve.string(line_off, where)
            resolve.offset(insn_off, where)
        li = _new(LineInfo)
        _set_file(li, file)
        _set_line(li, line)
        _set_line_number(li, line_col >> 10)
        _set_column(li, line_col & 0x3FF)
        _set_offset(li, insn_off >> 3)
        append(li)


@dataclass(frozen=True, slots=True)
class _Where:
    """A record's place, for error messages."""

    at: int
    what: str
    section: str

    def error(self, message: str) -> BTFError:
        return BTFError(
            f".BTF.ext: byte offset {self.at}: {self.what} of section {self.section!r}: {message}"
        )


class _Resolver:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        # What was resolved so far, read directly by the record loops.
        self.strings: dict[int, str] = {}
        self.types: dict[int, Type] = {}

    def string(self, offset: int, where: _Where) -> str:
        s = self.strings.get(offset)
        if s is None:
            try:
                s = self.strings[offset] = self.spec._string_at(offset)
            except BTFError:
                raise where.error(f"string offset {offset} is not in .BTF's string table") from None
        return s

    def section_name(self, sec: RawSection, what: str) -> str:
        where = _Where(sec.at - 8, what, f"<name at {sec.name_off}>")
        name = self.string(sec.name_off, where)
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
        if not _ACCESSOR.fullmatch(text):
            raise where.error(f"bad access string {text!r}")
        values = tuple(int(part) for part in text.split(":"))
        if any(v > _INT_MAX for v in values):
            raise where.error(f"access string {text!r} overflows")
        return values

    def kind(self, kind: int, where: _Where) -> CORERelocKind:
        try:
            return CORERelocKind(kind)
        except ValueError:
            raise where.error(f"unknown relocation kind {kind}") from None
