"""Finding the target types a local type may relocate to, by essential name.

libbpf scans every target type for each local type; the kernel has ~126k of
them and a loader relocates at every load, so the names are indexed once per
target spec instead (and the index is kept while the spec lives and does not
grow).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from pybpf.btf.corerelo.typeutil import essential_name
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind, Type

__all__ = ["Candidate", "NameIndex", "name_index"]

_ENUMS = (Kind.ENUM, Kind.ENUM64)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A target type that shares a local type's essential name and kind."""

    spec: Spec
    type_id: int

    @property
    def type(self) -> Type:
        """The candidate type itself."""
        return self.spec.type_by_id(self.type_id)


class NameIndex:
    """The named types of one spec, by essential name: ``task_struct`` finds ``task_struct___2``."""

    __slots__ = ("_by_name", "count", "spec")

    def __init__(self, spec: Spec, *, own_only: bool = False) -> None:
        self.spec = spec
        self.count = len(spec)
        by_name: dict[bytes, list[tuple[int, int]]] = {}
        for type_id, name, kind in _named_types(spec, own_only):
            by_name.setdefault(essential_name(name), []).append((type_id, kind))
        self._by_name = by_name

    def candidates(self, local: Type) -> list[Candidate]:
        """Target types, in id order, of ``local``'s essential name and a compatible kind."""
        if not local.name:
            return []
        entries = self._by_name.get(essential_name(local.name.encode()), ())
        local_kind = local.kind
        found = []
        for type_id, kind in entries:
            if kind == local_kind or (kind in _ENUMS and local_kind in _ENUMS):
                found.append(Candidate(self.spec, type_id))
        return found


def _named_types(spec: Spec, own_only: bool) -> Iterator[tuple[int, bytes, int]]:
    """``(id, name, kind)`` of every named type, without decoding the types when possible."""
    if spec.base is not None and not own_only:
        yield from _named_types(spec.base, False)
    raw = getattr(spec, "_raw", None)
    decoded_from = spec.start_id
    if raw is not None:
        # Reading names straight from the type records is ~5x faster than decoding
        # the kernel's 126k types, and keeps them out of memory.
        words = raw.words
        # Names start strings: split the table once instead of searching per name.
        starts: dict[int, bytes] = {}
        at = raw.base_strings_len
        for part in raw.strings.split(b"\0"):
            starts[at] = part
            at += len(part) + 1
        string_at = spec._string_at
        type_id = raw.first_id
        for off in raw.offsets:
            name_off = words[off]
            if name_off:
                name = starts.get(name_off)
                if name is None:
                    name = string_at(name_off).encode()
                if name:
                    yield type_id, name, (words[off + 1] >> 24) & 0x1F
            type_id += 1
        decoded_from = raw.first_id + raw.count
    for type_id in range(decoded_from, spec.next_id):
        t = spec.type_by_id(type_id)
        if t.name:
            yield type_id, t.name.encode(), t.kind


_CACHE_SIZE = 8
_cache: OrderedDict[tuple[int, bool], NameIndex] = OrderedDict()
_lock = threading.Lock()


def name_index(spec: Spec, *, own_only: bool = False) -> NameIndex:
    """The (cached) index of ``spec``; rebuilt when types were added since.

    The cache holds the last few specs alive, which keeps their ``id`` from
    being reused by another spec while the entry exists.
    """
    key = (id(spec), own_only)
    with _lock:
        index = _cache.get(key)
        if index is not None and index.spec is spec and index.count == len(spec):
            _cache.move_to_end(key)
            return index
    index = NameIndex(spec, own_only=own_only)
    with _lock:
        _cache[key] = index
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index
