"""Writing fixups into instructions, and the type relations CO-RE is built on."""

from __future__ import annotations

import pytest

from pybpf.asm import R1, R2, Instruction, Mode, OpClass, Size, add, load, mov, store
from pybpf.btf import (
    Array,
    Const,
    Enum,
    Enum64,
    EnumValue,
    Float,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Member,
    Pointer,
    Struct,
    Typedef,
    Union,
    Void,
    Volatile,
)
from pybpf.btf.corerelo import (
    POISON_HELPER_ID,
    COREError,
    COREFixup,
    essential_name,
    fields_are_compat,
    patch,
    types_are_compat,
    types_match,
)
from pybpf.btf.ext import CORERelocKind

OFF = CORERelocKind.FIELD_BYTE_OFFSET


def fix(local: int, target: int, **kw: object) -> COREFixup:
    return COREFixup(OFF, local, target, **kw)  # type: ignore[arg-type]


def test_alu_immediate() -> None:
    insn = add(R1, 36)
    insn.metadata["keep"] = 1
    [new] = patch(insn, fix(36, 1264))
    assert new.constant == 1264
    assert new.metadata == {"keep": 1}
    assert insn.constant == 36  # the original is left alone
    with pytest.raises(COREError, match="unexpected ALU immediate 36"):
        patch(insn, fix(40, 1264))
    # Unchecked fixups (type ids, bitfields) take any original value.
    assert patch(insn, fix(40, 7, validate=False))[0].constant == 7
    # 32-bit immediates wrap like libbpf's C assignment.
    assert patch(mov(R1, 1), fix(1, (1 << 32) - 1))[0].constant == -1
    assert patch(mov(R1, -1), fix((1 << 64) - 1, 0))[0].constant == 0
    with pytest.raises(COREError, match="register source"):
        patch(add(R1, R2), fix(0, 1))


def test_memory_offset() -> None:
    insn = load(R1, R2, 36, 4)
    assert patch(insn, fix(36, 1264))[0].offset == 1264
    with pytest.raises(COREError, match="unexpected load/store offset"):
        patch(insn, fix(35, 1264))
    with pytest.raises(COREError, match="too big"):
        patch(insn, fix(36, 0x8000))
    assert patch(store(R1, 8, R2, 8), fix(8, 16))[0].offset == 16


def test_memory_size_change() -> None:
    insn = load(R1, R2, 8, 8)
    [new] = patch(insn, fix(8, 12, local_size=8, target_size=4))
    assert new.opcode == OpClass.LDX | Mode.MEM | Size.W
    assert new.offset == 12
    with pytest.raises(COREError, match="unexpected load/store size 8, expected 4"):
        patch(insn, fix(8, 12, local_size=4, target_size=2))
    with pytest.raises(COREError, match="invalid new load/store size 3"):
        patch(insn, fix(8, 12, local_size=8, target_size=3))
    # Signed or non-integer fields may not change size: poisoned, not refused.
    [bad] = patch(insn, fix(8, 12, local_size=8, target_size=4, bad_size_change=True))
    assert bad.is_helper_call and bad.constant == POISON_HELPER_ID


def test_ld_imm64() -> None:
    insn = Instruction(0x18, 1, 0, 0, 5)
    [new] = patch(insn, fix(5, 1 << 63))
    assert new.constant & ((1 << 64) - 1) == 1 << 63
    with pytest.raises(COREError, match="unexpected LD_IMM64 value 5"):
        patch(insn, fix(6, 1))
    with pytest.raises(COREError, match="unexpected form"):
        patch(Instruction(0x18, 1, 1, 0, 5), fix(5, 1))


def test_poison() -> None:
    insn = Instruction(0x18, 1, 0, 0, 5).with_symbol("f")
    insn.metadata["keep"] = 1
    first, second = patch(insn, fix(5, 0, poison=True))
    for call in (first, second):
        assert call.is_helper_call and call.constant == POISON_HELPER_ID
        assert (call.dst, call.src, call.offset) == (0, 0, 0)
    assert first.symbol == "f" and first.metadata == {"keep": 1}
    [one] = patch(add(R1, 3), fix(3, 0, poison=True))
    assert one.constant == 0xBAD2310


def test_unsupported_instruction() -> None:
    with pytest.raises(COREError, match="cannot relocate"):
        patch(Instruction(0x95), fix(0, 1))


def test_essential_name() -> None:
    assert essential_name("task_struct___v1") == "task_struct"
    assert essential_name("a___b___c") == "a___b"
    assert essential_name("a____b") == "a____b"
    assert essential_name("___a") == "___a"
    assert essential_name("a___") == "a___"
    assert essential_name("x") == "x"
    assert essential_name("a___b___") == "a"
    assert essential_name(b"sk_buff___old") == b"sk_buff"


def test_essential_name_is_libbpfs() -> None:
    def libbpf(name: str) -> str:
        for i in range(len(name) - 5, -1, -1):
            if name[i] != "_" and name[i + 1 : i + 4] == "___" and name[i + 4] != "_":
                return name[: i + 1]
        return name

    for n in range(12):
        for bits in range(2**n):
            name = "".join("_" if bits >> k & 1 else "a" for k in range(n))
            assert essential_name(name) == libbpf(name), name


U32 = Int("u32", 4)
S32 = Int("s32", 4, IntEncoding.SIGNED)


def test_types_are_compat() -> None:
    assert types_are_compat(U32, Int("long", 8, IntEncoding.SIGNED))
    assert not types_are_compat(Int("bits", 4, offset=3), U32)
    assert types_are_compat(Struct("a", 4), Struct("b", 8))
    assert not types_are_compat(Struct("a", 4), Union("a", 4))
    assert types_are_compat(Enum("e", 4), Enum64("e", 8))
    assert types_are_compat(Pointer(Const(U32)), Pointer(Typedef("t", S32)))
    assert not types_are_compat(Pointer(U32), Pointer(Struct("s", 4)))
    assert types_are_compat(Array(U32, 2), Array(S32, 9))
    assert not types_are_compat(Float("double", 8), Float("double", 8))
    proto = FuncProto(U32, [FuncParam("a", Pointer(Void()))])
    assert types_are_compat(proto, FuncProto(S32, [FuncParam("b", Pointer(Void()))]))
    assert not types_are_compat(proto, FuncProto(U32, []))


def test_fields_are_compat() -> None:
    assert fields_are_compat(Struct("a", 4), Union("b", 8))
    assert fields_are_compat(Volatile(U32), Int("char", 1))
    assert fields_are_compat(Float("f", 4), Float("d", 8))
    assert fields_are_compat(Enum("e___1", 4), Enum("e", 4))
    assert fields_are_compat(Enum("", 4), Enum("e", 4))
    assert not fields_are_compat(Enum("e", 4), Enum("f", 4))
    assert not fields_are_compat(U32, Pointer(U32))
    assert fields_are_compat(Array(Array(U32, 2), 3), Array(Array(S32, 9), 1))


def test_types_match() -> None:
    assert types_match(U32, Int("u32", 4))
    assert not types_match(U32, S32)
    assert not types_match(U32, Int("u32", 8))
    s = Struct("s", 8, [Member("a", U32, 0)])
    bigger = Struct("s", 16, [Member("b", U32, 0), Member("a", U32, 32)])
    assert types_match(s, bigger)
    assert not types_match(bigger, s)
    assert not types_match(Struct("s", 4, [Member("a", S32, 0)]), s)
    # Behind a pointer, a struct matches its forward declaration and only names count.
    assert types_match(Pointer(Struct("t", 4, [Member("x", U32, 0)])), Pointer(Fwd("t")))
    assert not types_match(Pointer(Struct("t", 4)), Pointer(Fwd("t", FwdKind.UNION)))
    assert types_match(Pointer(Union("t", 4)), Pointer(Fwd("t", FwdKind.UNION)))
    assert not types_match(Struct("t", 4), Fwd("t"))
    assert types_match(Fwd("t"), Fwd("t___x"))
    e = Enum("e", 4, [EnumValue("A", 1)])
    assert types_match(e, Enum("e", 4, [EnumValue("B", 0), EnumValue("A___2", 7)]))
    assert not types_match(e, Enum("e", 4, [EnumValue("B", 1)]))
    assert not types_match(e, Enum64("e", 8, [EnumValue("A", 1)]))
    assert types_match(Array(U32, 4), Array(Int("u32", 4), 4))
    assert not types_match(Array(U32, 4), Array(U32, 5))
    assert not types_match(Float("d", 8), Float("d", 8))
    # Names matter at every level, after typedefs are skipped.
    assert not types_match(Typedef("t", U32), Typedef("t", Int("other", 4)))
    assert types_match(Void(), Void())
