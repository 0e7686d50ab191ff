"""Marshal types to raw BTF: ``load_spec(marshal(spec)) == spec``.

Types become :class:`Record` objects first (the raw layout, with names still as
strings), which :mod:`pybpf.btf.sanitize` can rewrite for older kernels the
way libbpf does on raw BTF; then records are encoded with one deduplicated
string table.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterable, Sized

from pybpf.btf._gc import gc_paused
from pybpf.btf.errors import BTFError
from pybpf.btf.marshal_record import Record
from pybpf.btf.parse import HEADER_SIZE, MAGIC, MAX_NAME_OFFSET, VERSION
from pybpf.btf.sanitize import SanitizeOptions, sanitize_records
from pybpf.btf.spec import Spec
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    Kind,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
)

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["Record", "encode", "marshal", "records"]

_U32 = 0xFFFF_FFFF


def marshal(
    source: Spec | Iterable[Type],
    *,
    byte_order: ByteOrder | None = None,
    sanitize: SanitizeOptions | None = None,
) -> bytes:
    """Raw BTF for ``source``: a spec (its own types, ids kept) or types to add to a new one.

    ``byte_order`` defaults to the spec's. ``sanitize`` rewrites kinds the
    target kernel lacks (see :class:`~pybpf.btf.sanitize.SanitizeOptions`).
    A split spec marshals its own types; load the result with the same base.
    """
    spec = source if isinstance(source, Spec) else Spec.from_types(source)
    recs = records(spec)
    if sanitize is not None and sanitize.needed:
        recs = sanitize_records(recs, sanitize, first_id=spec.start_id)
    base_strings = 0
    if spec.base is not None:
        base_strings = spec.base._strings_end()
    return encode(recs, byte_order or spec.byte_order, base_strings_len=base_strings)


def records(spec: Spec) -> list[Record]:
    """The records of ``spec``'s own types, in id order."""
    with gc_paused():
        return [record(spec, t) for t in spec.own_types()]


def record(spec: Spec, t: Type) -> Record:
    """The raw record of ``t``, with references as ``spec``'s ids."""
    ref = spec.ref_id
    if isinstance(t, Int):
        if t.offset > 0xFF or t.bits > 0xFF or int(t.encoding) > 0xF:
            raise BTFError(f"{t!r}: bit offset, width or encoding out of range")
        data = int(t.encoding) << 24 | t.offset << 16 | t.bits
        return Record(Kind.INT, t.name, t.size, extra=[data])
    if isinstance(t, Pointer):
        return Record(Kind.PTR, t.name, ref(t, "_target"))
    if isinstance(t, Array):
        return Record(Kind.ARRAY, t.name, 0, extra=[ref(t, "_type"), ref(t, "_index"), t.nelems])
    if isinstance(t, Composite):
        bitfields = t.has_bitfields
        extra: list[int | str] = []
        for m in t.members:
            if bitfields:
                if m.offset > 0xFFFFFF or m.bitfield_size > 0xFF:
                    raise BTFError(f"{t!r}: member {m.name!r} offset or bitfield too large")
                offset = m.bitfield_size << 24 | m.offset
            else:
                offset = m.offset
            extra += [m.name, ref(m, "_type"), offset]
        return Record(t.kind, t.name, t.size, _vlen(t, t.members), bitfields, extra)
    if isinstance(t, Enum64):
        extra = []
        for v in t.values:
            value = v.value & 0xFFFF_FFFF_FFFF_FFFF
            extra += [v.name, value & _U32, value >> 32]
        return Record(Kind.ENUM64, t.name, t.size, _vlen(t, t.values), t.signed, extra)
    if isinstance(t, Enum):
        extra = []
        for v in t.values:
            if not -(1 << 31) <= v.value <= _U32:
                raise BTFError(f"{t!r}: value {v.value} of {v.name!r} needs ENUM64")
            extra += [v.name, v.value & _U32]
        return Record(Kind.ENUM, t.name, t.size, _vlen(t, t.values), t.signed, extra)
    if isinstance(t, Fwd):
        return Record(Kind.FWD, t.name, kind_flag=t.fwd_kind == FwdKind.UNION)
    if isinstance(t, TypeTag):
        return Record(Kind.TYPE_TAG, t.value, ref(t, "_type"), kind_flag=t.attribute)
    if isinstance(t, (Typedef, Qualifier)):
        return Record(t.kind, t.name, ref(t, "_type"))
    if isinstance(t, Func):
        return Record(Kind.FUNC, t.name, ref(t, "_type"), int(t.linkage))
    if isinstance(t, FuncProto):
        extra = []
        for p in t.params:
            extra += [p.name, ref(p, "_type")]
        return Record(
            Kind.FUNC_PROTO, t.name, ref(t, "_return_type"), _vlen(t, t.params), False, extra
        )
    if isinstance(t, Var):
        return Record(Kind.VAR, t.name, ref(t, "_type"), extra=[int(t.linkage)])
    if isinstance(t, Datasec):
        extra = []
        for secinfo in t.vars:
            extra += [ref(secinfo, "_type"), secinfo.offset, secinfo.size]
        return Record(Kind.DATASEC, t.name, t.size, _vlen(t, t.vars), False, extra)
    if isinstance(t, Float):
        return Record(Kind.FLOAT, t.name, t.size)
    if isinstance(t, DeclTag):
        idx = t.component_idx & _U32
        return Record(Kind.DECL_TAG, t.value, ref(t, "_type"), 0, t.attribute, [idx])
    raise BTFError(f"{t!r}: cannot marshal this type")


def _vlen(t: Type, items: Sized) -> int:
    if len(items) > 0xFFFF:
        raise BTFError(f"{t!r}: {len(items)} members/values, BTF allows 65535")
    return len(items)


def encode(recs: Iterable[Record], byte_order: ByteOrder, *, base_strings_len: int = 0) -> bytes:
    """Raw BTF bytes (header, types, strings) for records.

    String offsets start at ``base_strings_len`` for split BTF, whose own string
    table does not repeat the base's leading NUL.
    """
    recs = list(recs)
    strings: dict[str, int] = {"": 0}
    table = bytearray() if base_strings_len else bytearray(b"\0")
    known = strings.get

    def offset_of(s: str) -> int:
        off = strings[s] = base_strings_len + len(table)
        table.extend(s.encode())
        table.append(0)
        return off

    words: list[int] = []
    append = words.append
    for r in recs:
        off = known(r.name)
        append(offset_of(r.name) if off is None else off)
        append((r.kind_flag << 31) | (r.kind << 24) | r.vlen)
        append(r.size_or_type)
        for item in r.extra:
            if item.__class__ is str:
                off = known(item)
                append(offset_of(item) if off is None else off)
            else:
                append(item)  # type: ignore[arg-type]
    if base_strings_len + len(table) > MAX_NAME_OFFSET + 1:
        raise BTFError(f"string table too large ({len(table)} bytes)")
    try:
        types = array("I", words)
    except OverflowError:
        # Rare: find the culprit for the message only now.
        for r in recs:
            for value in (r.size_or_type, *r.extra):
                if isinstance(value, int) and not 0 <= value <= _U32:
                    raise BTFError(
                        f"{r.kind.name} {r.name!r}: value {value} does not fit 32 bits"
                    ) from None
        raise
    if byte_order != sys.byteorder:
        types.byteswap()
    type_bytes = types.tobytes()
    fmt = "<" if byte_order == "little" else ">"
    header = struct.pack(
        fmt + "HBBIIIII",
        MAGIC,
        VERSION,
        0,
        HEADER_SIZE,
        0,
        len(type_bytes),
        len(type_bytes),
        len(table),
    )
    return header + type_bytes + bytes(table)
