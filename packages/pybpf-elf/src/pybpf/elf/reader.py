"""``load_collection_spec``: an object file, read the way libbpf reads it.

The work is split by section kind: :mod:`legacy_maps` (``maps``),
:mod:`btf_maps` (``.maps``), :mod:`datasecs` (``.data*``, ``.rodata*``,
``.bss*``), :mod:`externs` (``.kconfig``, ``.ksyms``, kfuncs),
:mod:`struct_ops` (``.struct_ops*``) and :mod:`programs` (code). This module
walks the section table (``bpf_object__elf_collect``), hands each section to
its reader, then resolves the code's relocations against what they produced.
"""

from __future__ import annotations

import os
import struct
from typing import IO

from pybpf.asm import Instruction, PseudoSource
from pybpf.btf import BTFError
from pybpf.elf import btf_maps, externs, struct_ops
from pybpf.elf._btf import BTFInfo, read_btf
from pybpf.elf._elffile import (
    SHF_EXECINSTR,
    SHN_UNDEF,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    STT_SECTION,
    ElfFile,
    Relocation,
    Section,
    Symbol,
)
from pybpf.elf.datasecs import data_map, is_data_section, symbol_variables
from pybpf.elf.errors import ELFError, Where
from pybpf.elf.legacy_maps import read_legacy_maps
from pybpf.elf.programs import CodeReader, link
from pybpf.elf.sections import match_section
from pybpf.elf.spec import CollectionSpec, MapSpec, ProgramSpec, VariableSpec

__all__ = ["Source", "load_collection_spec"]

#: What :func:`load_collection_spec` reads: a path, the bytes, or a binary file.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

_LICENSE_MAX = 64


def load_collection_spec(source: Source) -> CollectionSpec:
    """Read a BPF object file into a :class:`CollectionSpec`.

    Raises :class:`ELFError` (a ``ValueError``) naming the section, symbol and
    offset when the file is corrupt, inconsistent or uses something pybpf does
    not support; ``OSError`` when a path cannot be read.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = source.read()
        if not isinstance(data, bytes):
            raise TypeError("load_collection_spec needs a file opened in binary mode")
    try:
        return _Reader(data).read()
    except BTFError as e:
        # Types decode lazily: a corrupt record surfaces wherever it is first read.
        raise ELFError(f"bad BTF: {e}", section=".BTF") from e


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.elf = ElfFile(data)
        self.maps: dict[str, MapSpec] = {}
        self.variables: dict[str, VariableSpec] = {}
        self.legacy_maps: dict[int, MapSpec] = {}
        self.legacy_section: Section | None = None
        self.btf_maps = btf_maps.BTFMaps()
        self.btf_maps_section: Section | None = None
        self.data_sections: dict[int, MapSpec] = {}
        self.btf: BTFInfo | None = None
        self.externs: externs.Externs | None = None

    def read(self) -> CollectionSpec:
        elf = self.elf
        license = ""
        version = 0
        code: list[Section] = []
        text: Section | None = None
        relocs: dict[int, Section] = {}
        struct_ops_secs: list[Section] = []
        btf_sec = btf_ext_sec = None
        for sec in elf.sections:
            name = sec.name
            if name == "license":
                raw = elf.section_data(sec)[: _LICENSE_MAX - 1]
                license = raw.split(b"\0", 1)[0].decode("ascii", "replace")
            elif name == "version":
                if sec.size != 4:
                    raise ELFError(f"size {sec.size}, expected 4", section=name)
                (version,) = struct.unpack(
                    "<I" if elf.byte_order == "little" else ">I", elf.section_data(sec)
                )
            elif name == "maps":
                self.legacy_section = sec
            elif name == ".maps":
                self.btf_maps_section = sec
            elif name == ".BTF":
                btf_sec = sec
            elif name == ".BTF.ext":
                btf_ext_sec = sec
            elif sec.type in (SHT_REL, SHT_RELA):
                if sec.info in relocs:
                    raise ELFError("second relocation section for one section", section=name)
                relocs[sec.info] = sec
            elif sec.type == SHT_PROGBITS and sec.flags & SHF_EXECINSTR and sec.size:
                code.append(sec)
                if name == ".text":
                    text = sec
            elif name in (".struct_ops", ".struct_ops.link") and sec.type == SHT_PROGBITS:
                struct_ops_secs.append(sec)

        if btf_sec is not None:
            self.btf = read_btf(elf, btf_sec, btf_ext_sec)
        if self.legacy_section is not None:
            self.legacy_maps = read_legacy_maps(elf, self.legacy_section)
            for m in self.legacy_maps.values():
                self._add_map(m, self.legacy_section)
        if self.btf_maps_section is not None:
            if self.btf is None:
                raise ELFError("BTF-defined maps need a .BTF section", section=".maps")
            self.btf_maps = btf_maps.read_btf_maps(elf, self.btf_maps_section, self.btf)
            for m in self.btf_maps.maps.values():
                self._add_map(m, self.btf_maps_section)
        for sec in elf.sections:
            if is_data_section(sec) and sec.size:
                mmapable = self.btf is not None and self.btf.has_global_variables(elf, sec)
                m = data_map(elf, sec, mmapable=mmapable)
                self.data_sections[sec.index] = m
                self._add_map(m, sec)
                if self.btf is not None:
                    found = self.btf.variables(sec, m, elf)
                else:
                    found = symbol_variables(elf, sec, m)
                for v in found:
                    self.variables.setdefault(v.name, v)
        if self.btf is not None:
            self.externs = externs.collect(elf, self.btf)
            kconfig = self.externs.kconfig_map()
            if kconfig is not None:
                self._add_map(kconfig, None)
                for v in self.externs.kconfig_variables(kconfig, elf.byte_order):
                    self.variables.setdefault(v.name, v)

        for index, sec in relocs.items():
            if sec.type == SHT_RELA and 0 <= index < len(elf.sections):
                target = elf.sections[index]
                if target in code or target is self.btf_maps_section:
                    raise ELFError("RELA relocations are not supported", section=sec.name)

        reader = CodeReader(elf, text)
        for sec in code:
            rel = relocs.get(sec.index)
            reader.add_section(sec, elf.relocations(rel) if rel is not None else [])
        reader.resolve(self._resolve)
        if self.btf is not None:
            self.btf.attach_ext_info(reader.functions)

        programs: dict[str, ProgramSpec] = {}
        for func in reader.functions.values():
            if func.section is text:
                continue
            info = match_section(func.section.name)
            if info is None:
                raise ELFError(
                    "unknown program section", section=func.section.name, symbol=func.name
                )
            programs[func.name] = ProgramSpec(
                name=func.name,
                section=info.name,
                type=info.type,
                instructions=link(reader.functions, func),
                attach_type=info.attach_type,
                attach_to=info.attach_to,
                flags=info.flags,
                license=license,
                kernel_version=version,
                sleepable=info.sleepable,
                autoload=info.autoload,
            )
        if self.btf_maps_section is not None and self.btf is not None:
            rel = relocs.get(self.btf_maps_section.index)
            btf_maps.apply_initial_values(
                elf,
                self.btf_maps_section,
                elf.relocations(rel) if rel is not None else [],
                self.btf_maps,
                reader.functions,
            )
        for sec in struct_ops_secs:
            if self.btf is None:
                raise ELFError("struct_ops maps need a .BTF section", section=sec.name)
            rel = relocs.get(sec.index)
            for m in struct_ops.read_struct_ops(
                elf,
                sec,
                elf.relocations(rel) if rel is not None else [],
                self.btf,
                reader.functions,
            ):
                self._add_map(m, sec)

        return CollectionSpec(
            maps=self.maps,
            programs=programs,
            variables=self.variables,
            types=self.btf.spec if self.btf is not None else None,
            byte_order=elf.byte_order,
        )

    def _add_map(self, m: MapSpec, section: Section | None) -> None:
        if m.name in self.maps:
            raise ELFError(
                "map defined twice", section=section.name if section else None, symbol=m.name
            )
        self.maps[m.name] = m

    def _resolve(
        self, insn: Instruction, sym: Symbol, rel: Relocation, section: Section, offset: int
    ) -> bool:
        """Point an instruction at the map, data or extern its symbol names."""
        where = Where(section.name, sym.name or None, offset)
        if sym.shndx == SHN_UNDEF:
            if self.externs is None:
                raise where.error("reference to an undefined symbol without BTF")
            self.externs.relocate(insn, sym, where)
            return True
        idx = sym.shndx
        if self.legacy_section is not None and idx == self.legacy_section.index:
            at = sym.value + (insn.constant if sym.type == STT_SECTION else 0)
            m = self.legacy_maps.get(at)
            if m is None:
                raise where.error(f"no map at offset {at} of 'maps'")
            self._load_map(insn, m.name, where)
            return True
        if self.btf_maps_section is not None and idx == self.btf_maps_section.index:
            m = self.btf_maps.maps.get(sym.value)
            if m is None:
                raise where.error(f"no map at offset {sym.value} of '.maps'")
            self._load_map(insn, m.name, where)
            return True
        data = self.data_sections.get(idx)
        if data is not None:
            if not insn.is_ld_imm64:
                raise where.error("data section used by a call")
            value_offset = (insn.constant & 0xFFFFFFFF) + sym.value
            insn.src = PseudoSource.MAP_VALUE
            insn.constant = (value_offset & 0xFFFFFFFF) << 32
            insn.reference = data.name
            return True
        return False

    @staticmethod
    def _load_map(insn: Instruction, name: str, where: Where) -> None:
        if not insn.is_ld_imm64:
            raise where.error(f"map {name!r} used by a call")
        insn.src = PseudoSource.MAP_FD
        insn.constant = 0
        insn.reference = name
