"""pybpf.btf's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import subprocess
import sys

import pybpf.btf
import pybpf.btf.ext
from pybpf.asm.exports import export_mismatches


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_import_loads_no_submodule() -> None:
    # marshal is eager (the function shares its submodule's name) and brings the parser.
    loaded = _modules_after("import pybpf.btf")
    heavy = {"pybpf.btf.cdump", "pybpf.btf.codec", "pybpf.btf.corerelo", "pybpf.btf.ext"}
    assert not loaded & heavy


def test_a_name_loads_its_own_module_only() -> None:
    loaded = _modules_after("from pybpf.btf import BTFError")
    assert "pybpf.btf.errors" in loaded
    assert "pybpf.btf.cdump" not in loaded


def test_every_public_name_resolves() -> None:
    for name in pybpf.btf.__all__:
        assert getattr(pybpf.btf, name) is not None, name
    assert set(pybpf.btf.__all__) <= set(dir(pybpf.btf))


def test_unknown_name_is_attribute_error() -> None:
    assert not hasattr(pybpf.btf, "no_such_name")


def test_the_lists_of_public_names_agree() -> None:
    # The lazy exports, the imports type checkers read and __all__ name the
    # same names, each from the module that lists it in its own __all__.
    assert export_mismatches(pybpf.btf, pybpf.btf._EXPORTS) == []


def test_ext_names_load_on_first_use() -> None:
    loaded = _modules_after("from pybpf.btf.ext.records import FuncInfo")
    assert "pybpf.btf.ext.infos" not in loaded
    assert export_mismatches(pybpf.btf.ext, pybpf.btf.ext._EXPORTS) == []
    for name in pybpf.btf.ext.__all__:
        assert getattr(pybpf.btf.ext, name) is not None, name
