"""The C dump on hand-built types: ordering, names, declarators, padding."""

from __future__ import annotations

import pytest

from pybpf.btf import (
    Array,
    BTFError,
    Const,
    Enum,
    Enum64,
    EnumValue,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Member,
    Pointer,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Void,
    Volatile,
)
from pybpf.btf.cdump import dump_c, format_c

S = IntEncoding.SIGNED
INT = Int("int", 4, S)
CHAR = Int("char", 1, S)
U64 = Int("long long unsigned int", 8)


def test_header_frame() -> None:
    text = format_c([INT])
    assert text.startswith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n")
    assert (
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push "
        "(__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n"
    ) in text
    assert text.endswith(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
        "#endif /* __VMLINUX_H__ */\n"
    )
    bare = format_c(
        [Typedef("u8", Int("unsigned char", 1))], guard=None, preserve_access_index=False
    )
    assert bare == "typedef unsigned char u8;\n\n"


def test_embedded_before_container_pointer_needs_forward() -> None:
    a = Struct("a", 16)
    b = Struct("b", 24)
    a.members = [Member("peer", Pointer(b), 0), Member("x", INT, 64)]
    b.members = [Member("embedded", a, 0), Member("self", Pointer(b), 128)]
    assert dump_c([b, a]) == (
        "struct b;\n\n"
        "struct a {\n\tstruct b *peer;\n\tint x;\n};\n\n"
        "struct b {\n\tstruct a embedded;\n\tstruct b *self;\n};\n\n"
    )


def test_self_containing_struct_is_an_error() -> None:
    s = Struct("loop", 4)
    s.members = [Member("me", s, 0)]
    with pytest.raises(BTFError, match="cycle"):
        dump_c([s])


def test_duplicate_names_get_suffixes() -> None:
    first = Struct("dup", 4, [Member("x", INT, 0)])
    second = Struct("dup", 8, [Member("y", U64, 0)])
    e = Enum("e", 4, [EnumValue("x_t", 1)])
    td = Typedef("x_t", INT)
    text = dump_c([first, second, e, td])
    assert "struct dup {\n\tint x;\n};" in text
    assert "struct dup___2 {\n\tlong long unsigned int y;\n};" in text
    # Enumerators share the namespace of typedefs.
    assert "enum e {\n\tx_t = 1,\n};" in text
    assert "typedef int x_t___2;" in text
    user = Struct("user", 8, [Member("p", Pointer(second), 0)])
    assert "struct dup___2 *p;" in dump_c([first, second, user])


def test_anonymous_enums() -> None:
    constants = Enum("", 4, [EnumValue("ANSWER", 42)])
    inline = Enum("", 4, [EnumValue("A", 0), EnumValue("B", 1)])
    holder = Struct("holder", 4, [Member("kind", inline, 0)])
    text = dump_c([constants, inline, holder])
    assert text.startswith("enum {\n\tANSWER = 42,\n};\n\n")
    assert "struct holder {\n\tenum {\n\t\tA = 0,\n\t\tB = 1,\n\t} kind;\n};" in text
    assert text.count("A = 0") == 1


def test_enum_values_and_sizes() -> None:
    unsigned = Enum("u", 4, [EnumValue("BIG", -16)])
    signed = Enum("s", 4, [EnumValue("NEG", -2)], signed=True)
    e64 = Enum64("e64", 8, [EnumValue("HI", 1 << 40)])
    e64s = Enum64("e64s", 8, [EnumValue("LO", -1)], signed=True)
    small64 = Enum64("small64", 8, [EnumValue("ONE", 1)])
    byte = Enum("byte", 1, [EnumValue("Z", 0)])
    half = Enum("half", 2, [EnumValue("H", 0x1234)])
    text = dump_c([unsigned, signed, e64, e64s, small64, byte, half])
    assert "\tBIG = 4294967280,\n" in text
    assert "\tNEG = -2,\n" in text
    assert "enum e64 {\n\tHI = 1099511627776ULL,\n};" in text
    assert "enum e64s {\n\tLO = -1LL,\n};" in text  # upper bits set: 64-bit by itself
    assert "enum small64 {\n\tONE = 1ULL,\n} __attribute__((mode(word)));" in text
    assert "enum byte {\n\tZ = 0,\n} __attribute__((mode(byte)));" in text
    assert "enum half {\n\tH = 4660,\n} __attribute__((mode(HI)));" in text
    assert dump_c([Enum("fwd", 4)]) == "enum fwd;\n\n"


def test_declarators() -> None:
    u32 = Typedef("u32", Int("unsigned int", 4))
    handler = FuncProto(INT, [FuncParam("ctx", Pointer(Void())), FuncParam("", Void())])
    getname = FuncProto(Pointer(CHAR), [FuncParam("", Const(Pointer(Volatile(Const(INT)))))])
    signal_handler = Pointer(FuncProto(Void(), [FuncParam("", INT)]))
    signal = FuncProto(signal_handler, [FuncParam("", INT), FuncParam("", signal_handler)])
    s = Struct(
        "ops",
        112,
        [
            Member("handlers", Array(Pointer(handler), 2), 0),
            Member("getname", Pointer(getname), 128),
            Member("names", Array(Const(Pointer(Const(CHAR))), 3), 192),
            Member("vp", Restrict(Pointer(Volatile(u32))), 384),
            Member("matrix", Array(Array(INT, 3), 2), 448),
            Member("pa", Pointer(Array(INT, 5)), 640),
            Member("signal", Pointer(signal), 704),
            Member("none", Pointer(FuncProto(Void(), [])), 768),
            Member("uptr", Pointer(TypeTag("user", INT)), 832),
        ],
    )
    text = dump_c([s])
    assert "\tint (*handlers[2])(void *ctx, ...);\n" in text
    assert "\tchar * (*getname)(const volatile int * const);\n" in text
    assert "\tconst char * const names[3];\n" in text
    assert "\tvolatile u32 * restrict vp;\n" in text
    assert "\tint matrix[2][3];\n" in text
    assert "\tint (*pa)[5];\n" in text
    assert "\tvoid (* (*signal)(int, void (*)(int)))(int);\n" in text
    assert "\tvoid (*none)(void);\n" in text
    assert '\tint __attribute__((btf_type_tag("user"))) *uptr;\n' in text


def test_typedef_of_anonymous_struct_and_union() -> None:
    inner = Union("", 8, [Member("l", U64, 0), Member("c", Array(CHAR, 3), 0)])
    anon = Struct("", 16, [Member("x", INT, 0), Member("", inner, 64)])
    text = dump_c([Typedef("anon_t", anon)])
    assert text == (
        "typedef struct {\n\tint x;\n\tunion {\n\t\tlong long unsigned int l;\n"
        "\t\tchar c[3];\n\t};\n} anon_t;\n\n"
    )


def test_forward_declarations() -> None:
    fs = Fwd("opaque")
    fu = Fwd("opaque_u", FwdKind.UNION)
    s = Struct("user", 16, [Member("a", Pointer(fs), 0), Member("b", Pointer(fu), 64)])
    text = dump_c([s])
    assert text.startswith("struct opaque;\n\nunion opaque_u;\n\n")
    assert "\tstruct opaque *a;\n\tunion opaque_u *b;\n" in text


def test_packed_and_padding() -> None:
    packed = Struct(
        "pk", 7, [Member("c", CHAR, 0), Member("i", INT, 8), Member("s", Int("short", 2, S), 40)]
    )
    assert dump_c([packed]) == (
        "struct pk {\n\tchar c;\n\tint i;\n\tshort s;\n} __attribute__((packed));\n\n"
    )
    # An over-aligned struct keeps its size through explicit tail padding.
    aligned = Struct("al", 16, [Member("i", INT, 0)])
    assert dump_c([aligned]) == "struct al {\n\tint i;\n\tlong: 64;\n};\n\n"
    # A member the compiler would not align by itself gets a `type: 0` mark.
    gap = Struct("gap", 16, [Member("c", CHAR, 0), Member("x", INT, 64)])
    assert dump_c([gap]) == "struct gap {\n\tchar c;\n\tlong: 0;\n\tint x;\n\tlong: 0;\n};\n\n"
    bits = Struct(
        "bits",
        8,
        [Member("a", INT, 0, 3), Member("b", INT, 8, 5), Member("c", Int("unsigned int", 4), 32)],
    )
    assert dump_c([bits]) == (
        "struct bits {\n\tint a: 3;\n\tchar: 5;\n\tint b: 5;\n\tunsigned int c;\n};\n\n"
    )
    empty = Struct("empty", 0)
    assert dump_c([empty]) == "struct empty {};\n\n"


def test_compiler_builtins() -> None:
    va = Typedef("__builtin_va_list", Pointer(CHAR))
    gnuc = Typedef("__gnuc_va_list", Void())
    poly = Struct("simd", 1, [Member("p", Int("__Poly8_t", 1), 0)])
    text = dump_c([va, gnuc, poly])
    assert "__builtin_va_list;" not in text.replace("typedef __builtin_va_list __gnuc_va_list", "")
    assert "typedef __builtin_va_list __gnuc_va_list;\n\n" in text
    assert "typedef unsigned char __Poly8_t;\n\n" in text


def test_only_what_the_chosen_types_need() -> None:
    used = Struct("used", 4, [Member("x", INT, 0)])
    unused = Struct("unused", 4, [Member("x", INT, 0)])
    root = Typedef("root_t", Pointer(used))
    text = dump_c([root])
    assert "struct used" in text and "unused" not in text
    del unused


def test_layouts_libbpf_gets_wrong() -> None:
    # A union has no padding members: attributes give it its size.
    short = Int("short", 2, S)
    aligned = Union("al", 16, [Member("c", CHAR, 0)])
    assert dump_c([aligned]) == "union al {\n\tchar c;\n} __attribute__((aligned(16)));\n\n"
    packed = Union("pk", 1, [Member("b", short, 0, 1)])
    assert dump_c([packed]) == "union pk {\n\tshort b: 1;\n} __attribute__((packed));\n\n"
    # A bitfield across a unit of its type only fits in a packed struct.
    straddle = Struct(
        "st", 4, [Member("a", CHAR, 0), Member("b", short, 8, 9), Member("c", CHAR, 24)]
    )
    assert dump_c([straddle]).endswith("} __attribute__((packed));\n\n")
    # A packed struct gets its tail padding even where its members' alignment would do.
    tail = Struct(
        "tail",
        6,
        [
            Member("a", short, 0),
            Member("b", CHAR, 16),
            Member("c", CHAR, 24, 1),
            Member("d", CHAR, 25, 8),
        ],
    )
    assert dump_c([tail]) == (
        "struct tail {\n\tshort a;\n\tchar b;\n\tchar c: 1;\n\tchar d: 8;\n"
        "\tshort: 0;\n} __attribute__((packed));\n\n"
    )
    # A packed struct aligns no padding member: a gap needs a `type: 0` mark first.
    inner = Struct("inner", 16, [Member("c", CHAR, 0), Member("p", Pointer(INT), 64)])
    gap = Struct("pgap", 32, [Member("c", CHAR, 0), Member("s", inner, 8)])
    assert dump_c([gap]).endswith(
        "struct pgap {\n\tchar c;\n\tstruct inner s;\n\tlong: 0;\n\tlong: 64;\n"
        "} __attribute__((packed));\n\n"
    )
    # A bitfield after a gap (a `:0` in the source) would otherwise fill the gap.
    after = Struct("after", 8, [Member("c", CHAR, 0), Member("b", INT, 32, 3)])
    assert dump_c([after]) == "struct after {\n\tchar c;\n\tint: 0;\n\tint b: 3;\n};\n\n"
    # An aligned(16) union off its alignment: the struct holding it must be packed.
    holder = Struct("holder", 17, [Member("c", CHAR, 0), Member("u", aligned, 8)])
    assert dump_c([holder]).endswith(
        "struct holder {\n\tchar c;\n\tunion al u;\n} __attribute__((packed));\n\n"
    )
