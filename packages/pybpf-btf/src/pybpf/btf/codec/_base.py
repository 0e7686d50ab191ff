"""The codec interface every compiled codec implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pybpf.asm import ByteOrder
from pybpf.btf.codec.errors import CodecError, CodecTypeError
from pybpf.btf.types import Type

__all__ = ["Buffer", "Codec", "WritableBuffer"]
Buffer = bytes | bytearray | memoryview
WritableBuffer = bytearray | memoryview


class Codec:
    """Encodes Python values to the bytes of a BTF type and decodes them back.

    Get one with :func:`codec_for`; it is compiled once per (type, byte order).

    ``fmt`` is set on codecs whose values the :mod:`struct` module packs and
    checks completely (``"I"``, ``"16s"``): an enclosing struct folds them into
    its own format. ``fix`` then turns what ``struct`` unpacks into the value
    (an enum member, stripped text), or is ``None`` when nothing is to be done.
    """

    __slots__ = ("byte_order", "fix", "fmt", "root", "size", "type")

    def __init__(self, btf_type: Type, size: int, byte_order: ByteOrder) -> None:
        self.type = btf_type
        self.size = size
        self.byte_order = byte_order
        self.root = describe(btf_type)
        self.fmt: str | None = None
        self.fix: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.root} size={self.size} {self.byte_order}>"

    # The public operations. Subclasses override the ones they can do faster.

    def encode(self, value: Any) -> bytes:
        """The bytes of ``value``; raises :class:`CodecError` naming the bad field."""
        buf = bytearray(self.size)
        try:
            self.put(buf, 0, value)
        except CodecError as e:
            raise e.rooted(self.root) from None
        return bytes(buf)

    def encode_into(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` into ``buf`` at ``offset`` (padding included, zeroed)."""
        self.check_span(buf, offset)
        try:
            self.put(buf, offset, value)
        except CodecError as e:
            raise e.rooted(self.root) from None

    def decode(self, buf: Buffer) -> Any:
        """The value held by ``buf``, which must be exactly :attr:`size` bytes."""
        if len(buf) != self.size:
            raise CodecError(f"need {self.size} bytes, got {len(buf)}", self.root)
        return self.get(buf, 0)

    def decode_from(self, buf: Buffer, offset: int = 0) -> Any:
        """The value held by ``buf`` at ``offset`` (the rest of ``buf`` is ignored)."""
        self.check_span(buf, offset)
        return self.get(buf, offset)

    def zero(self) -> Any:
        """The value of all-zero bytes."""
        return self.get(bytes(self.size), 0)

    # What composite codecs call on their members: no bounds checks, paths relative.

    def put(self, buf: WritableBuffer, offset: int, value: Any) -> None:
        """Write ``value`` at ``offset``; errors carry the path below this type."""
        raise NotImplementedError

    def get(self, buf: Buffer, offset: int) -> Any:
        """Read the value at ``offset``."""
        raise NotImplementedError

    def normalize(self, value: Any) -> Any:
        """For ``fmt`` codecs: ``value`` as ``struct`` packs it, or a precise error."""
        return value

    def check_span(self, buf: Buffer, offset: int) -> None:
        """Reject an offset that does not leave :attr:`size` bytes in ``buf``."""
        if offset < 0 or offset + self.size > len(buf):
            raise CodecError(
                f"{self.size} bytes at offset {offset} do not fit in a buffer of {len(buf)}",
                self.root,
            )


def describe(t: Type) -> str:
    """How error paths name a type: its name, else its C kind."""
    if t.name:
        return t.name
    return type(t).__name__.lower()


def type_error(value: Any, wanted: str) -> CodecTypeError:
    """The error for a value of the wrong Python type."""
    return CodecTypeError(f"expected {wanted}, got {type(value).__name__} {value!r:.60}")
