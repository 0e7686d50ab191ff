"""How pybpf's distributions find their code: lazy re-exports and compiled modules.

A package lists where each public name lives and imports nothing up front;
the first read of a name imports its module (PEP 562). Every pybpf
distribution's ``__init__`` uses it, so that ``import pybpf.elf`` costs
milliseconds and a command imports only what it uses. A module does the same
for one value of its own that costs an import to make (:func:`lazy_value`).

pybpf-core's wheel carries compiled modules that lower layers use when they
are installed (the asm codec, the BTF record scan, the C header dump): a lower
layer may not import pybpf.core, so it looks them up by name and checks the
version of their contract (:func:`compiled_module`).

Public for pybpf's own distributions (it sits in the lowest layer, which they
all depend on); no stability promise.
"""

from __future__ import annotations

import sys
import types

# Not typing.TYPE_CHECKING: importing typing costs more than a lazy package's
# whole __init__. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import ModuleType
    from typing import Any

__all__ = ["compiled_module", "export_mismatches", "lazy_exports", "lazy_value"]


def _import(name: str) -> ModuleType:
    """The module ``name`` (absolute), imported if need be.

    What ``importlib.import_module`` does for an absolute name, without
    importing ``importlib`` (and the ``warnings`` it imports): a load needs
    neither otherwise.
    """
    __import__(name)
    return sys.modules[name]


#: The module of each lazily exported name, by package.
_EXPORTED: dict[str, dict[str, str]] = {}


class _Package(types.ModuleType):
    """A package with lazy exports: importing a submodule named as an export binds nothing.

    One class for every such package (a class costs tens of microseconds to
    make); each finds its exports by its name.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if (
            isinstance(value, types.ModuleType)
            and name in _EXPORTED.get(self.__name__, ())
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


def lazy_exports(
    package: str,
    exports: Mapping[str, Sequence[str]],
    namespace: dict[str, Any],
    names: list[str],
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps each module to the public names the package takes from
    it, ``namespace`` is the package's ``globals()`` (a name, once imported, is
    cached there so that later reads are plain attribute reads) and ``names``
    its ``__all__``. A submodule read as an attribute (``pybpf.x.sub``) before
    anyone imported it is imported too (a package's: a plain module, such as
    ``pybpf.core.sys``, has none); anything else is an AttributeError.

    A public name may be also the name of a submodule (``pybpf.link.xdp``,
    the function, lives in the module ``pybpf.link.xdp``): importing the
    submodule binds it on the package, which would hide the function, so
    the package refuses that binding and the name stays the function's.
    """
    where = _EXPORTED[package] = {
        name: module for module, defined in exports.items() for name in defined
    }
    sys.modules[package].__class__ = _Package

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None and "__path__" not in namespace:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module is None:
            try:
                return _import(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(_import(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


def lazy_value(
    namespace: dict[str, Any], name: str, make: Callable[[], object]
) -> Callable[[str], object]:
    """A module ``__getattr__`` that makes ``name`` with ``make()`` when first read.

    For a module-level value whose making costs an import the module's other
    readers never need (a typing alias needs ``typing``): ``namespace`` is the
    module's ``globals()``, where the value is cached on the first read, so
    every later read (and every re-export) gets the same object from a plain
    attribute read. Any other missing name is an AttributeError. Type checkers
    must see ``name`` declared, so a module assigns this in the ``else``
    branch of its ``TYPE_CHECKING`` guard::

        if TYPE_CHECKING:
            Alias: TypeAlias = ...
        else:
            __getattr__ = lazy_value(globals(), "Alias", _make_alias)
    """
    module = namespace["__name__"]

    def __getattr__(attribute: str) -> object:
        if attribute != name:
            raise AttributeError(f"module {module!r} has no attribute {attribute!r}")
        value = namespace[name] = make()
        return value

    return __getattr__


def compiled_module(name: str, version: int) -> ModuleType | None:
    """The compiled module ``name`` if it is installed and its ``VERSION`` is ``version``.

    None otherwise: the caller's pure-Python code is then the one used, as in
    an offline install. Callers cache the answer and keep their own switch
    (an environment variable) that turns the module off.
    """
    try:
        module = _import(name)
    except ImportError:
        return None
    return module if getattr(module, "VERSION", None) == version else None


def export_mismatches(package: ModuleType, exports: Mapping[str, Sequence[str]]) -> list[str]:
    """Where a package's views of its public names disagree; empty when they all agree.

    A lazy package states its names three times, for three readers: ``exports``
    (the imports at run time), the imports under ``TYPE_CHECKING`` (type
    checkers) and ``__all__`` (``import *``, the API reference). For each
    package's tests: the static imports are read from its source, and every
    name must be one its module lists in its own ``__all__``.
    """
    # Imported here: only tests call this, and a package import must not pay for them.
    import ast  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text())
    checked: dict[str, set[str]] = {}
    eager: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for sub in node.body:
                if isinstance(sub, ast.ImportFrom) and sub.module:
                    checked.setdefault(sub.module, set()).update(a.name for a in sub.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            eager.update(a.asname or a.name for a in node.names)
    problems: list[str] = []
    lazy = {module: set(names) for module, names in exports.items()}
    if checked != lazy:
        problems.append(f"TYPE_CHECKING imports {checked} differ from the lazy exports {lazy}")
    listed = set(package.__all__)
    wanted = {name for names in lazy.values() for name in names} | (eager & listed)
    if listed != wanted:
        problems.append(
            f"__all__ lacks {sorted(wanted - listed)}, has {sorted(listed - wanted)} too"
        )
    for module, names in lazy.items():
        own = set(getattr(_import(module), "__all__", names))
        if names - own:
            problems.append(f"{module} does not list {sorted(names - own)} in its __all__")
    return problems
