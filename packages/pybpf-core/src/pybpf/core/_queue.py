"""The operations of maps that hold values without keys: queues, stacks, bloom filters.

A queue or stack is pushed to, popped and peeked; a bloom filter is pushed to
and asked whether it :meth:`~ValueStoreOps.contains` a value. None of them has
keys, so ``Map``'s dict-like operations raise a TypeError on them that names
these methods (:func:`pybpf.core._map_errors.keyless_error`), and these
methods raise one on the map types that do not have them.
"""

from __future__ import annotations

import errno

from pybpf.core import _sys
from pybpf.core._map_errors import check_flags, wrong_type_error
from pybpf.core._uapi import Command
from pybpf.elf import MapType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from pybpf.core._elements import Elements
    from pybpf.core._map_errors import MapErrors
    from pybpf.core.fd import FD

__all__ = ["ValueStoreOps"]

_LOOKUP: Final = int(Command.MAP_LOOKUP_ELEM)
_UPDATE: Final = int(Command.MAP_UPDATE_ELEM)
_LOOKUP_AND_DELETE: Final = int(Command.MAP_LOOKUP_AND_DELETE_ELEM)

#: The map types each operation applies to.
_PUSH: Final = frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})
_POP: Final = frozenset({MapType.QUEUE, MapType.STACK})
_CONTAINS: Final = frozenset({MapType.BLOOM_FILTER})


class ValueStoreOps:
    """``push``, ``pop``, ``peek`` and ``contains``: the part of ``Map`` for keyless maps."""

    __slots__ = ()

    _elements: Elements
    _errors: MapErrors
    _fd: FD

    def push(self, value: Any, flags: int = 0) -> None:
        """Add ``value`` to a queue, stack or bloom filter.

        A full queue or stack raises :class:`~pybpf.core.errors.LimitError`,
        unless ``flags`` is ``UpdateFlags.EXIST``: then the oldest value makes room.
        """
        el = self._applies("push", _PUSH)
        flags = check_flags(flags, f"push in map {el.name!r}")
        with el.lock:
            el.write_value(el.vmem, value)
            rc = _sys.fd_calls.map_elem(_UPDATE, self._fd._cell, _sys.NULL, el.vbuf, flags)
        if rc:
            raise self._errors.element(rc, "push")

    def pop(self) -> Any:
        """Remove and return the next value of a queue or stack (KeyNotFoundError if empty)."""
        return self._take(_LOOKUP_AND_DELETE, "pop")

    def peek(self) -> Any:
        """The next value of a queue or stack, left in place (KeyNotFoundError if empty)."""
        return self._take(_LOOKUP, "peek")

    def contains(self, value: Any) -> bool:
        """Whether a bloom filter may contain ``value``: False is certain, True may be wrong.

        ``value in m`` asks the same of a bloom filter.
        """
        el = self._applies("contains", _CONTAINS)
        with el.lock:
            el.write_value(el.vmem, value)
            rc = _sys.fd_calls.map_elem(_LOOKUP, self._fd._cell, _sys.NULL, el.vbuf, 0)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise self._errors.element(rc, "contains")
        return True

    def _take(self, cmd: int, op: str) -> Any:
        """The value at the head of a queue or stack, removed for ``pop``."""
        el = self._applies(op, _POP)
        with el.lock:
            rc = _sys.fd_calls.map_elem(cmd, self._fd._cell, _sys.NULL, el.vbuf, 0)
            if rc:
                raise self._errors.element(rc, op)
            return el.read_value(el.vmem)

    def _applies(self, method: str, types: frozenset[MapType]) -> Elements:
        """The map's elements, once ``method`` is known to apply to its type."""
        el = self._elements
        if el.map_type not in types:
            raise wrong_type_error(el.name, el.map_type, method)
        return el
