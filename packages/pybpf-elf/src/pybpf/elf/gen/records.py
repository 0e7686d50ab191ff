"""The Python types a generated module declares for BTF types: records and enums.

Each BTF type that a map key or value, a variable or a ``--type`` names
becomes a Python type: a struct a frozen dataclass with one field per member
(a :mod:`struct` layout packs and unpacks it), an enum an ``IntEnum``. A
member's C type decides its field: integers ``int``, floats ``float``,
``_Bool`` ``bool``, pointers ``int``, enums the enum class (or ``int`` for a
value it does not name), nested structs their record class, arrays of
one-byte integers ``bytes`` (``char`` arrays with a ``str`` view), other
fixed arrays tuples. What has no such field (unions, bitfields, anonymous
members, arrays of arrays) is kept as ``bytes``: for a member, its bytes in
the record; for a whole type, the map keeps raw bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pybpf.btf import BTFError, Spec
from pybpf.btf.types import (
    Array,
    Enum,
    Float,
    Int,
    IntEncoding,
    Pointer,
    Struct,
    Type,
    Typedef,
    skip_qualifiers,
    underlying,
)
from pybpf.elf.gen.names import attribute_name, class_name, unique

__all__ = ["EnumClass", "Field", "RecordClass", "TypeRegistry"]

#: struct formats of integers by (size, signed).
_INT_FORMATS = {
    (1, False): "B",
    (2, False): "H",
    (4, False): "I",
    (8, False): "Q",
    (1, True): "b",
    (2, True): "h",
    (4, True): "i",
    (8, True): "q",
}
_FLOAT_FORMATS = {4: "f", 8: "d"}
#: Names a record reserves for its own members.
#: (and the modules and runtime names its class body uses, and the builtins its
#: annotations name: a field ``bytes`` would be what ``bytes`` means in the class body).
_RECORD_RESERVED = frozenset(
    {"SIZE", "codec", "decode", "encode", "layout", "dataclasses", "enum", "struct"}
    | {"BytesLike", "ClassVar", "RecordCodec", "Self"}
    | {"bool", "bytes", "float", "int", "str", "tuple"}
)


@dataclass
class EnumClass:
    """An ``IntEnum`` for a C enum."""

    #: The Python class name.
    name: str
    #: ``enum verdict``: how the C source names it.
    c_name: str
    #: Enumerator names and values, in declaration order.
    values: list[tuple[str, int]]

    def default(self) -> str:
        """The field default: the enumerator of 0 if there is one, else 0."""
        for name, value in self.values:
            if value == 0:
                return f"{self.name}.{name}"
        return "0"


@dataclass
class Field:
    """One member of a record, as a dataclass field and its place in the layout."""

    #: The attribute name.
    name: str
    #: The C member name.
    c_name: str
    #: The field's annotation.
    annotation: str
    #: Its :mod:`struct` format (without byte order).
    fmt: str
    #: How many values of the unpacked tuple it takes.
    count: int
    #: The decoding expression, with ``{v}`` for its first value in the
    #: unpacked tuple and ``{s}`` for the slice of all its values.
    decode: str
    #: The encoding expressions, with ``{x}`` for the field's value.
    encode: str
    #: The default value's expression.
    default: str
    #: Whether it holds C characters: the record gets a ``str`` view of it.
    chars: bool = False


@dataclass
class RecordClass:
    """A frozen dataclass for a C struct."""

    #: The Python class name.
    name: str
    #: ``struct flow_key``: how the C source names it.
    c_name: str
    #: ``sizeof`` in C.
    size: int
    #: The members, in order of offset.
    fields: list[Field] = field(default_factory=list)
    #: The :mod:`struct` format of the whole record (with byte order).
    fmt: str = ""


def _int_format(t: Int) -> str | None:
    return _INT_FORMATS.get((t.size, t.signed))


def _raw(name: str, c_name: str, size: int) -> Field:
    fit = f'fit_bytes({{x}}, {size}, "{name}")'
    return Field(name, c_name, "bytes", f"{size}s", 1, "{v}", fit, _zeros(size))


def _zeros(size: int) -> str:
    """The default of a bytes field that decodes as it is: as many NULs as it holds."""
    return f'b"\\0" * {size}'


class TypeRegistry:
    """Every Python type a module declares, built on demand from the object's BTF."""

    def __init__(self, btf: Spec, *, reserved: Iterable[str] = ()) -> None:
        """Types of ``btf``; their classes take none of the ``reserved`` names."""
        self._btf = btf
        #: Records and enums, each after the types it uses (the order to declare them).
        self.declared: list[RecordClass | EnumClass] = []
        self._by_type: dict[int, RecordClass | EnumClass | None] = {}
        self._names: set[str] = set(reserved)

    def python_type(self, t: Type | None, hint: str = "") -> RecordClass | EnumClass | None:
        """The record or enum class for ``t``, declared on first use; None for other types.

        ``hint`` names an anonymous type (a typedef's name, a parent's member).
        """
        if t is None:
            return None
        hint = hint or _typedef_name(t)
        t = underlying(t)
        key = id(t)
        if key in self._by_type:
            return self._by_type[key]
        self._by_type[key] = None  # a cycle through a pointer never gets here: pointers are ints
        declared: RecordClass | EnumClass | None = None
        if isinstance(t, Enum):
            declared = EnumClass(
                self._class_name(t.name or hint, "Enum"),
                f"enum {t.name}" if t.name else hint,
                [(attribute_name(v.name), v.value) for v in t.values],
            )
        elif isinstance(t, Struct) and self._representable(t):
            declared = self._record(t, hint)
        if declared is not None:
            self._by_type[key] = declared
            self.declared.append(declared)
        return declared

    def type_named(self, name: str) -> Type:
        """The BTF type ``name`` (``event``, ``struct event``, ``enum verdict``) for ``--type``."""
        keyword, _, rest = name.strip().partition(" ")
        kinds: dict[str, type[Type]] = {"struct": Struct, "enum": Enum}
        kind = kinds.get(keyword) if rest else None
        bare = rest.strip() if kind is not None else name.strip()
        found = [
            t
            for t in self._btf.types_by_name(bare, kind)
            if isinstance(underlying(t), Struct | Enum)
        ]
        if not found:
            raise LookupError(
                f"--type {name}: no struct or enum of that name in the object's BTF (clang "
                "emits only the types maps, variables and functions use: declare "
                f"'const {name if kind else 'struct ' + name} *unused __attribute__((unused));')"
            )
        return found[0]

    def _class_name(self, c_name: str, kind: str) -> str:
        name = class_name(c_name or kind)
        if name in self._names:
            name = unique(name + kind, self._names)
        self._names.add(name)
        return name

    def _representable(self, t: Struct) -> bool:
        return not t.has_bitfields and all(m.name for m in t.members)

    def _record(self, t: Struct, hint: str) -> RecordClass:
        c_name = f"struct {t.name}" if t.name else hint
        record = RecordClass(self._class_name(t.name or hint, "Struct"), c_name, t.size)
        fmt = ["="]
        end = 0
        taken = set(_RECORD_RESERVED)
        for member in sorted(t.members, key=lambda m: m.offset):
            offset = member.offset // 8
            if offset > end:
                fmt.append(f"{offset - end}x")
            name = attribute_name(member.name, taken)
            taken.add(name)
            nested_hint = f"{t.name or hint}_{member.name}"
            f = self._field(member.type, name, member.name, nested_hint)
            if f.chars:
                taken.add(f"{name}_str")
            record.fields.append(f)
            fmt.append(f.fmt)
            end = offset + self._sizeof(member.type)
        if t.size > end:
            fmt.append(f"{t.size - end}x")
        record.fmt = "".join(fmt)
        return record

    def _sizeof(self, t: Type) -> int:
        try:
            return self._btf.sizeof(t)
        except BTFError:
            return 0

    def _field(self, member_type: Type, name: str, c_name: str, hint: str) -> Field:
        """The field of one member."""
        t = underlying(member_type)
        scalar = self._scalar(t, name, c_name, hint)
        if scalar is not None:
            return scalar
        size = self._sizeof(t)
        if isinstance(t, Struct):
            cls = self.python_type(member_type, hint)
            if isinstance(cls, RecordClass):
                return Field(
                    name,
                    c_name,
                    cls.name,
                    f"{size}s",
                    1,
                    f"{cls.name}.decode({{v}})",
                    "{x}.encode()",
                    f"dataclasses.field(default_factory={cls.name})",
                )
        if isinstance(t, Array) and t.nelems > 0:
            return self._array(t, name, c_name, hint, size)
        return _raw(name, c_name, size)

    def _scalar(self, t: Type, name: str, c_name: str, hint: str) -> Field | None:
        """The field of an integer, float, pointer or enum member; None for others."""
        if isinstance(t, Int):
            fmt = _int_format(t)
            if fmt is None:
                return None
            if t.encoding & IntEncoding.BOOL and t.size == 1:
                return Field(name, c_name, "bool", "?", 1, "{v}", "{x}", "False")
            return Field(name, c_name, "int", fmt, 1, "{v}", "{x}", "0")
        if isinstance(t, Float) and t.size in _FLOAT_FORMATS:
            return Field(name, c_name, "float", _FLOAT_FORMATS[t.size], 1, "{v}", "{x}", "0.0")
        if isinstance(t, Pointer):
            return Field(name, c_name, "int", "Q", 1, "{v}", "{x}", "0")
        if isinstance(t, Enum):
            cls = self.python_type(t, hint)
            fmt = _INT_FORMATS.get((t.size, t.signed))
            if isinstance(cls, EnumClass) and fmt is not None:
                return Field(
                    name,
                    c_name,
                    f"{cls.name} | int",
                    fmt,
                    1,
                    f"enum_or_int({cls.name}, {{v}})",
                    "{x}",
                    cls.default(),
                )
        return None

    def _array(self, t: Array, name: str, c_name: str, hint: str, size: int) -> Field:
        element = underlying(t.type)
        n = t.nelems
        if (
            isinstance(element, Int)
            and element.size == 1
            and not element.encoding & IntEncoding.BOOL
        ):
            # char arrays hold strings: trailing NULs are padding; u8 arrays are bytes as is.
            chars = "char" in skip_qualifiers(t.type).name
            decode = '{v}.rstrip(b"\\0")' if chars else "{v}"
            return Field(
                name,
                c_name,
                "bytes",
                f"{n}s",
                1,
                decode,
                f'fit_bytes({{x}}, {n}, "{name}")',
                'b""' if chars else _zeros(n),
                chars,
            )
        scalar = self._scalar(element, name, c_name, hint)
        if scalar is not None and scalar.count == 1:
            if scalar.decode == "{v}":
                decode = "tuple({s})"
            else:
                item = scalar.decode.format(v="x")
                decode = f"tuple({item} for x in {{s}})"
            return Field(
                name,
                c_name,
                f"tuple[{scalar.annotation}, ...]",
                f"{n}{scalar.fmt}",
                n,
                decode,
                "*{x}",
                f"({scalar.default},) * {n}",
            )
        if isinstance(element, Struct):
            cls = self.python_type(t.type, hint)
            if isinstance(cls, RecordClass):
                return Field(
                    name,
                    c_name,
                    f"tuple[{cls.name}, ...]",
                    f"{size}s",
                    1,
                    f"decode_records({cls.name}.decode, {{v}}, {cls.size})",
                    f'encode_records({{x}}, {n}, "{name}")',
                    f"dataclasses.field(default_factory=lambda: ({cls.name}(),) * {n})",
                )
        return _raw(name, c_name, size)


def _typedef_name(t: Type) -> str:
    """The name of the first typedef on the way to ``t``'s layout ("" if none)."""
    t = skip_qualifiers(t)
    return t.name if isinstance(t, Typedef) else ""
