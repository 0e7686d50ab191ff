"""pybpf.asm: decode and encode of a 1000-instruction program, against ebpf-go's figures.

ebpf-go's Go modules are not reachable from this machine, so its figures are
constants, measured once (see :data:`EBPF_GO`) and not same-run: ebpf-go's
asm.Instructions Unmarshal/Marshal take 125 us to decode 1000 instructions and
91 us to encode them. Targets (issue #18): decode <= 2x, encode <= 1.5x.

Where pybpf-core's wheel carries the compiled codec (``_pybpf_asm_codec``),
decode and encode use it; two more rows then compare it with the Python code
(``PYBPF_ASM_CODEC=python``) in the same run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from run import Bench, Constant

from pybpf import asm
from pybpf.asm import R0, R1, R2, R3, R6, R10, Helper, codec

EBPF_GO = "ebpf-go, measured 2026-11-21 on the bench machine (2-core Xeon VM, Linux 6.18)"
EBPF_GO_DECODE = Constant(125e-6, EBPF_GO)
EBPF_GO_ENCODE = Constant(91e-6, EBPF_GO)
COUNT = 1000
# More pairs than the default: the machine is shared.
ROUNDS = 15


def real_program() -> asm.Instructions | None:
    """The first 1000 instructions of the testdata programs, as clang compiled them."""
    try:
        from elftools.elf.elffile import ELFFile  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    root = Path(os.environ.get("PYBPF_ROOT", Path(__file__).resolve().parent.parent))
    insns = asm.Instructions()
    for path in sorted((root / "testdata").glob("*-el.o")):
        with path.open("rb") as f:
            for sec in ELFFile(f).iter_sections():
                if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & 0x4 and sec.data_size:
                    insns.extend(asm.decode(sec.data()))
        if len(insns) >= COUNT:
            return insns[:COUNT]
    return None


def built_program() -> asm.Instructions:
    """A 1000-instruction program written with the builder: the same mix clang emits."""
    body: list[asm.Instruction | asm.Label | asm.Symbol] = [asm.symbol("main")]
    count = 0
    block = 0
    while True:
        out = f"out{block}"
        chunk: list[asm.Instruction | asm.Label | asm.Symbol] = [
            asm.store(R10, -4, 0, size=4),
            asm.mov(R2, R10),
            asm.add(R2, -4),
            asm.ld_map_fd(R1, "counters"),
            asm.call(Helper.map_lookup_elem),
            asm.jeq(R0, 0, out),
            asm.load(R3, R0, 0),
            asm.add(R3, 1),
            asm.store(R0, 0, R3),
            asm.mov32(R6, R3),
            asm.lsh(R3, 32),
            asm.arsh(R3, 32),
            asm.jsgt(R3, R6, out),
            asm.ld_imm64(R1, 0x1122334455667788),
            asm.xor(R3, R1),
            asm.atomic_add(R0, 8, R3),
            asm.call("sub"),
            asm.label(out),
            asm.mov(R0, 0),
        ]
        size = sum(isinstance(item, asm.Instruction) for item in chunk)
        if count + size > COUNT - 3:
            break
        body += chunk
        count += size
        block += 1
    body += [asm.mov(R0, 0)] * (COUNT - 3 - count)
    body += [asm.exit(), asm.symbol("sub"), asm.mov(R0, 1), asm.exit()]
    insns = asm.Instructions(body)
    insns.resolve_references()
    return insns


def in_python(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with the compiled codec turned off, as ``PYBPF_ASM_CODEC=python`` does."""
    compiled = codec._compiled_codec

    def run() -> object:
        codec._compiled_codec = lambda: None  # type: ignore[assignment]
        try:
            return fn()
        finally:
            codec._compiled_codec = compiled

    return run


def compare_codecs(bench: Bench, data: bytes) -> None:
    """The compiled codec against the Python code, same-run, where it is installed."""
    if codec._compiled_codec() is None:
        print("  (no compiled codec: pybpf-core built without it)")
        return
    decoded = asm.decode(data)
    for what, fn in (("decode", lambda: asm.decode(data)), ("encode", decoded.encode)):
        bench.compare(
            f"{what} {COUNT} insns (testdata), compiled codec",
            bench.in_process(fn),
            bench.in_process(in_python(fn)),
            baseline_name="Python codec",
            rounds=ROUNDS,
        )


def run(bench: Bench) -> None:
    """Decode, encode, build, tag, copy and disassemble 1000 instructions."""
    real = real_program()
    built = built_program()
    for name, program in (("testdata", real), ("builder", built)):
        if program is None:
            print(f"  (no {name} program: pyelftools or testdata missing)")
            continue
        assert len(program) == COUNT, len(program)
        data = program.encode()
        assert asm.decode(data) == asm.decode(data)
        bench.compare(
            f"decode {COUNT} insns ({name}, {len(data) // 8} slots)",
            bench.in_process(lambda data=data: asm.decode(data)),
            EBPF_GO_DECODE,
            baseline_name="ebpf-go",
            target=2.0,
            rounds=ROUNDS,
        )
        decoded = asm.decode(data)
        bench.compare(
            f"encode {COUNT} decoded insns ({name})",
            bench.in_process(decoded.encode),
            EBPF_GO_ENCODE,
            baseline_name="ebpf-go",
            target=1.5,
            rounds=ROUNDS,
        )
        if name == "builder":
            bench.compare(
                f"encode {COUNT} builder insns (with names)",
                bench.in_process(program.encode),
                EBPF_GO_ENCODE,
                baseline_name="ebpf-go",
                rounds=ROUNDS,
            )
            bench.report(f"build {COUNT} insns with the builder", bench.time(built_program))
        bench.report(f"tag of {COUNT} insns ({name})", bench.time(decoded.tag))
        bench.report(f"copy of {COUNT} insns ({name})", bench.time(decoded.copy))
        bench.report(f"disassemble {COUNT} insns ({name})", bench.time(lambda d=decoded: str(d)))
        if name == "testdata":
            compare_codecs(bench, data)
