"""Size and alignment of BTF types, as the compiler lays them out and libbpf computes them.

One implementation for every layer that needs a layout: :func:`sizeof` and
:func:`alignof` for the type model and ``Spec``, and the pieces the C dump
builds its own alignment rules on (:func:`layout_base`,
:func:`scalar_alignment`, :func:`is_misaligned`).
"""

from __future__ import annotations

from pybpf.btf.errors import BTFError
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Float,
    Int,
    Member,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    Var,
    _describe,
)

__all__ = ["alignof", "is_misaligned", "layout_base", "scalar_alignment", "sizeof"]

# Sizes are u32 in BTF: anything larger is corrupt input, not a real type.
_MAX_SIZE = 0xFFFF_FFFF

# Real C nests structs a few levels deep; this bounds the recursion on corrupt input.
_MAX_NESTING = 256


def sizeof(t: Type, pointer_size: int = 8) -> int:
    """The size in bytes of ``t``, as ``sizeof`` in C (``pointer_size``: 8 for BPF).

    Raises :class:`BTFError` for types without a size (void, functions, forward
    declarations), for reference cycles that no struct, union or pointer breaks
    (the kernel rejects those too), and for sizes past BTF's 32-bit limit.
    """
    start = t
    count = 1
    seen: set[int] = set()
    while True:
        if id(t) in seen:
            raise BTFError(f"{_describe(start)}: reference cycle while computing its size")
        seen.add(id(t))
        if isinstance(t, (Int, Enum, Composite, Float, Datasec)):
            size = count * t.size
            break
        if isinstance(t, Pointer):
            size = count * pointer_size
            break
        if isinstance(t, (Typedef, Qualifier, Var)):
            t = t.type
        elif isinstance(t, Array):
            count *= t.nelems
            t = t.type
        else:
            raise BTFError(f"{_describe(start)}: {type(t).__name__} has no size")
    if size > _MAX_SIZE:
        raise BTFError(f"{_describe(start)}: size {size} exceeds 32 bits")
    return size


def layout_base(t: Type) -> Type:
    """``t`` through typedefs, qualifiers, variables and arrays: what gives it its alignment.

    A cycle of them (only corrupt BTF has one) raises :class:`BTFError`.
    """
    start = t
    seen: set[int] = set()
    while isinstance(t, (Typedef, Qualifier, Var, Array)):
        if id(t) in seen:
            raise BTFError(f"{_describe(start)}: reference cycle while computing its alignment")
        seen.add(id(t))
        t = t.type
    return t


def scalar_alignment(t: Type, pointer_size: int) -> int | None:
    """The alignment of an integer, enum, float or pointer; None for any other type.

    A scalar is aligned to its size, at most a pointer's (libbpf's rule);
    a zero-sized scalar (corrupt BTF) has alignment 0.
    """
    if isinstance(t, (Int, Enum, Float)):
        return min(pointer_size, t.size)
    if isinstance(t, Pointer):
        return pointer_size
    return None


def is_misaligned(member: Member, align: int) -> bool:
    """True for a member, not a bitfield, placed off its type's alignment ``align``.

    Only a packed struct places one there.
    """
    return member.bitfield_size == 0 and align > 0 and member.offset % (8 * align) != 0


def alignof(t: Type, pointer_size: int = 8) -> int:
    """The alignment in bytes of ``t`` (1 for a packed struct), as libbpf computes it.

    Raises :class:`BTFError` for types without alignment and for a struct that
    contains itself (corrupt BTF).
    """
    return _alignof(t, pointer_size, [])


def _alignof(t: Type, pointer_size: int, path: list[Composite]) -> int:
    base = layout_base(t)
    scalar = scalar_alignment(base, pointer_size)
    if scalar is not None:
        return max(1, scalar)
    if not isinstance(base, Composite):
        raise BTFError(f"{_describe(t)}: {type(base).__name__} has no alignment")
    if any(c is base for c in path) or len(path) > _MAX_NESTING:
        raise BTFError(f"{_describe(base)}: struct or union contains itself")
    path.append(base)
    best = 1
    for m in base.members:
        align = _alignof(m.type, pointer_size, path)
        if is_misaligned(m, align):
            best = 0
            break
        best = max(best, align)
    path.pop()
    return best or 1
