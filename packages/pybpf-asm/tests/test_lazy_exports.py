"""pybpf.asm's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import subprocess
import sys

import pybpf.asm


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


def test_every_public_name_resolves() -> None:
    for name in pybpf.asm.__all__:
        assert getattr(pybpf.asm, name) is not None, name
    assert set(pybpf.asm.__all__) <= set(dir(pybpf.asm))


def test_unknown_name_is_attribute_error() -> None:
    assert not hasattr(pybpf.asm, "no_such_name")
