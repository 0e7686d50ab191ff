"""Bytes to instructions and back, validated in bulk.

Both directions work on whole programs at once. When pybpf-core was
installed compiled, its wheel carries ``_pybpf_asm_codec``, decode and
encode in C for plainly valid input (see :func:`_compiled_codec`); it is
used when present, and ``PYBPF_ASM_CODEC=python`` makes the Python code the
one used (:mod:`pybpf.asm._python_codec`, which does the same with C loops
over whole fields; its tables are built the first time it runs, so a process
with the compiled codec never builds them). Only slots a bulk check flags
as suspect get a second, per-instruction look (:func:`_check_one`), to name
the exact problem.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterable, Sequence
from operator import attrgetter
from types import ModuleType

from pybpf.asm.errors import InstructionError
from pybpf.asm.exports import compiled_module
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import (
    ADD,
    ADDR_SPACE_CAST,
    ADDR_SPACE_CASTS,
    ALU,
    ALU64,
    AND,
    ATOMIC,
    CALL,
    CMPXCHG,
    DIV,
    DW,
    END,
    FETCH,
    JCOND,
    JMP,
    LD_IMM64,
    LOAD_ACQ,
    MOD,
    MOV,
    OR,
    PSEUDO_BTF_ID,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_KFUNC_CALL,
    PSEUDO_MAP_FD,
    PSEUDO_MAP_IDX,
    PSEUDO_MAP_IDX_VALUE,
    PSEUDO_MAP_VALUE,
    PSEUDO_NONE,
    STORE_REL,
    STX,
    VALID_OPCODES,
    XCHG,
    XOR,
    B,
    H,
    K,
    W,
    X,
)

__all__ = ["decode_instructions", "encode_instructions"]

_M64 = 0xFFFFFFFFFFFFFFFF

# The opcodes whose rules go beyond a valid opcode and registers (the Python
# codec's tables are made from these too).
_ATOMICS = frozenset(STX | ATOMIC | size for size in (W, H, B, DW))
_NARROW_ATOMICS = frozenset(STX | ATOMIC | size for size in (B, H))
_ENDS = frozenset({ALU | END | K, ALU | END | X, ALU64 | END})
_CALL = JMP | CALL
_JCOND = JMP | JCOND
_DIV_MOD = frozenset(cls | op | src for cls in (ALU, ALU64) for op in (DIV, MOD) for src in (K, X))
_MOVSX64 = ALU64 | MOV | X
_MOVSX32 = ALU | MOV | X
# The immediates of atomic instructions: read-modify-write (an operation,
# returning the old value with FETCH), then load-acquire and store-release.
_RMW_OPS = frozenset(
    {op | fetch for op in (ADD, OR, AND, XOR) for fetch in (0, FETCH)} | {XCHG, CMPXCHG}
)
_ACQ_REL = frozenset({LOAD_ACQ, STORE_REL})
_ATOMIC_OPS = _RMW_OPS | _ACQ_REL
_WIDE_SIZES = frozenset({W, DW})
_PSEUDO_SOURCES = frozenset(
    {
        PSEUDO_NONE,
        PSEUDO_MAP_FD,
        PSEUDO_MAP_VALUE,
        PSEUDO_BTF_ID,
        PSEUDO_FUNC,
        PSEUDO_MAP_IDX,
        PSEUDO_MAP_IDX_VALUE,
    }
)
_CALL_SOURCES = frozenset({PSEUDO_NONE, PSEUDO_CALL, PSEUDO_KFUNC_CALL})
# The largest src of an LD_IMM64 and of a CALL that bulk checks let through.
_MAX_PSEUDO_SOURCE = max(_PSEUDO_SOURCES)
_MAX_CALL_SOURCE = max(_CALL_SOURCES)
_ALLOWED_ALU_OFFSETS = {
    # Signed division and modulo: offset 1.
    **dict.fromkeys(_DIV_MOD, frozenset({0, 1})),
    # MOVSX: the source width to sign-extend from; ALU64 also takes
    # BPF_ADDR_SPACE_CAST (1), whose immediate _check_one looks at.
    _MOVSX64: frozenset({0, ADDR_SPACE_CAST, 8, 16, 32}),
    _MOVSX32: frozenset({0, 8, 16}),
}

_WIDE_FORMAT = {"little": "<", "big": ">"}


def _byteorder_prefix(byteorder: str) -> str:
    try:
        return _WIDE_FORMAT[byteorder]
    except KeyError:
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}") from None


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
        if op & 0x07 in (ALU, ALU64):
            flags[op] |= 2
        if op in _ENDS or op in _ATOMICS:
            flags[op] |= 4
    max_src[LD_IMM64] = _MAX_PSEUDO_SOURCE
    max_src[_CALL] = _MAX_CALL_SOURCE
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
    # Imported here: its tables cost more than decoding a program in C.
    from pybpf.asm._python_codec import decode_strict  # noqa: PLC0415

    return decode_strict(raw, prefix, slots)


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
    elif op & 0x07 in (ALU, ALU64) and insn.offset not in _ALLOWED_ALU_OFFSETS.get(op, (0,)):
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


def encode_instructions(
    insns: Iterable[Instruction], byteorder: str, *, strict: bool = True
) -> bytes:
    """Encode instructions; raises :class:`InstructionError` for a field out of range.

    ``strict=False`` is the inverse of ``decode_instructions(strict=False)``:
    an opcode or field combination the UAPI does not define is written as it
    is, for the kernel to judge; only a value that does not fit its field
    (register above 15, offset beyond 16 bits, constant beyond 32 bits, or 64
    for an LD_IMM64) still raises.
    """
    prefix = _byteorder_prefix(byteorder)
    insns = insns if isinstance(insns, Sequence) else list(insns)
    if not strict:
        try:
            return encode_instructions(insns, byteorder)
        except InstructionError:
            return _encode_as_is(insns, prefix)
    codec = _compiled_codec()
    if codec is not None:
        encoded = codec.encode(insns, prefix == "<", Instruction, _codec_rules())
        if encoded is not None:
            return encoded  # type: ignore[no-any-return]
    # Imported here: its tables cost more than encoding a program in C.
    from pybpf.asm._python_codec import encode  # noqa: PLC0415

    try:
        return encode(insns, prefix)
    except (struct.error, TypeError, ValueError, OverflowError, AttributeError):
        _validate(insns)
        raise  # _validate found nothing: a genuine bug, not bad input


_ROW = attrgetter("opcode", "dst", "src", "offset", "constant")


def _encode_as_is(insns: Sequence[Instruction], prefix: str) -> bytes:
    """Slot by slot, every field as it is: the slow path for encodings the UAPI lacks."""
    slot = struct.Struct(prefix + "BBhi")
    wide = struct.Struct(prefix + "BBhIBBhI")  # an LD_IMM64: both halves, unsigned
    little = prefix == "<"
    out = bytearray()
    for index, insn in enumerate(insns):
        op, dst, src, off, value = _int_fields(insn, len(out), index)
        where = {"offset": len(out), "index": index}
        if not 0 <= op <= 0xFF:
            raise InstructionError(f"opcode {op} does not fit in 8 bits", **where)
        if not (0 <= dst <= 0x0F and 0 <= src <= 0x0F):
            raise InstructionError(f"registers {dst}, {src} do not fit in 4 bits", **where)
        if op == LD_IMM64 and not -(1 << 63) <= value <= _M64:
            raise InstructionError(f"constant {value} does not fit in 64 bits", **where)
        regs = dst | src << 4 if little else dst << 4 | src
        try:
            if op == LD_IMM64:
                value &= _M64
                out += wide.pack(op, regs, off, value & 0xFFFFFFFF, 0, 0, 0, value >> 32)
            else:
                out += slot.pack(op, regs, off, value)
        except struct.error:
            raise InstructionError(
                f"offset {off} or constant {value} does not fit its field", **where
            ) from None
    return bytes(out)


def _int_fields(insn: Instruction, offset: int, index: int) -> tuple[int, int, int, int, int]:
    """The opcode, registers, offset and constant of ``insn``; InstructionError if not all ints."""
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
    return fields


def _validate(insns: Sequence[Instruction]) -> None:
    """Find the first instruction the fast encoder could not take and say why."""
    offset = 0
    for index, insn in enumerate(insns):
        op, dst, src, off, value = _int_fields(insn, offset, index)
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
