"""The examples in the sources' docstrings run: the API reference shows them.

Each module of every distribution is searched for ``>>>`` examples, which run
as doctests from the repository's root (their paths are relative to it).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["asm", "btf", "elf", "core", "link"]


def modules() -> list[str]:
    """The dotted names of every module of every distribution's package."""
    names: list[str] = []
    for layer in LAYERS:
        package = importlib.import_module(f"pybpf.{layer}")
        names.append(package.__name__)
        prefix = package.__name__ + "."
        found = pkgutil.walk_packages(package.__path__, prefix)
        # A __main__ module runs its command line when imported.
        names += [m.name for m in found if not m.name.endswith(".__main__")]
    return names


def examples(module: ModuleType) -> list[doctest.DocTest]:
    """The module's docstring examples (its own objects only, not imported ones)."""
    tests = doctest.DocTestFinder(exclude_empty=True).find(module)
    return [t for t in tests if t.examples]


WITH_EXAMPLES = [m for m in modules() if examples(importlib.import_module(m))]


def test_examples_are_found() -> None:
    """The search does find examples (a package rename would hide them)."""
    assert "pybpf.link.usdt" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``>>>`` example of the module's docstrings gives the output shown."""
    tests = examples(importlib.import_module(name))
    monkeypatch.chdir(ROOT)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} examples of {name} failed (see above)"
