"""Instruction constructors that read like the assembly they build.

A :class:`Register` operand means "register", a plain ``int`` means
"immediate": ``add(R1, R2)`` is ``r1 += r2``, ``add(R1, 8)`` is ``r1 += 8``.
Names ending in ``32`` use the 32-bit classes (ALU, JMP32, ``w`` registers).
A jump or call target is a ``str`` (a label or symbol, resolved later by
:meth:`Instructions.resolve_references`) or an ``int`` (a relative offset in
slots). Sizes of memory accesses are in bytes: 1, 2, 4 or 8.
"""

from __future__ import annotations

from dataclasses import dataclass

from pybpf.asm.errors import InstructionError
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import (
    ADDR_SPACE_CAST,
    ADDR_SPACE_CASTS,
    LD_IMM64,
    ALUOp,
    AtomicOp,
    CallSource,
    JumpOp,
    Mode,
    OpClass,
    PseudoSource,
    Register,
    Size,
    Source,
)

__all__ = [
    "Label",
    "Symbol",
    "add",
    "add32",
    "addr_space_cast",
    "and32",
    "and_",
    "arsh",
    "arsh32",
    "atomic_add",
    "atomic_and",
    "atomic_cmpxchg",
    "atomic_or",
    "atomic_xchg",
    "atomic_xor",
    "bswap",
    "call",
    "call_kfunc",
    "div",
    "div32",
    "exit",
    "gotol",
    "ja",
    "jeq",
    "jeq32",
    "jge",
    "jge32",
    "jgt",
    "jgt32",
    "jle",
    "jle32",
    "jlt",
    "jlt32",
    "jne",
    "jne32",
    "jset",
    "jset32",
    "jsge",
    "jsge32",
    "jsgt",
    "jsgt32",
    "jsle",
    "jsle32",
    "jslt",
    "jslt32",
    "label",
    "ld_abs",
    "ld_btf_id",
    "ld_func",
    "ld_imm64",
    "ld_ind",
    "ld_map_fd",
    "ld_map_idx",
    "ld_map_idx_value",
    "ld_map_value",
    "load",
    "load_acquire",
    "load_sx",
    "lsh",
    "lsh32",
    "may_goto",
    "mod",
    "mod32",
    "mov",
    "mov32",
    "movsx",
    "movsx32",
    "mul",
    "mul32",
    "neg",
    "neg32",
    "or32",
    "or_",
    "rsh",
    "rsh32",
    "sdiv",
    "sdiv32",
    "smod",
    "smod32",
    "store",
    "store_release",
    "sub",
    "sub32",
    "symbol",
    "to_be",
    "to_le",
    "xor",
    "xor32",
]

Operand = Register | int
Target = str | int


@dataclass(frozen=True)
class Label:
    """Marker in a builder list: names the next instruction as a jump target."""

    name: str


@dataclass(frozen=True)
class Symbol:
    """Marker in a builder list: the next instruction starts the function ``name``."""

    name: str


def label(name: str) -> Label:
    """Name the next instruction ``name``, for jumps to it."""
    return Label(name)


def symbol(name: str) -> Symbol:
    """Start the function ``name`` at the next instruction."""
    return Symbol(name)


# -- operand checks ----------------------------------------------------------


def _reg(value: object, what: str = "register") -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
        return int(value)
    raise InstructionError(f"{what} must be one of R0-R10, not {value!r}")


def _imm32(value: int) -> int:
    """A 32-bit immediate; unsigned values up to 2**32-1 are taken as their bit pattern."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InstructionError(f"immediate must be an int, not {value!r}")
    if not -0x80000000 <= value <= 0xFFFFFFFF:
        raise InstructionError(f"immediate {value} does not fit in 32 bits")
    return value - (1 << 32) if value > 0x7FFFFFFF else value


def _off16(value: int) -> int:
    if not isinstance(value, int) or not -0x8000 <= value <= 0x7FFF:
        raise InstructionError(f"offset {value!r} does not fit in 16 signed bits")
    return value


def _size(size: int) -> Size:
    try:
        return Size.of_bytes(size)
    except ValueError as err:
        raise InstructionError(str(err)) from None


# -- ALU ---------------------------------------------------------------------


def _alu(cls: OpClass, op: ALUOp, dst: Register, src: Operand, offset: int = 0) -> Instruction:
    if isinstance(src, Register):
        return Instruction(cls | op | Source.X, _reg(dst, "dst"), int(src), offset)
    return Instruction(cls | op | Source.K, _reg(dst, "dst"), 0, offset, _imm32(src))


def mov(dst: Register, src: Operand) -> Instruction:
    """``dst = src`` (64-bit; an immediate is sign-extended)."""
    return _alu(OpClass.ALU64, ALUOp.MOV, dst, src)


def mov32(dst: Register, src: Operand) -> Instruction:
    """``wdst = wsrc`` (32-bit; zero-extends into the upper half)."""
    return _alu(OpClass.ALU, ALUOp.MOV, dst, src)


def movsx(dst: Register, src: Register, bits: int) -> Instruction:
    """``dst = (s<bits>)src``: sign-extend the low 8, 16 or 32 bits of ``src``."""
    if bits not in (8, 16, 32):
        raise InstructionError(f"movsx sign-extends 8, 16 or 32 bits, not {bits}")
    return _alu(OpClass.ALU64, ALUOp.MOV, dst, Register(_reg(src, "src")), bits)


def movsx32(dst: Register, src: Register, bits: int) -> Instruction:
    """``wdst = (s<bits>)wsrc``: sign-extend the low 8 or 16 bits of ``src``."""
    if bits not in (8, 16):
        raise InstructionError(f"movsx32 sign-extends 8 or 16 bits, not {bits}")
    return _alu(OpClass.ALU, ALUOp.MOV, dst, Register(_reg(src, "src")), bits)


def addr_space_cast(dst: Register, src: Register, dst_as: int, src_as: int) -> Instruction:
    """Convert the pointer in ``src`` from address space ``src_as`` to ``dst_as``, into ``dst``.

    The kernel (6.9+) converts between a BPF arena (address space 1) and
    kernel pointers (0) only: ``addr_space_cast(R1, R1, 0, 1)`` is libbpf's
    ``cast_kern``, ``addr_space_cast(R1, R1, 1, 0)`` its ``cast_user``.
    """
    spaces = (
        dst_as << 16 | src_as
        if all(isinstance(a, int) and 0 <= a <= 0xFFFF for a in (dst_as, src_as))
        else None
    )
    if spaces is None or spaces not in ADDR_SPACE_CASTS:
        raise InstructionError(
            f"addr_space_cast converts between address spaces 0 and 1, not {src_as!r} to {dst_as!r}"
        )
    return Instruction(
        OpClass.ALU64 | ALUOp.MOV | Source.X,
        _reg(dst, "dst"),
        _reg(src, "src"),
        ADDR_SPACE_CAST,
        spaces,
    )


def add(dst: Register, src: Operand) -> Instruction:
    """``dst += src``."""
    return _alu(OpClass.ALU64, ALUOp.ADD, dst, src)


def add32(dst: Register, src: Operand) -> Instruction:
    """``wdst += src``."""
    return _alu(OpClass.ALU, ALUOp.ADD, dst, src)


def sub(dst: Register, src: Operand) -> Instruction:
    """``dst -= src``."""
    return _alu(OpClass.ALU64, ALUOp.SUB, dst, src)


def sub32(dst: Register, src: Operand) -> Instruction:
    """``wdst -= src``."""
    return _alu(OpClass.ALU, ALUOp.SUB, dst, src)


def mul(dst: Register, src: Operand) -> Instruction:
    """``dst *= src``."""
    return _alu(OpClass.ALU64, ALUOp.MUL, dst, src)


def mul32(dst: Register, src: Operand) -> Instruction:
    """``wdst *= src``."""
    return _alu(OpClass.ALU, ALUOp.MUL, dst, src)


def div(dst: Register, src: Operand) -> Instruction:
    """``dst /= src`` (unsigned)."""
    return _alu(OpClass.ALU64, ALUOp.DIV, dst, src)


def div32(dst: Register, src: Operand) -> Instruction:
    """``wdst /= src`` (unsigned)."""
    return _alu(OpClass.ALU, ALUOp.DIV, dst, src)


def sdiv(dst: Register, src: Operand) -> Instruction:
    """``dst s/= src`` (signed)."""
    return _alu(OpClass.ALU64, ALUOp.DIV, dst, src, 1)


def sdiv32(dst: Register, src: Operand) -> Instruction:
    """``wdst s/= src`` (signed)."""
    return _alu(OpClass.ALU, ALUOp.DIV, dst, src, 1)


def mod(dst: Register, src: Operand) -> Instruction:
    """``dst %= src`` (unsigned)."""
    return _alu(OpClass.ALU64, ALUOp.MOD, dst, src)


def mod32(dst: Register, src: Operand) -> Instruction:
    """``wdst %= src`` (unsigned)."""
    return _alu(OpClass.ALU, ALUOp.MOD, dst, src)


def smod(dst: Register, src: Operand) -> Instruction:
    """``dst s%= src`` (signed)."""
    return _alu(OpClass.ALU64, ALUOp.MOD, dst, src, 1)


def smod32(dst: Register, src: Operand) -> Instruction:
    """``wdst s%= src`` (signed)."""
    return _alu(OpClass.ALU, ALUOp.MOD, dst, src, 1)


def or_(dst: Register, src: Operand) -> Instruction:
    """``dst |= src``."""
    return _alu(OpClass.ALU64, ALUOp.OR, dst, src)


def or32(dst: Register, src: Operand) -> Instruction:
    """``wdst |= src``."""
    return _alu(OpClass.ALU, ALUOp.OR, dst, src)


def and_(dst: Register, src: Operand) -> Instruction:
    """``dst &= src``."""
    return _alu(OpClass.ALU64, ALUOp.AND, dst, src)


def and32(dst: Register, src: Operand) -> Instruction:
    """``wdst &= src``."""
    return _alu(OpClass.ALU, ALUOp.AND, dst, src)


def xor(dst: Register, src: Operand) -> Instruction:
    """``dst ^= src``."""
    return _alu(OpClass.ALU64, ALUOp.XOR, dst, src)


def xor32(dst: Register, src: Operand) -> Instruction:
    """``wdst ^= src``."""
    return _alu(OpClass.ALU, ALUOp.XOR, dst, src)


def lsh(dst: Register, src: Operand) -> Instruction:
    """``dst <<= src``."""
    return _alu(OpClass.ALU64, ALUOp.LSH, dst, src)


def lsh32(dst: Register, src: Operand) -> Instruction:
    """``wdst <<= src``."""
    return _alu(OpClass.ALU, ALUOp.LSH, dst, src)


def rsh(dst: Register, src: Operand) -> Instruction:
    """``dst >>= src`` (logical)."""
    return _alu(OpClass.ALU64, ALUOp.RSH, dst, src)


def rsh32(dst: Register, src: Operand) -> Instruction:
    """``wdst >>= src`` (logical)."""
    return _alu(OpClass.ALU, ALUOp.RSH, dst, src)


def arsh(dst: Register, src: Operand) -> Instruction:
    """``dst s>>= src`` (arithmetic)."""
    return _alu(OpClass.ALU64, ALUOp.ARSH, dst, src)


def arsh32(dst: Register, src: Operand) -> Instruction:
    """``wdst s>>= src`` (arithmetic)."""
    return _alu(OpClass.ALU, ALUOp.ARSH, dst, src)


def neg(dst: Register) -> Instruction:
    """``dst = -dst``."""
    return Instruction(OpClass.ALU64 | ALUOp.NEG, _reg(dst, "dst"))


def neg32(dst: Register) -> Instruction:
    """``wdst = -wdst``."""
    return Instruction(OpClass.ALU | ALUOp.NEG, _reg(dst, "dst"))


def _swap_bits(bits: int) -> int:
    if bits not in (16, 32, 64):
        raise InstructionError(f"byte swaps take 16, 32 or 64 bits, not {bits}")
    return bits


def to_le(dst: Register, bits: int) -> Instruction:
    """``dst = le<bits> dst``: convert from little endian (truncates to ``bits``)."""
    return Instruction(OpClass.ALU | ALUOp.END | Source.K, _reg(dst, "dst"), 0, 0, _swap_bits(bits))


def to_be(dst: Register, bits: int) -> Instruction:
    """``dst = be<bits> dst``: convert from big endian (truncates to ``bits``)."""
    return Instruction(OpClass.ALU | ALUOp.END | Source.X, _reg(dst, "dst"), 0, 0, _swap_bits(bits))


def bswap(dst: Register, bits: int) -> Instruction:
    """``dst = bswap<bits> dst``: unconditional byte swap (ALU64 END, cpu v4)."""
    return Instruction(OpClass.ALU64 | ALUOp.END, _reg(dst, "dst"), 0, 0, _swap_bits(bits))


# -- jumps and calls ---------------------------------------------------------


def _branch(insn: Instruction, target: Target, *, in_imm: bool = False) -> Instruction:
    if isinstance(target, str):
        insn.reference = target
    elif in_imm:
        insn.constant = _imm32(target)
    else:
        insn.offset = _off16(target)
    return insn


def ja(target: Target) -> Instruction:
    """``goto target`` (16-bit offset)."""
    return _branch(Instruction(OpClass.JMP | JumpOp.JA), target)


def gotol(target: Target) -> Instruction:
    """``gotol target``: unconditional jump with a 32-bit offset (cpu v4)."""
    return _branch(Instruction(OpClass.JMP32 | JumpOp.JA), target, in_imm=True)


def may_goto(target: Target) -> Instruction:
    """``may_goto target``: the verifier-bounded loop escape (``BPF_JCOND``)."""
    return _branch(Instruction(OpClass.JMP | JumpOp.JCOND), target)


def _jump(cls: OpClass, op: JumpOp, dst: Register, src: Operand, target: Target) -> Instruction:
    if isinstance(src, Register):
        insn = Instruction(cls | op | Source.X, _reg(dst, "dst"), int(src))
    else:
        insn = Instruction(cls | op | Source.K, _reg(dst, "dst"), 0, 0, _imm32(src))
    return _branch(insn, target)


def jeq(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst == src goto target``."""
    return _jump(OpClass.JMP, JumpOp.JEQ, dst, src, target)


def jeq32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst == src goto target``."""
    return _jump(OpClass.JMP32, JumpOp.JEQ, dst, src, target)


def jne(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst != src goto target``."""
    return _jump(OpClass.JMP, JumpOp.JNE, dst, src, target)


def jne32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst != src goto target``."""
    return _jump(OpClass.JMP32, JumpOp.JNE, dst, src, target)


def jgt(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst > src goto target`` (unsigned)."""
    return _jump(OpClass.JMP, JumpOp.JGT, dst, src, target)


def jgt32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst > src goto target`` (unsigned)."""
    return _jump(OpClass.JMP32, JumpOp.JGT, dst, src, target)


def jge(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst >= src goto target`` (unsigned)."""
    return _jump(OpClass.JMP, JumpOp.JGE, dst, src, target)


def jge32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst >= src goto target`` (unsigned)."""
    return _jump(OpClass.JMP32, JumpOp.JGE, dst, src, target)


def jlt(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst < src goto target`` (unsigned)."""
    return _jump(OpClass.JMP, JumpOp.JLT, dst, src, target)


def jlt32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst < src goto target`` (unsigned)."""
    return _jump(OpClass.JMP32, JumpOp.JLT, dst, src, target)


def jle(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst <= src goto target`` (unsigned)."""
    return _jump(OpClass.JMP, JumpOp.JLE, dst, src, target)


def jle32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst <= src goto target`` (unsigned)."""
    return _jump(OpClass.JMP32, JumpOp.JLE, dst, src, target)


def jsgt(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst s> src goto target`` (signed)."""
    return _jump(OpClass.JMP, JumpOp.JSGT, dst, src, target)


def jsgt32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst s> src goto target`` (signed)."""
    return _jump(OpClass.JMP32, JumpOp.JSGT, dst, src, target)


def jsge(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst s>= src goto target`` (signed)."""
    return _jump(OpClass.JMP, JumpOp.JSGE, dst, src, target)


def jsge32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst s>= src goto target`` (signed)."""
    return _jump(OpClass.JMP32, JumpOp.JSGE, dst, src, target)


def jslt(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst s< src goto target`` (signed)."""
    return _jump(OpClass.JMP, JumpOp.JSLT, dst, src, target)


def jslt32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst s< src goto target`` (signed)."""
    return _jump(OpClass.JMP32, JumpOp.JSLT, dst, src, target)


def jsle(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst s<= src goto target`` (signed)."""
    return _jump(OpClass.JMP, JumpOp.JSLE, dst, src, target)


def jsle32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst s<= src goto target`` (signed)."""
    return _jump(OpClass.JMP32, JumpOp.JSLE, dst, src, target)


def jset(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst & src goto target``."""
    return _jump(OpClass.JMP, JumpOp.JSET, dst, src, target)


def jset32(dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst & src goto target``."""
    return _jump(OpClass.JMP32, JumpOp.JSET, dst, src, target)


def call(target: int | str) -> Instruction:
    """Call a helper by id (an ``int`` such as ``Helper.MAP_LOOKUP_ELEM``) or a subprogram.

    A ``str`` names a function of the program: a bpf-to-bpf call whose offset
    :meth:`Instructions.resolve_references` fills in.
    """
    if isinstance(target, str):
        insn = Instruction(OpClass.JMP | JumpOp.CALL, 0, CallSource.LOCAL, 0, -1)
        insn.reference = target
        return insn
    return Instruction(OpClass.JMP | JumpOp.CALL, 0, CallSource.HELPER, 0, _imm32(target))


def call_kfunc(btf_id: int, name: str | None = None) -> Instruction:
    """Call the kernel function with BTF id ``btf_id`` (``name`` is kept as the reference)."""
    insn = Instruction(OpClass.JMP | JumpOp.CALL, 0, CallSource.KFUNC, 0, _imm32(btf_id))
    if name is not None:
        insn.reference = name
    return insn


def exit() -> Instruction:
    """``exit``: return R0 to the caller."""
    return Instruction(OpClass.JMP | JumpOp.EXIT)


# -- 64-bit immediates -------------------------------------------------------


def _ld64(dst: Register, source: PseudoSource, value: int, reference: str | None) -> Instruction:
    insn = Instruction(LD_IMM64, _reg(dst, "dst"), int(source), 0, value)
    if reference is not None:
        insn.reference = reference
    return insn


def ld_imm64(dst: Register, value: int) -> Instruction:
    """``dst = value ll``: load a 64-bit constant."""
    if not isinstance(value, int) or not -(1 << 63) <= value < (1 << 64):
        raise InstructionError(f"constant {value!r} does not fit in 64 bits")
    if value >= 1 << 63:
        value -= 1 << 64
    return _ld64(dst, PseudoSource.IMM, value, None)


def _map(map_: str | int) -> tuple[int, str | None]:
    if isinstance(map_, str):
        return 0, map_
    if not isinstance(map_, int) or not 0 <= map_ <= 0x7FFFFFFF:
        raise InstructionError(f"map must be a name or an fd, not {map_!r}")
    return map_, None


def ld_map_fd(dst: Register, map_: str | int) -> Instruction:
    """Load a map pointer: ``map_`` is a map name (a reference) or an fd."""
    fd, ref = _map(map_)
    return _ld64(dst, PseudoSource.MAP_FD, fd, ref)


def ld_map_value(dst: Register, map_: str | int, offset: int = 0) -> Instruction:
    """Load a pointer ``offset`` bytes into the value of a single-element map."""
    fd, ref = _map(map_)
    if not 0 <= offset <= 0xFFFFFFFF:
        raise InstructionError(f"map value offset {offset} out of range")
    return _ld64(dst, PseudoSource.MAP_VALUE, (offset << 32) | fd, ref)


def ld_map_idx(dst: Register, index: int) -> Instruction:
    """Load the map at ``index`` of the load's ``fd_array``."""
    return _ld64(dst, PseudoSource.MAP_IDX, _map(index)[0], None)


def ld_map_idx_value(dst: Register, index: int, offset: int = 0) -> Instruction:
    """Load a pointer into the value of the map at ``index`` of the ``fd_array``."""
    if not 0 <= offset <= 0xFFFFFFFF:
        raise InstructionError(f"map value offset {offset} out of range")
    return _ld64(dst, PseudoSource.MAP_IDX_VALUE, (offset << 32) | _map(index)[0], None)


def ld_btf_id(dst: Register, btf_id: int) -> Instruction:
    """Load the address of the kernel variable with BTF id ``btf_id``."""
    return _ld64(dst, PseudoSource.BTF_ID, _imm32(btf_id), None)


def ld_func(dst: Register, name: str) -> Instruction:
    """Load the address of the subprogram ``name`` (for callbacks)."""
    return _ld64(dst, PseudoSource.FUNC, 0, name)


# -- memory ------------------------------------------------------------------


def ld_abs(size: int, offset: int) -> Instruction:
    """Legacy packet load: ``r0 = *(u<size>)skb[offset]`` (socket filters only)."""
    return Instruction(OpClass.LD | Mode.ABS | _size(size), 0, 0, 0, _imm32(offset))


def ld_ind(size: int, src: Register, offset: int = 0) -> Instruction:
    """Legacy packet load: ``r0 = *(u<size>)skb[src + offset]``."""
    return Instruction(OpClass.LD | Mode.IND | _size(size), 0, _reg(src, "src"), 0, _imm32(offset))


def load(dst: Register, src: Register, offset: int = 0, size: int = 8) -> Instruction:
    """``dst = *(u<size> *)(src + offset)``, zero-extended."""
    return Instruction(
        OpClass.LDX | Mode.MEM | _size(size), _reg(dst, "dst"), _reg(src, "src"), _off16(offset)
    )


def load_sx(dst: Register, src: Register, offset: int = 0, size: int = 4) -> Instruction:
    """``dst = *(s<size> *)(src + offset)``, sign-extended (cpu v4; size 1, 2 or 4)."""
    if size == 8:
        raise InstructionError("sign-extending loads take 1, 2 or 4 bytes")
    return Instruction(
        OpClass.LDX | Mode.MEMSX | _size(size), _reg(dst, "dst"), _reg(src, "src"), _off16(offset)
    )


def store(dst: Register, offset: int, value: Operand, size: int = 8) -> Instruction:
    """``*(u<size> *)(dst + offset) = value`` (a register or an immediate)."""
    width = _size(size)
    if isinstance(value, Register):
        return Instruction(
            OpClass.STX | Mode.MEM | width, _reg(dst, "dst"), int(value), _off16(offset)
        )
    return Instruction(
        OpClass.ST | Mode.MEM | width, _reg(dst, "dst"), 0, _off16(offset), _imm32(value)
    )


def _atomic(op: AtomicOp, dst: Register, offset: int, src: Register, size: int) -> Instruction:
    width = _size(size)
    if op not in (AtomicOp.LOAD_ACQUIRE, AtomicOp.STORE_RELEASE) and width not in (Size.W, Size.DW):
        raise InstructionError("atomic read-modify-write operations take 4 or 8 bytes")
    return Instruction(
        OpClass.STX | Mode.ATOMIC | width, _reg(dst, "dst"), _reg(src, "src"), _off16(offset), op
    )


def atomic_add(
    dst: Register, offset: int, src: Register, size: int = 8, *, fetch: bool = False
) -> Instruction:
    """``lock *(dst + offset) += src``; with ``fetch``, ``src`` receives the old value."""
    return _atomic(AtomicOp.FETCH_ADD if fetch else AtomicOp.ADD, dst, offset, src, size)


def atomic_or(
    dst: Register, offset: int, src: Register, size: int = 8, *, fetch: bool = False
) -> Instruction:
    """``lock *(dst + offset) |= src``; with ``fetch``, ``src`` receives the old value."""
    return _atomic(AtomicOp.FETCH_OR if fetch else AtomicOp.OR, dst, offset, src, size)


def atomic_and(
    dst: Register, offset: int, src: Register, size: int = 8, *, fetch: bool = False
) -> Instruction:
    """``lock *(dst + offset) &= src``; with ``fetch``, ``src`` receives the old value."""
    return _atomic(AtomicOp.FETCH_AND if fetch else AtomicOp.AND, dst, offset, src, size)


def atomic_xor(
    dst: Register, offset: int, src: Register, size: int = 8, *, fetch: bool = False
) -> Instruction:
    """``lock *(dst + offset) ^= src``; with ``fetch``, ``src`` receives the old value."""
    return _atomic(AtomicOp.FETCH_XOR if fetch else AtomicOp.XOR, dst, offset, src, size)


def atomic_xchg(dst: Register, offset: int, src: Register, size: int = 8) -> Instruction:
    """Swap ``src`` with ``*(dst + offset)``."""
    return _atomic(AtomicOp.XCHG, dst, offset, src, size)


def atomic_cmpxchg(dst: Register, offset: int, src: Register, size: int = 8) -> Instruction:
    """If ``*(dst + offset) == r0`` store ``src``; r0 receives the old value."""
    return _atomic(AtomicOp.CMPXCHG, dst, offset, src, size)


def load_acquire(dst: Register, src: Register, offset: int = 0, size: int = 8) -> Instruction:
    """Load ``*(src + offset)`` into ``dst`` with acquire ordering (Linux 6.15+)."""
    # Unlike every other atomic, the loaded-into register is dst and the address src.
    return Instruction(
        OpClass.STX | Mode.ATOMIC | _size(size),
        _reg(dst, "dst"),
        _reg(src, "src"),
        _off16(offset),
        AtomicOp.LOAD_ACQUIRE,
    )


def store_release(dst: Register, offset: int, src: Register, size: int = 8) -> Instruction:
    """Store ``src`` to ``*(dst + offset)`` with release ordering (Linux 6.15+)."""
    return _atomic(AtomicOp.STORE_RELEASE, dst, offset, src, size)
