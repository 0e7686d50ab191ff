"""pybpf.link: resolving a libc function in a fresh process; attaching uprobes.

Target: symbol resolution of libc in <= 20 ms in a fresh process (issue #13).
Attaching and detaching a uprobe, and an uprobe_multi link on 100 libc
functions, are compared with C (libbpf; a raw bpf(2) call for uprobe_multi,
which libbpf 1.1.2 lacks); they need root and a kernel with uprobes.
Each sample is a new interpreter, so nothing is cached: it reads libc, its
section table, .dynsym and the GNU versions, then finds ``malloc``; the row is
the median over the bench's rounds. Importing ``pybpf.link`` is on its own row
(and, as a whole process, in bench_startup).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import TYPE_CHECKING

from run import ROOT, Bench

from pybpf.elf.binary import STT_FUNC

if TYPE_CHECKING:
    from pybpf.link import Executable

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
    if os.geteuid() == 0:
        _attach(bench)


# --- attaching: uprobes on libc, against libbpf in C (bench/c/link_uprobe.c) ---

_OBJECT = "testdata/link_uprobe-el.o"
_MULTI_COUNT = 100


def _libc_offsets(libc: Executable, count: int) -> list[int]:
    """``count`` distinct function offsets of libc's .dynsym, in table order."""
    seen: list[int] = []
    for sym in libc.binary.dynamic_symbols:
        offset = sym.file_offset
        if sym.type == STT_FUNC and sym.defined and offset and offset not in seen:
            seen.append(offset)
            if len(seen) == count:
                break
    return seen


def _attach(bench: Bench) -> None:
    """One uprobe, and uprobe_multi on 100 libc functions: attach + detach, this process only."""
    from pybpf.core import Collection, NotSupportedError  # noqa: PLC0415 (timed rows first)
    from pybpf.elf import load_collection_spec  # noqa: PLC0415
    from pybpf.link import Executable, have_uprobe_multi  # noqa: PLC0415

    libc = Executable("libc.so.6", pid=os.getpid())
    offsets = _libc_offsets(libc, _MULTI_COUNT)
    spec = load_collection_spec(ROOT / _OBJECT)
    try:
        have_uprobe_multi()
        multi = True
    except NotSupportedError:
        multi = False
    for name, prog in spec.programs.items():
        prog.autoload = name == "on_entry" or (multi and name == "multi_entry")
    c_args = [str(ROOT / _OBJECT), libc.path, "1", *(hex(o) for o in offsets)]
    pid = os.getpid()
    with Collection(spec) as coll:
        single = coll.programs["on_entry"]
        bench.compare(
            "Executable.uprobe + close (libc getpid offset, one pid)",
            bench.in_process(
                lambda: libc.uprobe(single, offset=offsets[0], pid=pid).close(), number=5
            ),
            bench.c_figure("link_uprobe", "uprobe", *c_args),
            baseline_name="C libbpf",
        )
        if multi:
            prog = coll.programs["multi_entry"]
            bench.compare(
                f"Executable.uprobe_multi on {_MULTI_COUNT} libc functions + close",
                bench.in_process(
                    lambda: libc.uprobe_multi(prog, offsets=offsets, pid=pid).close(), number=5
                ),
                bench.c_figure("link_uprobe", "uprobe_multi", *c_args),
                baseline_name="C bpf(2) (libbpf 1.1.2 has no uprobe_multi)",
            )
