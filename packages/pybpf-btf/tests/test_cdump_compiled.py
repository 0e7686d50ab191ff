"""The compiled C dump (``_pybpf_btf_cdump``) writes what the Python dump writes.

The Python code of :mod:`pybpf.btf.cdump` is the reference: for vmlinux, every
testdata object and random type graphs, both paths give the same text, or the
compiled one declines and the Python one raises its error. Skipped where
pybpf-core was installed without its compiled modules.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pybpf.btf import (
    Array,
    BTFError,
    Const,
    DeclTag,
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
    Restrict,
    Spec,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    Void,
    Volatile,
    cdump,
    load_spec,
)
from pybpf.btf.marshal import marshal

VMLINUX = Path("/sys/kernel/btf/vmlinux")
INT = Int("int", 4, IntEncoding.SIGNED)
CHAR = Int("char", 1, IntEncoding.SIGNED)


@pytest.fixture
def compiled() -> ModuleType:
    module = cdump._compiled_module()
    if module is None:
        pytest.skip("pybpf-core was installed without _pybpf_btf_cdump")
    return module


def both(blob: bytes, monkeypatch: pytest.MonkeyPatch, pointer_size: int | None = None) -> str:
    """The compiled dump of ``blob``, checked against the Python one (text or error)."""
    with monkeypatch.context() as m:
        m.setenv("PYBPF_BTF_CDUMP", "python")
        try:
            reference: str | BTFError = cdump.dump_c(load_spec(blob), pointer_size=pointer_size)
        except BTFError as e:
            reference = e
    spec = load_spec(blob)
    size = pointer_size or spec.pointer_size or 8
    text = cdump._compiled_dump(spec, size)
    if isinstance(reference, BTFError):
        assert text is None, f"compiled dump wrote text where Python raises {reference}"
        with pytest.raises(BTFError) as raised:
            cdump.dump_c(load_spec(blob), pointer_size=pointer_size)
        assert str(raised.value) == str(reference)
        return ""
    if text is not None:
        assert text == reference
    assert cdump.dump_c(load_spec(blob), pointer_size=pointer_size) == reference
    return reference


def test_vmlinux_is_dumped_compiled_as_in_python(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not VMLINUX.exists():
        pytest.skip("no kernel BTF at /sys/kernel/btf/vmlinux")
    blob = VMLINUX.read_bytes()
    for pointer_size in (None, 4):
        spec = load_spec(blob)
        text = cdump._compiled_dump(spec, pointer_size or spec.pointer_size or 8)
        assert text is not None, "the compiled dump declined vmlinux"
        with monkeypatch.context() as m:
            m.setenv("PYBPF_BTF_CDUMP", "python")
            assert text == cdump.dump_c(load_spec(blob), pointer_size=pointer_size)
    with_guard = cdump.format_c(load_spec(blob))
    assert with_guard.endswith(
        cdump.dump_c(load_spec(blob)) + "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
        "#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n"
    )


def test_testdata_is_dumped_compiled_as_in_python(
    compiled: ModuleType, obj_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        load_spec(obj_path)
    except BTFError:
        pytest.skip(f"{obj_path.name} has no BTF")
    data = obj_path.read_bytes()
    for pointer_size in (None, 4):
        spec = load_spec(data)
        assert cdump._compiled_dump(spec, pointer_size or spec.pointer_size or 8) is not None
        both(data, monkeypatch, pointer_size)


def test_python_is_forced_by_the_environment(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = marshal([Typedef("t", INT)])
    assert cdump._compiled_dump(load_spec(blob), 8) == "typedef int t;\n\n"
    monkeypatch.setenv("PYBPF_BTF_CDUMP", "python")
    assert cdump._compiled_dump(load_spec(blob), 8) is None
    assert cdump.dump_c(load_spec(blob)) == "typedef int t;\n\n"


def test_other_version_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class Future:
        VERSION = cdump._CDUMP_VERSION + 1

        @staticmethod
        def dump_c(*args: object) -> str:
            raise AssertionError("a module of another version was called")

    cdump._compiled_module.cache_clear()
    monkeypatch.setitem(__import__("sys").modules, cdump._CDUMP_MODULE, Future)
    try:
        assert cdump._compiled_module() is None
        assert cdump.dump_c(load_spec(marshal([Typedef("t", INT)]))) == "typedef int t;\n\n"
    finally:
        cdump._compiled_module.cache_clear()


def test_decoded_specs_and_picked_types_stay_in_python(compiled: ModuleType) -> None:
    spec = load_spec(marshal([Typedef("t", INT)]))
    spec.type_by_id(1)
    assert cdump._compiled_dump(spec, 8) is None
    assert cdump._compiled_dump([Typedef("t", INT)], 8) is None


def corner_types() -> list[Type]:
    """Types that exercise each rule of the dump once."""
    short = Int("short", 2, IntEncoding.SIGNED)
    u64 = Int("long long unsigned int", 8)
    a = Struct("a", 16)
    b = Struct("b", 24)
    a.members = [Member("peer", Pointer(b), 0), Member("x", INT, 64)]
    b.members = [Member("embedded", a, 0), Member("self", Pointer(b), 128)]
    inner = Union("", 8, [Member("l", u64, 0), Member("c", Array(CHAR, 3), 0)])
    anon_enum = Enum("", 4, [EnumValue("A", 0), EnumValue("B", 1)])
    handler = FuncProto(INT, [FuncParam("ctx", Pointer(Void())), FuncParam("", Void())])
    signal_handler = Pointer(FuncProto(Void(), [FuncParam("", INT)]))
    signal = FuncProto(signal_handler, [FuncParam("", INT), FuncParam("", signal_handler)])
    bits = Struct(
        "bits",
        16,
        [
            Member("a", INT, 0, 3),
            Member("b", INT, 3, 5),
            Member("c", u64, 8, 40),
            Member("d", CHAR, 56),
            Member("e", INT, 96, 1),
        ],
    )
    packed = Struct("pk", 7, [Member("c", CHAR, 0), Member("i", INT, 8), Member("s", short, 40)])
    gaps = Struct("gaps", 4096, [Member("c", CHAR, 0), Member("l", u64, 4000 * 8)])
    huge = Struct("huge", 1 << 20, [Member("c", CHAR, 0)])
    twice = Struct("a", 4, [Member("i", INT, 0)])
    return [
        a,
        b,
        Typedef("anon_t", Struct("", 16, [Member("x", INT, 0), Member("", inner, 64)])),
        Typedef("color_t", anon_enum),
        Enum("", 4, [EnumValue("ANSWER", 42)]),
        Enum("s", 4, [EnumValue("NEG", -2), EnumValue("A", 7)], signed=True),
        Enum64("e64", 8, [EnumValue("HI", 1 << 40)]),
        Enum64("e64s", 8, [EnumValue("LO", -1)], signed=True),
        Enum64("small64", 8, [EnumValue("ONE", 1)]),
        Enum("byte", 1, [EnumValue("Z", 0)]),
        Enum("half", 2, [EnumValue("H", 0x1234)]),
        Enum("wide", 8, [EnumValue("W", 3)]),
        Enum("fwd", 4),
        Fwd("opaque"),
        Fwd("opaque_u", FwdKind.UNION),
        Typedef("handler_t", Pointer(handler)),
        Typedef("signal_t", Pointer(signal)),
        Typedef("matrix_t", Array(Array(Const(INT), 3), 2)),
        Typedef("pa_t", Pointer(Array(INT, 5))),
        Typedef("rp_t", Restrict(Pointer(Volatile(Const(CHAR))))),
        Typedef("user_t", Pointer(TypeTag("user", INT))),
        Typedef("__gnuc_va_list", Void()),
        Typedef("__builtin_va_list", Pointer(CHAR)),
        Typedef("__Poly8_t", Int("__Poly8_t", 1)),
        Typedef("f_t", Float("double", 8)),
        DeclTag("tag", bits, 0),
        Var("v", INT),
        bits,
        packed,
        gaps,
        huge,
        twice,
        Union("al", 16, [Member("c", CHAR, 0)]),
        Union("pku", 1, [Member("b", short, 0, 1)]),
        Union("odd", 3, [Member("c", CHAR, 0)]),
        Union("empty", 0),
        Struct("empty_s", 0),
        Typedef("a", INT),
    ]


def test_corner_cases(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = marshal(corner_types())
    text = both(blob, monkeypatch)
    assert "struct a___2 {" in text
    assert cdump._compiled_dump(load_spec(blob), 8) is not None
    both(blob, monkeypatch, 4)


def random_graph(rng: random.Random) -> list[Type]:
    """A small random graph of types: cycles, anonymous and clashing names included."""
    names = ["", "", "a", "b", "c", "int", "__Poly8_t", "__builtin_va_list", "__gnuc_va_list"]
    pool: list[Type] = [Void(), INT, CHAR, Int("long", 8, IntEncoding.SIGNED)]
    holes: list[Struct | Union] = []

    def pick() -> Type:
        return rng.choice(pool)

    for _ in range(rng.randrange(1, 24)):
        kind = rng.randrange(14)
        name = rng.choice(names)
        t: Type
        if kind == 0:
            t = Pointer(pick())
        elif kind in (1, 2):
            size = rng.choice([0, 1, 2, 3, 4, 8, 12, 16, 24, 64])
            cls = Struct if kind == 1 else Union
            t = cls(name, size)
            holes.append(t)
        elif kind == 3:
            t = Typedef(name, pick())
        elif kind == 4:
            t = rng.choice([Const, Volatile, Restrict])(pick())
        elif kind == 5:
            t = Array(pick(), rng.choice([0, 1, 3, 1 << 20]))
        elif kind == 6:
            values = [
                EnumValue(rng.choice(["A", "B", "a"]), rng.randrange(-9, 9)) for _ in range(3)
            ]
            cls_e = rng.choice([Enum, Enum64])
            t = cls_e(
                name, rng.choice([1, 2, 4, 8]), values[: rng.randrange(4)], rng.random() < 0.5
            )
        elif kind == 7:
            t = Fwd(name, rng.choice([FwdKind.STRUCT, FwdKind.UNION]))
        elif kind == 8:
            params = [FuncParam(rng.choice(names), pick()) for _ in range(rng.randrange(3))]
            t = FuncProto(pick(), params)
        elif kind == 9:
            t = TypeTag(rng.choice(["user", "rcu"]), pick())
        elif kind == 10:
            t = Float(name or "float", rng.choice([4, 8, 16]))
        elif kind == 11:
            t = Int(name or "x", rng.choice([1, 2, 4, 8, 16]), IntEncoding.SIGNED)
        elif kind == 12:
            t = Var(name or "v", pick())
        else:
            t = DeclTag("tag", pick(), -1)
        pool.append(t)
    for composite in holes:
        offset = 0
        for _ in range(rng.randrange(5)):
            bits = rng.choice([0, 0, 0, 1, 3, 7, 13])
            offset += rng.choice([0, 1, 3, 8, 32, 64, 128])
            member = Member(rng.choice(names), pick(), offset, bits)
            composite.members.append(member)
            offset += bits
    return pool[4:]


def random_blobs(count: int) -> Iterator[bytes]:
    rng = random.Random(18)
    made = 0
    while made < count:
        try:
            blob = marshal(random_graph(rng))
        except (BTFError, ValueError, TypeError, OverflowError):
            continue
        made += 1
        yield blob


def test_random_graphs(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for blob in random_blobs(300):
        both(blob, monkeypatch)


def split_pair(base_types: list[Type], add: list[str]) -> tuple[bytes, bytes]:
    """A base blob of ``base_types`` and a split blob over it: ``add`` names base types to use."""
    base_blob = marshal(base_types)
    base = load_spec(base_blob)
    split = Spec(base=base)
    for name in add:
        used = base.types_by_name(name)[0]
        split.add(Typedef(name, Pointer(used)))
        split.add(Struct(name, 8, [Member("p", Pointer(used), 0)]))
    split.add(Enum("", 4, [EnumValue("A", 1)]))
    return base_blob, marshal(split)


def both_split(base_blob: bytes, blob: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    """The compiled dump of split BTF, checked against the Python one."""
    with monkeypatch.context() as m:
        m.setenv("PYBPF_BTF_CDUMP", "python")
        reference = cdump.dump_c(load_spec(blob, base=load_spec(base_blob)))
    text = cdump._compiled_dump(load_spec(blob, base=load_spec(base_blob)), 8)
    assert text is not None, "the compiled dump declined split BTF"
    assert text == reference
    return text


def test_split_btf(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    base_blob, blob = split_pair(corner_types(), ["a", "bits", "handler_t"])
    text = both_split(base_blob, blob, monkeypatch)
    assert "struct a___3 {" in text
    # A base whose types were decoded is dumped in Python.
    base = load_spec(base_blob)
    base.type_by_id(1)
    assert cdump._compiled_dump(load_spec(blob, base=base), 8) is None


def test_split_btf_over_vmlinux(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    if not VMLINUX.exists():
        pytest.skip("no kernel BTF at /sys/kernel/btf/vmlinux")
    base_blob = VMLINUX.read_bytes()
    base = load_spec(base_blob)
    split = Spec(base=base)
    task = base.type_by_name("task_struct", Struct)
    split.add(Struct("mod_thing", 8, [Member("task", Pointer(task), 0)]))
    split.add(Struct("task_struct", 4, [Member("pid", INT, 0)]))
    both_split(base_blob, marshal(split), monkeypatch)


def test_depths_past_the_compiled_limits(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Structs nested by value 600 deep, 300 pointers in a declaration: the same text."""
    inner: Type = INT
    for level in range(600):
        inner = Struct(f"s{level}", 4, [Member("m", inner, 0)])
    assert both(marshal([inner]), monkeypatch).endswith("struct s599 {\n\tstruct s598 m;\n};\n\n")
    pointers: Type = INT
    for _ in range(300):
        pointers = Pointer(pointers)
    blob = marshal([Typedef("p", Const(pointers))])
    # Past the compiled dump's longest declaration chain: Python writes it.
    assert cdump._compiled_dump(load_spec(blob), 8) is None
    assert both(blob, monkeypatch) == f"typedef int {'*' * 300} const p;\n\n"


def test_an_empty_dump_is_the_empty_string(compiled: ModuleType) -> None:
    """A blob with nothing to declare (no records, or a named int) gives "", not None.

    The empty text has no buffer behind it: copying from it was undefined
    behaviour (memcpy from NULL), reported by ``fuzz/sanitize.py --tests``.
    """
    int_record = struct.pack("=4I", 1, 0x0100_0000, 4, 32)  # native words, as a blob's
    assert compiled.dump_c(b"", b"\0", 0, 8) == ""
    assert compiled.dump_c(int_record, b"\0int\0", 1, 8) == ""


def test_alignment_past_int32(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A union whose size makes it aligned(2**31) is laid out as Python lays it out.

    Found by ``fuzz/sanitize.py``: the compiled dump kept alignments as int32,
    so 2**31 turned negative and the struct holding the union lost its
    padding and its packed attribute.
    """
    for size in (0x8000_0000, 0xFFFF_FFFF):
        wide = Union("", size, [Member("x", INT, 0)])
        outer = Struct("s", 16, [Member("c", CHAR, 0), Member("u", wide, 64), Member("d", INT, 96)])
        blob = marshal([outer])
        assert cdump._compiled_dump(load_spec(blob), 8) is not None
        assert "struct s {" in both(blob, monkeypatch)
