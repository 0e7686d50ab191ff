"""``.BTF.ext``: parsing, marshalling, instruction metadata and the kernel's arrays."""

from __future__ import annotations

import struct
from array import array
from pathlib import Path
from typing import Literal

import pytest

from pybpf.asm import R0, Instruction, Instructions, decode, exit, mov
from pybpf.btf import BTFError, Spec, load_spec
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import (
    CORE_RELOCATION_KEY,
    FUNC_INFO_KEY,
    CORERelocation,
    CORERelocKind,
    ExtInfos,
    FuncInfo,
    LineInfo,
    SectionExtInfos,
    attach_ext_infos,
    collect_ext_infos,
    core_relocation,
    encode_core_relocations,
    encode_func_infos,
    encode_line_infos,
    func_info,
    line_info,
    load_ext_infos,
)
from pybpf.btf.ext.wire import marshal_raw, parse_raw


def _load(path: Path) -> tuple[bytes, Spec, bytes, ExtInfos]:
    data = path.read_bytes()
    spec = load_spec(data)
    ext_bytes = section_data(data, ".BTF.ext")
    return data, spec, ext_bytes, load_ext_infos(ext_bytes, spec)


def test_round_trip(obj_path: Path) -> None:
    _, spec, ext_bytes, infos = _load(obj_path)
    assert infos.byte_order == ("big" if obj_path.name.endswith("-eb.o") else "little")
    assert infos.marshal_for(spec) == ext_bytes


def test_round_trip_other_byte_order(obj_path: Path) -> None:
    _, spec, ext_bytes, infos = _load(obj_path)
    other: Literal["little", "big"] = "little" if infos.byte_order == "big" else "big"
    swapped = infos.marshal_for(spec, other)
    assert len(swapped) == len(ext_bytes)
    again = load_ext_infos(swapped, spec)
    assert again.byte_order == other
    assert again.func_infos == infos.func_infos
    assert again.line_infos == infos.line_infos
    assert again.core_relocations == infos.core_relocations


def test_instruction_metadata_round_trip(obj_path: Path) -> None:
    data, spec, _, infos = _load(obj_path)
    for name in infos.sections:
        # strict=False: raw_insns holds words the UAPI lacks, on purpose.
        insns = decode(section_data(data, name), spec.byte_order, strict=False)
        expected = infos.section(name)
        attach_ext_infos(insns, expected)
        assert collect_ext_infos(insns) == expected
        # Metadata survives a copy of the program.
        assert collect_ext_infos(insns.copy()) == expected


def test_both_byte_orders_agree(testdata: Path) -> None:
    for little in sorted(testdata.glob("*-el.o")):
        big = little.with_name(little.name.replace("-el.o", "-eb.o"))
        if not big.exists():
            continue
        a, b = _load(little)[3], _load(big)[3]
        assert a.sections == b.sections
        for name in a.sections:
            sa, sb = a.section(name), b.section(name)
            # Code generation differs a little between the targets: compare what
            # does not depend on it.
            assert [f.func.name for f in sa.func_infos] == [f.func.name for f in sb.func_infos]
            assert {li.file for li in sa.line_infos} == {li.file for li in sb.line_infos}
            assert sa.line_infos[0].line == sb.line_infos[0].line


def test_core_records(testdata: Path) -> None:
    infos = _load(testdata / "core-el.o")[3]
    relos = infos.core_relocations["tracepoint/syscalls/sys_enter_getpid"]
    first = relos[0]
    assert first.type.name == "task_struct"
    assert first.accessor == (0, 6)
    assert first.access_string == "0:6"
    assert first.kind is CORERelocKind.FIELD_BYTE_OFFSET
    kinds = {r.kind for rs in infos.core_relocations.values() for r in rs}
    assert kinds == set(CORERelocKind) - {CORERelocKind.TYPE_MATCHES}
    comm = next(r for r in relos if r.accessor == (0, 9, 3))
    assert comm.kind is CORERelocKind.FIELD_BYTE_OFFSET
    assert (1, 6) in {r.accessor for r in relos}


def test_func_and_line_records(testdata: Path) -> None:
    infos = _load(testdata / "btf-el.o")[3]
    text = infos.section(".text")
    assert [(f.func.name, f.offset) for f in text.func_infos] == [
        ("global_func", 0),
        ("static_func", 6),
    ]
    first = text.line_infos[0]
    assert first.file == "./btf.c"
    assert first.line == "\treturn arg * (int)other + tagged_global;"
    assert (first.line_number, first.column, first.offset) == (164, 13, 0)
    assert first.line_col == 164 << 10 | 13
    assert infos.func_infos["socket"][0].func.name == "btf_prog"


def test_strings_cover_every_record(testdata: Path) -> None:
    infos = _load(testdata / "core-el.o")[3]
    needed = set(infos.strings())
    assert "tracepoint/syscalls/sys_enter_getpid" in needed
    assert "0:9:3" in needed
    assert "./core.c" in needed


def test_larger_records_are_honoured(testdata: Path) -> None:
    _, spec, ext_bytes, infos = _load(testdata / "core-el.o")
    raw = parse_raw(ext_bytes)
    # Rebuild the section with 8 extra bytes per record, as a newer producer might.
    header = bytearray(ext_bytes[:32])
    body = b""
    offsets = []
    for name, nfields in (("func_info", 2), ("line_info", 4), ("core_relo", 4)):
        start = len(body)
        size = 4 * nfields + 8
        part = struct.pack("<I", size)
        for sec in getattr(raw, name):
            part += struct.pack("<II", sec.name_off, len(sec.records))
            for rec in sec.records:
                part += struct.pack("<" + "I" * nfields, *rec) + b"\xaa" * 8
        body += part
        offsets += [start, len(part)]
    struct.pack_into("<6I", header, 8, *offsets)
    wide = load_ext_infos(bytes(header) + body, spec)
    assert wide.func_infos == infos.func_infos
    assert wide.line_infos == infos.line_infos
    assert wide.core_relocations == infos.core_relocations


def test_short_header_without_core_relos(testdata: Path) -> None:
    _, spec, ext_bytes, infos = _load(testdata / "btf-el.o")
    hdr_len, func_off, func_len, line_off, line_len = struct.unpack_from("<I4I", ext_bytes, 4)
    body = ext_bytes[hdr_len:]
    short = struct.pack("<HBBI4I", 0xEB9F, 1, 0, 24, func_off, func_len, line_off, line_len)
    again = load_ext_infos(short + body, spec)
    assert again.func_infos == infos.func_infos
    assert again.line_infos == infos.line_infos
    assert again.core_relocations == {}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:6], "header needs 8 bytes"),
        (lambda b: b"\x00\x00" + b[2:], "bad magic"),
        (lambda b: b[:2] + b"\x02" + b[3:], "unsupported version"),
        (lambda b: b[:3] + b"\x01" + b[4:], "unsupported flags"),
        (lambda b: b[:4] + struct.pack("<I", 16) + b[8:], "shorter than 24"),
        (lambda b: b[:4] + struct.pack("<I", 10_000) + b[8:], "exceeds"),
        (lambda b: b[:12] + struct.pack("<I", 100_000) + b[16:], "runs past the end"),
        (lambda b: b[:8] + struct.pack("<I", 2) + b[12:], "not 4-byte aligned"),
        (lambda b: b[:32] + struct.pack("<I", 4) + b[36:], "record size 4"),
        (lambda b: b[:32] + struct.pack("<I", 10) + b[36:], "record size 10"),
        (lambda b: b[:40] + struct.pack("<I", 0) + b[44:], "section with no records"),
        (lambda b: b[:40] + struct.pack("<I", 1000) + b[44:], "exceed"),
        (lambda b: b[:36] + struct.pack("<I", 10**6) + b[40:], "string offset"),
        (lambda b: b[:44] + struct.pack("<I", 3) + b[48:], "not a multiple of 8"),
        (lambda b: b[:48] + struct.pack("<I", 10**6) + b[52:], "no type with id"),
    ],
)
def test_malformed(testdata: Path, mutate: object, message: str) -> None:
    _, spec, ext_bytes, _ = _load(testdata / "core-el.o")
    assert callable(mutate)
    with pytest.raises(BTFError, match=message) as info:
        load_ext_infos(mutate(ext_bytes), spec)
    assert str(info.value).startswith(".BTF.ext")
    assert "byte offset" in str(info.value)


def test_func_info_of_wrong_kind(testdata: Path) -> None:
    _, spec, ext_bytes, _ = _load(testdata / "btf-el.o")
    raw = parse_raw(ext_bytes)
    type_id = raw.func_info[0].records[0][1]
    # Point the first func_info at the prototype the function refers to.
    proto_id = spec.type_id(spec.type_by_id(type_id).type)  # type: ignore[attr-defined]
    at = raw.func_info[0].record_at(0)
    bad = ext_bytes[: at + 4] + struct.pack("<I", proto_id) + ext_bytes[at + 8 :]
    with pytest.raises(BTFError, match="not a Func"):
        load_ext_infos(bad, spec)


def test_bad_core_records(testdata: Path) -> None:
    _, spec, ext_bytes, _ = _load(testdata / "core-el.o")
    raw = parse_raw(ext_bytes)
    at = raw.core_relo[0].record_at(0)
    bad_kind = ext_bytes[: at + 12] + struct.pack("<I", 99) + ext_bytes[at + 16 :]
    with pytest.raises(BTFError, match="unknown relocation kind 99"):
        load_ext_infos(bad_kind, spec)
    # An access string offset pointing at a type name.
    name_off = raw.core_relo[0].name_off
    bad_access = ext_bytes[: at + 8] + struct.pack("<I", name_off) + ext_bytes[at + 12 :]
    with pytest.raises(BTFError, match="bad access string"):
        load_ext_infos(bad_access, spec)


@pytest.mark.kernel_files
def test_core_reloc_kind_matches_kernel() -> None:
    from pybpf.btf import Enum, TypeNotFoundError, load_kernel_spec

    try:
        enum = load_kernel_spec().type_by_name("bpf_core_relo_kind", Enum)
    except TypeNotFoundError:
        # The kernel relocates CO-RE itself (and has the enum) from Linux 5.17.
        pytest.skip("this kernel's BTF has no enum bpf_core_relo_kind (Linux 5.17+)")
    assert isinstance(enum, Enum)
    kernel = {v.name.removeprefix("BPF_CORE_"): v.value for v in enum.values}
    ours = {k.name: k.value for k in CORERelocKind}
    # A newer kernel may add kinds; every kind we know must keep its number.
    assert ours.items() <= kernel.items()


def _program_with_infos(testdata: Path) -> tuple[Instructions, SectionExtInfos, Spec]:
    data, spec, _, infos = _load(testdata / "core-el.o")
    name = "tp_btf/sched_switch"
    insns = decode(section_data(data, name), spec.byte_order)
    section = infos.section(name)
    attach_ext_infos(insns, section)
    return insns, section, spec


def test_accessors(testdata: Path) -> None:
    insns, section, _ = _program_with_infos(testdata)
    assert func_info(insns[0]) == section.func_infos[0]
    assert line_info(insns[0]) == section.line_infos[0]
    relocated = [i for i in insns if core_relocation(i) is not None]
    assert len(relocated) == len(section.core_relocations)
    assert FUNC_INFO_KEY in insns[0].metadata
    assert CORE_RELOCATION_KEY not in insns[0].metadata
    assert func_info(insns[1]) is None


def test_edits_keep_records_with_their_instructions(testdata: Path) -> None:
    insns, section, _ = _program_with_infos(testdata)
    before = collect_ext_infos(insns)
    insns.insert(1, mov(R0, 0))
    insns.insert(1, Instruction(0x18, 1, 0, 0, 1 << 40))  # an LD_IMM64: two slots
    after = collect_ext_infos(insns)
    assert after.func_infos == before.func_infos
    shifted = [li.offset + (3 if li.offset >= 1 else 0) for li in before.line_infos]
    assert [li.offset for li in after.line_infos] == shifted
    assert [r.offset for r in after.core_relocations] == [
        r.offset + 3 for r in before.core_relocations
    ]
    assert [r.accessor for r in after.core_relocations] == [
        r.accessor for r in before.core_relocations
    ]
    # Functions appended after the program (bpf-to-bpf calls) keep their records.
    callee = Instructions([mov(R0, 1), exit()])
    callee[0].metadata[FUNC_INFO_KEY] = section.func_infos[0]
    combined = insns + callee
    funcs = collect_ext_infos(combined).func_infos
    assert [f.offset for f in funcs] == [0, insns.slots]


def test_attach_errors(testdata: Path) -> None:
    insns, section, _ = _program_with_infos(testdata)
    with pytest.raises(BTFError, match="two func_info records"):
        attach_ext_infos(insns, SectionExtInfos(func_infos=section.func_infos))
    short = Instructions([exit()])
    with pytest.raises(BTFError, match="does not start an instruction"):
        attach_ext_infos(short, SectionExtInfos(line_infos=section.line_infos))
    ld = Instructions([Instruction(0x18, 1, 0, 0, 5), exit()])
    inside = LineInfo("f.c", "x", 1, 1, offset=1)
    with pytest.raises(BTFError, match="does not start an instruction"):
        attach_ext_infos(ld, SectionExtInfos(line_infos=[inside]))
    # A slice of a section: offsets count from the slice's first slot.
    tail = Instructions([exit()])
    attach_ext_infos(tail, SectionExtInfos(line_infos=[inside]), first_slot=1)
    assert line_info(tail[0]) == inside


def test_kernel_arrays(testdata: Path) -> None:
    insns, _, spec = _program_with_infos(testdata)
    insns.insert(0, mov(R0, 0))
    records = collect_ext_infos(insns)
    funcs = encode_func_infos(records.func_infos, spec.type_id, "little")
    assert funcs == struct.pack("<II", 1, spec.type_id(records.func_infos[0].func))
    strings = {
        s: i
        for i, s in enumerate(
            sorted(
                set(
                    ExtInfos(
                        line_infos={"x": records.line_infos},
                        core_relocations={"x": records.core_relocations},
                    ).strings()
                )
            )
        )
    }
    lines = encode_line_infos(records.line_infos, strings.__getitem__, "big")
    first = records.line_infos[0]
    assert lines[:16] == struct.pack(
        ">IIII", first.offset, strings[first.file], strings[first.line], first.line_col
    )
    assert len(lines) == 16 * len(records.line_infos)
    relos = encode_core_relocations(
        records.core_relocations, spec.type_id, strings.__getitem__, "little"
    )
    r = records.core_relocations[0]
    assert relos[:16] == struct.pack(
        "<IIII", r.offset * 8, spec.type_id(r.type), strings[r.access_string], r.kind
    )


def test_marshal_with_new_ids(testdata: Path) -> None:
    _, spec, _, infos = _load(testdata / "core-el.o")
    strings: dict[str, int] = {"": 0}
    for s in infos.strings():
        strings.setdefault(s, len(strings) * 10)
    ids = {t: i + 1 for i, t in enumerate(spec)}
    data = infos.marshal(ids.__getitem__, strings.__getitem__)
    raw = parse_raw(data)
    assert raw.core_relo[0].records[0][2] == strings["0:6"]
    first_section = next(iter(infos.func_infos))
    assert raw.func_info[0].name_off == strings[first_section]
    assert raw.func_info[0].records[0][1] == ids[infos.func_infos[first_section][0].func]


def test_records_are_values() -> None:
    from pybpf.btf import Int

    t = Int("int", 4)
    a = CORERelocation(t, (0, 1), CORERelocKind.FIELD_EXISTS, 3)
    assert a == CORERelocation(t, (0, 1), CORERelocKind.FIELD_EXISTS, 3)
    assert a != CORERelocation(Int("int", 4), (0, 1), CORERelocKind.FIELD_EXISTS, 3)
    assert CORERelocKind.TYPE_MATCHES.is_type_based
    assert CORERelocKind.FIELD_RSHIFT_U64.is_field_based
    assert CORERelocKind.ENUMVAL_VALUE.is_enumval_based
    assert CORERelocKind.FIELD_BYTE_OFFSET.libbpf_name == "byte_off"
    assert LineInfo("a", "b", 5, 2000).line_col == (5 << 10) | (2000 & 0x3FF)
    assert FuncInfo(t, 2).offset == 2  # type: ignore[arg-type]


def test_add_strings_to_marshalled_btf(testdata: Path) -> None:
    from pybpf.btf import marshal
    from pybpf.btf.ext import add_strings

    _, spec, _, infos = _load(testdata / "core-el.o")
    for order in ("little", "big"):
        blob = marshal(spec, byte_order=order)
        grown, offsets = add_strings(blob, [*infos.strings(), "task_struct"])
        again = load_spec(grown)
        assert again == spec
        for s, offset in offsets.items():
            assert again._string_at(offset) == s
        # Type names are found, not repeated; strings already there add nothing.
        assert offsets["task_struct"] < len(blob)
        same, offsets_again = add_strings(grown, [*infos.strings(), "task_struct"])
        assert same is grown and offsets_again == offsets
        # The kernel arrays take these offsets.
        lines = infos.line_infos["tp_btf/sched_switch"]
        encoded = encode_line_infos(lines, offsets.__getitem__, order)
        assert len(encoded) == 16 * len(lines)
    with pytest.raises(BTFError):
        add_strings(b"\x9f\xeb\x01\x00", ["x"])


def test_raw_sections_give_columns_without_record_tuples(obj_path: Path) -> None:
    # The packed reader takes each field as one array; the record tuples are
    # made only for code that asks for them, and say the same.
    ext_bytes = _load(obj_path)[2]
    other = marshal_raw(
        parse_raw(ext_bytes), "big" if obj_path.name.endswith("-el.o") else "little"
    )
    for data in (ext_bytes, other):
        raw = parse_raw(data)
        for sec in raw.func_info + raw.line_info + raw.core_relo:
            assert sec._records is None
            columns = sec.columns()
            assert all(isinstance(c, array) for c in columns)
            assert list(zip(*columns, strict=True)) == sec.records
        reparsed = parse_raw(marshal_raw(raw, raw.byteorder))
        assert [s.records for s in reparsed.line_info] == [s.records for s in raw.line_info]


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize(
    ("field", "value", "message"), [(0, 12, "not a multiple of 8"), (1, 10**6, "string offset")]
)
def test_bad_line_record_in_either_byte_order(
    testdata: Path, order: Literal["little", "big"], field: int, value: int, message: str
) -> None:
    _, spec, ext_bytes, _ = _load(testdata / "core-el.o")
    data = bytearray(marshal_raw(parse_raw(ext_bytes), order))
    end = "<" if order == "little" else ">"
    hdr_len, line_off = (
        struct.unpack_from(end + "I", data, 4)[0],
        struct.unpack_from(end + "I", data, 16)[0],
    )
    # The line_info sub-section: record size, a section header, then records;
    # spoil a field of the third record.
    at = hdr_len + line_off + 4 + 8 + 2 * 16 + 4 * field
    struct.pack_into(end + "I", data, at, value)
    with pytest.raises(BTFError, match=message) as info:
        load_ext_infos(bytes(data), spec)
    assert f"byte offset {at - 4 * field}:" in str(info.value)


@pytest.mark.parametrize("count", [0, 1, 64, 65, 5000])
def test_instruction_offsets_become_slots_in_bulk(count: int) -> None:
    from pybpf.btf.ext.packed import _slots

    # Every multiple of 8 a u32 holds, the largest included, in no order.
    offsets = array(
        "I", [(0xFFFFFFF8 - 8 * (i * 7919 % 100003)) & 0xFFFFFFF8 for i in range(count)]
    )
    if count:
        offsets[0] = 0xFFFFFFF8
    assert list(_slots(offsets)) == [off // 8 for off in offsets]
    assert list(_slots(list(offsets))) == [off // 8 for off in offsets]


@pytest.mark.parametrize("count", [0, 1, 64, 65, 66, 5001])
def test_string_offsets_checked_against_the_table_in_bulk(count: int) -> None:
    from pybpf.btf.ext.packed import _all_below

    values = array("I", [i * 2654435761 % 100_000 for i in range(count)])
    other = array("I", [i * 40503 % 70_000 for i in range(count)])
    top = max(values, default=0)
    for end in (0, 1, top, top + 1, 2**32 - 1, 2**32, 2**40):
        want = all(v < end for v in [*values, *other])
        assert _all_below([values, other], end) == want, (count, end)
        assert _all_below([other, values], end) == want, (count, end)
    for at in {0, count // 2, count - 1} if count else set():
        raised = array("I", values)
        for big in (top + 1, 2**32 - 1):
            raised[at] = big
            for end in (top + 1, big, big + 1):
                want = all(v < end for v in raised)
                assert _all_below([other, raised], end) == want, (count, at, end)
                assert _all_below([raised], end) == want, (count, at, end)


def test_packed_func_infos_decode_no_function_until_built(testdata: Path) -> None:
    # The records' kinds are checked in the raw BTF: a Func becomes an object
    # only when a record naming it is built (an instruction's metadata read).
    from pybpf.btf.ext.packed import load_packed_ext_infos

    data = (testdata / "loader-el.o").read_bytes()
    spec = Spec.from_bytes(section_data(data, ".BTF"))
    infos = load_packed_ext_infos(section_data(data, ".BTF.ext"), spec)
    assert not spec._types  # no Type object made yet
    table = next(iter(infos.func_infos.values()))
    info = table.build(0)
    assert info.func is spec.type_by_id(spec.type_id(info.func))
    name = next(iter(infos.func_infos))
    assert info == load_ext_infos(section_data(data, ".BTF.ext"), spec).func_infos[name][0]


def test_packed_func_info_of_wrong_kind(testdata: Path) -> None:
    from pybpf.btf.ext.packed import load_packed_ext_infos

    _, spec, ext_bytes, _ = _load(testdata / "btf-el.o")
    raw = parse_raw(ext_bytes)
    type_id = raw.func_info[0].records[0][1]
    proto_id = spec.type_id(spec.type_by_id(type_id).type)  # type: ignore[attr-defined]
    at = raw.func_info[0].record_at(0)
    bad = ext_bytes[: at + 4] + struct.pack("<I", proto_id) + ext_bytes[at + 8 :]
    fresh = Spec.from_bytes(section_data((testdata / "btf-el.o").read_bytes(), ".BTF"))
    with pytest.raises(BTFError, match="not a Func"):
        load_packed_ext_infos(bad, fresh)


@pytest.mark.parametrize("kind", ["func_info", "line_info"])
@pytest.mark.parametrize("field", [0, 1])
def test_packed_bad_record_of_a_later_section(testdata: Path, kind: str, field: int) -> None:
    # Records are checked a sub-section at a time; a bad one still gets the
    # message of the section-by-section check, naming its own place.
    from pybpf.btf.ext import packed
    from pybpf.btf.ext.packed import load_packed_ext_infos

    obj = (testdata / "loader-el.o").read_bytes()
    ext_bytes = section_data(obj, ".BTF.ext")
    sections = getattr(parse_raw(ext_bytes), kind)
    assert len(sections) > 2
    at = sections[2].record_at(len(sections[2].records) - 1) + 4 * field
    # A misaligned instruction, or a type (func_info) or string (line_info) past the end.
    bad = bytearray(ext_bytes)
    struct.pack_into("<I", bad, at, 12 if field == 0 else 10**6)
    message = (
        "not a multiple of 8" if field == 0 else ("no type" if kind == "func_info" else "string")
    )
    errors = []
    for batched in (True, False):
        fresh = Spec.from_bytes(section_data(obj, ".BTF"))
        with pytest.MonkeyPatch.context() as mp:
            if not batched:
                mp.setattr(packed, "_all_records", lambda sections: None)
            with pytest.raises(BTFError, match=message) as info:
                load_packed_ext_infos(bytes(bad), fresh)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert f"byte offset {at - 4 * field}:" in errors[0]
