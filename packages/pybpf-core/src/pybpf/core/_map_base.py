"""The base class of :class:`~pybpf.core.map.Map`: its element hot paths.

Compiled, it is ``_pybpf_fast.MapBase``, written in C: ``m[k]``, ``m[k] = v``,
``lookup`` and ``update`` with int (or exact-size bytes) keys and values go
straight to bpf(2) for the maps that ``Map`` marks fast (``_fast``: 1 lookups,
2 updates; ``_shape`` the ints' sizes and signs; both taken from the map's
:class:`~pybpf.core._elements.Elements`), without a Python frame in between.
Anything else, and every error, is handed to the map's Python methods:
``_lookup``, ``_update``, ``delete`` and ``_fast_error``. Without the compiled
module, :class:`PyMapBase` hands everything to them.
"""

from __future__ import annotations

from pybpf.core import _sys

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pybpf.core.fd import FD

__all__ = ["MapBase", "PyMapBase"]


class PyMapBase:
    """The element operations in Python: what ``_pybpf_fast.MapBase`` does in C."""

    __slots__ = ("_fast", "_fd", "_shape")

    _fd: FD
    _shape: int
    _fast: int

    def lookup(self, key: Any) -> Any:
        """The value at ``key``; :class:`~pybpf.core.errors.KeyNotFoundError` if absent."""
        return self._lookup(key)

    def update(self, key: Any, value: Any, flags: int = 0) -> None:
        """Set ``key`` to ``value``; ``flags`` as :class:`UpdateFlags` (NOEXIST, EXIST...)."""
        self._update(key, value, flags)

    def __getitem__(self, key: Any) -> Any:
        return self._lookup(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._update(key, value, 0)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    # What the subclass provides, and the C base calls by name.

    def _lookup(self, key: Any) -> Any:
        raise NotImplementedError

    def _update(self, key: Any, value: Any, flags: int) -> None:
        raise NotImplementedError

    def delete(self, key: Any) -> None:
        """Remove ``key``."""
        raise NotImplementedError

    def _fast_error(self, op: str, err: int, key: Any, value: Any, flags: Any) -> None:
        raise NotImplementedError


if TYPE_CHECKING:
    MapBase = PyMapBase
else:
    MapBase = PyMapBase if _sys.fast is None else _sys.fast.MapBase
