"""pybpf.elf: load_collection_spec against libbpf's bpf_object__open on the same files.

Targets (issue #18): the 10-program loader object in <= 1 ms (ebpf-go: 0.64 ms
on this machine, not same-run), a 1 MB object in <= 20 ms. Each pair is one
batch of Python opens against one run of ``bench/c/elf_open.c``.

The 1 MB object is generated: a C file of many unrolled programs with
globals, compiled by clang (-g for BTF, DWARF then stripped so that the
megabyte is code, BTF and line info); without clang the largest testdata
object stands in, and the row says so.

Where the loader object's time goes (2026-12, in-process, this machine, per
load of ~1.2-1.5 ms; the machine was loaded, so shares, not times): maps and
variables ~34% (the four DATASEC lookups and their fixups ~15%, the BTF map
definitions ~12%), code ~37% (decoding and splitting ~11%, relocations ~7%,
attaching ext infos ~8%, linking subprograms, mostly ``Instructions.copy``,
~9%), ``.BTF.ext`` ~10%, the ELF tables and symbols ~4%, the rest (sorting
sections, relocation tables, the collection) ~15%.

The first pass of issue #18 made it ~11% faster (a bool spec field no longer
takes the slow argument check, func infos are checked in the raw records, small
type sections use the compiled scan once a process has walked a few). The
second made it ~6% faster (interleaved processes of 1,500 loads each: median
ratio 0.94, fastest batches 1.07 -> 1.005 ms; this row against libbpf 24.7x ->
22.9x, medians of three interleaved runs): BTF map definitions are read from
the undecoded records (``Spec.raw_record``), the symbol table is walked once
and grouped by section, ``.BTF.ext`` records are checked a sub-section at a
time, and the compiled scan decodes a string table (``strings``, its version 3:
14 us against 21 for an object's table, the time going to making the strings,
not finding them).

The third made it ~13-19% faster (interleaved processes of 300 loads against
the second's code, two runs of 9 rounds: median ratios 0.87 and 0.81; the 1 MB
object, 7 rounds of 10 loads: 0.80 to 0.88). On a busy machine most runs of
this bench moved by more than that; the calmest of seven interleaved pairs read
1.51 -> 1.24 ms (14.2x -> 11.7x libbpf) and 13.6 -> 11.5 ms. A map definition
is read in one call, ``Spec.pointer_members``: the compiled scan (its version
4) walks the struct's members through typedefs and qualifiers to what each
pointer reaches, and the Python reading, the reference, runs where it declines;
the maps of an object share their member names and key and value sizes. The
DATASECs are found by name in one pass (``Spec.ids_of_kind``: the records' kind
bytes searched at C speed), ~35 us a load less than a ``type_by_name`` per
section. ``pybpf.asm`` attaches ext infos and copies subprograms in plain
loops: on the interpreter's specialized slot loads and stores (3.11 on) they
cost a quarter of ``map()`` over an attrgetter or a slot's ``__set__`` (setting
20 instructions' names: 0.6 us against 3.3), which the earlier passes had used
as the fast way; not everywhere: a spec record's argument checks stay faster as
they are. Relocations find their instruction in the per-slot table, and the
strings read before the first type (the ``.BTF.ext`` section names, the DATASEC
names) come from the string table decoded whole, as type names do.

What is left (shares of a load now): the maps and variables ~32% (with work
done once, where the first DATASEC is read: the whole string table decoded,
~14-30 us, and the symbol table, ~30-50 us), code ~30% (splitting sections ~13%,
relocations ~7%, attaching ext infos ~7%), ``.BTF.ext`` ~12%, linking and the
program specs ~11%, the ELF tables ~4%. Each is a few Python calls per section,
function, map or relocation, ~0.3 us a call; no single one is worth more than a
few percent. <= 1 ms needs whole phases in compiled code: the ``.BTF.ext``
parsing and checks with their tables, and the splitting and relocating of code
sections, or fewer Python objects per load (one per section, function and
record, where today there are several).

The fourth pass (2026-12) did the first of those: the compiled scan (its
version 5, ``ext_tables``) reads ``.BTF.ext`` in one call, checks the func and
line infos as the Python reading does and gives each section's columns with
the offsets already slots; the Python reading, the reference, runs where it
declines. ``.BTF.ext`` went from ~200 to ~80 us of a load (what is left: the
tables and record builders per section, and the string table decoded at the
first section name). In-process, 15 interleaved rounds against the Python
reading: loader-el.o median ratio 0.908 (1476 -> 1332 us on a busy machine),
the 1 MB object 0.830 (its line infos are most of its ``.BTF.ext``). Shares
of a load now: maps and variables ~33% (the BTF map definitions ~22%, of
which ~3 us per ``MapSpec`` made and checked, ~5 us per key or value type
decoded and sized), code ~32% (splitting ~14%, relocations ~8%, ext infos
put on instructions ~7%), linking and the program specs ~12%, ``.BTF`` and
``.BTF.ext`` ~8%, the ELF tables ~6% (54 symbols at ~1 us each).

A fifth look (2026-12) counted instructions (``valgrind --tool=callgrind``,
20 loads less none, per load; this module now prints that row) instead of
shares of a time the machine moved by up to 2x between hours. Of 7.15M per
load: the ELF header and section table 0.36M, the symbol table 0.38M,
``.BTF`` 0.19M and ``.BTF.ext`` 0.69M (its string table decoded whole, 191
strings, and per section its tables and record builders), maps and variables
2.15M (the BTF map definitions 1.39M: ~27k per ``MapSpec`` made and checked,
~20k per ``pointer_members``, the ``.maps`` DATASEC found and fixed 0.33M),
splitting code sections with their relocation tables 1.12M, relocating 0.47M,
ext infos put on instructions 0.57M, linking and the program specs 1.05M.
Linking now takes each function's length in slots from its symbol instead of
counting its instructions (-2.2%, 7.04M). Tried and dropped: the symbol and
relocation tables read as columns (``array`` slices zipped into named tuples,
no Python call per entry) -0.4%; spec argument checks answered from a set of
argument-class tuples already passed -1.1%, with no difference in time over
31 interleaved rounds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from run import Bench

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


def run(bench: Bench) -> None:
    """load_collection_spec of the loader object and of a 1 MB object, paired with libbpf."""
    loader = TESTDATA / "loader-el.o"
    with tempfile.TemporaryDirectory() as tmp:
        big, how = _big_object(Path(tmp))
        files = [(loader, "loader-el.o (10 programs)", 1e-3), (big, "", 20e-3)]
        for path, label, target in files:
            data = path.read_bytes()
            label = label or f"{path.stat().st_size / 1e6:.2f} MB object ({how})"
            bench.compare(
                f"load_collection_spec {label}",
                bench.in_process(lambda data=data: load_collection_spec(data)),
                bench.c_figure("elf_open", f"open {path}", str(path)),
                baseline_name="libbpf open",
                target_seconds=target,
            )
    # The loader object's loads counted: a process making 20 loads less one
    # making none, per load (the first load of each is not counted).
    none = bench.instructions([sys.executable, "-c", _LOADS, loader, "0"])
    many = bench.instructions([sys.executable, "-c", _LOADS, loader, "20"])
    if none is None or many is None:
        bench.skip("load_collection_spec loader-el.o, instructions", "no valgrind here")
    else:
        bench.count("load_collection_spec loader-el.o, instructions per load", (many - none) // 20)


#: Loads an object once, then the number of times given.
_LOADS = """
import sys
from pybpf.elf import load_collection_spec
data = open(sys.argv[1], "rb").read()
for _ in range(1 + int(sys.argv[2])):
    load_collection_spec(data)
"""
