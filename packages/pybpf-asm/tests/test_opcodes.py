"""The opcode numbers as plain ints and as enums: one set of numbers, enums built on first read."""

from __future__ import annotations

import enum
import os
import subprocess
import sys

import pytest

import pybpf.asm
from pybpf.asm import _opcode_fields, _sources, codec, opcodes
from pybpf.asm.opcodes import Mode, OpClass, Size

_ENUMS = [
    opcodes.OpClass,
    opcodes.Size,
    opcodes.Mode,
    opcodes.Source,
    opcodes.ALUOp,
    opcodes.JumpOp,
    opcodes.AtomicOp,
    opcodes.PseudoSource,
    opcodes.CallSource,
]
# Members whose plain number has the name linux/bpf.h gives it, not the member's.
_RENAMED = {
    "FETCH_ADD": opcodes.ADD | opcodes.FETCH,
    "FETCH_OR": opcodes.OR | opcodes.FETCH,
    "FETCH_AND": opcodes.AND | opcodes.FETCH,
    "FETCH_XOR": opcodes.XOR | opcodes.FETCH,
    "LOAD_ACQUIRE": opcodes.LOAD_ACQ,
    "STORE_RELEASE": opcodes.STORE_REL,
}


def _modules_after(code: str, **env: str) -> set[str]:
    """The modules a fresh interpreter holds once it has run ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("cls", _ENUMS, ids=lambda cls: cls.__name__)
def test_every_enum_member_is_the_plain_number_of_its_name(cls: type[enum.IntEnum]) -> None:
    for member in cls:
        if cls is opcodes.PseudoSource:
            name = "PSEUDO_NONE" if member.name == "IMM" else f"PSEUDO_{member.name}"
            expected = getattr(opcodes, name)
        elif cls is opcodes.CallSource:
            names = {"HELPER": "PSEUDO_NONE", "LOCAL": "PSEUDO_CALL", "KFUNC": "PSEUDO_KFUNC_CALL"}
            expected = getattr(opcodes, names[member.name])
        else:
            expected = _RENAMED.get(member.name, getattr(opcodes, member.name, None))
        assert member == expected, member
        assert type(expected) is int


def test_every_plain_number_has_its_enum_member() -> None:
    numbers = {
        name: value
        for name, value in vars(opcodes).items()
        if name in opcodes.__all__ and type(value) is int
    }
    members = {member.name for cls in _ENUMS for member in cls}
    own_names = {"LD_IMM64", "ADDR_SPACE_CAST", "FETCH", "LOAD_ACQ", "STORE_REL"}
    plain = {n for n in numbers if not n.startswith("PSEUDO_")} - own_names
    assert plain <= members, sorted(plain - members)
    assert opcodes.LD_IMM64 == opcodes.OpClass.LD | opcodes.Mode.IMM | opcodes.Size.DW == 0x18


def test_the_enums_are_the_same_objects_from_every_public_place() -> None:
    for home in (_opcode_fields, _sources):
        for name in home.__all__:
            assert getattr(opcodes, name) is getattr(pybpf.asm, name) is getattr(home, name)
    with pytest.raises(AttributeError, match="no attribute 'Opcode'"):
        opcodes.Opcode  # noqa: B018


def test_valid_opcodes_are_what_each_class_allows() -> None:
    by_class: dict[int, set[int]] = {}
    for op in opcodes.VALID_OPCODES:
        by_class.setdefault(op & 0x07, set()).add(op & 0xF8)
    # 12 two-source operations, NEG, and END (two byte orders in ALU, one in ALU64).
    assert len(by_class[OpClass.ALU]) == 12 * 2 + 1 + 2
    assert len(by_class[OpClass.ALU64]) == 12 * 2 + 1 + 1
    # 11 conditional jumps with both sources; JA; CALL, EXIT and JCOND only in JMP.
    assert len(by_class[OpClass.JMP]) == 11 * 2 + 4
    assert len(by_class[OpClass.JMP32]) == 11 * 2 + 1
    assert by_class[OpClass.LD] == {Mode.IMM | Size.DW} | {
        mode | size for mode in (Mode.ABS, Mode.IND) for size in (Size.W, Size.H, Size.B)
    }
    assert by_class[OpClass.STX] == {
        mode | size for mode in (Mode.MEM, Mode.ATOMIC) for size in Size
    }


def test_reading_an_enum_builds_it() -> None:
    loaded = _modules_after("from pybpf.asm.opcodes import JumpOp\nassert JumpOp.CALL == 0x80")
    assert "pybpf.asm._opcode_fields" in loaded
    assert "pybpf.asm._sources" not in loaded


def test_the_codecs_rules_agree_with_the_enums() -> None:
    assert set(opcodes.PseudoSource) == codec._PSEUDO_SOURCES
    assert set(opcodes.CallSource) == codec._CALL_SOURCES
    assert set(opcodes.AtomicOp) == codec._ATOMIC_OPS
    assert {op for op in opcodes.AtomicOp if op < opcodes.LOAD_ACQ} == codec._RMW_OPS


@pytest.mark.parametrize("codec_env", ["compiled", "python"])
def test_decoding_and_encoding_build_no_enum(codec_env: str) -> None:
    # A load decodes and encodes every program: it compares plain numbers. The
    # Python codec's tables are built by its first use only.
    env = {"PYBPF_ASM_CODEC": "python"} if codec_env == "python" else {}
    loaded = _modules_after(
        "from pybpf.asm import decode\n"
        "raw = bytes([0x18, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,"
        " 0x85, 0x10, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])\n"
        "insns = decode(raw)\n"
        "assert insns.encode() == raw\n"
        "assert insns[0].is_ld_imm64 and insns[1].is_function_call and insns[2].is_exit",
        **env,
    )
    assert not {"pybpf.asm._opcode_fields", "pybpf.asm._sources"} & loaded
    if codec._compiled_codec() is not None and codec_env == "compiled":
        assert "pybpf.asm._python_codec" not in loaded
    if codec_env == "python":
        assert "pybpf.asm._python_codec" in loaded
