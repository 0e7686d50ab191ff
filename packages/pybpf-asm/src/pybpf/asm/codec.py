"""Bytes to instructions and back, validated in bulk.

Both directions work on whole programs at once. Fields are cut out as byte
strings with extended slices, checked with ``bytes.translate`` tables, and
combined across slots as big integers used as byte-wise bit masks (C loops
all), so the Python-level work per instruction is one object creation on
decode and one attribute load per field on encode. Only slots a bulk check
flags as suspect get a second, per-instruction look, to name the exact
problem.

When pybpf-core was installed compiled, its wheel carries
``_pybpf_asm_codec``, the same decode and encode in C for plainly valid input
(see :func:`_compiled_codec`); it is used when present, and
``PYBPF_ASM_CODEC=python`` makes the Python code the one used.
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections.abc import Iterable, Sequence
from itertools import compress, starmap
from operator import attrgetter
from types import ModuleType

from pybpf.asm.errors import InstructionError
from pybpf.asm.exports import compiled_module
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import (
    ADDR_SPACE_CAST,
    ADDR_SPACE_CASTS,
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

_M64 = 0xFFFFFFFFFFFFFFFF

_VALID_OPS = bytes(sorted(VALID_OPCODES))
_REG_NUMBERS = bytes(range(11))
_VALID_REGS = bytes(d | s << 4 for d in range(11) for s in range(11))
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
_SHIFT_NIBBLE = bytes((b << 4) & 0xFF for b in range(256))

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
_ATOMIC_OPS = frozenset(AtomicOp)
_ACQ_REL = frozenset({AtomicOp.LOAD_ACQUIRE, AtomicOp.STORE_RELEASE})
_WIDE_SIZES = frozenset({Size.W, Size.DW})
_PSEUDO_SOURCES = frozenset(PseudoSource)
_CALL_SOURCES = frozenset(CallSource)
_ALLOWED_ALU_OFFSETS = {
    # Signed division and modulo: offset 1.
    **{
        cls | op | src: frozenset({0, 1})
        for cls in (OpClass.ALU, OpClass.ALU64)
        for op in (ALUOp.DIV, ALUOp.MOD)
        for src in Source
    },
    # MOVSX: the source width to sign-extend from; ALU64 also takes
    # BPF_ADDR_SPACE_CAST (1), whose immediate _check_one looks at.
    OpClass.ALU64 | ALUOp.MOV | Source.X: frozenset({0, ADDR_SPACE_CAST, 8, 16, 32}),
    OpClass.ALU | ALUOp.MOV | Source.X: frozenset({0, 8, 16}),
}

_WIDE_FORMAT = {"little": "<", "big": ">"}


def _byteorder_prefix(byteorder: str) -> str:
    try:
        return _WIDE_FORMAT[byteorder]
    except KeyError:
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}") from None


@functools.lru_cache(maxsize=4)
def _row_struct(prefix: str) -> struct.Struct:
    # Registers get a byte each so that no Python code splits or joins nibbles.
    return struct.Struct(prefix + "BBBhq")


def _mask(ops: Iterable[int]) -> bytes:
    """A translate table: 0xFF for the given byte values, 0 elsewhere."""
    chosen = frozenset(ops)
    return bytes(0xFF if b in chosen else 0 for b in range(256))


def _above(limit: int) -> bytes:
    return bytes(0xFF if b > limit else 0 for b in range(256))


def _bits(field: bytes) -> int:
    return int.from_bytes(field, "little")


_IS_LD_IMM64 = _mask([LD_IMM64])
_IS_CALL = _mask([_CALL])
_IS_JCOND = _mask([_JCOND])
_IS_ZERO = _mask([0])
_NOT_ZERO = _above(0)
_ABOVE_CALL_SOURCE = _above(max(CallSource))
_ABOVE_PSEUDO_SOURCE = _above(max(PseudoSource))
_SIGN = bytes(0xFF if b & 0x80 else 0 for b in range(256))
_NONZERO = re.compile(b"[^\x00]")
_DIV_MOD = frozenset(
    cls | op | src
    for cls in (OpClass.ALU, OpClass.ALU64)
    for op in (ALUOp.DIV, ALUOp.MOD)
    for src in Source
)
_MOVSX64 = OpClass.ALU64 | ALUOp.MOV | Source.X
_MOVSX32 = OpClass.ALU | ALUOp.MOV | Source.X
_IS_PLAIN_ALU = _mask(
    b
    for b in range(256)
    if b & 0x07 in (OpClass.ALU, OpClass.ALU64) and b not in _DIV_MOD | {_MOVSX64, _MOVSX32}
)
_IS_SIGNED_DIV = _mask(_DIV_MOD)
_IS_MOVSX64 = _mask([_MOVSX64])
_IS_MOVSX32 = _mask([_MOVSX32])
_IS_END = _mask(_ENDS)
_IS_ATOMIC = _mask(_ATOMICS)
_IS_NARROW_ATOMIC = _mask(OpClass.STX | Mode.ATOMIC | size for size in (Size.B, Size.H))


def _not_in(values: Iterable[int]) -> bytes:
    chosen = frozenset(values)
    return bytes(0 if b in chosen else 0xFF for b in range(256))


_NOT_0_1 = _not_in([0, 1])
# An addr_space_cast (offset 1) is a suspect too: its immediate must be checked.
_NOT_SX64 = _not_in([0, 8, 16, 32])
_NOT_SX32 = _not_in([0, 8, 16])
_NOT_SWAP_WIDTH = _not_in([16, 32, 64])
_NOT_RMW = _not_in(op for op in AtomicOp if op < 0x100)


# The compiled codec's contract (see _compiled_codec).
_CODEC_MODULE = "_pybpf_asm_codec"
_CODEC_VERSION = 1


@functools.cache
def _codec_rules() -> bytes:
    """The opcode rules as the compiled codec takes them: 512 bytes (built at first use).

    First a flag byte per opcode: 1 for an opcode it may decode or encode
    (never 0x00, which only an LD_IMM64's second half has), 2 where a
    non-zero offset needs :func:`_check_one`, 4 where every instruction
    does. Then per opcode the largest ``src`` that needs no closer look.
    """
    flags = bytearray(256)
    max_src = bytearray([10] * 256)
    for op in VALID_OPCODES:
        if op:
            flags[op] |= 1
        if op & 0x07 in (OpClass.ALU, OpClass.ALU64):
            flags[op] |= 2
        if op in _ENDS or op in _ATOMICS:
            flags[op] |= 4
    max_src[LD_IMM64] = max(PseudoSource)
    max_src[_CALL] = max(CallSource)
    max_src[_JCOND] = 0
    return bytes(flags + max_src)


@functools.cache
def _compiled_codec() -> ModuleType | None:
    """The compiled codec, when installed, of this code's version, and not turned off.

    It is ``_pybpf_asm_codec``, built from pybpf-core's C sources into its
    wheel. Its ``VERSION`` is 1 and it has two functions, each returning None
    for input that is anything but plainly valid (the Python code then does
    the work and names the error); ``rules`` is :func:`_codec_rules`:

    - ``decode(raw, little, cls, rules)``: for whole 8-byte slots of valid
      opcodes and registers, LD_IMM64s paired with clean second halves, the
      ``cls`` instructions and, as ``(slot, instruction)`` pairs in slot order,
      every one the rules say :func:`_check_one` must look at;
    - ``encode(instructions, little, cls, rules)``: for a list of ``cls``
      instructions whose fields are ints in range, the encoded bytes.
    """
    if os.environ.get("PYBPF_ASM_CODEC") == "python":
        return None
    return compiled_module(_CODEC_MODULE, _CODEC_VERSION)


def decode_instructions(
    data: bytes | bytearray | memoryview, byteorder: str, *, strict: bool = True
) -> list[Instruction]:
    """Decode a whole program; raises :class:`InstructionError` naming the byte offset.

    ``strict=False`` decodes what the kernel hands back from a loaded program
    (``BPF_OBJ_GET_INFO_BY_FD``'s translated instructions), which may hold its
    internal encodings (opcodes and registers the UAPI does not define):
    every slot becomes an instruction with its fields as they are, nothing is
    rejected, and an LD_IMM64 still spans its two slots when the second one
    is there. A trailing partial slot still raises.
    """
    prefix = _byteorder_prefix(byteorder)
    raw = bytes(data)
    slots, rest = divmod(len(raw), 8)
    if rest:
        raise InstructionError(
            f"{rest} trailing byte(s), not a whole 8-byte instruction", offset=slots * 8
        )
    if not strict:
        try:
            return _decode_strict(raw, prefix, slots)
        except InstructionError:
            return _decode_lenient(raw, prefix, slots)
    return _decode_strict(raw, prefix, slots)


def _decode_lenient(raw: bytes, prefix: str, slots: int) -> list[Instruction]:
    """Slot by slot, every field as it is: the slow path for the kernel's encodings."""
    slot = struct.Struct(prefix + "BBhi")
    little = prefix == "<"
    out: list[Instruction] = []
    i = 0
    while i < slots:
        op, regs, off, imm = slot.unpack_from(raw, i * 8)
        dst, src = (regs & 0x0F, regs >> 4) if little else (regs >> 4, regs & 0x0F)
        if op == LD_IMM64 and i + 1 < slots and raw[(i + 1) * 8] == 0:
            high = slot.unpack_from(raw, (i + 1) * 8)[3]
            value = ((high & 0xFFFFFFFF) << 32) | (imm & 0xFFFFFFFF)
            out.append(Instruction(op, dst, src, off, value - (1 << 64) if value >> 63 else value))
            i += 2
            continue
        out.append(Instruction(op, dst, src, off, imm))
        i += 1
    return out


def _decode_strict(raw: bytes, prefix: str, slots: int) -> list[Instruction]:
    if not slots:
        return []
    codec = _compiled_codec()
    if codec is not None:
        decoded = codec.decode(raw, prefix == "<", Instruction, _codec_rules())
        if decoded is not None:
            insns, suspects = decoded
            for slot, insn in suspects:
                _check_one(insn, slot)
            return insns  # type: ignore[no-any-return]
    return _decode_strict_python(raw, prefix, slots)


def _decode_strict_python(raw: bytes, prefix: str, slots: int) -> list[Instruction]:
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


def _check_one(insn: Instruction, slot: int) -> None:
    """The field rules bulk checks cannot express; raises for a bad instruction."""
    op = insn.opcode
    offset = slot * 8
    if op == LD_IMM64:
        if insn.src not in _PSEUDO_SOURCES:
            raise InstructionError(f"unknown LD_IMM64 source {insn.src}", offset=offset)
    elif op == _CALL:
        if insn.src not in _CALL_SOURCES:
            raise InstructionError(f"unknown call source {insn.src}", offset=offset)
    elif op == _JCOND:
        if insn.src != 0:
            raise InstructionError(f"unknown JCOND condition {insn.src}", offset=offset)
    elif op & 0x07 in (OpClass.ALU, OpClass.ALU64) and insn.offset not in _ALLOWED_ALU_OFFSETS.get(
        op, (0,)
    ):
        raise InstructionError(
            f"offset {insn.offset} is not valid for ALU opcode {op:#04x}", offset=offset
        )
    elif op == _MOVSX64 and insn.offset == ADDR_SPACE_CAST:
        if insn.constant not in ADDR_SPACE_CASTS:
            raise InstructionError(
                f"addr_space_cast converts between address spaces 0 and 1 only: "
                f"immediate {insn.constant:#x} is neither 0x1 nor 0x10000",
                offset=offset,
            )
    elif op in _ENDS:
        if insn.constant not in (16, 32, 64):
            raise InstructionError(
                f"byte swap width must be 16, 32 or 64, not {insn.constant}", offset=offset
            )
    elif op in _ATOMICS:
        if insn.constant not in _ATOMIC_OPS:
            raise InstructionError(f"unknown atomic operation {insn.constant:#x}", offset=offset)
        if insn.constant not in _ACQ_REL and (op & 0x18) not in _WIDE_SIZES:
            raise InstructionError(
                "atomic read-modify-write needs a 32- or 64-bit access", offset=offset
            )


def encode_instructions(insns: Iterable[Instruction], byteorder: str) -> bytes:
    """Encode instructions; raises :class:`InstructionError` for a field out of range."""
    prefix = _byteorder_prefix(byteorder)
    insns = insns if isinstance(insns, Sequence) else list(insns)
    codec = _compiled_codec()
    if codec is not None:
        encoded = codec.encode(insns, prefix == "<", Instruction, _codec_rules())
        if encoded is not None:
            return encoded  # type: ignore[no-any-return]
    try:
        return _encode_fast(insns, prefix)
    except (struct.error, TypeError, ValueError, OverflowError, AttributeError):
        _validate(insns)
        raise  # _validate found nothing: a genuine bug, not bad input


_ROW = attrgetter("opcode", "dst", "src", "offset", "constant")
_SECOND_HALF_HEAD = bytes(4)


@functools.lru_cache(maxsize=256)
def _column(prefix: str, code: str, count: int) -> struct.Struct:
    return struct.Struct(f"{prefix}{count}{code}")


def _encode_fast(insns: Sequence[Instruction], prefix: str) -> bytes:
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
