"""Global data: ``.data*``, ``.rodata*`` and ``.bss*`` sections as array maps.

As libbpf does (``bpf_object__init_global_data_maps``): one single-entry
array map per non-empty section, named after the section, whose value is the
section's bytes (zeros for ``.bss``), flagged ``BPF_F_MMAPABLE`` when it has
non-static variables and, for read-only sections, ``BPF_F_RDONLY_PROG``.
"""

from __future__ import annotations

from pybpf.elf._elffile import SHT_NOBITS, SHT_PROGBITS, STT_OBJECT, ElfFile, Section
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec, VariableSpec

__all__ = [
    "ARENA_SECTION",
    "BPF_F_MMAPABLE",
    "BPF_F_RDONLY_PROG",
    "data_map",
    "is_arena_section",
    "is_data_section",
    "symbol_variables",
]

#: ``BPF_F_RDONLY_PROG`` of ``include/uapi/linux/bpf.h`` (a #define, absent from BTF).
BPF_F_RDONLY_PROG = 1 << 7
#: ``BPF_F_MMAPABLE`` of ``include/uapi/linux/bpf.h`` (a #define, absent from BTF).
BPF_F_MMAPABLE = 1 << 10
#: The section of ``__arena`` globals (libbpf's ``ARENA_SEC``). Here, not in
#: :mod:`.arena` (which re-exports it): every reading and every load asks,
#: only objects with an arena need the rest.
ARENA_SECTION = ".addr_space.1"


def _has_prefix(name: str, stem: str) -> bool:
    return name == stem or name.startswith(stem + ".")


def is_arena_section(section: Section) -> bool:
    """Whether libbpf reads this section as the arena's globals (:mod:`.arena`)."""
    return section.name == ARENA_SECTION and section.type == SHT_PROGBITS and section.size > 0


def is_data_section(section: Section) -> bool:
    """Whether libbpf makes a map of this section."""
    if section.type == SHT_PROGBITS:
        return _has_prefix(section.name, ".data") or _has_prefix(section.name, ".rodata")
    if section.type == SHT_NOBITS:
        return _has_prefix(section.name, ".bss")
    return False


def data_map(elf: ElfFile, section: Section, *, mmapable: bool) -> MapSpec:
    """The map of a data section, holding the section's bytes.

    libbpf (``map_is_mmapable``) makes the map mmapable only when BTF describes
    the section and lists a non-static variable in it.
    """
    readonly = _has_prefix(section.name, ".rodata")
    flags = (BPF_F_MMAPABLE if mmapable else 0) | (BPF_F_RDONLY_PROG if readonly else 0)
    return MapSpec(
        name=section.name,
        type=MapType.ARRAY,
        key_size=4,
        value_size=section.size,
        max_entries=1,
        flags=flags,
        contents=[(bytes(4), bytes(elf.section_data(section)))],
        section=section.name,
        readonly=readonly,
    )


def symbol_variables(elf: ElfFile, section: Section, spec: MapSpec) -> list[VariableSpec]:
    """Variables of a data section from its ELF symbols (for objects without BTF)."""
    out = []
    for sym in elf.symbols:
        if (
            sym.shndx == section.index
            and sym.type == STT_OBJECT
            and sym.name
            and sym.size
            and sym.value + sym.size <= section.size
        ):
            out.append(
                VariableSpec(
                    sym.name,
                    section.name,
                    sym.value,
                    sym.size,
                    map=spec,
                    byte_order=elf.byte_order,
                )
            )
    return out
