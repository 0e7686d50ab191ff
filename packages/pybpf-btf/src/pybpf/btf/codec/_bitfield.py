"""Reading and writing one bitfield inside the bytes of its struct."""

from __future__ import annotations

from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec._base import Buffer, Codec, WritableBuffer
from pybpf.btf.codec._scalar import BoolCodec, check_int, int_range
from pybpf.btf.codec.errors import CodecError

__all__ = ["Bitfield"]


class Bitfield:
    """``bits`` bits at bit ``bit_offset`` of a composite, holding a value of ``codec``.

    BTF counts bit offsets in the target's bitfield order: from the least
    significant bit of the first byte on little-endian targets, from the most
    significant one on big-endian targets. Either way the field lies within the
    bytes it touches, read as one integer of the target's byte order.
    """

    __slots__ = (
        "_clear",
        "_end",
        "_hi",
        "_lo",
        "_mask",
        "_nbytes",
        "_order",
        "_shift",
        "_start",
        "bits",
        "codec",
        "signed",
    )

    def __init__(
        self, bit_offset: int, bits: int, signed: bool, codec: Codec, byte_order: ByteOrder
    ) -> None:
        self.bits = bits
        self.signed = signed
        self.codec = codec
        self._start = bit_offset // 8
        self._end = (bit_offset + bits + 7) // 8
        self._nbytes = self._end - self._start
        self._order = byte_order
        within = bit_offset % 8
        self._shift = within if byte_order == "little" else self._nbytes * 8 - within - bits
        self._mask = (1 << bits) - 1
        self._clear = ~(self._mask << self._shift)
        self._lo, self._hi = int_range(bits, signed)

    def get(self, buf: Buffer, offset: int) -> Any:
        """The field's value in the composite at ``offset``."""
        raw = int.from_bytes(buf[offset + self._start : offset + self._end], self._order)
        value = (raw >> self._shift) & self._mask
        if self.signed and value >> (self.bits - 1):
            value -= 1 << self.bits
        fix = self.codec.fix
        if fix is not None:
            return fix(value)
        if isinstance(self.codec, BoolCodec):
            return bool(value)
        return value

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Store ``value`` in the composite at ``offset``, keeping the other bits."""
        if type(value) is not int or not self._lo <= value <= self._hi:
            value = self.codec.normalize(value)
            if not isinstance(value, int):
                raise CodecError(f"a bitfield holds integers, not {type(value).__name__}")
            value = check_int(value, self.bits, self.signed)
        start, end = offset + self._start, offset + self._end
        raw = int.from_bytes(buf[start:end], self._order) & self._clear
        raw |= (value & self._mask) << self._shift
        buf[start:end] = raw.to_bytes(self._nbytes, self._order)
