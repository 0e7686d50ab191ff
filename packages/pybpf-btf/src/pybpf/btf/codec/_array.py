"""Codecs of arrays (other than byte arrays, which are :class:`BytesCodec`)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec._base import Buffer, Codec, WritableBuffer, type_error
from pybpf.btf.codec._scalar import prefix
from pybpf.btf.codec.errors import CodecError
from pybpf.btf.types import Type

__all__ = ["ArrayCodec"]


class ArrayCodec(Codec):
    """``nelems`` elements as a list; encodes from a list or tuple no longer than that.

    Missing trailing elements are zero. Elements that :mod:`struct` packs go in
    one call for the whole array.
    """

    __slots__ = ("_pack_into", "_unpack_from", "element", "nelems", "stride")

    def __init__(self, btf_type: Type, element: Codec, nelems: int, byte_order: ByteOrder) -> None:
        super().__init__(btf_type, element.size * nelems, byte_order)
        self.element = element
        self.nelems = nelems
        self.stride = element.size
        self._pack_into = self._unpack_from = None
        if element.fmt is not None and not element.fmt.endswith("s") and nelems:
            s = struct.Struct(f"{prefix(byte_order)}{nelems}{element.fmt}")
            self._pack_into, self._unpack_from = s.pack_into, s.unpack_from

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write the elements of ``value`` at ``offset``."""
        if (type(value) is not list and type(value) is not tuple) and (
            isinstance(value, str | bytes | bytearray) or not isinstance(value, Sequence)
        ):
            raise type_error(value, "list or tuple")
        n = len(value)
        if n > self.nelems:
            raise CodecError(f"{n} elements do not fit in {self.nelems}")
        if self._pack_into is not None:
            if n < self.nelems:
                value = [*value, *([self.element.zero()] * (self.nelems - n))]
            try:
                self._pack_into(buf, offset, *value)
                return
            except struct.error:
                pass
        elif n < self.nelems:
            end = offset + self.size
            buf[offset + n * self.stride : end] = bytes(end - offset - n * self.stride)
        put, stride = self.element.put, self.stride
        normalize = self.element.normalize if self._pack_into is not None else None
        for i, item in enumerate(value):
            try:
                put(buf, offset + i * stride, item if normalize is None else normalize(item))
            except CodecError as e:
                raise e.within(f"[{i}]") from None

    def get(self, buf: Buffer, offset: int) -> list[Any]:
        """Read the elements at ``offset``."""
        if self._unpack_from is not None:
            values = self._unpack_from(buf, offset)
            fix = self.element.fix
            return list(values) if fix is None else [fix(v) for v in values]
        get, stride = self.element.get, self.stride
        return [get(buf, offset + i * stride) for i in range(self.nelems)]
