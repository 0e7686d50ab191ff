"""``encode(strict=False)``: what ``decode(strict=False)`` read goes back unchanged.

Objects may hold words the UAPI does not define (the verifier tests write
them with ``__imm_insn()``); a loader hands them to the kernel as they are,
as libbpf does, and the kernel refuses the one program holding them.
"""

from __future__ import annotations

import struct

import pytest

from pybpf.asm import ByteOrder, Instruction, InstructionError, Instructions
from pybpf.asm.codec import encode_instructions
from pybpf.asm.instructions import decode

_PREFIX = {"little": "<", "big": ">"}


def _word(
    order: ByteOrder, op: int, *, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0
) -> bytes:
    regs = dst | src << 4 if order == "little" else dst << 4 | src
    return struct.pack(_PREFIX[order] + "BBhi", op, regs, off, imm)


def _code(order: ByteOrder) -> bytes:
    return b"".join(
        (
            _word(order, 0xB7, imm=1),  # r0 = 1
            _word(order, 0x3F, off=-1),  # div with a reserved offset
            _word(order, 0x8E, dst=2),  # JMP32 | CALL | X: no such opcode
            _word(order, 0x18, dst=1, imm=-1),  # LD_IMM64 r1 = 0x12345678ffffffff
            _word(order, 0x00, imm=0x12345678),
            _word(order, 0xFF, dst=10, src=10, off=-1, imm=7),  # no such opcode either
            _word(order, 0x95),  # exit
        )
    )


@pytest.mark.parametrize("order", ["little", "big"])
def test_round_trip_of_words_the_uapi_lacks(order: ByteOrder) -> None:
    code = _code(order)
    insns = decode(code, order, strict=False)
    assert [insn.opcode for insn in insns] == [0xB7, 0x3F, 0x8E, 0x18, 0xFF, 0x95]
    assert insns.encode(order, strict=False) == code


@pytest.mark.parametrize("order", ["little", "big"])
def test_strict_encoding_still_refuses_them(order: ByteOrder) -> None:
    insns = decode(_code(order), order, strict=False)
    with pytest.raises(InstructionError, match="unknown opcode 0x8e"):
        insns.encode(order)


def test_valid_code_encodes_the_same_either_way() -> None:
    insns = Instructions([Instruction(0xB7, 0, 0, 0, 5), Instruction(0x95, 0, 0, 0, 0)])
    assert insns.encode(strict=False) == insns.encode()


@pytest.mark.parametrize(
    ("insn", "words"),
    [
        (Instruction(0x8E, 16, 0, 0, 0), "do not fit in 4 bits"),
        (Instruction(0x8E, 0, 0, 0x8000, 0), "does not fit its field"),
        (Instruction(0x8E, 0, 0, 0, 1 << 31), "does not fit its field"),
        (Instruction(0x18, 0, 0, 0, 1 << 64), "does not fit in 64 bits"),
        (Instruction(0x100, 0, 0, 0, 0), "does not fit in 8 bits"),
    ],
)
def test_a_value_too_big_for_its_field_still_raises(insn: Instruction, words: str) -> None:
    insns = Instructions([Instruction(0xB7, 0, 0, 0, 0), insn])
    with pytest.raises(InstructionError, match=words) as info:
        insns.encode(strict=False)
    assert info.value.offset == 8
    assert info.value.index == 1


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (object(), "not an Instruction"),
        (Instruction("x", 0, 0, 0, 0), "opcode must be an int, not str"),  # type: ignore[arg-type]
        (Instruction(0xB7, 0, 0, 0, 1.5), "constant must be an int, not float"),  # type: ignore[arg-type]
    ],
)
def test_what_is_no_instruction_raises_as_strictly(item: object, words: str) -> None:
    code = [Instruction(0xB7, 0, 0, 0, 0), item]
    for strict in (True, False):
        with pytest.raises(InstructionError, match=words) as info:
            encode_instructions(code, "little", strict=strict)  # type: ignore[arg-type]
        assert (info.value.offset, info.value.index) == (8, 1)
