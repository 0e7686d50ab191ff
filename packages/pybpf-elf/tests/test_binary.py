"""The public reader of native ELF files agrees with pyelftools and binutils."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pybpf.elf import ELFError
from pybpf.elf.binary import ET_DYN, ET_EXEC, PT_LOAD, Binary

elftools = pytest.importorskip("elftools.elf.elffile")

PYTHON = Path("/usr/bin/python3")
LIBC = next(
    (p for p in map(Path, ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]) if p.exists()),
    None,
)
needs_libc = pytest.mark.skipif(LIBC is None, reason="no glibc at a known path")
needs_readelf = pytest.mark.skipif(shutil.which("readelf") is None, reason="no readelf")
needs_python = pytest.mark.skipif(not PYTHON.exists(), reason="no /usr/bin/python3")


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", *args], check=True, capture_output=True, text=True).stdout


@needs_libc
def test_libc_segments_and_sections_match_pyelftools() -> None:
    assert LIBC is not None
    data = LIBC.read_bytes()
    ours = Binary(data, name=str(LIBC))
    theirs = elftools.ELFFile(io.BytesIO(data))
    assert ours.type == ET_DYN and ours.is_shared_object
    loads = [
        (s.type == PT_LOAD, s.flags, s.offset, s.vaddr, s.filesz, s.memsz) for s in ours.segments
    ]
    assert loads == [
        (
            seg["p_type"] == "PT_LOAD",
            seg["p_flags"],
            seg["p_offset"],
            seg["p_vaddr"],
            seg["p_filesz"],
            seg["p_memsz"],
        )
        for seg in theirs.iter_segments()
    ]
    assert [(s.name, s.addr, s.offset) for s in ours.sections] == [
        (s.name, s["sh_addr"], s["sh_offset"]) for s in theirs.iter_sections()
    ]


@needs_libc
@needs_readelf
def test_libc_dynamic_symbols_and_versions_match_readelf() -> None:
    assert LIBC is not None
    ours = Binary.open(LIBC)
    # "  1234: 00000000000a2d70   250 FUNC    GLOBAL DEFAULT   16 memcpy@@GLIBC_2.14"
    line = re.compile(r"\s*\d+: ([0-9a-f]+)\s+(\d+|0x[0-9a-f]+) (\w+)\s+(\w+)\s+\w+\s+\S+ (\S+)")
    expected = []
    for text in _readelf("--dyn-syms", "-W", str(LIBC)).splitlines():
        m = line.match(text)
        if m and m[5] != "":
            expected.append((m[5].split(" (")[0], int(m[1], 16)))
    # readelf prints a version's own marker symbol (GLIBC_2.10, absolute) bare.
    got = [
        (s.name if s.name == s.version else s.versioned_name, s.value) for s in ours.dynamic_symbols
    ]
    assert got == expected[: len(got)] and len(got) == len(expected)
    by_name = {s.versioned_name: s for s in ours.dynamic_symbols}
    memcpy = by_name["memcpy@@GLIBC_2.14"]
    assert (memcpy.name, memcpy.version, memcpy.hidden) == ("memcpy", "GLIBC_2.14", False)
    assert by_name["memcpy@GLIBC_2.2.5"].hidden


@needs_libc
def test_symbol_file_offsets_match_the_program_headers() -> None:
    """libbpf goes through the symbol's section; the segments give the same offsets."""
    assert LIBC is not None
    ours = Binary.open(LIBC)
    checked = 0
    for sym in ours.dynamic_symbols:
        if sym.file_offset is None or sym.type != 2:
            continue
        seg = ours.segment_at(sym.value)
        assert seg is not None and seg.type == PT_LOAD and seg.executable, sym
        assert sym.file_offset == sym.value - seg.vaddr + seg.offset
        checked += 1
    assert checked > 1000


@needs_python
@needs_readelf
def test_python_notes_match_readelf() -> None:
    ours = Binary.open(PYTHON)
    assert ours.type == ET_EXEC and not ours.is_shared_object
    notes = ours.notes(".note.stapsdt")
    text = _readelf("-n", str(PYTHON)).split("Displaying notes found in: .note.stapsdt")[1]
    sizes = [int(m, 16) for m in re.findall(r"stapsdt\s+0x([0-9a-f]+)\s+NT_STAPSDT", text)]
    assert [len(n.desc) for n in notes] == sizes
    assert {(n.name, n.type) for n in notes} == {("stapsdt", 3)}
    assert ours.notes(".no.such.section") == []


def test_big_endian_objects_read_like_pyelftools(testdata: Path) -> None:
    for path in sorted(testdata.glob("*-eb.o"))[:5]:
        data = path.read_bytes()
        ours = Binary(data, name=path.name)
        theirs = elftools.ELFFile(io.BytesIO(data))
        assert ours.byte_order == "big"
        symtab = theirs.get_section_by_name(".symtab")
        expected = [(s.name, s["st_value"], s["st_size"]) for s in symtab.iter_symbols()][1:]
        assert [(s.name, s.value, s.size) for s in ours.static_symbols] == expected
        assert ours.dynamic_symbols == [] and ours.segments == []


def _libc_or_python() -> bytes:
    for p in (LIBC, PYTHON):
        if p is not None and p.exists():
            return p.read_bytes()
    pytest.skip("no native ELF file to corrupt")


def test_truncated_program_header_table() -> None:
    data = bytearray(_libc_or_python())
    struct.pack_into("<Q", data, 0x20, len(data) - 8)  # e_phoff near the end
    with pytest.raises(ELFError, match="program header table"):
        _ = Binary(bytes(data)).segments


def test_wrong_program_header_size() -> None:
    data = bytearray(_libc_or_python())
    struct.pack_into("<H", data, 0x36, 32)
    with pytest.raises(ELFError, match="program header size 32"):
        _ = Binary(bytes(data)).segments


def test_truncated_note() -> None:
    data = bytearray(_libc_or_python())
    elf = Binary(bytes(data))
    note = next(s for s in elf.sections if s.type == 7)
    struct.pack_into("<I", data, note.offset + 4, 0xFFFF)  # descsz past the section
    with pytest.raises(ELFError, match="past the end of the section"):
        Binary(bytes(data)).notes(note.name)


@needs_libc
def test_undefined_version_index() -> None:
    assert LIBC is not None
    data = bytearray(LIBC.read_bytes())
    versym = next(s for s in Binary(bytes(data)).sections if s.name == ".gnu.version")
    struct.pack_into("<H", data, versym.offset + 2 * 5, 0x7FFE)
    with pytest.raises(ELFError, match="version index 32766 is not defined"):
        _ = Binary(bytes(data)).dynamic_symbols


def test_no_section_table_still_has_segments() -> None:
    data = bytearray(_libc_or_python())
    struct.pack_into("<QHHH", data, 0x28, 0, 0, 0, 0)  # e_shoff .. e_shstrndx
    struct.pack_into("<H", data, 0x3A, 64)
    elf = Binary(bytes(data))
    assert elf.sections == [] and elf.dynamic_symbols == [] and elf.segments


@pytest.mark.parametrize("cut", [0x10, 0x3F, 0x40, 0x200])
def test_any_truncation_is_an_elf_error(cut: int) -> None:
    data = _libc_or_python()[:cut]
    with pytest.raises(ELFError):
        elf = Binary(data)
        assert elf.segments is not None and elf.dynamic_symbols is not None


@needs_libc
def test_symbols_named_agrees_with_the_full_tables() -> None:
    """The fast lookup finds names inside longer strings too (shared suffixes)."""
    assert LIBC is not None
    full = Binary.open(LIBC)
    every = list(full.symbols())
    bases = sorted({s.name.split("@")[0] for s in every if s.name})
    for base in [*bases[::50], "malloc", "free"]:
        fresh = Binary.open(LIBC)
        assert fresh.symbols_named(base) == [s for s in every if s.name.split("@")[0] == base]
    assert Binary.open(LIBC).symbols_named("no_such_symbol_anywhere") == []
