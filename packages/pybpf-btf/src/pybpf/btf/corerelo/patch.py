"""Writing a CO-RE fixup into its instruction: libbpf's ``bpf_core_patch_insn``.

Supported instructions are the ones clang emits for relocations:
``rX = imm`` and ``rX op= imm`` (ALU/ALU64 with an immediate), ``rX = imm64``
(LD_IMM64), and loads and stores ``*(T *)(rX + off)`` whose offset moves.
"""

from __future__ import annotations

from pybpf.asm import opcodes
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import (
    ALU,
    ALU64,
    CALL,
    JMP,
    LD,
    LD_IMM64,
    LDX,
    PSEUDO_NONE,
    ST,
    STX,
    X,
)
from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.fixup import POISON_HELPER_ID, COREFixup

__all__ = ["patch", "poison"]

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_SHRT_MAX = 0x7FFF
_SIZE_MASK = 0x18


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - ((value >> (bits - 1)) << bits)


def _poisoned(insn: Instruction) -> Instruction:
    new = insn.copy()
    new.opcode = JMP | CALL
    new.dst = 0
    new.src = PSEUDO_NONE
    new.offset = 0
    new.constant = POISON_HELPER_ID
    new.reference = None
    return new


def poison(insn: Instruction) -> list[Instruction]:
    """The invalid helper call(s) that replace ``insn``: two for an LD_IMM64, keeping its size.

    The first call keeps the instruction's symbol, label and metadata, so the
    relocation record still points at it.
    """
    first = _poisoned(insn)
    if insn.opcode != LD_IMM64:
        return [first]
    # Poisoning the second slot too spares the verifier a confusing "unknown opcode 00".
    second = Instruction(JMP | CALL, 0, PSEUDO_NONE, 0, POISON_HELPER_ID)
    return [first, second]


def patch(insn: Instruction, fixup: COREFixup) -> list[Instruction]:
    """The instruction(s) that replace ``insn`` once ``fixup`` is applied.

    Normally one patched copy; two invalid helper calls for a poisoned LD_IMM64
    (the slot count never changes, so jumps stay valid). Raises
    :class:`COREError` where libbpf refuses: an unexpected original value (the
    instruction is not what the compiler emitted for this relocation), an offset
    out of the 16-bit range, an instruction of the wrong kind.
    """
    if fixup.poison:
        return poison(insn)
    orig_val = fixup.local & _M64
    new_val = fixup.target & _M64
    cls = insn.opcode & 0x07
    new = insn.copy()

    if cls in (ALU, ALU64):
        if insn.opcode & X:
            raise COREError(f"cannot relocate ALU instruction with a register source: {insn!r}")
        if fixup.validate and insn.constant & _M64 != orig_val:
            raise COREError(
                f"unexpected ALU immediate {insn.constant & _M32}, expected {orig_val} -> {new_val}"
            )
        new.constant = _signed(new_val, 32)
        return [new]

    if cls in (LDX, ST, STX):
        if fixup.validate and insn.offset & _M64 != orig_val:
            raise COREError(
                f"unexpected load/store offset {insn.offset & 0xFFFF}, "
                f"expected {orig_val} -> {new_val}"
            )
        if new_val > _SHRT_MAX:
            raise COREError(f"load/store offset {new_val} too big")
        if fixup.bad_size_change:
            # libbpf poisons rather than fails: the access may sit in dead code.
            return poison(insn)
        new.offset = new_val
        if fixup.target_size != fixup.local_size:
            # The Size enum is built here, for the rare access whose size changes.
            size = opcodes.Size(insn.opcode & _SIZE_MASK)
            if size.bytes != fixup.local_size:
                raise COREError(
                    f"unexpected load/store size {size.bytes}, expected {fixup.local_size}"
                )
            try:
                new_size = opcodes.Size.of_bytes(fixup.target_size)
            except ValueError:
                raise COREError(f"invalid new load/store size {fixup.target_size}") from None
            new.opcode = (insn.opcode & ~_SIZE_MASK) | new_size
        return [new]

    if cls == LD:
        if insn.opcode != LD_IMM64 or insn.src != 0 or insn.offset != 0:
            raise COREError(f"LD_IMM64 of unexpected form: {insn!r}")
        imm = insn.constant & _M64
        if fixup.validate and imm != orig_val:
            raise COREError(f"unexpected LD_IMM64 value {imm}, expected {orig_val} -> {new_val}")
        new.constant = _signed(new_val, 64)
        return [new]

    raise COREError(f"cannot relocate instruction {insn!r}")
