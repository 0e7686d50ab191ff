"""A tiny, strict ELF reader: the bytes of one named section.

Enough to pull ``.BTF`` out of a BPF object or a ``vmlinux`` image, so that
this layer needs no ELF library (the full reader is ``pybpf.elf``'s, a layer
above). Every offset read from the file is bounds-checked; anything odd
raises BTFError.
"""

from __future__ import annotations

import struct

from pybpf.btf.errors import BTFError
from pybpf.btf.parse import BytesLike

__all__ = ["ELF_MAGIC", "section_data", "section_names"]

ELF_MAGIC = b"\x7fELF"
_SHT_NOBITS = 8
_SHF_COMPRESSED = 0x800
_SHN_XINDEX = 0xFFFF

# (e_shoff, e_shentsize, e_shnum, e_shstrndx) offsets and section header layouts.
_LAYOUT = {
    1: ("I", 0x20, 0x2E, 0x30, 0x32, "IIIIIIIIII"),
    2: ("Q", 0x28, 0x3A, 0x3C, 0x3E, "IIQQQQIIQQ"),
}


class _Section:
    __slots__ = ("flags", "link", "name", "offset", "size", "type")

    def __init__(self, fields: tuple[int, ...]) -> None:
        self.name, self.type, self.flags = fields[0], fields[1], fields[2]
        self.offset, self.size, self.link = fields[4], fields[5], fields[6]


def _sections(data: BytesLike) -> tuple[list[_Section], bytes]:
    view = memoryview(data).cast("B")
    if len(view) < 0x40 or bytes(view[:4]) != ELF_MAGIC:
        raise BTFError("not an ELF file (or truncated ELF header)")
    elf_class, encoding = view[4], view[5]
    if elf_class not in _LAYOUT or encoding not in (1, 2):
        raise BTFError(f"bad ELF class {elf_class} or data encoding {encoding}")
    order = "<" if encoding == 1 else ">"
    word, shoff_at, shentsize_at, shnum_at, shstrndx_at, shdr = _LAYOUT[elf_class]
    (shoff,) = struct.unpack_from(order + word, view, shoff_at)
    (shentsize,) = struct.unpack_from(order + "H", view, shentsize_at)
    (shnum,) = struct.unpack_from(order + "H", view, shnum_at)
    (shstrndx,) = struct.unpack_from(order + "H", view, shstrndx_at)
    header = struct.Struct(order + shdr)
    if shoff == 0:
        raise BTFError("ELF file has no section headers")
    if shentsize != header.size:
        raise BTFError(f"ELF section header size {shentsize}, want {header.size}")

    def read(index: int) -> _Section:
        at = shoff + index * shentsize
        if at + shentsize > len(view):
            raise BTFError(f"ELF section header {index} at offset {at} past the end")
        return _Section(header.unpack_from(view, at))

    first = read(0)
    # Files with many sections keep the real counts in section 0 (ELF gABI).
    if shnum == 0:
        shnum = first.size
    if shstrndx == _SHN_XINDEX:
        shstrndx = first.link
    if shnum > (len(view) - shoff) // shentsize:
        raise BTFError(f"ELF claims {shnum} sections, more than the file holds")
    sections = [first] + [read(i) for i in range(1, shnum)]
    if shstrndx >= shnum:
        raise BTFError(f"ELF section name table index {shstrndx} out of range")
    names = _contents(view, sections[shstrndx], shstrndx)
    return sections, names


def _contents(view: memoryview, s: _Section, index: int) -> bytes:
    if s.type == _SHT_NOBITS:
        raise BTFError(f"ELF section {index} has no contents (SHT_NOBITS)")
    if s.offset + s.size > len(view):
        raise BTFError(f"ELF section {index} at {s.offset} (+{s.size}) runs past the end")
    return bytes(view[s.offset : s.offset + s.size])


def _name(names: bytes, s: _Section, index: int) -> str:
    end = names.find(b"\0", s.name)
    if s.name >= len(names) or end < 0:
        raise BTFError(f"ELF section {index} name offset {s.name} out of range")
    return names[s.name : end].decode("utf-8", "replace")


def section_names(data: BytesLike) -> list[str]:
    """The names of every section, in index order."""
    sections, names = _sections(data)
    return [_name(names, s, i) for i, s in enumerate(sections)]


def section_data(data: BytesLike, name: str) -> bytes:
    """The contents of the section called ``name``; BTFError when it is missing."""
    sections, names = _sections(data)
    view = memoryview(data).cast("B")
    for index, s in enumerate(sections):
        if index and _name(names, s, index) == name:
            if s.flags & _SHF_COMPRESSED:
                raise BTFError(f"ELF section {name} is compressed; decompress the file first")
            return _contents(view, s, index)
    raise BTFError(f"ELF file has no {name} section")
