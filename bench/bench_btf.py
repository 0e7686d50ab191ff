"""BTF figures: loading and querying the kernel's BTF, decoding it whole, marshalling it.

Baseline: libbpf's ``btf__parse`` of the same file, timed in the same run
(``bench/c/btf_parse.c``).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from pybpf.btf import Spec, marshal
from pybpf.btf.kernel import load_kernel_spec_uncached
from pybpf.btf.spec import read_file

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def run(bench) -> None:  # type: ignore[no-untyped-def]
    if not VMLINUX.exists():
        print("  skipped: no /sys/kernel/btf/vmlinux")
        return
    c = bench.c_seconds("btf_parse", str(VMLINUX), "30")
    parse = c["btf__parse"]
    bench.report("libbpf btf__parse(vmlinux)", parse)

    def load_and_find() -> None:
        load_kernel_spec_uncached().type_by_name("task_struct")

    bench.report(
        "load_kernel_spec() uncached + type_by_name('task_struct')",
        bench.time(load_and_find, repeat=15),
        baseline=parse,
        target="<= 5x",
    )
    bench.report(
        "  of which load_kernel_spec() alone",
        bench.time(load_kernel_spec_uncached, repeat=15),
        baseline=parse,
    )

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
        "decode every vmlinux type (spec already loaded)",
        min(decode_all() for _ in range(5)),
        baseline=parse,
        target="<= 75x",
    )

    spec = Spec.from_bytes(data)
    for _ in spec:
        pass
    bench.report(
        "marshal(vmlinux spec), types already decoded",
        bench.time(lambda: marshal(spec), number=1, repeat=3),
        baseline=parse,
    )
