"""A frozen record class, for CO-RE's public results.

They behave as frozen dataclasses (keyword or positional fields, equality
and hashing by fields, the same ``repr``, :class:`~dataclasses.FrozenInstanceError`
on assignment, copy and pickle), but defining a dataclass costs about a
millisecond at every start of a process that loads a CO-RE object.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import ClassVar

__all__ = ["FrozenRecord"]


class FrozenRecord:
    """The methods of a frozen record whose fields are named by ``__match_args__``."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, FrozenRecord)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__qualname__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return type(self), self._values()
