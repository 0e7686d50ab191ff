"""The value codec on hand-built types: every kind, both byte orders, errors."""

from __future__ import annotations

import enum
import math

import pytest

from pybpf.btf import (
    Array,
    Const,
    Datasec,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Member,
    Pointer,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from pybpf.btf.codec import CodecError, CodecTypeError, Record, asdict, codec_for, fields

ORDERS = ["little", "big"]
S = IntEncoding.SIGNED
u8 = Int("unsigned char", 1)
u16 = Int("short unsigned int", 2)
u32 = Int("unsigned int", 4)
s32 = Int("int", 4, S)
u64 = Int("long long unsigned int", 8)
s64 = Int("long long int", 8, S)
char = Int("char", 1, S)
boolean = Int("_Bool", 1, IntEncoding.BOOL)


def task_type() -> Struct:
    return Struct(
        "task",
        24,
        [Member("pid", s32, 0), Member("comm", Array(char, 16), 32), Member("flags", u32, 160)],
    )


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("size", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("signed", [False, True])
def test_integers(order: str, size: int, signed: bool) -> None:
    t = Int("i", size, S if signed else IntEncoding.NONE)
    c = codec_for(t, order)
    assert c.size == size
    lo, hi = (
        (-(1 << (size * 8 - 1)), (1 << (size * 8 - 1)) - 1) if signed else (0, (1 << size * 8) - 1)
    )
    for v in (lo, hi, 0, 1, hi // 3):
        raw = c.encode(v)
        assert raw == v.to_bytes(size, order, signed=signed)  # type: ignore[arg-type]
        assert c.decode(raw) == v
        assert c.decode(bytearray(raw)) == v
        assert c.decode(memoryview(raw)) == v
    for bad in (lo - 1, hi + 1):
        with pytest.raises(CodecError, match="does not fit"):
            c.encode(bad)
    with pytest.raises(CodecTypeError, match="expected int"):
        c.encode("1")
    with pytest.raises(TypeError):
        c.encode(1.5)


@pytest.mark.parametrize("order", ORDERS)
def test_pointer_float_bool(order: str) -> None:
    p = codec_for(Pointer(Void()), order)
    assert p.size == 8 and p.decode(p.encode(0xFFFF_8000_0000_1234)) == 0xFFFF_8000_0000_1234
    d = codec_for(Float("double", 8), order)
    assert d.decode(d.encode(1.5)) == 1.5 and d.decode(d.encode(3)) == 3.0
    f = codec_for(Float("float", 4), order)
    assert f.decode(f.encode(0.25)) == 0.25
    assert math.isinf(f.decode(f.encode(math.inf)))
    with pytest.raises(CodecError, match="does not fit"):
        f.encode(1e300)
    with pytest.raises(CodecTypeError):
        d.encode("1.0")
    b = codec_for(boolean, order)
    assert b.encode(True) == b"\x01" and b.decode(b"\x00") is False and b.decode(b"\x07") is True
    with pytest.raises(CodecTypeError, match="expected bool"):
        b.encode(2)


def test_byte_order_differs() -> None:
    assert codec_for(u32, "little").encode(1) == b"\x01\0\0\0"
    assert codec_for(u32, "big").encode(1) == b"\0\0\0\x01"
    with pytest.raises(ValueError, match="byte_order"):
        codec_for(u32, "middle")


def test_compiled_once() -> None:
    assert codec_for(u32, "little") is codec_for(u32, "little")
    assert codec_for(Typedef("__u32", Const(u32)), "little") is codec_for(u32, "little")


@pytest.mark.parametrize("order", ORDERS)
def test_enums(order: str) -> None:
    e = Enum("proto", 4, [EnumValue("TCP", 6), EnumValue("UDP", 17)])
    c = codec_for(e, order)
    v = c.decode(c.encode("UDP"))
    assert isinstance(v, enum.IntEnum) and v == 17 and v.name == "UDP"
    assert c.decode(c.encode(6)).name == "TCP"
    assert c.decode(c.encode(99)) == 99  # not an enumerator: a plain int
    assert c.encode(v) == c.encode(17)
    with pytest.raises(CodecError, match="no enumerator 'SCTP'"):
        c.encode("SCTP")
    signed = Enum("s", 4, [EnumValue("NEG", -1), EnumValue("POS", 1)], signed=True)
    sc = codec_for(signed, order)
    assert sc.encode("NEG") == b"\xff" * 4 and sc.decode(b"\xff" * 4).name == "NEG"
    # An unsigned enum whose value was stored as a negative 32-bit number.
    wrapped = codec_for(Enum("w", 4, [EnumValue("ALL", -1)]), order)
    assert wrapped.decode(b"\xff" * 4).name == "ALL" and wrapped.decode(b"\xff" * 4) == 0xFFFFFFFF
    e64 = codec_for(Enum64("big", 8, [EnumValue("HUGE", 1 << 40)]), order)
    assert e64.size == 8 and e64.decode(e64.encode("HUGE")) == 1 << 40


@pytest.mark.parametrize("order", ORDERS)
def test_char_and_byte_arrays(order: str) -> None:
    comm = codec_for(Array(char, 8), order)
    assert comm.encode("init") == b"init\0\0\0\0"
    assert comm.encode(b"init") == comm.encode(bytearray(b"init"))
    assert comm.decode(b"init\0\0\0\0") == b"init"
    # Only trailing NULs go: re-encoding gives back the same bytes.
    assert comm.decode(b"a\0b\0\0\0\0\0") == b"a\0b"
    assert comm.encode(comm.decode(b"a\0b\0\0\0\0\0")) == b"a\0b\0\0\0\0\0"
    with pytest.raises(CodecError, match="9 bytes do not fit in 8"):
        comm.encode("123456789")
    mac = codec_for(Array(u8, 6), order)
    assert mac.decode(bytes(6)) == bytes(6)  # raw bytes keep their zeros
    assert mac.encode(b"\1\2") == b"\1\2\0\0\0\0"
    with pytest.raises(CodecTypeError):
        mac.encode("ab")  # text only for char arrays
    with pytest.raises(CodecTypeError):
        mac.encode([1, 2])


@pytest.mark.parametrize("order", ORDERS)
def test_arrays(order: str) -> None:
    c = codec_for(Array(u16, 3), order)
    assert c.size == 6
    assert c.decode(c.encode([1, 2, 3])) == [1, 2, 3]
    assert c.decode(c.encode((1,))) == [1, 0, 0]
    with pytest.raises(CodecError, match=r"^array\[1\]: -1 does not fit"):
        c.encode([1, -1])
    with pytest.raises(CodecError, match="4 elements do not fit in 3"):
        c.encode([1, 2, 3, 4])
    with pytest.raises(CodecTypeError):
        c.encode(b"abc")
    nested = codec_for(Array(Array(u32, 2), 2), order)
    assert nested.decode(nested.encode([[1, 2], [3]])) == [[1, 2], [3, 0]]
    e = Enum("e", 4, [EnumValue("A", 1), EnumValue("B", 2)])
    ec = codec_for(Array(e, 2), order)
    assert [v.name for v in ec.decode(ec.encode(["B", 1]))] == ["B", "A"]
    sc = codec_for(Array(task_type(), 2), order)
    recs = sc.decode(sc.encode([{"pid": 1}, {"comm": "x"}]))
    assert recs[0].pid == 1 and recs[1].comm == b"x"


@pytest.mark.parametrize("order", ORDERS)
def test_struct_records(order: str) -> None:
    t = task_type()
    c = codec_for(t, order)
    assert c.size == 24
    rec = c.decode(c.encode({"pid": 1, "comm": "init"}))
    assert isinstance(rec, Record)
    assert repr(rec) == "task(pid=1, comm=b'init', flags=0)"
    assert rec == c.record(pid=1, comm=b"init")
    assert rec != c.record(pid=2, comm=b"init")
    assert fields(rec) == ("pid", "comm", "flags")
    assert asdict(rec) == {"pid": 1, "comm": b"init", "flags": 0}
    rec.flags = 7
    raw = c.encode(rec)
    assert raw[20:24] == (7).to_bytes(4, order)  # type: ignore[arg-type]
    assert c.decode(raw) == rec
    assert c.encode({}) == bytes(24)
    assert c.record() == c.zero()
    with pytest.raises(AttributeError):
        rec.nope = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        hash(rec)


@pytest.mark.parametrize("order", ORDERS)
def test_padding_zeroed(order: str) -> None:
    t = Struct("p", 16, [Member("a", u8, 0), Member("b", u64, 64)])
    c = codec_for(t, order)
    buf = bytearray(b"\xaa" * 20)
    c.encode_into(buf, 2, {"a": 1, "b": 2})
    assert buf[:2] == b"\xaa\xaa" and buf[18:] == b"\xaa\xaa"
    assert buf[3:10] == bytes(7)
    assert c.decode_from(buf, 2) == c.record(a=1, b=2)
    with pytest.raises(CodecError, match="do not fit in a buffer of 20"):
        c.encode_into(buf, 5, {})
    with pytest.raises(CodecError, match="need 16 bytes, got 15"):
        c.decode(bytes(15))
    with pytest.raises(CodecError):
        c.decode_from(buf, -1)


@pytest.mark.parametrize("order", ORDERS)
def test_nested_and_error_paths(order: str) -> None:
    inner = Struct("inner", 8, [Member("x", u32, 0), Member("arr", Array(u8, 4), 32)])
    outer = Struct(
        "outer",
        24,
        [Member("in", inner, 0), Member("list", Array(s32, 4), 64)],
    )
    c = codec_for(outer, order)
    v = c.decode(c.encode({"in": {"x": 3, "arr": b"ab"}, "list": [1, -1]}))
    assert getattr(v, "in").x == 3
    assert v.list == [1, -1, 0, 0]
    with pytest.raises(CodecError) as info:
        c.encode({"list": [0, 0, 0, 1 << 40]})
    assert info.value.path == "outer.list[3]"
    assert str(info.value).startswith("outer.list[3]: ")
    with pytest.raises(CodecError) as info:
        c.encode({"in": {"x": -5}})
    assert info.value.path == "outer.in.x"
    with pytest.raises(CodecError, match=r"outer\.in: no member 'y' in inner"):
        c.encode({"in": {"y": 1}})
    with pytest.raises(CodecTypeError, match=r"outer\.in: expected inner record"):
        c.encode({"in": 5})
    with pytest.raises(CodecTypeError, match="expected outer record"):
        c.encode(codec_for(inner, order).zero())


@pytest.mark.parametrize("order", ORDERS)
def test_unions_and_anonymous_members(order: str) -> None:
    u = Union("", 8, [Member("word", u64, 0), Member("half", Array(u32, 2), 0)])
    s = Struct("sock", 16, [Member("family", u16, 0), Member("", u, 64)])
    c = codec_for(s, order)
    assert fields(c.record) == ("family", "_anon1")
    rec = c.decode(c.encode({"family": 2, "_anon1": {"half": [1, 2]}}))
    assert rec.half == [1, 2]  # promoted as in C
    assert rec.word == int.from_bytes(
        (1).to_bytes(4, order) + (2).to_bytes(4, order),  # type: ignore[arg-type]
        order,  # type: ignore[arg-type]
    )
    rec.word = 5
    uc = codec_for(u, order)
    assert uc.encode(uc.record(word=5)) == (5).to_bytes(8, order)  # type: ignore[arg-type]
    assert uc.zero().word is None
    # Decoded unions re-encode to the same bytes.
    raw = c.encode({"family": 1, "_anon1": {"word": 0x1122334455667788}})
    assert c.encode(c.decode(raw)) == raw


@pytest.mark.parametrize("order", ORDERS)
def test_bitfields(order: str) -> None:
    e = Enum("mode", 4, [EnumValue("OFF", 0), EnumValue("ON", 3)])
    t = Struct(
        "bits",
        8,
        [
            Member("a", u32, 0, 3),
            Member("b", s32, 3, 5),
            Member("m", e, 8, 2),
            Member("flag", boolean, 10, 1),
            Member("wide", u32, 11, 21),
            Member("c", u16, 32),
        ],
    )
    c = codec_for(t, order)
    v = {"a": 5, "b": -3, "m": "ON", "flag": True, "wide": (1 << 21) - 1, "c": 9}
    rec = c.decode(c.encode(v))
    assert (rec.a, rec.b, rec.m, rec.flag, rec.wide, rec.c) == (5, -3, 3, True, (1 << 21) - 1, 9)
    assert rec.m.name == "ON"
    word = int.from_bytes(c.encode(v)[:4], order)  # type: ignore[arg-type]
    if order == "little":
        assert word & 7 == 5 and (word >> 3) & 31 == (-3 & 31)
    else:
        assert word >> 29 == 5 and (word >> 24) & 31 == (-3 & 31)
    with pytest.raises(CodecError, match=r"bits\.a: 8 does not fit in 3 bits"):
        c.encode({"a": 8})
    with pytest.raises(CodecError, match=r"bits\.b: 16 does not fit in 5 bits signed"):
        c.encode({"b": 16})


def test_old_style_int_bitfield() -> None:
    t = Struct("old", 4, [Member("x", Int("unsigned int", 4, bits=4, offset=0), 4)])
    c = codec_for(t, "little")
    assert c.encode({"x": 15}) == b"\xf0\0\0\0"


@pytest.mark.parametrize("order", ORDERS)
def test_datasec_and_vars(order: str) -> None:
    counter = Var("counter", u64)
    name = Var("name", Array(char, 4))
    sec = Datasec(".data", 16, [VarSecinfo(counter, 0, 8), VarSecinfo(name, 8, 4)])
    c = codec_for(sec, order)
    rec = c.decode(c.encode({"counter": 3, "name": "ab"}))
    assert repr(rec) == ".data(counter=3, name=b'ab')"
    assert codec_for(counter, order) is codec_for(u64, order)


def test_transparent_wrappers() -> None:
    wrapped = Typedef("pid_t", Volatile(TypeTag("user", Const(s32))))
    assert codec_for(wrapped, "little").decode(b"\xff\xff\xff\xff") == -1


@pytest.mark.parametrize(
    "t", [Void(), Fwd("task_struct"), FuncProto(Void()), Func("f", FuncProto(Void()))]
)
def test_no_values(t: object) -> None:
    with pytest.raises(CodecError, match="no values"):
        codec_for(t, "little")  # type: ignore[arg-type]


def test_int128() -> None:
    c = codec_for(Int("__int128", 16, S), "big")
    assert c.decode(c.encode(-2)) == -2 and c.encode(1)[-1] == 1


def test_private_looking_member_names() -> None:
    # Python mangles ``__pad`` in class bodies; C has many such members.
    t = Struct("sockaddr_in", 8, [Member("__pad", u32, 0), Member("__x__", u32, 32)])
    c = codec_for(t, "little")
    rec = c.decode(c.encode({"__pad": 3, "__x__": 4}))
    assert getattr(rec, "__pad") == 3 and getattr(rec, "__x__") == 4  # noqa: B009
    assert repr(rec) == "sockaddr_in(__pad=3, __x__=4)"
    odd = Struct("odd", 4, [Member("class", u32, 0)])
    oc = codec_for(odd, "little")
    assert getattr(oc.decode(oc.encode({"class": 5})), "class") == 5


def test_overlapping_members_are_refused() -> None:
    # clang leaves data section offsets at 0 for the loader to fill in.
    a, b = Var("a", u32), Var("b", u32)
    sec = Datasec(".bss", 0, [VarSecinfo(a, 0, 4), VarSecinfo(b, 0, 4)])
    with pytest.raises(CodecError, match="'b' at byte 0 overlaps"):
        codec_for(sec, "little")
    with pytest.raises(CodecError, match="past the size"):
        codec_for(Struct("short", 2, [Member("x", u32, 0)]), "little")


@pytest.mark.parametrize("names", [("a", "a"), ("__slots__",), ("__init__",), ("__btf_fields__",)])
def test_impossible_member_names(names: tuple[str, ...]) -> None:
    t = Struct("bad", 8, [Member(n, u32, 32 * i) for i, n in enumerate(names)])
    with pytest.raises(CodecError, match="reserved or used twice"):
        codec_for(t, "little")


def test_records_in_match_statements() -> None:
    c = codec_for(task_type(), "little")
    match c.decode(c.encode({"pid": 7, "comm": "init"})):
        case c.record(pid, comm, _):
            assert (pid, comm) == (7, b"init")
        case _:
            pytest.fail("no match")
