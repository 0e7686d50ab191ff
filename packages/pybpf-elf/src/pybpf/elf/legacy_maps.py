"""Maps defined the old way: ``struct bpf_map_def`` records in ``SEC("maps")``.

libbpf 1.0 dropped them; ebpf-go and iproute2 still read them, and so do we.
Each map is a symbol of the section; its record is five ``u32`` (type, key
size, value size, max entries, flags). Longer records (iproute2's
``struct bpf_elf_map`` adds id, pinning, inner_id, inner_idx) keep the rest
as raw bytes in ``MapSpec.extra``.
"""

from __future__ import annotations

import struct

from pybpf.elf._elffile import STT_SECTION, ElfFile, Section
from pybpf.elf._uapi import MapType
from pybpf.elf.errors import Where
from pybpf.elf.spec import MapSpec

__all__ = ["read_legacy_maps"]

_DEF_SIZE = 20


def read_legacy_maps(elf: ElfFile, section: Section) -> dict[int, MapSpec]:
    """The maps of a ``maps`` section, keyed by their offset in it."""
    data = elf.section_data(section)
    symbols = sorted(
        (s for s in elf.symbols if s.shndx == section.index and s.type != STT_SECTION and s.name),
        key=lambda s: s.value,
    )
    if not symbols:
        return {}
    # Objects without symbol sizes: every record has the same size.
    uniform = len(data) // len(symbols)
    fmt = struct.Struct(("<" if elf.byte_order == "little" else ">") + "5I")
    maps: dict[int, MapSpec] = {}
    for sym in symbols:
        size = sym.size or uniform
        where = Where(section.name, sym.name, sym.value)
        if size < _DEF_SIZE:
            raise where.error(f"map definition of {size} bytes, need at least {_DEF_SIZE}")
        if sym.value + size > len(data):
            raise where.error("map definition past the end of the section")
        if sym.value in maps:
            raise where.error("two maps at the same offset")
        type_, key_size, value_size, max_entries, flags = fmt.unpack_from(data, sym.value)
        try:
            map_type = MapType(type_)
        except ValueError:
            raise where.error(f"unknown map type {type_}") from None
        maps[sym.value] = MapSpec(
            name=sym.name,
            type=map_type,
            key_size=key_size,
            value_size=value_size,
            max_entries=max_entries,
            flags=flags,
            extra=bytes(data[sym.value + _DEF_SIZE : sym.value + size]),
        )
    return maps
