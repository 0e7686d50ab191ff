"""pybpf.asm.runtime_typing: typing's and enum's class constructs, as their own behave."""

from __future__ import annotations

import enum
import pickle
import subprocess
import sys
import typing
from typing import Any

import pytest

from pybpf.asm import runtime_typing


class _Light(runtime_typing.NamedTuple):
    """A named tuple."""

    name: str
    size: int
    flags: int = 0

    def doubled(self) -> int:
        """A method, kept."""
        return self.size * 2


class _Typed(typing.NamedTuple):
    """A named tuple."""

    name: str
    size: int
    flags: int = 0


_R = runtime_typing.TypeVar("_R", int, str)


class _Table(runtime_typing.Generic[_R]):
    __slots__ = ("rows",)

    def __init__(self, rows: list[_R]) -> None:
        self.rows = rows


def test_importing_it_imports_no_typing() -> None:
    code = "import sys, pybpf.asm.runtime_typing\nprint(*sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "typing" not in done.stdout.split()


def test_a_named_tuple_behaves_as_typings() -> None:
    light, typed = _Light("a", 4), _Typed("a", 4)
    assert light == typed == ("a", 4, 0)
    assert repr(light) == repr(typed).replace("_Typed", "_Light")
    assert _Light._fields == _Typed._fields
    assert _Light._field_defaults == _Typed._field_defaults == {"flags": 0}
    assert light._replace(flags=1) == ("a", 4, 1)
    assert light._asdict() == typed._asdict()
    assert _Light._make(["b", 1, 2]).size == 1
    assert light.doubled() == 8
    assert _Light.__doc__ == "A named tuple."
    assert _Light.__qualname__ == "_Light"
    assert _Light.__module__ == __name__
    assert list(_Light.__annotations__) == ["name", "size", "flags"]
    assert _Light.__mro__ == (_Light, tuple, object)
    assert pickle.loads(pickle.dumps(light)) == light
    assert not hasattr(light, "__dict__")


def test_a_named_tuple_refuses_what_typings_refuses() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class _Bad(runtime_typing.NamedTuple):
            first: int = 0
            second: int

    with pytest.raises(AttributeError, match="cannot overwrite NamedTuple attribute _replace"):

        class _Worse(runtime_typing.NamedTuple):
            first: int

            def _replace(self) -> None: ...


def test_a_generic_class_is_subscripted_as_builtin_containers_are() -> None:
    alias = _Table[int]
    assert alias.__origin__ is _Table
    assert alias.__args__ == (int,)
    assert isinstance(alias([1]), _Table)
    assert not hasattr(_Table([1]), "__dict__")  # the stand-in base adds no __dict__
    assert repr(_R) == "~_R"
    assert _R.__constraints__ == (int, str)


# The same enum bodies, for the stand-ins and for enum's usual build.
_SHAPES = """
class Colour(Base):
    '''Colours, with an alias, a property and a class method.'''

    RED = 1
    GREEN = 2
    BLUE = 4
    CRIMSON = 1

    warm = WARM
    named = NAMED


class Bits(Flag):
    '''Flag bits, the empty set and a multi-bit alias among them.'''

    NONE = 0
    READ = 1
    WRITE = 2
    BOTH = 3
    EXEC = 8


class Kind(Plain):
    '''A plain enum of strings, one member named as Enum's own property.'''

    ONE = "one"
    TWO = "two"
    value = "three"
"""


def _warm(self: enum.Enum) -> bool:
    """Red is."""
    return self.name == "RED"


def _named(cls: type[enum.Enum], name: str) -> enum.Enum:
    """The member of that name."""
    return cls[name.upper()]


# One object each, for both builds: enum's check compares methods by identity.
_METHODS = {"WARM": property(_warm), "NAMED": classmethod(_named)}


def _shapes(base: type, flag: type, plain: type) -> dict[str, Any]:
    namespace: dict[str, Any] = {"Base": base, "Flag": flag, "Plain": plain, "__name__": __name__}
    namespace.update(_METHODS)
    exec(compile(_SHAPES, __file__, "exec"), namespace)
    return namespace


@pytest.fixture(params=["fast path", "usual build"])
def built(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The shapes made by the stand-ins: by enum._simple_enum, or where enum lacks it."""
    if request.param == "usual build":
        monkeypatch.setattr(runtime_typing, "_simple_enum", None)
    return _shapes(runtime_typing.IntEnum, runtime_typing.IntFlag, runtime_typing.Enum)


def test_an_enum_stand_in_builds_what_enum_builds(built: dict[str, Any]) -> None:
    usual = _shapes(enum.IntEnum, enum.IntFlag, enum.Enum)
    for name in ("Colour", "Bits", "Kind"):
        made, expected = built[name], usual[name]
        # The standard library's own check of a fast-path enum against the usual one.
        enum._test_simple_enum(made, expected)  # type: ignore[attr-defined]
        assert made.__mro__[1:] == expected.__mro__[1:]
        assert [(m.name, m.value) for m in made] == [(m.name, m.value) for m in expected]
        assert made.__members__.keys() == expected.__members__.keys()
        assert made.__doc__ == expected.__doc__
        assert made.__qualname__ == name
        for member in made:
            assert (repr(member), str(member), format(member)) == (
                repr(expected[member.name]).replace(expected.__qualname__, name),
                str(expected[member.name]),
                format(expected[member.name]),
            )
    colour, bits = built["Colour"], built["Bits"]
    # A member is a plain class attribute, as the usual build makes it.
    assert vars(colour)["RED"] is colour.RED and vars(colour)["CRIMSON"] is colour.RED
    assert colour.CRIMSON is colour.RED and colour(1) is colour.RED
    assert colour.RED.warm and not colour.BLUE.warm
    assert colour.named("green") is colour.GREEN
    assert isinstance(colour.RED, int) and isinstance(colour.RED, enum.IntEnum)
    assert bits.READ | bits.WRITE is bits.BOTH
    assert bits(16) == 16  # an IntFlag keeps unknown bits (boundary KEEP), as enum's
    assert built["Kind"]("two") is built["Kind"].TWO
    with pytest.raises(ValueError, match="3 is not a valid Colour"):
        colour(3)


def test_a_nested_enum_keeps_its_qualified_name() -> None:
    class Outer:
        class Inner(runtime_typing.IntEnum):
            A = 1

    assert Outer.Inner.__qualname__.endswith("Outer.Inner")
    assert isinstance(Outer.Inner.A, enum.IntEnum)


def test_an_enum_stand_in_is_the_only_base() -> None:
    with pytest.raises(TypeError, match="the only base"):

        class _Mixed(runtime_typing.IntEnum, int):  # type: ignore[misc]
            A = 1
