"""The C dump on hostile BTF: work bounded by the text that means something, typed errors.

Each case once took minutes and gigabytes, or raised RecursionError.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.btf import (
    Array,
    BTFError,
    Const,
    FuncProto,
    Int,
    IntEncoding,
    Member,
    Pointer,
    Struct,
    Type,
    Typedef,
    Var,
    load_spec,
)
from pybpf.btf.cdump import MAX_NESTING, dump_c, format_c

INT = Int("int", 4, IntEncoding.SIGNED)
# struct s { int a; } declared 4 GiB - 1 long.
HUGE_STRUCT = bytes.fromhex(
    "9feb010018000000000000002800000028000000090000000100000001000004ffffffff"
    "030000000200000000000000050000000000000104000000200000010073006100696e7400"
)
# [1] typedef t -> [2] t (*)(void)... a prototype whose return type is the typedef.
TYPEDEF_OF_ITS_OWN_PROTO = bytes.fromhex(
    "9feb01001800000000000000180000001800000003000000010000000000000802000000"
    "000000000000000d01000000007400"
)


def test_huge_padding_is_one_array() -> None:
    text = dump_c(load_spec(HUGE_STRUCT))
    assert len(text) < 200
    assert "char __pad_4[4294967291];" in text


def test_padding_of_a_page_is_one_line_per_unit_as_bpftool_writes_it() -> None:
    page_aligned = Struct("p", 4100, [Member("a", INT, 0), Member("b", INT, 4096 * 8)])
    text = dump_c([page_aligned])
    assert text.count("\tlong: 64;") == 511
    assert "__pad" not in text


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")
def test_huge_padding_keeps_the_layout(tmp_path: Path) -> None:
    struct = Struct("g", 1 << 20, [Member("a", INT, 0), Member("b", INT, 8 * ((1 << 20) - 4))])
    # After a bitfield, up to a bitfield.
    bits = Struct(
        "h", 1 << 20, [Member("a", INT, 0, bitfield_size=3), Member("b", INT, 8 << 19, 5)]
    )
    src = tmp_path / "g.c"
    src.write_text(
        format_c([struct, bits])
        + '_Static_assert(sizeof(struct h) == 1 << 20, "size");\n'
        + '_Static_assert(sizeof(struct g) == 1 << 20, "size");\n'
        + '_Static_assert(__builtin_offsetof(struct g, b) == (1 << 20) - 4, "offset");\n'
        + '_Static_assert(_Alignof(struct g) == 4, "align");\n'
    )
    subprocess.run(
        ["clang", "-target", "bpf", "-fsyntax-only", str(src)], check=True, capture_output=True
    )


def test_typedef_returned_by_its_own_prototype() -> None:
    with pytest.raises(BTFError, match="cycle"):
        dump_c(load_spec(TYPEDEF_OF_ITS_OWN_PROTO))


def test_deep_chains_cost_no_stack() -> None:
    # 2,000 typedefs each of the one before, and 2,000 structs each holding the one before.
    types: list[Type] = [INT]
    for i in range(2000):
        types.append(Typedef(f"t{i}", types[-1]))
    last = types[-1]
    inner: Type = INT
    for i in range(2000):
        inner = Struct(f"s{i}", 4, [Member("m", inner, 0)])
    text = dump_c([last, inner])
    assert "typedef t1998 t1999;" in text
    assert "struct s1999 {\n\tstruct s1998 m;\n};" in text
    # A pointer chain is one declarator, however long.
    ptr: Type = INT
    for _ in range(2000):
        ptr = Const(Pointer(ptr))
    assert "* const " * 10 in dump_c([Typedef("p", ptr)])


def test_nesting_past_the_limit_is_refused() -> None:
    # Anonymous structs in anonymous structs, and pointers to arrays of pointers to arrays.
    anon: Type = INT
    for _ in range(MAX_NESTING + 1):
        anon = Struct("", 4, [Member("m", anon, 0)])
    with pytest.raises(BTFError, match="nested more than"):
        dump_c([Struct("top", 4, [Member("x", anon, 0)])])
    parens: Type = INT
    for _ in range(MAX_NESTING + 1):
        parens = Pointer(Array(parens, 2))
    with pytest.raises(BTFError, match="nested more than"):
        dump_c([Typedef("p", parens)])
    dump_c([Typedef("ok", Pointer(FuncProto(Pointer(Array(INT, 2)), [])))])


def test_qualifier_cycle() -> None:
    loop = Const(INT)
    loop.type = Pointer(loop)
    with pytest.raises(BTFError, match="cycle"):
        dump_c([Typedef("t", loop)])


def test_struct_holding_itself_through_a_variable() -> None:
    # Found by fuzz/fuzz_btf_graph.py: a member whose type is a VAR of the struct
    # itself took the alignment computation into a RecursionError.
    struct = Struct("s", 4, [])
    struct.members.append(Member("", Var("v", struct), 32))
    with pytest.raises(BTFError, match="cycle"):
        format_c([struct])
