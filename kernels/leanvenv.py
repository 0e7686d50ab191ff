"""Make (or reuse) the lean venv every row runs its tests with.

    python -m kernels.leanvenv VENV --editable PKG_DIR ... -- REQUIREMENT ...

One venv for every row, inside the checkout: the guest sees the checkout at
the same path and the host's Python read-only, so the venv made here runs
unchanged in every kernel. Plugins double pytest's start-up under emulation,
so it holds only the layers and the test requirements it is given. It is
rebuilt when those, a layer's pyproject.toml or build scripts, or the Python change.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

STAMP = "pybpf-lean.stamp"


def _fingerprint(editables: list[Path], requirements: list[str]) -> str:
    h = hashlib.sha256()
    h.update(sys.version.encode())
    h.update(str(Path(sys.executable).resolve()).encode())
    for pkg in editables:
        h.update(str(pkg).encode())
        # An editable install follows .py edits by itself; what it does not follow
        # is what was built at install time: the metadata, by this project's
        # naming the build hooks and the builders of compiled modules
        # (*build*.py), and the C sources and headers those compile.
        inputs = [pkg / "pyproject.toml"]
        inputs += sorted(
            p
            for p in pkg.rglob("*")
            if (p.match("*build*.py") or p.suffix in (".c", ".h")) and "tests" not in p.parts
        )
        for path in inputs:
            h.update(str(path.relative_to(pkg)).encode() + b"\0")
            h.update(path.read_bytes())
    for req in requirements:
        h.update(req.encode() + b"\0")
    return h.hexdigest()


def ensure(venv: Path, editables: list[Path], requirements: list[str]) -> Path:
    """The venv's python, after (re)building the venv if it is stale."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Two runs in one checkout must not rebuild the venv under each other.
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_locked(venv, editables, requirements)


def _ensure_locked(venv: Path, editables: list[Path], requirements: list[str]) -> Path:
    python = venv / "bin" / "python"
    fingerprint = _fingerprint(editables, requirements)
    stamp = venv / STAMP
    if python.exists() and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        print(f"leanvenv: reusing {venv}", flush=True)
        return python
    print(f"leanvenv: building {venv}", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    # The guest must find the same interpreter at the same path: no copies, no shims.
    base = Path(sys.executable).resolve()
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    args = [a for pkg in editables for a in ("-e", str(pkg))]
    subprocess.run([*pip, *args, *requirements], check=True)
    stamp.write_text(fingerprint + "\n")
    return python


def main(argv: list[str] | None = None) -> int:
    """Command line: build or reuse the venv, print its python."""
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("venv", type=Path)
    parser.add_argument("--editable", type=Path, action="append", default=[])
    args = parser.parse_args(argv[:split])
    python = ensure(args.venv.absolute(), [p.resolve() for p in args.editable], argv[split + 1 :])
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
