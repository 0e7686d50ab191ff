"""Text form of instructions, following llvm-objdump (LLVM 19) where it has one.

Immediates and offsets are hex as LLVM prints them (``r2 += -0x4``,
``goto +0x3``). Forms LLVM cannot print (pseudo LD_IMM64 sources, kfunc
calls, load-acquire/store-release) get a spelling in the same style. A
reference is shown as ``<name>`` after the instruction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pybpf.asm.opcodes import (
    ADDR_SPACE_CAST,
    LD_IMM64,
    ALUOp,
    AtomicOp,
    CallSource,
    JumpOp,
    Mode,
    OpClass,
    PseudoSource,
    Size,
    Source,
)

if TYPE_CHECKING:
    from pybpf.asm.instruction import Instruction

__all__ = ["format_instruction"]

_ALU_SYMBOLS = {
    ALUOp.ADD: "+=",
    ALUOp.SUB: "-=",
    ALUOp.MUL: "*=",
    ALUOp.DIV: "/=",
    ALUOp.OR: "|=",
    ALUOp.AND: "&=",
    ALUOp.LSH: "<<=",
    ALUOp.RSH: ">>=",
    ALUOp.MOD: "%=",
    ALUOp.XOR: "^=",
    ALUOp.MOV: "=",
    ALUOp.ARSH: "s>>=",
}
_JUMP_SYMBOLS = {
    JumpOp.JEQ: "==",
    JumpOp.JGT: ">",
    JumpOp.JGE: ">=",
    JumpOp.JSET: "&",
    JumpOp.JNE: "!=",
    JumpOp.JSGT: "s>",
    JumpOp.JSGE: "s>=",
    JumpOp.JLT: "<",
    JumpOp.JLE: "<=",
    JumpOp.JSLT: "s<",
    JumpOp.JSLE: "s<=",
}
_SIZE_TYPES = {Size.B: "8", Size.H: "16", Size.W: "32", Size.DW: "64"}
_ATOMIC_SYMBOLS = {AtomicOp.ADD: "+=", AtomicOp.OR: "|=", AtomicOp.AND: "&=", AtomicOp.XOR: "^="}
_FETCH_NAMES = {
    AtomicOp.FETCH_ADD: "add",
    AtomicOp.FETCH_OR: "or",
    AtomicOp.FETCH_AND: "and",
    AtomicOp.FETCH_XOR: "xor",
}
_PSEUDO_NAMES = {
    PseudoSource.MAP_FD: "map_fd",
    PseudoSource.MAP_VALUE: "map_value",
    PseudoSource.BTF_ID: "btf_id",
    PseudoSource.FUNC: "func",
    PseudoSource.MAP_IDX: "map_idx",
    PseudoSource.MAP_IDX_VALUE: "map_idx_value",
}


def _helper_name(number: int) -> str | None:
    """The name of helper ``number`` in lower case, as LLVM prints it; None if unknown."""
    # Imported here: every Instruction's repr comes from this module, and the
    # ~200-member Helper enum costs more to build than a load path that never
    # prints a helper call should pay.
    from pybpf.asm._uapi import Helper  # noqa: PLC0415

    try:
        return Helper(number).name.lower()
    except ValueError:
        return None


def _hex(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _rel(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"+{value:#x}"


def _mem(base: str, off: int) -> str:
    return f"{base} - {-off:#x}" if off < 0 else f"{base} + {off:#x}"


def format_instruction(insn: Instruction) -> str:
    """One instruction as text, e.g. ``r0 = 0x0`` or ``if r1 == 0x0 goto +0x3 <out>``."""
    try:
        text = _FORMATTERS[insn.opcode & 0x07](insn)
    except (KeyError, ValueError, TypeError):
        text = None
    if text is None:
        text = f"<unknown opcode {insn.opcode:#04x}>"
    if insn.reference is not None:
        text += f" <{insn.reference}>"
    return text


def _alu(insn: Instruction) -> str | None:
    is64 = insn.opcode & 0x07 == OpClass.ALU64
    reg = "r" if is64 else "w"
    op = ALUOp(insn.opcode & 0xF0)
    dst = f"{reg}{insn.dst}"
    x = insn.opcode & Source.X
    if op == ALUOp.NEG:
        return f"{dst} = -{dst}"
    if op == ALUOp.END:
        kind = "bswap" if is64 else "be" if x else "le"
        return f"r{insn.dst} = {kind}{insn.constant} r{insn.dst}"
    operand = f"{reg}{insn.src}" if x else _hex(insn.constant)
    if op == ALUOp.MOV and is64 and x and insn.offset == ADDR_SPACE_CAST:
        spaces = insn.constant & 0xFFFFFFFF
        return f"{dst} = addr_space_cast({operand}, {spaces >> 16:#x}, {spaces & 0xFFFF:#x})"
    if op == ALUOp.MOV and insn.offset:
        return f"{dst} = (s{insn.offset}){operand}"
    symbol = _ALU_SYMBOLS[op]
    if op in (ALUOp.DIV, ALUOp.MOD) and insn.offset == 1:
        symbol = "s" + symbol
    return f"{dst} {symbol} {operand}"


def _jump(insn: Instruction) -> str | None:
    is32 = insn.opcode & 0x07 == OpClass.JMP32
    op = JumpOp(insn.opcode & 0xF0)
    if op == JumpOp.JA:
        if is32:
            return f"gotol {_rel(insn.constant)}"
        return f"goto {_rel(insn.offset)}"
    if op == JumpOp.EXIT:
        return "exit"
    if op == JumpOp.CALL:
        text = f"call {_hex(insn.constant)}"
        if insn.src == CallSource.HELPER and insn.reference is None:
            name = _helper_name(insn.constant)
            if name is not None:
                text += f" <{name}>"
        elif insn.src == CallSource.KFUNC:
            text = f"call kfunc {_hex(insn.constant)}"
        return text
    if op == JumpOp.JCOND:
        return f"may_goto {_rel(insn.offset)}"
    reg = "w" if is32 else "r"
    operand = f"{reg}{insn.src}" if insn.opcode & Source.X else _hex(insn.constant)
    return f"if {reg}{insn.dst} {_JUMP_SYMBOLS[op]} {operand} goto {_rel(insn.offset)}"


def _ld(insn: Instruction) -> str | None:
    if insn.opcode == LD_IMM64:
        if insn.src == PseudoSource.IMM:
            return f"r{insn.dst} = {_hex(insn.constant)} ll"
        name = _PSEUDO_NAMES[PseudoSource(insn.src)]
        if insn.src in (PseudoSource.MAP_VALUE, PseudoSource.MAP_IDX_VALUE):
            fd, value_off = insn.constant & 0xFFFFFFFF, (insn.constant >> 32) & 0xFFFFFFFF
            return f"r{insn.dst} = {name} {fd:#x} + {value_off:#x} ll"
        if insn.src == PseudoSource.FUNC:
            return f"r{insn.dst} = {name} {_rel(insn.branch_offset)} ll"
        return f"r{insn.dst} = {name} {insn.constant & 0xFFFFFFFF:#x} ll"
    width = _SIZE_TYPES[Size(insn.opcode & 0x18)]
    mode = insn.opcode & 0xE0
    if mode == Mode.ABS:
        return f"r0 = *(u{width} *)skb[{_hex(insn.constant)}]"
    if mode == Mode.IND:
        index = f"r{insn.src}" if not insn.constant else _mem(f"r{insn.src}", insn.constant)
        return f"r0 = *(u{width} *)skb[{index}]"
    return None


def _ldx(insn: Instruction) -> str | None:
    width = _SIZE_TYPES[Size(insn.opcode & 0x18)]
    sign = "s" if insn.opcode & 0xE0 == Mode.MEMSX else "u"
    return f"r{insn.dst} = *({sign}{width} *)({_mem(f'r{insn.src}', insn.offset)})"


def _st(insn: Instruction) -> str | None:
    width = _SIZE_TYPES[Size(insn.opcode & 0x18)]
    return f"*(u{width} *)({_mem(f'r{insn.dst}', insn.offset)}) = {_hex(insn.constant)}"


def _stx(insn: Instruction) -> str | None:
    size = Size(insn.opcode & 0x18)
    width = _SIZE_TYPES[size]
    addr = _mem(f"r{insn.dst}", insn.offset)
    if insn.opcode & 0xE0 == Mode.MEM:
        return f"*(u{width} *)({addr}) = r{insn.src}"
    reg = "r" if size == Size.DW else "w"
    op = AtomicOp(insn.constant)
    src = f"{reg}{insn.src}"
    if op in _ATOMIC_SYMBOLS:
        return f"lock *(u{width} *)({addr}) {_ATOMIC_SYMBOLS[op]} {src}"
    if op in _FETCH_NAMES:
        return f"{src} = atomic_fetch_{_FETCH_NAMES[op]}((u{width} *)({addr}), {src})"
    if op == AtomicOp.XCHG:
        name = "xchg_64" if size == Size.DW else "xchg32_32"
        return f"{src} = {name}({addr}, {src})"
    if op == AtomicOp.CMPXCHG:
        name = "cmpxchg_64" if size == Size.DW else "cmpxchg32_32"
        return f"{reg}0 = {name}({addr}, {reg}0, {src})"
    if op == AtomicOp.LOAD_ACQUIRE:
        # Load-acquire reads from src + offset into dst, unlike every other atomic.
        addr = _mem(f"r{insn.src}", insn.offset)
        return f"{reg}{insn.dst} = load_acquire((u{width} *)({addr}))"
    return f"store_release((u{width} *)({addr}), {src})"


_FORMATTERS: dict[int, Callable[[Instruction], str | None]] = {
    OpClass.LD: _ld,
    OpClass.LDX: _ldx,
    OpClass.ST: _st,
    OpClass.STX: _stx,
    OpClass.ALU: _alu,
    OpClass.JMP: _jump,
    OpClass.JMP32: _jump,
    OpClass.ALU64: _alu,
}
