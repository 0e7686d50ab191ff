"""The codec in Python: decode and encode with C loops over whole fields.

Used where pybpf-core's compiled codec is not installed (or is turned off
with ``PYBPF_ASM_CODEC=python``), and for input the compiled codec declines.
Fields are cut out as byte strings with extended slices, checked with
``bytes.translate`` tables, and combined across slots as big integers used
as byte-wise bit masks, so the Python-level work per instruction is one
object creation on decode and one attribute load per field on encode. The
tables are built when this module is first imported, by the first program
the Python code decodes or encodes.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterable, Sequence
from itertools import compress, starmap

from pybpf.asm.codec import (
    _ATOMICS,
    _CALL,
    _DIV_MOD,
    _ENDS,
    _JCOND,
    _MAX_CALL_SOURCE,
    _MAX_PSEUDO_SOURCE,
    _MOVSX32,
    _MOVSX64,
    _NARROW_ATOMICS,
    _RMW_OPS,
    _check_one,
)
from pybpf.asm.errors import InstructionError
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import ALU, ALU64, LD_IMM64, VALID_OPCODES

__all__ = ["decode_strict", "encode"]

_VALID_OPS = bytes(sorted(VALID_OPCODES))
_REG_NUMBERS = bytes(range(11))
_VALID_REGS = bytes(d | s << 4 for d in range(11) for s in range(11))
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
_SHIFT_NIBBLE = bytes((b << 4) & 0xFF for b in range(256))
_SECOND_HALF_HEAD = bytes(4)


@functools.lru_cache(maxsize=4)
def _row_struct(prefix: str) -> struct.Struct:
    # Registers get a byte each so that no Python code splits or joins nibbles.
    return struct.Struct(prefix + "BBBhq")


def _mask(ops: Iterable[int]) -> bytes:
    """A translate table: 0xFF for the given byte values, 0 elsewhere."""
    chosen = frozenset(ops)
    return bytes(0xFF if b in chosen else 0 for b in range(256))


def _above(limit: int) -> bytes:
    """A translate table: 0xFF for byte values above ``limit``, 0 elsewhere."""
    return bytes(0xFF if b > limit else 0 for b in range(256))


def _bits(field: bytes) -> int:
    return int.from_bytes(field, "little")


_IS_LD_IMM64 = _mask([LD_IMM64])
_IS_CALL = _mask([_CALL])
_IS_JCOND = _mask([_JCOND])
_IS_ZERO = _mask([0])
_NOT_ZERO = _above(0)
_ABOVE_CALL_SOURCE = _above(_MAX_CALL_SOURCE)
_ABOVE_PSEUDO_SOURCE = _above(_MAX_PSEUDO_SOURCE)
_SIGN = bytes(0xFF if b & 0x80 else 0 for b in range(256))
_NONZERO = re.compile(b"[^\x00]")
_IS_PLAIN_ALU = _mask(
    b for b in range(256) if b & 0x07 in (ALU, ALU64) and b not in _DIV_MOD | {_MOVSX64, _MOVSX32}
)
_IS_SIGNED_DIV = _mask(_DIV_MOD)
_IS_MOVSX64 = _mask([_MOVSX64])
_IS_MOVSX32 = _mask([_MOVSX32])
_IS_END = _mask(_ENDS)
_IS_ATOMIC = _mask(_ATOMICS)
_IS_NARROW_ATOMIC = _mask(_NARROW_ATOMICS)


def _not_in(values: Iterable[int]) -> bytes:
    """A translate table: 0 for the given byte values, 0xFF elsewhere."""
    chosen = frozenset(values)
    return bytes(0 if b in chosen else 0xFF for b in range(256))


_NOT_0_1 = _not_in([0, 1])
# An addr_space_cast (offset 1) is a suspect too: its immediate must be checked.
_NOT_SX64 = _not_in([0, 8, 16, 32])
_NOT_SX32 = _not_in([0, 8, 16])
_NOT_SWAP_WIDTH = _not_in([16, 32, 64])
_NOT_RMW = _not_in(_RMW_OPS)


def decode_strict(raw: bytes, prefix: str, slots: int) -> list[Instruction]:
    """Decode ``slots`` whole slots of ``raw``, ``prefix`` the struct byte order."""
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

    # Candidates for a closer look, as one bit-mask byte per slot: integers
    # stand in for byte-wise SIMD so that no Python loop visits every slot.
    if prefix == "<":
        off_lo, off_hi, imm0, imm1, imm2, imm3 = (raw[k::8] for k in range(2, 8))
    else:
        off_hi, off_lo, imm3, imm2, imm1, imm0 = (raw[k::8] for k in range(2, 8))
    high_off = _bits(off_hi)
    offsets = _bits(off_lo) | high_off
    suspects = _bits(ops.translate(_IS_PLAIN_ALU)) & offsets
    suspects |= _bits(ops.translate(_IS_SIGNED_DIV)) & (
        high_off | _bits(off_lo.translate(_NOT_0_1))
    )
    suspects |= _bits(ops.translate(_IS_MOVSX64)) & (high_off | _bits(off_lo.translate(_NOT_SX64)))
    suspects |= _bits(ops.translate(_IS_MOVSX32)) & (high_off | _bits(off_lo.translate(_NOT_SX32)))
    imm_high = 0
    ends = _bits(ops.translate(_IS_END))
    if ends:
        imm_high = _bits(imm1) | _bits(imm2) | _bits(imm3)
        suspects |= ends & (imm_high | _bits(imm0.translate(_NOT_SWAP_WIDTH)))
    atomics = _bits(ops.translate(_IS_ATOMIC))
    if atomics:
        # Load-acquire/store-release (imm1 != 0) and byte/half atomics are rare:
        # always look at them closely.
        suspects |= _bits(ops.translate(_IS_NARROW_ATOMIC))
        suspects |= atomics & (
            _bits(imm1) | _bits(imm2) | _bits(imm3) | _bits(imm0.translate(_NOT_RMW))
        )
    suspects |= _bits(ops.translate(_IS_CALL)) & _bits(srcs.translate(_ABOVE_CALL_SOURCE))
    suspects |= _bits(ops.translate(_IS_JCOND)) & _bits(srcs.translate(_NOT_ZERO))
    ld_imm64 = _bits(ops.translate(_IS_LD_IMM64))
    if ld_imm64:
        suspects |= ld_imm64 & _bits(srcs.translate(_ABOVE_PSEUDO_SOURCE))
        # The slot after each LD_IMM64 must be all zero but for its immediate.
        following = _bits(ops[1:].translate(_NOT_ZERO) + b"\xff") | _bits(regs[1:]) | (offsets >> 8)
        if ld_imm64 & following:
            first = _first_byte(ld_imm64 & following)
            what = (
                "is missing"
                if first == slots - 1
                else "must be opcode 0 with no registers or offset"
            )
            raise InstructionError(f"the second half of this LD_IMM64 {what}", offset=first * 8)
        if ops.count(0) != ops.count(LD_IMM64):
            seconds = ld_imm64 << 8
            strays = _bits(ops.translate(_IS_ZERO)) & ~seconds
            raise InstructionError(
                "opcode 0x00 outside an LD_IMM64 (a second half without its first)",
                offset=_first_byte(strays) * 8,
            )
    elif b"\x00" in ops:
        raise InstructionError(
            "opcode 0x00 outside an LD_IMM64 (a second half without its first)",
            offset=ops.index(0) * 8,
        )

    # One 13-byte row per slot: opcode, dst, src, offset and a 64-bit constant.
    # The constant's upper half is the sign extension of the immediate, or for
    # an LD_IMM64 the next slot's immediate, so that struct does the joining.
    imm = [raw[k::8] for k in range(4, 8)]
    top = 3 if prefix == "<" else 0
    sign = imm[top].translate(_SIGN)
    if ld_imm64:
        keep = ~ld_imm64
        upper = [
            ((_bits(sign) & keep) | (_bits(column[1:] + b"\x00") & ld_imm64)).to_bytes(
                slots, "little"
            )
            for column in imm
        ]
    else:
        upper = [sign] * 4
    wide = bytearray(13 * slots)
    wide[0::13] = ops
    wide[1::13] = dsts
    wide[2::13] = srcs
    wide[3::13] = raw[2::8]
    wide[4::13] = raw[3::8]
    low_at, high_at = (5, 9) if prefix == "<" else (9, 5)
    for k in range(4):
        wide[low_at + k :: 13] = imm[k]
        wide[high_at + k :: 13] = upper[k]
    row = _row_struct(prefix)

    if suspects:
        for match in _NONZERO.finditer(suspects.to_bytes(slots, "little")):
            i = match.start()
            _check_one(Instruction(*row.unpack_from(wide, 13 * i)), i)
    if ld_imm64:
        # Opcode 0 is exactly the second halves, now folded into their first.
        return list(starmap(Instruction, compress(row.iter_unpack(wide), ops)))
    return list(starmap(Instruction, row.iter_unpack(wide)))


def _first_byte(flags: int) -> int:
    """Index of the lowest non-zero byte of a non-zero flag integer."""
    return ((flags & -flags).bit_length() - 1) // 8


def _raise_first(field: bytes, valid: bytes, what: str) -> None:
    allowed = frozenset(valid)
    for i, value in enumerate(field):
        if value not in allowed:
            raise InstructionError(f"{what}: {value:#04x}", offset=i * 8)


@functools.lru_cache(maxsize=256)
def _column(prefix: str, code: str, count: int) -> struct.Struct:
    return struct.Struct(f"{prefix}{count}{code}")


def encode(insns: Sequence[Instruction], prefix: str) -> bytes:
    """Encode ``insns``; struct, ValueError and others for a field it cannot take."""
    # One list comprehension per field collects its column: the interpreter
    # specialises a slot attribute load in a comprehension, which beats both
    # attrgetter and zip(), and no per-instruction tuple is made (those also
    # feed the garbage collector). Each column is then packed at once (bytes()
    # and struct raise on values that do not fit) and interleaved into 8-byte
    # slots with extended slices.
    opcodes = [insn.opcode for insn in insns]
    if not opcodes:
        return b""
    dst_column = [insn.dst for insn in insns]
    src_column = [insn.src for insn in insns]
    offsets = [insn.offset for insn in insns]
    constants = [insn.constant for insn in insns]
    count = len(opcodes)
    ops = bytes(opcodes)
    if ops.translate(None, _VALID_OPS):
        raise ValueError("unknown opcode")
    dsts = bytes(dst_column)
    srcs = bytes(src_column)
    if dsts.translate(None, _REG_NUMBERS) or srcs.translate(None, _REG_NUMBERS):
        raise ValueError("register out of range")
    # The register byte holds dst in its low nibble on little-endian targets.
    low, high = (dsts, srcs) if prefix == "<" else (srcs, dsts)
    regs = _bits(low) | _bits(high.translate(_SHIFT_NIBBLE))
    raw_offsets = _column(prefix, "h", count).pack(*offsets)
    try:
        wide = _column(prefix, "q", count).pack(*constants)
    except struct.error:
        # LD_IMM64 constants may be given unsigned; anything else is out of range.
        wide = _column(prefix, "q", count).pack(
            *(c - (1 << 64) if isinstance(c, int) and c >> 63 == 1 else c for c in constants)
        )
    # Every constant was packed as 64 bits: the low half is the slot's
    # immediate, the high half is an LD_IMM64's second immediate and must be
    # the sign extension for every other instruction.
    low_at, high_at = (0, 4) if prefix == "<" else (4, 0)
    low_half = [wide[low_at + k :: 8] for k in range(4)]
    high_half = [wide[high_at + k :: 8] for k in range(4)]
    sign = _bits(low_half[3 if prefix == "<" else 0].translate(_SIGN))
    not_ld_imm64 = ~_bits(ops.translate(_IS_LD_IMM64))
    for column in high_half:
        if (_bits(column) ^ sign) & not_ld_imm64:
            raise ValueError("constant out of range")

    out = bytearray(8 * count)
    out[0::8] = ops
    out[1::8] = regs.to_bytes(count, "little")
    out[2::8] = raw_offsets[0::2]
    out[3::8] = raw_offsets[1::2]
    for k in range(4):
        out[4 + k :: 8] = low_half[k]
    if LD_IMM64 not in ops:
        return bytes(out)
    pieces: list[bytes | bytearray] = []
    start = 0
    i = ops.find(LD_IMM64)
    while i >= 0:
        end = 8 * i + 8
        pieces.append(out[start:end])
        pieces.append(_SECOND_HALF_HEAD + wide[8 * i + high_at : 8 * i + high_at + 4])
        start = end
        i = ops.find(LD_IMM64, i + 1)
    pieces.append(out[start:])
    return b"".join(pieces)
