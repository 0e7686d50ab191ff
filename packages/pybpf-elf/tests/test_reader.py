"""load_collection_spec on the testdata objects: what each kind of section becomes."""

from __future__ import annotations

import io
import itertools
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pybpf.asm import CallSource, PseudoSource, decode
from pybpf.btf import Datasec
from pybpf.btf.ext.records import FuncInfo, LineInfo
from pybpf.elf import (
    CollectionSpec,
    ELFError,
    Extern,
    ExternKind,
    Pinning,
    load_collection_spec,
)
from pybpf.elf._elffile import SHF_EXECINSTR, SHT_PROGBITS, ElfFile
from pybpf.elf._uapi import AttachType, MapType, ProgramType
from pybpf.elf.datasecs import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG
from pybpf.elf.programs import _index_at, _layout
from pybpf.elf.struct_ops import BPF_F_LINK


def load(testdata: Path, name: str, order: str = "el") -> CollectionSpec:
    return load_collection_spec(testdata / f"{name}-{order}.o")


def test_every_object_loads(obj_path: Path) -> None:
    spec = load_collection_spec(obj_path)
    assert spec.byte_order == ("big" if obj_path.name.endswith("-eb.o") else "little")
    for prog in spec.programs.values():
        assert prog.instructions[0].symbol == prog.name
        # Every reference of a call or function pointer is resolved in place.
        names = prog.instructions.symbols()
        for insn in prog.instructions:
            if insn.is_function_call or insn.is_function_pointer:
                assert insn.reference in names


def test_datasec_variables_sorted_by_offset(obj_path: Path) -> None:
    # As libbpf's btf_fixup_datasec leaves them (bpftool's static link, .kconfig's
    # layout and clang's own order can list them otherwise).
    spec = load_collection_spec(obj_path)
    for t in spec.types or ():
        if isinstance(t, Datasec):
            offsets = [v.offset for v in t.vars]
            assert offsets == sorted(offsets), t.name


def test_reads_without_pyelftools(testdata: Path) -> None:
    # The ELF container is our own parser's job: pyelftools only cross-checks it in tests.
    code = (
        "import sys\n"
        "sys.modules['elftools'] = None  # any import of it fails\n"
        "from pybpf.elf import load_collection_spec\n"
        f"assert load_collection_spec({str(testdata / 'loader-el.o')!r}).programs\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert not [d for d in pyproject["project"]["dependencies"] if "elftools" in d]


@pytest.mark.parametrize("source", ["path", "str", "bytes", "file"])
def test_sources(testdata: Path, source: str) -> None:
    path = testdata / "loader-el.o"
    arg: object = {
        "path": path,
        "str": str(path),
        "bytes": path.read_bytes(),
        "file": io.BytesIO(path.read_bytes()),
    }[source]
    assert load_collection_spec(arg).programs.keys() == load_collection_spec(path).programs.keys()  # type: ignore[arg-type]


def test_loader(testdata: Path) -> None:
    spec = load(testdata, "loader")
    assert len(spec.programs) == 10
    xdp = spec.programs["xdp_count"]
    assert xdp.type == ProgramType.XDP and xdp.attach_type == AttachType.XDP
    assert xdp.license == "Dual MIT/GPL"
    symbols = [i.symbol for i in xdp.instructions if i.symbol]
    assert symbols == ["xdp_count", "account"]
    assert xdp.own_slots < xdp.instructions.slots
    tp = spec.programs["trace_execve"]
    assert tp.attach_to == "syscalls/sys_enter_execve"
    assert tp.attach_type is None
    outer = spec.maps["outer"]
    assert outer.type == MapType.ARRAY_OF_MAPS
    assert outer.inner_map is not None and outer.inner_map.name == "outer.inner"
    assert outer.contents == [(b"\0\0\0\0", "inner_map")]
    assert spec.maps["pybpf_loader_pinned"].pinning == Pinning.BY_NAME
    assert spec.maps[".rodata"].flags == BPF_F_MMAPABLE | BPF_F_RDONLY_PROG
    assert spec.maps[".rodata"].readonly
    assert spec.variables["sample_rate"].section == ".rodata"
    assert spec.types is not None


def test_calls_are_linked(testdata: Path) -> None:
    prog = load(testdata, "loader").programs["loop_sum"]
    starts = {i.symbol: slot for slot, i in prog.instructions.offsets() if i.symbol}
    for slot, insn in prog.instructions.offsets():
        if insn.is_function_call or insn.is_function_pointer:
            assert starts[insn.reference] == slot + insn.branch_offset + 1  # type: ignore[index]


def test_callbacks_are_function_pointers(testdata: Path) -> None:
    prog = load(testdata, "loader").programs["loop_sum"]
    pointers = [i for i in prog.instructions if i.is_function_pointer]
    assert pointers and all(i.src == PseudoSource.FUNC for i in pointers)


def test_btf_ext_infos_are_attached(testdata: Path) -> None:
    prog = load(testdata, "loader").programs["xdp_count"]
    funcs = [i.metadata[FuncInfo].func.name for i in prog.instructions if FuncInfo in i.metadata]
    assert funcs == ["xdp_count", "account"]
    assert any(LineInfo in i.metadata for i in prog.instructions)


def test_maps(testdata: Path) -> None:
    spec = load(testdata, "maps")
    assert spec.maps["jump_table"].type == MapType.PROG_ARRAY
    assert spec.maps["jump_table"].contents == [
        (struct.pack("<I", 1), "tail_target_a"),
        (struct.pack("<I", 3), "tail_target_b"),
    ]
    assert spec.maps["outer_array"].contents == [
        (struct.pack("<I", 0), "inner_a"),
        (struct.pack("<I", 2), "inner_b"),
    ]
    assert spec.maps["pybpf_pinned"].pinning == Pinning.BY_NAME
    # A hash of maps takes its .values index as the key.
    assert spec.maps["outer_hash_init"].contents == [(struct.pack("<I", 1), "inner_h")]
    big = load(testdata, "maps", "eb")
    assert big.maps["outer_hash_init"].contents == [(struct.pack(">I", 1), "inner_h")]
    for m in spec.maps.values():
        if m.key_type is not None:
            assert m.key_size > 0


def test_legacy_and_iproute2_maps(testdata: Path) -> None:
    spec = load(testdata, "maps_legacy")
    assert spec.maps["legacy_hash"].type == MapType.HASH
    assert spec.maps["legacy_hash"].extra == b""
    spec = load(testdata, "maps_iproute2", "eb")
    flows = spec.maps["tc_flows"]
    assert flows.max_entries == 64
    # id, pinning, inner_id, inner_idx kept as they are (big-endian here).
    assert struct.unpack(">4I", flows.extra) == (1, 1, 0, 0)


@pytest.mark.parametrize(("order", "end"), [("el", "<"), ("eb", ">")])
def test_arena_globals(testdata: Path, order: str, end: str) -> None:
    spec = load(testdata, "arena_globals", order)
    arena = spec.maps["arena"]
    assert (arena.type, arena.key_size, arena.value_size, arena.max_entries) == (
        MapType.ARENA,
        0,
        0,
        2,
    )
    # The kernel takes no BTF value type for an arena: the DATASEC stays off the map.
    assert arena.value_type is None and arena.section is None
    # One value under the empty key (arena maps have none): the section's bytes.
    [(key, data)] = arena.contents
    assert key == b"" and len(data) == 64
    where = {n: (v.section, v.offset, v.size) for n, v in spec.variables.items()}
    assert where == {
        "initial": (".addr_space.1", 0, 4),
        "table": (".addr_space.1", 8, 32),
        "stats": (".addr_space.1", 40, 16),
        "counter": (".addr_space.1", 56, 4),
        "hidden": (".addr_space.1", 60, 4),
    }
    v = spec.variables
    assert all(x.map is arena for x in v.values())
    assert (v["initial"].get(), v["table"].get(), v["counter"].get(), v["hidden"].get()) == (
        42,
        [1, 2, 3, 4],
        0,
        7,
    )
    stats = v["stats"].get()
    assert (stats.hits, stats.last) == (5, 6)
    v["counter"].set(9)
    assert arena.contents[0][1][56:60] == struct.pack(end + "i", 9)
    # Taking an address loads a value of the arena map at the variable's offset
    # (the static "hidden" through the section symbol and an addend).
    loads = [
        (i.src, i.constant >> 32)
        for i in spec.programs["arena_addresses"].instructions
        if i.reference == "arena"
    ]
    assert loads == [(PseudoSource.MAP_VALUE, off) for off in (0, 8, 56, 40, 60)]
    clone = spec.copy()
    assert clone.variables["counter"].map is clone.maps["arena"]
    clone.variables["counter"].set(1)
    assert v["counter"].get() == 9


def test_globals_variables(testdata: Path) -> None:
    spec = load(testdata, "globals")
    v = spec.variables["custom_data_a"]
    assert (v.section, v.offset, v.size) == (".data.custom", 0, 8)
    assert v.get() == 1
    v.set(42)
    assert v.get() == 42
    assert spec.maps[".data.custom"].contents[0][1][:8] == struct.pack("<Q", 42)
    assert spec.maps[".rodata.str1.1"].flags == BPF_F_RDONLY_PROG


def test_kconfig(testdata: Path) -> None:
    spec = load(testdata, "kconfig")
    kconfig = spec.maps[".kconfig"]
    assert kconfig.readonly
    assert kconfig.flags == BPF_F_MMAPABLE | BPF_F_RDONLY_PROG
    # libbpf's layout: alignment down, then size up, then name.
    assert spec.variables["CONFIG_BPF_LSM"].offset == 0
    assert spec.variables["CONFIG_LSM"].offset == 23
    assert kconfig.value_size == 151
    prog = next(iter(spec.programs.values()))
    uses = [i for i in prog.instructions if i.reference == ".kconfig"]
    assert uses and all(i.src == PseudoSource.MAP_VALUE for i in uses)
    assert all(i.metadata[Extern].kind is ExternKind.KCONFIG for i in uses)


def test_ksyms_and_kfuncs(testdata: Path) -> None:
    prog = next(iter(load(testdata, "ksyms").programs.values()))
    by_name = {i.reference: i for i in prog.instructions if Extern in i.metadata}
    assert by_name["runqueues"].src == PseudoSource.BTF_ID
    assert by_name["schedule"].src == PseudoSource.IMM
    assert by_name["pybpf_no_such_symbol"].metadata[Extern].weak
    prog = next(iter(load(testdata, "kfuncs").programs.values()))
    calls = [i for i in prog.instructions if Extern in i.metadata]
    assert {i.reference for i in calls} >= {"bpf_task_acquire", "bpf_task_release"}
    assert all(i.src == CallSource.KFUNC and i.is_kfunc_call for i in calls)


def test_struct_ops(testdata: Path) -> None:
    spec = load(testdata, "struct_ops")
    m = spec.maps["pybpf_cc"]
    assert m.type == MapType.STRUCT_OPS and m.flags == 0
    assert m.struct_ops_programs["init"] == "pybpf_init"
    assert len(m.contents[0][1]) == m.value_size
    spec = load(testdata, "struct_ops_link")
    assert spec.maps["pybpf_cc_link"].flags == BPF_F_LINK


def test_linked_object(testdata: Path) -> None:
    spec = load(testdata, "linked")
    prog = spec.programs["main_prog"]
    names = [i.symbol for i in prog.instructions if i.symbol]
    # Two static functions of one name, from two units, both reachable.
    assert "same_name_helper" in names and "same_name_helper#1" in names
    assert "overridden_var" in spec.variables


def test_linked_overridden_weak_variable_is_at_its_symbol(testdata: Path) -> None:
    # libbpf 1.1.2's linker leaves the losing weak copy's offset (0) in the
    # DATASEC; the symbol says where the strong definition (2) went.
    spec = load(testdata, "linked")
    var = spec.variables["overridden_var"]
    elf = ElfFile((testdata / "linked-el.o").read_bytes())
    symbol = next(s for s in elf.symbols if s.name == "overridden_var")
    assert var.offset == symbol.value == 16
    data = spec.maps[".data"].contents[0][1]
    assert isinstance(data, bytes)
    assert int.from_bytes(data[var.offset : var.offset + var.size], "little") == 2


def test_linked_extern_map_is_at_its_symbol(testdata: Path) -> None:
    # The linker leaves the extern's placeholder offset (0) in the merged
    # .maps DATASEC, on top of `here`; the symbol says where `there` went.
    # libbpf keeps the DATASEC's offsets and refuses the object; the reader
    # takes each map at its symbol, as it does variables (above).
    spec = load(testdata, "linked_extern_map")
    elf = ElfFile((testdata / "linked_extern_map-el.o").read_bytes())
    symbol = next(s for s in elf.symbols if s.name == "there")
    assert symbol.value == 32
    assert (spec.maps["here"].type, spec.maps["there"].type) == (MapType.HASH, MapType.ARRAY)
    assert spec.maps["there"].max_entries == 2
    insns = spec.programs["read_both"].instructions
    assert [i.reference for i in insns if i.is_load_from_map] == ["here", "there"]


@pytest.mark.parametrize("section", [".BTF", ".BTF.ext"])
def test_corrupt_btf_sections_are_refused_by_name(testdata: Path, section: str) -> None:
    # libbpf opens such an object without them where it can; pybpf refuses it.
    data = bytearray((testdata / "core-el.o").read_bytes())
    found = ElfFile(bytes(data)).section_named(section)
    assert found is not None
    data[found.offset : found.offset + 2] = b"\0\0"  # the magic
    with pytest.raises(ELFError, match="magic") as e:
        load_collection_spec(bytes(data))
    assert e.value.section == section


def test_linked_overridden_weak_code_is_skipped(testdata: Path) -> None:
    # The losing weak copies keep their code and relocations in .text, under
    # no symbol: libbpf skips those relocations, and so does the reader.
    spec = load(testdata, "linked_weak")
    assert list(spec.programs) == ["weak_first", "weak_second"]
    calls = {
        name: {i.reference for i in prog.instructions if i.is_function_call}
        for name, prog in spec.programs.items()
    }
    # clang inlined the part's strong weak_here into weak_second.
    assert calls == {"weak_first": {"weak_both", "weak_here"}, "weak_second": {"weak_both"}}
    assert {"first_seen", "part_seen", "weak_calls"} <= set(spec.variables)


def test_linked_static_variables_of_one_name(testdata: Path) -> None:
    # Both files have a static "shared_name": each copy keeps its own offset.
    spec = load(testdata, "linked_statics")
    data = spec.maps[".data"].contents[0][1]
    assert isinstance(data, bytes)
    values = {}
    for name in ("shared_name", "shared_name#1"):
        v = spec.variables[name]
        values[name] = int.from_bytes(data[v.offset : v.offset + v.size], "little")
    assert values == {"shared_name": 101, "shared_name#1": 202}
    zeros = {spec.variables[n].offset for n in ("shared_zero", "shared_zero#1")}
    assert len(zeros) == 2


def test_relocation_past_the_section_end(testdata: Path) -> None:
    data = bytearray((testdata / "linked_weak-el.o").read_bytes())
    elf = ElfFile(bytes(data))
    rel = elf.section_named(".rel.text")
    text = elf.section_named(".text")
    assert rel is not None and text is not None
    # The first relocation's r_offset, moved one instruction past the code.
    struct.pack_into("<Q", data, rel.offset, text.size)
    with pytest.raises(ELFError, match="past the end of the section"):
        load_collection_spec(bytes(data))


@pytest.mark.parametrize("order", ["el", "eb"])
def test_optional_struct_ops_maps(testdata: Path, order: str) -> None:
    maps = load_collection_spec(testdata / f"struct_ops_optional-{order}.o").maps
    assert {n: (m.type, m.flags, m.autocreate, m.section) for n, m in maps.items()} == {
        "pybpf_opt_always": (MapType.STRUCT_OPS, 0, True, ".struct_ops"),
        "pybpf_opt_maybe": (MapType.STRUCT_OPS, 0, False, "?.struct_ops"),
        "pybpf_opt_link": (MapType.STRUCT_OPS, BPF_F_LINK, False, "?.struct_ops.link"),
    }
    assert maps["pybpf_opt_maybe"].struct_ops_programs["init"] == "pybpf_opt_init"
    assert maps["pybpf_opt_maybe"].copy() == maps["pybpf_opt_maybe"]


def test_sections_object(testdata: Path) -> None:
    spec = load(testdata, "sections")
    assert not spec.programs["socket_no_autoload"].autoload
    assert spec.programs["socket_no_autoload"].section == "socket"
    assert spec.programs["fentry_sleepable"].sleepable
    assert spec.programs["uprobe"].attach_to == "libc.so.6:malloc"


def test_unknown_code_section(testdata: Path) -> None:
    # "socket" shares its string with ".relsocket" in the section name table.
    data = (testdata / "maps_legacy-el.o").read_bytes().replace(b".relsocket\0", b".relsockez\0")
    prog = load_collection_spec(data).programs["legacy_maps"]
    assert (prog.section, prog.type, prog.attach_type) == ("sockez", ProgramType.UNSPEC, None)


def test_not_elf() -> None:
    with pytest.raises(ELFError, match="not an ELF"):
        load_collection_spec(b"hello")


def test_truncated(testdata: Path) -> None:
    data = (testdata / "loader-el.o").read_bytes()
    with pytest.raises(ELFError):
        load_collection_spec(data[:200])


def test_missing_symbol(testdata: Path) -> None:
    path = testdata / "maps_legacy-el.o"
    data = bytearray(path.read_bytes())
    from pybpf.elf._elffile import ElfFile

    elf = ElfFile(bytes(data))
    rel = next(s for s in elf.sections if s.name == ".relsocket")
    # Point the first relocation at a symbol index past the table.
    struct.pack_into("<Q", data, rel.offset + 8, (9999 << 32) | 1)
    with pytest.raises(ELFError, match="symbol index 9999") as e:
        load_collection_spec(bytes(data))
    assert e.value.section == "socket"
    assert e.value.offset is not None


def test_unknown_relocation_type(testdata: Path) -> None:
    data = bytearray((testdata / "maps_legacy-el.o").read_bytes())
    from pybpf.elf._elffile import ElfFile

    elf = ElfFile(bytes(data))
    rel = next(s for s in elf.sections if s.name == ".relsocket")
    (info,) = struct.unpack_from("<Q", data, rel.offset + 8)
    struct.pack_into("<Q", data, rel.offset + 8, (info & ~0xFFFFFFFF) | 77)
    with pytest.raises(ELFError, match="relocation type 77"):
        load_collection_spec(bytes(data))


def test_inconsistent_map(testdata: Path) -> None:
    data = (testdata / "maps_legacy-el.o").read_bytes()
    from pybpf.elf._elffile import ElfFile

    elf = ElfFile(data)
    maps = next(s for s in elf.sections if s.name == "maps")
    broken = bytearray(data)
    struct.pack_into("<I", broken, maps.offset, 999)  # no such map type
    with pytest.raises(ELFError, match="unknown map type 999") as e:
        load_collection_spec(bytes(broken))
    assert e.value.section == "maps"


def test_reader_records_are_plain_classes() -> None:
    # Defining a dataclass costs a few hundred microseconds at import, paid by
    # every process that reads an object; these records need none of it.
    import dataclasses

    from pybpf.elf import btf_maps, externs, programs

    for cls in (programs.Function, externs._Kconfig, btf_maps.BTFMaps):
        assert not dataclasses.is_dataclass(cls), cls
        assert "__slots__" in vars(cls), cls


def test_code_layout_of_every_section(testdata: Path) -> None:
    # Where instructions start and which one is at each slot, found from the
    # LD_IMM64 opcodes only: the same as looking at every slot.
    checked = 0
    for path in sorted(testdata.glob("*.o")):
        try:
            elf = ElfFile(path.read_bytes())
        except ValueError:
            continue
        for sec in elf.sections:
            if sec.type != SHT_PROGBITS or not sec.flags & SHF_EXECINSTR or not sec.size:
                continue
            data = elf.section_data(sec)
            # strict=False: raw_insns holds words the UAPI lacks, on purpose.
            insns = decode(data, elf.byte_order, strict=False)
            total = len(data) // 8
            starts = [*itertools.compress(range(total), data[0::8]), total]
            at = dict(zip(starts, insns, strict=False))
            wides, by_slot = _layout(data, insns)
            index_of = {slot: index for index, slot in enumerate(starts)}
            index_at = [_index_at(wides, slot) for slot in range(total + 1)]
            assert index_at == [index_of.get(slot) for slot in range(total + 1)], (
                path.name,
                sec.name,
            )
            assert len(by_slot) == total
            assert all(by_slot[slot] is at.get(slot) for slot in range(total))
            checked += 1
    assert checked > 50
