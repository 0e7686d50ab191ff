"""Reading native ELF files: executables, PIE and shared objects.

What uprobes and USDT probes need from the program they attach to: the
segments (to turn a virtual address into a file offset), the dynamic and
static symbols with their GNU symbol versions, and notes. This is the same
strict reader that reads BPF objects (one ELF parser in the project), opened
for any 64-bit ELF file of either byte order; only the headers are read up
front, each table when first asked for.

>>> from pybpf.elf.binary import Binary
>>> python = Binary.open("/usr/bin/python3")
>>> python.byte_order, python.is_shared_object
('little', False)
>>> any(s.name == "Py_Initialize" for s in python.dynamic_symbols)
True
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from functools import cached_property

from pybpf.asm.records import record
from pybpf.elf._elffile import (
    SHN_LORESERVE,
    SHN_UNDEF,
    SHT_DYNSYM,
    SHT_GNU_VERDEF,
    SHT_GNU_VERNEED,
    SHT_GNU_VERSYM,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_SYMTAB,
    ElfFile,
    Note,
    Section,
    _cstr,
)
from pybpf.elf.errors import ELFError

# Not typing.TYPE_CHECKING: a uprobe's symbol lookup imports this module, and
# typing costs more than the lookup.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    from pybpf.asm import ByteOrder
else:
    from pybpf.asm.runtime_typing import NamedTuple

__all__ = [
    "ET_DYN",
    "ET_EXEC",
    "PF_R",
    "PF_W",
    "PF_X",
    "PT_LOAD",
    "STT_GNU_IFUNC",
    "Binary",
    "BinarySymbol",
    "Note",
    "Section",
    "Segment",
]

ET_EXEC = 2
ET_DYN = 3

PT_LOAD = 1
PF_X = 0x1
PF_W = 0x2
PF_R = 0x4

STT_FUNC = 2
STT_GNU_IFUNC = 10

# A .gnu.version entry: the version index, and a bit for "not the default
# version" (the symbol is only reachable as name@VERSION, never bare).
_VERSYM_HIDDEN = 0x8000
_VERSYM_INDEX = 0x7FFF
# Index 0 is a local symbol, 1 the unversioned global "base" definition.
_VER_NDX_GLOBAL = 1
_SYM = struct.Struct("IBBHQQ")
_VERDEF = struct.Struct("HHHHIII")
_VERDAUX = struct.Struct("II")
_VERNEED = struct.Struct("HHIII")
_VERNAUX = struct.Struct("IHHII")


@record(frozen=True, slots=True)
class Segment:
    """One program header: a range of the file mapped at a virtual address."""

    type: int
    """``PT_*``: ``PT_LOAD`` (1) segments are the ones mapped."""
    flags: int
    """``PF_R`` | ``PF_W`` | ``PF_X``."""
    offset: int
    """Where the segment starts in the file."""
    vaddr: int
    """Where it is mapped (relative to the load base for PIE and shared objects)."""
    filesz: int
    memsz: int
    align: int

    @property
    def executable(self) -> bool:
        """Whether the segment holds code (``PF_X``)."""
        return bool(self.flags & PF_X)

    def __contains__(self, vaddr: object) -> bool:
        return isinstance(vaddr, int) and self.vaddr <= vaddr < self.vaddr + self.memsz


class BinarySymbol(NamedTuple):
    """One symbol of ``.dynsym`` or ``.symtab``, with its GNU version if any."""

    name: str
    """The name in the string table (``.symtab`` names may already carry ``@VERSION``)."""
    value: int
    """The symbol's virtual address (relative to the load base for shared objects)."""
    size: int
    bind: int
    """``STB_*``: local, global, weak."""
    type: int
    """``STT_*``: ``STT_FUNC`` (2), ``STT_OBJECT`` (1), ``STT_GNU_IFUNC`` (10), ..."""
    section_index: int
    dynamic: bool
    """Whether it comes from ``.dynsym`` (else ``.symtab``)."""
    version: str | None = None
    """The GNU version name (``GLIBC_2.34``) of a ``.dynsym`` symbol; None when unversioned."""
    hidden: bool = False
    """Whether the version is not the default one: ``name@VER``, not ``name@@VER``."""
    file_offset: int | None = None
    """``value`` translated through the symbol's section (as libbpf does); None if undefined."""

    @property
    def versioned_name(self) -> str:
        """``name@@VERSION`` (default), ``name@VERSION`` (hidden or needed) or ``name``."""
        if self.version is None:
            return self.name
        sep = "@" if self.hidden or self.section_index == SHN_UNDEF else "@@"
        return f"{self.name}{sep}{self.version}"

    @property
    def defined(self) -> bool:
        """Whether the symbol is defined in this file (not imported)."""
        return self.section_index != SHN_UNDEF


class Binary:
    """A 64-bit ELF executable or shared object, read strictly and lazily.

    ``Binary(data)`` reads bytes already in memory; :meth:`open` reads a file.
    Corrupt input raises :class:`~pybpf.elf.ELFError` naming where.
    """

    def __init__(self, data: bytes, *, name: str = "<bytes>") -> None:
        self.name = name
        """The path the bytes came from, for messages."""
        self._elf = ElfFile(data, bpf_object=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Binary:
        """Read the ELF file at ``path`` (``OSError`` if it cannot be read)."""
        with open(path, "rb") as f:
            data = f.read()
        return cls(data, name=os.fspath(path))

    def __repr__(self) -> str:
        return f"<Binary {self.name!r}>"

    @property
    def byte_order(self) -> ByteOrder:
        """The file's byte order."""
        return self._elf.byte_order

    @property
    def type(self) -> int:
        """``e_type``: ``ET_EXEC`` (2), ``ET_DYN`` (3, PIE and shared objects), ..."""
        return self._elf.type

    @property
    def machine(self) -> int:
        """``e_machine``: 62 for x86-64, 183 for arm64, ..."""
        return self._elf.machine

    @property
    def is_shared_object(self) -> bool:
        """Whether addresses are relative to a load base (``ET_DYN``: PIE or library)."""
        return self._elf.type == ET_DYN

    @property
    def sections(self) -> list[Section]:
        """The section table (empty when the file has none)."""
        return self._elf.sections

    def section(self, name: str) -> Section | None:
        """The first section called ``name``, or None."""
        return self._elf.section_named(name)

    def section_data(self, section: Section) -> bytes:
        """The bytes of ``section`` (zeros for ``SHT_NOBITS``)."""
        return self._elf.section_data(section)

    @cached_property
    def segments(self) -> list[Segment]:
        """Every program header, in file order."""
        return [
            Segment(h.type, h.flags, h.offset, h.vaddr, h.filesz, h.memsz, h.align)
            for h in self._elf.program_headers
        ]

    def segment_at(self, vaddr: int) -> Segment | None:
        """The ``PT_LOAD`` segment whose memory range holds ``vaddr``, or None."""
        for seg in self.segments:
            if seg.type == PT_LOAD and vaddr in seg:
                return seg
        return None

    def notes(self, section: str | Section) -> list[Note]:
        """The notes of a ``SHT_NOTE`` section, given by name or header (``[]`` if absent)."""
        sec = self.section(section) if isinstance(section, str) else section
        if sec is None:
            return []
        if sec.type != SHT_NOTE:
            raise ELFError(f"section type {sec.type} is not SHT_NOTE", section=sec.name)
        return self._elf.notes(sec)

    @cached_property
    def dynamic_symbols(self) -> list[BinarySymbol]:
        """The symbols of ``.dynsym`` (index 0 left out), with their versions."""
        tab = self._elf.section_of_type(SHT_DYNSYM)
        if tab is None:
            return []
        return self._read_symbols(tab, dynamic=True)

    @cached_property
    def static_symbols(self) -> list[BinarySymbol]:
        """The symbols of ``.symtab`` (index 0 left out); empty in stripped files."""
        tab = self._elf.section_of_type(SHT_SYMTAB)
        if tab is None:
            return []
        return self._read_symbols(tab, dynamic=False)

    def symbols(self) -> Iterator[BinarySymbol]:
        """The dynamic symbols, then the static ones."""
        yield from self.dynamic_symbols
        yield from self.static_symbols

    def symbols_named(self, name: str) -> list[BinarySymbol]:
        """The symbols called ``name`` or ``name@...``, dynamic then static.

        Faster than :meth:`symbols` for one lookup in a fresh process: the
        string tables are searched first, and only the symbols that point at
        a match are decoded.
        """
        out: list[BinarySymbol] = []
        for kind, dynamic in ((SHT_DYNSYM, True), (SHT_SYMTAB, False)):
            tab = self._elf.section_of_type(kind)
            if tab is None:
                continue
            starts = _name_offsets(self._strings(tab), name.encode())
            if starts:
                out += self._read_symbols(tab, dynamic=dynamic, only=starts)
        return out

    def _read_symbols(
        self, tab: Section, *, dynamic: bool, only: set[int] | None = None
    ) -> list[BinarySymbol]:
        # The hot path of resolving a symbol in a fresh process: one struct
        # pass over the table, names decoded once each, no per-symbol objects
        # beyond the result tuple.
        if tab.entsize not in (0, _SYM.size) or tab.size % _SYM.size:
            raise ELFError(f"symbol table entry size {tab.entsize}", section=tab.name)
        strings = self._strings(tab)
        raw = self._contents(tab)
        sections = self._elf.sections
        nsec = len(sections)
        out = []
        find = strings.find
        unpack = struct.Struct(self._end + _SYM.format).iter_unpack
        versyms = self._versym_indices(tab) if dynamic else None
        versions = self._version_names() if versyms is not None else {}
        version: str | None = None
        hidden = False
        for i, (name_off, info, _, shndx, value, size) in enumerate(unpack(raw)):
            if i == 0 or (only is not None and name_off not in only):
                continue
            end = find(b"\0", name_off)
            if end < 0 or name_off >= len(strings):
                raise ELFError(
                    f"name of symbol #{i}: string offset {name_off} out of range",
                    section=tab.name,
                )
            try:
                name = strings[name_off:end].decode()
            except UnicodeDecodeError as e:
                raise ELFError(f"name of symbol #{i}: not UTF-8", section=tab.name) from e
            offset = None
            if SHN_UNDEF < shndx < SHN_LORESERVE:
                if shndx >= nsec:
                    raise ELFError(f"section index {shndx} out of range", symbol=name)
                sec = sections[shndx]
                offset = value - sec.addr + sec.offset
            if versyms is not None:
                ver = versyms[i]
                index = ver & _VERSYM_INDEX
                if index > _VER_NDX_GLOBAL:
                    version = versions.get(index)
                    if version is None:
                        raise ELFError(
                            f"version index {index} is not defined",
                            section=".gnu.version",
                            symbol=name,
                        )
                    hidden = bool(ver & _VERSYM_HIDDEN)
                else:
                    version, hidden = None, False
            out.append(
                BinarySymbol(
                    name,
                    value,
                    size,
                    info >> 4,
                    info & 0xF,
                    shndx,
                    dynamic,
                    version,
                    hidden,
                    offset,
                )
            )
        return out

    def _versym_indices(self, dynsym: Section) -> tuple[int, ...] | None:
        sec = self._elf.section_of_type(SHT_GNU_VERSYM)
        if sec is None:
            return None
        raw = self._contents(sec)
        count = dynsym.size // 24
        if len(raw) < 2 * count:
            raise ELFError(
                f"{len(raw) // 2} version entries for {count} dynamic symbols", section=sec.name
            )
        return struct.unpack_from(f"{self._end}{count}H", raw)

    @property
    def _end(self) -> str:
        return "<" if self._elf.byte_order == "little" else ">"

    def _version_names(self) -> dict[int, str]:
        """Version index to name, from both the definitions and the needs."""
        names: dict[int, str] = {}
        verdef = self._elf.section_of_type(SHT_GNU_VERDEF)
        if verdef is not None:
            self._read_verdefs(verdef, names)
        verneed = self._elf.section_of_type(SHT_GNU_VERNEED)
        if verneed is not None:
            self._read_verneeds(verneed, names)
        return names

    def _contents(self, sec: Section) -> bytes:
        """A table's bytes; a table without any (``SHT_NOBITS``) is corrupt, not zeros."""
        if sec.type == SHT_NOBITS:
            raise ELFError("table without contents in the file", section=sec.name)
        return self._elf.section_data(sec)

    def _strings(self, sec: Section) -> bytes:
        return self._contents(self._elf.section(sec.link, context=f"{sec.name} strings"))

    def _read_verdefs(self, sec: Section, names: dict[int, str]) -> None:
        raw = self._contents(sec)
        strings = self._strings(sec)
        verdef = struct.Struct(self._end + _VERDEF.format)
        verdaux = struct.Struct(self._end + _VERDAUX.format)
        off = 0
        # sh_info counts the entries; bounding the walk by it stops a loop of vd_next.
        for _ in range(sec.info):
            if off < 0 or off + verdef.size > len(raw):
                raise ELFError("version definition past the end", section=sec.name, offset=off)
            _, _, ndx, cnt, _, aux, nxt = verdef.unpack_from(raw, off)
            if cnt:
                a = off + aux
                if a + verdaux.size > len(raw):
                    raise ELFError("version name entry past the end", section=sec.name, offset=a)
                name_off, _ = verdaux.unpack_from(raw, a)
                names[ndx & _VERSYM_INDEX] = _cstr(strings, name_off, "version name", sec.name)
            if not nxt:
                break
            off += nxt

    def _read_verneeds(self, sec: Section, names: dict[int, str]) -> None:
        raw = self._contents(sec)
        strings = self._strings(sec)
        verneed = struct.Struct(self._end + _VERNEED.format)
        vernaux = struct.Struct(self._end + _VERNAUX.format)
        off = 0
        for _ in range(sec.info):
            if off < 0 or off + verneed.size > len(raw):
                raise ELFError("version need past the end", section=sec.name, offset=off)
            _, cnt, _, aux, nxt = verneed.unpack_from(raw, off)
            a = off + aux
            for _ in range(cnt):
                if a + vernaux.size > len(raw):
                    raise ELFError("version need entry past the end", section=sec.name, offset=a)
                _, _, other, name_off, anext = vernaux.unpack_from(raw, a)
                names[other & _VERSYM_INDEX] = _cstr(strings, name_off, "version name", sec.name)
                if not anext:
                    break
                a += anext
            if not nxt:
                break
            off += nxt


def _name_offsets(strings: bytes, name: bytes) -> set[int]:
    """Every offset of ``strings`` where ``name`` starts and is followed by NUL or ``@``.

    Not only string starts: linkers share suffixes, so a symbol's name may
    begin inside a longer string.
    """
    found = set()
    at = strings.find(name)
    while at >= 0:
        after = at + len(name)
        if after < len(strings) and strings[after] in (0, 0x40):
            found.add(at)
        at = strings.find(name, at + 1)
    return found
