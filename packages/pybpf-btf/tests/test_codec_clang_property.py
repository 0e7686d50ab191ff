"""Property test: random structs with bitfields, laid out by clang for both BPF byte orders.

Hypothesis draws members (plain integers and bitfields of every integer type,
sometimes packed) and values; clang compiles an initialized global of that
struct; the codec must decode clang's bytes to the values and encode them back.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# C type, width in bits, signed
CTYPES = [
    ("unsigned char", 8, False),
    ("signed char", 8, True),
    ("unsigned short", 16, False),
    ("short", 16, True),
    ("unsigned int", 32, False),
    ("int", 32, True),
    ("unsigned long long", 64, False),
    ("long long", 64, True),
]


def clang() -> str | None:
    # clang 15+ for signedness of enums; any clang lays out bitfields the same.
    for name in ("clang-19", "clang-16", "clang"):
        if shutil.which(name):
            return name
    return None


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[tuple[str, int, bool, int]], bool]:
    """Members as (C type, width, signed, bitfield bits or 0), and whether packed."""
    members = []
    for _ in range(draw(st.integers(1, 7))):
        ctype, width, signed = draw(st.sampled_from(CTYPES))
        bits = draw(st.one_of(st.just(0), st.integers(1, width)))
        members.append((ctype, width, signed, bits))
    return members, draw(st.booleans())


def literal(value: int, width: int, signed: bool) -> str:
    if signed and value == -(1 << (width - 1)) and width == 64:
        return "(-9223372036854775807LL - 1)"
    return f"{value}{'LL' if signed else 'ULL'}" if width == 64 else str(value)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bitfields_match_clang(data: st.DataObject) -> None:
    cc = clang()
    if cc is None:
        pytest.skip("no clang")
    elftools = pytest.importorskip("elftools.elf.elffile")
    from pybpf.btf import Struct, load_spec
    from pybpf.btf.codec import codec_for

    members, packed = data.draw(layouts())
    values: dict[str, int] = {}
    decls, inits = [], []
    for i, (ctype, width, signed, bits) in enumerate(members):
        w = bits or width
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
        value = data.draw(st.integers(lo, hi), label=f"m{i}")
        values[f"m{i}"] = value
        decls.append(f"\t{ctype} m{i}{f' : {bits}' if bits else ''};")
        inits.append(f".m{i} = {literal(value, width, signed)}")
    attr = " __attribute__((packed))" if packed else ""
    source = (
        "struct s {\n" + "\n".join(decls) + f"\n}}{attr};\n"
        "struct s v = { " + ", ".join(inits) + " };\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp, "s.c"), Path(tmp, "s.o")
        src.write_text(source)
        for order, target in (("little", "bpfel"), ("big", "bpfeb")):
            subprocess.run(
                [cc, "-target", target, "-g", "-O2", "-c", str(src), "-o", str(obj)],
                check=True,
                capture_output=True,
            )
            with obj.open("rb") as f:
                elf = elftools.ELFFile(f)
                symbol = elf.get_section_by_name(".symtab").get_symbol_by_name("v")[0]
                start = symbol["st_value"]
                home = elf.get_section(symbol["st_shndx"])
                # All-zero values land in .bss, which has no bytes in the file.
                nobits = home["sh_type"] == "SHT_NOBITS"
                section = bytes(home["sh_size"]) if nobits else home.data()
            codec = codec_for(load_spec(obj).type_by_name("s", Struct), order)
            raw = section[start : start + codec.size]
            decoded: Any = codec.decode(raw)
            got = {name: int(getattr(decoded, name)) for name in values}
            assert got == values, source
            assert codec.encode(decoded) == raw, source
            assert codec.encode(values) == raw, source
