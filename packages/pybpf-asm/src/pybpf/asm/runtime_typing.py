"""The run-time side of typing's and enum's class constructs, built cheaper.

Every process that loads an object imports the ELF reader and the BTF layer,
and ``typing`` (with ``re`` and ``contextlib``, which it imports) costs more
than most of their modules together. Their annotations never run (``from
__future__ import annotations``), so they import typing's names under a
``TYPE_CHECKING`` guard; a class statement does run, though, and for its base
a module takes these stand-ins in the guard's ``else`` branch::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from pybpf.asm.runtime_typing import NamedTuple

Type checkers read typing's own definitions (they treat any name
``TYPE_CHECKING`` as true); at run time these build the same classes:
:class:`NamedTuple` a :func:`collections.namedtuple` class, :class:`Generic`
a class that its subscripts alias (``Table[int]``, as ``list[int]``), with
:class:`TypeVar` for its parameters.

Enum classes are the other cost of a class statement: building one through
:class:`enum.EnumType` takes ~13 µs a member on CPython 3.11, and the enums a
load uses have ~240. :class:`IntEnum`, :class:`IntFlag` and :class:`Enum`
here make the same classes (subclasses of :mod:`enum`'s own) by the standard
library's fast path, ``enum._simple_enum``, about twice as fast; it is what
:class:`http.HTTPStatus` and :class:`re.RegexFlag` are built with, and
``enum._test_simple_enum`` checks each of pybpf's against the usual build.
It skips the usual build's checks, so a class made this way is a plain one:
members and methods, no ``_ignore_``, ``auto()`` or ``__init_subclass__``
hooks. Where ``enum`` lacks it, the usual build runs. A module takes them
in the same guard::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from enum import IntEnum
    else:
        from pybpf.asm.runtime_typing import IntEnum

Public for pybpf's own distributions (it sits in the lowest layer, which
they all depend on); no stability promise.
"""

from __future__ import annotations

import enum
from collections import namedtuple
from types import DynamicClassAttribute, GenericAlias

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Enum", "Generic", "IntEnum", "IntFlag", "NamedTuple", "TypeVar"]

# Called with a name and fields known at run time only (type checkers want literals).
_namedtuple: Callable[..., type] = namedtuple

# What typing.NamedTuple refuses in a class body (namedtuple makes them) and
# what it sets itself.
_MADE_BY_NAMEDTUPLE = frozenset(
    {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults"}
    | {"_make", "_replace", "_asdict", "_source"}
)
_SET_BY_NAMEDTUPLE = frozenset({"__module__", "__annotations__"})


class TypeVar:
    """A type variable at run time: its name and constraints (only type checkers use them)."""

    __slots__ = ("__bound__", "__constraints__", "__name__")

    def __init__(self, name: str, *constraints: object, bound: object = None) -> None:
        self.__name__ = name
        self.__constraints__ = constraints
        self.__bound__ = bound

    def __repr__(self) -> str:
        return f"~{self.__name__}"


class Generic:
    """The base of a generic class: ``Class[T]`` is a :class:`types.GenericAlias` of it."""

    __slots__ = ()

    def __class_getitem__(cls, params: object) -> GenericAlias:
        return GenericAlias(cls, params)


class _NamedTupleMeta(type):
    """Turns a ``class Name(NamedTuple)`` statement into a ``collections.namedtuple`` class."""

    def __new__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(cls, name, bases, namespace)
        annotations = namespace.get("__annotations__", {})
        assert isinstance(annotations, dict)
        fields = list(annotations)
        defaults = [namespace[f] for f in fields if f in namespace]
        if any(f not in namespace for f in fields[len(fields) - len(defaults) :]):
            raise TypeError(f"{name}: a field without a default follows one with a default")
        made = _namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
        for key, value in namespace.items():
            if key in _MADE_BY_NAMEDTUPLE:
                raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
            if key not in _SET_BY_NAMEDTUPLE and key not in annotations:
                setattr(made, key, value)
        made.__annotations__ = dict(annotations)
        return made


class NamedTuple(metaclass=_NamedTupleMeta):
    """The base of a named tuple class: fields from its annotations, as ``typing.NamedTuple``."""

    __slots__ = ()


#: ``enum._simple_enum`` (CPython 3.11+), None where enum lacks it.
_simple_enum: Callable[..., Callable[[type], type]] | None = getattr(enum, "_simple_enum", None)


class _EnumBuilder(type):
    """Turns a ``class Name(IntEnum)`` statement into an enum of the stand-in's enum type."""

    #: The :mod:`enum` class the stand-in stands for.
    _enum_type: type[enum.Enum]

    def __new__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # a stand-in itself
            return super().__new__(cls, name, bases, namespace)
        if len(bases) != 1 or not isinstance(bases[0], _EnumBuilder):
            raise TypeError(f"{name}: an enum stand-in is the only base of its class")
        return _build_enum(bases[0]._enum_type, name, namespace)


def _build_enum(etype: type[enum.Enum], name: str, namespace: dict[str, object]) -> type:
    """The enum ``name`` of type ``etype`` a class body ``namespace`` declares."""
    if _simple_enum is not None:
        made = _simple_enum(etype)(type(name, (), namespace))
        # type() keeps __qualname__ apart from the class's dict, where
        # _simple_enum looks: a nested class gets it back here.
        made.__qualname__ = str(namespace.get("__qualname__", name))
        # _simple_enum reaches every member through a property (a Python call
        # at each read of Kind.STRUCT); the usual build puts the member itself
        # in the class, or a property that keeps a base's descriptor of that
        # name working for the instances (Enum's "value", say): the same here.
        members: dict[str, enum.Enum] = made.__dict__["_member_map_"]
        inherited = _inherited_names(etype)
        for member_name, member in members.items():
            attribute = (
                _class_attribute(made, member_name, member) if member_name in inherited else member
            )
            type.__setattr__(made, member_name, attribute)
        return made
    body = enum.EnumType.__prepare__(name, (etype,))
    for key, value in namespace.items():
        body[key] = value
    return enum.EnumType(name, (etype,), body)


#: The attribute names an enum type and its bases define, by enum type.
_INHERITED: dict[type, frozenset[str]] = {}


def _inherited_names(etype: type) -> frozenset[str]:
    """Every name in the class dicts of ``etype``'s MRO: the bases of each enum it makes.

    A member whose name is not among them is set on its class as itself; only
    the few others (``name``, ``value``...) need :func:`_class_attribute`'s
    search, which is a fifth of building an enum when run for every member.
    """
    names = _INHERITED.get(etype)
    if names is None:
        names = _INHERITED[etype] = frozenset(
            name for base in etype.__mro__ for name in base.__dict__
        )
    return names


def _class_attribute(made: type, member_name: str, member: enum.Enum) -> object:
    """What the usual build sets on the class for a member (``_proto_member.__set_name__``)."""
    found: Any = None
    for base in made.__mro__[1:]:
        descriptor = base.__dict__.get(member_name)
        if descriptor is None:
            continue
        if isinstance(descriptor, property | DynamicClassAttribute):
            found = descriptor
            break
        if all(hasattr(descriptor, part) for part in ("fget", "fset", "fdel")):
            found = descriptor
    if found is None:
        return member
    redirect: Any = enum.property()
    redirect.member = member
    redirect.__set_name__(made, member_name)
    redirect.fget, redirect.fset, redirect.fdel = found.fget, found.fset, found.fdel
    return redirect


class Enum(metaclass=_EnumBuilder):
    """The base of an :class:`enum.Enum` class statement, built by the fast path."""

    _enum_type = enum.Enum


class IntEnum(metaclass=_EnumBuilder):
    """The base of an :class:`enum.IntEnum` class statement, built by the fast path."""

    _enum_type = enum.IntEnum


class IntFlag(metaclass=_EnumBuilder):
    """The base of an :class:`enum.IntFlag` class statement, built by the fast path."""

    _enum_type = enum.IntFlag
