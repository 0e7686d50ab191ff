"""The run-time side of typing's class constructs, without importing typing.

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
:class:`TypeVar` for its parameters. Public for pybpf's own distributions (it
sits in the lowest layer, which they all depend on); no stability promise.
"""

from __future__ import annotations

from collections import namedtuple
from types import GenericAlias

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Generic", "NamedTuple", "TypeVar"]

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
