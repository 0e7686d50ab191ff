"""BTF figures: loading and querying the kernel's BTF, decoding it whole, marshalling it.

Baseline: libbpf's ``btf__parse`` of the same file, timed in the same run
(``bench/c/btf_parse.c``), two ways, each compared with pybpf measured the same way:

- *fresh process*: the first parse of a new process, median over several
  processes. This is what a tool that reads the kernel's BTF once pays, and
  how the targets of issue #3 were measured (libbpf's 4.6 ms there is a
  one-shot figure).
- *one process*: best of many parses in one process, where C's allocator
  hands back the memory of the previous parse.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pybpf.btf import Spec, load_spec, marshal
from pybpf.btf.corerelo import CORERelocator
from pybpf.btf.corerelo.candidates import _cache as candidate_cache
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import CORERelocKind, load_ext_infos
from pybpf.btf.kernel import load_kernel_spec_uncached
from pybpf.btf.spec import read_file

VMLINUX = Path("/sys/kernel/btf/vmlinux")
ROOT = Path(os.environ.get("PYBPF_ROOT", Path(__file__).resolve().parent.parent))
TESTDATA = ROOT / "testdata"
PROCESSES = 11

# Run in a fresh interpreter; imports and reading the file are not timed.
_FRESH = """
import sys, time
from pybpf.btf import Spec
from pybpf.btf.kernel import load_kernel_spec_uncached
from pybpf.btf.spec import read_file
if sys.argv[1] == "decode":
    spec = Spec.from_bytes(read_file(sys.argv[2]))
    t0 = time.perf_counter()
    for _ in spec:
        pass
else:
    t0 = time.perf_counter()
    load_kernel_spec_uncached().type_by_name("task_struct")
print(time.perf_counter() - t0)
"""


def _fresh(what: str) -> float:
    """Median seconds of ``what`` done once in each of PROCESSES fresh interpreters."""
    return statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", _FRESH, what, str(VMLINUX)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(PROCESSES)
    )


def run(bench) -> None:  # type: ignore[no-untyped-def]
    if not VMLINUX.exists():
        print("  skipped: no /sys/kernel/btf/vmlinux")
        return
    runs = [bench.c_seconds("btf_parse", str(VMLINUX), "30") for _ in range(PROCESSES)]
    first = statistics.median(r["btf__parse(first)"] for r in runs)
    parse = min(r["btf__parse"] for r in runs)
    bench.report(f"libbpf btf__parse(vmlinux), fresh process (median of {PROCESSES})", first)
    bench.report("libbpf btf__parse(vmlinux), one process (best of 30)", parse)

    def load_and_find() -> None:
        load_kernel_spec_uncached().type_by_name("task_struct")

    # What every process but the first of a boot pays: the record index was
    # saved by an earlier load (made here if this is the boot's first).
    load_kernel_spec_uncached()
    bench.report(
        "load_kernel_spec() + type_by_name('task_struct'), fresh process",
        _fresh("find"),
        baseline=first,
        baseline_name="C fresh",
        target="<= 5x",
    )
    bench.report(
        "  the same, one process",
        bench.time(load_and_find, repeat=15),
        baseline=parse,
        target="<= 5x",
    )
    bench.report(
        "  of which load_kernel_spec() alone",
        bench.time(load_kernel_spec_uncached, repeat=15),
        baseline=parse,
    )
    # The first process of a boot computes the index and saves it; with the
    # cache turned off every process computes it and saves nothing.
    saved_setting = os.environ.get("PYBPF_CACHE_DIR")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = itertools.count()

            def first_of_boot() -> None:
                os.environ["PYBPF_CACHE_DIR"] = f"{tmp}/{next(fresh)}"
                load_and_find()

            bench.report(
                "  the same, first process of the boot (index computed, saved)",
                bench.time(first_of_boot, repeat=5),
                baseline=parse,
            )
        os.environ["PYBPF_CACHE_DIR"] = ""
        bench.report(
            "  the same, cache turned off (PYBPF_CACHE_DIR='')",
            bench.time(load_and_find, repeat=7),
            baseline=parse,
        )
    finally:
        if saved_setting is None:
            os.environ.pop("PYBPF_CACHE_DIR", None)
        else:
            os.environ["PYBPF_CACHE_DIR"] = saved_setting

    data = read_file(VMLINUX)

    def decode_all() -> float:
        # Timed by hand so that freeing the previous run's objects is not counted.
        spec = Spec.from_bytes(data)
        start = time.perf_counter()
        for _ in spec:
            pass
        elapsed = time.perf_counter() - start
        del spec
        gc.collect()
        return elapsed

    bench.report(
        "decode every vmlinux type (spec loaded), fresh process",
        _fresh("decode"),
        baseline=first,
        baseline_name="C fresh",
        target="<= 75x",
    )
    bench.report(
        "  the same, one process (best of 5)",
        min(decode_all() for _ in range(5)),
        baseline=parse,
    )

    spec = Spec.from_bytes(data)
    for _ in spec:
        pass
    bench.report(
        "marshal(vmlinux spec), types already decoded",
        bench.time(lambda: marshal(spec), number=1, repeat=3),
        baseline=parse,
    )

    core_candidates(bench)
    ext_infos(bench)


def core_candidates(bench) -> None:  # type: ignore[no-untyped-def]
    """Candidate lookup for every relocation of core-el.o against a freshly loaded kernel spec."""
    data = (TESTDATA / "core-el.o").read_bytes()
    local = load_spec(data)
    relocations = load_ext_infos(section_data(data, ".BTF.ext"), local).core_relocations
    local_ids = {
        local.type_id(r.type)
        for relos in relocations.values()
        for r in relos
        if r.kind != CORERelocKind.TYPE_ID_LOCAL
    }

    def find() -> float:
        kernel = load_kernel_spec_uncached()
        candidate_cache.clear()
        start = time.perf_counter()
        relocator = CORERelocator(local, kernel)
        for local_id in local_ids:
            relocator._find_candidates(local_id)
        return time.perf_counter() - start

    bench.report(
        f"CO-RE candidates of core-el.o ({len(local_ids)} local types) in vmlinux",
        min(find() for _ in range(7)),
    )


def ext_infos(bench) -> None:  # type: ignore[no-untyped-def]
    """``load_ext_infos`` of a 1 MB .BTF.ext: sections.o's records repeated."""
    data = (TESTDATA / "sections-el.o").read_bytes()
    spec = load_spec(data)
    ext = load_ext_infos(section_data(data, ".BTF.ext"), spec)
    copies = 400
    for infos in (ext.func_infos, ext.line_infos, ext.core_relocations):
        for name, records in infos.items():
            infos[name] = [  # type: ignore[assignment]
                dataclasses.replace(r, offset=r.offset + k * 4096)
                for k in range(copies)
                for r in records
            ]
    big = ext.marshal_for(spec)
    bench.report(
        f"load_ext_infos of {len(big) >> 10} KiB .BTF.ext",
        bench.time(lambda: load_ext_infos(big, spec), number=1, repeat=7),
    )
