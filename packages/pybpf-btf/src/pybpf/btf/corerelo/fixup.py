"""The value a CO-RE relocation puts into its instruction: libbpf's ``bpf_core_calc_relo``."""

from __future__ import annotations

from pybpf.asm.records import record
from pybpf.btf.corerelo.accessor import AccessSpec
from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.typeutil import (
    SizeError,
    resolve_size,
    skip_mods_and_typedefs,
)
from pybpf.btf.ext.records import CORERelocKind
from pybpf.btf.types import Composite, Enum, Enum64, Int, IntEncoding, Pointer, Type

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["POISON_HELPER_ID", "COREFixup", "calc_fixup"]

#: The helper id libbpf calls in place of an instruction it could not relocate
#: ("bad relo"); the verifier reports ``invalid func unknown#195896080``.
POISON_HELPER_ID = 0xBAD2310

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF


@record(frozen=True, slots=True)
class COREFixup:
    """What to do to one relocated instruction.

    ``local`` is the value the compiler put in the instruction (checked before
    patching when ``validate``), ``target`` the value to put there instead.
    ``poison`` asks for the instruction to become a call of the invalid helper
    :data:`POISON_HELPER_ID` (the field or enumerator does not exist in the
    target). For memory accesses, ``local_size``/``target_size`` are the field
    sizes, and ``bad_size_change`` says the access size may not be adjusted.
    """

    kind: CORERelocKind
    local: int = 0
    target: int = 0
    poison: bool = False
    validate: bool = True
    local_size: int = 0
    target_size: int = 0
    bad_size_change: bool = False


class _Poison(Exception):
    """The relocation cannot be satisfied in the target: poison the instruction."""


class _FieldValue:
    """A field's relocated value; with its size and type where a load may be resized."""

    # A plain class: a dataclass costs a few hundred microseconds to define,
    # at every start of a process that loads a CO-RE object.
    __slots__ = ("size", "type", "validate", "value")

    def __init__(
        self, value: int, size: int = 0, type: Type | None = None, validate: bool = True
    ) -> None:
        self.value = value
        self.size = size
        self.type = type
        self.validate = validate


def _size(t: Type, pointer_size: int) -> int:
    try:
        return resolve_size(t, pointer_size)
    except SizeError as e:
        raise COREError(f"cannot size {t!r}: {e}") from None


def _field_value(
    spec: AccessSpec | None, kind: CORERelocKind, pointer_size: int, byteorder: ByteOrder
) -> _FieldValue:
    if kind == CORERelocKind.FIELD_EXISTS:
        return _FieldValue(1 if spec is not None else 0)
    if spec is None:
        raise _Poison
    access = spec.accesses[-1]
    if access.name is None:
        # The access ends in an array element (or the root): only its place and size.
        if kind == CORERelocKind.FIELD_BYTE_OFFSET:
            size = _size(access.type, pointer_size)
            return _FieldValue(spec.bit_offset // 8, size, access.type)
        if kind == CORERelocKind.FIELD_BYTE_SIZE:
            return _FieldValue(_size(access.type, pointer_size))
        raise COREError(f"{kind.libbpf_name} cannot be applied to an array access")

    container = access.type
    assert isinstance(container, Composite)
    member = container.members[access.index]
    field_type = skip_mods_and_typedefs(member.type)
    bit_off = spec.bit_offset
    bit_size = member.bitfield_size
    bitfield = bit_size > 0
    if bitfield:
        byte_size = getattr(field_type, "size", 0)
        if not isinstance(byte_size, int) or byte_size <= 0:
            raise COREError(f"bitfield {member.name!r} of {field_type!r} has no size")
        byte_off = bit_off // 8 // byte_size * byte_size
        # The smallest load, of a power-of-two size, that holds every bit of the field.
        while bit_off + bit_size - byte_off * 8 > byte_size * 8:
            if byte_size >= 8:
                raise COREError(f"bitfield {member.name!r} cannot be read with a 64-bit load")
            byte_size *= 2
            byte_off = bit_off // 8 // byte_size * byte_size
    else:
        byte_size = _size(field_type, pointer_size)
        byte_off = bit_off // 8
        bit_size = byte_size * 8

    # Bitfield layouts are where clang and libbpf may disagree: only signedness
    # and the right shift are checked against the instruction.
    validate = not bitfield
    if kind == CORERelocKind.FIELD_BYTE_OFFSET:
        if bitfield:
            return _FieldValue(byte_off, validate=validate)
        return _FieldValue(byte_off, byte_size, field_type, validate)
    if kind == CORERelocKind.FIELD_BYTE_SIZE:
        return _FieldValue(byte_size, validate=validate)
    if kind == CORERelocKind.FIELD_SIGNED:
        # An enum's signedness is its kind_flag.
        signed = (isinstance(field_type, Enum) and field_type.signed) or (
            isinstance(field_type, Int) and bool(field_type.encoding & IntEncoding.SIGNED)
        )
        return _FieldValue(int(signed))
    if kind == CORERelocKind.FIELD_LSHIFT_U64:
        if byteorder == "little":
            shift = 64 - (bit_off + bit_size - byte_off * 8)
        else:
            shift = (8 - byte_size) * 8 + (bit_off - byte_off * 8)
        return _FieldValue(shift & _M64, validate=validate)
    if kind == CORERelocKind.FIELD_RSHIFT_U64:
        return _FieldValue((64 - bit_size) & _M64)
    raise COREError(f"unsupported relocation kind {kind}")


def _type_value(
    spec: AccessSpec | None, root_id: int, kind: CORERelocKind, pointer_size: int
) -> int:
    if spec is None:
        # Type-based relocations of a missing type are 0, never poisoned.
        return 0
    if kind == CORERelocKind.TYPE_ID_TARGET:
        return root_id
    if kind in (CORERelocKind.TYPE_EXISTS, CORERelocKind.TYPE_MATCHES):
        return 1
    if kind == CORERelocKind.TYPE_SIZE:
        return _size(spec.root, pointer_size)
    raise COREError(f"unsupported relocation kind {kind}")


def _enumval_value(spec: AccessSpec | None, kind: CORERelocKind) -> int:
    if kind == CORERelocKind.ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if kind != CORERelocKind.ENUMVAL_VALUE:
        raise COREError(f"unsupported relocation kind {kind}")
    if spec is None:
        raise _Poison
    access = spec.accesses[0]
    enum = access.type
    assert isinstance(enum, Enum)
    value = enum.values[access.index].value
    if isinstance(enum, Enum64):
        return value & _M64
    # A 32-bit enumerator is an s32 in BTF; libbpf widens it with its sign.
    value &= _M32
    return (value - ((value & 0x80000000) << 1)) & _M64


def _memsz_adjust_ok(local: Type | None, target: Type | None) -> bool:
    """Whether a load/store may change size: pointers, or unsigned integers on both sides."""
    if isinstance(local, Pointer) and isinstance(target, Pointer):
        return True
    # libbpf compares the whole encoding with SIGNED: a signed char counts as unsigned.
    return (
        isinstance(local, Int)
        and isinstance(target, Int)
        and IntEncoding.SIGNED not in (local.encoding, target.encoding)
    )


def calc_fixup(
    local: AccessSpec,
    target: AccessSpec | None,
    *,
    local_root_id: int,
    target_root_id: int,
    pointer_sizes: tuple[int, int] = (8, 8),
    byteorder: ByteOrder = "little",
) -> COREFixup:
    """The fixup for the local spec against one matched target (``None``: no target matched).

    ``pointer_sizes`` are the local and the target's pointer sizes.
    """
    kind = local.kind
    local_ptr, target_ptr = pointer_sizes
    if kind.is_field_based:
        orig = _field_value(local, kind, local_ptr, byteorder)
        try:
            new = _field_value(target, kind, target_ptr, byteorder)
        except _Poison:
            return COREFixup(kind, orig.value, 0, poison=True, validate=orig.validate)
        bad_size = orig.size != new.size and not _memsz_adjust_ok(orig.type, new.type)
        return COREFixup(
            kind,
            orig.value,
            new.value,
            validate=orig.validate,
            local_size=orig.size,
            target_size=new.size,
            bad_size_change=bad_size,
        )
    if kind.is_type_based:
        orig_val = _type_value(local, local_root_id, kind, local_ptr)
        new_val = _type_value(target, target_root_id, kind, target_ptr)
        # Type ids change when objects are linked: never checked.
        return COREFixup(kind, orig_val, new_val, validate=kind != CORERelocKind.TYPE_ID_TARGET)
    orig_val = _enumval_value(local, kind)
    try:
        new_val = _enumval_value(target, kind)
    except _Poison:
        return COREFixup(kind, orig_val, 0, poison=True)
    return COREFixup(kind, orig_val, new_val)
