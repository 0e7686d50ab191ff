"""A global variable's value: its bytes read and written through its BTF type.

One implementation for both sides of a variable: ``VariableSpec`` (the initial
value, in the spec's map contents) and ``pybpf.core.Variable`` (the kernel's
copy, in the loaded map). Each provides where the bytes live (``raw``); the
value codec, the size check and the errors are here. Public for pybpf's own
distributions; users call ``get()``/``set()`` on the variables themselves.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pybpf.asm import ByteOrder
    from pybpf.btf import Type as BTFType
    from pybpf.btf.codec import Codec

__all__ = ["VariableValue"]


class VariableValue:
    """``get()``/``set()`` of a variable over its ``raw`` bytes.

    A subclass has ``name``, ``size``, ``type`` (the BTF type, or None),
    ``byte_order`` and a ``raw`` property, whose setter calls
    :meth:`check_raw` before it writes.
    """

    __slots__ = ()

    name: str
    size: int
    type: BTFType | None
    byte_order: ByteOrder

    @property
    def raw(self) -> bytes:
        """The variable's bytes (each subclass says where they live)."""
        raise NotImplementedError

    @raw.setter
    def raw(self, data: bytes) -> None:
        raise NotImplementedError

    def get(self) -> Any:
        """The value, decoded through the variable's BTF type."""
        return self._codec().decode(self.raw)

    def set(self, value: Any) -> None:
        """Write ``value``, encoded through the variable's BTF type."""
        self.raw = self._codec().encode(value)

    def check_raw(self, data: bytes) -> None:
        """Refuse bytes of another size than the variable's."""
        if len(data) != self.size:
            raise ValueError(f"variable {self.name!r} is {self.size} bytes, got {len(data)}")

    def _codec(self) -> Codec:
        if self.type is None:
            raise ValueError(f"variable {self.name!r} has no BTF type: use .raw")
        # Imported here: the codec's compiler is only needed once a value is read.
        from pybpf.btf.codec import codec_for  # noqa: PLC0415

        return codec_for(self.type, self.byte_order)
