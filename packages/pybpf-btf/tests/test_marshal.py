"""marshal: load_spec(marshal(spec)) == spec, for vmlinux and every testdata object."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import (
    BTFError,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Linkage,
    Member,
    Pointer,
    Restrict,
    Spec,
    Struct,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
    load_spec,
    marshal,
)

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def every_kind() -> list:  # type: ignore[type-arg]
    i32 = Int("int", 4, IntEncoding.SIGNED)
    bits = Struct(
        "flags", 4, [Member("a", i32, 0, bitfield_size=3), Member("b", i32, 3, bitfield_size=5)]
    )
    proto = FuncProto(i32, [FuncParam("ctx", Pointer(Volatile(Restrict(i32))))])
    func = Func("prog", proto, Linkage.GLOBAL)
    var = Var("counter", i32, Linkage.GLOBAL)
    return [
        bits,
        Union("u", 8, [Member("x", Float("double", 8)), Member("y", Fwd("later", FwdKind.UNION))]),
        Enum("e", 4, [EnumValue("A", -5)], signed=True),
        func,
        DeclTag("kfunc", func),
        DeclTag("arg", func, component_idx=0, attribute=True),
        TypeTag("user", Pointer(i32), attribute=False),
        TypeTag("address_space(1)", i32, attribute=True),
        Datasec(".data", 4, [VarSecinfo(var, 0, 4)]),
    ]


@pytest.mark.parametrize("order", ["little", "big"])
def test_every_kind_round_trips(order: str) -> None:
    spec = Spec.from_types(every_kind())
    data = marshal(spec, byte_order=order)  # type: ignore[arg-type]
    assert data[:2] == (b"\x9f\xeb" if order == "little" else b"\xeb\x9f")
    loaded = load_spec(data)
    assert loaded == spec
    assert loaded.byte_order == order
    flags = loaded.type_by_name("flags", Struct)
    assert [(m.offset, m.bitfield_size) for m in flags.members] == [(0, 3), (3, 5)]  # type: ignore[attr-defined]
    tags = loaded.types_by_name("address_space(1)")
    assert tags[0].attribute  # type: ignore[attr-defined]
    assert loaded.type_by_name("arg").attribute  # type: ignore[attr-defined]


def test_marshal_types_directly() -> None:
    types = every_kind()
    assert load_spec(marshal(types)) == Spec.from_types(types)


def test_strings_are_deduplicated() -> None:
    a = Int("same", 4)
    b = Int("same", 8)
    data = marshal([a, b])
    _, _, _, _, _, _, str_off, str_len = struct.unpack_from("<HBBIIIII", data)
    assert data[24 + str_off : 24 + str_off + str_len] == b"\0same\0"


def test_values_that_do_not_fit() -> None:
    with pytest.raises(BTFError, match="needs ENUM64"):
        marshal([Enum("e", 4, [EnumValue("big", 1 << 40)])])
    with pytest.raises(BTFError, match="65535"):
        marshal([Struct("s", 4, [Member(str(i), Int("int", 4)) for i in range(70000)])])
    with pytest.raises(BTFError, match="offset or bitfield too large"):
        marshal([Struct("s", 4, [Member("m", Int("int", 4), 1 << 25, bitfield_size=1)])])


def test_testdata_round_trip(obj_path: Path) -> None:
    spec = load_spec(obj_path)
    again = load_spec(marshal(spec))
    assert again == spec
    swapped = load_spec(
        marshal(spec, byte_order="big" if spec.byte_order == "little" else "little")
    )
    assert swapped == spec
    assert swapped.byte_order != spec.byte_order


@pytest.mark.slow
@pytest.mark.kernel_files
def test_vmlinux_round_trip() -> None:
    spec = load_spec(VMLINUX)
    data = marshal(spec)
    assert load_spec(data) == spec
    # Already deduplicated by pahole: marshalling cannot grow it.
    assert len(data) <= VMLINUX.stat().st_size


def test_out_of_range_fields() -> None:
    from pybpf.btf.marshal import encode
    from pybpf.btf.marshal_record import Record
    from pybpf.btf.types import Kind

    with pytest.raises(BTFError, match="value 4294967296 does not fit 32 bits"):
        encode([Record(Kind.INT, "i", 1 << 32, extra=[32])], "little")
    with pytest.raises(BTFError, match="value -1 does not fit"):
        encode([Record(Kind.ARRAY, "", 0, extra=[1, 1, -1])], "big")
