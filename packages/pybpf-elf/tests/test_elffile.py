"""The small ELF parser agrees with pyelftools on every testdata object."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from pybpf.elf import ELFError
from pybpf.elf._elffile import SHT_REL, ElfFile

elftools = pytest.importorskip("elftools.elf.elffile")


def test_same_as_pyelftools(obj_path: Path) -> None:
    data = obj_path.read_bytes()
    ours = ElfFile(data)
    theirs = elftools.ELFFile(io.BytesIO(data))
    assert ours.byte_order == ("little" if theirs.little_endian else "big")
    assert [s.name for s in ours.sections] == [s.name for s in theirs.iter_sections()]
    for mine, sec in zip(ours.sections, theirs.iter_sections(), strict=True):
        assert (mine.offset, mine.size, mine.flags) == (
            sec["sh_offset"],
            sec["sh_size"],
            sec["sh_flags"],
        )
        if mine.type == SHT_REL:
            rels = [
                (r["r_offset"], r["r_info_sym"], r["r_info_type"]) for r in sec.iter_relocations()
            ]
            assert [(r.offset, r.symbol, r.type) for r in ours.relocations(mine)] == rels
    symtab = theirs.get_section_by_name(".symtab")
    expected = [(s.name, s["st_value"], s["st_size"]) for s in symtab.iter_symbols()]
    assert [(s.name, s.value, s.size) for s in ours.symbols] == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an ELF"),
        (b"\x7fELF\x01" + bytes(59), "not 64-bit"),
        (b"\x7fELF\x02\x03" + bytes(58), "data encoding"),
    ],
)
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(ELFError, match=message):
        ElfFile(data)


def test_not_bpf(tmp_path: Path) -> None:
    data = bytearray(
        Path(__file__).resolve().parents[3].joinpath("testdata", "loader-el.o").read_bytes()
    )
    data[18] = 62  # EM_X86_64
    with pytest.raises(ELFError, match="not BPF"):
        ElfFile(bytes(data))


def test_huge_bss_is_refused() -> None:
    path = Path(__file__).resolve().parents[3] / "testdata" / "loader-el.o"
    data = bytearray(path.read_bytes())
    elf = ElfFile(bytes(data))
    bss = next(s for s in elf.sections if s.name == ".bss")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    struct.pack_into("<Q", data, shoff + bss.index * 64 + 32, 1 << 40)
    with pytest.raises(ELFError, match="larger than any map value"):
        ElfFile(bytes(data))


def _symbol_name_patch(data: bytearray, name: str) -> tuple[int, int]:
    """Where ``name``'s symbol entry and its string start, in ``data`` (loader-el.o)."""
    elf = ElfFile(bytes(data))
    assert elf.symtab is not None
    strtab = elf.sections[elf.symtab.link]
    sym = next(s for s in elf.symbols if s.name == name)
    entry = elf.symtab.offset + sym.index * 24
    (name_off,) = struct.unpack_from("<I", data, entry)
    return entry, strtab.offset + name_off


def test_symbol_name_inside_another_string() -> None:
    # Linkers share suffixes: a name may start inside another string.
    path = Path(__file__).resolve().parents[3] / "testdata" / "loader-el.o"
    data = bytearray(path.read_bytes())
    entry, _ = _symbol_name_patch(data, "recent_pids")
    (name_off,) = struct.unpack_from("<I", data, entry)
    struct.pack_into("<I", data, entry, name_off + len("recent_"))
    names = [s.name for s in ElfFile(bytes(data)).symbols]
    assert "pids" in names
    assert "recent_pids" not in names


def test_symbol_name_not_utf8() -> None:
    path = Path(__file__).resolve().parents[3] / "testdata" / "loader-el.o"
    data = bytearray(path.read_bytes())
    _, string = _symbol_name_patch(data, "recent_pids")
    data[string] = 0xFF
    elf = ElfFile(bytes(data))
    with pytest.raises(ELFError, match=r"name of symbol #\d+: not UTF-8"):
        _ = elf.symbols
    # A valid non-ASCII name (two bytes for "re") reads as the UTF-8 it is.
    data[string : string + 2] = "é".encode()
    assert "écent_pids" in [s.name for s in ElfFile(bytes(data)).symbols]


def test_symbols_by_section_are_the_symbols_grouped(obj_path: Path) -> None:
    elf = ElfFile(obj_path.read_bytes())
    grouped: dict[int, list[int]] = {}
    for sym in elf.symbols:
        grouped.setdefault(sym.shndx, []).append(sym.index)
    by_section = elf.symbols_by_section
    assert {k: [s.index for s in v] for k, v in by_section.items()} == grouped
    # The same objects: one walk of the table made both.
    assert all(elf.symbols[s.index] is s for syms in by_section.values() for s in syms)
