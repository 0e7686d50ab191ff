"""LIBBPF_PIN_BY_NAME: reuse the map pinned under the pin path, or create and pin it."""

from __future__ import annotations

import errno
import os

from pybpf.core import _bpffs
from pybpf.core._map_create import MapBTF
from pybpf.core._uapi import MapFlags
from pybpf.core.errors import BPFError, IncompatibleMapError
from pybpf.core.map import Map
from pybpf.elf import MapType
from pybpf.elf.spec import MapSpec

__all__ = ["check_compatible", "pinned_or_new"]


def check_compatible(spec: MapSpec, m: Map, where: str) -> None:
    """Raise IncompatibleMapError if ``m`` cannot stand in for ``spec``."""
    max_entries = spec.max_entries
    if spec.type == MapType.PERF_EVENT_ARRAY and max_entries == 0:
        max_entries = m.max_entries
    # Flags the kernel adds or that do not change the layout are not compared.
    ignore = MapFlags.NUMA_NODE
    for prop, want, have in (
        ("type", MapType(spec.type), m.type),
        ("key_size", spec.key_size, m.key_size),
        ("value_size", spec.value_size, m.value_size),
        ("max_entries", max_entries, m.max_entries),
        ("flags", spec.flags & ~ignore, m.flags & ~ignore),
    ):
        if want != have:
            raise IncompatibleMapError(spec.name, prop, want, have, where)


def pin_path_of(spec: MapSpec, pin_dir: str | os.PathLike[str]) -> str:
    """Where the map of ``spec`` is pinned by name: ``pin_dir/<name>``, checked.

    The name comes from the object file: one that is no single path component
    (``../x``, ``a/b``), and a directory that is not in a bpffs mount, raise
    :class:`~pybpf.core.PinPathError` naming the map and the path.
    """
    return _bpffs.join_name(pin_dir, spec.name)


def pinned_or_new(spec: MapSpec, path: str, btf: MapBTF | None) -> tuple[Map, bool]:
    """The map pinned at ``path`` if compatible, else a new one pinned there.

    The flag says whether the map is new (and the pin this call's to undo).
    ``path`` comes from :func:`pin_path_of`.
    """
    try:
        m = Map.load_pinned(path)
    except BPFError as exc:
        if exc.errno != errno.ENOENT:
            raise
    else:
        try:
            check_compatible(spec, m, f"pinned at {path!r}")
        except BaseException:
            m.close()
            raise
        return m, False
    m = Map(spec, btf=btf)
    try:
        m.pin(path)
    except BaseException:
        m.close()
        raise
    return m, True
