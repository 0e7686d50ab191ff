"""Property test: a header made from clang's BTF recompiles to the same layouts.

Hypothesis draws a few C structs and unions (integers, arrays, bitfields,
unnamed and zero-width bitfields, over-aligned members, pointers, nested and
anonymous structs and unions, packed and over-aligned ones, each embeddable in
the next); clang makes BTF of them; the dump of that BTF compiled again must
give every struct and union the same size and member offsets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALARS = [
    ("char", 8),
    ("unsigned char", 8),
    ("short", 16),
    ("unsigned int", 32),
    ("int", 32),
    ("long", 64),
    ("unsigned long long", 64),
]


@st.composite
def member(draw: st.DrawFn, index: int, earlier: list[str]) -> str:
    choice = draw(st.integers(0, 11))
    name = f"m{index}"
    if choice == 7:
        enum = draw(st.sampled_from(ENUMS))
        bits = draw(st.one_of(st.just(""), st.integers(3, 8).map(lambda b: f" : {b}")))
        return f"enum {enum} {name}{bits};"
    if choice == 8:
        return f"int (*{name}[{draw(st.integers(1, 3))}])(void *, long);"
    if choice == 9:
        return f"word_t {name};"
    if choice == 0 and earlier:
        return f"{draw(st.sampled_from(earlier))} {name};"
    if choice == 1:
        ctype, width = draw(st.sampled_from(SCALARS))
        return f"{ctype} {name} : {draw(st.integers(1, width))};"
    if choice == 2:
        ctype, _ = draw(st.sampled_from(SCALARS))
        return f"{ctype} {name}[{draw(st.integers(1, 5))}];"
    if choice == 3:
        return f"void *{name};"
    if choice == 4:
        kind = draw(st.sampled_from(["struct", "union"]))
        inner = " ".join(
            f"{c} i{index}_{j};"
            for j, (c, _) in enumerate(
                draw(st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3))
            )
        )
        anonymous = draw(st.booleans())
        return f"{kind} {{ {inner} }}{'' if anonymous else ' ' + name};"
    if choice == 10:
        # Unnamed: BTF has no member for it, only the gap or size it leaves.
        ctype, width = draw(st.sampled_from(SCALARS))
        return f"{ctype} : {draw(st.integers(0, width))};"
    if choice == 11:
        ctype, width = draw(st.sampled_from(SCALARS))
        bits = draw(st.one_of(st.just(""), st.integers(1, width).map(lambda b: f" : {b}")))
        align = draw(st.sampled_from([1, 2, 4, 8, 16, 32]))
        return f"{ctype} {name}{bits} __attribute__((aligned({align})));"
    ctype, _ = draw(st.sampled_from(SCALARS))
    return f"{ctype} {name};"


ENUMS = ["e8", "e16", "e32", "e64"]
PRELUDE = (
    "enum e8 { E8_A = 1, E8_B = 200 } __attribute__((packed));\n"
    "enum e16 { E16_A = 1, E16_B = 0x1234 } __attribute__((packed));\n"
    "enum e32 { E32_A = -1, E32_B = 7 };\n"
    "enum e64 { E64_A = 1, E64_B = 0x123456789ULL };\n"
    "typedef unsigned short word_t;\n"
    "enum e8 ve8; enum e16 ve16; enum e32 ve32; enum e64 ve64; word_t vw;\n"
)


@st.composite
def sources(draw: st.DrawFn) -> str:
    structs: list[str] = []
    text = [PRELUDE]
    for s in range(draw(st.integers(1, 4))):
        members = [draw(member(i, structs)) for i in range(draw(st.integers(1, 6)))]
        attrs = draw(
            st.sampled_from(
                [
                    "",
                    " __attribute__((packed))",
                    " __attribute__((aligned(16)))",
                    " __attribute__((aligned(2), packed))",
                    " __attribute__((aligned(8), packed))",
                    " __attribute__((aligned(32)))",
                ]
            )
        )
        kind = draw(st.sampled_from(["struct", "struct", "union"]))
        if kind == "union" and all(re.fullmatch(r"[a-z ]+ : \d+;", m) for m in members):
            # A union without members is written empty, as libbpf does.
            members.append("char c;")
        tag = f"{kind} {kind[0]}{s}"
        text.append(f"{tag} {{ {' '.join(members)} }}{attrs};\n{tag} v{s};")
        structs.append(tag)
    return "\n".join(text) + "\n"


def layouts(obj: Path) -> dict[str, tuple[int, list[tuple[str, int, int]]]]:
    from pybpf.btf import Struct, Union, load_spec

    return {
        t.name: (t.size, [(m.name, m.offset, m.bitfield_size) for m in t.members])
        for t in load_spec(obj)
        if isinstance(t, Struct | Union) and t.name
    }


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=sources())
def test_dump_keeps_layouts(source: str) -> None:
    cc = next((c for c in ("clang-19", "clang-16", "clang") if shutil.which(c)), None)
    if cc is None:
        pytest.skip("no clang")
    from pybpf.btf import load_spec
    from pybpf.btf.cdump import format_c

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "a.c").write_text(source)
        compile_ = [cc, "-target", "bpf", "-g", "-O2", "-c"]
        subprocess.run([*compile_, str(d / "a.c"), "-o", str(d / "a.o")], check=True)
        header = format_c(load_spec(d / "a.o"))
        (d / "vmlinux.h").write_text(header)
        defined = re.findall(r"^(struct|union) ([su]\d+) \{", header, re.MULTILINE)
        users = "".join(f"{kind} {name} x{i};\n" for i, (kind, name) in enumerate(defined))
        (d / "b.c").write_text('#include "vmlinux.h"\n' + users)
        result = subprocess.run(
            [*compile_, "-I", tmp, str(d / "b.c"), "-o", str(d / "b.o")],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, source + header + result.stderr
        assert layouts(d / "b.o") == layouts(d / "a.o"), source + header
