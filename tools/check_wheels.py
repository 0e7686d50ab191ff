"""Prove that each layer's wheel installs and imports on its own, and check its sdist.

For every layer, a fresh venv gets that layer's wheel and the wheels of the
layers below it (from ``dist/``, never from an index), plus its third-party
dependencies; then ``pybpf.<layer>`` must import and every layer above it must
be absent. This is what an offline user who installs only ``pybpf-asm`` gets.

Each sdist must hold the layer's whole source (every file under
``src/pybpf/<layer>`` in the checkout, ``py.typed`` included), its
``pyproject.toml`` and README, and no tests: the tests run from the
repository only, as they need its root ``conftest.py``, the shared
``testdata/`` objects (and the clang toolchain that rebuilds them), ``docs/``
and ``tools/``, none of which one distribution can carry.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = ["asm", "btf", "elf", "core", "link"]
# Run-time dependencies only: pyelftools is a test-time cross-check of the ELF
# readers, and installing it here would hide a wheel that still imported it.
THIRD_PARTY = {"core": ["cffi>=1.16"]}


def check(dist: Path, index: int) -> bool:
    layer = LAYERS[index]
    wheels = sorted(dist.glob(f"pybpf_{layer}-*.whl"))
    if not wheels:
        print(f"check_wheels: no wheel for pybpf-{layer} in {dist}")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        python = str(Path(tmp) / "bin" / "python")
        pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        extra = [dep for below in LAYERS[: index + 1] for dep in THIRD_PARTY.get(below, [])]
        if extra:
            subprocess.run([*pip, *extra], check=True)
        subprocess.run(
            [*pip, "--no-index", "--find-links", str(dist), f"pybpf-{layer}"], check=True
        )
        probe = (
            "import importlib.util, sys\n"
            f"import pybpf.{layer}\n"
            f"above = [m for m in {LAYERS[index + 1 :]!r} "
            "if importlib.util.find_spec('pybpf.' + m) is not None]\n"
            "sys.exit(f'layers above leaked in: {above}' if above else 0)\n"
        )
        result = subprocess.run([python, "-c", probe], check=False, capture_output=True, text=True)
        ok = result.returncode == 0
        print(f"check_wheels: pybpf-{layer}: {'ok' if ok else 'FAILED'} {result.stderr.strip()}")
        return ok


def sdist_problems(sdist: Path, layer: str, source: Path) -> list[str]:
    """What is wrong with one layer's sdist: files missing, tests present."""
    with tarfile.open(sdist) as tar:
        # Every member sits under one "<name>-<version>/" directory.
        files = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
    package = source / "src" / "pybpf" / layer
    wanted = {"pyproject.toml", "README.md", "PKG-INFO"} | {
        str(f.relative_to(source))
        for f in package.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".so", ".pyc")
    }
    problems = [f"missing {name}" for name in sorted(wanted - files)]
    test_files = [
        name
        for name in files
        if name.startswith(("tests/", "testdata/")) or name.endswith("conftest.py")
    ]
    if test_files:
        problems.append(
            f"carries {len(test_files)} test files ({min(test_files)}, ...), "
            "which run only from the repository"
        )
    if "src/pybpf/__init__.py" in files:
        problems.append("ships pybpf/__init__.py: pybpf is a namespace package")
    return problems


def check_sdist(dist: Path, layer: str) -> bool:
    """The layer's sdist holds its whole source and no tests."""
    sdists = sorted(dist.glob(f"pybpf_{layer}-*.tar.gz"))
    if not sdists:
        print(f"check_wheels: no sdist for pybpf-{layer} in {dist}")
        return False
    problems = sdist_problems(sdists[-1], layer, ROOT / "packages" / f"pybpf-{layer}")
    status = "ok" if not problems else "FAILED " + "; ".join(problems)
    print(f"check_wheels: pybpf-{layer} sdist: {status}")
    return not problems


def main() -> int:
    dist = Path(sys.argv[1]).resolve()
    results = [check_sdist(dist, layer) for layer in LAYERS]
    results += [check(dist, i) for i in range(len(LAYERS))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
