"""Property test: the codec lays out generated types exactly as ctypes does.

Hypothesis draws a type shape (scalars, arrays, nested structs and unions),
ctypes lays it out for each byte order, the BTF type is built from ctypes'
offsets, and a drawn value must encode to the bytes ctypes holds for it.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.btf import Array, Float, Int, IntEncoding, Member, Struct, Type, Union
from pybpf.btf.codec import asdict, codec_for

S = IntEncoding.SIGNED
# (ctypes type, BTF type, value strategy)
LEAVES: list[tuple[Any, Type, st.SearchStrategy[Any]]] = [
    (ctypes.c_uint8, Int("unsigned char", 1), st.integers(0, 255)),
    (ctypes.c_int8, Int("signed char", 1, S), st.integers(-128, 127)),
    (ctypes.c_uint16, Int("u16", 2), st.integers(0, 2**16 - 1)),
    (ctypes.c_int16, Int("s16", 2, S), st.integers(-(2**15), 2**15 - 1)),
    (ctypes.c_uint32, Int("u32", 4), st.integers(0, 2**32 - 1)),
    (ctypes.c_int32, Int("s32", 4, S), st.integers(-(2**31), 2**31 - 1)),
    (ctypes.c_uint64, Int("u64", 8), st.integers(0, 2**64 - 1)),
    (ctypes.c_int64, Int("s64", 8, S), st.integers(-(2**63), 2**63 - 1)),
    (ctypes.c_float, Float("float", 4), st.floats(width=32, allow_nan=False)),
    (ctypes.c_double, Float("double", 8), st.floats(allow_nan=False)),
]

Shape = tuple[Any, ...]
BYTE_LEAVES = [("leaf", 0), ("leaf", 1)]


def shapes() -> st.SearchStrategy[Shape]:
    leaf = st.integers(0, len(LEAVES) - 1).map(lambda i: ("leaf", i))

    def extend(inner: st.SearchStrategy[Shape]) -> st.SearchStrategy[Shape]:
        return st.one_of(
            st.tuples(st.just("array"), inner, st.integers(1, 3)),
            st.tuples(st.just("struct"), st.lists(inner, min_size=1, max_size=4).map(tuple)),
            st.tuples(st.just("union"), st.lists(inner, min_size=1, max_size=3).map(tuple)),
        )

    members = st.lists(st.recursive(leaf, extend, max_leaves=8), min_size=1, max_size=5)
    return st.tuples(st.just("struct"), members.map(tuple))


def no_unions(shape: Shape) -> Shape:
    """ctypes cannot nest big-endian unions in big-endian structs: make them structs."""
    if shape[0] == "leaf":
        return shape
    if shape[0] == "array":
        return ("array", no_unions(shape[1]), shape[2])
    return ("struct", tuple(no_unions(s) for s in shape[1]))


def build(shape: Shape, order: str, counter: list[int]) -> tuple[Any, Type]:
    """The ctypes type and the BTF type of a shape."""
    if shape[0] == "leaf":
        ct, bt, _ = LEAVES[shape[1]]
        return ct, bt
    if shape[0] == "array":
        ct, bt = build(shape[1], order, counter)
        return ct * shape[2], Array(bt, shape[2])
    members = [build(s, order, counter) for s in shape[1]]
    counter[0] += 1
    name = f"{shape[0]}{counter[0]}"
    if shape[0] == "struct":
        base = ctypes.LittleEndianStructure if order == "little" else ctypes.BigEndianStructure
    else:
        base = ctypes.LittleEndianUnion if order == "little" else ctypes.BigEndianUnion
    cls = type(name, (base,), {"_fields_": [(f"m{i}", ct) for i, (ct, _) in enumerate(members)]})
    btf_members = [
        Member(f"m{i}", bt, getattr(cls, f"m{i}").offset * 8) for i, (_, bt) in enumerate(members)
    ]
    kind = Struct if shape[0] == "struct" else Union
    return cls, kind(name, ctypes.sizeof(cls), btf_members)


def values(shape: Shape) -> st.SearchStrategy[Any]:
    if shape[0] == "leaf":
        return LEAVES[shape[1]][2]
    if shape[0] == "array":
        if shape[1] in BYTE_LEAVES:  # arrays of bytes are bytes
            return st.binary(min_size=shape[2], max_size=shape[2])
        return st.lists(values(shape[1]), min_size=shape[2], max_size=shape[2])
    if shape[0] == "struct":
        return st.fixed_dictionaries({f"m{i}": values(s) for i, s in enumerate(shape[1])})
    # A union holds one member.
    return st.one_of(*[st.fixed_dictionaries({f"m{i}": values(s)}) for i, s in enumerate(shape[1])])


def fill(obj: Any, shape: Shape, value: Any) -> None:
    """Store ``value`` into the ctypes object ``obj`` of ``shape``."""
    if shape[0] == "array":
        if isinstance(value, bytes):
            signed = shape[1] == ("leaf", 1)
            value = [b - 256 if signed and b > 127 else b for b in value]
        for i, v in enumerate(value):
            if shape[1][0] == "leaf":
                obj[i] = v
            else:
                fill(obj[i], shape[1], v)
        return
    for key, v in value.items():
        sub = shape[1][int(key[1:])]
        if sub[0] == "leaf":
            setattr(obj, key, v)
        else:
            fill(getattr(obj, key), sub, v)


def f32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]  # type: ignore[no-any-return]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), order=st.sampled_from(["little", "big"]))
def test_codec_matches_ctypes(data: st.DataObject, order: str) -> None:
    shape = data.draw(shapes())
    if order == "big":
        shape = no_unions(shape)
    ct, bt = build(shape, order, [0])
    value = data.draw(values(shape))
    expected = ct()
    fill(expected, shape, value)
    codec = codec_for(bt, order)
    assert codec.size == ctypes.sizeof(ct)
    raw = codec.encode(value)
    assert raw == bytes(expected)
    decoded = codec.decode(raw)
    assert codec.encode(decoded) == raw
    if "union" not in repr(shape):
        # A dict of a union names every member, and each is written in turn.
        assert codec.encode(asdict(decoded)) == raw


def test_union_round_trip_with_a_nan_member() -> None:
    # Found by test_codec_matches_ctypes: a union whose bytes make a float
    # member NaN lost the other members' bytes on re-encoding, because the
    # decoded NaN never equals itself and the member was written again.
    u8, s64 = Int("unsigned char", 1), Int("s64", 8, S)
    inner = Struct("inner", 8, [Member("b", u8, 0), Member("f", Float("float", 4), 32)])
    union = Union("u", 8, [Member("b", u8, 0), Member("s", inner, 0), Member("v", s64, 0)])
    codec = codec_for(union, "little")
    raw = codec.encode({"v": -1})
    decoded = codec.decode(raw)
    assert decoded.s.f != decoded.s.f  # NaN
    assert codec.encode(decoded) == raw
