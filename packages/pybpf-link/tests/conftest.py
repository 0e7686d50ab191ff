"""Native binaries for the offline tests, built once per session with the host's compiler."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Under --import-mode=importlib no test directory is on sys.path: the tests'
# helper modules (netns_util) import by name from here.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def native(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``target`` (a PIE) and ``libtarget.so`` from native/targets.c."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the native targets")
    out = tmp_path_factory.mktemp("native")
    src = HERE / "native" / "targets.c"
    objs = []
    for name, defines in (("a.o", []), ("b.o", ["-DSECOND"])):
        obj = out / name
        subprocess.run([cc, "-O1", "-fPIC", *defines, "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    subprocess.run([cc, "-pie", *objs, "-o", str(out / "target")], check=True)
    subprocess.run([cc, "-shared", *objs, "-o", str(out / "libtarget.so")], check=True)
    return out
