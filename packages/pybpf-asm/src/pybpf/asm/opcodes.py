"""The fields of an eBPF opcode, as RFC 9669 and ``linux/bpf.h`` define them.

These are instruction-set facts (``#define``s in the UAPI header, absent from
kernel BTF), so they are spelled out here once and nowhere else.
"""

from __future__ import annotations

import enum

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm._registers import (
        R0,
        R1,
        R2,
        R3,
        R4,
        R5,
        R6,
        R7,
        R8,
        R9,
        R10,
        RFP,
        Register,
    )

__all__ = [
    "ADDR_SPACE_CAST",
    "ADDR_SPACE_CASTS",
    "LD_IMM64",
    "R0",
    "R1",
    "R2",
    "R3",
    "R4",
    "R5",
    "R6",
    "R7",
    "R8",
    "R9",
    "R10",
    "RFP",
    "VALID_OPCODES",
    "ALUOp",
    "AtomicOp",
    "CallSource",
    "JumpOp",
    "Mode",
    "OpClass",
    "PseudoSource",
    "Register",
    "Size",
    "Source",
]


class OpClass(enum.IntEnum):
    """The instruction class: the low three bits of the opcode."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Size(enum.IntEnum):
    """Access size of load and store instructions (opcode bits 3-4)."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

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


class Mode(enum.IntEnum):
    """Addressing mode of load and store instructions (opcode bits 5-7)."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class Source(enum.IntEnum):
    """Operand source of ALU and jump instructions (opcode bit 3)."""

    K = 0x00
    X = 0x08


class ALUOp(enum.IntEnum):
    """Operation of ALU and ALU64 instructions (opcode bits 4-7)."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JumpOp(enum.IntEnum):
    """Operation of JMP and JMP32 instructions (opcode bits 4-7)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0


class AtomicOp(enum.IntEnum):
    """The immediate of an atomic instruction: operation plus the FETCH flag."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1
    LOAD_ACQUIRE = 0x100
    STORE_RELEASE = 0x110


class PseudoSource(enum.IntEnum):
    """What the 64-bit immediate of an LD_IMM64 stands for (its ``src`` field)."""

    #: A plain 64-bit constant.
    IMM = 0
    #: ``BPF_PSEUDO_MAP_FD``: the low half is a map fd.
    MAP_FD = 1
    #: ``BPF_PSEUDO_MAP_VALUE``: a map fd and an offset into its value.
    MAP_VALUE = 2
    #: ``BPF_PSEUDO_BTF_ID``: a kernel variable by BTF id.
    BTF_ID = 3
    #: ``BPF_PSEUDO_FUNC``: the address of a subprogram, relative like a call.
    FUNC = 4
    #: ``BPF_PSEUDO_MAP_IDX``: an index into the ``fd_array`` of the load.
    MAP_IDX = 5
    #: ``BPF_PSEUDO_MAP_IDX_VALUE``: ``fd_array`` index and value offset.
    MAP_IDX_VALUE = 6


class CallSource(enum.IntEnum):
    """What a CALL instruction calls (its ``src`` field)."""

    #: A helper function by id (``enum bpf_func_id``).
    HELPER = 0
    #: ``BPF_PSEUDO_CALL``: a subprogram, by relative offset.
    LOCAL = 1
    #: ``BPF_PSEUDO_KFUNC_CALL``: a kernel function by BTF id.
    KFUNC = 2


#: Opcode bytes that are instructions by themselves (LD_IMM64's zero second half is not).
VALID_OPCODES: frozenset[int] = frozenset(
    # ALU and ALU64: every operation with both sources, except NEG (K only) and
    # END, whose source bit selects the byte order in ALU and must be 0 in ALU64.
    {
        cls | op | src
        for cls in (OpClass.ALU, OpClass.ALU64)
        for op in ALUOp
        if op not in (ALUOp.NEG, ALUOp.END)
        for src in Source
    }
    | {OpClass.ALU | ALUOp.NEG, OpClass.ALU64 | ALUOp.NEG}
    | {OpClass.ALU | ALUOp.END | Source.K, OpClass.ALU | ALUOp.END | Source.X}
    | {OpClass.ALU64 | ALUOp.END}
    # Conditional jumps in both classes, with both sources.
    | {
        cls | op | src
        for cls in (OpClass.JMP, OpClass.JMP32)
        for op in JumpOp
        if op not in (JumpOp.JA, JumpOp.CALL, JumpOp.EXIT, JumpOp.JCOND)
        for src in Source
    }
    | {
        OpClass.JMP | JumpOp.JA,
        OpClass.JMP32 | JumpOp.JA,
        OpClass.JMP | JumpOp.CALL,
        OpClass.JMP | JumpOp.EXIT,
        OpClass.JMP | JumpOp.JCOND,
    }
    # LD: the 64-bit immediate and the legacy packet accesses.
    | {OpClass.LD | Mode.IMM | Size.DW}
    | {
        OpClass.LD | mode | size
        for mode in (Mode.ABS, Mode.IND)
        for size in (Size.W, Size.H, Size.B)
    }
    | {OpClass.LDX | Mode.MEM | size for size in Size}
    | {OpClass.LDX | Mode.MEMSX | size for size in (Size.W, Size.H, Size.B)}
    | {OpClass.ST | Mode.MEM | size for size in Size}
    | {OpClass.STX | Mode.MEM | size for size in Size}
    | {OpClass.STX | Mode.ATOMIC | size for size in Size}
)

#: The opcode of the two-slot 64-bit immediate load.
LD_IMM64 = OpClass.LD | Mode.IMM | Size.DW

#: ``BPF_ADDR_SPACE_CAST``: the ``offset`` that makes an ALU64 register ``MOV``
#: an ``addr_space_cast`` (Linux 6.9, BPF arenas). Its immediate is
#: ``dst_as << 16 | src_as``, the address spaces converted to and from.
ADDR_SPACE_CAST = 1

#: The immediates the kernel's verifier accepts for ``addr_space_cast``: from
#: the arena (address space 1) to kernel pointers (0), libbpf's ``cast_kern``,
#: and back, its ``cast_user``.
ADDR_SPACE_CASTS: frozenset[int] = frozenset({0x1, 0x1_0000})

# The registers are built when first read (PEP 562): decoding and loading
# programs use none of them, only building and printing them do.
_EXPORTS = {
    "pybpf.asm._registers": (
        "R0",
        "R1",
        "R2",
        "R3",
        "R4",
        "R5",
        "R6",
        "R7",
        "R8",
        "R9",
        "R10",
        "RFP",
        "Register",
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
