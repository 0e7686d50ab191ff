"""``load_collection_spec``: an object file, read the way libbpf reads it.

The work is split by section kind: :mod:`legacy_maps` (``maps``),
:mod:`btf_maps` (``.maps``), :mod:`datasecs` (``.data*``, ``.rodata*``,
``.bss*``), :mod:`arena` (``.addr_space.1``), :mod:`externs` (``.kconfig``,
``.ksyms``, kfuncs),
:mod:`struct_ops` (``.struct_ops*``) and :mod:`programs` (code). This module
walks the section table (``bpf_object__elf_collect``), hands each section to
its reader, then resolves the code's relocations against what they produced.
"""

from __future__ import annotations

import gc
import os
import struct

from pybpf.asm import Instruction, Instructions
from pybpf.asm.opcodes import LD_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE
from pybpf.btf import BTFError, Linkage
from pybpf.btf.ext.records import FuncInfo
from pybpf.elf._btf import BTFInfo, read_btf
from pybpf.elf._elffile import (
    SHF_EXECINSTR,
    SHN_UNDEF,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    STB_LOCAL,
    STT_SECTION,
    STV_HIDDEN,
    STV_INTERNAL,
    ElfFile,
    Relocation,
    Section,
    Symbol,
)
from pybpf.elf._uapi import MapType, ProgramType
from pybpf.elf.datasecs import data_map, is_arena_section, is_data_section, symbol_variables
from pybpf.elf.errors import ELFError, Where
from pybpf.elf.programs import CodeReader, Function, link_programs
from pybpf.elf.sections import is_struct_ops_section, match_section
from pybpf.elf.spec import CollectionSpec, MapSpec, ProgramSpec, VariableSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, TypeAlias

    from pybpf.elf.btf_maps import BTFMaps
    from pybpf.elf.externs import Externs

    #: What :func:`load_collection_spec` reads: a path, the bytes, or a binary file.
    Source: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
else:
    from pybpf.asm.exports import lazy_value

    def _source():
        """``Source`` for run-time readers (annotations never read it)."""
        from typing import IO  # noqa: PLC0415 (only this alias needs typing)

        return str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

    __getattr__ = lazy_value(globals(), "Source", _source)


__all__ = ["Source", "load_collection_spec"]

_LICENSE_MAX = 64
#: How clang is told to emit BTF: the fix for every "needs BTF" error.
_COMPILE_WITH_G = "compile with -g (clang -g -O2 -target bpf), which emits it"


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
    # Reading allocates tens of thousands of small acyclic objects (instructions,
    # records); the cyclic GC would rescan them all again and again, more than
    # doubling the time of a large object. It is paused, not skipped: cycles
    # made meanwhile are collected once it runs again.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _Reader(data).read()
    except BTFError as e:
        # Types decode lazily: a corrupt record surfaces wherever it is first read.
        raise ELFError(f"bad BTF: {e}", section=".BTF") from e
    finally:
        if paused:
            gc.enable()


class _Reader:
    """One reading of one object: the phases of ``bpf_object__open``, in order."""

    def __init__(self, data: bytes) -> None:
        self.elf = ElfFile(data)
        self.maps: dict[str, MapSpec] = {}
        self.variables: dict[str, VariableSpec] = {}
        self.license = ""
        self.version = 0
        self.code: list[Section] = []
        self.text: Section | None = None
        self.relocs: dict[int, Section] = {}
        self.struct_ops_sections: list[Section] = []
        self.btf_section: Section | None = None
        self.btf_ext_section: Section | None = None
        self.legacy_maps: dict[int, MapSpec] = {}
        self.legacy_section: Section | None = None
        #: The ``.maps`` section, then its maps (None for an object without it).
        self.btf_maps_section: Section | None = None
        self.btf_maps: BTFMaps | None = None
        self.arena_section: Section | None = None
        #: Sections whose symbols are values of a map (data sections, the
        #: arena's globals), by section index.
        self.value_sections: dict[int, MapSpec] = {}
        self.btf: BTFInfo | None = None
        #: None without BTF, or without undefined symbols (no relocation can
        #: name an extern then).
        self.externs: Externs | None = None

    def read(self) -> CollectionSpec:
        self._classify_sections()
        if self.btf_section is not None:
            self.btf = read_btf(self.elf, self.btf_section, self.btf_ext_section)
        self._read_maps_and_variables()
        code = self._read_code()
        programs = self._programs(code)
        self._read_initial_values(code)
        return CollectionSpec(
            maps=self.maps,
            programs=programs,
            variables=self.variables,
            types=self.btf.spec if self.btf is not None else None,
            byte_order=self.elf.byte_order,
        )

    def _classify_sections(self) -> None:
        """Sort sections by what they hold (libbpf's ``bpf_object__elf_collect``)."""
        elf = self.elf
        for sec in elf.sections:
            name = sec.name
            if name == "license":
                raw = elf.section_data(sec)[: _LICENSE_MAX - 1]
                self.license = raw.split(b"\0", 1)[0].decode("ascii", "replace")
            elif name == "version":
                if sec.size != 4:
                    raise ELFError(f"size {sec.size}, expected 4", section=name)
                (self.version,) = struct.unpack(
                    "<I" if elf.byte_order == "little" else ">I", elf.section_data(sec)
                )
            elif name == "maps":
                self.legacy_section = sec
            elif name == ".maps":
                self.btf_maps_section = sec
            elif name == ".BTF":
                self.btf_section = sec
            elif name == ".BTF.ext":
                self.btf_ext_section = sec
            elif sec.type in (SHT_REL, SHT_RELA):
                if sec.info in self.relocs:
                    raise ELFError("second relocation section for one section", section=name)
                self.relocs[sec.info] = sec
            elif sec.type == SHT_PROGBITS and sec.flags & SHF_EXECINSTR and sec.size:
                self.code.append(sec)
                if name == ".text":
                    self.text = sec
            elif sec.type == SHT_PROGBITS and is_struct_ops_section(name):
                self.struct_ops_sections.append(sec)
            elif is_arena_section(sec):
                self.arena_section = sec
        for index, sec in self.relocs.items():
            if sec.type == SHT_RELA and 0 <= index < len(elf.sections):
                target = elf.sections[index]
                if target in self.code or target is self.btf_maps_section:
                    raise ELFError("RELA relocations are not supported", section=sec.name)

    def _btf_missing(self, what: str, section: Section) -> ELFError:
        """The error for a section that only BTF explains, in an object without it."""
        symbols = sorted(
            (sym.value, sym.name)
            for sym in self.elf.symbols
            if sym.shndx == section.index and sym.type != STT_SECTION and sym.name
        )
        names = [name for _, name in symbols]
        listed = f" ({', '.join(names)})" if names else ""
        return ELFError(
            f"{what}{listed} need a .BTF section, which the object lacks: {_COMPILE_WITH_G}",
            section=section.name,
        )

    def _relocations(self, section: Section) -> list[Relocation]:
        rel = self.relocs.get(section.index)
        return self.elf.relocations(rel) if rel is not None else []

    def _read_maps_and_variables(self) -> None:
        """Legacy and BTF maps, data sections, then the externs' ``.kconfig``."""
        elf, btf = self.elf, self.btf
        # The modules of legacy maps, BTF maps, arenas and struct_ops are
        # imported by the objects that have them: a load of any other needs none.
        if self.legacy_section is not None:
            from pybpf.elf.legacy_maps import annotate_legacy_maps, read_legacy_maps  # noqa: PLC0415 (only such objects)

            self.legacy_maps = read_legacy_maps(elf, self.legacy_section)
            if btf is not None:
                annotate_legacy_maps(self.legacy_maps, btf)
            for m in self.legacy_maps.values():
                self._add_map(m, self.legacy_section)
        arenas: list[MapSpec] = []
        if self.btf_maps_section is not None:
            if btf is None:
                raise self._btf_missing("BTF-defined maps", self.btf_maps_section)
            from pybpf.elf.btf_maps import read_btf_maps  # noqa: PLC0415 (only such objects)

            self.btf_maps = read_btf_maps(elf, self.btf_maps_section, btf)
            for m in self.btf_maps.maps.values():
                self._add_map(m, self.btf_maps_section)
            arenas = [m for m in self.btf_maps.maps.values() if m.type == MapType.ARENA]
        if arenas or self.arena_section is not None:
            from pybpf.elf.arena import arena_map, set_arena_data  # noqa: PLC0415 (only such objects)

            arena = arena_map(arenas)
            if self.arena_section is not None:
                self._add_values(self.arena_section, set_arena_data(elf, self.arena_section, arena))
        for sec in elf.sections:
            if not (is_data_section(sec) and sec.size):
                continue
            mmapable = btf is not None and btf.has_global_variables(elf, sec)
            m = data_map(elf, sec, mmapable=mmapable)
            if btf is not None:
                m.value_type = btf.fixed_datasec(elf, sec)
            self._add_map(m, sec)
            self._add_values(sec, m)
        # Symbol 0, the null symbol, is undefined in every object.
        undefined = elf.symbols_by_section.get(SHN_UNDEF, ())
        if btf is not None and any(sym.index for sym in undefined):
            from pybpf.elf.externs import collect  # noqa: PLC0415 (only such objects)

            self.externs = collect(elf, btf)
            kconfig = self.externs.kconfig_map()
            if kconfig is not None:
                self._add_map(kconfig, None)
                for v in self.externs.kconfig_variables(kconfig, elf.byte_order):
                    self._add_variable(v)

    def _add_values(self, section: Section, m: MapSpec) -> None:
        """Record that the section's symbols are values of ``m``; add its variables."""
        self.value_sections[section.index] = m
        elf, btf = self.elf, self.btf
        if btf is not None:
            found = btf.variables(section, m, elf)
        else:
            found = symbol_variables(elf, section, m)
        for v in found:
            self._add_variable(v)

    def _read_code(self) -> CodeReader:
        """Every function of every code section, relocated, with its ext infos."""
        reader = CodeReader(self.elf, self.text)
        for sec in self.code:
            reader.add_section(sec, self._relocations(sec))
        reader.resolve(self._resolve)
        if self.btf is not None:
            self.btf.attach_ext_info(reader.functions, reader.slot_code)
            _hidden_functions_static(reader)
        return reader

    def _programs(self, code: CodeReader) -> dict[str, ProgramSpec]:
        """One spec per function outside ``.text``, its subprograms linked in.

        As libbpf 1.0 to 1.4 (``prog_is_subprog``): a function of ``.text`` is
        a subprogram unless it is the object's only function, which is then
        its one program (of section ``.text``, so of unspecified type).
        """
        lone = len(code.functions) == 1
        mains = [f for f in code.functions.values() if lone or f.section is not self.text]
        linked = link_programs(code.functions, mains, self._exception_callbacks(code, mains))
        return {
            func.name: self._program(func, insns) for func, insns in zip(mains, linked, strict=True)
        }

    def _exception_callbacks(self, code: CodeReader, mains: list[Function]) -> dict[str, str]:
        """Per program, the subprogram its ``exception_callback:`` decl tag names.

        libbpf (``bpf_prog_assign_exc_cb``) appends it to the program, which
        never calls it: the verifier finds it through the tag and the func
        info. It must be a global, not hidden, subprogram; a program with
        several such tags gets none (the verifier refuses it). In the cases
        where libbpf refuses to load (no such subprogram, a static or hidden
        one), nothing is appended: the loader (``pybpf.core``) refuses.
        """
        if self.btf is None:
            return {}
        tagged = self.btf.exception_callbacks()
        if not tagged:
            return {}
        programs = {f.name for f in mains}
        found: dict[str, str] = {}
        for name in programs.intersection(tagged):
            names = tagged[name]
            callback = code.functions.get(names[0]) if len(names) == 1 else None
            if callback is None or callback.name in programs:
                continue
            sym = callback.symbol
            if sym.bind == STB_LOCAL or sym.visibility in (STV_HIDDEN, STV_INTERNAL):
                continue
            found[name] = callback.name
        return found

    def _program(self, func: Function, instructions: Instructions) -> ProgramSpec:
        """The spec of one program; a section libbpf does not know gives type UNSPEC.

        libbpf opens such programs without a type for the user to set
        (``bpf_program__set_type``); loading one unset is refused by the loader.
        """
        section = func.section.name
        info = match_section(section)
        if info is None:
            return ProgramSpec(
                name=func.name,
                section=section.removeprefix("?"),
                type=ProgramType.UNSPEC,
                instructions=instructions,
                license=self.license,
                kernel_version=self.version,
                autoload=not section.startswith("?"),
            )
        return ProgramSpec(
            name=func.name,
            section=info.name,
            type=info.type,
            instructions=instructions,
            attach_type=info.attach_type,
            attach_to=info.attach_to,
            flags=info.flags,
            license=self.license,
            kernel_version=self.version,
            sleepable=info.sleepable,
            autoload=info.autoload,
        )

    def _read_initial_values(self, code: CodeReader) -> None:
        """What needs the functions: ``.values`` of BTF maps, struct_ops maps."""
        if self.btf_maps is not None:
            from pybpf.elf.btf_maps import apply_initial_values  # noqa: PLC0415 (only such objects)

            relocations = self._relocations(self.btf_maps.section)
            apply_initial_values(self.elf, self.btf_maps, relocations, code.functions)
        for sec in self.struct_ops_sections:
            if self.btf is None:
                raise self._btf_missing("struct_ops maps", sec)
            from pybpf.elf import struct_ops  # noqa: PLC0415 (only such objects)

            for m in struct_ops.read_struct_ops(
                self.elf, sec, self._relocations(sec), self.btf, code.functions
            ):
                self._add_map(m, sec)

    def _add_variable(self, v: VariableSpec) -> None:
        # Static variables of one name can live in several sections (or in
        # several units of a linked object): later ones get "#1", "#2"...
        name, n = v.name, 0
        while name in self.variables:
            n += 1
            name = f"{v.name}#{n}"
        self.variables[name] = v

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
        # The place is made only for an error or an extern: most relocations
        # are map and data loads that need none.
        if sym.shndx == SHN_UNDEF:
            where = Where(section.name, sym.name or None, offset)
            if self.externs is None:
                raise where.error(
                    f"extern {sym.name!r} needs the object's BTF (.BTF section): {_COMPILE_WITH_G}"
                )
            self.externs.relocate(insn, sym, where)
            return True
        idx = sym.shndx
        if self.legacy_section is not None and idx == self.legacy_section.index:
            at = sym.value + (insn.constant if sym.type == STT_SECTION else 0)
            m = self.legacy_maps.get(at)
            if m is None:
                raise Where(section.name, sym.name or None, offset).error(
                    f"no map at offset {at} of 'maps'"
                )
            self._load_map(insn, m.name, sym, section, offset)
            return True
        btf_maps = self.btf_maps
        if btf_maps is not None and idx == btf_maps.section.index:
            m = btf_maps.maps.get(sym.value)
            if m is None:
                raise Where(section.name, sym.name or None, offset).error(
                    f"no map at offset {sym.value} of '.maps'"
                )
            self._load_map(insn, m.name, sym, section, offset)
            return True
        data = self.value_sections.get(idx)
        if data is not None:
            if insn.opcode != LD_IMM64:
                raise Where(section.name, sym.name or None, offset).error(
                    f"global variable of {data.name!r} used by a call"
                )
            value_offset = (insn.constant & 0xFFFFFFFF) + sym.value
            insn.src = PSEUDO_MAP_VALUE
            insn.constant = (value_offset & 0xFFFFFFFF) << 32
            insn.reference = data.name
            return True
        return False

    @staticmethod
    def _load_map(insn: Instruction, name: str, sym: Symbol, section: Section, offset: int) -> None:
        if insn.opcode != LD_IMM64:
            raise Where(section.name, sym.name or None, offset).error(
                f"map {name!r} used by a call"
            )
        insn.src = PSEUDO_MAP_FD
        insn.constant = 0
        insn.reference = name


def _hidden_functions_static(code: CodeReader) -> None:
    """Make global functions of hidden or internal visibility static in BTF, as libbpf's open does.

    Nothing outside the object can call them, so the verifier may check them
    with their callers' context (libbpf's ``mark_btf_static``): a global BTF
    FUNC would be verified on its own, with every pointer argument possibly
    NULL, which rejects code such as libbpf's ``usdt.bpf.h`` helpers.
    """
    for func in code.functions.values():
        sym = func.symbol
        if sym.bind == STB_LOCAL or sym.visibility not in (STV_HIDDEN, STV_INTERNAL):
            continue
        # The record itself, not pybpf.btf.ext's func_info(): that module and
        # the eager tables it brings are not needed to read an object.
        info = func.instructions[0].get_metadata(FuncInfo) if func.instructions else None
        if isinstance(info, FuncInfo) and info.func.linkage == Linkage.GLOBAL:
            info.func.linkage = Linkage.STATIC
