"""Decoding and encoding raw bytecode: fields, byte orders, and every error path."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf import asm
from pybpf.asm import InstructionError


def slot(
    op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0, *, big: bool = False
) -> bytes:
    if big:
        return struct.pack(">BBhi", op, dst << 4 | src, off, imm)
    return struct.pack("<BBhi", op, src << 4 | dst, off, imm)


def test_fields_little_endian() -> None:
    (insn,) = asm.decode(slot(0x61, 2, 10, -8, 0))
    assert (insn.opcode, insn.dst, insn.src, insn.offset, insn.constant) == (0x61, 2, 10, -8, 0)
    assert insn.op_class is asm.OpClass.LDX
    assert str(insn) == "r2 = *(u32 *)(r10 - 0x8)"


def test_fields_big_endian() -> None:
    data = slot(0x07, 3, 0, 0, -1, big=True)
    (insn,) = asm.decode(data, "big")
    assert (insn.dst, insn.src, insn.constant) == (3, 0, -1)
    assert asm.Instructions([insn]).encode("big") == data


def test_ld_imm64_is_one_instruction_of_two_slots() -> None:
    data = slot(0x18, 1, 0, 0, 0x9ABCDEF0 - 2**32) + slot(0, 0, 0, 0, 0x12345678) + slot(0x95)
    insns = asm.decode(data)
    assert len(insns) == 2
    assert insns.slots == 3
    assert insns[0].constant == 0x123456789ABCDEF0
    assert insns[0].slots == 2
    assert list(insns.offsets()) == [(0, insns[0]), (2, insns[1])]
    assert insns.encode() == data
    assert str(insns[0]) == "r1 = 0x123456789abcdef0 ll"


def test_ld_imm64_negative() -> None:
    data = slot(0x18, 1, 0, 0, -1) + slot(0, 0, 0, 0, -1)
    (insn,) = asm.decode(data)
    assert insn.constant == -1
    assert insn.encode() == data


def test_empty() -> None:
    assert len(asm.decode(b"")) == 0
    assert asm.Instructions().encode() == b""


def test_accepts_buffers() -> None:
    data = slot(0xB7, 0, 0, 0, 1) + slot(0x95)
    assert asm.decode(bytearray(data)) == asm.decode(memoryview(data)) == asm.decode(data)


@pytest.mark.parametrize("length", [1, 7, 9, 15, 17])
def test_truncated(length: int) -> None:
    data = (slot(0x95) * 3)[:length]
    with pytest.raises(InstructionError, match="trailing") as info:
        asm.decode(data)
    assert info.value.offset == length - length % 8


def error_offset(data: bytes, byteorder: str = "little") -> int | None:
    with pytest.raises(InstructionError) as info:
        asm.decode(data, byteorder)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    return info.value.offset


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (slot(0xFF), "unknown opcode"),
        (slot(0x8D), "unknown opcode"),  # callx: not in the kernel's ISA
        (slot(0x8C, 1, 2), "unknown opcode"),  # NEG with a register source
        (slot(0xDF, 1), "unknown opcode"),  # ALU64 END with the X bit
        (slot(0x38), "unknown opcode"),  # LD_ABS of 8 bytes
        (slot(0x99, 1), "unknown opcode"),  # LDX MEMSX of 8 bytes
        (slot(0xB7, 11), "register"),
        (slot(0xBF, 1, 12), "register"),
        (slot(0x00), "opcode 0x00 outside an LD_IMM64"),
        (slot(0x18, 1) + slot(0x95), "second half"),
        (slot(0x18, 1) + slot(0, 1), "second half"),
        (slot(0x18, 1) + slot(0, 0, 0, 1), "second half"),
        (slot(0x18, 1, 7) + slot(0), "LD_IMM64 source"),
        (slot(0x85, 0, 3, 0, 1), "call source"),
        (slot(0xE5, 0, 1), "JCOND"),
        (slot(0xD4, 1, 0, 0, 8), "byte swap width"),
        (slot(0xD7, 1, 0, 0, 0x110), "byte swap width"),
        (slot(0xDB, 1, 2, 0, 0x02), "atomic operation"),
        (slot(0xDB, 1, 2, 0, 0x120), "atomic operation"),
        (slot(0xD3, 1, 2, 0, 0x00), "32- or 64-bit"),
        (slot(0x07, 1, 0, 1, 1), "offset 1 is not valid"),
        (slot(0x3F, 1, 2, 2), "offset 2 is not valid"),
        (slot(0xBC, 1, 2, 32), "offset 32 is not valid"),
        (slot(0xBF, 1, 2, 7), "offset 7 is not valid"),
        (slot(0xB7, 1, 0, 8, 0), "offset 8 is not valid"),
        # addr_space_cast: ALU64 register MOV only, between address spaces 0 and 1 only.
        (slot(0xBC, 1, 2, 1, 1), "offset 1 is not valid"),
        (slot(0xB7, 1, 0, 1, 1), "offset 1 is not valid"),
        (slot(0xBF, 1, 2, 1, 0), "immediate 0x0 is neither"),
        (slot(0xBF, 1, 2, 1, 0x1_0001), "immediate 0x10001 is neither"),
        (slot(0xBF, 1, 2, 1, 0x2_0000), "immediate 0x20000 is neither"),
        (slot(0xBF, 1, 2, 1, -1), "immediate -0x1 is neither"),
        (slot(0xBF, 1, 2, 0x101, 1), "offset 257 is not valid"),
    ],
)
def test_bad_instruction_names_its_offset(bad: bytes, match: str) -> None:
    prefix = slot(0xB7) * 3
    with pytest.raises(InstructionError, match=match) as info:
        asm.decode(prefix + bad + slot(0x95))
    assert info.value.offset is not None
    assert info.value.offset >= len(prefix)
    assert f"byte offset {info.value.offset}" in str(info.value)


def test_ld_imm64_without_second_half_at_the_end() -> None:
    with pytest.raises(InstructionError, match=r"second half .* is missing") as info:
        asm.decode(slot(0x95) + slot(0x18, 1))
    assert info.value.offset == 8


def test_stray_second_half_after_a_valid_ld_imm64() -> None:
    data = slot(0x18, 1) + slot(0) + slot(0x95) + slot(0)
    assert error_offset(data) == 24


@pytest.mark.parametrize(
    "good",
    [
        slot(0x3F, 1, 2, 1),  # sdiv
        slot(0x94, 1, 0, 1, 5),  # smod32 imm
        slot(0xBF, 1, 2, 32),  # movsx from 32 bits
        slot(0xBC, 1, 2, 16),  # movsx32 from 16 bits
        slot(0xBF, 1, 2, 1, 1),  # addr_space_cast to the kernel (cast_kern)
        slot(0xBF, 1, 1, 1, 0x1_0000),  # addr_space_cast to the arena (cast_user)
        slot(0xD3, 0, 1, 0, 0x100),  # load-acquire of a byte
        slot(0xCB, 1, 2, 0, 0x110),  # store-release of a half word
        slot(0xC3, 1, 2, 0, 0xF1),  # cmpxchg32
        slot(0xE5, 0, 0, 2),  # may_goto
        slot(0x06, 0, 0, 0, 70000),  # gotol
        slot(0x85, 0, 2, 0, 1234),  # kfunc call
    ],
)
def test_valid_edge_instructions(good: bytes) -> None:
    for order, data in (("little", good), ("big", asm.decode(good).encode("big"))):
        insns = asm.decode(data, order)  # type: ignore[arg-type]
        assert insns.encode(order) == data  # type: ignore[arg-type]


def test_bad_byteorder() -> None:
    with pytest.raises(ValueError, match="byteorder"):
        asm.decode(slot(0x95), "middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="byteorder"):
        asm.Instructions([asm.exit()]).encode("middle")  # type: ignore[arg-type]


@given(st.binary(max_size=256))
@settings(max_examples=400, deadline=None)
def test_fuzz_random_bytes(data: bytes) -> None:
    for order in ("little", "big"):
        try:
            insns = asm.decode(data, order)
        except InstructionError as err:
            assert err.offset is not None
            assert 0 <= err.offset <= len(data)
            assert err.offset % 8 == 0
        else:
            assert insns.encode(order) == data
            str(insns)  # every decodable instruction has a text form


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(asm.opcodes.VALID_OPCODES)),
            st.integers(0, 10),
            st.integers(0, 10),
            st.integers(-0x8000, 0x7FFF),
            st.integers(-(2**31), 2**31 - 1),
        ),
        max_size=32,
    )
)
@settings(max_examples=300, deadline=None)
def test_fuzz_well_formed_slots(rows: list[tuple[int, int, int, int, int]]) -> None:
    """Slots with valid opcodes and registers: decoding either succeeds and round-trips,
    or fails with an InstructionError (a field rule), never anything else."""
    data = b"".join(slot(*row) for row in rows)
    try:
        insns = asm.decode(data)
    except InstructionError:
        return
    assert insns.encode() == data
    assert asm.decode(insns.encode("big"), "big") == insns


@pytest.mark.parametrize(
    ("insn", "match"),
    [
        (asm.Instruction(0xFF), "unknown opcode"),
        (asm.Instruction(0x100), "unknown opcode"),
        (asm.Instruction(0xB7, 11), "dst register 11"),
        (asm.Instruction(0xBF, 1, -1), "src register -1"),
        (asm.Instruction(0x05, 0, 0, 0x8000), "offset 32768"),
        (asm.Instruction(0xB7, 0, 0, 0, 2**31), "32 signed bits"),
        (asm.Instruction(0x18, 0, 0, 0, 2**64), "64 bits"),
        (asm.Instruction(0xB7, 0, 0, 0, "1"), "constant must be an int"),  # type: ignore[arg-type]
    ],
)
def test_encode_errors_name_the_instruction(insn: asm.Instruction, match: str) -> None:
    insns = asm.Instructions([asm.ld_imm64(asm.R1, 5), asm.mov(asm.R0, 0)])
    insns.append(insn)
    with pytest.raises(InstructionError, match=match) as info:
        insns.encode()
    assert info.value.index == 2
    assert info.value.offset == 24


def test_encode_unsigned_64_bit_constant() -> None:
    insn = asm.Instruction(0x18, 1, 0, 0, 2**64 - 1)
    assert insn.encode() == slot(0x18, 1, 0, 0, -1) + slot(0, 0, 0, 0, -1)


def test_addr_space_cast_is_told_apart_from_movsx() -> None:
    kern, user, movsx, mov = asm.decode(
        slot(0xBF, 3, 2, 1, 1)
        + slot(0xBF, 1, 1, 1, 0x1_0000)
        + slot(0xBF, 1, 2, 8)
        + slot(0xBF, 1, 2)
    )
    assert kern.is_addr_space_cast and user.is_addr_space_cast
    assert not movsx.is_addr_space_cast and not mov.is_addr_space_cast
    assert (str(kern), str(user)) == (
        "r3 = addr_space_cast(r2, 0x0, 0x1)",
        "r1 = addr_space_cast(r1, 0x1, 0x0)",
    )
    assert kern == asm.addr_space_cast(asm.R3, asm.R2, 0, 1)
