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
    from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any], names: list[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps each public name to the module that defines it,
    ``namespace`` is the package's ``globals()`` (a name, once imported, is
    cached there so that later reads are plain attribute reads) and ``names``
    its ``__all__``. A submodule read as an attribute (``pybpf.x.sub``) before
    anyone imported it is imported too; anything else is an AttributeError.

    A public name that its module shares (``pybpf.link.cgroup``, the function
    in ``pybpf/link/cgroup.py``) stays the name: the import system's binding
    of the submodule on the package is turned into the name's value.
    """
    _keep_names_over_submodules(package, exports)

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


def _keep_names_over_submodules(package: str, exports: Mapping[str, str]) -> None:
    """Make ``package`` keep an exported name when its same-named submodule is imported.

    Importing ``package.name`` sets the attribute ``name`` of ``package`` to
    the submodule, which would hide the exported ``name`` defined in it.
    """
    module = sys.modules.get(package)
    module_type = type(sys)
    if module is None or type(module) is not module_type:
        return
    shared = {name for name, where in exports.items() if where == f"{package}.{name}"}
    if not shared:
        return

    class _Package(module_type):  # type: ignore[misc,valid-type]
        def __setattr__(self, name: str, value: object) -> None:
            if name in shared and isinstance(value, module_type):
                value = getattr(value, name)
            super().__setattr__(name, value)

    module.__class__ = _Package
