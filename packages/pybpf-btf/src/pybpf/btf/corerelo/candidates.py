"""Finding the target types a local type may relocate to, by essential name.

libbpf scans every target type for each local type. The kernel has ~126k of
them while an object relocates against a handful of names, so each essential
name is looked up on its own instead: its spellings (``name`` and
``name___flavour``) are found in the string table, then the records using
them, all with C-level searches. Results are kept per name while the spec
lives and does not grow.
"""

from __future__ import annotations

# _thread's lock, not threading's (the same lock): threading costs every load an import.
import _thread
from collections import OrderedDict
from collections.abc import Sequence

from pybpf.btf import name_order
from pybpf.btf.corerelo.typeutil import essential_name
from pybpf.btf.parse import RawBTF
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind, Type

__all__ = ["Candidate", "NameIndex", "name_index"]

_ENUMS = (Kind.ENUM, Kind.ENUM64)

# (type id, kind) of the types of one essential name, in id order.
_Entries = list[tuple[int, int]]


class Candidate:
    """A target type that shares a local type's essential name and kind."""

    # A plain class: a dataclass costs a few hundred microseconds to define,
    # at every start of a process that loads a CO-RE object.
    __slots__ = ("spec", "type_id")

    def __init__(self, spec: Spec, type_id: int) -> None:
        self.spec = spec
        self.type_id = type_id

    def __repr__(self) -> str:
        return f"Candidate(type_id={self.type_id})"

    @property
    def type(self) -> Type:
        """The candidate type itself."""
        return self.spec.type_by_id(self.type_id)


class NameIndex:
    """The named types of one spec, by essential name: ``task_struct`` finds ``task_struct___2``.

    Names are looked up as they are asked for; ``own_only`` leaves out the
    types of the spec's base.
    """

    __slots__ = ("_added", "_by_name", "_lock", "count", "own_only", "spec")

    def __init__(self, spec: Spec, *, own_only: bool = False) -> None:
        self.spec = spec
        self.own_only = own_only
        self.count = len(spec)
        self._by_name: dict[bytes, _Entries] = {}
        self._added: dict[bytes, _Entries] | None = None
        self._lock = _thread.allocate_lock()

    def candidates(self, local: Type) -> list[Candidate]:
        """Target types, in id order, of ``local``'s essential name and a compatible kind."""
        if not local.name:
            return []
        essential = essential_name(local.name.encode())
        with self._lock:
            entries = self._by_name.get(essential)
            if entries is None:
                entries = self._by_name[essential] = self._find(essential)
        local_kind = local.kind
        found = []
        for type_id, kind in entries:
            if kind == local_kind or (kind in _ENUMS and local_kind in _ENUMS):
                found.append(Candidate(self.spec, type_id))
        return found

    def _find(self, essential: bytes) -> _Entries:
        found: _Entries = []
        for spec in self._specs():
            raw = spec._raw
            if raw is not None and raw.by_name is not None and spec.base is None:
                found += ((i, raw.kind_of(i)) for i in _ordered(raw, raw.by_name, essential))
            elif raw is not None:
                offsets = []
                s: Spec | None = spec
                # A split blob's records may name strings of its bases.
                while s is not None and s._raw is not None:
                    offsets += _spellings(s._raw, essential)
                    s = s.base
                found += ((i, raw.kind_of(i)) for i in raw.ids_named(offsets, many=True))
        found += self._added_types().get(essential, ())
        found.sort()
        return found

    def _specs(self) -> list[Spec]:
        specs = [self.spec]
        while not self.own_only and specs[-1].base is not None:
            specs.append(specs[-1].base)
        return specs

    def _added_types(self) -> dict[bytes, _Entries]:
        """Types that are objects only (built by hand or added), indexed once."""
        added = self._added
        if added is None:
            added = self._added = {}
            for spec in self._specs():
                raw = spec._raw
                start = raw.first_id + raw.count if raw is not None else spec.start_id
                for type_id in range(start, spec.next_id):
                    t = spec.type_by_id(type_id)
                    if t.name:
                        key = essential_name(t.name.encode())
                        added.setdefault(key, []).append((type_id, t.kind))
        return added


def _ordered(raw: RawBTF, by_name: Sequence[int], essential: bytes) -> list[int]:
    """The ids of the records whose essential name is ``essential``, from the name order."""
    # A name with a flavour of its own is not its own essential name.
    exact = essential_name(essential) == essential
    found = name_order.ids_named(raw, by_name, essential) if exact else []
    for type_id, name in name_order.ids_with_prefix(raw, by_name, essential + b"___"):
        if essential_name(name) == essential:
            found.append(type_id)
    return found


def _spellings(raw: RawBTF, essential: bytes) -> list[int]:
    """Offsets of the strings of ``raw`` whose essential name is ``essential``.

    Such a string is the name itself or the name, ``___`` and a flavour; an
    offset may point into the middle of a longer string (its tail).
    """
    strings = raw.strings
    found = []
    after = len(essential)
    # One pass for both spellings: a name is rarely a substring of many others.
    pos = strings.find(essential)
    while pos >= 0:
        tail = pos + after
        if strings.startswith(b"\0", tail) or strings.startswith(b"___", tail):
            end = strings.index(b"\0", tail)
            if essential_name(strings[pos:end]) == essential:
                found.append(raw.base_strings_len + pos)
        pos = strings.find(essential, pos + 1)
    return found


_CACHE_SIZE = 8
_cache: OrderedDict[tuple[int, bool], NameIndex] = OrderedDict()
_lock = _thread.allocate_lock()


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
