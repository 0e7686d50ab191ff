"""Run inside a row's kernel (or on the host): a bpf(2) smoke test, then every distribution's tests.

    python -m kernels.guest_tests --results DIR [pytest args...]

Exits non-zero if the smoke test or any test failed. One pytest process runs
every distribution's tests, because starting Python is 20-25 times slower
under emulation; the junit report is split per distribution afterwards.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
LAYERS = ("asm", "btf", "elf", "core", "link")
JUNIT_NAME = "pytest.xml"
GUEST_NAME = "guest.json"
# pytest's "no tests were collected": a distribution may have none yet.
PYTEST_NO_TESTS = 5

_NR_BPF_X86_64 = 321
_BPF_MAP_CREATE = 0
_BPF_MAP_TYPE_ARRAY = 2


def bpf_smoke() -> str | None:
    """Create and close a one-element array map; None when that works, else why not."""
    libc = ctypes.CDLL(None, use_errno=True)
    # union bpf_attr for BPF_MAP_CREATE begins with map_type, key_size,
    # value_size and max_entries (all __u32); the rest stays zero.
    attr = (ctypes.c_uint32 * 32)(_BPF_MAP_TYPE_ARRAY, 4, 8, 1)
    fd = libc.syscall(_NR_BPF_X86_64, _BPF_MAP_CREATE, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        return f"BPF_MAP_CREATE failed: {os.strerror(ctypes.get_errno())}"
    os.close(fd)
    return None


def main(argv: list[str] | None = None) -> int:
    """Command line: smoke test, then pytest over every distribution."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="folder for the reports")
    args, pytest_args = parser.parse_known_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    release = platform.release()
    print(f"guest: kernel {release}, python {platform.python_version()}", flush=True)
    smoke = bpf_smoke()
    print(f"guest: bpf smoke test: {smoke or 'map created and closed'}", flush=True)
    # A distribution without tests yet has no tests/ folder in a clone (git keeps no
    # empty folders); pytest would refuse the whole run for one missing path.
    folders = [CHECKOUT / "packages" / f"pybpf-{layer}" / "tests" for layer in LAYERS]
    targets = [str(f) for f in folders if f.is_dir()]
    command = [
        sys.executable, "-m", "pytest", *targets,
        f"--junitxml={args.results / JUNIT_NAME}",
        # xunit1 records each test's file, which names its distribution.
        "-o", "junit_family=xunit1",
        # The checkout is shared: leave no cache behind for the other rows to trip on.
        "-p", "no:cacheprovider",
        *pytest_args,
    ]  # fmt: skip
    start = time.monotonic()
    rc = subprocess.run(command, cwd=CHECKOUT, check=False).returncode
    elapsed = time.monotonic() - start
    ok = smoke is None and rc in (0, PYTEST_NO_TESTS)
    (args.results / GUEST_NAME).write_text(
        json.dumps(
            {"release": release, "smoke": smoke, "pytest_exit": rc, "pytest_seconds": elapsed},
            indent=2,
        )
        + "\n"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
