"""Bytes to instructions and back, validated in bulk.

Both directions work on whole programs at once: per-field checks run over
byte strings built with extended slices and ``bytes.translate`` (C loops), so
Python-level work per instruction is one object creation on decode and one
attribute fetch on encode. Only rare opcodes (LD_IMM64, atomics, byte swaps,
calls) get a second, per-instruction look.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterable, Sequence
from itertools import chain, starmap
from operator import attrgetter, itemgetter

from pybpf.asm.errors import InstructionError
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import (
    LD_IMM64,
    VALID_OPCODES,
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

__all__ = ["decode_instructions", "encode_instructions"]

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF

_VALID_OPS = bytes(sorted(VALID_OPCODES))
_REG_NUMBERS = bytes(range(11))
_VALID_REGS = bytes(d | s << 4 for d in range(11) for s in range(11))
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
_SHIFT_NIBBLE = bytes((b << 4) & 0xFF for b in range(256))
_ALU_MASK = bytes(0xFF if b & 0x07 in (OpClass.ALU, OpClass.ALU64) else 0 for b in range(256))
_NONZERO = re.compile(b"[^\x00]")

_ATOMICS = frozenset(OpClass.STX | Mode.ATOMIC | size for size in Size)
_ENDS = frozenset(
    {
        OpClass.ALU | ALUOp.END | Source.K,
        OpClass.ALU | ALUOp.END | Source.X,
        OpClass.ALU64 | ALUOp.END,
    }
)
_CALL = OpClass.JMP | JumpOp.CALL
_JCOND = OpClass.JMP | JumpOp.JCOND
_SPECIAL_OPS = frozenset({LD_IMM64, _CALL, _JCOND} | _ATOMICS | _ENDS)
_SPECIAL = re.compile(b"[" + b"".join(re.escape(bytes([op])) for op in sorted(_SPECIAL_OPS)) + b"]")

_ATOMIC_OPS = frozenset(AtomicOp)
_ACQ_REL = frozenset({AtomicOp.LOAD_ACQUIRE, AtomicOp.STORE_RELEASE})
_WIDE_SIZES = frozenset({Size.W, Size.DW})
_PSEUDO_SOURCES = frozenset(PseudoSource)
_CALL_SOURCES = frozenset(CallSource)
_ALLOWED_ALU_OFFSETS = {
    # Signed division and modulo: offset 1.
    **{
        cls | op | src: frozenset({1})
        for cls in (OpClass.ALU, OpClass.ALU64)
        for op in (ALUOp.DIV, ALUOp.MOD)
        for src in Source
    },
    # MOVSX: the source width to sign-extend from.
    OpClass.ALU64 | ALUOp.MOV | Source.X: frozenset({8, 16, 32}),
    OpClass.ALU | ALUOp.MOV | Source.X: frozenset({8, 16}),
}

_WIDE_FORMAT = {"little": "<", "big": ">"}
_ROW = attrgetter("opcode", "dst", "src", "offset", "constant")
_FIRST = itemgetter(0)


def _byteorder_prefix(byteorder: str) -> str:
    try:
        return _WIDE_FORMAT[byteorder]
    except KeyError:
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}") from None


@functools.lru_cache(maxsize=4)
def _row_struct(prefix: str) -> struct.Struct:
    # One row per slot: opcode, dst, src, offset, imm. Registers get a byte each
    # so that no Python code has to split or join nibbles.
    return struct.Struct(prefix + "BBBhi")


@functools.lru_cache(maxsize=64)
def _program_struct(prefix: str, slots: int) -> struct.Struct:
    return struct.Struct(prefix + "BBBhi" * slots)


def decode_instructions(data: bytes | bytearray | memoryview, byteorder: str) -> list[Instruction]:
    """Decode a whole program; raises :class:`InstructionError` naming the byte offset."""
    prefix = _byteorder_prefix(byteorder)
    raw = bytes(data)
    slots, rest = divmod(len(raw), 8)
    if rest:
        raise InstructionError(
            f"{rest} trailing byte(s), not a whole 8-byte instruction", offset=slots * 8
        )
    if not slots:
        return []
    ops = raw[0::8]
    regs = raw[1::8]
    if ops.translate(None, _VALID_OPS + b"\x00"):
        _raise_first(ops, _VALID_OPS + b"\x00", "unknown opcode")
    if regs.translate(None, _VALID_REGS):
        _raise_first(regs, _VALID_REGS, "register out of range (r0-r10)")
    if prefix == "<":
        dsts, srcs = regs.translate(_LOW_NIBBLE), regs.translate(_HIGH_NIBBLE)
    else:
        dsts, srcs = regs.translate(_HIGH_NIBBLE), regs.translate(_LOW_NIBBLE)

    wide = bytearray(9 * slots)
    wide[0::9] = ops
    wide[1::9] = dsts
    wide[2::9] = srcs
    for k in range(2, 8):
        wide[k + 1 :: 9] = raw[k::8]
    insns = list(starmap(Instruction, _row_struct(prefix).iter_unpack(wide)))

    if _SPECIAL.search(ops):
        _check_special(insns, ops)
    alu_offsets = int.from_bytes(ops.translate(_ALU_MASK), "little") & (
        int.from_bytes(raw[2::8], "little") | int.from_bytes(raw[3::8], "little")
    )
    if alu_offsets:
        _check_alu_offsets(insns, alu_offsets.to_bytes(slots, "little"))
    if b"\x18" in ops or b"\x00" in ops:
        insns = _join_ld_imm64(insns, ops)
    return insns


def _raise_first(field: bytes, valid: bytes, what: str) -> None:
    allowed = frozenset(valid)
    for i, value in enumerate(field):
        if value not in allowed:
            raise InstructionError(f"{what}: {value:#04x}", offset=i * 8)


def _check_special(insns: list[Instruction], ops: bytes) -> None:
    for match in _SPECIAL.finditer(ops):
        i = match.start()
        insn = insns[i]
        op = insn.opcode
        if op == LD_IMM64:
            if insn.src not in _PSEUDO_SOURCES:
                raise InstructionError(f"unknown LD_IMM64 source {insn.src}", offset=i * 8)
        elif op == _CALL:
            if insn.src not in _CALL_SOURCES:
                raise InstructionError(f"unknown call source {insn.src}", offset=i * 8)
        elif op == _JCOND:
            if insn.src != 0:
                raise InstructionError(f"unknown JCOND condition {insn.src}", offset=i * 8)
        elif op in _ENDS:
            if insn.constant not in (16, 32, 64):
                raise InstructionError(
                    f"byte swap width must be 16, 32 or 64, not {insn.constant}", offset=i * 8
                )
        elif insn.constant not in _ATOMIC_OPS:
            raise InstructionError(f"unknown atomic operation {insn.constant:#x}", offset=i * 8)
        elif insn.constant not in _ACQ_REL and (op & 0x18) not in _WIDE_SIZES:
            raise InstructionError(
                "atomic read-modify-write needs a 32- or 64-bit access", offset=i * 8
            )


def _check_alu_offsets(insns: list[Instruction], nonzero: bytes) -> None:
    for match in _NONZERO.finditer(nonzero):
        i = match.start()
        insn = insns[i]
        if insn.offset not in _ALLOWED_ALU_OFFSETS.get(insn.opcode, ()):
            raise InstructionError(
                f"offset {insn.offset} is not valid for ALU opcode {insn.opcode:#04x}",
                offset=i * 8,
            )


def _join_ld_imm64(insns: list[Instruction], ops: bytes) -> list[Instruction]:
    """Fold each LD_IMM64's second slot into its first; reject lone halves."""
    joined: list[Instruction] = []
    start = 0
    slots = len(ops)
    for match in re.finditer(b"[\x18\x00]", ops):
        i = match.start()
        if i < start:
            continue  # the second half just consumed
        if ops[i] == 0:
            raise InstructionError(
                "second half of an LD_IMM64 without a first half (opcode 0x00)", offset=i * 8
            )
        if i + 1 >= slots:
            raise InstructionError("LD_IMM64 truncated: its second half is missing", offset=i * 8)
        low, high = insns[i], insns[i + 1]
        if ops[i + 1] != 0 or high.dst or high.src or high.offset:
            raise InstructionError(
                "LD_IMM64 second half must have opcode, registers and offset 0",
                offset=(i + 1) * 8,
            )
        low.constant = (low.constant & _M32) | (high.constant << 32)
        joined += insns[start : i + 1]
        start = i + 2
    joined += insns[start:]
    return joined


def encode_instructions(insns: Iterable[Instruction], byteorder: str) -> bytes:
    """Encode instructions; raises :class:`InstructionError` for a field out of range."""
    prefix = _byteorder_prefix(byteorder)
    insns = insns if isinstance(insns, Sequence) else list(insns)
    try:
        return _encode_fast(insns, prefix)
    except (struct.error, TypeError, ValueError, OverflowError, AttributeError):
        _validate(insns)
        raise  # _validate found nothing: a genuine bug, not bad input


def _encode_fast(insns: Sequence[Instruction], prefix: str) -> bytes:
    rows = list(map(_ROW, insns))
    if not rows:
        return b""
    ops = bytes(map(_FIRST, rows))
    if ops.translate(None, _VALID_OPS):
        raise ValueError("unknown opcode")
    if b"\x18" in ops:
        rows = _split_ld_imm64(rows, ops)
    slots = len(rows)
    wide = _program_struct(prefix, slots).pack(*chain.from_iterable(rows))
    dsts, srcs = wide[1::9], wide[2::9]
    if dsts.translate(None, _REG_NUMBERS) or srcs.translate(None, _REG_NUMBERS):
        raise ValueError("register out of range")
    if prefix == "<":
        low, high = dsts, srcs
    else:
        low, high = srcs, dsts
    regs = int.from_bytes(low, "little") | int.from_bytes(high.translate(_SHIFT_NIBBLE), "little")
    out = bytearray(8 * slots)
    out[0::8] = wide[0::9]
    out[1::8] = regs.to_bytes(slots, "little")
    for k in range(2, 8):
        out[k::8] = wide[k + 1 :: 9]
    return bytes(out)


def _signed32(value: int) -> int:
    return value - ((value & 0x80000000) << 1)


def _split_ld_imm64(
    rows: list[tuple[int, int, int, int, int]], ops: bytes
) -> list[tuple[int, int, int, int, int]]:
    out: list[tuple[int, int, int, int, int]] = []
    start = 0
    i = ops.find(b"\x18")
    while i >= 0:
        op, dst, src, off, value = rows[i]
        if not -(1 << 63) <= value <= _M64:
            raise ValueError("64-bit immediate out of range")
        value &= _M64
        out += rows[start:i]
        out.append((op, dst, src, off, _signed32(value & _M32)))
        out.append((0, 0, 0, 0, _signed32(value >> 32)))
        start = i + 1
        i = ops.find(b"\x18", start)
    out += rows[start:]
    return out


def _validate(insns: Sequence[Instruction]) -> None:
    """Find the first instruction the fast encoder could not take and say why."""
    offset = 0
    for index, insn in enumerate(insns):
        try:
            fields = _ROW(insn)
        except AttributeError:
            raise InstructionError(
                f"not an Instruction: {insn!r}", offset=offset, index=index
            ) from None
        for name, value in zip(("opcode", "dst", "src", "offset", "constant"), fields, strict=True):
            if not isinstance(value, int):
                raise InstructionError(
                    f"{name} must be an int, not {type(value).__name__}", offset=offset, index=index
                )
        op, dst, src, off, value = fields
        if op not in VALID_OPCODES:
            raise InstructionError(f"unknown opcode {op:#x}", offset=offset, index=index)
        for name, reg in (("dst", dst), ("src", src)):
            if not 0 <= reg <= 10:
                raise InstructionError(
                    f"{name} register {reg} out of range (0-10)", offset=offset, index=index
                )
        if not -0x8000 <= off <= 0x7FFF:
            raise InstructionError(
                f"offset {off} does not fit in 16 signed bits", offset=offset, index=index
            )
        if op == LD_IMM64:
            if not -(1 << 63) <= value <= _M64:
                raise InstructionError(
                    f"constant {value} does not fit in 64 bits", offset=offset, index=index
                )
            offset += 16
        else:
            if not -0x80000000 <= value <= 0x7FFFFFFF:
                raise InstructionError(
                    f"constant {value} does not fit in 32 signed bits", offset=offset, index=index
                )
            offset += 8
