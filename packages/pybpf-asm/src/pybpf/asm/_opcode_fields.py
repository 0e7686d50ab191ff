"""The opcode fields as enums, public in :mod:`pybpf.asm.opcodes` and :mod:`pybpf.asm`.

Apart from the plain numbers so that decoding, relocating and loading
programs, which compare ints, build none of these classes; building and
printing programs do. Each member is the number :mod:`pybpf.asm.opcodes`
defines. The meanings of the ``src`` field are apart again
(:mod:`pybpf.asm._sources`): code that names a pseudo source names no
opcode field.
"""

from __future__ import annotations

from pybpf.asm import opcodes as op

# Not typing.TYPE_CHECKING: importing typing costs more than this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = [
    "ALUOp",
    "AtomicOp",
    "JumpOp",
    "Mode",
    "OpClass",
    "Size",
    "Source",
]


class OpClass(IntEnum):
    """The instruction class: the low three bits of the opcode."""

    LD = op.LD
    LDX = op.LDX
    ST = op.ST
    STX = op.STX
    ALU = op.ALU
    JMP = op.JMP
    JMP32 = op.JMP32
    ALU64 = op.ALU64


class Size(IntEnum):
    """Access size of load and store instructions (opcode bits 3-4)."""

    W = op.W
    H = op.H
    B = op.B
    DW = op.DW

    @property
    def bytes(self) -> int:
        """The access size in bytes."""
        return _SIZE_BYTES[self]

    @classmethod
    def of_bytes(cls, n: int) -> Size:
        """The size that accesses ``n`` bytes (1, 2, 4 or 8)."""
        try:
            return _BYTES_SIZE[n]
        except (KeyError, TypeError):
            raise ValueError(f"access size must be 1, 2, 4 or 8 bytes, not {n!r}") from None


_SIZE_BYTES = {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}


class Mode(IntEnum):
    """Addressing mode of load and store instructions (opcode bits 5-7)."""

    IMM = op.IMM
    ABS = op.ABS
    IND = op.IND
    MEM = op.MEM
    MEMSX = op.MEMSX
    ATOMIC = op.ATOMIC


class Source(IntEnum):
    """Operand source of ALU and jump instructions (opcode bit 3)."""

    K = op.K
    X = op.X


class ALUOp(IntEnum):
    """Operation of ALU and ALU64 instructions (opcode bits 4-7)."""

    ADD = op.ADD
    SUB = op.SUB
    MUL = op.MUL
    DIV = op.DIV
    OR = op.OR
    AND = op.AND
    LSH = op.LSH
    RSH = op.RSH
    NEG = op.NEG
    MOD = op.MOD
    XOR = op.XOR
    MOV = op.MOV
    ARSH = op.ARSH
    END = op.END


class JumpOp(IntEnum):
    """Operation of JMP and JMP32 instructions (opcode bits 4-7)."""

    JA = op.JA
    JEQ = op.JEQ
    JGT = op.JGT
    JGE = op.JGE
    JSET = op.JSET
    JNE = op.JNE
    JSGT = op.JSGT
    JSGE = op.JSGE
    CALL = op.CALL
    EXIT = op.EXIT
    JLT = op.JLT
    JLE = op.JLE
    JSLT = op.JSLT
    JSLE = op.JSLE
    JCOND = op.JCOND


class AtomicOp(IntEnum):
    """The immediate of an atomic instruction: operation plus the FETCH flag."""

    ADD = op.ADD
    OR = op.OR
    AND = op.AND
    XOR = op.XOR
    FETCH_ADD = op.ADD | op.FETCH
    FETCH_OR = op.OR | op.FETCH
    FETCH_AND = op.AND | op.FETCH
    FETCH_XOR = op.XOR | op.FETCH
    XCHG = op.XCHG
    CMPXCHG = op.CMPXCHG
    LOAD_ACQUIRE = op.LOAD_ACQ
    STORE_RELEASE = op.STORE_REL
