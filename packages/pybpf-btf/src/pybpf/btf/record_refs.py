"""Which types a blob's records refer to, as one flag per type id, read from the records.

The C dump writes an anonymous enum nothing refers to on its own (global
constants) and a referenced one inline; finding out by resolving every
reference of every decoded type costs as much as ordering vmlinux. Here
the references are read from the records' words instead.
"""

from __future__ import annotations

from pybpf.btf.raw_records import _untouched
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind

__all__ = ["referenced_flags"]

# Kinds whose one reference is the record's size/type word.
_ONE_REFERENCE = frozenset(
    int(k)
    for k in (
        Kind.PTR,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.TYPE_TAG,
        Kind.FUNC,
        Kind.VAR,
        Kind.DECL_TAG,
    )
)
_ARRAY, _STRUCT, _UNION = int(Kind.ARRAY), int(Kind.STRUCT), int(Kind.UNION)
_FUNC_PROTO, _DATASEC = int(Kind.FUNC_PROTO), int(Kind.DATASEC)


def referenced_flags(spec: object) -> bytearray | None:
    """``flags[id]`` is 1 where another type refers to type ``id`` (libbpf's rule).

    As libbpf counts them: a prototype's parameters refer to their types,
    not its return type. None where the answer must come from decoded types:
    not a spec, a spec whose types were decoded or edited, split BTF, or a record that
    refers to an id past the last (decoding reports that).
    """
    if not isinstance(spec, Spec):
        return None
    raw = _untouched(spec)
    if raw is None or spec.base is not None or raw.first_id != 1:
        return None
    words = raw.words
    flags = bytearray(raw.count + 1)
    one = _ONE_REFERENCE
    try:
        for at in raw.offsets:
            info = words[at + 1]
            kind = (info >> 24) & 0x1F
            if kind in one:
                flags[words[at + 2]] = 1
            elif kind in (_STRUCT, _UNION):
                for type_id in words[at + 4 : at + 3 + 3 * (info & 0xFFFF) : 3]:
                    flags[type_id] = 1
            elif kind == _FUNC_PROTO:
                for type_id in words[at + 4 : at + 3 + 2 * (info & 0xFFFF) : 2]:
                    flags[type_id] = 1
            elif kind == _ARRAY:
                flags[words[at + 3]] = 1
                flags[words[at + 4]] = 1
            elif kind == _DATASEC:
                for type_id in words[at + 3 : at + 3 + 3 * (info & 0xFFFF) : 3]:
                    flags[type_id] = 1
    except IndexError:
        return None
    return flags
