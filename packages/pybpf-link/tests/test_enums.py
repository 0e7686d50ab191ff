"""Every enum of every pybpf distribution is what enum's usual class statement builds.

pybpf's enums are built by enum's fast path (``pybpf.asm.runtime_typing``),
which skips the usual build's checks. Each module defining them is run again
here, and each class it builds is compared, by the standard library's own
check, with the class enum's usual build makes of the same class body. This
is the top layer: every distribution's modules are importable from it.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import pickle
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.asm import runtime_typing

_STAND_INS = re.compile(
    r"from pybpf\.asm\.runtime_typing import [^\n]*\b(?:Enum|IntEnum|IntFlag)\b"
)


def _enum_modules() -> list[str]:
    """The modules that build enums with the stand-ins, in every installed distribution."""
    found = set()
    for folder in map(Path, pybpf.__path__):
        for path in folder.rglob("*.py"):
            if path.name != "runtime_typing.py" and _STAND_INS.search(path.read_text("utf-8")):
                parts = path.relative_to(folder).with_suffix("").parts
                found.add(".".join(("pybpf", *parts)))
    return sorted(found)


_MODULES = _enum_modules()


def test_the_modules_are_found() -> None:
    # One of each layer at least: a search that finds nothing would pass everything.
    for expected in ("pybpf.asm._opcode_fields", "pybpf.btf.types", "pybpf.elf._uapi"):
        assert expected in _MODULES
    assert "pybpf.core._uapi" in _MODULES and "pybpf.link.xdp" in _MODULES


@pytest.mark.parametrize("name", _MODULES)
def test_each_enum_is_the_usual_build(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[type[enum.Enum], str, dict[str, object], type]] = []
    fast = runtime_typing._build_enum

    def recording(etype: type[enum.Enum], cls: str, namespace: dict[str, object]) -> type:
        made = fast(etype, cls, namespace)
        built.append((etype, cls, dict(namespace), made))
        return made

    monkeypatch.setattr(runtime_typing, "_build_enum", recording)
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    again = importlib.util.module_from_spec(spec)
    # For its run only: a module with lazy exports finds itself in sys.modules.
    monkeypatch.setitem(sys.modules, name, again)
    spec.loader.exec_module(again)
    assert built, f"{name} builds no enum"
    for etype, cls, namespace, made in built:
        body = enum.EnumType.__prepare__(cls, (etype,))
        for key, value in namespace.items():
            body[key] = value
        usual: Any = enum.EnumType(cls, (etype,), body)
        enum._test_simple_enum(usual, made)  # type: ignore[attr-defined]
        assert made.__mro__[1:] == usual.__mro__[1:]
        assert made.__qualname__ == usual.__qualname__
        # Each member sits in the class as the usual build puts it: itself,
        # a plain attribute read (or the property a base's descriptor needs).
        for member in made.__members__:
            assert isinstance(vars(made)[member], enum.Enum) == isinstance(
                vars(usual)[member], enum.Enum
            )


@pytest.mark.parametrize("name", _MODULES)
def test_each_enum_member_pickles_to_itself(name: str) -> None:
    module = importlib.import_module(name)
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, enum.EnumType) and value.__module__ == name
    ]
    assert classes
    for cls in classes:
        for member in cls:
            assert pickle.loads(pickle.dumps(member)) is member
