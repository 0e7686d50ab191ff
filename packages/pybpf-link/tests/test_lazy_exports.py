"""pybpf.link's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import subprocess
import sys

import pybpf.link
from pybpf.asm.exports import export_mismatches


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_import_loads_no_submodule() -> None:
    loaded = _modules_after("import pybpf.link")
    assert {name for name in loaded if name.startswith("pybpf.link.")} <= set()


def test_a_name_loads_its_own_module_only() -> None:
    loaded = _modules_after("from pybpf.link import resolve_binary_path")
    assert "pybpf.link.paths" in loaded
    assert "pybpf.link.usdt" not in loaded


def test_every_public_name_resolves() -> None:
    for name in pybpf.link.__all__:
        assert getattr(pybpf.link, name) is not None, name
    assert set(pybpf.link.__all__) <= set(dir(pybpf.link))


def test_unknown_name_is_attribute_error() -> None:
    assert not hasattr(pybpf.link, "no_such_name")


def test_a_function_named_like_its_module_stays_the_function() -> None:
    # The module pybpf.link.tracepoint (imported first, as opening a link may do)
    # must not hide the function tracepoint it defines.
    code = (
        "import pybpf.link.tracepoint\nfrom pybpf.link import tracepoint\n"
        "print(type(tracepoint).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "function"


def test_functions_named_like_their_module_stay_functions() -> None:
    # Loading pybpf.link.tracing (by any import) must not hide the function tracing().
    code = (
        "import pybpf.link.tracing, pybpf.link.iter, pybpf.link.struct_ops, pybpf.link.tracepoint\n"
        "from pybpf.link import iter, raw_tracepoint, struct_ops, tracepoint, tracing\n"
        "print(*(type(f).__name__ for f in (iter, struct_ops, tracepoint, tracing)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["function"] * 4


def test_the_lists_of_public_names_agree() -> None:
    # The lazy exports, the imports type checkers read and __all__ name the
    # same names, each from the module that lists it in its own __all__.
    assert export_mismatches(pybpf.link, pybpf.link._EXPORTS) == []
