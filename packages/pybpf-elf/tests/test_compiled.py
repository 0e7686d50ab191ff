"""Small objects compiled on the spot: the error paths and rarer forms.

Needs clang (skipped without it). The sources use no headers, so that only
the compiler is needed.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from pybpf.elf import ELFError, Pinning, btf_maps, load_collection_spec
from pybpf.elf._uapi import MapType

PRELUDE = """
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
typedef unsigned int u32;
typedef unsigned long long u64;
struct __sk_buff { u32 len; };
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def compile_bpf(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("no clang")
    tmp = tmp_path_factory.mktemp("compiled")

    def build(source: str, order: str = "bpfel", compiler: str = "clang") -> bytes:
        cc = shutil.which(compiler)
        if cc is None:
            pytest.skip(f"no {compiler}")
        src = tmp / "prog.c"
        obj = tmp / "prog.o"
        src.write_text(PRELUDE + source)
        subprocess.run(
            [cc, "-O2", "-g", "-target", order, "-c", str(src), "-o", str(obj)],
            check=True,
            capture_output=True,
        )
        return obj.read_bytes()

    return build


def test_version_section(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    data = compile_bpf(
        'u32 _version SEC("version") = 0x050a00;\n'
        'SEC("socket") int prog(struct __sk_buff *skb) { return 0; }\n'
    )
    assert load_collection_spec(data).programs["prog"].kernel_version == 0x050A00


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("__uint(type, 1); __uint(colour, 3);", "unknown member 'colour'"),
        ("__uint(type, 1); __uint(key_size, 8); __type(key, u32);", "conflicting key size"),
        ("__uint(type, 2); __uint(value_size, 2); __type(value, u64);", "conflicting value size"),
        ("__uint(type, 2); __uint(pinning, 7);", "invalid pinning value 7"),
        ("__uint(type, 999);", "unknown map type 999"),
        ("__uint(type, 1); __array(values, int (void *));", "not a program array"),
        (
            "__uint(type, 12); __array(values, struct { __uint(type, 2); __uint(pinning, 1); });",
            "inner maps cannot be pinned",
        ),
        ("__uint(type, 12); __array(values, struct { __uint(colour, 2); });", "'colour'"),
        ("__uint(type, 1); __array(values, struct { __uint(type, 2); });", "holds no maps"),
        (
            "__uint(type, 12); __type(value, u64); __array(values, struct { __uint(type, 2); });",
            "conflicting value size 8 != 4",
        ),
    ],
)
@pytest.mark.parametrize("maps", ["raw first", "typed only"])
def test_bad_btf_maps(compile_bpf, definition: str, message: str, maps: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if maps == "typed only":
        # The raw reading declines what is wrong: the typed reading's errors either way.
        monkeypatch.setattr(btf_maps, "_read_raw", lambda *args, **kwargs: None)
    data = compile_bpf(
        f'struct {{ {definition} }} bad SEC(".maps");\n'
        'SEC("socket") int prog(struct __sk_buff *skb) { return 0; }\n'
    )
    with pytest.raises(ELFError, match=message) as e:
        load_collection_spec(data)
    assert e.value.section == ".maps"
    assert e.value.symbol == "bad"


def test_static_map_refused(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    # libbpf: "map 'bad': unsupported map linkage static" (EOPNOTSUPP).
    data = compile_bpf(
        "static struct { __uint(type, 2); __uint(max_entries, 1); __type(key, u32);"
        ' __type(value, u64); } bad SEC(".maps");\n'
        'SEC("socket") int prog(struct __sk_buff *skb)'
        " { return (long)&bad == 0; }\n"
    )
    with pytest.raises(ELFError, match="unsupported map linkage static") as e:
        load_collection_spec(data)
    assert (e.value.section, e.value.symbol) == (".maps", "bad")


@pytest.mark.parametrize(("key", "ok"), [("u32", True), ("u64", False)])
def test_hash_of_maps_values_key(compile_bpf, key: str, ok: bool) -> None:  # type: ignore[no-untyped-def]
    # libbpf: ".maps relo #0: hash-of-maps 'outer' should have key size 4".
    data = compile_bpf(
        "struct inner { __uint(type, 2); __uint(max_entries, 1); __type(key, u32);"
        ' __type(value, u32); } in1 SEC(".maps");\n'
        f"struct {{ __uint(type, 13); __uint(max_entries, 2); __type(key, {key});"
        ' __array(values, struct inner); } outer SEC(".maps") = { .values = { [1] = &in1 } };\n'
        'SEC("socket") int prog(struct __sk_buff *skb) { return 0; }\n'
    )
    if ok:
        assert load_collection_spec(data).maps["outer"].contents == [(b"\1\0\0\0", "in1")]
        return
    with pytest.raises(ELFError, match="key of 8 bytes, not 4") as e:
        load_collection_spec(data)
    assert (e.value.section, e.value.symbol) == (".maps", "outer")


def test_ulong_map_extra(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    data = compile_bpf(
        "#define __ulong(name, val) enum { name##_value = (val) } name\n"
        "struct { __uint(type, 30); __type(value, u64); __uint(max_entries, 16);"
        ' __ulong(map_extra, 5); } bloom SEC(".maps");\n'
        'SEC("socket") int prog(struct __sk_buff *skb) { return 0; }\n'
    )
    m = load_collection_spec(data).maps["bloom"]
    assert m.type == MapType.BLOOM_FILTER
    assert m.map_extra == 5


def test_static_program(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    data = compile_bpf(
        'static SEC("socket") int hidden(struct __sk_buff *skb) { return skb->len; }\n'
        'SEC("socket") int prog(struct __sk_buff *skb) { return hidden(skb); }\n'
    )
    with pytest.raises(ELFError, match="may not be static") as e:
        load_collection_spec(data)
    assert e.value.symbol == "hidden"


def test_several_programs_and_subprograms(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    data = compile_bpf(
        "__attribute__((noinline)) static int leaf(int x) { return x * 3; }\n"
        "__attribute__((noinline)) int mid(int x) { return leaf(x) + 1; }\n"
        'SEC("xdp") int a(struct __sk_buff *skb) { return mid(skb->len); }\n'
        'SEC("xdp") int b(struct __sk_buff *skb) { return leaf(skb->len); }\n'
    )
    spec = load_collection_spec(data)
    assert [i.symbol for i in spec.programs["a"].instructions if i.symbol] == ["a", "mid", "leaf"]
    assert [i.symbol for i in spec.programs["b"].instructions if i.symbol] == ["b", "leaf"]


def test_big_endian_build_reads_the_same(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    source = (
        "struct { __uint(type, 2); __type(key, u32); __type(value, u64);"
        ' __uint(max_entries, 4); } arr SEC(".maps");\n'
        "u64 total = 7;\n"
        'SEC("socket") int prog(struct __sk_buff *skb) { return total + skb->len; }\n'
    )
    little = load_collection_spec(compile_bpf(source, "bpfel"))
    big = load_collection_spec(compile_bpf(source, "bpfeb"))
    assert little.variables["total"].get() == big.variables["total"].get() == 7
    assert little.maps["arr"].max_entries == big.maps["arr"].max_entries == 4
    assert little.programs["prog"] == big.programs["prog"]


def test_legacy_map_with_kv_annotation(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    data = compile_bpf(
        "struct bpf_map_def { u32 type, key_size, value_size, max_entries, map_flags; };\n"
        'struct bpf_map_def SEC("maps") counts = { 1, 4, 8, 16, 0 };\n'
        "struct ____btf_map_counts { u32 key; u64 value; };\n"
        'struct ____btf_map_counts __attribute__((section(".maps.info"), used)) '
        "____btf_map_counts_info;\n"
        'SEC("socket") int prog(struct __sk_buff *skb) { return 0; }\n'
    )
    m = load_collection_spec(data).maps["counts"]
    assert (m.key_size, m.value_size, m.max_entries) == (4, 8, 16)
    assert m.key_type is not None and m.key_type.name == "u32"
    assert m.value_type is not None and m.value_type.name == "u64"


@pytest.mark.parametrize(("order", "end"), [("bpfel", "<"), ("bpfeb", ">")])
def test_iproute2_fields_kept_as_bytes(compile_bpf, order: str, end: str) -> None:  # type: ignore[no-untyped-def]
    # iproute2 puts "inner" at slot 3 of the map-in-map whose inner_id is its id
    # (7). That wiring is tc's, not libbpf's: pybpf keeps the fields as bytes.
    data = compile_bpf(
        "struct bpf_elf_map { u32 type, size_key, size_value, max_elem, flags,"
        " id, pinning, inner_id, inner_idx; };\n"
        'struct bpf_elf_map SEC("maps") inner = { 2, 4, 8, 1, 0, 7, 0, 0, 3 };\n'
        'struct bpf_elf_map SEC("maps") outer = { 12, 4, 4, 4, 0, 0, 2, 7, 0 };\n'
        'SEC("classifier") int prog(struct __sk_buff *skb) { return 0; }\n',
        order,
    )
    spec = load_collection_spec(data)
    inner, outer = spec.maps["inner"], spec.maps["outer"]
    assert struct.unpack(end + "4I", inner.extra) == (7, 0, 0, 3)
    assert struct.unpack(end + "4I", outer.extra) == (0, 2, 7, 0)
    assert outer.type == MapType.ARRAY_OF_MAPS
    assert outer.inner_map is None and outer.contents == []
    # iproute2's PIN_GLOBAL_NS (2) is not libbpf's pinning.
    assert outer.pinning == Pinning.NONE


def arena_map(name: str) -> str:
    """An arena map (type 33, BPF_F_MMAPABLE) of one page."""
    return (
        "struct { __uint(type, 33); __uint(map_flags, 1024); __uint(max_entries, 1); } "
        f'{name} SEC(".maps");\n'
    )


ARENA_USER = (
    "int __attribute__((address_space(1))) shared = 3;\n"
    'SEC("syscall") long prog(void *ctx) { return (long)&shared; }\n'
)


def test_arena_globals_need_an_arena_map(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    # clang 18 and later put __arena globals in .addr_space.1.
    data = compile_bpf(ARENA_USER, compiler="clang-19")
    with pytest.raises(ELFError, match="need an arena map") as e:
        load_collection_spec(data)
    assert e.value.section == ".addr_space.1"


def test_one_arena_map_per_object(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    source = arena_map("first") + arena_map("second") + ARENA_USER
    with pytest.raises(ELFError, match="only one arena map") as e:
        load_collection_spec(compile_bpf(source, compiler="clang-19"))
    assert (e.value.section, e.value.symbol) == (".maps", "second")


def test_arena_map_without_globals(compile_bpf) -> None:  # type: ignore[no-untyped-def]
    source = arena_map("heap") + 'SEC("syscall") long prog(void *ctx) { return 0; }\n'
    spec = load_collection_spec(compile_bpf(source, compiler="clang-19"))
    assert spec.maps["heap"].contents == [] and not spec.variables
