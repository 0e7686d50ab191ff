"""Lazy re-exports for a package's ``__init__`` (PEP 562), shared by pybpf's distributions.

A package lists where each public name lives and imports nothing up front;
the first read of a name imports its module. Every pybpf distribution's
``__init__`` uses it, so that ``import pybpf.elf`` costs milliseconds and a
command imports only what it uses. Public for pybpf's own distributions (it
sits in the lowest layer, which they all depend on); no stability promise.
"""

from __future__ import annotations

import importlib
import sys

# Not typing.TYPE_CHECKING: importing typing costs more than a lazy package's
# whole __init__. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any
else:
    ModuleType = type(sys)  # importing types costs as much as this module

__all__ = ["lazy_exports"]


class _ExportsFirst(ModuleType):
    """A package where a public name beats the same-named submodule that defines it.

    ``pybpf.link.kprobe`` is a function defined in the module
    ``pybpf.link.kprobe``: importing that module makes the import system set
    the package attribute to the module, which would hide the function.
    """

    _shadowing: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: object) -> None:
        if (
            name in self._shadowing
            and isinstance(value, ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any], names: list[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps each public name to the module that defines it,
    ``namespace`` is the package's ``globals()`` (a name, once imported, is
    cached there so that later reads are plain attribute reads) and ``names``
    its ``__all__``. A submodule read as an attribute (``pybpf.x.sub``) before
    anyone imported it is imported too; anything else is an AttributeError.
    A public name that is also the name of the submodule defining it stays
    the public name, however the submodule gets imported.
    """
    shadowing = frozenset(n for n, m in exports.items() if m == f"{package}.{n}")
    if shadowing:
        module_object = sys.modules[package]
        module_object.__class__ = _ExportsFirst
        module_object._shadowing = shadowing  # type: ignore[attr-defined]

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
