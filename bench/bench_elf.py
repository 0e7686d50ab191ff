"""pybpf.elf: load_collection_spec against libbpf's bpf_object__open on the same files.

Targets: the 10-program loader object in 3 ms (ebpf-go: 0.64 ms on this
machine), a 1 MB object in 150 ms. The 1 MB object is generated: a C file of
many unrolled programs with globals, compiled by clang (-g for BTF, DWARF then
stripped so that the megabyte is code, BTF and line info); without clang the
largest testdata object stands in, and the row says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pybpf.elf import load_collection_spec

ROOT = Path(os.environ.get("PYBPF_ROOT", Path(__file__).resolve().parent.parent))
TESTDATA = ROOT / "testdata"

_PROGRAM = """
__u64 counter_{i} = {i};
SEC("socket") int prog_{i}(struct __sk_buff *skb)
{{
	__u64 a = skb->len, b = skb->protocol;
#pragma unroll
	for (int k = 0; k < 48; k++) {{
		a = a * {m} + (b ^ k);
		b += a >> 3;
		if (a & 1)
			counter_{i} += b;
	}}
	return a;
}}
"""


def _generate_big_object(workdir: Path, programs: int) -> Path | None:
    clang = shutil.which("clang")
    strip = shutil.which("llvm-strip")
    if clang is None:
        return None
    src = workdir / "big.c"
    body = "".join(_PROGRAM.format(i=i, m=2 * i + 3) for i in range(programs))
    src.write_text(
        # Only the fields used, at their UAPI offsets: no kernel headers needed.
        "typedef unsigned int __u32;\ntypedef unsigned long long __u64;\n"
        "struct __sk_buff { __u32 len, pkt_type, mark, queue_mapping, protocol; };\n"
        "#define SEC(n) __attribute__((section(n), used))\n"
        + body
        + '\nchar LICENSE[] SEC("license") = "GPL";\n'
    )
    obj = workdir / "big.o"
    subprocess.run(
        [clang, "-O2", "-g", "-target", "bpfel", "-c", str(src), "-o", str(obj)], check=True
    )
    if strip is not None:
        subprocess.run([strip, "-g", str(obj)], check=True)
    return obj


def _big_object(workdir: Path) -> tuple[Path, str]:
    """A ~1 MB object: generated when clang is here, else the largest testdata object."""
    obj = None
    programs = 300
    for _ in range(4):
        obj = _generate_big_object(workdir, programs)
        if obj is None:
            break
        size = obj.stat().st_size
        if 0.9e6 <= size <= 1.2e6:
            return obj, f"generated, {programs} programs"
        programs = max(1, int(programs * 1.05e6 / size))
    if obj is not None:
        return obj, f"generated, {programs} programs"
    largest = max(TESTDATA.glob("*.o"), key=lambda p: p.stat().st_size)
    return largest, f"largest testdata object, {largest.name}"


def run(bench) -> None:  # type: ignore[no-untyped-def]
    loader = TESTDATA / "loader-el.o"
    with tempfile.TemporaryDirectory() as tmp:
        big, how = _big_object(Path(tmp))
        files = [
            (loader, "loader-el.o (10 programs)", "target <= 3 ms"),
            (big, "", "target <= 150 ms"),
        ]
        c = bench.c_seconds("elf_open", *(str(p) for p, _, _ in files))
        for path, label, target in files:
            data = path.read_bytes()
            label = label or f"{path.stat().st_size / 1e6:.2f} MB object ({how})"
            seconds = bench.time(lambda data=data: load_collection_spec(data), repeat=7)
            bench.report(
                f"load_collection_spec {label}",
                seconds,
                baseline=c[f"open {path}"],
                baseline_name="libbpf open",
                target=target,
            )
            bench.report(f"  libbpf bpf_object__open {label}", c[f"open {path}"])
