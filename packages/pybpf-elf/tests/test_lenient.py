"""What libbpf reads leniently, pybpf reads too: unknown sections, a lone .text function."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.elf import ELFError, load_collection_spec
from pybpf.elf._uapi import ProgramType
from pybpf.elf.btf_maps import ringbuf_max_entries

ORDERS = ["el", "eb"]


@pytest.mark.parametrize("order", ORDERS)
def test_unknown_sections_are_unspec_programs(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"sections_unknown-{order}.o")
    assert list(spec.programs) == ["cls_test_prog", "sk_skb1_prog", "redirect_prog", "known_prog"]
    seen = {n: (p.section, p.type, p.autoload) for n, p in spec.programs.items()}
    assert seen == {
        "cls_test_prog": ("cls_test", ProgramType.UNSPEC, True),
        # "?" turns autoload off and is not part of the section name, as with known names.
        "sk_skb1_prog": ("sk_skb1", ProgramType.UNSPEC, False),
        "redirect_prog": ("redirect_map_0", ProgramType.UNSPEC, True),
        "known_prog": ("socket", ProgramType.SOCKET_FILTER, True),
    }
    cls = spec.programs["cls_test_prog"]
    assert (cls.attach_type, cls.attach_to, cls.flags, cls.sleepable) == (None, "", 0, False)
    assert cls.license == "GPL"
    # Subprograms are linked in as for any program.
    assert [i.symbol for i in cls.instructions if i.symbol] == ["cls_test_prog", "verdict"]


@pytest.mark.parametrize("order", ORDERS)
def test_lone_text_function_is_the_program(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"text_only-{order}.o")
    prog = spec.programs["lone_filter"]
    assert list(spec.programs) == ["lone_filter"]
    assert (prog.section, prog.type, prog.autoload) == (".text", ProgramType.UNSPEC, True)
    assert prog.license == "GPL"


def test_text_functions_beside_programs_stay_subprograms(testdata: Path) -> None:
    # One .text function but another program in the object: libbpf's
    # nr_programs > 1, so the .text function is only a subprogram.
    spec = load_collection_spec(testdata / "sections_unknown-el.o")
    assert "verdict" not in spec.programs


@pytest.mark.parametrize("order", ORDERS)
def test_ring_buffer_sizes_rounded_as_libbpf(testdata: Path, order: str) -> None:
    maps = load_collection_spec(testdata / f"ringbuf_size-{order}.o").maps
    seen = {n: (maps[n].max_entries, maps[n].declared_max_entries) for n in maps}
    assert seen == {
        "odd_ring": (8192, 5000),
        "three_pages": (16384, 3 * 4096),
        # Already a power-of-two number of pages: as declared.
        "exact_ring": (8192, None),
        ".bss": (1, None),
    }


@pytest.mark.parametrize(
    ("size", "page", "expected"),
    [
        (0, 4096, 0),
        (1, 4096, 4096),
        (4096, 4096, 4096),
        (4097, 4096, 8192),
        (3 * 4096, 4096, 4 * 4096),
        (1 << 20, 4096, 1 << 20),
        (5000, 65536, 65536),
        # Nothing below 2**32 is large enough: left for the kernel to refuse.
        (0xFFFFF000, 4096, 0xFFFFF000),
        ((1 << 31) + 1, 4096, (1 << 31) + 1),
    ],
)
def test_ringbuf_max_entries(size: int, page: int, expected: int) -> None:
    assert ringbuf_max_entries(size, page) == expected


def _without_btf(data: bytes) -> bytes:
    """The object as clang makes it without -g (checked by hand): no BTF sections."""
    return data.replace(b".BTF", b".XTF")


def test_btf_maps_without_btf_say_compile_with_g(testdata: Path) -> None:
    data = _without_btf((testdata / "ringbuf_size-el.o").read_bytes())
    with pytest.raises(ELFError, match="compile with -g") as e:
        load_collection_spec(data)
    assert e.value.section == ".maps"
    assert "BTF-defined maps (odd_ring, exact_ring, three_pages) need" in str(e.value)


def test_struct_ops_without_btf_say_compile_with_g(testdata: Path) -> None:
    data = _without_btf((testdata / "struct_ops-el.o").read_bytes())
    with pytest.raises(ELFError, match=r"struct_ops maps .* compile with -g") as e:
        load_collection_spec(data)
    assert e.value.section == ".struct_ops"


def test_externs_without_btf_say_compile_with_g(testdata: Path) -> None:
    data = _without_btf((testdata / "ksyms-el.o").read_bytes())
    with pytest.raises(ELFError, match=r"needs the object's BTF .* compile with -g"):
        load_collection_spec(data)
