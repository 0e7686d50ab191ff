"""The BTF type model: one Python class per BTF kind.

Types reference each other directly (``Pointer.target`` is a :class:`Type`), so a
type graph reads like the C it describes. Types decoded from a :class:`Spec` are
*lazy*: a reference is kept as a type id until it is first read, so that looking
up one type of the kernel's ~126k never decodes the rest of them.

Types compare by identity, as C types do within one program: two specs are equal
when their types, in id order, have equal contents with references compared by
id (see ``Spec.__eq__``). Types built by hand (for marshalling or as CO-RE
targets) take their referenced types as plain objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pybpf.btf.errors import BTFError

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum, IntFlag
    from typing import Any, ClassVar, Protocol, Self, overload

    class _Resolver(Protocol):
        """What lazy types and the decoder need of their spec: a type for an id, the next id."""

        def type_by_id(self, type_id: int) -> Type: ...

        @property
        def next_id(self) -> int: ...
else:
    from pybpf.asm.runtime_typing import IntEnum, IntFlag


__all__ = [
    "ARG_CTX_TAG",
    "EXCEPTION_CALLBACK_TAG",
    "Array",
    "Composite",
    "Const",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumValue",
    "Float",
    "Func",
    "FuncParam",
    "FuncProto",
    "Fwd",
    "FwdKind",
    "Int",
    "IntEncoding",
    "Kind",
    "Linkage",
    "Member",
    "Pointer",
    "Qualifier",
    "Restrict",
    "Struct",
    "Type",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarSecinfo",
    "Void",
    "Volatile",
    "skip_qualifiers",
    "underlying",
]


class Kind(IntEnum):
    """BTF kinds (``BTF_KIND_*`` of ``include/uapi/linux/btf.h``)."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntFlag):
    """The encoding bits of a BTF integer (``BTF_INT_SIGNED`` ...)."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(IntEnum):
    """Linkage of functions (``BTF_FUNC_*``) and variables (``BTF_VAR_*``)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class FwdKind(IntEnum):
    """What a forward declaration announces."""

    STRUCT = 0
    UNION = 1


class _Ref:
    """A reference to another type, stored as an id until first read.

    The value lives in the slot named ``_<attribute>``; the owning object keeps
    the resolver (its spec) in ``_spec``.
    """

    __slots__ = ("_slot",)

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = owner.__dict__[f"_{name}"]

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: type) -> _Ref: ...
        @overload
        def __get__(self, obj: object, owner: type) -> Type: ...

    def __get__(self, obj: object | None, owner: type) -> Type | _Ref:
        if obj is None:
            return self
        value = self._slot.__get__(obj, owner)
        if value.__class__ is int:
            value = obj._spec.type_by_id(value)  # type: ignore[attr-defined]
            self._slot.__set__(obj, value)
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: Type) -> None:
        self._slot.__set__(obj, value)


def _raw(obj: object, slot: str) -> Any:
    """A reference's stored value: an id while still lazy, else the type."""
    return object.__getattribute__(obj, slot)


class Type:
    """Base of every BTF type. ``name`` is ``""`` for anonymous types."""

    __slots__ = ("_spec", "name")
    kind: ClassVar[Kind]

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._spec: _Resolver | None = None

    def references(self) -> Iterator[Type]:
        """The types this one refers to directly, in BTF order."""
        return iter(())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})" if self.name else f"{type(self).__name__}()"

    def copy(self) -> Self:
        """A shallow copy: same references, new object (for editing)."""
        clone = object.__new__(type(self))
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot in ("__weakref__", "__dict__"):
                    continue
                try:  # noqa: SIM105 (contextlib is not on a load's path)
                    setattr(clone, slot, object.__getattribute__(self, slot))
                except AttributeError:  # an unset slot stays unset
                    pass
        return clone


class Void(Type):
    """The type with id 0: ``void``. There is one instance: ``Void() is Void()``."""

    __slots__ = ()
    kind = Kind.UNKN
    _instance: ClassVar[Void | None] = None

    def __new__(cls, name: str = "") -> Void:
        """The one Void instance (every spec's id 0 is the same void)."""
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def copy(self) -> Self:
        """Void is a singleton: its copy is itself."""
        return self

    def __repr__(self) -> str:
        return "Void()"


class Int(Type):
    """An integer of ``size`` bytes; ``bits`` wide starting at bit ``offset``."""

    __slots__ = ("bits", "encoding", "offset", "size")
    kind = Kind.INT

    def __init__(
        self,
        name: str,
        size: int,
        encoding: IntEncoding = IntEncoding.NONE,
        bits: int | None = None,
        offset: int = 0,
    ) -> None:
        super().__init__(name)
        self.size = size
        self.encoding = encoding
        self.bits = size * 8 if bits is None else bits
        self.offset = offset

    @property
    def signed(self) -> bool:
        """True for signed integers."""
        return bool(self.encoding & IntEncoding.SIGNED)


class Pointer(Type):
    """A pointer to ``target``."""

    __slots__ = ("_target",)
    kind = Kind.PTR
    target = _Ref()

    def __init__(self, target: Type) -> None:
        super().__init__("")
        self._target = target

    def references(self) -> Iterator[Type]:
        """The pointed-to type."""
        yield self.target

    def __repr__(self) -> str:
        target = _raw(self, "_target")
        return f"Pointer(target={_short(target)})"


class Array(Type):
    """``nelems`` elements of ``type``, indexed by ``index`` (an integer type)."""

    __slots__ = ("_index", "_type", "nelems")
    kind = Kind.ARRAY
    type = _Ref()
    index = _Ref()

    def __init__(self, type: Type, nelems: int, index: Type | None = None) -> None:
        super().__init__("")
        self._type = type
        self._index = index if index is not None else Int("int", 4, IntEncoding.SIGNED)
        self.nelems = nelems

    def references(self) -> Iterator[Type]:
        """The element type, then the index type."""
        yield self.type
        yield self.index

    def __repr__(self) -> str:
        return f"Array(type={_short(_raw(self, '_type'))}, nelems={self.nelems})"


class Member:
    """A member of a struct or union.

    ``offset`` is in *bits* from the start of the composite; ``bitfield_size`` is
    0 for a plain member.
    """

    __slots__ = ("_spec", "_type", "bitfield_size", "name", "offset")
    type = _Ref()

    def __init__(self, name: str, type: Type, offset: int = 0, bitfield_size: int = 0) -> None:
        self.name = name
        self._type = type
        self.offset = offset
        self.bitfield_size = bitfield_size
        self._spec: _Resolver | None = None

    def __repr__(self) -> str:
        bits = f", bitfield_size={self.bitfield_size}" if self.bitfield_size else ""
        return f"Member({self.name!r}, {_short(_raw(self, '_type'))}, offset={self.offset}{bits})"


class Composite(Type):
    """Common base of :class:`Struct` and :class:`Union`."""

    __slots__ = ("members", "size")

    def __init__(self, name: str, size: int, members: Sequence[Member] = ()) -> None:
        super().__init__(name)
        self.size = size
        self.members = list(members)

    def references(self) -> Iterator[Type]:
        """Each member's type."""
        for member in self.members:
            yield member.type

    def member(self, name: str) -> Member:
        """The member called ``name`` (not looking into anonymous members)."""
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(f"{self!r} has no member {name!r}")

    @property
    def has_bitfields(self) -> bool:
        """True when a member is a bitfield (the ``kind_flag`` encoding)."""
        return any(m.bitfield_size for m in self.members)


class Struct(Composite):
    """A ``struct``."""

    __slots__ = ()
    kind = Kind.STRUCT


class Union(Composite):
    """A ``union``."""

    __slots__ = ()
    kind = Kind.UNION


class EnumValue:
    """One enumerator: a name and its value."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnumValue):
            return NotImplemented
        return self.name == other.name and self.value == other.value

    def __hash__(self) -> int:
        return hash((self.name, self.value))

    def __repr__(self) -> str:
        return f"EnumValue({self.name!r}, {self.value})"


class Enum(Type):
    """An enum of ``size`` bytes (``BTF_KIND_ENUM``: values fit in 32 bits)."""

    __slots__ = ("signed", "size", "values")
    kind: ClassVar[Kind] = Kind.ENUM

    def __init__(
        self, name: str, size: int = 4, values: Sequence[EnumValue] = (), signed: bool = False
    ) -> None:
        super().__init__(name)
        self.size = size
        self.values = list(values)
        self.signed = signed

    def value(self, name: str) -> int:
        """The value of the enumerator ``name``."""
        for v in self.values:
            if v.name == name:
                return v.value
        raise KeyError(f"{self!r} has no enumerator {name!r}")


class Enum64(Enum):
    """An enum with 64-bit values (``BTF_KIND_ENUM64``)."""

    __slots__ = ()
    kind = Kind.ENUM64

    def __init__(
        self, name: str, size: int = 8, values: Sequence[EnumValue] = (), signed: bool = False
    ) -> None:
        super().__init__(name, size, values, signed)


class Fwd(Type):
    """A forward declaration of a struct or union."""

    __slots__ = ("fwd_kind",)
    kind = Kind.FWD

    def __init__(self, name: str, fwd_kind: FwdKind = FwdKind.STRUCT) -> None:
        super().__init__(name)
        self.fwd_kind = fwd_kind


class Typedef(Type):
    """``typedef type name;``."""

    __slots__ = ("_type",)
    kind = Kind.TYPEDEF
    type = _Ref()

    def __init__(self, name: str, type: Type) -> None:
        super().__init__(name)
        self._type = type

    def references(self) -> Iterator[Type]:
        """The aliased type."""
        yield self.type

    def __repr__(self) -> str:
        return f"Typedef({self.name!r}, {_short(_raw(self, '_type'))})"


class Qualifier(Type):
    """Common base of ``volatile``, ``const``, ``restrict`` and type tags."""

    __slots__ = ("_type",)
    type = _Ref()

    def __init__(self, type: Type) -> None:
        super().__init__("")
        self._type = type

    def references(self) -> Iterator[Type]:
        """The qualified type."""
        yield self.type

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_short(_raw(self, '_type'))})"


class Volatile(Qualifier):
    """``volatile type``."""

    __slots__ = ()
    kind = Kind.VOLATILE


class Const(Qualifier):
    """``const type``."""

    __slots__ = ()
    kind = Kind.CONST


class Restrict(Qualifier):
    """``restrict type``."""

    __slots__ = ()
    kind = Kind.RESTRICT


class TypeTag(Qualifier):
    """``type __attribute__((btf_type_tag(value)))``.

    ``attribute`` is the ``kind_flag`` of newer kernels: the tag's value is a
    whole attribute (``__attribute__((value))``) rather than a ``btf_type_tag``.
    """

    __slots__ = ("attribute", "value")
    kind = Kind.TYPE_TAG

    def __init__(self, value: str, type: Type, attribute: bool = False) -> None:
        super().__init__(type)
        self.value = value
        self.name = value
        self.attribute = attribute

    def __repr__(self) -> str:
        return f"TypeTag({self.value!r}, {_short(_raw(self, '_type'))})"


class FuncParam:
    """A parameter of a function prototype."""

    __slots__ = ("_spec", "_type", "name")
    type = _Ref()

    def __init__(self, name: str, type: Type) -> None:
        self.name = name
        self._type = type
        self._spec: _Resolver | None = None

    def __repr__(self) -> str:
        return f"FuncParam({self.name!r}, {_short(_raw(self, '_type'))})"


class FuncProto(Type):
    """A function prototype. A variadic prototype ends with an unnamed void parameter."""

    __slots__ = ("_return_type", "params")
    kind = Kind.FUNC_PROTO
    return_type = _Ref()

    def __init__(self, return_type: Type, params: Sequence[FuncParam] = ()) -> None:
        super().__init__("")
        self._return_type = return_type
        self.params = list(params)

    def references(self) -> Iterator[Type]:
        """The return type, then each parameter's type."""
        yield self.return_type
        for p in self.params:
            yield p.type

    @property
    def variadic(self) -> bool:
        """True for a ``...`` prototype."""
        return (
            bool(self.params)
            and isinstance(self.params[-1].type, Void)
            and not self.params[-1].name
        )


class Func(Type):
    """A function: a name, a prototype and a linkage."""

    __slots__ = ("_type", "linkage")
    kind = Kind.FUNC
    type = _Ref()

    def __init__(self, name: str, type: Type, linkage: Linkage = Linkage.STATIC) -> None:
        super().__init__(name)
        self._type = type
        self.linkage = linkage

    def references(self) -> Iterator[Type]:
        """The prototype."""
        yield self.type


class Var(Type):
    """A global variable."""

    __slots__ = ("_type", "linkage")
    kind = Kind.VAR
    type = _Ref()

    def __init__(self, name: str, type: Type, linkage: Linkage = Linkage.STATIC) -> None:
        super().__init__(name)
        self._type = type
        self.linkage = linkage

    def references(self) -> Iterator[Type]:
        """The variable's type."""
        yield self.type


class VarSecinfo:
    """A variable's place in a data section: ``size`` bytes at ``offset``."""

    __slots__ = ("_spec", "_type", "offset", "size")
    type = _Ref()

    def __init__(self, type: Type, offset: int, size: int) -> None:
        self._type = type
        self.offset = offset
        self.size = size
        self._spec: _Resolver | None = None

    def __repr__(self) -> str:
        return f"VarSecinfo({_short(_raw(self, '_type'))}, offset={self.offset}, size={self.size})"


class Datasec(Type):
    """A data section (``.data``, ``.bss``, ``.kconfig``, ...) and its variables."""

    __slots__ = ("size", "vars")
    kind = Kind.DATASEC

    def __init__(self, name: str, size: int = 0, vars: Sequence[VarSecinfo] = ()) -> None:
        super().__init__(name)
        self.size = size
        self.vars = list(vars)

    def references(self) -> Iterator[Type]:
        """Each variable (or function, for ``.ksyms``) of the section."""
        for v in self.vars:
            yield v.type


class Float(Type):
    """A floating point type of ``size`` bytes."""

    __slots__ = ("size",)
    kind = Kind.FLOAT

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name)
        self.size = size


#: The decl tag ``__arg_ctx`` (libbpf's ``bpf_helpers.h``) puts on a global
#: subprogram's argument: the argument is the program's context, whatever its
#: C type (the verifier reads it from 6.8; libbpf retypes it for older kernels).
ARG_CTX_TAG = "arg:ctx"

#: The start of the decl tag ``__exception_cb(name)`` puts on a program: the
#: rest is the name of the global subprogram that is its exception callback.
EXCEPTION_CALLBACK_TAG = "exception_callback:"


class DeclTag(Type):
    """``__attribute__((btf_decl_tag(value)))`` on a type or one of its parts.

    ``component_idx`` is the member or parameter index, or -1 for the type itself;
    ``attribute`` is the ``kind_flag`` of newer kernels (``__attribute__((value))``).
    """

    __slots__ = ("_type", "attribute", "component_idx", "value")
    kind = Kind.DECL_TAG
    type = _Ref()

    def __init__(
        self, value: str, type: Type, component_idx: int = -1, attribute: bool = False
    ) -> None:
        super().__init__(value)
        self.value = value
        self._type = type
        self.component_idx = component_idx
        self.attribute = attribute

    def references(self) -> Iterator[Type]:
        """The tagged type."""
        yield self.type

    def __repr__(self) -> str:
        return (
            f"DeclTag({self.value!r}, {_short(_raw(self, '_type'))}, "
            f"component_idx={self.component_idx})"
        )


def _short(t: object) -> str:
    """A reference in a repr: the id while lazy, else kind and name (no recursion)."""
    if isinstance(t, int):
        return f"#{t}"
    if isinstance(t, Type):
        return f"{type(t).__name__}({t.name!r})" if t.name else f"{type(t).__name__}()"
    return repr(t)


def _describe(t: Type) -> str:
    """A type for an error message: its id when it came from a spec, and its repr."""
    spec = t._spec
    if spec is not None:
        type_id = getattr(spec, "type_id", None)
        if type_id is not None:
            try:
                return f"type {type_id(t)} {t!r}"
            except LookupError:
                pass
    return repr(t)


def skip_qualifiers(t: Type) -> Type:
    """``t`` without its ``const``/``volatile``/``restrict``/type-tag wrappers.

    A cycle of qualifiers (only corrupt BTF has one) raises :class:`BTFError`.
    """
    seen: set[int] = set()
    while isinstance(t, Qualifier):
        if id(t) in seen:
            raise BTFError(f"{_describe(t)}: qualifier cycle")
        seen.add(id(t))
        t = t.type
    return t


def underlying(t: Type) -> Type:
    """``t`` through typedefs and qualifiers: the type that gives it its layout."""
    seen: set[int] = set()
    while isinstance(t, (Qualifier, Typedef)):
        if id(t) in seen:
            raise BTFError(f"{_describe(t)}: typedef/qualifier cycle")
        seen.add(id(t))
        t = t.type
    return t
