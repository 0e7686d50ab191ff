"""BTF figures: loading and querying the kernel's BTF, decoding it whole, marshalling it.

Baseline: libbpf's ``btf__parse`` of the same file (``bench/c/btf_parse.c``),
one C run per pair, two ways, each compared with pybpf measured the same way:

- *first in a process*: the first parse of a new process (imports not timed).
  This is what a tool that reads the kernel's BTF once pays, and how the
  targets of issue #3 were measured (libbpf's 4.6 ms there is a one-shot
  figure). Whole processes, imports included, are in bench_startup.
- *again in one process*: repeated parses in one process, where C's allocator
  hands back the memory of the previous parse (C's best of 5 per sample).

The *cold* rows are what a process pays when no earlier process of the boot
saved the kernel BTF's record index (the first of a boot, which saves it, or
any process where ``/run`` is read-only): fresh processes against the first
``btf__parse`` + ``btf__find_by_name_kind`` of a C process. pybpf-core's
compiled record scan does the walk where it is installed; the row with
``PYBPF_BTF_SCAN=python`` is what an offline install (no pybpf-core) pays.
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
from collections.abc import Callable
from pathlib import Path

from run import Bench

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


def _fresh(what: str, env: Callable[[], dict[str, str]] | None = None) -> Callable[[], float]:
    """Seconds of ``what`` done once in a fresh interpreter, one process per sample.

    ``env``, when given, makes the variables each sample's process adds to ours.
    """

    def sample() -> float:
        out = subprocess.run(
            [sys.executable, "-c", _FRESH, what, str(VMLINUX)],
            check=True,
            capture_output=True,
            text=True,
            env=None if env is None else os.environ | env(),
        ).stdout
        return float(out)

    return sample


def cold(bench: Bench) -> None:
    """Fresh processes that find no saved record index: the first of a boot, a read-only /run."""
    c_find = bench.c_figure("btf_parse", "btf__parse+find(first)", str(VMLINUX), "1")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = itertools.count()
        bench.compare(
            "  the same, cold: first process of the boot (index saved)",
            _fresh("find", lambda: {"PYBPF_CACHE_DIR": f"{tmp}/{next(fresh)}"}),
            c_find,
            baseline_name="C btf__parse+find, first",
            target=10.0,
        )
    bench.compare(
        "  the same, cold: cache turned off (read-only /run)",
        _fresh("find", lambda: {"PYBPF_CACHE_DIR": ""}),
        c_find,
        baseline_name="C btf__parse+find, first",
        target=10.0,
    )
    # What an offline install (no pybpf-core) pays, as every install did before the compiled scan.
    python = {"PYBPF_BTF_SCAN": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = itertools.count()
        bench.compare(
            "  the same, cold: first of the boot, Python scan",
            _fresh("find", lambda: python | {"PYBPF_CACHE_DIR": f"{tmp}/{next(fresh)}"}),
            c_find,
            baseline_name="C btf__parse+find, first",
        )
    bench.compare(
        "  the same, cold: cache turned off, Python scan",
        _fresh("find", lambda: python | {"PYBPF_CACHE_DIR": ""}),
        c_find,
        baseline_name="C btf__parse+find, first",
    )


def run(bench: Bench) -> None:
    """Kernel BTF load and lookup, whole decode and marshal, each paired with libbpf."""
    if not VMLINUX.exists():
        print("  skipped: no /sys/kernel/btf/vmlinux")
        return
    c_first = bench.c_figure("btf_parse", "btf__parse(first)", str(VMLINUX), "1")
    c_parse = bench.c_figure("btf_parse", "btf__parse", str(VMLINUX), "5")

    def load_and_find() -> None:
        load_kernel_spec_uncached().type_by_name("task_struct")

    # What every process but the first of a boot pays: the record index was
    # saved by an earlier load (made here if this is the boot's first).
    load_kernel_spec_uncached()
    bench.compare(
        "load_kernel_spec() + type_by_name('task_struct'), first in a process",
        _fresh("find"),
        c_first,
        baseline_name="C btf__parse, first",
        target=5.0,
    )
    cold(bench)
    bench.compare(
        "  the same, again in one process",
        bench.in_process(load_and_find),
        c_parse,
        baseline_name="C btf__parse",
        target=5.0,
    )
    bench.compare(
        "  of which load_kernel_spec() alone",
        bench.in_process(load_kernel_spec_uncached),
        c_parse,
        baseline_name="C btf__parse",
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

            bench.compare(
                "  the same, first process of the boot (index computed, saved)",
                bench.in_process(first_of_boot, number=1),
                c_parse,
                baseline_name="C btf__parse",
            )
        os.environ["PYBPF_CACHE_DIR"] = ""
        bench.compare(
            "  the same, cache turned off (PYBPF_CACHE_DIR='')",
            bench.in_process(load_and_find, number=1),
            c_parse,
            baseline_name="C btf__parse",
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

    bench.compare(
        "decode every vmlinux type (spec loaded), first in a process",
        _fresh("decode"),
        c_first,
        baseline_name="C btf__parse, first",
        target=75.0,
    )
    bench.compare(
        "  the same, again in one process",
        decode_all,
        c_parse,
        baseline_name="C btf__parse",
    )

    spec = Spec.from_bytes(data)
    for _ in spec:
        pass
    bench.compare(
        "marshal(vmlinux spec), types already decoded",
        bench.in_process(lambda: marshal(spec), number=1),
        c_parse,
        baseline_name="C btf__parse",
    )

    core_candidates(bench)
    ext_infos(bench)


def core_candidates(bench: Bench) -> None:
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
        statistics.median(find() for _ in range(bench.rounds)),
    )


def ext_infos(bench: Bench) -> None:
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
        bench.time(lambda: load_ext_infos(big, spec), number=1),
    )
