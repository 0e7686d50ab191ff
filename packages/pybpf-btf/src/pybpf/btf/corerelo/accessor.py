"""Access specs: what a CO-RE access string reaches in a type, and its match in another.

A *raw* spec is the access string as numbers; the *high-level* spec keeps only
the steps that mean something in C (the first index, named fields, array
indices), so that a local access ``s->a[3]`` finds ``a`` in a target struct
even when it sits inside different anonymous members there. This is libbpf's
``bpf_core_parse_spec``/``bpf_core_spec_match``.
"""

from __future__ import annotations

from pybpf.btf.corerelo.compat import fields_are_compat, types_are_compat, types_match
from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.typeutil import (
    SizeError,
    essential_name,
    is_composite,
    resolve_size,
    skip_mods_and_typedefs,
)
from pybpf.btf.ext.records import CORERelocKind
from pybpf.btf.types import Array, Composite, Enum, Type

__all__ = ["MAX_SPEC_LEN", "Access", "AccessSpec", "match_spec", "parse_spec"]

#: libbpf's ``BPF_CORE_SPEC_MAX_LEN``: the deepest access a relocation may make.
MAX_SPEC_LEN = 64


# Plain classes: a dataclass costs a few hundred microseconds to define, at
# every start of a process that loads a CO-RE object.
class Access:
    """One high-level step: member ``index`` of ``type`` (named ``name``), or an array index.

    For an array step (``name is None``), ``type`` is the element type; for an
    enumerator, ``type`` is the enum and ``name`` the enumerator's.
    """

    __slots__ = ("index", "name", "type")

    def __init__(self, type: Type, index: int, name: str | None = None) -> None:
        self.type = type
        self.index = index
        self.name = name

    def __repr__(self) -> str:
        return f"Access({self.type!r}, {self.index}, {self.name!r})"


class AccessSpec:
    """Where an access string leads in one type graph."""

    __slots__ = ("accesses", "bit_offset", "kind", "raw", "root")

    def __init__(self, root: Type, kind: CORERelocKind) -> None:
        self.root = root
        self.kind = kind
        self.accesses: list[Access] = []
        self.raw: list[int] = []
        self.bit_offset = 0

    def __repr__(self) -> str:
        return (
            f"AccessSpec({self.root!r}, {self.kind!r}, accesses={self.accesses!r}, "
            f"raw={self.raw!r}, bit_offset={self.bit_offset})"
        )


def _size(t: Type, pointer_size: int) -> int:
    try:
        return resolve_size(t, pointer_size)
    except SizeError as e:
        raise COREError(f"cannot size {t!r}: {e}") from None


def _is_flex_array(prev: Access, array: Array) -> bool:
    """An empty array that is the last member of the struct the previous step entered."""
    if prev.name is None or array.nelems > 0:
        return False
    container = prev.type
    assert isinstance(container, Composite)
    return prev.index == len(container.members) - 1


def parse_spec(
    root: Type, accessor: tuple[int, ...], kind: CORERelocKind, pointer_size: int = 8
) -> AccessSpec:
    """The spec an access string makes in the local type graph; :class:`COREError` if invalid."""
    spec = AccessSpec(root=root, kind=kind)
    if not accessor:
        raise COREError("empty access string")
    if kind.is_type_based:
        if accessor != (0,):
            raise COREError(f"type relocation with access string {accessor} (must be 0)")
        return spec
    if len(accessor) > MAX_SPEC_LEN:
        raise COREError(f"access string deeper than {MAX_SPEC_LEN}")
    spec.raw = list(accessor)
    t = skip_mods_and_typedefs(root)
    first = accessor[0]

    if kind.is_enumval_based:
        if not isinstance(t, Enum) or len(accessor) > 1 or first >= len(t.values):
            raise COREError(f"enumerator access {accessor} does not fit {t!r}")
        spec.accesses.append(Access(t, first, t.values[first].name))
        return spec
    if not kind.is_field_based:
        raise COREError(f"unknown relocation kind {kind}")

    spec.accesses.append(Access(t, first))
    spec.bit_offset = first * _size(t, pointer_size) * 8
    for i, index in enumerate(accessor[1:], start=1):
        t = skip_mods_and_typedefs(t)
        if isinstance(t, Composite):
            if index >= len(t.members):
                raise COREError(f"member {index} out of range of {t!r}")
            member = t.members[index]
            spec.bit_offset += member.offset
            if member.name:
                spec.accesses.append(Access(t, index, member.name))
            t = member.type
        elif isinstance(t, Array):
            element = skip_mods_and_typedefs(t.type)
            flex = _is_flex_array(spec.accesses[-1], t)
            if not flex and index >= t.nelems:
                raise COREError(f"index {index} out of range of {t!r}")
            spec.accesses.append(Access(element, index))
            spec.bit_offset += index * _size(element, pointer_size) * 8
            t = element
        else:
            raise COREError(f"access {accessor} step {i} reaches {t!r}, not a struct or array")
    return spec


def match_spec(local: AccessSpec, target: Type, pointer_size: int = 8) -> AccessSpec | None:
    """The target spec of ``local`` in candidate ``target``, or ``None`` when it does not match."""
    spec = AccessSpec(root=target, kind=local.kind)
    kind = local.kind
    if kind.is_type_based:
        if kind == CORERelocKind.TYPE_MATCHES:
            matched = types_match(local.root, target)
        else:
            matched = types_are_compat(local.root, target)
        return spec if matched else None

    if kind.is_enumval_based:
        t = skip_mods_and_typedefs(target)
        if not isinstance(t, Enum):
            return None
        wanted = local.accesses[0].name
        assert wanted is not None
        wanted = essential_name(wanted)
        for i, value in enumerate(t.values):
            if essential_name(value.name) == wanted:
                spec.accesses.append(Access(t, i, value.name))
                spec.raw.append(i)
                return spec
        return None

    t = target
    for i, access in enumerate(local.accesses):
        t = skip_mods_and_typedefs(t)
        if access.name is not None:
            found = _match_member(local.accesses[i], t, spec)
            if found is None:
                return None
            t = found
            continue
        if i > 0:
            if not isinstance(t, Array):
                return None
            flex = _is_flex_array(spec.accesses[-1], t)
            if not flex and access.index >= t.nelems:
                return None
            t = skip_mods_and_typedefs(t.type)
        if len(spec.raw) == MAX_SPEC_LEN:
            raise COREError(f"access deeper than {MAX_SPEC_LEN} in {target!r}")
        spec.accesses.append(Access(t, access.index))
        spec.raw.append(access.index)
        spec.bit_offset += access.index * _size(t, pointer_size) * 8
    return spec


def _match_member(local: Access, target: Type, spec: AccessSpec) -> Type | None:
    """Find the local member in ``target``, through anonymous members; its type if compatible."""
    target = skip_mods_and_typedefs(target)
    if not is_composite(target):
        return None
    assert isinstance(target, Composite)
    container = local.type
    assert isinstance(container, Composite)
    local_member = container.members[local.index]
    wanted = local_member.name
    members = target.members
    if members and len(spec.raw) == MAX_SPEC_LEN:
        raise COREError(f"access deeper than {MAX_SPEC_LEN}")
    # Kernel structs have hundreds of members: the walk only compares names,
    # and steps into the spec only for the match and the anonymous members.
    for i, member in enumerate(members):
        name = member.name
        if not name:
            spec.bit_offset += member.offset
            spec.raw.append(i)
            found = _match_member(local, member.type, spec)
            if found is not None:
                return found
            spec.bit_offset -= member.offset
            spec.raw.pop()
        elif name == wanted:
            # As libbpf: an incompatible match ends the search, its step still in the spec.
            spec.bit_offset += member.offset
            spec.raw.append(i)
            if not fields_are_compat(local_member.type, member.type):
                return None
            spec.accesses.append(Access(target, i, name))
            return member.type
    return None
