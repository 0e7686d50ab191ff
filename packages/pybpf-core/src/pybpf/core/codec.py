"""How a map turns Python keys and values into bytes and back.

A codec is anything with ``size``, ``encode(obj) -> bytes`` and ``decode(buf)
-> obj``. :class:`BytesCodec` (the default) passes bytes through;
:class:`IntCodec` reads and writes integers; the btf layer's value codec
(:func:`pybpf.btf.codec_for`) plugs in the same way, and is what a map whose
spec carries BTF key or value types uses by default (:func:`btf_codec`).
Bytes-like input is accepted by every map whatever its codec: it is the raw
encoding.
"""

from __future__ import annotations

import sys

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TypeGuard

    from pybpf.asm import ByteOrder
    from pybpf.btf import Type as BTFType
    from pybpf.btf.codec import Codec as BTFCodec
    from pybpf.core._codec_protocol import Codec

#: The btf layer's value codecs: imported by the first map with BTF-typed keys
#: or values (:func:`btf_codec`), not by every load.
_BTF_CODEC_MODULE: Final = "pybpf.btf.codec"

__all__ = ["BytesCodec", "Codec", "IntCodec", "btf_codec", "int_format"]

# Codec is imported the first time it is read (PEP 562): a run-time checked
# protocol needs typing, and only isinstance checks read it at run time.
__getattr__, __dir__ = lazy_exports(
    __name__, {"pybpf.core._codec_protocol": ["Codec"]}, globals(), __all__
)


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
        byteorder: ByteOrder = sys.byteorder,
        signed: bool = False,
    ) -> None:
        if size not in (1, 2, 4, 8):
            raise ValueError(f"IntCodec size must be 1, 2, 4 or 8, not {size}")
        self._size = size
        self.byteorder: ByteOrder = byteorder
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


#: struct formats of native integers by (size, signed).
_INT_FORMATS: Final = {
    (1, False): "B",
    (2, False): "H",
    (4, False): "I",
    (8, False): "Q",
    (1, True): "b",
    (2, True): "h",
    (4, True): "i",
    (8, True): "q",
}
_NATIVE_INT_FORMATS: Final = frozenset(_INT_FORMATS.values())
#: The C type of each native int format, for typed pointers into map buffers.
CTYPES: Final = {
    "B": "uint8_t",
    "H": "uint16_t",
    "I": "uint32_t",
    "Q": "uint64_t",
    "b": "int8_t",
    "h": "int16_t",
    "i": "int32_t",
    "q": "int64_t",
}


def int_format(codec: Codec, size: int) -> str | None:
    """The :mod:`struct` format (``"I"``, ``"q"``...) of ``size``-byte ints in host order.

    Returned when ``codec`` turns exactly such ints into their native bytes
    and back (a host-order :class:`IntCodec`, a BTF integer or pointer codec),
    so that a map may skip it on its fast paths; ``None`` for anything else
    (bytes, enums, structs, other sizes or byte orders).
    """
    if isinstance(codec, IntCodec):
        if codec.size != size or codec.byteorder != sys.byteorder:
            return None
        return _INT_FORMATS[size, codec.signed]
    if _is_btf_codec(codec):
        fmt = codec.fmt
        if (
            fmt in _NATIVE_INT_FORMATS
            and codec.fix is None
            and codec.size == size
            and codec.byte_order == sys.byteorder
        ):
            return fmt
    return None


def _is_btf_codec(codec: object) -> TypeGuard[BTFCodec]:
    """Whether ``codec`` is a BTF value codec; none exists before their module is imported."""
    module = sys.modules.get(_BTF_CODEC_MODULE)
    return module is not None and isinstance(codec, module.Codec)


def btf_codec(btf_type: BTFType | None, size: int) -> Codec | None:
    """The BTF value codec of ``btf_type`` (host byte order), if it describes ``size`` bytes.

    ``None`` without a type, or when the type has no value codec or another
    size than the map's key or value: such a map keeps raw bytes.
    """
    if btf_type is None or size == 0:
        return None
    from pybpf.btf.codec import codec_for  # noqa: PLC0415 (see _BTF_CODEC_MODULE)

    try:
        codec = codec_for(btf_type)
    except ValueError:  # CodecError: a type without values, or not supported
        return None
    return codec if codec.size == size else None
