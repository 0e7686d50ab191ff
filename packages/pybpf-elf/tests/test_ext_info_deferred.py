"""Func, line and CO-RE records stay packed until an instruction's metadata is read."""

from __future__ import annotations

import gc
from pathlib import Path

from pybpf.asm import Instruction
from pybpf.btf import ExtInfos, Spec, load_ext_infos
from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo
from pybpf.elf import load_collection_spec
from pybpf.elf._elffile import ElfFile

_KEYS = (FuncInfo, LineInfo, CORERelocation)


def _alive(cls: type) -> int:
    return sum(1 for o in gc.get_objects() if o.__class__ is cls)


def _plain(record: object) -> object:
    """A record with its types as names: the two readings have their own specs."""
    if isinstance(record, FuncInfo):
        return ("func", record.func.name, record.offset)
    if isinstance(record, CORERelocation):
        return ("core", record.type.name, record.accessor, record.kind, record.offset)
    return record


def _eager_ext_infos(path: Path) -> ExtInfos:
    elf = ElfFile(path.read_bytes())
    btf, ext = elf.section_named(".BTF"), elf.section_named(".BTF.ext")
    assert btf is not None and ext is not None
    spec = Spec.from_bytes(elf.section_data(btf))
    return load_ext_infos(elf.section_data(ext), spec)


def test_reading_an_object_builds_no_line_records(testdata: Path) -> None:
    path = testdata / "loader-el.o"
    gc.collect()
    before = _alive(LineInfo)
    spec = load_collection_spec(path)
    # Not even for instructions with names (function starts, relocations):
    # their names are read without building their records.
    assert _alive(LineInfo) == before
    assert any(
        insn.symbol is not None or insn.reference is not None
        for p in spec.programs.values()
        for insn in p.instructions
    )
    assert _alive(LineInfo) == before
    lines = sum(len(v) for v in _eager_ext_infos(path).line_infos.values())
    # Reading them all builds them all, as they were.
    seen = [insn.metadata.get(LineInfo) for p in spec.programs.values() for insn in p.instructions]
    assert sum(rec is not None for rec in seen) > lines / 2


def test_metadata_read_is_the_records_of_the_section(testdata: Path) -> None:
    for name in ("loader-el.o", "loader-eb.o", "core-el.o"):
        path = testdata / name
        infos = _eager_ext_infos(path)
        spec = load_collection_spec(path)
        for prog in spec.programs.values():
            records = {
                key: {r.offset: r for r in group.get(prog.section, ())}
                for key, group in zip(
                    _KEYS,
                    (infos.func_infos, infos.line_infos, infos.core_relocations),
                    strict=True,
                )
            }
            main = prog.instructions.functions()[prog.name]
            first_slot = next(
                r.offset for r in infos.func_infos[prog.section] if r.func.name == prog.name
            )
            slot = first_slot
            for insn in main:
                for key in _KEYS:
                    got, want = insn.metadata.get(key), records[key].get(slot)
                    assert _plain(got) == _plain(want), (name, slot, key)
                slot += insn.slots


def test_reading_an_object_builds_no_lookup_of_packed_records(testdata: Path) -> None:
    # Finding an instruction's records costs an entry per instruction: it is
    # made when some metadata is first read, never by reading the object
    # (linking names the copies of subprograms without reading theirs).
    for name in ("loader-el.o", "loader-eb.o", "core-el.o"):
        spec = load_collection_spec(testdata / name)
        shared = {
            id(names): names
            for p in spec.programs.values()
            for insn in p.instructions
            if type(names := insn._names).__name__ == "_Deferred"
        }
        assert shared, name
        assert all(names._built is None for names in shared.values()), name  # type: ignore[attr-defined]


def test_a_dropped_spec_is_freed_without_the_cyclic_collector(testdata: Path) -> None:
    # Reading an object leaves no reference cycle through its programs: the
    # collector would otherwise run during loads and hold dropped specs.
    gc.collect()
    gc.disable()
    try:
        before = _alive(Instruction)
        for name in ("loader-el.o", "core-el.o"):
            spec = load_collection_spec(testdata / name)
            assert _alive(Instruction) > before
            next(iter(spec.programs.values())).instructions.copy()
            del spec
            assert _alive(Instruction) == before, name
    finally:
        gc.enable()
