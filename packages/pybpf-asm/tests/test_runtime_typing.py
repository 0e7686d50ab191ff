"""pybpf.asm.runtime_typing: typing's class constructs at run time, as typing's own behave."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing

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
