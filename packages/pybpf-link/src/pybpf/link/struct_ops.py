"""struct_ops: registering a map of BPF programs as a kernel ops struct (TCP congestion control).

A loaded ``struct_ops`` map holds the kernel struct (``struct
tcp_congestion_ops``...) whose function pointers are BPF programs;
:func:`struct_ops` writes its value (``Collection.struct_ops_values[name]``:
the local fields, and the programs' fds in the function pointers) and
registers it with the kernel subsystem:

- a map of a ``.struct_ops.link`` section (created with ``BPF_F_LINK``) is
  registered by a bpf_link (``BPF_LINK_CREATE`` with the map's fd, Linux
  6.4+): a :class:`StructOpsLink`, whose :meth:`StructOpsLink.update` swaps
  in another map of the same struct without a moment unregistered;
- a map of a plain ``.struct_ops`` section (5.6+) is registered by the value
  update itself, as libbpf does: a :class:`StructOpsRegistration`, whose
  close unregisters it by deleting the value (``BPF_MAP_DELETE_ELEM``, key 0).
  The kernel registers such a map once: writing it again raises
  :class:`~pybpf.core.BPFError` (EBUSY); load the object again instead.
"""

from __future__ import annotations

import contextlib
import errno
from typing import TYPE_CHECKING

from pybpf.core import BPFError
from pybpf.core import sys as bpf
from pybpf.link.link import Link

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Map

__all__ = ["StructOpsLink", "StructOpsRegistration", "struct_ops"]


class StructOpsLink(Link, link_type=bpf.LinkType.STRUCT_OPS):
    """A ``.struct_ops.link`` map, registered with its kernel subsystem through a bpf_link.

    Closing the link unregisters the struct (the map stays loaded and may
    be registered again).
    """

    __slots__ = ()

    def update(  # type: ignore[override] # a struct_ops link swaps maps, not programs
        self, map: Map, value: bytes | None = None, *, old: Map | None = None
    ) -> None:
        """Register ``map`` in place of the link's map, in one step (``BPF_LINK_UPDATE``, 6.4+).

        ``map`` is another ``.struct_ops.link`` map of the same kernel
        struct; ``value`` is written into it first (its
        ``Collection.struct_ops_values`` entry; None: it was written
        already). With ``old``, only if the link's map is still ``old``,
        else :class:`~pybpf.core.BPFError` (EPERM).
        """
        what = f"update {self._name}"
        _check_map(map, "map", what)
        if old is not None:
            _check_map(old, "old", what)
        if value is not None:
            _write_value(map, value, what)
        attr = bpf.new_attr("link_update")
        attr.link_fd = self.fd.number
        attr.new_map_fd = map.fd.number
        if old is not None:
            attr.old_map_fd = old.fd.number
            attr.flags = bpf.AttachFlags.REPLACE
        bpf.link_update(attr, f"{what} to map {map.name!r}")
        self._name = _name(map)


class StructOpsRegistration(Link):
    """A plain ``.struct_ops`` map, registered by its value update (no bpf_link behind it).

    Holds its own fd of the map; closing it unregisters the struct
    (``BPF_MAP_DELETE_ELEM`` of key 0). :attr:`type` is None; it cannot be
    pinned, updated or asked for :meth:`info`.
    """

    __slots__ = ()

    def close(self) -> None:
        """Unregister the struct (a struct already gone is no error) and close the fd."""
        if self._fd.closed:
            return
        from pybpf.core import Map  # noqa: PLC0415

        try:
            with Map.from_fd(self._fd.number) as m, contextlib.suppress(KeyError):
                m.delete(0)
        finally:
            super().close()


def struct_ops(map: Map, value: bytes | None = None) -> StructOpsLink | StructOpsRegistration:
    """Register the loaded struct_ops ``map`` with its kernel subsystem.

    ``value`` is the map's value with the programs in place:
    ``coll.struct_ops_values[name]`` of the Collection that loaded it (None:
    it was written already, with ``map.update(0, value)``). A
    ``.struct_ops.link`` map gives a :class:`StructOpsLink` (6.4+), a plain
    ``.struct_ops`` map a :class:`StructOpsRegistration`; closing either
    unregisters the struct. A struct that the subsystem refuses (a TCP
    congestion control whose name is taken, say) raises
    :class:`~pybpf.core.BPFError` (EEXIST) and leaves nothing registered.
    """
    what = f"register struct_ops map {getattr(map, 'name', '?')!r}"
    _check_map(map, "map", what)
    if value is not None and not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{what}: value must be bytes, not {type(value).__name__}")
    if map.flags & bpf.MapFlags.LINK:
        if value is not None:
            _write_value(map, value, what)
        attr = bpf.new_attr("link_create")
        attr.map_fd = map.fd.number
        attr.attach_type = bpf.AttachType.STRUCT_OPS
        return StructOpsLink(bpf.link_create(attr, what), _name(map))
    fd = map.fd.dup()
    try:
        if value is not None:
            _write_value(map, value, what)
    except BaseException:
        fd.close()
        raise
    return StructOpsRegistration(fd, _name(map))


def _check_map(map: object, name: str, what: str) -> None:
    from pybpf.core import Map  # noqa: PLC0415 (loaded by the caller's map)

    if not isinstance(map, Map):
        raise TypeError(f"{what}: {name} must be a Map, not {type(map).__name__}")
    if map.type != bpf.MapType.STRUCT_OPS:
        raise ValueError(f"{what}: {name} {map.name!r} is not a struct_ops map")


def _write_value(map: Map, value: bytes, what: str) -> None:
    """Write the struct's value at key 0 (for a plain map, this registers it)."""
    try:
        map.update(0, bytes(value))
    except BPFError as e:
        raise bpf.error(e.errno or errno.EINVAL, f"{what}: write its value") from e


def _name(map: Map) -> str:
    return f"struct_ops {map.name}"
