"""LIBBPF_PIN_BY_NAME: reuse the map pinned under the pin path, or create and pin it."""

from __future__ import annotations

import errno
import os

from pybpf.core._map_create import MapBTF
from pybpf.core._uapi_flags import MapFlags
from pybpf.core.errors import BPFError
from pybpf.core.map import Map
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

__all__ = ["IncompatibleMapError", "check_compatible", "pinned_or_new"]


class IncompatibleMapError(BPFError):
    """An existing map (pinned or a replacement) differs from the spec; ``property`` says how."""

    def __init__(self, name: str, prop: str, want: object, have: object, where: str) -> None:
        super().__init__(
            errno.EINVAL,
            f"map {name!r} ({where})",
            reason=f"{prop} differs: the spec wants {want!r}, the existing map has {have!r}",
        )
        #: The property that differs (``"key_size"``, ``"type"``, ...).
        self.property = prop


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


def pinned_or_new(spec: MapSpec, pin_dir: str, btf: MapBTF | None) -> Map:
    """The map pinned at ``pin_dir/<name>`` if compatible, else a new one pinned there."""
    path = os.path.join(pin_dir, spec.name)
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
        return m
    m = Map(spec, btf=btf)
    try:
        m.pin(path)
    except BaseException:
        m.close()
        raise
    return m
