"""Choosing and caching the codec of a BTF type."""

from __future__ import annotations

import functools
import sys
from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec._array import ArrayCodec
from pybpf.btf.codec._base import Codec
from pybpf.btf.codec._composite import CompositeCodec, Field
from pybpf.btf.codec._record import reserved
from pybpf.btf.codec._scalar import (
    BoolCodec,
    BytesCodec,
    FloatCodec,
    IntCodec,
    WideIntCodec,
    enum_class,
)
from pybpf.btf.codec.errors import CodecError
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Float,
    Int,
    IntEncoding,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    Union,
    Var,
)

__all__ = ["codec_for", "resolve"]

# Pointers of the BPF target (and of every 64-bit host the kernel runs on).
POINTER_SIZE = 8


def codec_for(btf_type: Type, byte_order: str | None = None) -> Codec:
    """The codec of ``btf_type`` in ``byte_order`` (``"little"``/``"big"``, default: host).

    Typedefs, qualifiers and variables are transparent: their codec is that of
    the type they name. Codecs are compiled once and cached per type object and
    byte order. Raises :class:`CodecError` for types without values (void,
    functions, forward declarations).
    """
    order = sys.byteorder if byte_order is None else byte_order
    if order not in ("little", "big"):
        raise ValueError(f"byte_order must be 'little' or 'big', not {byte_order!r}")
    return _compiled(resolve(btf_type), order)


def resolve(t: Type) -> Type:
    """``t`` without typedefs, qualifiers (type tags included) and ``Var`` wrappers."""
    seen = 0
    while isinstance(t, Typedef | Qualifier | Var):
        t = t.type
        seen += 1
        if seen > 64:
            raise CodecError(f"typedef or qualifier loop at {t!r}")
    return t


@functools.lru_cache(maxsize=8192)
def _compiled(t: Type, order: ByteOrder) -> Codec:
    if isinstance(t, Int):
        return _int_codec(t, order)
    if isinstance(t, Enum):
        members, by_name = enum_class(t.name, t.values, t.size, t.signed)
        if t.size not in (1, 2, 4, 8):
            raise CodecError(f"enum of {t.size} bytes is not supported", t.name)
        return IntCodec(t, t.size, t.signed, order, members=members, by_name=by_name)
    if isinstance(t, Pointer):
        return IntCodec(t, POINTER_SIZE, False, order)
    if isinstance(t, Float):
        if t.size in (2, 4, 8):
            return FloatCodec(t, t.size, order)
        return BytesCodec(t, t.size, False, order)
    if isinstance(t, Array):
        return _array_codec(t, order)
    if isinstance(t, Composite):
        return CompositeCodec(
            t, t.size, _member_fields(t, order), union=isinstance(t, Union), byte_order=order
        )
    if isinstance(t, Datasec):
        return _datasec_codec(t, order)
    raise CodecError(f"{type(t).__name__} has no values to encode", t.name or repr(t))


def _int_codec(t: Int, order: ByteOrder) -> Codec:
    if t.encoding & IntEncoding.BOOL:
        return BoolCodec(t, t.size, order)
    if t.size in (1, 2, 4, 8):
        return IntCodec(t, t.size, t.signed, order)
    return WideIntCodec(t, t.size, t.signed, order)


def _array_codec(t: Array, order: ByteOrder) -> Codec:
    element = resolve(t.type)
    if isinstance(element, Int) and element.size == 1 and not element.encoding & IntEncoding.BOOL:
        text = bool(element.encoding & IntEncoding.CHAR) or element.name == "char"
        return BytesCodec(t, t.nelems, text, order)
    return ArrayCodec(t, _compiled(element, order), t.nelems, order)


def _member_fields(t: Composite, order: ByteOrder) -> list[Field]:
    fields: list[Field] = []
    for index, m in enumerate(t.members):
        mt = resolve(m.type)
        offset, bits = m.offset, m.bitfield_size
        if not bits and isinstance(mt, Int) and (mt.bits != mt.size * 8 or mt.offset):
            # Old-style bitfield: the width lives in the integer type.
            offset, bits = offset + mt.offset, mt.bits
        if not m.name and bits:
            continue  # unnamed bitfield: padding, written as zeros
        codec = _compiled(mt, order)
        if bits and bits == codec.size * 8 and offset % 8 == 0:
            bits = 0
        if bits and not isinstance(codec, IntCodec | WideIntCodec | BoolCodec):
            raise CodecError(f"bitfield of {type(mt).__name__}", f"{t.name}.{m.name}")
        name = m.name or f"_anon{index}"
        if reserved(name) or any(f.name == name for f in fields):
            raise CodecError(f"member name {name!r} is reserved or used twice", t.name)
        signed = bool(getattr(mt, "signed", False))
        fields.append(Field(name, codec, offset, bits, signed, anonymous=not m.name))
    return fields


def _datasec_codec(t: Datasec, order: ByteOrder) -> Codec:
    fields: list[Field] = []
    end = 0
    for v in t.vars:
        var = v.type
        if not isinstance(var, Var):
            continue  # a function of .ksyms has no value
        codec = _compiled(resolve(var.type), order)
        if reserved(var.name) or any(f.name == var.name for f in fields):
            raise CodecError(f"variable name {var.name!r} is reserved or used twice", t.name)
        fields.append(Field(var.name, codec, v.offset * 8))
        end = max(end, v.offset + codec.size)
    return CompositeCodec(t, max(t.size, end), fields, union=False, byte_order=order)


def cache_clear() -> Any:
    """Forget every compiled codec (for tests and long-lived processes)."""
    _compiled.cache_clear()
