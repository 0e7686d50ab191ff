"""Globals in a BPF arena: the ``.addr_space.1`` section.

As libbpf does since 1.4 (``bpf_object__init_user_btf_maps``,
``init_arena_map_data``, ``bpf_program__record_reloc``): clang puts variables
declared ``__attribute__((address_space(1)))`` (libbpf's ``__arena``) in the
section ``.addr_space.1``. They live in the object's ``BPF_MAP_TYPE_ARENA``
map, which ``.maps`` must declare, and an object may have one arena map at
most. The arena map's ``contents`` is one value (under the empty key: arena
maps have no keys) holding the section's bytes, which the loader copies into
the arena once it has mapped it; code that takes a variable's address loads a
value of the arena map at the variable's offset in the section
(``BPF_PSEUDO_MAP_VALUE``), as for ``.data``.

Which pages of the arena the loader gives the globals, and whether they fit
(``max_entries`` pages), depend on the running machine's page size: that is
the loader's business, not the spec's.
"""

from __future__ import annotations

from collections.abc import Iterable

from pybpf.elf._elffile import ElfFile, Section
from pybpf.elf._uapi import MapType
from pybpf.elf.datasecs import ARENA_SECTION, is_arena_section
from pybpf.elf.errors import ELFError
from pybpf.elf.spec import MapSpec

__all__ = ["ARENA_SECTION", "arena_map", "is_arena_section", "set_arena_data"]


def arena_map(maps: Iterable[MapSpec]) -> MapSpec | None:
    """The object's one arena map, or None; a second one is an error, as in libbpf."""
    found: MapSpec | None = None
    for m in maps:
        if m.type != MapType.ARENA:
            continue
        if found is not None:
            raise ELFError(
                f"only one arena map is supported, {found.name!r} is one too",
                section=".maps",
                symbol=m.name,
            )
        found = m
    return found


def set_arena_data(elf: ElfFile, section: Section, arena: MapSpec | None) -> MapSpec:
    """Give the arena map the section's bytes as its initial contents; the map."""
    if arena is None:
        raise ELFError("__arena globals need an arena map declared in .maps", section=section.name)
    arena.contents = [(b"", bytes(elf.section_data(section)))]
    return arena
