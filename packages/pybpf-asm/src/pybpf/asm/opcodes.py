"""The fields of an eBPF opcode, as RFC 9669 and ``linux/bpf.h`` define them.

These are instruction-set facts (``#define``s in the UAPI header, absent from
kernel BTF), so they are spelled out here once and nowhere else: as plain
ints named as ``linux/bpf.h`` names them without its ``BPF_`` prefix
(``JMP | CALL`` is the opcode of a call, ``PSEUDO_MAP_FD`` the ``src`` of an
LD_IMM64 of a map; ``PSEUDO_NONE``, the ``src`` of neither kind of pseudo
instruction, has no name there), and as enums of each field
(:class:`OpClass`, :class:`JumpOp`, :class:`PseudoSource`, ...) whose
members are those ints.

The enums and the registers are built the first time one is read (PEP 562):
decoding, relocating and loading programs compare plain ints only, and
building an enum class costs more than the module that uses it.
"""

from __future__ import annotations

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm._opcode_fields import (
        ALUOp,
        AtomicOp,
        JumpOp,
        Mode,
        OpClass,
        Size,
        Source,
    )
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
    from pybpf.asm._sources import CallSource, PseudoSource

__all__ = [
    "ABS",
    "ADD",
    "ADDR_SPACE_CAST",
    "ADDR_SPACE_CASTS",
    "ALU",
    "ALU64",
    "AND",
    "ARSH",
    "ATOMIC",
    "CALL",
    "CMPXCHG",
    "DIV",
    "DW",
    "END",
    "EXIT",
    "FETCH",
    "IMM",
    "IND",
    "JA",
    "JCOND",
    "JEQ",
    "JGE",
    "JGT",
    "JLE",
    "JLT",
    "JMP",
    "JMP32",
    "JNE",
    "JSET",
    "JSGE",
    "JSGT",
    "JSLE",
    "JSLT",
    "LD",
    "LDX",
    "LD_IMM64",
    "LOAD_ACQ",
    "LSH",
    "MEM",
    "MEMSX",
    "MOD",
    "MOV",
    "MUL",
    "NEG",
    "OR",
    "PSEUDO_BTF_ID",
    "PSEUDO_CALL",
    "PSEUDO_FUNC",
    "PSEUDO_KFUNC_CALL",
    "PSEUDO_MAP_FD",
    "PSEUDO_MAP_IDX",
    "PSEUDO_MAP_IDX_VALUE",
    "PSEUDO_MAP_VALUE",
    "PSEUDO_NONE",
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
    "RSH",
    "ST",
    "STORE_REL",
    "STX",
    "SUB",
    "VALID_OPCODES",
    "XCHG",
    "XOR",
    "ALUOp",
    "AtomicOp",
    "B",
    "CallSource",
    "H",
    "JumpOp",
    "K",
    "Mode",
    "OpClass",
    "PseudoSource",
    "Register",
    "Size",
    "Source",
    "W",
    "X",
]

# -- instruction class: the low three bits of the opcode (OpClass) ----------
LD = 0x00
LDX = 0x01
ST = 0x02
STX = 0x03
ALU = 0x04
JMP = 0x05
JMP32 = 0x06
ALU64 = 0x07

# -- access size of loads and stores: opcode bits 3-4 (Size) ----------------
#: 4 bytes.
W = 0x00
#: 2 bytes.
H = 0x08
#: 1 byte.
B = 0x10
#: 8 bytes.
DW = 0x18

# -- addressing mode of loads and stores: opcode bits 5-7 (Mode) ------------
IMM = 0x00
ABS = 0x20
IND = 0x40
MEM = 0x60
MEMSX = 0x80
ATOMIC = 0xC0

# -- operand source of ALU and jump instructions: opcode bit 3 (Source) -----
#: The immediate.
K = 0x00
#: The ``src`` register.
X = 0x08

# -- operation of ALU and ALU64 instructions: opcode bits 4-7 (ALUOp) -------
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

# -- operation of JMP and JMP32 instructions: opcode bits 4-7 (JumpOp) ------
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

# -- the immediate of an atomic instruction (AtomicOp) ----------------------
# ADD, OR, AND and XOR, alone or with FETCH (the old value is loaded into src).
#: The flag of an atomic operation that returns the old value.
FETCH = 0x01
XCHG = 0xE0 | FETCH
CMPXCHG = 0xF0 | FETCH
LOAD_ACQ = 0x100
STORE_REL = 0x110

# -- the ``src`` field of an LD_IMM64 (PseudoSource) or a CALL (CallSource) --
#: No pseudo source: an LD_IMM64 of a plain constant, a CALL of a helper by id.
PSEUDO_NONE = 0
#: An LD_IMM64 whose low half is a map fd.
PSEUDO_MAP_FD = 1
#: An LD_IMM64 of a map fd and an offset into its value.
PSEUDO_MAP_VALUE = 2
#: An LD_IMM64 of a kernel variable by BTF id.
PSEUDO_BTF_ID = 3
#: An LD_IMM64 of the address of a subprogram, relative like a call.
PSEUDO_FUNC = 4
#: An LD_IMM64 of an index into the ``fd_array`` of the load.
PSEUDO_MAP_IDX = 5
#: An LD_IMM64 of an ``fd_array`` index and a value offset.
PSEUDO_MAP_IDX_VALUE = 6
#: A CALL of a subprogram, by relative offset.
PSEUDO_CALL = 1
#: A CALL of a kernel function by BTF id.
PSEUDO_KFUNC_CALL = 2

#: The opcode of the two-slot 64-bit immediate load.
LD_IMM64 = LD | IMM | DW

#: Opcode bytes that are instructions by themselves (LD_IMM64's zero second half is not).
VALID_OPCODES: frozenset[int] = frozenset(
    # ALU and ALU64: every operation with both sources, except NEG (K only) and
    # END, whose source bit selects the byte order in ALU and must be 0 in ALU64.
    {
        cls | op | src
        for cls in (ALU, ALU64)
        for op in (ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, MOD, XOR, MOV, ARSH)
        for src in (K, X)
    }
    | {ALU | NEG, ALU64 | NEG, ALU | END | K, ALU | END | X, ALU64 | END}
    # Conditional jumps in both classes, with both sources.
    | {
        cls | op | src
        for cls in (JMP, JMP32)
        for op in (JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE)
        for src in (K, X)
    }
    | {JMP | JA, JMP32 | JA, JMP | CALL, JMP | EXIT, JMP | JCOND}
    # LD: the 64-bit immediate and the legacy packet accesses.
    | {LD_IMM64}
    | {LD | mode | size for mode in (ABS, IND) for size in (W, H, B)}
    | {LDX | MEM | size for size in (W, H, B, DW)}
    | {LDX | MEMSX | size for size in (W, H, B)}
    | {cls | MEM | size for cls in (ST, STX) for size in (W, H, B, DW)}
    | {STX | ATOMIC | size for size in (W, H, B, DW)}
)

#: ``BPF_ADDR_SPACE_CAST``: the ``offset`` that makes an ALU64 register ``MOV``
#: an ``addr_space_cast`` (Linux 6.9, BPF arenas). Its immediate is
#: ``dst_as << 16 | src_as``, the address spaces converted to and from.
ADDR_SPACE_CAST = 1

#: The immediates the kernel's verifier accepts for ``addr_space_cast``: from
#: the arena (address space 1) to kernel pointers (0), libbpf's ``cast_kern``,
#: and back, its ``cast_user``.
ADDR_SPACE_CASTS: frozenset[int] = frozenset({0x1, 0x1_0000})

# The enums and the registers, by the private module defining each: built
# when first read (PEP 562).
_EXPORTS = {
    "pybpf.asm._opcode_fields": (
        "ALUOp",
        "AtomicOp",
        "JumpOp",
        "Mode",
        "OpClass",
        "Size",
        "Source",
    ),
    "pybpf.asm._sources": ("CallSource", "PseudoSource"),
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
