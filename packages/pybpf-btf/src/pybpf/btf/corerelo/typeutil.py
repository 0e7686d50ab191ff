"""The few libbpf type helpers CO-RE needs, with libbpf's exact semantics."""

from __future__ import annotations

from pybpf.btf.types import (
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Float,
    Int,
    Kind,
    Pointer,
    Restrict,
    Type,
    Typedef,
    TypeTag,
    Var,
    Volatile,
)

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import AnyStr

__all__ = [
    "MAX_RESOLVE_DEPTH",
    "essential_name",
    "is_any_enum",
    "is_composite",
    "kinds_compatible",
    "resolve_size",
    "skip_mods_and_typedefs",
]

MAX_RESOLVE_DEPTH = 32
_U32_MAX = 0xFFFFFFFF

_MODS_AND_TYPEDEFS = (Typedef, Volatile, Const, Restrict, TypeTag)
_ENUM_KINDS = frozenset({Kind.ENUM, Kind.ENUM64})
_COMPOSITE_KINDS = frozenset({Kind.STRUCT, Kind.UNION})


def skip_mods_and_typedefs(t: Type) -> Type:
    """``t`` without its qualifiers, type tags and typedefs."""
    while isinstance(t, _MODS_AND_TYPEDEFS):
        t = t.type
    return t


def is_any_enum(t: Type) -> bool:
    """True for ``ENUM`` and ``ENUM64``."""
    return t.kind in _ENUM_KINDS


def is_composite(t: Type) -> bool:
    """True for structs and unions."""
    return t.kind in _COMPOSITE_KINDS


def kinds_compatible(a: Type, b: Type) -> bool:
    """The ``btf_kind_core_compat`` of libbpf: same kind, or two enums of any width."""
    return a.kind == b.kind or (a.kind in _ENUM_KINDS and b.kind in _ENUM_KINDS)


def essential_name(name: AnyStr) -> AnyStr:
    """``name`` without its flavour: what follows the last ``X___Y`` separator.

    A separator is three underscores with a non-underscore on each side, so
    ``task_struct___v1`` is ``task_struct`` and ``a____b`` keeps its name.
    Works on ``bytes`` too (the name index never decodes the kernel's names).
    """
    sep, under = ("___", "_") if isinstance(name, str) else (b"___", b"_")
    # Most names have no separator: one C-level search settles them.
    end = len(name)
    while True:
        j = name.rfind(sep, 1, end)
        if j < 0:
            return name
        if j + 3 < len(name) and name[j - 1 : j] != under and name[j + 3 : j + 4] != under:
            return name[:j]
        end = j + 2


class SizeError(Exception):
    """``resolve_size`` found no size (void, function, forward declaration, too deep)."""


def resolve_size(t: Type, pointer_size: int) -> int:
    """The size in bytes of ``t`` as libbpf's ``btf__resolve_size`` computes it."""
    nelems = 1
    for _ in range(MAX_RESOLVE_DEPTH):
        if isinstance(t, (Int, Enum, Composite, Datasec, Float)):
            size = t.size
            break
        if isinstance(t, Pointer):
            size = pointer_size
            break
        if isinstance(t, (*_MODS_AND_TYPEDEFS, Var, DeclTag)):
            t = t.type
            continue
        if isinstance(t, Array):
            if nelems and t.nelems > _U32_MAX // nelems:
                raise SizeError("array too large")
            nelems *= t.nelems
            t = t.type
            continue
        raise SizeError(f"{t!r} has no size")
    else:
        raise SizeError("type chain too deep")
    if nelems and size > _U32_MAX // nelems:
        raise SizeError("size too large")
    return nelems * size
