"""pybpf.asm's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
        "_EXPORTS = {'probe': 'lazypkg.probe', 'ProbeLink': 'lazypkg.probe'}\n"
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
