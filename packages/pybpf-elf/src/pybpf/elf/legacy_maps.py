"""Maps defined the old way: ``struct bpf_map_def`` records in ``SEC("maps")``.

libbpf 1.0 dropped them; ebpf-go and iproute2 still read them, and so do we.
Each map is a symbol of the section; its record is five ``u32`` (type, key
size, value size, max entries, flags). Longer records (iproute2's
``struct bpf_elf_map`` adds id, pinning, inner_id, inner_idx) keep the rest
as raw bytes, in the object's byte order, in ``MapSpec.extra``, as ebpf-go
does. They mean nothing here: libbpf 0.x read only the five fields (and, in
strict mode, refused non-zero extra bytes); iproute2's pinning and its
map-in-map wiring (the map-in-map whose ``inner_id`` is a map's ``id`` gets
that map at slot ``inner_idx``) are tc's own, left to whoever reads ``extra``.

Key and value BTF types come, when the object has them, from the
``struct ____btf_map_<name> { key; value; }`` that ``BPF_ANNOTATE_KV_PAIR``
declares, as libbpf 0.x read them.
"""

from __future__ import annotations

import struct

from pybpf.btf import Struct, TypeNotFoundError
from pybpf.elf._elffile import STT_SECTION, ElfFile, Section
from pybpf.elf._uapi import MapType
from pybpf.elf.errors import ELFError, Where
from pybpf.elf.spec import MapSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.elf._btf import BTFInfo

__all__ = ["annotate_legacy_maps", "read_legacy_maps"]

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


def annotate_legacy_maps(maps: dict[int, MapSpec], btf: BTFInfo) -> None:
    """Key and value types from ``BPF_ANNOTATE_KV_PAIR`` structs, where present."""
    for m in maps.values():
        try:
            t = btf.spec.type_by_name(f"____btf_map_{m.name}", Struct)
        except TypeNotFoundError:
            continue
        if not isinstance(t, Struct):
            continue
        for member in t.members:
            if member.name == "key":
                m.key_type = member.type
            elif member.name == "value":
                m.value_type = member.type
        for what, typ, size in (
            ("key", m.key_type, m.key_size),
            ("value", m.value_type, m.value_size),
        ):
            if typ is not None and btf.spec.sizeof(typ) != size:
                raise ELFError(
                    f"BPF_ANNOTATE_KV_PAIR {what} of {btf.spec.sizeof(typ)} bytes, "
                    f"the definition says {size}",
                    section="maps",
                    symbol=m.name,
                )
