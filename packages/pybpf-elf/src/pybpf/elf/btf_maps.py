"""Maps defined with BTF: the ``struct { __uint(...); __type(...); } name SEC(".maps")`` form.

The rules are libbpf's (``bpf_object__init_user_btf_map``,
``parse_btf_map_def``, ``bpf_object__collect_map_relos``):

- each variable of the ``.maps`` DATASEC is a map named after it; its type is a
  struct whose members say what the map is;
- ``__uint(name, N)`` is a pointer to an array of N elements: ``type``,
  ``max_entries``, ``map_flags``, ``numa_node``, ``key_size``, ``value_size``,
  ``pinning`` and ``map_extra`` (``__ulong``, a one-value enum, also works);
- ``__type(key, T)`` and ``__type(value, T)`` are pointers to T and give the
  size, which must agree with ``key_size``/``value_size`` when both are given;
- ``__array(values, struct inner)`` declares the inner map of a map of maps
  (one level only) or, as ``__array(values, int (void *))``, the programs of a
  program array; relocations of the ``values`` slots initialise them;
- any other member is an error, as in libbpf's (default) strict mode;
- a ring buffer's ``max_entries`` is rounded up to a power-of-two number of
  pages (``fill_map_from_def``); ``MapSpec.declared_max_entries`` keeps the
  object's value.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Mapping

from pybpf.btf import (
    Array,
    BTFError,
    Enum,
    FuncProto,
    Kind,
    Linkage,
    Pointer,
    Struct,
    Type,
    Var,
    underlying,
)
from pybpf.elf._elffile import STT_FUNC, STT_SECTION, ElfFile, Relocation, Section
from pybpf.elf._uapi import MapType
from pybpf.elf.errors import ELFError
from pybpf.elf.spec import MapSpec, Pinning

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.btf import Spec
    from pybpf.btf.spec import PointerMember
    from pybpf.elf._btf import BTFInfo
    from pybpf.elf.programs import Function

__all__ = ["BTFMaps", "apply_initial_values", "read_btf_maps", "ringbuf_max_entries"]

_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
_RING_BUFFERS = (MapType.RINGBUF, MapType.USER_RINGBUF)
_R_BPF_64_ABS64 = 2
_R_BPF_64_ABS32 = 3
#: The key of a map-in-map or program array slot set by ``.values``: its index, a u32.
_SLOT_KEY_SIZE = 4


class _Where:
    def __init__(self, section: str, symbol: str) -> None:
        self.section = section
        self.symbol = symbol

    def error(self, message: str, offset: int | None = None) -> ELFError:
        return ELFError(message, section=self.section, symbol=self.symbol, offset=offset)


class BTFMaps:
    """The maps of ``.maps`` by their offset in the section, with their extents."""

    __slots__ = ("maps", "section", "sizes", "values_offsets")

    def __init__(self, section: Section) -> None:
        #: The ``.maps`` section.
        self.section = section
        self.maps: dict[int, MapSpec] = {}
        #: Size of each map's variable, by offset.
        self.sizes: dict[int, int] = {}
        #: Byte offset of the ``values`` member in the definition, by offset.
        self.values_offsets: dict[int, int] = {}


def read_btf_maps(elf: ElfFile, section: Section, btf: BTFInfo) -> BTFMaps:
    """The maps of ``.maps``."""
    ds = btf.fixed_datasec(elf, section)
    if ds is None:
        raise ELFError("no DATASEC describes the section", section=section.name)
    out = BTFMaps(section)
    # What the raw reading found, kept for the next maps: they share most records.
    cache = _RawCache(btf.spec)
    for vsi in ds.vars:
        var = vsi.type
        if not isinstance(var, Var):
            raise ELFError(f"DATASEC entry {var!r} is not a variable", section=section.name)
        where = _Where(section.name, var.name)
        if var.linkage == Linkage.EXTERN:
            # An extern map is for the static linker to resolve.
            raise where.error("extern map definition")
        if var.linkage != Linkage.GLOBAL:
            # libbpf 1.0+ opens only global maps: a static one (or a hidden
            # one a static link made static) is refused (EOPNOTSUPP).
            raise where.error(f"unsupported map linkage {var.linkage.name.lower()}")
        read = _read_raw(cache, var.name, btf.spec.ref_id(var, "_type"), inner=False)
        values_at = None
        if read is not None:
            m, values_at = read
        else:
            try:
                m = _parse_map(var.name, var.type, where, inner=False, btf=btf)
                for member in _struct(var.type, where).members:
                    if member.name == "values":
                        values_at = member.offset // 8
            except BTFError as e:
                raise where.error(f"bad BTF: {e}") from e
        if vsi.offset in out.maps:
            raise where.error("two maps at one offset", vsi.offset)
        out.maps[vsi.offset] = m
        out.sizes[vsi.offset] = vsi.size
        if values_at is not None:
            out.values_offsets[vsi.offset] = values_at
    return out


# The map definitions read from the undecoded BTF records (see _read_raw).
_ARRAY, _STRUCT, _FUNC_PROTO = int(Kind.ARRAY), int(Kind.STRUCT), int(Kind.FUNC_PROTO)
#: ``__type()`` members: the type pointed at is the key's or the value's.
_TYPED_FIELDS = frozenset({"key", "value"})
#: ``__uint()`` members stored as they are, by the MapSpec field they fill.
_PLAIN_FIELDS = {
    "max_entries": "max_entries",
    "map_flags": "flags",
    "numa_node": "numa_node",
    "map_extra": "map_extra",
}


class _Declined(Exception):
    """A definition the raw reading leaves to :func:`_parse_map` (which says what is wrong)."""


class _RawCache:
    """What reading one object's map definitions as numbers found, for its next definitions.

    The maps of an object share most of the records they read: the member
    names, the key and value types.
    """

    __slots__ = ("fields", "sizes", "spec")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        #: Member names by string offset.
        self.fields: dict[int, str] = {}
        #: ``sizeof`` of each key and value type read, by type id.
        self.sizes: dict[int, int] = {}


def _read_raw(
    cache: _RawCache, name: str, type_id: int, *, inner: bool
) -> tuple[MapSpec, int | None] | None:
    """:func:`_parse_map` of a well-formed definition, and its ``values`` member's byte offset.

    A map definition is a struct of pointers to arrays: decoding them into
    :mod:`pybpf.btf` types was most of what reading ``.maps`` cost, for
    objects nobody reads afterwards. This reads the same records as numbers
    and makes the same MapSpec; anything but the plain forms (an enum
    ``__ulong``, a record already decoded, any error) gives None, and the
    typed reading then runs and raises what it raises. ``cache`` keeps what
    was read for the next definitions of the same spec.
    """
    try:
        return _raw_map(cache, name, type_id, inner)
    except (_Declined, BTFError):
        return None


def _raw_map(cache: _RawCache, name: str, type_id: int, inner: bool) -> tuple[MapSpec, int | None]:
    spec = cache.spec
    members = spec.pointer_members(type_id)
    if members is None:
        raise _Declined
    m = MapSpec(name=name, type=MapType.UNSPEC)
    key_size: int | None = None
    value_size: int | None = None
    map_type: int | None = None
    values: PointerMember | None = None
    fields = cache.fields
    for member in members:
        name_off, bit_offset, count, pointee, _, kind, nelems = member
        field = fields.get(name_off)
        if field is None:
            field = fields[name_off] = spec.string(name_off)
        if field == "values" and not inner:
            values = member
            continue
        if count >= 0:  # an array of pointers: only ``values`` is one
            raise _Declined
        plain = _PLAIN_FIELDS.get(field)
        if field in _TYPED_FIELDS:
            t = spec.type_by_id(pointee)
            size = cache.sizes.get(pointee)
            if size is None:
                size = cache.sizes[pointee] = spec.sizeof(t)
            if field == "key":
                m.key_type = t
                key_size = _agreeing(key_size, size)
            else:
                m.value_type = t
                value_size = _agreeing(value_size, size)
            continue
        # Every other member is __uint(): a pointer to an array of N elements.
        if kind != _ARRAY:
            raise _Declined
        if plain is not None:
            setattr(m, plain, nelems)
        elif field == "type":
            map_type = nelems
        elif field == "key_size":
            key_size = _agreeing(key_size, nelems)
        elif field == "value_size":
            value_size = _agreeing(value_size, nelems)
        elif field == "pinning" and not inner:
            try:
                m.pinning = Pinning(nelems)
            except ValueError:
                raise _Declined from None
        else:
            raise _Declined
    if map_type is not None:
        try:
            m.type = MapType(map_type)
        except ValueError:
            raise _Declined from None
    values_at = None
    if values is not None:
        _, bit_offset, count, _, target_id, kind, _ = values
        if count != 0:
            raise _Declined
        if kind == _FUNC_PROTO and m.type == MapType.PROG_ARRAY:
            pass
        elif kind == _STRUCT and m.type in _MAP_IN_MAP:
            m.inner_map = _raw_map(cache, f"{name}.inner", target_id, True)[0]
        else:
            raise _Declined
        if value_size is not None and value_size != 4:
            raise _Declined
        value_size = 4
        values_at = bit_offset // 8
    _finish(m, key_size, value_size)
    return m, values_at


def _agreeing(known: int | None, size: int) -> int:
    """``size``, which a size given before must equal."""
    if known is not None and known != size:
        raise _Declined
    return size


def _finish(m: MapSpec, key_size: int | None, value_size: int | None) -> None:
    """The sizes read, and a ring buffer's size rounded as libbpf rounds it."""
    m.key_size = key_size or 0
    m.value_size = value_size or 0
    if m.type in _RING_BUFFERS:
        size = ringbuf_max_entries(m.max_entries)
        if size != m.max_entries:
            m.declared_max_entries, m.max_entries = m.max_entries, size


def _struct(t: Type, where: _Where) -> Struct:
    u = underlying(t)
    if not isinstance(u, Struct):
        raise where.error(f"map definition is {u!r}, not a struct")
    return u


def _int_field(t: Type, member: str, where: _Where) -> int:
    """The N of ``__uint(member, N)``: a pointer to an array of N elements."""
    u = underlying(t)
    if isinstance(u, Pointer):
        arr = underlying(u.target)
        if isinstance(arr, Array):
            return arr.nelems
    if isinstance(u, Enum) and len(u.values) == 1:
        return u.values[0].value
    raise where.error(f"member {member!r} is not __uint() or __ulong(): {u!r}")


def _pointee(t: Type, member: str, where: _Where) -> Type:
    u = underlying(t)
    if not isinstance(u, Pointer):
        raise where.error(f"member {member!r} is not __type(): {u!r}")
    return u.target


def _parse_map(name: str, t: Type, where: _Where, *, inner: bool, btf: BTFInfo) -> MapSpec:
    spec = btf.spec
    definition = _struct(t, where)
    m = MapSpec(name=name, type=MapType.UNSPEC)
    key_size = value_size = None
    map_type: int | None = None
    values_member: Type | None = None
    for member in definition.members:
        field = member.name
        if not field:
            raise where.error("unnamed member in a map definition")
        if field == "type":
            map_type = _int_field(member.type, field, where)
        elif field == "max_entries":
            m.max_entries = _int_field(member.type, field, where)
        elif field == "map_flags":
            m.flags = _int_field(member.type, field, where)
        elif field == "numa_node":
            m.numa_node = _int_field(member.type, field, where)
        elif field == "map_extra":
            m.map_extra = _int_field(member.type, field, where)
        elif field == "key_size":
            size = _int_field(member.type, field, where)
            if key_size is not None and key_size != size:
                raise where.error(f"conflicting key size {key_size} != {size}")
            key_size = size
        elif field == "value_size":
            size = _int_field(member.type, field, where)
            if value_size is not None and value_size != size:
                raise where.error(f"conflicting value size {value_size} != {size}")
            value_size = size
        elif field == "key":
            m.key_type = _pointee(member.type, field, where)
            size = spec.sizeof(m.key_type)
            if key_size is not None and key_size != size:
                raise where.error(f"conflicting key size {key_size} != {size}")
            key_size = size
        elif field == "value":
            m.value_type = _pointee(member.type, field, where)
            size = spec.sizeof(m.value_type)
            if value_size is not None and value_size != size:
                raise where.error(f"conflicting value size {value_size} != {size}")
            value_size = size
        elif field == "values":
            if inner:
                raise where.error("multi-level inner maps are not supported")
            values_member = member.type
        elif field == "pinning":
            if inner:
                raise where.error("inner maps cannot be pinned")
            pin = _int_field(member.type, field, where)
            try:
                m.pinning = Pinning(pin)
            except ValueError:
                raise where.error(f"invalid pinning value {pin}") from None
        else:
            raise where.error(f"unknown member {field!r} in a map definition")
    if map_type is not None:
        try:
            m.type = MapType(map_type)
        except ValueError:
            raise where.error(f"unknown map type {map_type}") from None
    if values_member is not None:
        arr = underlying(values_member)
        if not isinstance(arr, Array) or arr.nelems != 0:
            raise where.error("'values' must be a flexible array: __array(values, ...)")
        ptr = underlying(arr.type)
        if not isinstance(ptr, Pointer):
            raise where.error("'values' elements must be pointers")
        target = underlying(ptr.target)
        if isinstance(target, FuncProto):
            if m.type != MapType.PROG_ARRAY:
                raise where.error("program values in a map that is not a program array")
        elif isinstance(target, Struct):
            if m.type not in _MAP_IN_MAP:
                raise where.error("an inner map definition in a map that holds no maps")
            m.inner_map = _parse_map(f"{name}.inner", target, where, inner=True, btf=btf)
        else:
            raise where.error(f"'values' points at {target!r}")
        if value_size is not None and value_size != 4:
            raise where.error(f"conflicting value size {value_size} != 4")
        value_size = 4
    _finish(m, key_size, value_size)
    return m


def ringbuf_max_entries(size: int, page_size: int = mmap.PAGESIZE) -> int:
    """A ring buffer size the kernel accepts: a power-of-two number of pages.

    libbpf's ``adjust_ringbuf_sz``, applied when it opens an object: ``size``
    rounded up to the next ``page_size`` times a power of two that is larger
    than it, unless it already is one; 0, and a size too large to round below
    2**32, are left for the kernel to refuse.
    """
    if size == 0:
        return 0
    pages, rest = divmod(size, page_size)
    if not rest and pages & (pages - 1) == 0:
        return size
    rounded = page_size
    while rounded <= size:
        rounded *= 2
    return rounded if rounded <= 0xFFFFFFFF else size


def apply_initial_values(
    elf: ElfFile,
    btf_maps: BTFMaps,
    relocations: list[Relocation],
    functions: Mapping[str, Function],
) -> None:
    """Fill ``contents`` of program arrays and maps of maps from ``.values`` relocations."""
    maps = btf_maps.maps
    section = btf_maps.section
    end = "<" if elf.byte_order == "little" else ">"
    for rel in relocations:
        name = section.name
        sym = elf.symbol(rel.symbol, section=name, offset=rel.offset)
        if rel.type not in (_R_BPF_64_ABS64, _R_BPF_64_ABS32):
            raise ELFError(
                f"relocation type {rel.type} in .maps",
                section=name,
                symbol=sym.name,
                offset=rel.offset,
            )
        owner = next(
            (off for off, size in btf_maps.sizes.items() if off <= rel.offset < off + size), None
        )
        if owner is None:
            raise ELFError("relocation outside any map", section=name, offset=rel.offset)
        m = maps[owner]
        values_off = btf_maps.values_offsets.get(owner)
        if values_off is None or rel.offset - owner < values_off:
            raise ELFError(
                "relocation outside the 'values' of a map",
                section=name,
                symbol=m.name,
                offset=rel.offset,
            )
        if m.type == MapType.HASH_OF_MAPS and m.key_size != _SLOT_KEY_SIZE:
            # The slot index becomes the key: libbpf wants an int key.
            raise ELFError(
                f"hash of maps with 'values' has a key of {m.key_size} bytes, not 4",
                section=name,
                symbol=m.name,
                offset=rel.offset,
            )
        index, rest = divmod(rel.offset - owner - values_off, 8)
        if rest:
            raise ELFError(
                "misaligned 'values' slot", section=name, symbol=m.name, offset=rel.offset
            )
        if m.type == MapType.PROG_ARRAY:
            func = functions.get(sym.name)
            if sym.type != STT_FUNC or func is None or func.section.name == ".text":
                raise ELFError(
                    f"program array slot {index} does not name a program",
                    section=name,
                    symbol=m.name,
                    offset=rel.offset,
                )
            target = sym.name
        else:
            if sym.shndx != section.index or sym.type == STT_SECTION or sym.value not in maps:
                raise ELFError(
                    f"map-in-map slot {index} does not name a map",
                    section=name,
                    symbol=m.name,
                    offset=rel.offset,
                )
            target = maps[sym.value].name
        key = struct.pack(end + "I", index)
        m.contents = [(k, v) for k, v in m.contents if k != key]
        m.contents.append((key, target))
        m.contents.sort(key=lambda kv: struct.unpack(end + "I", kv[0])[0])
