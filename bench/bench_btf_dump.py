"""BTF dumps of the kernel's vmlinux, whole processes writing to a pipe, against bpftool.

Each pair is one ``python -m pybpf.btf dump`` (or ``pybpf btf dump``) process and
one ``bpftool btf dump file`` process of the same format, their output read and
thrown away. Target (issue #18): each format <= 3x bpftool's whole process. The
raw dump is also shown without the compiled scan (``PYBPF_BTF_SCAN=python``, as
an offline install runs it), for information: no target.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from run import Bench

VMLINUX = Path("/sys/kernel/btf/vmlinux")
TARGET = 3.0


def run(bench: Bench) -> None:
    """raw, C and JSON dumps from both command lines, each paired with bpftool's."""
    bpftool = shutil.which("bpftool")
    if bpftool is None or not VMLINUX.exists():
        print("  skipped: needs bpftool and /sys/kernel/btf/vmlinux")
        return
    theirs = {
        "raw": [bpftool, "btf", "dump", "file", str(VMLINUX)],
        "c": [bpftool, "btf", "dump", "file", str(VMLINUX), "format", "c"],
        "json": [bpftool, "-j", "btf", "dump", "file", str(VMLINUX)],
    }
    module = [sys.executable, "-m", "pybpf.btf", "dump", str(VMLINUX), "--format"]
    for fmt, argv in theirs.items():
        bench.compare(
            f"python -m pybpf.btf dump vmlinux --format {fmt}",
            bench.process([*module, fmt]),
            bench.process(argv),
            baseline_name="bpftool",
            kind="fresh process",
            target=TARGET,
        )
    bench.compare(
        "python -m pybpf.btf dump, pure Python, raw",
        bench.process([*module, "raw"], env={**os.environ, "PYBPF_BTF_SCAN": "python"}),
        bench.process(theirs["raw"]),
        baseline_name="bpftool",
        kind="fresh process",
    )
    cli = shutil.which("pybpf", path=str(Path(sys.executable).parent))
    if cli is None:
        return
    for fmt, argv in theirs.items():
        bench.compare(
            f"pybpf btf dump vmlinux --format {fmt}",
            bench.process([cli, "btf", "dump", "vmlinux", "--format", fmt]),
            bench.process(argv),
            baseline_name="bpftool",
            kind="fresh process",
            target=TARGET,
        )
