"""Fuzzing raw BTF: whatever the bytes, the only exception is BTFError.

Each input is loaded, every type decoded, every reference followed, sizes and
alignments computed, and the spec rendered and marshalled again.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import (
    Array,
    BTFError,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Linkage,
    Member,
    Pointer,
    Spec,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
    alignof,
    load_spec,
    marshal,
    sizeof,
)
from pybpf.btf.cli_dump import json_document, raw_lines


def _seed_spec() -> Spec:
    i32 = Int("int", 4, IntEncoding.SIGNED)
    node = Struct("node", 16, [])
    node.members += [
        Member("next", Pointer(node), 0),
        Member("v", Volatile(i32), 64),
        Member("b", i32, 96, bitfield_size=4),
    ]
    proto = FuncProto(i32, [FuncParam("n", Pointer(node))])
    func = Func("f", proto, Linkage.GLOBAL)
    var = Var("g", Array(i32, 2), Linkage.GLOBAL)
    return Spec.from_types(
        [
            Typedef("node_t", node),
            Union("u", 8, [Member("d", Float("double", 8))]),
            Enum("e", 4, [EnumValue("A", -1)], signed=True),
            Enum64("e64", 8, [EnumValue("B", 1 << 40)]),
            Fwd("later"),
            func,
            DeclTag("tag", func, 0),
            TypeTag("user", i32),
            Datasec(".data", 8, [VarSecinfo(var, 0, 8)]),
        ]
    )


SEEDS = [marshal(_seed_spec(), byte_order="little"), marshal(_seed_spec(), byte_order="big")]


def exercise(data: bytes) -> None:
    try:
        spec = load_spec(data)
        spec.validate()
        for t in spec:
            for ref in t.references():
                spec.type_id(ref)
            try:
                sizeof(t)
                alignof(t)
            except BTFError:
                pass
        for line in raw_lines(spec):
            io.StringIO().write(line)
        json_document(spec)
        assert load_spec(marshal(spec)) == spec
    except BTFError:
        pass


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "set", "truncate", "insert", "word"]))
        pos = draw(st.integers(0, len(data) - 1)) if data else 0
        if action == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif action == "truncate":
            del data[pos:]
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif action == "word" and len(data) >= 4:
            # A whole 32-bit field: ids, offsets, vlens and sizes at their extremes.
            value = draw(st.sampled_from([0, 1, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x1300_FFFF]))
            at = pos - pos % 4
            data[at : at + 4] = value.to_bytes(4, draw(st.sampled_from(["little", "big"])))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_blobs(data: bytes) -> None:
    exercise(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"", b"\x9f\xeb\x01\x00", b"\xeb\x9f\x01\x00"]))
def test_random_bytes(tail: bytes, head: bytes) -> None:
    exercise(head + tail)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_elf(tail: bytes) -> None:
    exercise(b"\x7fELF\x02\x01\x01" + tail)


def test_seeds_are_valid() -> None:
    for seed in SEEDS:
        assert load_spec(seed) == _seed_spec()
