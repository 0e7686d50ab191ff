"""pybpf.asm's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import pybpf.asm
from pybpf.asm.exports import compiled_module, export_mismatches, lazy_value


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_import_loads_no_submodule() -> None:
    loaded = _modules_after("import pybpf.asm")
    # pybpf.asm.exports is the lazy machinery itself.
    assert {name for name in loaded if name.startswith("pybpf.asm.")} <= {"pybpf.asm.exports"}


def test_a_name_loads_its_own_module_only() -> None:
    loaded = _modules_after("from pybpf.asm import Helper")
    assert "pybpf.asm._uapi" in loaded
    assert "pybpf.asm.builder" not in loaded


def test_byte_order_costs_no_instruction_set() -> None:
    # Every layer annotates with pybpf.asm.ByteOrder; the BTF parser must not
    # pay for the instruction set's import to get it.
    loaded = _modules_after("from pybpf.asm import ByteOrder")
    assert {name for name in loaded if name.startswith("pybpf.asm.")} <= {
        "pybpf.asm.exports",
        "pybpf.asm.byteorder",
    }


def test_decoding_needs_neither_the_builder_nor_hashlib() -> None:
    # Every load decodes its programs; only a tag needs hashlib, and only
    # programs built in Python need the builder's markers.
    loaded = _modules_after(
        "from pybpf.asm import decode\n"
        "decode(bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])).copy()"
    )
    assert not {"hashlib", "_hashlib", "pybpf.asm.builder"} & loaded


def test_markers_and_tags_load_what_they_need() -> None:
    loaded = _modules_after(
        "from pybpf.asm import Instructions, exit, label, mov\n"
        "Instructions([label('start'), mov(0, 0), exit()]).tag()"
    )
    assert {"hashlib", "pybpf.asm.builder"} <= loaded


def test_every_public_name_resolves() -> None:
    for name in pybpf.asm.__all__:
        assert getattr(pybpf.asm, name) is not None, name
    assert set(pybpf.asm.__all__) <= set(dir(pybpf.asm))


def test_unknown_name_is_attribute_error() -> None:
    assert not hasattr(pybpf.asm, "no_such_name")


def test_a_function_named_like_its_module_wins(tmp_path: Path) -> None:
    # pybpf.link.kprobe is both a module and the function it defines: the
    # package must give the function, whichever import loaded the module.
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from pybpf.asm.exports import lazy_exports\n"
        "_EXPORTS = {'lazypkg.probe': ('ProbeLink', 'probe')}\n"
        "__all__ = ['ProbeLink', 'probe']\n"
        "__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)\n"
    )
    (pkg / "probe.py").write_text("class ProbeLink: pass\ndef probe(): return 42\n")
    for statement in (
        "from lazypkg import ProbeLink, probe; assert probe() == 42",
        "import lazypkg.probe; from lazypkg import probe; assert probe() == 42",
        "import lazypkg; lazypkg.ProbeLink; assert lazypkg.probe() == 42",
    ):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
        subprocess.run([sys.executable, "-c", statement], check=True, env=env)


def test_a_lazy_value_is_made_once_on_first_read() -> None:
    module = types.ModuleType("lazy_value_demo")
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    module.__getattr__ = lazy_value(vars(module), "Alias", make)  # type: ignore[attr-defined]
    assert made == []
    first = module.Alias  # type: ignore[attr-defined]
    assert first is made[0]
    # Later reads are plain attribute reads of the cached value.
    assert module.Alias is first  # type: ignore[attr-defined]
    assert vars(module)["Alias"] is first
    assert len(made) == 1
    with pytest.raises(AttributeError, match="'lazy_value_demo' has no attribute 'Other'"):
        module.Other  # type: ignore[attr-defined]  # noqa: B018


def test_the_byte_order_alias_costs_no_typing_until_read() -> None:
    assert "typing" not in _modules_after("import pybpf.asm.byteorder")
    loaded = _modules_after(
        "from pybpf.asm.byteorder import ByteOrder\n"
        "from pybpf.asm import ByteOrder as again\n"
        "import typing\n"
        "assert again is ByteOrder == typing.Literal['little', 'big']"
    )
    assert "typing" in loaded


def test_the_lists_of_public_names_agree() -> None:
    # The lazy exports, the imports type checkers read and __all__ name the
    # same names, each from the module that lists it in its own __all__.
    assert export_mismatches(pybpf.asm, pybpf.asm._EXPORTS) == []


def test_mismatches_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "pkg_exports_demo"
    package.mkdir()
    (package / "things.py").write_text('__all__ = ["a", "b"]\na = b = c = 1\n')
    (package / "__init__.py").write_text(
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n"
        "    from pkg_exports_demo.things import a, b\n"
        '__all__ = ["a", "b"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("pkg_exports_demo")
    problems = export_mismatches(module, {"pkg_exports_demo.things": ("a", "c")})
    assert len(problems) == 3
    assert "differ from the lazy exports" in problems[0]
    assert "__all__ lacks ['c'], has ['b'] too" in problems[1]
    assert "does not list ['c']" in problems[2]


def test_compiled_module_is_found_by_name_and_contract_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = types.ModuleType("_pybpf_test_compiled")
    module.VERSION = 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_pybpf_test_compiled", module)
    assert compiled_module("_pybpf_test_compiled", 3) is module
    # Another contract version, or no version at all, is as good as absent.
    assert compiled_module("_pybpf_test_compiled", 2) is None
    del module.VERSION  # type: ignore[attr-defined]
    assert compiled_module("_pybpf_test_compiled", 3) is None
    assert compiled_module("_pybpf_no_such_compiled_module", 1) is None
