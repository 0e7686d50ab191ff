"""pybpf.link offline: resolving a libc function in a fresh process.

Target: symbol resolution of libc in <= 20 ms in a fresh process (issue #13).
Each sample is a new interpreter, so nothing is cached: it reads libc, its
section table, .dynsym and the GNU versions, then finds ``malloc``; the row is
the median over the bench's rounds. Importing ``pybpf.link`` is on its own row
(and, as a whole process, in bench_startup).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from run import Bench

_PROBE = """
import time
t0 = time.perf_counter()
from pybpf.link import Executable
t1 = time.perf_counter()
Executable("libc.so.6").symbol_offset("malloc")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _probe() -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True
    ).stdout
    imported, resolved = (float(x) for x in out.split())
    return imported, resolved


def run(bench: Bench) -> None:
    """Resolve malloc in libc from a fresh interpreter, ``bench.rounds`` times."""
    samples = [_probe() for _ in range(bench.rounds)]
    bench.report(
        "Executable('libc.so.6').symbol_offset('malloc'), fresh process",
        statistics.median(resolved for _, resolved in samples),
        kind="fresh process",
        note="target <= 20 ms; imports not timed",
    )
    bench.report(
        "  import pybpf.link + Executable, timed inside a fresh process",
        statistics.median(imported for imported, _ in samples),
        kind="fresh process",
    )
