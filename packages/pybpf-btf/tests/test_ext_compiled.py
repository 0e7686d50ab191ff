"""``.BTF.ext`` read by the compiled scan (``ext_tables``) against the Python reading.

Where the compiled scan is in use, :func:`load_packed_ext_infos` takes its
columns; the Python reading is the reference and runs wherever it declines.
Both must give the same tables for every testdata object, the same error or
the same tables for damaged sections, and the compiled one must never read
past its input.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path
from types import ModuleType

import pytest

from pybpf.btf import BTFError, Spec, parse
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import packed
from pybpf.btf.ext.packed import PackedExtInfos, load_packed_ext_infos
from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"
# Small test blobs go through the compiled scan too, where it is used.
pytestmark = pytest.mark.usefixtures("scan_small_sections")


def _objects() -> list[Path]:
    found = []
    for path in sorted(TESTDATA.glob("*.o")):
        data = path.read_bytes()
        try:
            if section_data(data, ".BTF") and section_data(data, ".BTF.ext"):
                found.append(path)
        except (KeyError, ValueError):
            continue
    return found


OBJECTS = _objects()


def _row(record: FuncInfo | LineInfo | CORERelocation) -> tuple[object, ...]:
    """A record as plain values: the two readings decode types of two specs."""
    if isinstance(record, FuncInfo):
        return ("func", record.func.name, record.offset)
    if isinstance(record, LineInfo):
        return ("line", record.file, record.line, record.line_number, record.column, record.offset)
    return ("core", record.type.name, record.accessor, record.kind, record.offset)


def _shape(infos: PackedExtInfos) -> tuple[object, ...]:
    groups = []
    for group in (infos.func_infos, infos.line_infos, infos.core_relocations):
        groups.append(
            [
                (name, table.kind, list(table.offsets), [_row(r) for r in table.records()])
                for name, table in group.items()
            ]
        )
    return (infos.byte_order, *groups)


def outcome(ext: bytes, btf: bytes, *, python: bool) -> tuple[object, ...]:
    """What reading ``ext`` against a fresh spec of ``btf`` gives: the tables, or the error.

    (``fuzz/sanitize.py`` compares the two readings of mutated sections with it.)
    """
    spec = Spec.from_bytes(btf)
    with pytest.MonkeyPatch.context() as mp:
        if python:
            mp.setattr(packed, "_compiled_tables", lambda data, spec: None)
        try:
            return _shape(load_packed_ext_infos(ext, spec))
        except BTFError as e:
            return ("error", str(e))


def sections(path: Path) -> tuple[bytes, bytes]:
    """An object's ``.BTF.ext`` and ``.BTF`` (``fuzz/sanitize.py`` mutates the first)."""
    data = path.read_bytes()
    return section_data(data, ".BTF.ext"), section_data(data, ".BTF")


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_every_object_reads_alike(compiled: ModuleType, path: Path) -> None:
    ext, btf = sections(path)
    spec = Spec.from_bytes(btf)
    # The compiled scan takes every well-formed section, big- and little-endian.
    assert packed._compiled_tables(ext, spec) is not None
    assert outcome(ext, btf, python=False) == outcome(ext, btf, python=True)


def test_objects_of_both_byte_orders_are_read(compiled: ModuleType) -> None:
    names = {p.name for p in OBJECTS}
    assert {"core-el.o", "core-eb.o", "loader-el.o", "loader-eb.o"} <= names


def _damaged(ext: bytes, rng: random.Random) -> bytes:
    buf = bytearray(ext)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buf))
        if rng.random() < 0.5:
            buf[at] = rng.randrange(256)
        else:
            buf[at] ^= 1 << rng.randrange(8)
    if rng.random() < 0.1:
        del buf[rng.randrange(len(buf)) :]
    return bytes(buf)


@pytest.mark.parametrize("name", ["loader-el.o", "core-el.o", "core-eb.o", "loader-eb.o"])
def test_damaged_sections_read_alike(compiled: ModuleType, name: str) -> None:
    ext, btf = sections(TESTDATA / name)
    rng = random.Random(name)
    for _ in range(300):
        bad = _damaged(ext, rng)
        assert outcome(bad, btf, python=False) == outcome(bad, btf, python=True)


def test_what_the_compiled_scan_declines(compiled: ModuleType) -> None:
    ext, btf = sections(TESTDATA / "loader-el.o")
    spec = Spec.from_bytes(btf)
    raw = spec._raw
    assert raw is not None
    end = raw.base_strings_len + raw.strings_len

    def call(data: bytes, strings_end: int = end) -> object:
        return compiled.ext_tables(data, raw.words, raw.offsets, 1, strings_end)

    assert call(ext) is not None
    hdr_len = struct.unpack_from("<I", ext, 4)[0]
    func_off, func_len, line_off, line_len = struct.unpack_from("<4I", ext, 8)
    func_at = hdr_len + func_off + 4 + 8  # the first func record
    line_at = hdr_len + line_off + 4 + 8  # the first line record
    # Every cut of the section: a header, section header or record cut short.
    for cut in range(len(ext)):
        assert call(ext[:cut]) is None
    # A func info's instruction offset not a multiple of 8, or a type no FUNC.
    for at, value in ((func_at, 4), (func_at + 4, 1), (func_at + 4, 1 << 20)):
        bad = bytearray(ext)
        struct.pack_into("<I", bad, at, value)
        assert call(bytes(bad)) is None
    # A line info's file or line string past the table.
    for at in (line_at + 4, line_at + 8):
        bad = bytearray(ext)
        struct.pack_into("<I", bad, at, end)
        assert call(bytes(bad)) is None
    assert call(ext, strings_end=0) is None
    # A section of no records, a record size too small, a sub-section off the end.
    for at, value in (
        (hdr_len + func_off + 8, 0),
        (hdr_len + func_off, 4),
        (12, len(ext)),
        (8, 2),
    ):
        bad = bytearray(ext)
        struct.pack_into("<I", bad, at, value)
        assert call(bytes(bad)) is None
    # Record offsets that point past the type section, or a cut one: no FUNC.
    assert compiled.ext_tables(ext, raw.words, b"\xff\xff\xff\x7f" * 64, 1, end) is None
    assert compiled.ext_tables(ext, memoryview(raw.words)[:2], raw.offsets, 1, end) is None
    assert func_len and line_len


def test_columns_of_the_compiled_scan(compiled: ModuleType) -> None:
    ext, btf = sections(TESTDATA / "loader-el.o")
    spec = Spec.from_bytes(btf)
    raw = spec._raw
    assert raw is not None
    little, funcs, lines, relos = compiled.ext_tables(
        ext, raw.words, raw.offsets, 1, raw.strings_len
    )
    assert little is True
    reference = packed.parse_raw(ext)
    assert [(f[0], f[1]) for f in funcs] == [(s.name_off, s.at) for s in reference.func_info]
    for found, sec in zip(funcs, reference.func_info, strict=True):
        offsets, tids = sec.columns()
        assert struct.unpack(f"={len(tids)}I", found[3]) == tuple(tids)
        assert struct.unpack(f"={len(offsets)}I", found[2]) == tuple(o // 8 for o in offsets)
    for found, sec in zip(lines, reference.line_info, strict=True):
        offsets, *rest = sec.columns()
        assert struct.unpack(f"={len(offsets)}I", found[2]) == tuple(o // 8 for o in offsets)
        for column, want in zip(found[3:], rest, strict=True):
            assert struct.unpack(f"={len(want)}I", column) == tuple(want)
    assert relos == []


def test_python_reads_without_the_compiled_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    ext, btf = sections(TESTDATA / "core-eb.o")
    monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
    parse._compiled_scan.cache_clear()
    try:
        spec = Spec.from_bytes(btf)
        assert packed._compiled_tables(ext, spec) is None
        infos = load_packed_ext_infos(ext, spec)
        assert infos.byte_order == "big" and infos.core_relocations
    finally:
        parse._compiled_scan.cache_clear()
