"""USDT offline: notes, argument specs and libbpf's spec records, on real binaries."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import Array, Int, Member, Struct
from pybpf.btf import Spec as BTFSpec
from pybpf.elf import ELFError, load_collection_spec
from pybpf.elf.binary import Binary
from pybpf.link import (
    Executable,
    USDTArgKind,
    USDTArgument,
    USDTArgumentError,
    USDTProbeNotFoundError,
    encode_usdt_spec,
    parse_usdt_args,
    read_usdt_probes,
)

elftools = pytest.importorskip("elftools.elf.elffile")

PYTHON = Path("/usr/bin/python3")
needs_python_probes = pytest.mark.skipif(
    not PYTHON.exists() or shutil.which("readelf") is None,
    reason="needs /usr/bin/python3 and readelf",
)


def _readelf_probes(path: Path) -> list[dict[str, str]]:
    text = subprocess.run(
        ["readelf", "-n", str(path)], check=True, capture_output=True, text=True
    ).stdout
    probes = []
    for block in text.split("NT_STAPSDT (SystemTap probe descriptors)")[1:]:
        fields = dict(re.findall(r"^\s+(\w+): ?(.*)$", block, re.MULTILINE))
        loc = re.search(r"Location: (\S+), Base: (\S+), Semaphore: (\S+)", block)
        assert loc is not None
        fields.update(Location=loc[1], Base=loc[2], Semaphore=loc[3])
        probes.append(fields)
    return probes


def _file_offset(path: Path, vaddr: int) -> int:
    elf = elftools.ELFFile(io.BytesIO(path.read_bytes()))
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= vaddr < seg["p_vaddr"] + seg["p_memsz"]:
            return int(vaddr - seg["p_vaddr"] + seg["p_offset"])
    raise AssertionError(f"no segment holds {vaddr:#x}")


@needs_python_probes
def test_python3_probes_match_readelf() -> None:
    probes = Executable(PYTHON).usdt_probes()
    expected = _readelf_probes(PYTHON)
    if not expected:
        pytest.skip("this /usr/bin/python3 has no USDT probes")
    assert len(probes) == len(expected)
    for probe, want in zip(probes, expected, strict=True):
        assert (probe.provider, probe.name) == (want["Provider"], want["Name"])
        assert probe.address == int(want["Location"], 16)
        assert probe.offset == _file_offset(PYTHON, probe.address)
        assert probe.semaphore_address == int(want["Semaphore"], 16)
        if probe.semaphore_address:
            assert probe.semaphore_offset == _file_offset(PYTHON, probe.semaphore_address)
        assert probe.arg_spec == want.get("Arguments", "")
        assert len(probe.args) == len(probe.arg_spec.split())


@needs_python_probes
def test_python3_function_entry() -> None:
    exe = Executable(PYTHON)
    try:
        (entry,) = exe.usdt_probe_sites("python", "function__entry")
    except USDTProbeNotFoundError:
        pytest.skip("this /usr/bin/python3 has no function__entry probe")
    assert entry.semaphore_offset > 0
    # filename, function name (char *), line number (int).
    sizes = [(a.size, a.signed) for a in entry.args]
    assert sizes == [(8, False), (8, False), (4, True)]


def test_missing_probe_is_a_lookup_error(native: Path) -> None:
    exe = Executable(native / "target")
    with pytest.raises(LookupError, match=r"test:nope not found in .*target"):
        exe.usdt_probe_sites("test", "nope")


REG, DEREF, CONST = USDTArgKind.REG, USDTArgKind.REG_DEREF, USDTArgKind.CONST


def test_built_probe(native: Path) -> None:
    exe = Executable(native / "target")
    (site,) = exe.usdt_probe_sites("test", "traced")
    binary = exe.binary
    probes_section = binary.section(".probes")
    assert probes_section is not None
    assert site.semaphore_offset == probes_section.offset
    assert site.semaphore_address == probes_section.addr
    # The nop the probe marks is the first instruction of traced().
    assert site.offset == exe.symbol_offset("traced")
    assert site.arg_spec == "-4@%edi 8@-16(%rbp) -4@$5"
    assert [a.kind for a in site.args] == [
        USDTArgKind.REG,
        USDTArgKind.REG_DEREF,
        USDTArgKind.CONST,
    ]


def test_prelink_base_adjustment(native: Path) -> None:
    """A note written when .stapsdt.base was elsewhere is moved by the same distance."""
    data = bytearray((native / "target").read_bytes())
    binary = Binary(bytes(data))
    notes = binary.section(".note.stapsdt")
    assert notes is not None
    (note,) = binary.notes(notes)
    desc = notes.offset + note.offset + 12 + 8  # header, "stapsdt\0"
    loc, base, _ = struct.unpack_from("<QQQ", data, desc)
    struct.pack_into("<Q", data, desc + 8, base - 0x10)
    (moved,) = read_usdt_probes(Binary(bytes(data)))
    assert moved.address == loc + 0x10
    # A site that lands outside executable code is refused.
    struct.pack_into("<Q", data, desc + 8, base + 0x100000)
    with pytest.raises(ELFError, match=r"test:traced.*no loadable segment"):
        read_usdt_probes(Binary(bytes(data)))


@needs_python_probes
def test_a_broken_site_only_blocks_its_own_probe(tmp_path: Path) -> None:
    """As in libbpf, only the sites of the probe asked for must be placeable."""
    data = bytearray(PYTHON.read_bytes())
    binary = Binary(bytes(data))
    notes = binary.section(".note.stapsdt")
    assert notes is not None
    first, *rest = read_usdt_probes(binary)
    if not rest:
        pytest.skip("needs two probes")
    note = binary.notes(notes)[0]
    desc = notes.offset + note.offset + 12 + 8
    struct.pack_into("<Q", data, desc, 0xDEAD0000_00000000)  # the site's address
    copy = tmp_path / "python3"
    copy.write_bytes(bytes(data))
    exe = Executable(copy)
    with pytest.raises(ELFError, match=f"{first.provider}:{first.name}"):
        exe.usdt_probes()
    with pytest.raises(ELFError):
        exe.usdt_probe_sites(first.provider, first.name)
    other = next(p for p in rest if (p.provider, p.name) != (first.provider, first.name))
    assert other in exe.usdt_probe_sites(other.provider, other.name)


def test_semaphore_in_code_is_refused(native: Path) -> None:
    data = bytearray((native / "target").read_bytes())
    binary = Binary(bytes(data))
    notes = binary.section(".note.stapsdt")
    assert notes is not None
    desc = notes.offset + binary.notes(notes)[0].offset + 12 + 8
    loc = struct.unpack_from("<Q", data, desc)[0]
    struct.pack_into("<Q", data, desc + 16, loc)
    with pytest.raises(ELFError, match="executable segment holds its semaphore"):
        read_usdt_probes(Binary(bytes(data)))


def test_no_notes_no_probes(testdata: Path) -> None:
    assert read_usdt_probes(Binary((testdata / "loader-el.o").read_bytes())) == []


def test_unlinked_objects_have_no_addresses_yet(native: Path) -> None:
    with pytest.raises(ELFError, match="ELF type 1"):
        read_usdt_probes(Binary((native / "a.o").read_bytes()))


#: System libraries that carry USDT probes in some distributions' builds:
#: glibc's (Fedora, Ubuntu) and libstdc++'s exception probes (Debian too).
_PROBED_LIBRARIES = ("libc.so.6", "libstdc++.so.6")


def test_a_system_librarys_probes_are_found_through_its_name() -> None:
    looked = []
    for name in _PROBED_LIBRARIES:
        try:
            exe = Executable(name)
        except FileNotFoundError:
            looked.append(f"no {name}")
            continue
        probes = exe.usdt_probes()
        if probes:
            break
        looked.append(f"{name} has no USDT probes")
    else:
        pytest.skip("; ".join(looked))
    for p in probes:
        assert p.offset > 0 and exe.binary.segment_at(p.address) is not None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("-4@%edi", [(REG, 0, "edi", 112, 4, True, 32)]),
        ("8@%rax", [(REG, 0, "rax", 80, 8, False, 0)]),
        ("8@-16(%rbp)", [(DEREF, -16, "rbp", 32, 8, False, 0)]),
        ("-4@112(%rsp)", [(DEREF, 112, "rsp", 152, 4, True, 32)]),
        ("8@(%rsp)", [(DEREF, 0, "rsp", 152, 8, False, 0)]),
        ("-4@$5", [(CONST, 5, None, 0, 4, True, 32)]),
        ("2@$-3", [(CONST, -3, None, 0, 2, False, 48)]),
        ("1@%r8b -2@%ax", [(REG, 0, "r8b", 72, 1, False, 56), (REG, 0, "ax", 80, 2, True, 48)]),
        ("  8@%rip  ", [(REG, 0, "rip", 128, 8, False, 0)]),
        ("", []),
    ],
)
def test_parse_args(spec: str, expected: list[tuple[object, ...]]) -> None:
    got = parse_usdt_args(spec)
    assert [
        (a.kind, a.value_offset, a.register, a.register_offset, a.size, a.signed, a.bitshift)
        for a in got
    ] == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("8@(%rdi,%xmm1,8)", "unknown register 'xmm1'"),
        ("8@%xmm0", "unknown register 'xmm0'"),
        ("3@%eax", "unsupported size 3"),
        ("8@rax", "unrecognized argument"),
        (" ".join(["8@%rax"] * 13), "more than 12 arguments"),
    ],
)
def test_bad_args(spec: str, message: str) -> None:
    with pytest.raises(USDTArgumentError, match=re.escape(message)) as info:
        parse_usdt_args(spec)
    assert isinstance(info.value, ValueError) and spec in str(info.value)


def test_other_machines_are_refused() -> None:
    with pytest.raises(USDTArgumentError, match="machine 183"):
        parse_usdt_args("8@x0", machine=183)


ARGS = parse_usdt_args("-4@%edi 8@-16(%rbp) -4@$-5 1@%al")


@pytest.mark.parametrize("order", ["el", "eb"])
def test_encoding_through_the_object_btf(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"usdt-{order}.o")
    byte_order = "little" if order == "el" else "big"
    assert spec.types is not None
    via_btf = encode_usdt_spec(ARGS, cookie=0xDEADBEEF, types=spec.types, byte_order=byte_order)
    builtin = encode_usdt_spec(ARGS, cookie=0xDEADBEEF, byte_order=byte_order)
    assert via_btf == builtin
    assert len(via_btf) == spec.maps["__bpf_usdt_specs"].value_size


def test_builtin_layout_field_by_field() -> None:
    raw = encode_usdt_spec(ARGS, cookie=42)
    first = struct.unpack_from("<QIhbb", raw, 0)
    assert first == (0, int(USDTArgKind.REG), 112, 1, 32)
    second = struct.unpack_from("<QIhbb", raw, 16)
    assert second == ((-16) & (2**64 - 1), int(USDTArgKind.REG_DEREF), 32, 0, 0)
    third = struct.unpack_from("<QIhbb", raw, 32)
    assert third == ((-5) & (2**64 - 1), int(USDTArgKind.CONST), 0, 1, 32)
    assert struct.unpack_from("<Qh", raw, 192) == (42, 4)


def test_too_many_args_to_encode() -> None:
    arg = USDTArgument(USDTArgKind.REG, 0, "rax", 80, 8, False, 0)
    with pytest.raises(USDTArgumentError, match="13 arguments"):
        encode_usdt_spec([arg] * 13)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_corrupt_notes_are_elf_errors(native: Path, data: st.DataObject) -> None:
    seed = (native / "target").read_bytes()
    notes = Binary(seed).section(".note.stapsdt")
    assert notes is not None
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        at = notes.offset + data.draw(st.integers(0, notes.size - 1))
        buf[at] = data.draw(st.integers(0, 255))
    try:
        probes = read_usdt_probes(Binary(bytes(buf)))
    except ELFError:
        return
    for p in probes:
        with contextlib.suppress(USDTArgumentError):
            encode_usdt_spec(p.args)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1@-96(%rbp,%rax,8)", (-96, "rbp", 32, "rax", 80, 3, 1, False)),
        ("-2@(%rdi,%rcx,2)", (0, "rdi", 112, "rcx", 88, 1, 2, True)),
        ("4@16(%rsp,%r8)", (16, "rsp", 152, "r8", 72, 0, 4, False)),
        ("8@(%rbx,%rdx)", (0, "rbx", 40, "rdx", 96, 0, 8, False)),
    ],
)
def test_parse_scale_index_base(spec: str, expected: tuple[object, ...]) -> None:
    (a,) = parse_usdt_args(spec)
    assert a.kind == USDTArgKind.SIB
    got = (a.value_offset, a.register, a.register_offset, a.index_register)
    got += (a.index_register_offset, a.scale_bitshift, a.size, a.signed)
    assert got == expected


def test_bad_scale() -> None:
    with pytest.raises(USDTArgumentError, match="scale 3 is not 1, 2, 4 or 8"):
        parse_usdt_args("8@(%rdi,%rax,3)")


def _libbpf_1_7_layout(old: BTFSpec) -> BTFSpec:
    """The object's BTF with libbpf 1.7's struct __bpf_usdt_arg_spec (little-endian)."""
    spec = old.type_by_name("__bpf_usdt_spec", Struct)
    assert isinstance(spec, Struct)
    array = spec.members[0].type
    assert isinstance(array, Array)
    arg = array.type
    assert isinstance(arg, Struct)
    by_name = {m.name: m for m in arg.members}
    u16, u8 = Int("unsigned short", 2), Int("unsigned char", 1)
    members = [
        Member("val_off", by_name["val_off"].type, 0),
        Member("arg_type", by_name["arg_type"].type, 64, 8),
        Member("idx_reg_off", u16, 72, 12),
        Member("scale_bitshift", u16, 84, 4),
        Member("__reserved", u8, 88, 8),
        *(Member(n, by_name[n].type, by_name[n].offset) for n in ("reg_off", "arg_signed")),
        Member("arg_bitshift", by_name["arg_bitshift"].type, by_name["arg_bitshift"].offset),
    ]
    new_arg = Struct("__bpf_usdt_arg_spec", arg.size, members)
    new = Struct(
        "__bpf_usdt_spec",
        spec.size,
        [Member("args", Array(new_arg, array.nelems), 0), *spec.members[1:]],
    )
    return BTFSpec.from_types([new])


def test_scale_index_base_needs_libbpf_1_7_layout(testdata: Path) -> None:
    old = load_collection_spec(testdata / "usdt-el.o").types
    assert old is not None
    args = parse_usdt_args("-4@%edi 1@-96(%rbp,%rax,8)")
    with pytest.raises(USDTArgumentError, match=r"libbpf 1\.7"):
        encode_usdt_spec(args, types=old)
    with pytest.raises(USDTArgumentError, match=r"libbpf 1\.7"):
        encode_usdt_spec(args)
    new = _libbpf_1_7_layout(old)
    raw = encode_usdt_spec(args, cookie=9, types=new)
    # Non-SIB arguments keep the historical layout.
    assert raw[:16] == encode_usdt_spec(args[:1])[:16]
    val_off, arg_type, packed, reserved, reg_off, signed, shift = struct.unpack_from(
        "<QBHBhbb", raw, 16
    )
    assert (val_off, arg_type, reserved) == ((-96) & (2**64 - 1), USDTArgKind.SIB, 0)
    assert (packed & 0xFFF, packed >> 12) == (80, 3)
    assert (reg_off, signed, shift) == (32, 0, 56)
    assert struct.unpack_from("<Qh", raw, 192) == (9, 2)
