"""Global variables of a loaded collection, read and written in their data map."""

from __future__ import annotations

import mmap

from pybpf.elf.spec import VariableSpec
from pybpf.elf.variable_value import VariableValue

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pybpf.asm import ByteOrder
    from pybpf.core.codec import Codec
    from pybpf.core.map import Map

__all__ = ["Memory", "Variable", "close_memory"]

#: The memory a variable lives in: a data section's :class:`mmap.mmap`, or a
#: view of an arena mapped at a fixed address.
Memory = mmap.mmap | memoryview


class Variable(VariableValue):
    """A global variable: ``size`` bytes at ``offset`` of a data section's map.

    ``get()``/``set()`` go through the variable's BTF type (the value codec);
    ``raw`` is the bytes. Reads and writes reach the kernel's copy, so they
    see and change what the programs see: through the map's memory mapping
    when the map is mmapable (data sections are, from Linux 5.5), else by
    lookup and update of the whole section. ``.rodata`` maps are frozen: their
    variables are read-only once loaded (set them on the spec instead).
    ``__arena`` globals live in the collection's arena mapping: ``map`` is the
    arena map and ``offset`` counts from the arena's first byte.
    """

    __slots__ = ("_map", "_mem", "_value_codec", "byte_order", "name", "offset", "size", "type")

    def __init__(
        self,
        spec: VariableSpec,
        data_map: Map,
        byte_order: ByteOrder,
        mem: Memory | None = None,
    ) -> None:
        #: The variable's name.
        self.name = spec.name
        #: Where it starts in the map's value.
        self.offset = spec.offset
        #: Its size in bytes.
        self.size = spec.size
        #: Its BTF type, if the object has BTF.
        self.type = spec.type
        #: The byte order of the loaded collection, that its values are encoded in.
        self.byte_order = byte_order
        self._map = data_map
        self._mem = mem
        self._value_codec: Codec | None = None

    @property
    def map(self) -> Map:
        """The data section's map holding the variable."""
        return self._map

    @property
    def read_only(self) -> bool:
        """Whether the map is frozen (``.rodata``, ``.kconfig``)."""
        return self._map._frozen

    @property
    def raw(self) -> bytes:
        """The variable's current bytes in the kernel."""
        if self._mem is not None:
            self._map.fd  # noqa: B018 (raises ClosedError once the collection is closed)
            return bytes(self._mem[self.offset : self.offset + self.size])
        value = self._map.lookup(b"\0\0\0\0")
        return bytes(value[self.offset : self.offset + self.size])

    @raw.setter
    def raw(self, data: bytes) -> None:
        self.check_raw(data)
        if self.read_only:
            raise PermissionError(
                f"variable {self.name!r} lives in the frozen map {self._map.name!r}: "
                "set it on the CollectionSpec before loading"
            )
        if self._mem is not None:
            self._map.fd  # noqa: B018 (raises ClosedError once the collection is closed)
            self._mem[self.offset : self.offset + self.size] = data
            return
        # Without mmap, a read-modify-write of the whole section: what a
        # program writes to a neighbour in between is lost.
        value = bytearray(self._map.lookup(b"\0\0\0\0"))
        value[self.offset : self.offset + self.size] = data
        self._map.update(b"\0\0\0\0", bytes(value))

    def with_codec(self, codec: Codec) -> Variable:
        """The same variable, its value encoded and decoded by ``codec`` instead of its BTF type.

        What ``pybpf gen``'s typed modules use to make ``get()`` return their
        generated record classes.
        """
        if codec.size and codec.size != self.size:
            raise ValueError(
                f"variable {self.name!r} is {self.size} bytes, its codec {codec.size} bytes"
            )
        import copy  # noqa: PLC0415 (only typed views are copies; a load makes none)

        view = copy.copy(self)
        view._value_codec = codec
        return view

    def _codec(self) -> Any:
        if self._value_codec is not None:
            return self._value_codec
        return super()._codec()

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, map={self._map.name!r}, offset={self.offset})"


def close_memory(memory: Memory) -> None:
    """Let go of an arena's (or a data section's) mapping.

    A buffer the caller still holds on it (``memoryview(arena.memory)``)
    keeps the mapping, which then goes with the last such buffer: closing a
    collection must not fail half-way, with its programs and maps still open.
    """
    try:
        if isinstance(memory, memoryview):
            memory.release()
        else:
            memory.close()
    except BufferError:
        pass
