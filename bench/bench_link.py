"""pybpf.link offline: resolving a libc function in a fresh process.

Target: symbol resolution of libc in <= 20 ms in a fresh process (issue #13).
Each sample is a new interpreter, so nothing is cached: it reads libc, its
section table, .dynsym and the GNU versions, then finds ``malloc``. Importing
``pybpf.link`` is reported on its own row: it loads ``pybpf.elf``, whose
package imports the whole object reader and BTF layer.
"""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import time
t0 = time.perf_counter()
from pybpf.link import Executable
t1 = time.perf_counter()
Executable("libc.so.6").symbol_offset("malloc")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _fresh(samples: int) -> tuple[float, float]:
    imports, resolves = [], []
    for _ in range(samples):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True
        ).stdout
        a, b = (float(x) for x in out.split())
        imports.append(a)
        resolves.append(b)
    return min(imports), min(resolves)


def run(bench) -> None:  # type: ignore[no-untyped-def]
    imported, resolved = _fresh(7)
    bench.report(
        "Executable('libc.so.6').symbol_offset('malloc'), fresh process",
        resolved,
        target="target <= 20 ms",
    )
    bench.report("  import pybpf.link, fresh process", imported)
