"""The builder: each constructor's instruction, its text, and its bytes as LLVM assembles them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf import asm
from pybpf.asm import R0, R1, R2, R3, R4, R10, Helper, InstructionError

# (instruction, llvm-objdump text, assemblable by LLVM 19)
CASES: list[tuple[asm.Instruction, str, bool]] = [
    (asm.mov(R0, 0), "r0 = 0x0", True),
    (asm.mov(R1, -1), "r1 = -0x1", True),
    (asm.mov(R1, 0xFFFFFFFF), "r1 = -0x1", True),
    (asm.mov(R1, R2), "r1 = r2", True),
    (asm.mov32(R1, R2), "w1 = w2", True),
    (asm.mov32(R1, 7), "w1 = 0x7", True),
    (asm.movsx(R1, R2, 8), "r1 = (s8)r2", True),
    (asm.movsx(R1, R2, 32), "r1 = (s32)r2", True),
    (asm.movsx32(R1, R2, 16), "w1 = (s16)w2", True),
    (asm.addr_space_cast(R3, R2, 0, 1), "r3 = addr_space_cast(r2, 0x0, 0x1)", True),
    (asm.addr_space_cast(R1, R1, 1, 0), "r1 = addr_space_cast(r1, 0x1, 0x0)", True),
    (asm.add(R1, 8), "r1 += 0x8", True),
    (asm.add(R2, -4), "r2 += -0x4", True),
    (asm.add32(R1, R2), "w1 += w2", True),
    (asm.sub(R1, R2), "r1 -= r2", True),
    (asm.sub32(R1, 3), "w1 -= 0x3", True),
    (asm.mul(R1, 3), "r1 *= 0x3", True),
    (asm.mul32(R1, R2), "w1 *= w2", True),
    (asm.div(R1, R2), "r1 /= r2", True),
    (asm.div32(R1, 7), "w1 /= 0x7", True),
    (asm.sdiv(R1, R2), "r1 s/= r2", True),
    (asm.sdiv32(R1, 7), "w1 s/= 0x7", True),
    (asm.mod(R1, 5), "r1 %= 0x5", True),
    (asm.mod32(R1, R2), "w1 %= w2", True),
    (asm.smod(R1, 3), "r1 s%= 0x3", True),
    (asm.smod32(R1, R2), "w1 s%= w2", True),
    (asm.or_(R1, R3), "r1 |= r3", True),
    (asm.or32(R1, 1), "w1 |= 0x1", True),
    (asm.and_(R1, -1), "r1 &= -0x1", True),
    (asm.and32(R1, R2), "w1 &= w2", True),
    (asm.xor(R1, 2), "r1 ^= 0x2", True),
    (asm.xor32(R1, R2), "w1 ^= w2", True),
    (asm.lsh(R1, 63), "r1 <<= 0x3f", True),
    (asm.lsh32(R1, R2), "w1 <<= w2", True),
    (asm.rsh(R1, R2), "r1 >>= r2", True),
    (asm.rsh32(R1, 1), "w1 >>= 0x1", True),
    (asm.arsh(R1, 3), "r1 s>>= 0x3", True),
    (asm.arsh32(R1, R2), "w1 s>>= w2", True),
    (asm.neg(R0), "r0 = -r0", True),
    (asm.neg32(R0), "w0 = -w0", True),
    (asm.to_le(R0, 32), "r0 = le32 r0", True),
    (asm.to_be(R0, 16), "r0 = be16 r0", True),
    (asm.to_be(R0, 64), "r0 = be64 r0", True),
    (asm.bswap(R1, 64), "r1 = bswap64 r1", True),
    (asm.ja(1), "goto +0x1", True),
    (asm.ja(-2), "goto -0x2", True),
    (asm.gotol(1), "gotol +0x1", True),
    (asm.gotol(70000), "gotol +0x11170", False),
    (asm.may_goto(2), "may_goto +0x2", True),
    (asm.jeq(R1, 5, 1), "if r1 == 0x5 goto +0x1", True),
    (asm.jeq32(R1, 5, 1), "if w1 == 0x5 goto +0x1", True),
    (asm.jne(R1, -7, 2), "if r1 != -0x7 goto +0x2", True),
    (asm.jne32(R1, R2, 2), "if w1 != w2 goto +0x2", True),
    (asm.jgt(R1, R2, 0), "if r1 > r2 goto +0x0", True),
    (asm.jgt32(R1, 1, 0), "if w1 > 0x1 goto +0x0", True),
    (asm.jge(R1, 1, 0), "if r1 >= 0x1 goto +0x0", True),
    (asm.jge32(R1, R2, 0), "if w1 >= w2 goto +0x0", True),
    (asm.jlt(R1, R2, 1), "if r1 < r2 goto +0x1", True),
    (asm.jlt32(R1, 65, 1), "if w1 < 0x41 goto +0x1", True),
    (asm.jle(R1, R4, 4), "if r1 <= r4 goto +0x4", True),
    (asm.jle32(R1, 4, 4), "if w1 <= 0x4 goto +0x4", True),
    (asm.jsgt(R1, R2, -1), "if r1 s> r2 goto -0x1", True),
    (asm.jsgt32(R1, R2, -1), "if w1 s> w2 goto -0x1", True),
    (asm.jsge(R1, 0, 3), "if r1 s>= 0x0 goto +0x3", True),
    (asm.jsge32(R1, 0, 3), "if w1 s>= 0x0 goto +0x3", True),
    (asm.jslt(R1, 0, 3), "if r1 s< 0x0 goto +0x3", True),
    (asm.jslt32(R1, R3, 3), "if w1 s< w3 goto +0x3", True),
    (asm.jsle(R1, R2, 3), "if r1 s<= r2 goto +0x3", True),
    (asm.jsle32(R1, 9, 3), "if w1 s<= 0x9 goto +0x3", True),
    (asm.jset(R1, 1, 0), "if r1 & 0x1 goto +0x0", True),
    (asm.jset32(R1, R2, 0), "if w1 & w2 goto +0x0", True),
    (asm.call(Helper.MAP_LOOKUP_ELEM), "call 0x1 <map_lookup_elem>", True),
    (asm.call(Helper.KTIME_GET_NS), "call 0x5 <ktime_get_ns>", True),
    (asm.call(100000), "call 0x186a0", True),
    (asm.call("sub"), "call -0x1 <sub>", False),
    (asm.call_kfunc(1234), "call kfunc 0x4d2", False),
    (asm.call_kfunc(1234, "bpf_task_acquire"), "call kfunc 0x4d2 <bpf_task_acquire>", False),
    (asm.exit(), "exit", True),
    (asm.ld_imm64(R1, -1), "r1 = -0x1 ll", True),
    (asm.ld_imm64(R1, 2**64 - 1), "r1 = -0x1 ll", True),
    (asm.ld_imm64(R1, 0x123456789ABCDEF0), "r1 = 0x123456789abcdef0 ll", True),
    (asm.ld_map_fd(R1, "counters"), "r1 = map_fd 0x0 ll <counters>", False),
    (asm.ld_map_fd(R1, 5), "r1 = map_fd 0x5 ll", False),
    (asm.ld_map_value(R1, 5, 8), "r1 = map_value 0x5 + 0x8 ll", False),
    (asm.ld_map_value(R1, ".data", 16), "r1 = map_value 0x0 + 0x10 ll <.data>", False),
    (asm.ld_map_idx(R1, 2), "r1 = map_idx 0x2 ll", False),
    (asm.ld_map_idx_value(R1, 2, 4), "r1 = map_idx_value 0x2 + 0x4 ll", False),
    (asm.ld_btf_id(R1, 77), "r1 = btf_id 0x4d ll", False),
    (asm.ld_func(R1, "callback"), "r1 = func +0x0 ll <callback>", False),
    (asm.ld_abs(1, 12), "r0 = *(u8 *)skb[0xc]", True),
    (asm.ld_abs(4, 20), "r0 = *(u32 *)skb[0x14]", True),
    (asm.ld_ind(2, R1), "r0 = *(u16 *)skb[r1]", True),
    (asm.ld_ind(2, R1, 4), "r0 = *(u16 *)skb[r1 + 0x4]", False),
    (asm.load(R0, R1, 8, size=4), "r0 = *(u32 *)(r1 + 0x8)", True),
    (asm.load(R0, R1), "r0 = *(u64 *)(r1 + 0x0)", True),
    (asm.load(R0, R10, -8, size=1), "r0 = *(u8 *)(r10 - 0x8)", True),
    (asm.load_sx(R1, R2, -3, size=1), "r1 = *(s8 *)(r2 - 0x3)", True),
    (asm.load_sx(R1, R2, 32767, size=2), "r1 = *(s16 *)(r2 + 0x7fff)", True),
    (asm.load_sx(R1, R2, -32768), "r1 = *(s32 *)(r2 - 0x8000)", True),
    (asm.store(R10, -4, R1, size=4), "*(u32 *)(r10 - 0x4) = r1", True),
    (asm.store(R1, 0, R2), "*(u64 *)(r1 + 0x0) = r2", True),
    (asm.store(R1, 2, 3, size=1), "*(u8 *)(r1 + 0x2) = 0x3", True),
    (asm.store(R1, -2, -3, size=2), "*(u16 *)(r1 - 0x2) = -0x3", True),
    (asm.atomic_add(R1, 4, R2, size=4), "lock *(u32 *)(r1 + 0x4) += w2", False),
    (asm.atomic_add(R1, 0, R2), "lock *(u64 *)(r1 + 0x0) += r2", True),
    (asm.atomic_or(R1, 4, R2), "lock *(u64 *)(r1 + 0x4) |= r2", True),
    (asm.atomic_xor(R1, 4, R2), "lock *(u64 *)(r1 + 0x4) ^= r2", True),
    (asm.atomic_and(R1, 4, R2, size=4), "lock *(u32 *)(r1 + 0x4) &= w2", False),
    (
        asm.atomic_and(R1, 0, R2, fetch=True),
        "r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)",
        True,
    ),
    (
        asm.atomic_add(R1, 0, R2, size=4, fetch=True),
        "w2 = atomic_fetch_add((u32 *)(r1 + 0x0), w2)",
        False,
    ),
    (asm.atomic_xchg(R0, 0, R6 := asm.R6), "r6 = xchg_64(r0 + 0x0, r6)", True),
    (asm.atomic_xchg(R1, 0, R2, size=4), "w2 = xchg32_32(r1 + 0x0, w2)", False),
    (asm.atomic_cmpxchg(R4, 0, R1), "r0 = cmpxchg_64(r4 + 0x0, r0, r1)", True),
    (asm.atomic_cmpxchg(R1, 0, R2, size=4), "w0 = cmpxchg32_32(r1 + 0x0, w0, w2)", False),
    (asm.load_acquire(R0, R1, 0), "r0 = load_acquire((u64 *)(r1 + 0x0))", False),
    (asm.load_acquire(R0, R1, 2, size=1), "w0 = load_acquire((u8 *)(r1 + 0x2))", False),
    (asm.store_release(R1, 0, R2), "store_release((u64 *)(r1 + 0x0), r2)", False),
    (asm.store_release(R1, 0, R2, size=2), "store_release((u16 *)(r1 + 0x0), w2)", False),
]


@pytest.mark.parametrize(("insn", "text", "_"), CASES, ids=[c[1] for c in CASES])
def test_text(insn: asm.Instruction, text: str, _: bool) -> None:
    assert str(insn) == text


@pytest.mark.parametrize(("insn", "text", "_"), CASES, ids=[c[1] for c in CASES])
def test_round_trip_both_orders(insn: asm.Instruction, text: str, _: bool) -> None:
    bare = asm.Instruction(insn.opcode, insn.dst, insn.src, insn.offset, insn.constant)
    for order in ("little", "big"):
        assert asm.decode(insn.encode(order), order) == asm.Instructions([bare])


CLANG = shutil.which("clang-19")


@pytest.mark.skipif(CLANG is None, reason="clang-19 not installed")
def test_bytes_match_llvm_assembler(tmp_path: Path) -> None:
    """LLVM assembles our text back into exactly our bytes."""
    assemblable = [(insn, text) for insn, text, ok in CASES if ok]
    body = "".join(f'"{re.sub(r" <[^<>]*>$", "", text)}\\n"\n' for _, text in assemblable)
    source = tmp_path / "all.c"
    source.write_text(f"void f(void) {{ asm volatile(\n{body}); }}\n")
    obj = tmp_path / "all.o"
    assert CLANG is not None
    subprocess.run(
        [CLANG, "-target", "bpfel", "-mcpu=v4", "-O2", "-c", str(source), "-o", str(obj)],
        check=True,
        capture_output=True,
    )
    elffile = pytest.importorskip("elftools.elf.elffile")
    with obj.open("rb") as f:
        text = elffile.ELFFile(f).get_section_by_name(".text").data()
    decoded = asm.decode(text)
    # The compiler adds the function's own exit.
    assert len(decoded) == len(assemblable) + 1
    for (insn, line), got in zip(assemblable, decoded, strict=False):
        assert got.encode() == insn.encode(), line


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: asm.mov(R0, 2**32), "does not fit in 32 bits"),
        (lambda: asm.mov(R0, -(2**31) - 1), "does not fit in 32 bits"),
        (lambda: asm.mov(11, 0), "dst must be one of R0-R10"),  # type: ignore[arg-type]
        (lambda: asm.add(R1, "x"), "immediate must be an int"),  # type: ignore[arg-type]
        (lambda: asm.movsx(R1, R2, 64), "8, 16 or 32"),
        (lambda: asm.movsx32(R1, R2, 32), "8 or 16"),
        (lambda: asm.addr_space_cast(R1, R2, 0, 2), "address spaces 0 and 1"),
        (lambda: asm.addr_space_cast(R1, R2, 1, 1), "address spaces 0 and 1"),
        (lambda: asm.addr_space_cast(R1, R2, -1, 0x1_0001), "address spaces 0 and 1"),
        (lambda: asm.addr_space_cast(R1, 11, 0, 1), "src must be one of R0-R10"),  # type: ignore[arg-type]
        (lambda: asm.to_le(R1, 8), "16, 32 or 64"),
        (lambda: asm.ja(0x8000), "16 signed bits"),
        (lambda: asm.load(R0, R1, size=3), "1, 2, 4 or 8"),
        (lambda: asm.load_sx(R0, R1, size=8), "1, 2 or 4"),
        (lambda: asm.atomic_add(R1, 0, R2, size=1), "4 or 8 bytes"),
        (lambda: asm.ld_imm64(R1, 2**64), "64 bits"),
        (lambda: asm.ld_map_fd(R1, -1), "name or an fd"),
        (lambda: asm.ld_map_value(R1, "m", -1), "offset"),
    ],
)
def test_builder_errors(build: object, match: str) -> None:
    with pytest.raises(InstructionError, match=match):
        build()  # type: ignore[operator]


def test_registers() -> None:
    assert asm.RFP is R10
    assert str(R1) == "r1"
    assert asm.Size.of_bytes(4) is asm.Size.W
    assert asm.Size.DW.bytes == 8
