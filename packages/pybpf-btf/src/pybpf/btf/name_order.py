"""Records sorted by name: name lookups by bisection instead of scans.

Looking a name up in a blob otherwise scans its string table (2.5 MB for
vmlinux) and then its packed record names. When a blob's index is kept across
processes (the kernel's BTF, see :mod:`pybpf.btf._index_cache`), sorting its
named records by name once lets every later lookup bisect: a few dozen string
reads instead of megabytes of scanning, and no copy of the string table.

The order is built from C-level steps: the table split into strings, every
record's name offset mapped to its string, the records sorted by those
(about 40 ms for vmlinux, once per boot; a few ms where pybpf-core's compiled
scan does it, see :func:`pybpf.btf.parse._compiled_scan`). Records of one name
stay together even where the table stores the name twice.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from pybpf.btf.parse import RawBTF, _compiled_scan

__all__ = ["build", "ids_named", "ids_with_prefix"]

_PLUS_ONE = (1).__add__


def build(raw: RawBTF) -> array[int] | None:
    """Indices of ``raw``'s named records sorted by name (then index).

    None where bisection would not be exact: split BTF (names may live in the
    base's table) or a record naming the tail of a longer string.
    """
    if raw.base_strings_len:
        return None
    scan = _compiled_scan()
    if scan is not None:
        packed: bytes | None = scan.name_order(raw.strings, raw._packed_names())
        if packed is None:
            return None
        found = array("I")
        found.frombytes(packed)
        return found
    parts = raw.strings.split(b"\0")
    parts.pop()  # what follows the last NUL is no string
    starts = itertools.accumulate(map(_PLUS_ONE, map(len, parts)), initial=0)
    at_offset = dict(zip(starts, parts, strict=False))
    names = memoryview(raw._packed_names()).cast("I")
    try:
        keys = list(map(at_offset.__getitem__, names))
    except KeyError:
        return None
    order = sorted(range(len(keys)), key=keys.__getitem__)
    # Unnamed records (the empty name) sort first.
    return array("I", order[bisect_right(order, b"", key=keys.__getitem__) :])


def ids_named(raw: RawBTF, by_name: Sequence[int], name: bytes) -> list[int]:
    """The ids of the records called ``name``, in id order."""
    key = _name_key(raw)
    lo = bisect_left(by_name, name, key=key)
    hi = bisect_right(by_name, name, lo=lo, key=key)
    first = raw.first_id
    return sorted(first + i for i in by_name[lo:hi])


def ids_with_prefix(raw: RawBTF, by_name: Sequence[int], prefix: bytes) -> list[tuple[int, bytes]]:
    """(id, name) of the records whose name starts with ``prefix`` (not empty), in name order."""
    key = _name_key(raw)
    found = []
    first = raw.first_id
    for pos in range(bisect_left(by_name, prefix, key=key), len(by_name)):
        i = by_name[pos]
        name = key(i)
        if not name.startswith(prefix):
            break
        found.append((first + i, name))
    return found


def _name_key(raw: RawBTF) -> Callable[[int], bytes]:
    """The name of a record (by index), as bytes."""
    names = memoryview(raw._packed_names()).cast("I")
    cstring = raw.cstring

    def key(index: int) -> bytes:
        return cstring(names[index])

    return key
