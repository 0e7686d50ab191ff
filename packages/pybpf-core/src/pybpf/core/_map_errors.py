"""What a failed map operation raises: the kernel's errno as the typed exception.

:class:`MapErrors` turns the errno of an element or batch operation on one map
into the exception a Python user catches (:class:`KeyError` for a missing key,
:class:`~pybpf.core.errors.LimitError` for a full map...), naming the
operation and the map, and saying why where the map's state tells (frozen,
opened read-only, a record map read as a keyed one). The TypeErrors for an
operation a map type does not have (keys of a queue, ``pop`` of a hash map)
are here too, each naming what to use instead.
"""

from __future__ import annotations

import errno
import os

from pybpf.core import _cmds, _probes
from pybpf.core.errors import (
    ENOTSUPP,
    BPFError,
    BPFPermissionError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    NotSupportedError,
)
from pybpf.elf import MapType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from pybpf.core._uapi import Command
    from pybpf.core.fd import FD

__all__ = [
    "ARRAY_TYPES",
    "VALUE_STORES",
    "MapErrors",
    "check_flags",
    "keyless_error",
    "wrong_type_error",
]

#: Types whose keys are the indexes 0 .. max_entries-1, all present.
ARRAY_TYPES: Final = frozenset({MapType.ARRAY, MapType.PERCPU_ARRAY})
#: Types that hold values without keys, and the methods that reach them.
VALUE_STORES: Final = {
    MapType.QUEUE: "push(), pop() and peek()",
    MapType.STACK: "push(), pop() and peek()",
    MapType.BLOOM_FILTER: "push() and contains()",
}
#: Types that hold a stream of records rather than keyed elements: what to use instead.
_RECORD_MAPS: Final = {
    MapType.RINGBUF: "a RINGBUF map has no keys to look up or iterate; read its records "
    "with a ring buffer reader, pybpf.core.RingBuffer",
    MapType.USER_RINGBUF: "a USER_RINGBUF map has no keys to look up or iterate; write its "
    "records with a user ring buffer writer, pybpf.core.UserRingBuffer",
    MapType.PERF_EVENT_ARRAY: "a PERF_EVENT_ARRAY map holds perf event fds, not values; read "
    "its records with a perf buffer reader, pybpf.core.PerfBuffer",
}
#: Element operations that write the map (EPERM: frozen or opened read-only).
_WRITES: Final = frozenset(
    {
        "update",
        "delete",
        "push",
        "pop",
        "lookup_and_delete",
        "update_batch",
        "delete_batch",
        "lookup_and_delete_batch",
    }
)
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_U64: Final = 1 << 64


def check_flags(flags: object, what: str) -> int:
    """``flags`` for a u64 field; a TypeError/ValueError naming them otherwise."""
    if isinstance(flags, int) and 0 <= flags < _U64:
        return flags
    return _cmds.check_uint(flags, 64, "flags", what)


def keyless_error(name: str, map_type: int) -> TypeError:
    """The error for a keyed operation (``m[k]``, ``keys()``...) on a map without keys."""
    type_name = _probes.type_name(map_type)
    instead = VALUE_STORES.get(MapType(map_type)) if map_type in VALUE_STORES else None
    if instead is None:
        return TypeError(f"{type_name} maps have no keys")
    return TypeError(
        f"map {name!r}: a {type_name} map has no keys: m[k], keys(), items() and the other "
        f"dict operations do not apply; use {instead}"
    )


#: What a map with keys offers instead of each method of the keyless ones.
_KEYED_INSTEAD: Final = {
    "push": "m[k] = v (update)",
    "pop": "lookup_and_delete(k)",
    "peek": "m[k] (lookup)",
    "contains": "k in m",
}


def wrong_type_error(name: str, map_type: int, method: str) -> TypeError:
    """The error for ``push``/``pop``/``peek``/``contains`` on a map type without them."""
    type_name = _probes.type_name(map_type)
    instead = VALUE_STORES.get(MapType(map_type)) if map_type in VALUE_STORES else None
    if instead is None:
        instead = _KEYED_INSTEAD[method]
    return TypeError(f"map {name!r}: a {type_name} map has no {method}(); use {instead}")


def _key_repr(key: object) -> str:
    if isinstance(key, _BYTES_LIKE):
        return bytes(key).hex() or "''"
    return repr(key)


def _fdinfo(num: int) -> dict[str, str]:
    """The kernel's ``/proc/self/fdinfo`` fields of fd ``num`` (empty if unreadable)."""
    try:
        with open(f"/proc/self/fdinfo/{num}", encoding="ascii", errors="replace") as f:
            return dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in f))
    except OSError:
        return {}


class MapErrors:
    """The typed exceptions of one map object's failed operations.

    ``frozen`` is set once this object froze the map, so that a refused write
    says why even where the kernel's fdinfo does not tell.
    """

    __slots__ = ("_fd", "_map_type", "_max_entries", "_name", "frozen")

    def __init__(self, fd: FD, *, name: str, map_type: int, max_entries: int) -> None:
        self._fd = fd
        self._name = name
        self._map_type = map_type
        self._max_entries = max_entries
        #: Whether this map object froze the map (``Map.freeze``).
        self.frozen = False

    def closed(self) -> ClosedError:
        """The error of any use of the map once it was closed."""
        return ClosedError(f"map {self._name!r} is closed")

    def element(self, rc: int, op: str, key: Any = None) -> Exception:
        """The error of element operation ``op`` (``"lookup"``, ``"pop"``...) that returned ``rc``.

        ``rc`` is the syscall's -errno; ``key`` the key it was given, for the message.
        """
        code = -rc
        if self._fd.closed:
            return self.closed()
        what = f"{op} in map {self._name!r}"
        map_type = self._map_type
        type_name = _probes.type_name(map_type)
        if code == errno.ENOENT:
            if op in ("pop", "peek"):
                return KeyNotFoundError(code, what, reason=f"the {type_name} map is empty")
            return KeyNotFoundError(code, what, reason=f"key {_key_repr(key)} not found")
        if code == errno.EEXIST:
            return KeyExistsError(
                code, what, reason=f"key {_key_repr(key)} already exists (flags NOEXIST)"
            )
        if code == errno.E2BIG:
            reason = "key out of range" if map_type in ARRAY_TYPES else "map is full"
            return LimitError(code, what, limit=f"max_entries={self._max_entries}", reason=reason)
        if code in (ENOTSUPP, errno.EOPNOTSUPP):
            instead = _RECORD_MAPS.get(MapType(map_type)) if map_type in _RECORD_MAPS else None
            if instead:
                return BPFError(code, what, reason=instead)
            return NotSupportedError(f"{op} on {type_name} maps", code=code)
        if code == errno.EPERM and op in _WRITES:
            refusal = self._write_refusal()
            if refusal:
                return BPFPermissionError(code, what, reason=f"{os.strerror(code)}; {refusal}")
        if code == errno.EINVAL and op == "delete" and map_type in ARRAY_TYPES:
            return BPFError(code, what, reason="array elements cannot be deleted (EINVAL)")
        return _cmds.error(code, what)

    def batch(self, rc: int, cmd: Command, count: int) -> Exception:
        """The error of batch command ``cmd`` on ``count`` elements that returned ``rc``."""
        what = cmd.name.lower().removeprefix("map_")
        code = -rc
        if self._fd.closed:
            return self.closed()
        if code in (ENOTSUPP, errno.EOPNOTSUPP) or (
            code == errno.EINVAL and not _probes.have_batch(self._map_type)
        ):
            return NotSupportedError(
                f"{what} on {_probes.type_name(self._map_type)} maps", min_version="5.6", code=code
            )
        if code == errno.ENOSPC:
            return LimitError(
                code,
                f"{what} in map {self._name!r}",
                limit=f"count={count}",
                reason="a hash bucket holds more elements than count; retry with a larger count",
            )
        if code == errno.ENOENT:
            return KeyNotFoundError(code, f"{what} in map {self._name!r}", reason="key not found")
        return self.element(rc, what)

    def _write_refusal(self) -> str:
        """Why user space may not write this map, if the fd's state says (not privileges)."""
        info = _fdinfo(self._fd._num)
        if self.frozen or info.get("frozen") == "1":
            return "the map is frozen: user space may not write to it (BPF programs still may)"
        if int(info.get("flags", "0"), 8) & os.O_ACCMODE == os.O_RDONLY:
            return "this fd was opened read-only (FileFlags.RDONLY)"
        return ""
