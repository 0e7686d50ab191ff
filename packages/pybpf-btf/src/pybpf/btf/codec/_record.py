"""Records: the Python value of a struct, union or data section.

One class is generated per BTF type, with ``__slots__`` for its members, so a
decoded value costs one object and attribute access is a slot read.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pybpf.btf.types import Type

__all__ = ["Record", "asdict", "fields", "make_record_class", "reserved"]

# Instances of these are shared safely between records as default values.
_IMMUTABLE = (int, float, bytes, bool, type(None))


class Record:
    """Base of generated record classes; compare by type and member values.

    Member names are the C names; an unnamed member (an anonymous struct or
    union) is called ``_anon<index>`` and its own members are readable and
    writable through the parent as in C.
    """

    __slots__ = ()
    __btf_type__: ClassVar[Type]
    __btf_fields__: ClassVar[tuple[str, ...]]
    __btf_zero__: ClassVar[tuple[Callable[[], Any], ...]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__btf_fields__
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__}() takes {len(names)} positional arguments, "
                f"{len(args)} given"
            )
        given = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__}() has no member {key!r}")
            if key in given:
                raise TypeError(f"{type(self).__name__}() got {key!r} twice")
            given[key] = value
        for name, zero in zip(names, self.__btf_zero__, strict=True):
            object.__setattr__(self, name, given[name] if name in given else zero())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        if other.__btf_type__ is not self.__btf_type__:
            return False
        return all(getattr(self, n) == getattr(other, n) for n in self.__btf_fields__)

    __hash__ = None  # type: ignore[assignment]  # records are mutable

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__btf_fields__)
        return f"{type(self).__name__}({parts})"


def reserved(name: str) -> bool:
    """True for member names a record class cannot have (``__init__``, ``__slots__``...)."""
    return (
        name.startswith("__")
        and name.endswith("__")
        and (hasattr(Record, name) or name in _CLASS_NAMES)
    )


_CLASS_NAMES = frozenset(
    {
        "__slots__",
        "__dict__",
        "__weakref__",
        "__qualname__",
        "__btf_bytes__",
        "__btf_fields__",
        "__btf_promoted__",
        "__btf_type__",
        "__btf_zero__",
        "__match_args__",
    }
)


def fields(record: Record | type[Record]) -> tuple[str, ...]:
    """The member names of a record (or record class), in declaration order."""
    return record.__btf_fields__


def asdict(record: Record) -> dict[str, Any]:
    """A record as a dict, nested records and lists of records converted too."""
    return {n: _plain(getattr(record, n)) for n in record.__btf_fields__}


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _zero_factory(zero: Any) -> Callable[[], Any]:
    if isinstance(zero, _IMMUTABLE):
        return lambda: zero
    if isinstance(zero, Record):
        return type(zero)
    if isinstance(zero, list):
        factories = [_zero_factory(z) for z in zero]
        return lambda: [f() for f in factories]
    return lambda: zero


def make_record_class(
    name: str,
    btf_type: Type,
    names: Sequence[str],
    zeros: Sequence[Any],
    *,
    promoted: dict[str, tuple[str, type[Record]]],
    keep_bytes: bool = False,
) -> type[Record]:
    """A record class for ``btf_type`` with members ``names``.

    ``zeros`` are the zero values (a missing member's value); ``promoted`` maps a
    member of an anonymous member to that anonymous member's name. With
    ``keep_bytes`` (unions) a decoded record keeps the bytes it came from.
    """
    namespace: dict[str, Any] = {
        "__slots__": (*names, "__btf_bytes__") if keep_bytes else tuple(names),
        "__btf_type__": btf_type,
        "__btf_fields__": tuple(names),
        "__match_args__": tuple(names),
        "__btf_zero__": tuple(_zero_factory(z) for z in zeros),
        "__doc__": f"A value of BTF type {btf_type!r}.",
    }
    cls = type(name or "anon", (Record,), namespace)
    for member in names:
        mangled = _mangled(cls.__name__, member)
        if mangled != member:
            # C names like ``__pad`` are private names to Python: class creation
            # stored their slots mangled, so alias each under its C name.
            setattr(cls, member, cls.__dict__[mangled])
    cls.__qualname__ = cls.__name__ = name or "anon"
    cls.__module__ = __name__
    cls._make = _maker(cls, names)  # type: ignore[attr-defined]
    for member, (anon, _) in promoted.items():
        if member not in names:
            setattr(cls, member, _promote(anon, member))
    return cls


def _mangled(class_name: str, name: str) -> str:
    """The name CPython stores a ``__slots__`` entry under (private name mangling)."""
    if not name.startswith("__") or name.endswith("__") or "." in name:
        return name
    stripped = class_name.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


def _maker(cls: type[Record], names: Sequence[str]) -> Callable[[Sequence[Any]], Record]:
    """A function building a record from values in member order, without checks.

    Generated code assigns the slots in one unpacking statement, which is the
    cheapest way CPython offers to fill an object; names that are not plain
    identifiers fall back to ``setattr``.
    """
    new = object.__new__
    if names and all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        targets = ", ".join(f"r.{n}" for n in names) + ","
        source = f"def make(values):\n    r = new(cls)\n    {targets} = values\n    return r\n"
        scope: dict[str, Any] = {"new": new, "cls": cls}
        exec(source, scope)
        return scope["make"]  # type: ignore[no-any-return]

    def make(values: Sequence[Any]) -> Record:
        r = new(cls)
        for n, v in zip(names, values, strict=True):
            object.__setattr__(r, n, v)
        return r

    return make


def _promote(anon: str, member: str) -> property:
    def get(self: Record) -> Any:
        return getattr(getattr(self, anon), member)

    def set_(self: Record, value: Any) -> None:
        setattr(getattr(self, anon), member, value)

    return property(get, set_, doc=f"``{anon}.{member}``")
