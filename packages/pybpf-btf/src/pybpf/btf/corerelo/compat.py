"""When a local type and a target type are "the same" for CO-RE, three ways.

- :func:`types_are_compat`: type-based relocations (``TYPE_EXISTS``,
  ``TYPE_SIZE``, ``TYPE_ID_TARGET``): kinds must agree, names below the root
  are ignored;
- :func:`fields_are_compat`: the type of a matched field;
- :func:`types_match`: ``TYPE_MATCHES``, the strict relation that also wants
  members, enumerators and integer layouts to line up.

Results follow libbpf's ``relo_core.c`` to the letter, including the depth
limits, after which libbpf gives up with an error (:class:`COREError` here).
"""

from __future__ import annotations

from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.typeutil import (
    essential_name,
    is_composite,
    kinds_compatible,
    skip_mods_and_typedefs,
)
from pybpf.btf.types import (
    Array,
    Composite,
    Enum,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Kind,
    Pointer,
    Type,
)

__all__ = ["fields_are_compat", "types_are_compat", "types_match"]

_MAX_DEPTH = 32


def types_are_compat(local: Type, target: Type, level: int = _MAX_DEPTH) -> bool:
    """The ``bpf_core_types_are_compat`` of libbpf; the root names are assumed to match."""
    if not kinds_compatible(local, target):
        return False
    depth = _MAX_DEPTH
    while True:
        depth -= 1
        if depth < 0:
            raise COREError("type compatibility check nests too deep")
        local = skip_mods_and_typedefs(local)
        target = skip_mods_and_typedefs(target)
        if not kinds_compatible(local, target):
            return False
        kind = local.kind
        if kind in (Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64):
            return True
        if isinstance(local, Int):
            assert isinstance(target, Int)
            return local.offset == 0 and target.offset == 0
        if isinstance(local, Pointer):
            assert isinstance(target, Pointer)
            local, target = local.target, target.target
            continue
        if isinstance(local, Array):
            assert isinstance(target, Array)
            local, target = local.type, target.type
            continue
        if isinstance(local, FuncProto):
            assert isinstance(target, FuncProto)
            if len(local.params) != len(target.params):
                return False
            for lp, tp in zip(local.params, target.params, strict=True):
                if level <= 0:
                    raise COREError("type compatibility check nests too deep")
                if not types_are_compat(
                    skip_mods_and_typedefs(lp.type), skip_mods_and_typedefs(tp.type), level - 1
                ):
                    return False
            local, target = local.return_type, target.return_type
            continue
        return False


def fields_are_compat(local: Type, target: Type) -> bool:
    """The ``bpf_core_fields_are_compat`` of libbpf: may a ``local`` field become ``target``."""
    while True:
        local = skip_mods_and_typedefs(local)
        target = skip_mods_and_typedefs(target)
        if is_composite(local) and is_composite(target):
            return True
        if not kinds_compatible(local, target):
            return False
        kind = local.kind
        if kind in (Kind.PTR, Kind.FLOAT):
            return True
        if kind in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            local_name = essential_name(local.name)
            target_name = essential_name(target.name)
            return not local_name or not target_name or local_name == target_name
        if isinstance(local, Int):
            assert isinstance(target, Int)
            return local.offset == 0 and target.offset == 0
        if isinstance(local, Array):
            assert isinstance(target, Array)
            local, target = local.type, target.type
            continue
        return False


def _names_match(local: str, target: str) -> bool:
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


def types_match(
    local: Type, target: Type, behind_ptr: bool = False, level: int = _MAX_DEPTH
) -> bool:
    """The ``bpf_core_types_match`` of libbpf (``TYPE_MATCHES``); root names assumed to match."""
    if level <= 0:
        raise COREError("type match check nests too deep")
    depth = _MAX_DEPTH
    while True:
        depth -= 1
        if depth < 0:
            raise COREError("type match check nests too deep")
        local = skip_mods_and_typedefs(local)
        target = skip_mods_and_typedefs(target)
        if not _names_match(local.name, target.name):
            return False
        local_kind, target_kind = local.kind, target.kind
        if local_kind == Kind.UNKN:
            return target_kind == Kind.UNKN
        if isinstance(local, Fwd):
            local_union = local.fwd_kind == FwdKind.UNION
            if behind_ptr:
                if isinstance(target, Fwd):
                    return local_union == (target.fwd_kind == FwdKind.UNION)
                return (target_kind == Kind.STRUCT and not local_union) or (
                    target_kind == Kind.UNION and local_union
                )
            if not isinstance(target, Fwd):
                return False
            return local_union == (target.fwd_kind == FwdKind.UNION)
        if isinstance(local, Enum):
            if not isinstance(target, Enum):
                return False
            return _enums_match(local, target)
        if isinstance(local, Composite):
            if behind_ptr:
                if local_kind == target_kind:
                    return True
                if not isinstance(target, Fwd):
                    return False
                return (local_kind == Kind.UNION) == (target.fwd_kind == FwdKind.UNION)
            if local_kind != target_kind:
                return False
            assert isinstance(target, Composite)
            return _composites_match(local, target, behind_ptr, level)
        if isinstance(local, Int):
            if not isinstance(target, Int):
                return False
            local_signed = bool(local.encoding & IntEncoding.SIGNED)
            target_signed = bool(target.encoding & IntEncoding.SIGNED)
            return local.size == target.size and local_signed == target_signed
        if isinstance(local, Pointer):
            if not isinstance(target, Pointer):
                return False
            behind_ptr = True
            local, target = local.target, target.target
            continue
        if isinstance(local, Array):
            if not isinstance(target, Array) or local.nelems != target.nelems:
                return False
            local, target = local.type, target.type
            continue
        if isinstance(local, FuncProto):
            if not isinstance(target, FuncProto) or len(local.params) != len(target.params):
                return False
            for lp, tp in zip(local.params, target.params, strict=True):
                if not types_match(lp.type, tp.type, behind_ptr, level - 1):
                    return False
            local, target = local.return_type, target.return_type
            continue
        return False


def _enums_match(local: Enum, target: Enum) -> bool:
    if local.size != target.size or len(local.values) > len(target.values):
        return False
    return all(any(_names_match(lv.name, tv.name) for tv in target.values) for lv in local.values)


def _composites_match(local: Composite, target: Composite, behind_ptr: bool, level: int) -> bool:
    if len(local.members) > len(target.members):
        return False
    for lm in local.members:
        for tm in target.members:
            if not _names_match(lm.name, tm.name):
                continue
            if types_match(lm.type, tm.type, behind_ptr, level - 1):
                break
        else:
            return False
    return True
