"""Each libbpf-style rewrite for kernels that lack a BTF kind."""

from __future__ import annotations

from pybpf.btf import (
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    SanitizeOptions,
    Spec,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    load_spec,
    marshal,
)

I32 = Int("int", 4, IntEncoding.SIGNED)


def sanitized(types: list, **unsupported: bool) -> Spec:  # type: ignore[type-arg]
    opts = SanitizeOptions(**{name: False for name in unsupported})
    spec = Spec.from_types(types)
    out = load_spec(marshal(spec, sanitize=opts))
    assert out.start_id == spec.start_id
    return out


def test_default_options_change_nothing() -> None:
    spec = Spec.from_types([Float("double", 8), Enum64("e", 8, [EnumValue("x", 1)])])
    assert not SanitizeOptions().needed
    assert SanitizeOptions.oldest().needed
    assert load_spec(marshal(spec, sanitize=SanitizeOptions())) == spec


def test_var_and_datasec_without_datasec() -> None:
    var = Var("counter", I32, Linkage.GLOBAL)
    out = sanitized([Datasec(".data.?x", 8, [VarSecinfo(var, 4, 4)])], datasec=False)
    sec, v = out.type_by_id(1), out.type_by_id(2)
    assert isinstance(sec, Struct) and sec.name == "_data__x" and sec.size == 8
    assert [(m.name, m.offset, out.type_id(m.type)) for m in sec.members] == [("counter", 32, 2)]
    assert isinstance(v, Int) and v.name == "counter" and v.size == 1 and v.bits == 8


def test_qmark_datasec() -> None:
    out = sanitized([Datasec("?.maps", 0, [])], qmark_datasec=False)
    assert isinstance(out.type_by_id(1), Datasec)
    assert out.type_by_id(1).name == "_.maps"


def test_func_and_proto_without_func() -> None:
    proto = FuncProto(I32, [FuncParam("ctx", I32)])
    out = sanitized([Func("prog", proto, Linkage.GLOBAL)], func=False)
    f, p = out.type_by_id(1), out.type_by_id(2)
    assert isinstance(f, Typedef) and f.name == "prog"
    assert isinstance(p, Enum) and p.size == 4
    assert [(v.name, v.value) for v in p.values] == [("ctx", 3)]


def test_global_func_without_func_global() -> None:
    out = sanitized([Func("prog", FuncProto(I32), Linkage.GLOBAL)], func_global=False)
    f = out.type_by_id(1)
    assert isinstance(f, Func) and f.linkage == Linkage.STATIC


def test_float_without_float() -> None:
    out = sanitized([Float("double", 8)], float=False)
    s = out.type_by_id(1)
    assert isinstance(s, Struct) and s.name == "" and s.size == 8 and not s.members


def test_decl_tag_without_decl_tag() -> None:
    out = sanitized([DeclTag("kfunc", I32)], decl_tag=False)
    t = out.type_by_id(1)
    assert isinstance(t, Int) and t.name == "kfunc" and t.size == 1


def test_type_tag_without_type_tag() -> None:
    out = sanitized([TypeTag("user", I32)], type_tag=False)
    t = out.type_by_id(1)
    assert isinstance(t, Const) and t.name == "" and out.type_id(t.type) == 2


def test_attribute_tags_without_tag_attributes() -> None:
    types = [
        TypeTag("a", I32, attribute=True),
        DeclTag("d", I32, attribute=True),
        TypeTag("b", I32),
    ]
    out = sanitized(types, tag_attributes=False)
    assert isinstance(out.type_by_id(1), Const)
    assert isinstance(out.type_by_id(3), Int)
    assert isinstance(out.type_by_id(4), TypeTag)  # a plain tag stays


def test_enum64_and_signed_enum_without_enum64() -> None:
    e64 = Enum64("big", 8, [EnumValue("A", 1 << 40), EnumValue("B", 2)])
    e = Enum("small", 4, [EnumValue("neg", -1)], signed=True)
    out = sanitized([e64, e], enum64=False)
    u, small, placeholder = out.type_by_id(1), out.type_by_id(2), out.type_by_id(3)
    assert isinstance(u, Union) and u.name == "big" and u.size == 8
    assert [(m.name, m.offset, m.type) for m in u.members] == [
        ("A", 0, placeholder),
        ("B", 0, placeholder),
    ]
    assert isinstance(placeholder, Int) and placeholder.name == "enum64_placeholder"
    assert placeholder.size == 1
    assert isinstance(small, Enum) and not small.signed
    assert small.values[0].value == 0xFFFF_FFFF


def test_oldest_kernel_has_only_old_kinds(obj_path) -> None:  # type: ignore[no-untyped-def]
    out = load_spec(marshal(load_spec(obj_path), sanitize=SanitizeOptions.oldest()))
    old = {Kind.INT, Kind.PTR, Kind.ARRAY, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD}
    old |= {Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT}
    assert {t.kind for t in out} <= old
