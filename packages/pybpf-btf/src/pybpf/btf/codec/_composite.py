"""Codecs of structs, unions and data sections, generated per type.

Each composite gets two functions written for its layout (as ``dataclasses``
writes ``__init__``): one ``struct`` call packs every member that ``struct``
handles (and zeroes the padding), then nested members and bitfields follow.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec._base import Buffer, Codec, WritableBuffer, type_error
from pybpf.btf.codec._bitfield import Bitfield
from pybpf.btf.codec._record import Record, make_record_class
from pybpf.btf.codec._scalar import prefix
from pybpf.btf.codec.errors import CodecError
from pybpf.btf.types import Type

__all__ = ["CompositeCodec", "Field"]

PutFn = Callable[[WritableBuffer, int, Any], None]
GetFn = Callable[[Buffer, int], Any]


class _Missing:
    """A member a mapping left out: zero, which the composite already wrote."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class Field:
    """A member as the codec sees it: bit offset, bitfield width (0: none), codec."""

    name: str
    codec: Codec
    offset: int
    bits: int = 0
    signed: bool = False
    anonymous: bool = False


class CompositeCodec(Codec):
    """A struct, union or data section, as a :class:`Record`.

    Encodes from its record, or from a mapping of member names (missing members
    are zero). A union writes every member that is not ``None`` in declaration
    order, so build one with the single member you mean.
    """

    __slots__ = ("fields", "get_fn", "put_fn", "record", "union")

    def __init__(
        self,
        btf_type: Type,
        size: int,
        fields: list[Field],
        *,
        union: bool,
        byte_order: ByteOrder,
    ) -> None:
        super().__init__(btf_type, size, byte_order)
        self.fields = fields
        self.union = union
        self.record: type[Record]
        self.put_fn: PutFn
        self.get_fn: GetFn
        promoted: dict[str, tuple[str, type[Record]]] = {}
        for f in fields:
            if f.anonymous and isinstance(f.codec, CompositeCodec):
                for name in f.codec.record.__btf_fields__:
                    promoted.setdefault(name, (f.name, f.codec.record))
                for name in getattr(f.codec.record, "__btf_promoted__", ()):
                    promoted.setdefault(name, (f.name, f.codec.record))
        zeros = [None if union else f.codec.zero() for f in fields]
        self.record = make_record_class(
            self.root,
            btf_type,
            [f.name for f in fields],
            zeros,
            promoted=promoted,
            keep_bytes=union,
        )
        self.record.__btf_promoted__ = tuple(promoted)  # type: ignore[attr-defined]
        if union:
            self.put_fn, self.get_fn = self._put_union, self._get_union
        else:
            self.put_fn, self.get_fn = _generate(self)

    def encode(self, value: Any) -> bytes:
        """The bytes of ``value`` (a record or a mapping)."""
        buf = bytearray(self.size)
        try:
            self.put_fn(buf, 0, value)
        except CodecError as e:
            raise e.rooted(self.root) from None
        return bytes(buf)

    def decode(self, buf: Buffer) -> Any:
        """The record held by ``buf``."""
        if len(buf) != self.size:
            raise CodecError(f"need {self.size} bytes, got {len(buf)}", self.root)
        return self.get_fn(buf, 0)

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        self.put_fn(buf, offset, value)

    def get(self, buf: Buffer, offset: int) -> Any:
        """Read the record at ``offset``."""
        return self.get_fn(buf, offset)

    def zero(self) -> Any:
        """A record of zeros (a union's members all ``None``)."""
        return self.record()

    def _get_union(self, buf: Buffer, offset: int) -> Any:
        record = self.record._make(  # type: ignore[attr-defined]
            [f.codec.get(buf, offset) for f in self.fields]
        )
        record.__btf_bytes__ = bytes(buf[offset : offset + self.size])
        return record

    def _put_union(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        # A decoded union starts from the bytes it was decoded from and writes
        # only the members changed since, so that its other members (and the
        # padding of each) survive a round trip. Otherwise every member given
        # is written, in declaration order.
        if isinstance(value, Record) and value.__btf_type__ is self.type:
            values = [getattr(value, f.name) for f in self.fields]
            base = getattr(value, "__btf_bytes__", None)
        elif isinstance(value, Mapping):
            extra = value.keys() - {f.name for f in self.fields}
            if extra:
                raise CodecError(f"no member {sorted(extra)[0]!r} in {self.root}")
            values = [value.get(f.name) for f in self.fields]
            base = None
        else:
            raise type_error(value, f"{self.root} record or a mapping")
        buf[offset : offset + self.size] = base if base is not None else bytes(self.size)
        for f, v in zip(self.fields, values, strict=True):
            if v is None or (base is not None and _unchanged(f, base, v)):
                continue
            try:
                f.codec.put(buf, offset, v)
            except CodecError as e:
                raise e.within(f".{f.name}") from None


def _unchanged(f: Field, base: bytes, value: Any) -> bool:
    """Whether ``value`` is what the union member ``f`` holds in ``base``.

    By value, and else by encoding: a float member holding a NaN (any float
    of all-ones bytes) never equals itself, yet is unchanged.
    """
    old = f.codec.get(base, 0)
    if old == value:
        return True
    try:
        return f.codec.encode(old) == f.codec.encode(value)
    except CodecError:
        return False


def _is_flat(f: Field) -> bool:
    return not f.bits and f.codec.fmt is not None and f.offset % 8 == 0


def _generate(c: CompositeCodec) -> tuple[PutFn, GetFn]:
    """Write, compile and return the put and get functions of a struct or data section."""
    fields, record = c.fields, c.record
    flat = [i for i, f in enumerate(fields) if _is_flat(f)]
    fmt, pos = [prefix(c.byte_order)], 0
    for i in flat:
        f = fields[i]
        if f.offset // 8 < pos:
            # Not C: most likely a data section whose offsets no loader filled in.
            raise CodecError(f"member {f.name!r} at byte {f.offset // 8} overlaps the one before")
        if f.offset // 8 > pos:
            fmt.append(f"{f.offset // 8 - pos}x")
        fmt.append(f.codec.fmt or "")
        pos = f.offset // 8 + f.codec.size
    if pos > c.size:
        raise CodecError(f"members end at byte {pos}, past the size {c.size}")
    if c.size > pos:
        fmt.append(f"{c.size - pos}x")
    packer = struct.Struct("".join(fmt))
    names = [f.name for f in fields]
    flat_zero = {i: fields[i].codec.zero() for i in flat}
    scope: dict[str, Any] = {
        "cls": record,
        "T": c.type,
        "Record": Record,
        "Mapping": Mapping,
        "CodecError": CodecError,
        "struct_error": struct.error,
        "MISSING": MISSING,
        "type_error": type_error,
        "pack_into": packer.pack_into,
        "unpack_from": packer.unpack_from,
        "make": record._make,  # type: ignore[attr-defined]
    }
    n = len(fields)
    vs = [f"f{i}" for i in range(n)]
    target = ", ".join(vs) + ("," if n == 1 else "")
    if n == 0:
        scope["getter"] = lambda v: ()
    elif n == 1:
        one = attrgetter(names[0])
        scope["getter"] = lambda v: (one(v),)
    else:
        scope["getter"] = attrgetter(*names)
    scope["from_mapping"] = _mapping_reader(c, names, flat_zero)

    put = ["def put(buf, off, v):"]
    put.append("    if v.__class__ is cls or (isinstance(v, Record) and v.__btf_type__ is T):")
    put.append(f"        {target} = getter(v)" if n else "        pass")
    put.append("    elif isinstance(v, Mapping):")
    put.append(f"        {target} = from_mapping(v)" if n else "        from_mapping(v)")
    put.append("    else:")
    put.append(f"        raise type_error(v, {c.root + ' record or a mapping'!r})")
    for i in flat:
        if (fields[i].codec.fmt or "").endswith("s"):
            scope[f"norm{i}"] = fields[i].codec.normalize
            put += [
                "    try:",
                f"        f{i} = norm{i}(f{i})",
                "    except CodecError as e:",
                f"        raise e.within({'.' + names[i]!r}) from None",
            ]
    # One call packs the flat members and zeroes everything else (padding,
    # nested members and bitfields, written next).
    args = "".join(f", f{i}" for i in flat)
    scope["repack"] = _repacker(c, flat, packer)
    put += [
        "    try:",
        f"        pack_into(buf, off{args})",
        "    except (struct_error, OverflowError):",
        f"        repack(buf, off, ({args[2:]}{',' if len(flat) == 1 else ''}))",
    ]
    get_parts: list[str] = []
    flat_pos = {i: k for k, i in enumerate(flat)}
    for i, f in enumerate(fields):
        byte = f.offset // 8
        if i in flat_pos:
            if f.codec.fix is not None:
                scope[f"fix{i}"] = f.codec.fix
                get_parts.append(f"fix{i}(t[{flat_pos[i]}])")
            else:
                get_parts.append(f"t[{flat_pos[i]}]")
            continue
        if f.bits:
            bf = Bitfield(f.offset, f.bits, f.signed, f.codec, c.byte_order)
            scope[f"put{i}"], scope[f"get{i}"] = bf.put, bf.get
            where = "off"
        else:
            codec = f.codec
            scope[f"put{i}"] = getattr(codec, "put_fn", codec.put)
            scope[f"get{i}"] = getattr(codec, "get_fn", codec.get)
            where = f"off + {byte}" if byte else "off"
        put += [
            f"    if f{i} is not MISSING:",
            "        try:",
            f"            put{i}(buf, {where}, f{i})",
            "        except CodecError as e:",
            f"            raise e.within({'.' + names[i]!r}) from None",
        ]
        get_parts.append(f"get{i}(buf, {where})")

    get = ["def get(buf, off):"]
    if flat:
        get.append("    t = unpack_from(buf, off)")
    if len(flat) == n and all(fields[i].codec.fix is None for i in flat) and n:
        get.append("    return make(t)")
    else:
        get.append(f"    return make(({', '.join(get_parts)}{',' if n == 1 else ''}))")
    source = "\n".join(put) + "\n\n" + "\n".join(get) + "\n"
    exec(compile(source, f"<codec {c.root}>", "exec"), scope)
    return scope["put"], scope["get"]


def _mapping_reader(
    c: CompositeCodec, names: list[str], flat_zero: dict[int, Any]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """Member values from a mapping: zero (or MISSING) for those it leaves out."""
    known = frozenset(names)
    defaults = [flat_zero.get(i, MISSING) for i in range(len(names))]
    pairs = list(zip(names, defaults, strict=True))

    def read(v: Mapping[str, Any]) -> tuple[Any, ...]:
        extra = v.keys() - known
        if extra:
            raise CodecError(f"no member {sorted(extra)[0]!r} in {c.root}")
        return tuple([v.get(name, default) for name, default in pairs])

    return read


def _repacker(
    c: CompositeCodec, flat: list[int], packer: struct.Struct
) -> Callable[[WritableBuffer, int, tuple[Any, ...]], None]:
    """The slow path once ``struct`` refused a value: normalize each, naming the culprit."""

    def repack(buf: WritableBuffer, off: int, values: tuple[Any, ...]) -> None:
        fixed = []
        for i, value in zip(flat, values, strict=True):
            f = c.fields[i]
            try:
                fixed.append(f.codec.normalize(value))
            except CodecError as e:
                raise e.within(f".{f.name}") from None
        packer.pack_into(buf, off, *fixed)

    return repack
