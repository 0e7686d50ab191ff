"""Codecs of scalar types: integers, bools, enums, pointers, floats, byte arrays."""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec._base import Buffer, Codec, WritableBuffer, type_error
from pybpf.btf.codec.errors import CodecError
from pybpf.btf.types import EnumValue, Type

__all__ = [
    "BoolCodec",
    "BytesCodec",
    "FloatCodec",
    "IntCodec",
    "WideIntCodec",
    "enum_class",
    "int_range",
]

_INT_FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}
_FLOAT_FORMATS = {2: "e", 4: "f", 8: "d"}


def prefix(byte_order: ByteOrder) -> str:
    """The :mod:`struct` prefix of a byte order: standard sizes, no alignment."""
    return "<" if byte_order == "little" else ">"


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest value of an integer ``bits`` wide."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def check_int(value: Any, bits: int, signed: bool) -> int:
    """``value`` as an int in range, else a precise error."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = value.__index__()
        except (AttributeError, TypeError):
            raise type_error(value, "int") from None
    lo, hi = int_range(bits, signed)
    if not lo <= value <= hi:
        kind = "signed" if signed else "unsigned"
        raise CodecError(f"{value} does not fit in {bits} bits {kind} ({lo}..{hi})")
    return int(value)


class IntCodec(Codec):
    """An integer of 1, 2, 4 or 8 bytes (also pointers, and enums with ``members``).

    ``members`` maps each declared value to a Python enum member; enum values
    decode to those members (unknown values stay plain ints) and encode from
    members, ints or enumerator names.
    """

    __slots__ = ("_by_name", "_pack", "_pack_into", "_unpack", "_unpack_from", "members", "signed")

    def __init__(
        self,
        btf_type: Type,
        size: int,
        signed: bool,
        byte_order: ByteOrder,
        *,
        members: dict[int, enum.IntEnum] | None = None,
        by_name: dict[str, int] | None = None,
    ) -> None:
        super().__init__(btf_type, size, byte_order)
        self.signed = signed
        char = _INT_FORMATS[size]
        self.fmt = char if signed else char.upper()
        s = struct.Struct(prefix(byte_order) + self.fmt)
        self._pack, self._pack_into = s.pack, s.pack_into
        self._unpack, self._unpack_from = s.unpack, s.unpack_from
        self.members = members
        self._by_name = by_name or {}
        if members:
            lookup = members.get
            self.fix = lambda v: lookup(v, v)

    def encode(self, value: Any) -> bytes:
        """The bytes of ``value``."""
        try:
            return self._pack(value)
        except struct.error:
            pass
        try:
            return self._pack(self.normalize(value))
        except CodecError as e:
            raise e.rooted(self.root) from None

    def decode(self, buf: Buffer) -> Any:
        """The integer held by ``buf``."""
        try:
            value = self._unpack(buf)[0]
        except struct.error:
            raise CodecError(f"need {self.size} bytes, got {len(buf)}", self.root) from None
        return value if self.fix is None else self.fix(value)

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        try:
            self._pack_into(buf, offset, value)
        except struct.error:
            self._pack_into(buf, offset, self.normalize(value))

    def get(self, buf: Buffer, offset: int) -> Any:
        """Read the integer at ``offset``."""
        value = self._unpack_from(buf, offset)[0]
        return value if self.fix is None else self.fix(value)

    def normalize(self, value: Any) -> int:
        """``value`` as an int in range (enumerator names allowed for enums)."""
        if isinstance(value, str) and self.members is not None:
            try:
                return self._by_name[value]
            except KeyError:
                raise CodecError(f"{self.root} has no enumerator {value!r}") from None
        return check_int(value, self.size * 8, self.signed)


class WideIntCodec(Codec):
    """An integer of a size :mod:`struct` has no format for (``__int128``)."""

    __slots__ = ("signed",)

    def __init__(self, btf_type: Type, size: int, signed: bool, byte_order: ByteOrder) -> None:
        super().__init__(btf_type, size, byte_order)
        self.signed = signed

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        value = check_int(value, self.size * 8, self.signed)
        buf[offset : offset + self.size] = value.to_bytes(
            self.size, self.byte_order, signed=self.signed
        )

    def get(self, buf: Buffer, offset: int) -> int:
        """Read the integer at ``offset``."""
        return int.from_bytes(buf[offset : offset + self.size], self.byte_order, signed=self.signed)


class BoolCodec(Codec):
    """A C ``_Bool``: ``False``/``True`` (or 0/1) in, ``bool`` out (any non-zero is true)."""

    __slots__ = ("_inner",)

    def __init__(self, btf_type: Type, size: int, byte_order: ByteOrder) -> None:
        super().__init__(btf_type, size, byte_order)
        self._inner: Codec = (
            IntCodec(btf_type, size, False, byte_order)
            if size in _INT_FORMATS
            else WideIntCodec(btf_type, size, False, byte_order)
        )

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        self._inner.put(buf, offset, self.normalize(value))

    def get(self, buf: Buffer, offset: int) -> bool:
        """Read the bool at ``offset``."""
        return bool(self._inner.get(buf, offset))

    def normalize(self, value: Any) -> int:
        """``value`` as 0 or 1."""
        if value is True or value is False or (type(value) is int and value in (0, 1)):
            return int(value)
        raise type_error(value, "bool")


class FloatCodec(Codec):
    """A ``float``/``double`` (or a 2-byte half float)."""

    __slots__ = ("_pack", "_pack_into", "_unpack", "_unpack_from")

    def __init__(self, btf_type: Type, size: int, byte_order: ByteOrder) -> None:
        super().__init__(btf_type, size, byte_order)
        self.fmt = _FLOAT_FORMATS[size]
        s = struct.Struct(prefix(byte_order) + self.fmt)
        self._pack, self._pack_into = s.pack, s.pack_into
        self._unpack, self._unpack_from = s.unpack, s.unpack_from

    def encode(self, value: Any) -> bytes:
        """The bytes of ``value``."""
        try:
            return self._pack(value)
        except (struct.error, OverflowError):
            try:
                return self._pack(self.normalize(value))
            except CodecError as e:
                raise e.rooted(self.root) from None

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        try:
            self._pack_into(buf, offset, value)
        except (struct.error, OverflowError):
            self._pack_into(buf, offset, self.normalize(value))

    def get(self, buf: Buffer, offset: int) -> float:
        """Read the float at ``offset``."""
        return self._unpack_from(buf, offset)[0]  # type: ignore[no-any-return]

    def normalize(self, value: Any) -> float:
        """``value`` as a float that fits."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise type_error(value, "float")
        try:
            self._pack(value)
        except (struct.error, OverflowError):
            raise CodecError(f"{value!r} does not fit in a {self.size}-byte float") from None
        return float(value)


class BytesCodec(Codec):
    """An array of byte-sized integers, as :class:`bytes`.

    ``text`` arrays (C ``char``) decode without their trailing NULs, and encode
    from ``str`` (UTF-8) too; other byte arrays decode to all their bytes. Both
    encode from a shorter value, zero-padded, never from a longer one.
    """

    __slots__ = ("_pack_into", "_unpack_from", "text")

    def __init__(self, btf_type: Type, size: int, text: bool, byte_order: ByteOrder) -> None:
        super().__init__(btf_type, size, byte_order)
        self.text = text
        self.fmt = f"{size}s"
        s = struct.Struct(self.fmt)
        self._pack_into, self._unpack_from = s.pack_into, s.unpack_from
        if text:
            self.fix = _strip

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``."""
        self._pack_into(buf, offset, self.normalize(value))

    def get(self, buf: Buffer, offset: int) -> bytes:
        """Read the bytes at ``offset``."""
        value: bytes = self._unpack_from(buf, offset)[0]
        return value.rstrip(b"\0") if self.text else value

    def normalize(self, value: Any) -> bytes:
        """``value`` as bytes no longer than the array."""
        if isinstance(value, bytes):
            raw = value
        elif isinstance(value, str) and self.text:
            raw = value.encode()
        elif isinstance(value, bytearray | memoryview):
            raw = bytes(value)
        else:
            raise type_error(value, "str or bytes" if self.text else "bytes")
        if len(raw) > self.size:
            raise CodecError(f"{len(raw)} bytes do not fit in {self.size}")
        return raw


def _strip(value: bytes) -> bytes:
    return value.rstrip(b"\0")


def enum_class(
    name: str, values: Sequence[EnumValue], size: int, signed: bool
) -> tuple[dict[int, enum.IntEnum], dict[str, int]]:
    """Python enum members for a BTF enum's values, keyed by value as decoded.

    Returns the members (empty when the names do not make a Python enum) and
    the value of each enumerator name.
    """
    bits = size * 8
    mask = (1 << bits) - 1
    by_name: dict[str, int] = {}
    for v in values:
        value = v.value & mask
        if signed and value >> (bits - 1):
            value -= 1 << bits
        by_name.setdefault(v.name, value)
    try:
        cls = enum.IntEnum(name or "anon_enum", list(by_name.items()))  # type: ignore[misc]
    except (ValueError, TypeError):
        return {}, by_name
    members: dict[int, enum.IntEnum] = {}
    for member in cls:
        members.setdefault(member.value, member)
    return members, by_name
