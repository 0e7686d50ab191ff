"""Prove that each layer's wheel installs and imports on its own.

For every layer, a fresh venv gets that layer's wheel and the wheels of the
layers below it (from ``dist/``, never from an index), plus its third-party
dependencies; then ``pybpf.<layer>`` must import and every layer above it must
be absent. This is what an offline user who installs only ``pybpf-asm`` gets.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

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


def main() -> int:
    dist = Path(sys.argv[1]).resolve()
    results = [check(dist, i) for i in range(len(LAYERS))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
