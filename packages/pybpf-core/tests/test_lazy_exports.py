"""pybpf.core imports its public names lazily, and its lists of them agree."""

from __future__ import annotations

import subprocess
import sys

import pybpf.core
from pybpf.asm.exports import export_mismatches


def test_the_lists_of_public_names_agree() -> None:
    assert export_mismatches(pybpf.core, pybpf.core._EXPORTS) == []


def test_import_loads_no_submodule() -> None:
    code = (
        "import sys, pybpf.core\n"
        "print(sorted(m for m in sys.modules if m.startswith('pybpf.core.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_names_resolve() -> None:
    for name in pybpf.core.__all__:
        assert getattr(pybpf.core, name) is not None, name
