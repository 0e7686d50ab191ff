"""The codec against clang: initialized globals with bitfields, both BPF byte orders.

clang lays out the bitfields and writes their initial values into ``.data``; the
codec must decode those bytes to the values in the source and encode them back
byte for byte. Skipped where clang is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.btf import Datasec, VarSecinfo

SOURCE = r"""
enum mode { OFF = 0, ON = 3, AUTO = -2 };

struct bits {
    unsigned int a : 3;
    int b : 5;
    unsigned long long c : 40;
    unsigned char d : 1;
    short e : 9;
    enum mode m : 3;
    _Bool flag : 1;
    unsigned int : 4;
    unsigned int tail;
};

struct __attribute__((packed)) tight {
    char x;
    unsigned int y : 17;
    unsigned int z : 15;
    long long w : 33;
};

union either {
    struct { unsigned short lo : 4, hi : 12; } parts;
    unsigned short whole;
};

struct bits bits_v = { .a = 5, .b = -3, .c = 0x123456789aULL, .d = 1, .e = -200,
                       .m = AUTO, .flag = 1, .tail = 77 };
struct tight tight_v = { .x = 'q', .y = 100000, .z = 32767, .w = -4294967296LL };
union either either_v = { .parts = { .lo = 9, .hi = 0xabc } };
char name_v[8] = "bpf";
"""

EXPECTED = {
    "bits_v": {
        "a": 5,
        "b": -3,
        "c": 0x123456789A,
        "d": 1,
        "e": -200,
        "m": -2,
        "flag": True,
        "tail": 77,
    },
    "tight_v": {"x": ord("q"), "y": 100000, "z": 32767, "w": -4294967296},
    "name_v": b"bpf",
}


def clang() -> str | None:
    # clang 15 and later mark enums with negative values signed.
    for name in ("clang-19", "clang-16", "clang"):
        if shutil.which(name):
            return name
    return None


@pytest.mark.parametrize("order", ["little", "big"])
def test_bitfields_as_clang_lays_them_out(tmp_path: Path, order: str) -> None:
    cc = clang()
    if cc is None:
        pytest.skip("no clang to compile the reference object")
    elftools = pytest.importorskip("elftools.elf.elffile")
    btf = pytest.importorskip("pybpf.btf")
    if not hasattr(btf, "load_spec"):
        pytest.skip("pybpf.btf.load_spec is not there yet")
    from pybpf.btf.codec import codec_for

    src, obj = tmp_path / "bits.c", tmp_path / "bits.o"
    src.write_text(SOURCE)
    target = "bpfel" if order == "little" else "bpfeb"
    subprocess.run([cc, "-target", target, "-g", "-O2", "-c", str(src), "-o", str(obj)], check=True)
    with obj.open("rb") as f:
        elf = elftools.ELFFile(f)
        data = elf.get_section_by_name(".data").data()
        symbols = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    spec = btf.load_spec(obj)
    assert spec.byte_order == order
    # clang leaves variable offsets to the loader, which takes them from the symbols.
    raw_sec = spec.type_by_name(".data", Datasec)
    sec = Datasec(
        ".data",
        len(data),
        [VarSecinfo(v.type, symbols[v.type.name], v.size) for v in raw_sec.vars],
    )
    codec = codec_for(sec, spec.byte_order)
    value = codec.decode(data[: codec.size])
    for var, members in EXPECTED.items():
        got = getattr(value, var)
        if isinstance(members, bytes):
            assert got == members
            continue
        for name, want in members.items():
            assert getattr(got, name) == want, f"{var}.{name}"
    assert value.bits_v.m.name == "AUTO"
    assert value.either_v.parts.lo == 9 and value.either_v.parts.hi == 0xABC
    # Decoded values encode back to clang's bytes, and so do plain dicts.
    assert codec.encode(value) == data[: codec.size]
    plain = {var: members for var, members in EXPECTED.items()}
    plain["either_v"] = {"parts": {"lo": 9, "hi": 0xABC}}
    assert codec.encode(plain) == data[: codec.size]
