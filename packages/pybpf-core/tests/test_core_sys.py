"""Both syscall backends: the compiled module and the cffi ABI-mode fallback."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.core import _sys

HERE = Path(__file__).resolve().parent


def test_compiled_module_is_used_when_present() -> None:
    if os.environ.get("PYBPF_SYS") == "abi":
        assert not _sys.COMPILED
    elif importlib.util.find_spec("_pybpf_sys") is None:
        pytest.skip("_pybpf_sys is not built here (no hatch build, or no compiler)")
    else:
        assert _sys.COMPILED


def test_abi_mode_loads_in_a_fresh_interpreter() -> None:
    code = "from pybpf.core import _sys; print(_sys.COMPILED)"
    env = {**os.environ, "PYBPF_SYS": "abi", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("PYBPF_SYS") == "abi", reason="already in ABI mode")
def test_map_suite_passes_in_abi_mode() -> None:
    # The whole map suite again, through the fallback backend.
    env = {**os.environ, "PYBPF_SYS": "abi", "PYTHONPATH": os.pathsep.join(sys.path)}
    tests = [str(HERE / f"test_core_{name}.py") for name in ("map", "map_types", "map_btf")]
    root = HERE.parents[2]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout
