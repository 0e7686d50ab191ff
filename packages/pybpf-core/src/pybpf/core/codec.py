"""How a map turns Python keys and values into bytes and back.

A codec is anything with ``size``, ``encode(obj) -> bytes`` and ``decode(buf)
-> obj``. :class:`BytesCodec` (the default) passes bytes through;
:class:`IntCodec` reads and writes integers. The btf layer's value codec will
plug in the same way. Bytes-like input is accepted by every map whatever its
codec: it is the raw encoding.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["BytesCodec", "Codec", "IntCodec"]


@runtime_checkable
class Codec(Protocol):
    """Encodes Python objects to a map's key or value bytes and decodes them back."""

    @property
    def size(self) -> int:
        """The encoded size in bytes (0 when the codec fits any size)."""
        ...

    def encode(self, obj: Any) -> bytes:
        """The bytes for ``obj``, exactly as many as the map's key or value has."""
        ...

    def decode(self, buf: bytes) -> Any:
        """The object for ``buf``."""
        ...


class BytesCodec:
    """Raw bytes in, ``bytes`` out."""

    size = 0

    def encode(self, obj: Any) -> bytes:
        """``obj`` as bytes; it must be bytes-like."""
        if isinstance(obj, bytes | bytearray | memoryview):
            return bytes(obj)
        raise TypeError(f"expected a bytes-like object, got {type(obj).__name__}")

    def decode(self, buf: bytes) -> bytes:
        """``buf`` itself."""
        return bytes(buf)

    def __repr__(self) -> str:
        return "BytesCodec()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BytesCodec)

    def __hash__(self) -> int:
        return hash(BytesCodec)


class IntCodec:
    """Integers of ``size`` bytes, unsigned unless ``signed``.

    ``byteorder`` defaults to the host's, which is the kernel's.
    """

    def __init__(
        self,
        size: int,
        *,
        byteorder: Literal["little", "big"] = sys.byteorder,
        signed: bool = False,
    ) -> None:
        if size not in (1, 2, 4, 8):
            raise ValueError(f"IntCodec size must be 1, 2, 4 or 8, not {size}")
        self._size = size
        self.byteorder: Literal["little", "big"] = byteorder
        self.signed = signed

    @property
    def size(self) -> int:
        """The encoded size in bytes."""
        return self._size

    @property
    def ctype(self) -> str | None:
        """The C type that holds this integer natively, if any (for fast paths)."""
        if self.byteorder != sys.byteorder or self._size < 4:
            return None
        return f"{'int' if self.signed else 'uint'}{self._size * 8}_t"

    def encode(self, obj: Any) -> bytes:
        """``obj`` (an int) as ``size`` bytes."""
        if not isinstance(obj, int):
            raise TypeError(f"expected an int, got {type(obj).__name__}")
        try:
            return obj.to_bytes(self._size, self.byteorder, signed=self.signed)
        except OverflowError:
            raise ValueError(f"{obj} does not fit in {self._size} bytes") from None

    def decode(self, buf: bytes) -> int:
        """The int in ``buf``."""
        return int.from_bytes(buf, self.byteorder, signed=self.signed)

    def __repr__(self) -> str:
        sign = ", signed=True" if self.signed else ""
        return f"IntCodec({self._size}, byteorder={self.byteorder!r}{sign})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntCodec) and (other._size, other.byteorder, other.signed) == (
            self._size,
            self.byteorder,
            self.signed,
        )

    def __hash__(self) -> int:
        return hash((IntCodec, self._size, self.byteorder, self.signed))
