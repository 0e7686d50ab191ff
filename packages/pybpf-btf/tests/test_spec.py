"""Spec: loading, lookups, ids, equality, building by hand, size helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pybpf import btf
from pybpf.btf import (
    Array,
    BTFError,
    Const,
    Enum,
    Enum64,
    EnumValue,
    FuncParam,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Member,
    Pointer,
    Spec,
    Struct,
    Typedef,
    TypeNotFoundError,
    Union,
    Void,
    load_spec,
    marshal,
)

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def small_spec() -> Spec:
    i32 = Int("int", 4, IntEncoding.SIGNED)
    u8 = Int("unsigned char", 1)
    s = Struct("pair", 8, [Member("a", i32, 0), Member("b", Array(u8, 3), 32)])
    return Spec.from_types([Typedef("pair_t", s), Pointer(Const(s))])


def test_from_types_assigns_ids_depth_first() -> None:
    spec = small_spec()
    names = [(spec.type_id(t), type(t).__name__, t.name) for t in spec]
    assert names == [
        (1, "Typedef", "pair_t"),
        (2, "Struct", "pair"),
        (3, "Int", "int"),
        (4, "Array", ""),
        (5, "Int", "unsigned char"),
        (6, "Int", "int"),  # the array's default index type
        (7, "Pointer", ""),
        (8, "Const", ""),
    ]
    assert len(spec) == 8
    assert spec.next_id == 9


def test_add_is_idempotent() -> None:
    spec = small_spec()
    s = spec.type_by_name("pair")
    assert spec.add(s) == 2
    assert len(spec) == 8
    new = Pointer(s)
    assert spec.add(new) == 9
    assert spec.type_by_id(9) is new


def test_void_is_id_zero_and_a_singleton() -> None:
    spec = small_spec()
    assert spec.type_by_id(0) is Void()
    assert spec.type_id(Void()) == 0
    with pytest.raises(TypeNotFoundError):
        spec.type_by_id(100)
    with pytest.raises(TypeNotFoundError):
        spec.type_by_id(-1)
    with pytest.raises(TypeNotFoundError):
        spec.type_id(Int("other", 4))


def test_type_by_name_none_one_several() -> None:
    spec = small_spec()
    assert spec.type_by_name("pair").name == "pair"
    assert len(spec.types_by_name("int")) == 2
    with pytest.raises(TypeNotFoundError, match="2 types match"):
        spec.type_by_name("int")
    with pytest.raises(TypeNotFoundError, match="no type named 'nope'"):
        spec.type_by_name("nope")
    with pytest.raises(TypeNotFoundError, match="no Union named 'pair'"):
        spec.type_by_name("pair", Union)
    # Caught as the layer's error or as the failed look-up it is.
    with pytest.raises(BTFError, match="no type named 'nope'"):
        spec.type_by_name("nope")
    with pytest.raises(LookupError):
        spec.type_by_name("nope")
    assert spec.type_by_name("pair", Kind.STRUCT).name == "pair"
    assert spec.types_by_name("pair_t", Typedef)


def test_loaded_lookups_match_built(tmp_path: Path) -> None:
    built = small_spec()
    loaded = load_spec(marshal(built))
    assert loaded == built
    assert [loaded.type_id(t) for t in loaded.types_by_name("int")] == [3, 6]
    assert loaded.type_by_name("pair", btf.Composite).name == "pair"
    path = tmp_path / "small.btf"
    path.write_bytes(marshal(built))
    assert load_spec(path) == built
    assert load_spec(str(path)) == built


def test_lazy_references_resolve_to_spec_types() -> None:
    loaded = load_spec(marshal(small_spec()))
    td = loaded.type_by_id(1)
    assert isinstance(td, Typedef)
    assert td.type is loaded.type_by_id(2)
    assert loaded.type_id(td.type) == 2
    s = loaded.type_by_name("pair", Struct)
    assert isinstance(s, Struct)
    assert [m.name for m in s.members] == ["a", "b"]
    assert s.member("b").type is loaded.type_by_id(4)


def test_iteration_is_in_id_order_whatever_was_decoded_first() -> None:
    built = small_spec()
    loaded = load_spec(marshal(built))
    # Types decoded one by one, out of order, then the rest in bulk.
    last = loaded.type_by_id(len(loaded))
    second = loaded.type_by_id(2)
    types = list(loaded)
    assert [(type(t), t.name) for t in types] == [(type(t), t.name) for t in built]
    assert types[1] is second and types[-1] is last
    assert [loaded.type_id(t) for t in types] == list(range(1, len(loaded) + 1))
    # Again, now that every type is made.
    assert list(loaded) == types


def test_types_added_while_iterating_come_out_too() -> None:
    for spec in (small_spec(), load_spec(marshal(small_spec()))):
        count = len(spec)
        extra = Int("extra", 2)
        seen = []
        for t in spec.own_types():
            seen.append(t)
            if len(seen) == count:
                spec.add(extra)
        assert len(seen) == count + 1
        assert seen[-1] is extra
        assert spec.type_id(seen[-1]) == count + 1
        assert spec.raw_record(count + 1) is None
        with pytest.raises(TypeNotFoundError):
            spec.type_by_id(count + 2)


def test_equality_is_by_content_with_ids() -> None:
    a, b = small_spec(), small_spec()
    assert a == b
    b.type_by_name("pair", Struct).size = 16  # type: ignore[attr-defined]
    assert a != b
    c = small_spec()
    c.add(Int("extra", 2))
    assert a != c
    assert a != "not a spec"


def test_sizes_and_alignment() -> None:
    spec = small_spec()
    pair = spec.type_by_name("pair")
    assert btf.sizeof(pair) == 8
    assert btf.alignof(pair) == 4
    assert btf.sizeof(spec.type_by_name("pair_t")) == 8
    assert btf.sizeof(spec.type_by_id(4)) == 3
    assert btf.sizeof(spec.type_by_id(7)) == 8
    assert btf.sizeof(spec.type_by_id(7), pointer_size=4) == 4
    assert spec.sizeof(spec.type_by_id(8)) == 8
    assert btf.underlying(spec.type_by_name("pair_t")) is pair
    assert btf.skip_qualifiers(spec.type_by_id(8)) is pair
    with pytest.raises(BTFError, match="has no size"):
        btf.sizeof(Void())
    packed = Struct("packed", 5, [Member("c", Int("char", 1), 0), Member("i", Int("int", 4), 8)])
    assert btf.alignof(packed) == 1


def test_cycles_are_errors_not_hangs() -> None:
    a = Typedef("A", Int("int", 4))
    a.type = a
    with pytest.raises(BTFError, match="cycle"):
        btf.sizeof(a)
    with pytest.raises(BTFError, match="cycle"):
        btf.underlying(a)
    c = Const(Int("int", 4))
    c.type = c
    with pytest.raises(BTFError, match="cycle"):
        btf.skip_qualifiers(c)
    arr = Array(Int("int", 4), 2)
    arr.type = arr
    with pytest.raises(BTFError, match="cycle"):
        btf.sizeof(arr)
    s = Struct("s", 4, [])
    s.members.append(Member("self", s, 0))
    with pytest.raises(BTFError, match="contains itself"):
        btf.alignof(s)
    # A pointer breaks the cycle, as in C.
    node = Struct("node", 8, [])
    node.members.append(Member("next", Pointer(node), 0))
    assert btf.alignof(node) == 8


def test_absurd_sizes_are_errors() -> None:
    big = Array(Array(Int("long", 8), 0xFFFF_FFFF), 0xFFFF_FFFF)
    with pytest.raises(BTFError, match="exceeds 32 bits"):
        btf.sizeof(big)


def test_enums_keep_sign_and_width() -> None:
    e = Enum("e", 4, [EnumValue("neg", -1), EnumValue("big", 7)], signed=True)
    e64 = Enum64("e64", 8, [EnumValue("huge", 1 << 63)])
    se64 = Enum64("se64", 8, [EnumValue("low", -(1 << 63))], signed=True)
    loaded = load_spec(marshal([e, e64, se64]))
    assert [v.value for v in loaded.type_by_name("e").values] == [-1, 7]  # type: ignore[attr-defined]
    assert loaded.type_by_name("e64").values[0].value == 1 << 63  # type: ignore[attr-defined]
    assert loaded.type_by_name("se64").values[0].value == -(1 << 63)  # type: ignore[attr-defined]
    assert not loaded.types_by_name("e", Enum64)
    assert [t.name for t in loaded.types_by_name("e64", Enum)] == ["e64"]


def test_variadic_prototype() -> None:
    proto = FuncProto(Int("int", 4), [FuncParam("fmt", Pointer(Void())), FuncParam("", Void())])
    assert proto.variadic
    loaded = load_spec(marshal([proto]))
    assert loaded.type_by_id(1).variadic  # type: ignore[attr-defined]


def test_testdata_byte_orders_agree(testdata: Path) -> None:
    for el in sorted(testdata.glob("*-el.o")):
        eb = el.with_name(el.name.replace("-el.o", "-eb.o"))
        if not eb.exists():
            continue
        little, big = load_spec(el), load_spec(eb)
        assert little.byte_order == "little"
        assert big.byte_order == "big"
        assert little == big, el.name


def test_every_kind_in_testdata_decodes(obj_path: Path) -> None:
    spec = load_spec(obj_path)
    for t in spec:
        for ref in t.references():
            assert spec.type_id(ref) < spec.next_id
        assert spec.type_by_id(spec.type_id(t)) is t


@pytest.mark.kernel_files
def test_vmlinux_lookup() -> None:
    spec = load_spec(VMLINUX)
    assert spec.byte_order == sys.byteorder
    task = spec.type_by_name("task_struct", Struct)
    assert isinstance(task, Struct)
    assert task.size == spec.sizeof(task)
    pid = task.member("pid")
    assert btf.underlying(pid.type).name == "int"
    assert len(spec) > 1000
    assert spec.type_by_name("bpf_map_type", Enum).value("BPF_MAP_TYPE_HASH") == 1  # type: ignore[attr-defined]
    # "int" is a suffix of many strings ("unsigned int"...): only the exact name matches.
    assert [t.name for t in spec.types_by_name("int")] == ["int"]


@pytest.mark.kernel_files
def test_split_spec_continues_base_ids() -> None:
    base = load_spec(VMLINUX)
    task = base.type_by_name("task_struct", Struct)
    split = Spec(base=base)
    ptr = Pointer(task)
    mod = Struct("mod_thing", 8, [Member("task", ptr, 0), Member("n", Int("modint", 4), 0)])
    assert split.add(mod) == base.next_id
    blob = marshal(split)
    loaded = load_spec(blob, base=base)
    assert loaded == split
    assert loaded.start_id == base.next_id
    assert loaded.base is base
    assert len(loaded) == len(base) + 3
    assert loaded.type_by_name("task_struct") is task
    m = loaded.type_by_name("mod_thing", Struct)
    assert m.member("task").type.target is task  # type: ignore[attr-defined]
    assert [loaded.type_id(t) for t in loaded.own_types()] == list(
        range(base.next_id, base.next_id + 3)
    )


@pytest.mark.parametrize("order", ["little", "big"])
def test_split_spec_over_a_small_base(order: str) -> None:
    base = load_spec(marshal(small_spec(), byte_order=order))  # type: ignore[arg-type]
    pair = base.type_by_name("pair", Struct)
    split = Spec(base=base)
    # "int" and "pair" are strings of the base: the split's records may point there.
    split.add(Typedef("int", Pointer(pair)))
    loaded = load_spec(marshal(split), base=base)
    assert loaded == split
    assert loaded.byte_order == order
    assert [loaded.type_id(t) for t in loaded.types_by_name("int")] == [3, 6, 9]
    td = loaded.type_by_id(9)
    assert isinstance(td, Typedef)
    assert td.type.target is pair  # type: ignore[attr-defined]
    assert list(loaded)[:8] == list(base)


def test_copy_is_independent() -> None:
    loaded = load_spec(marshal(small_spec()))
    lazy = loaded.copy()  # nothing decoded yet: shares the blob
    assert lazy == loaded
    assert lazy.type_by_id(2) is not loaded.type_by_id(2)
    pair = loaded.type_by_name("pair", Struct)
    assert isinstance(pair, Struct)
    _ = pair.member("a").type  # resolve one reference, leave the others lazy
    copy = loaded.copy()
    assert copy == loaded
    cpair = copy.type_by_name("pair", Struct)
    assert isinstance(cpair, Struct)
    assert cpair is not pair
    assert cpair.member("a").type is copy.type_by_id(3)
    assert cpair.member("b").type is copy.type_by_id(4)
    assert copy.type_by_id(1).type is cpair  # type: ignore[attr-defined]
    cpair.members[0].name = "renamed"
    cpair.size = 12
    assert pair.members[0].name == "a" and pair.size == 8
    assert copy != loaded
    assert copy.type_by_name("pair") is cpair
    built = small_spec()
    assert built.copy() == built


@pytest.mark.parametrize("order", ["little", "big"])
def test_raw_record_is_the_undecoded_record(order: str) -> None:
    built = small_spec()
    spec = Spec.from_bytes(marshal(built, byte_order=order))  # type: ignore[arg-type]
    pair = next(t for t in built if t.name == "pair")
    pair_id = built.type_id(pair)
    words = spec.raw_record(pair_id)
    assert words is not None
    # name, info (STRUCT, vlen = members), size, then name/type/offset per member.
    assert spec.string(words[0]) == "pair"
    assert (words[1] >> 24) & 0x1F == Kind.STRUCT
    assert words[1] & 0xFFFF == len(pair.members)
    assert words[2] == pair.size
    members = [(spec.string(words[p]), words[p + 1], words[p + 2]) for p in range(3, len(words), 3)]
    assert members == [(m.name, built.type_id(m.type), m.offset) for m in pair.members]
    last = len(built)
    assert spec.raw_record(last) is not None
    # None where a Type may say otherwise, or there is no record.
    assert spec.raw_record(0) is None
    assert spec.raw_record(last + 1) is None
    spec.type_by_id(pair_id).size = 99
    assert spec.raw_record(pair_id) is None
    assert small_spec().raw_record(1) is None
    with pytest.raises(BTFError):
        spec.string(1 << 20)
