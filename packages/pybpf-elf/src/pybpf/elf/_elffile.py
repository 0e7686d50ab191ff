"""A small, strict reader of 64-bit ELF files.

What BPF objects use (the section table, symbols and relocations), and what
reading executables and shared libraries adds (program headers, notes). Every
bound is checked so that a corrupt file gives :class:`ELFError` naming where,
never a ``struct.error`` or ``IndexError``. pyelftools would do the same job
about ten times slower (it decodes symbols through ``construct``); reading the
handful of fixed-size records here with precompiled ``struct`` formats is what
keeps ``load_collection_spec`` within its time budget.
"""

from __future__ import annotations

import struct
from functools import cached_property

from pybpf.elf.errors import ELFError

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    from pybpf.asm import ByteOrder
    from pybpf.elf._segments import Note, ProgramHeader
else:
    from pybpf.asm.exports import lazy_exports
    from pybpf.asm.runtime_typing import NamedTuple

__all__ = [
    "SHF_ALLOC",
    "SHF_EXECINSTR",
    "SHF_WRITE",
    "SHN_ABS",
    "SHN_COMMON",
    "SHN_UNDEF",
    "SHT_DYNSYM",
    "SHT_GNU_VERDEF",
    "SHT_GNU_VERNEED",
    "SHT_GNU_VERSYM",
    "SHT_NOBITS",
    "SHT_NOTE",
    "SHT_PROGBITS",
    "SHT_REL",
    "SHT_RELA",
    "SHT_SYMTAB",
    "STB_GLOBAL",
    "STB_LOCAL",
    "STB_WEAK",
    "STT_FUNC",
    "STT_NOTYPE",
    "STT_OBJECT",
    "STT_SECTION",
    "ElfFile",
    "Note",
    "ProgramHeader",
    "Relocation",
    "Section",
    "Symbol",
]

if not TYPE_CHECKING:
    # Program headers and notes: only executables have them (PEP 562).
    __getattr__, __dir__ = lazy_exports(
        __name__, {"pybpf.elf._segments": ("Note", "ProgramHeader")}, globals(), __all__
    )

EM_BPF = 247
ET_REL = 1
ELFCLASS64 = 2

SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOTE = 7
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2

STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3

STV_DEFAULT = 0
STV_INTERNAL = 1
STV_HIDDEN = 2

_EHDR_SIZE = 64
# No kernel accepts a map value this large (KMALLOC_MAX_SIZE is at most 32 MiB):
# a bigger .bss is corrupt, and materialising it would only exhaust memory.
_NOBITS_MAX = 1 << 28
_SHDR_SIZE = 64
_PHDR_SIZE = 56
_SYM_SIZE = 24
_REL_SIZE = 16
_RELA_SIZE = 24


# Plain classes: a dataclass costs a few hundred microseconds to define, at
# every start of a process that reads an object.
class Section:
    """One entry of the section table."""

    __slots__ = (
        "addr",
        "addralign",
        "entsize",
        "flags",
        "index",
        "info",
        "link",
        "name",
        "offset",
        "size",
        "type",
    )

    def __init__(  # noqa: PLR0917 (the fields of an ELF section header)
        self,
        index: int,
        name: str,
        type: int,
        flags: int,
        offset: int,
        size: int,
        link: int,
        info: int,
        addralign: int,
        entsize: int,
        addr: int = 0,
    ) -> None:
        self.index = index
        self.name = name
        self.type = type
        self.flags = flags
        self.offset = offset
        self.size = size
        self.link = link
        self.info = info
        self.addralign = addralign
        self.entsize = entsize
        self.addr = addr

    def __repr__(self) -> str:
        return f"Section({self.index}, {self.name!r}, type={self.type}, size={self.size:#x})"


class Symbol:
    """One entry of the symbol table."""

    __slots__ = ("bind", "index", "name", "shndx", "size", "type", "value", "visibility")

    def __init__(  # noqa: PLR0917 (the fields of an ELF symbol)
        self,
        index: int,
        name: str,
        value: int,
        size: int,
        bind: int,
        type: int,
        visibility: int,
        shndx: int,
    ) -> None:
        self.index = index
        self.name = name
        self.value = value
        self.size = size
        self.bind = bind
        self.type = type
        self.visibility = visibility
        self.shndx = shndx

    def __repr__(self) -> str:
        return f"Symbol({self.index}, {self.name!r}, value={self.value:#x}, shndx={self.shndx})"


class Relocation(NamedTuple):
    """One REL/RELA entry: patch ``offset`` of the target section with ``symbol``."""

    offset: int
    symbol: int
    type: int
    addend: int


class ElfFile:
    """The sections, symbols and relocations of one 64-bit ELF file.

    By default only a relocatable BPF object is accepted (what clang emits);
    ``bpf_object=False`` reads any 64-bit ELF file (executables, shared
    objects, other machines), whose section table may then be absent.
    """

    def __init__(self, data: bytes, *, bpf_object: bool = True) -> None:
        self.data = data
        if len(data) < _EHDR_SIZE or data[:4] != b"\x7fELF":
            raise ELFError("not an ELF file", offset=0)
        if data[4] != ELFCLASS64:
            raise ELFError(f"ELF class {data[4]} is not 64-bit", offset=4)
        if data[5] == 1:
            self.byte_order: ByteOrder = "little"
            end = "<"
        elif data[5] == 2:
            self.byte_order = "big"
            end = ">"
        else:
            raise ELFError(f"unknown ELF data encoding {data[5]}", offset=5)
        self._end = end
        (
            e_type,
            e_machine,
            _,
            _,
            e_phoff,
            e_shoff,
            _,
            _,
            e_phentsize,
            e_phnum,
            e_shentsize,
            e_shnum,
            e_shstrndx,
        ) = struct.unpack_from(end + "HHIQQQIHHHHHH", data, 16)
        self.type: int = e_type
        self.machine: int = e_machine
        self._phdrs = (e_phoff, e_phentsize, e_phnum)
        if bpf_object and e_machine != EM_BPF:
            raise ELFError(f"machine {e_machine} is not BPF ({EM_BPF})", offset=18)
        if bpf_object and e_type != ET_REL:
            raise ELFError(f"ELF type {e_type} is not a relocatable object", offset=16)
        if e_shoff == 0 and not bpf_object:
            self.sections: list[Section] = []
            self.symtab: Section | None = None
            return
        if e_shoff == 0:
            raise ELFError("no section header table", offset=0x28)
        if e_shentsize != _SHDR_SIZE:
            raise ELFError(f"section header size {e_shentsize}, expected 64", offset=0x3A)
        shdr = struct.Struct(end + "IIQQQQIIQQ")
        if e_shoff + _SHDR_SIZE > len(data):
            raise ELFError("section header table past the end of the file", offset=e_shoff)
        first = shdr.unpack_from(data, e_shoff)
        # Extended numbering: with 0xff00 sections or more, the real counts
        # live in the first section header.
        if e_shnum == 0:
            e_shnum = first[5]
        if e_shstrndx == SHN_XINDEX:
            e_shstrndx = first[6]
        if e_shoff + e_shnum * _SHDR_SIZE > len(data):
            raise ELFError(
                f"section header table ({e_shnum} entries) past the end of the file",
                offset=e_shoff,
            )
        raw = list(shdr.iter_unpack(data[e_shoff : e_shoff + e_shnum * _SHDR_SIZE]))
        if not 0 < e_shstrndx < e_shnum:
            raise ELFError(f"section name table index {e_shstrndx} out of range", offset=0x3E)
        shstr = raw[e_shstrndx]
        shstr_data = self._bytes_at(shstr[4], shstr[5], f"section #{e_shstrndx}")
        names = _names_at(shstr_data)
        sections = []
        for i, (name, typ, flags, addr, off, size, link, info, align, entsize) in enumerate(raw):
            if bpf_object and typ == SHT_NOBITS and size > _NOBITS_MAX:
                raise ELFError(
                    f"section #{i} of {size} zero bytes: larger than any map value", offset=off
                )
            if typ != SHT_NOBITS and i != 0 and off + size > len(data):
                raise ELFError(
                    f"section #{i} ({off:#x}+{size:#x}) past the end of the file", offset=off
                )
            sections.append(
                Section(
                    i,
                    names.get(name) or _string_at(names, shstr_data, name, "section", i),
                    typ,
                    flags,
                    off,
                    size,
                    link,
                    info,
                    align,
                    entsize,
                    addr,
                )
            )
        self.sections = sections
        symtabs = [s for s in sections if s.type == SHT_SYMTAB]
        if len(symtabs) > 1:
            raise ELFError("more than one symbol table", section=symtabs[1].name)
        self.symtab = symtabs[0] if symtabs else None

    def _bytes_at(self, offset: int, size: int, what: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise ELFError(f"{what} ({offset:#x}+{size:#x}) past the end of the file")
        return self.data[offset : offset + size]

    def section_data(self, section: Section) -> bytes:
        """The section's bytes; zeros for ``SHT_NOBITS`` (``.bss``)."""
        if section.type == SHT_NOBITS:
            return bytes(section.size)
        return self.data[section.offset : section.offset + section.size]

    def section(self, index: int, *, context: str = "") -> Section:
        """The section at ``index``, or ELFError naming ``context``."""
        if not 0 <= index < len(self.sections):
            raise ELFError(f"section index {index} out of range", symbol=context or None)
        return self.sections[index]

    def section_named(self, name: str) -> Section | None:
        """The first section called ``name``, or None."""
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section_of_type(self, type: int) -> Section | None:
        """The first section of type ``type`` (``SHT_*``), or None."""
        for s in self.sections:
            if s.type == type:
                return s
        return None

    @cached_property
    def program_headers(self) -> list[ProgramHeader]:
        """Every entry of the program header table (empty in relocatable objects)."""
        phoff, phentsize, phnum = self._phdrs
        if phoff == 0 or phnum == 0:
            return []
        if phentsize != _PHDR_SIZE:
            raise ELFError(f"program header size {phentsize}, expected {_PHDR_SIZE}", offset=0x36)
        raw = self._bytes_at(phoff, phnum * _PHDR_SIZE, f"program header table ({phnum} entries)")
        from pybpf.elf._segments import ProgramHeader  # noqa: PLC0415 (executables only)

        return [ProgramHeader(*h) for h in struct.Struct(self._end + "IIQQQQQQ").iter_unpack(raw)]

    @cached_property
    def symbols(self) -> list[Symbol]:
        """Every symbol of the symbol table, index 0 (the null symbol) included."""
        return self._symbol_table[0]

    @cached_property
    def symbols_by_section(self) -> dict[int, list[Symbol]]:
        """The symbols of each section index, in table order (``SHN_UNDEF``'s are undefined)."""
        return self._symbol_table[1]

    @cached_property
    def _symbol_table(self) -> tuple[list[Symbol], dict[int, list[Symbol]]]:
        """The symbols, and by section: one walk of the table serves every reader."""
        tab = self.symtab
        if tab is None:
            return [], {}
        if tab.entsize not in (0, _SYM_SIZE) or tab.size % _SYM_SIZE:
            raise ELFError(f"symbol table entry size {tab.entsize}", section=tab.name)
        strtab = self.section(tab.link, context="symbol table strings")
        strings = self.section_data(strtab)
        raw = self.section_data(tab)
        entries = struct.Struct(self._end + "IBBHQQ").iter_unpack(raw)
        names = _names_at(strings)
        names[0] = ""  # the null name, whatever the table holds there
        out = []
        by_section: dict[int, list[Symbol]] = {}
        for i, (name, info, other, shndx, value, size) in enumerate(entries):
            text = names.get(name)
            if text is None:
                text = _string_at(names, strings, name, "symbol", i, tab.name)
            sym = Symbol(i, text, value, size, info >> 4, info & 0xF, other & 0x3, shndx)
            out.append(sym)
            in_section = by_section.get(shndx)
            if in_section is None:
                by_section[shndx] = [sym]
            else:
                in_section.append(sym)
        return out, by_section

    def symbol(self, index: int, *, section: str, offset: int) -> Symbol:
        """The symbol at ``index``, or ELFError naming the referring place."""
        syms = self.symbols
        if not 0 < index < len(syms):
            raise ELFError(f"symbol index {index} out of range", section=section, offset=offset)
        return syms[index]

    def relocations(self, section: Section) -> list[Relocation]:
        """The entries of a REL or RELA section."""
        raw = self.section_data(section)
        if section.type == SHT_REL:
            size, fmt = _REL_SIZE, "QQ"
        else:
            size, fmt = _RELA_SIZE, "QQq"
        if section.size % size:
            raise ELFError(f"size {section.size} is not a multiple of {size}", section=section.name)
        if section.type == SHT_REL:
            return [
                Relocation(offset, info >> 32, info & 0xFFFFFFFF, 0)
                for offset, info in struct.Struct(self._end + fmt).iter_unpack(raw)
            ]
        return [
            Relocation(offset, info >> 32, info & 0xFFFFFFFF, addend)
            for offset, info, addend in struct.Struct(self._end + fmt).iter_unpack(raw)
        ]

    def notes(self, section: Section) -> list[Note]:
        """The entries of a ``SHT_NOTE`` section (4-byte aligned, as all but GNU properties)."""
        from pybpf.elf._segments import Note  # noqa: PLC0415 (executables only)

        raw = self.section_data(section)
        header = struct.Struct(self._end + "III")
        out = []
        off = 0
        while off < len(raw):
            if off + 12 > len(raw):
                raise ELFError("truncated note header", section=section.name, offset=off)
            namesz, descsz, typ = header.unpack_from(raw, off)
            name_off = off + 12
            desc_off = name_off + _align4(namesz)
            end = desc_off + _align4(descsz)
            if desc_off + descsz > len(raw):
                raise ELFError(
                    f"note of {namesz}+{descsz} bytes past the end of the section",
                    section=section.name,
                    offset=off,
                )
            name = raw[name_off : name_off + namesz].rstrip(b"\0")
            try:
                text = name.decode()
            except UnicodeDecodeError as e:
                raise ELFError("note name is not UTF-8", section=section.name, offset=off) from e
            out.append(Note(text, typ, raw[desc_off : desc_off + descsz], off))
            off = end
        return out


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _names_at(table: bytes) -> dict[int, str]:
    """Each string of an ASCII string table by the offset where it starts.

    One split and one decode for the whole table instead of a search and a
    decode per name; a table with other bytes gives nothing here, and its
    names are read one by one by :func:`_string_at` (which reports a bad one).
    """
    found: dict[int, str] = {}
    if table.isascii():
        offset = 0
        for name in table.decode("ascii").split("\0")[:-1]:
            found[offset] = name
            offset += len(name) + 1
    return found


def _string_at(  # noqa: PLR0917 (the place an error names)
    names: dict[int, str],
    table: bytes,
    offset: int,
    kind: str,
    index: int,
    section: str | None = None,
) -> str:
    """The name at ``offset`` from ``names`` (of :func:`_names_at`), else read and remembered.

    A name starting inside another string (linkers share suffixes) is not in
    ``names``; a bad one raises, naming entry ``index`` of ``kind``.
    """
    text = names.get(offset)
    if text is None:
        text = names[offset] = _cstr(table, offset, f"name of {kind} #{index}", section)
    return text


def _cstr(table: bytes, offset: int, what: str, section: str | None = None) -> str:
    """The NUL-terminated string at ``offset`` of a string table."""
    end = table.find(b"\0", offset)
    if offset >= len(table) or end < 0:
        raise ELFError(f"{what}: string offset {offset} out of range", section=section)
    try:
        return table[offset:end].decode()
    except UnicodeDecodeError as e:
        raise ELFError(f"{what}: not UTF-8", section=section, offset=offset) from e
