"""CO-RE relocation of compiled objects, checked against libbpf.

- Hand-built targets: the test-only types of core_local.c with one thing
  changed each (a field moved, renamed, missing, a bitfield moved or resized,
  an enum changed, the type gone), expected values worked out by hand from
  libbpf's rules.
- libbpf as the oracle: ``core_oracle.c`` (built here against libbpf-dev) lets
  libbpf relocate the same object, against the host's vmlinux or against a
  hand-built target marshalled to a file, and prints its debug log; every
  "relo #N: patched insn #I ... -> V" and "substituting insn #I" line must be
  what pybpf computes for record N.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.asm import Instructions, OpClass, decode
from pybpf.asm.records import replace
from pybpf.btf import (
    Array,
    Enum,
    Enum64,
    EnumValue,
    Int,
    IntEncoding,
    Member,
    Pointer,
    Spec,
    Struct,
    Type,
    Typedef,
    Union,
    load_kernel_spec,
    load_spec,
)
from pybpf.btf.corerelo import (
    POISON_HELPER_ID,
    COREError,
    COREFixup,
    CORERelocator,
    COREResult,
    compute_fixup,
)
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import CORERelocation, attach_ext_infos, core_relocation, load_ext_infos
from pybpf.btf.marshal import marshal

# -- hand-built targets ----------------------------------------------------

SECTION = "tracepoint/syscalls/sys_enter_getpid"

# Record indices of core_local.c's relocations (see its source, in order).
A_OFF, INNER_Y_OFF, ARR2_X_OFF, NEXT_OFF = 0, 1, 2, 3
U_INT_OFF, E_OFF = 5, 6
B_OFF, B_SIZE, B_LSHIFT, B_SIGNED, B_RSHIFT = 7, 8, 9, 10, 11
C_OFF, C_SIZE, C_LSHIFT, C_SIGNED, C_RSHIFT = 13, 14, 15, 16, 17
ID_LOCAL, T_EXISTS_FIELD, V2_FIELD_EXISTS = 19, 20, 21
ARR_SIZE, U_BYTES_SIZE, ARR3_Y_OFF = 22, 23, 24
ID_TARGET, V2_TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES = 27, 28, 29, 30
T_EXISTS, T_SIZE, E_MATCHES = 31, 32, 33
E_A_EXISTS, E_V2_C_EXISTS, E_B_VALUE, E_V2_B_VALUE, E_ID_TARGET = 34, 35, 36, 37, 38


class Local:
    """core_local-el.o: its spec and its relocation records, in order."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        self.spec = load_spec(self.data)
        ext = load_ext_infos(section_data(self.data, ".BTF.ext"), self.spec)
        self.ext = ext
        self.records: list[CORERelocation] = ext.core_relocations[SECTION]

    def program(self) -> Instructions:
        insns = decode(section_data(self.data, SECTION), self.spec.byte_order)
        attach_ext_infos(insns, self.ext.section(SECTION))
        return insns


@pytest.fixture(scope="module")
def local(testdata: Path) -> Local:
    return Local(testdata / "core_local-el.o")


U32 = Int("unsigned int", 4)
INT = Int("int", 4, IntEncoding.SIGNED)
U64 = Int("unsigned long long", 8)
CHAR = Int("char", 1, IntEncoding.SIGNED)


def build(
    *,
    name: str = "pybpf_test_s",
    drop: frozenset[str] = frozenset(),
    shift: int = 0,
    b: tuple[int, int, Type] = (32, 3, U32),
    c: tuple[int, int, Type] = (35, 5, INT),
    a_type: Type = INT,
    arr_len: int = 4,
    enum: Enum | None = None,
    extra: tuple[Type, ...] = (),
) -> tuple[Spec, Struct]:
    """The target ``struct pybpf_test_s``: by default laid out exactly as the local one.

    ``shift`` moves every member after ``a`` by that many bytes.
    """
    inner = Struct("pybpf_test_inner", 16, [Member("x", U32, 0), Member("y", U64, 64)])
    e = (
        enum
        if enum is not None
        else Enum("pybpf_test_e", 4, [EnumValue("PYBPF_TEST_A", 1), EnumValue("PYBPF_TEST_B", 2)])
    )
    anon = Union("", 4, [Member("u_int", U32, 0), Member("u_bytes", Array(CHAR, 4), 0)])
    s = Struct(name, 112 + shift)
    bits = shift * 8
    members = [
        Member("a", a_type, 0),
        Member("b", b[2], b[0] + bits, b[1]),
        Member("c", c[2], c[0] + bits, c[1]),
        Member("inner", inner, 64 + bits),
        Member("arr", Array(inner, arr_len), 192 + bits),
        Member("next", Pointer(s), 704 + bits),
        Member("", anon, 768 + bits),
        Member("e", e, 800 + bits),
        Member("t", Typedef("pybpf_test_t", INT), 832 + bits),
    ]
    s.members = [m for m in members if m.name not in drop]
    return Spec.from_types([s, e, *extra]), s


def fixups(local: Local, target: Spec) -> dict[int, COREFixup | COREError]:
    out: dict[int, COREFixup | COREError] = {}
    for i, record in enumerate(local.records):
        try:
            out[i] = compute_fixup(record, local.spec, target)
        except COREError as e:
            out[i] = e
    return out


def value(result: COREFixup | COREError) -> int | str:
    if isinstance(result, COREError):
        return "error"
    return "poison" if result.poison else result.target


def test_identical_layout(local: Local) -> None:
    target, s = build()
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[A_OFF] == 0
    assert got[INNER_Y_OFF] == 8 + 8
    assert got[ARR2_X_OFF] == 24 + 2 * 16
    assert got[NEXT_OFF] == 88
    assert got[U_INT_OFF] == 96
    assert got[E_OFF] == 100
    assert (got[B_OFF], got[B_SIZE], got[B_LSHIFT], got[B_SIGNED], got[B_RSHIFT]) == (
        4,
        4,
        64 - 3,
        0,
        64 - 3,
    )
    assert (got[C_OFF], got[C_SIZE], got[C_LSHIFT], got[C_SIGNED], got[C_RSHIFT]) == (
        4,
        4,
        64 - 8,
        1,
        64 - 5,
    )
    assert got[ID_LOCAL] == local.spec.type_id(local.records[ID_LOCAL].type)
    assert got[ID_TARGET] == target.type_id(s)
    assert got[T_EXISTS_FIELD] == 1
    assert got[V2_FIELD_EXISTS] == 0
    assert got[ARR_SIZE] == 64
    assert got[U_BYTES_SIZE] == 4
    assert got[ARR3_Y_OFF] == 24 + 3 * 16 + 8
    assert got[V2_TYPE_EXISTS] == 1
    assert got[TYPE_SIZE] == 112
    assert got[TYPE_MATCHES] == 1
    # pybpf_test_t and the enum exist only as members here, yet as named types.
    assert got[T_EXISTS] == 1
    assert got[T_SIZE] == 4
    assert got[E_MATCHES] == 1
    assert got[E_A_EXISTS] == 1
    assert got[E_V2_C_EXISTS] == 0
    assert got[E_B_VALUE] == 2
    assert got[E_V2_B_VALUE] == 2
    assert got[E_ID_TARGET] == target.type_id(target.type_by_name("pybpf_test_e"))
    # Nothing differs from what clang wrote, except the validated type ids.
    for i, f in fixups(local, target).items():
        assert isinstance(f, COREFixup)
        if f.validate and not f.poison and i not in (V2_FIELD_EXISTS, E_V2_C_EXISTS):
            assert f.target == f.local, i


def test_fields_moved(local: Local) -> None:
    target, _ = build(shift=40)
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[A_OFF] == 0
    assert got[INNER_Y_OFF] == 8 + 40 + 8
    assert got[ARR3_Y_OFF] == 24 + 40 + 3 * 16 + 8
    assert got[U_INT_OFF] == 96 + 40
    assert got[B_OFF] == 44
    assert got[TYPE_SIZE] == 152
    # Moving members keeps the types matching.
    assert got[TYPE_MATCHES] == 1


def test_flavoured_target(local: Local) -> None:
    target, s = build(name="pybpf_test_s___kernel_6_18", shift=8)
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[INNER_Y_OFF] == 8 + 8 + 8
    assert got[ID_TARGET] == target.type_id(s)
    assert got[TYPE_MATCHES] == 1


def test_field_missing(local: Local) -> None:
    target, _ = build(drop=frozenset({"a", "t", "inner"}))
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[A_OFF] == "poison"
    assert got[INNER_Y_OFF] == "poison"
    assert got[T_EXISTS_FIELD] == 0
    assert got[B_OFF] == 4
    # The struct exists and is compatible, but no longer matches.
    assert got[V2_TYPE_EXISTS] == 1
    assert got[TYPE_MATCHES] == 0


def test_field_of_incompatible_type(local: Local) -> None:
    target, _ = build(a_type=Pointer(INT))
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[A_OFF] == "poison"
    assert got[TYPE_MATCHES] == 0
    # A signedness change is compatible for field relocations.
    target, _ = build(a_type=Int("long", 8, IntEncoding.SIGNED))
    assert value(fixups(local, target)[A_OFF]) == 0


def test_array_shorter(local: Local) -> None:
    target, _ = build(arr_len=3)
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[ARR2_X_OFF] == 24 + 2 * 16
    assert got[ARR3_Y_OFF] == "poison"
    assert got[ARR_SIZE] == 48
    assert got[TYPE_MATCHES] == 0


@pytest.mark.parametrize(
    ("bit_offset", "bits", "kind", "expected"),
    [
        # offset, size, lshift, rshift of b (unsigned int b : bits at bit_offset)
        (44, 7, U32, (4, 4, 64 - (44 + 7 - 32), 64 - 7)),
        # Straddles a 4-byte unit: the load widens to 8 bytes at offset 0.
        (30, 4, U32, (0, 8, 64 - 34, 60)),
        # A char-sized bitfield type: 1-byte loads.
        (33, 3, Int("unsigned char", 1), (4, 1, 64 - (33 + 3 - 32), 61)),
        # An unsigned long long bitfield.
        (70, 10, U64, (8, 8, 64 - (70 + 10 - 64), 54)),
    ],
)
def test_bitfield_moved_or_resized(
    local: Local, bit_offset: int, bits: int, kind: Type, expected: tuple[int, int, int, int]
) -> None:
    target, _ = build(b=(bit_offset, bits, kind))
    got = fixups(local, target)
    assert tuple(value(got[i]) for i in (B_OFF, B_SIZE, B_LSHIFT, B_RSHIFT)) == expected
    # Bitfield values are never checked against the instruction, except the right shift.
    assert not any(got[i].validate for i in (B_OFF, B_SIZE, B_LSHIFT))  # type: ignore[union-attr]
    assert got[B_RSHIFT].validate  # type: ignore[union-attr]


def test_bitfield_that_no_load_can_read(local: Local) -> None:
    target, _ = build(b=(60, 7, U32))
    got = fixups(local, target)
    assert isinstance(got[B_OFF], COREError)
    assert "64-bit load" in str(got[B_OFF])


def test_big_endian_shifts(local: Local) -> None:
    target, _ = build(b=(44, 7, U32))
    target.byte_order = "big"
    got = {i: value(f) for i, f in fixups(local, target).items()}
    # (8 - byte_size) * 8 + (bit_offset - byte_offset * 8)
    assert got[B_LSHIFT] == (8 - 4) * 8 + (44 - 32)
    assert got[B_RSHIFT] == 64 - 7


def test_signedness_from_the_target(local: Local) -> None:
    target, _ = build(b=(32, 3, INT), c=(35, 5, U32))
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert (got[B_SIGNED], got[C_SIGNED]) == (1, 0)
    # An int field that became an enum is no longer the same field.
    signed_enum = Enum("pybpf_test_e", 4, [EnumValue("PYBPF_TEST_A", -1)], signed=True)
    target, _ = build(b=(32, 3, signed_enum), enum=signed_enum)
    assert value(fixups(local, target)[B_SIGNED]) == "poison"


def test_enum_changed(local: Local) -> None:
    enum = Enum(
        "pybpf_test_e",
        4,
        [EnumValue("PYBPF_TEST_B", 7), EnumValue("PYBPF_TEST_Z", 9)],
    )
    target, _ = build(enum=enum)
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[E_A_EXISTS] == 0
    assert got[E_B_VALUE] == 7
    assert got[E_V2_B_VALUE] == 7
    assert got[E_MATCHES] == 0  # PYBPF_TEST_A is gone


def test_enum_grew_to_64_bits(local: Local) -> None:
    enum = Enum64(
        "pybpf_test_e",
        8,
        [
            EnumValue("PYBPF_TEST_A", 1 << 40),
            EnumValue("PYBPF_TEST_B", 2),
            EnumValue("PYBPF_TEST_C", 3),
        ],
    )
    target, _ = build(enum=enum)
    got = {i: value(f) for i, f in fixups(local, target).items()}
    assert got[E_A_EXISTS] == 1
    assert got[E_B_VALUE] == 2
    assert got[E_V2_C_EXISTS] == 1
    # Enums match across widths, but not across sizes.
    assert got[E_MATCHES] == 0
    assert got[E_ID_TARGET] == target.type_id(enum)


def test_negative_enumerator(local: Local) -> None:
    enum = Enum("pybpf_test_e", 4, [EnumValue("PYBPF_TEST_B", -2)], signed=True)
    target, _ = build(enum=enum)
    # A 32-bit enumerator is sign-extended to 64 bits, as libbpf does.
    assert value(fixups(local, target)[E_B_VALUE]) == (1 << 64) - 2


def test_type_missing(local: Local) -> None:
    target = Spec.from_types([Int("int", 4, IntEncoding.SIGNED)])
    got = {i: value(f) for i, f in fixups(local, target).items()}
    for i in (A_OFF, INNER_Y_OFF, B_OFF, B_SIZE, B_LSHIFT, B_SIGNED, B_RSHIFT, ARR_SIZE):
        assert got[i] == "poison", i
    for i in (
        T_EXISTS_FIELD,
        V2_FIELD_EXISTS,
        ID_TARGET,
        V2_TYPE_EXISTS,
        TYPE_SIZE,
        TYPE_MATCHES,
        T_EXISTS,
        T_SIZE,
        E_MATCHES,
        E_A_EXISTS,
        E_V2_C_EXISTS,
        E_ID_TARGET,
    ):
        assert got[i] == 0, i
    assert got[E_B_VALUE] == "poison"
    assert got[ID_LOCAL] == local.spec.type_id(local.records[ID_LOCAL].type)


def test_ambiguous_candidates(local: Local) -> None:
    _, s = build()
    _, moved = build(name="pybpf_test_s___2", shift=8)
    target = Spec.from_types([s, moved])
    with pytest.raises(COREError, match="field offset ambiguity"):
        compute_fixup(local.records[INNER_Y_OFF], local.spec, target)
    # Where both agree, two candidates are fine.
    assert value(compute_fixup(local.records[A_OFF], local.spec, target)) == 0
    with pytest.raises(COREError, match="relocation decision ambiguity"):
        compute_fixup(local.records[TYPE_SIZE], local.spec, target)


def test_candidates_pruned_across_relocations(local: Local) -> None:
    # Two flavours: only the first has "a"; once "a" relocates against it, the
    # other flavour is no candidate any more, so the size is not ambiguous.
    _, with_a = build()
    _, without_a = build(name="pybpf_test_s___2", drop=frozenset({"a"}), shift=8)
    target = Spec.from_types([with_a, without_a])
    relocator = CORERelocator(local.spec, target)
    assert value(relocator.fixup(local.records[A_OFF])) == 0
    assert value(relocator.fixup(local.records[TYPE_SIZE])) == 112
    with pytest.raises(COREError, match="ambiguity"):
        compute_fixup(local.records[TYPE_SIZE], local.spec, target)


def test_a_repeated_relocation_is_decided_once(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Programs repeat relocations (each reading the same field): the same type,
    # access path and kind at another instruction get the first one's fixup.
    target, _ = build(shift=8)
    relocator = CORERelocator(local.spec, target)
    first = relocator.fixup(local.records[INNER_Y_OFF])
    again = replace(local.records[INNER_Y_OFF], offset=local.records[INNER_Y_OFF].offset + 64)
    decided = []
    monkeypatch.setattr(relocator, "_fixup", lambda *args: decided.append(args))
    assert relocator.fixup(again) is first
    assert not decided
    assert first == compute_fixup(again, local.spec, target)


def test_anonymous_members_found_wherever_they_are(local: Local) -> None:
    target, s = build()
    # Wrap the anonymous union into another anonymous struct, 8 bytes further.
    anon_union = next(m for m in s.members if not m.name)
    wrapper = Struct("", 16, [Member("pad", U64, 0), Member("", anon_union.type, 64)])
    s.members[s.members.index(anon_union)] = Member("", wrapper, anon_union.offset)
    target = Spec.from_types([s])
    assert value(compute_fixup(local.records[U_INT_OFF], local.spec, target)) == 96 + 8


def test_relocate_patches_the_program(local: Local) -> None:
    target, _ = build(shift=40, drop=frozenset({"a"}))
    insns = local.program()
    slots = insns.slots
    results = CORERelocator(local.spec, target).relocate(insns)
    assert insns.slots == slots
    assert len(results) == len(local.records)
    by_record = {r.relocation.offset: r for r in results}
    a = by_record[local.records[A_OFF].offset]
    assert insns[a.index].is_helper_call and insns[a.index].constant == POISON_HELPER_ID
    y = by_record[local.records[INNER_Y_OFF].offset]
    assert insns[y.index].constant == 8 + 40 + 8


def test_index_cached_and_rebuilt_when_the_spec_grows(local: Local) -> None:
    from pybpf.btf.corerelo.candidates import name_index

    target, _ = build()
    first = name_index(target)
    assert name_index(target) is first
    target.add(Struct("pybpf_test_s___late", 4, [Member("a", INT, 0)]))
    again = name_index(target)
    assert again is not first
    s = local.records[A_OFF].type
    assert len(again.candidates(s)) == 2


# -- libbpf as the oracle --------------------------------------------------

HERE = Path(__file__).resolve().parent
CORE_OBJECTS = ["core", "core_local", "core_match", "kfuncs", "ksyms"]

Decision = tuple[int, int | str]


@pytest.fixture(scope="session")
def kernel_spec() -> Spec:
    """The running kernel's BTF (for ``kernel_files`` tests only)."""
    return load_kernel_spec()


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler for the libbpf oracle")
    exe = tmp_path_factory.mktemp("oracle") / "core_oracle"
    build = subprocess.run(
        [cc, "-O1", "-o", str(exe), str(HERE / "core_oracle.c"), "-lbpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode:
        pytest.skip(f"cannot build the libbpf oracle (libbpf-dev missing?): {build.stderr[-300:]}")
    return exe


def relocate_object(
    path: Path, target: Spec
) -> tuple[dict[str, Instructions], dict[str, list[COREResult]]]:
    """Relocate every section of an object with CO-RE records, as libbpf orders them."""
    data = path.read_bytes()
    spec = load_spec(data)
    ext = load_ext_infos(section_data(data, ".BTF.ext"), spec)
    relocator = CORERelocator(spec, target)
    programs: dict[str, Instructions] = {}
    results: dict[str, list[COREResult]] = {}
    for name in ext.core_relocations:
        insns = decode(section_data(data, name), spec.byte_order)
        attach_ext_infos(insns, ext.section(name))
        results[name] = relocator.relocate(insns)
        programs[name] = insns
    return programs, results


def our_decisions(path: Path, target: Spec) -> dict[tuple[str, int], Decision]:
    programs, results = relocate_object(path, target)
    decisions: dict[tuple[str, int], Decision] = {}
    for name, section_results in results.items():
        insns = programs[name]
        for n, result in enumerate(section_results):
            insn = insns[result.index]
            slot = result.relocation.offset
            if insn.is_helper_call and insn.constant == POISON_HELPER_ID:
                decisions[name, n] = (slot, "poison")
            elif insn.op_class in (OpClass.LDX, OpClass.ST, OpClass.STX):
                decisions[name, n] = (slot, insn.offset)
            elif insn.is_ld_imm64:
                decisions[name, n] = (slot, insn.constant & 0xFFFFFFFFFFFFFFFF)
            else:
                decisions[name, n] = (slot, insn.constant & 0xFFFFFFFF)
    return decisions


_SECTION = re.compile(r"sec '([^']+)': found \d+ CO-RE relocations")
_PROGRAM = re.compile(r"sec '([^']+)': found program '([^']+)' at insn offset (\d+)")
_PATCHED = re.compile(
    r"prog '([^']+)': relo #(\d+): patched insn #(\d+) \((ALU/ALU64|LDX/ST/STX|LDIMM64)\) "
    r"(?:imm|off|imm64) (\d+) -> (\d+)"
)
_POISONED = re.compile(r"prog '([^']+)': relo #(\d+): substituting insn #(\d+)")


# libbpf resolves an object's externs before its CO-RE relocations: an extern this
# kernel lacks (a kfunc, a typed ksym whose variable has no BTF) fails the load first.
_EXTERN_MISSING = re.compile(r"libbpf: (extern \([^)]*\) '[^']+': not found in [^\n]*)")


def run_oracle(oracle: Path, path: Path, target: Path | None = None) -> str:
    args = [str(oracle), str(path)] + ([str(target)] if target is not None else [])
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120).stdout


def libbpf_decisions(
    oracle: Path, path: Path, target: Path | None = None
) -> dict[tuple[str, int], Decision]:
    return parse_decisions(run_oracle(oracle, path, target))


def parse_decisions(out: str) -> dict[tuple[str, int], Decision]:
    starts: dict[str, int] = {}
    section = ""
    decisions: dict[tuple[str, int], Decision] = {}
    for line in out.splitlines():
        if m := _PROGRAM.search(line):
            starts[m.group(2)] = int(m.group(3))
        elif m := _SECTION.search(line):
            section = m.group(1)
        elif m := _PATCHED.search(line):
            value = int(m.group(6))
            if m.group(4) == "ALU/ALU64":
                value &= 0xFFFFFFFF
            slot = starts[m.group(1)] + int(m.group(3))
            decisions[section, int(m.group(2))] = (slot, value)
        elif m := _POISONED.search(line):
            slot = starts[m.group(1)] + int(m.group(3))
            key = (section, int(m.group(2)))
            # A poisoned LD_IMM64 prints its second slot first.
            previous = decisions.get(key)
            if previous is not None:
                slot = min(slot, previous[0])
            decisions[key] = (slot, "poison")
    return decisions


@pytest.mark.kernel
@pytest.mark.kernel_files
@pytest.mark.parametrize("name", CORE_OBJECTS)
def test_same_decisions_as_libbpf(
    name: str, testdata: Path, kernel_spec: Spec, oracle: Path
) -> None:
    path = testdata / f"{name}-el.o"
    out = run_oracle(oracle, path)
    expected = parse_decisions(out)
    if not expected and (missing := _EXTERN_MISSING.search(out)):
        pytest.skip(f"libbpf stops at {name}'s externs before CO-RE here: {missing.group(1)}")
    assert expected, "the oracle printed no CO-RE decisions"
    assert our_decisions(path, kernel_spec) == expected


@pytest.mark.kernel_files
@pytest.mark.parametrize("name", CORE_OBJECTS)
def test_big_endian_objects_relocate_alike(name: str, testdata: Path, kernel_spec: Spec) -> None:
    # clang's code differs between targets; the records and their fixups do not.
    def fixups(path: Path) -> list[tuple[str, tuple[int, ...], object, int, bool]]:
        _, results = relocate_object(path, kernel_spec)
        return [
            (
                r.relocation.type.name,
                r.relocation.accessor,
                r.relocation.kind,
                r.fixup.target,
                r.fixup.poison,
            )
            for section in results.values()
            for r in section
        ]

    little = fixups(testdata / f"{name}-el.o")
    big = fixups(testdata / f"{name}-eb.o")
    assert sorted(set(little), key=repr) == sorted(set(big), key=repr)


@pytest.mark.kernel_files
def test_known_kernel_values(testdata: Path, kernel_spec: Spec) -> None:
    _, results = relocate_object(testdata / "core-el.o", kernel_spec)
    task = kernel_spec.type_by_name("task_struct")
    by_access = {
        (r.relocation.type.name, r.relocation.accessor, r.relocation.kind.name): r.fixup
        for section in results.values()
        for r in section
    }
    pid = next(m for m in task.members if m.name == "pid")  # type: ignore[attr-defined]
    assert by_access["task_struct", (0, 6), "FIELD_BYTE_OFFSET"].target == pid.offset // 8
    assert by_access["task_struct", (0,), "TYPE_ID_TARGET"].target == kernel_spec.type_id(task)
    assert by_access["task_struct", (0,), "TYPE_SIZE"].target == task.size  # type: ignore[attr-defined]
    assert by_access["task_struct___v1", (0, 1), "FIELD_EXISTS"].target == 0
    assert by_access["pybpf_no_such_type", (0,), "TYPE_EXISTS"].target == 0
    assert by_access["pid_type___v1", (1,), "ENUMVAL_EXISTS"].target == 0
    assert by_access["pid_type___v1", (0,), "ENUMVAL_VALUE"].target == 1


HAND_BUILT = {
    "identical": {},
    "moved": {"shift": 40},
    "flavoured": {"name": "pybpf_test_s___kernel_6_18", "shift": 8},
    "missing": {"drop": frozenset({"a", "t", "inner"})},
    "bitfield_moved": {"b": (44, 7, U32)},
    "bitfield_straddles": {"b": (30, 4, U32)},
    "bitfield_signedness": {"b": (32, 3, INT), "c": (35, 5, U32)},
    "array_shorter": {"arr_len": 3},
    "type_missing": {},
    "incompatible_field": {"a_type": Pointer(INT)},
    "enum_grew_to_64_bits": {
        "enum": Enum64(
            "pybpf_test_e", 8, [EnumValue("PYBPF_TEST_A", 1 << 40), EnumValue("PYBPF_TEST_B", 2)]
        )
    },
    "enum_changed": {
        "enum": Enum("pybpf_test_e", 4, [EnumValue("PYBPF_TEST_B", 7), EnumValue("Z", 9)])
    },
}


@pytest.mark.kernel
@pytest.mark.parametrize("variant", HAND_BUILT)
def test_hand_built_targets_same_as_libbpf(
    variant: str, testdata: Path, oracle: Path, tmp_path: Path
) -> None:
    if variant == "type_missing":
        target = Spec.from_types([Int("int", 4, IntEncoding.SIGNED)])
    else:
        target, _ = build(**HAND_BUILT[variant])  # type: ignore[arg-type]
    btf = tmp_path / "target.btf"
    btf.write_bytes(marshal(target))
    path = testdata / "core_local-el.o"
    expected = libbpf_decisions(oracle, path, btf)
    assert len(expected) == 39, "the oracle printed too few CO-RE decisions"
    assert our_decisions(path, load_spec(btf.read_bytes())) == expected


def test_module_targets_only_when_the_kernel_lacks_the_type(local: Local) -> None:
    vmlinux = Spec.from_types([Int("int", 4, IntEncoding.SIGNED)])
    module_types, s = build(shift=8)
    module = Spec(list(module_types), base=vmlinux)
    got = compute_fixup(local.records[INNER_Y_OFF], local.spec, [vmlinux, module])
    assert got.target == 8 + 8 + 8
    assert compute_fixup(
        local.records[ID_TARGET], local.spec, [vmlinux, module]
    ).target == module.type_id(s)
    # A kernel type of that name hides the module's.
    kernel_s = build()[1]
    with_kernel = Spec.from_types([kernel_s])
    module = Spec(list(module_types), base=with_kernel)
    assert compute_fixup(local.records[INNER_Y_OFF], local.spec, [with_kernel, module]).target == 16


def test_module_targets_are_taken_only_when_needed(local: Local) -> None:
    module_types, _ = build(shift=8)
    taken: list[str] = []

    def modules(base: Spec) -> Iterator[Spec]:
        # What core passes: a generator that opens the modules' BTF.
        taken.append("modules")
        yield Spec(list(module_types), base=base)

    kernel_s = build()[1]
    with_kernel = Spec.from_types([kernel_s])
    relocator = CORERelocator(local.spec, itertools.chain([with_kernel], modules(with_kernel)))
    assert relocator.fixup(local.records[INNER_Y_OFF]).target == 16
    assert taken == [] and relocator.targets == (with_kernel,)
    vmlinux = Spec.from_types([Int("int", 4, IntEncoding.SIGNED)])
    relocator = CORERelocator(local.spec, itertools.chain([vmlinux], modules(vmlinux)))
    assert relocator.fixup(local.records[INNER_Y_OFF]).target == 8 + 8 + 8
    assert taken == ["modules"] and len(relocator.targets) == 2


def test_relocate_function_and_errors(local: Local) -> None:
    from pybpf.btf.corerelo import relocate

    target, _ = build()
    insns = local.program()
    before = insns.copy()
    results = relocate(insns, local.spec, target)
    assert len(results) == len(local.records)
    # An identical layout changes nothing that libbpf checks (bitfield offsets
    # and sizes are libbpf's own choice, not necessarily clang's).
    same = [r for r in results if r.fixup.validate and r.fixup.target == r.fixup.local]
    assert len(same) > 20
    for r in same:
        assert insns[r.index] == before[r.index]
    # A record whose type is not in the local spec.
    stray = CORERelocation(Int("int", 4), (0,), local.records[0].kind)
    with pytest.raises(COREError, match="not part of the local spec"):
        compute_fixup(stray, local.spec, target)
    with pytest.raises(ValueError, match="at least one target"):
        CORERelocator(local.spec, [])


def test_deep_copied_programs_relocate_against_the_original_spec(local: Local) -> None:
    import copy

    target, _ = build(shift=8)
    program = copy.deepcopy(local.program())
    relocated = [i for i in program if core_relocation(i) is not None]
    assert local.spec.type_id(local.records[0].type) > 0
    results = CORERelocator(local.spec, target).relocate(program)
    assert len(results) == len(relocated)
    y = next(r for r in results if r.relocation.accessor == (0, 3, 1))
    assert program[y.index].constant == 8 + 8 + 8


def _kernel_like(pid: Type, comm_len: int) -> Spec:
    """A small ``task_struct`` world for core.c, with ``pid`` and ``comm`` changed."""
    u64 = Int("long long unsigned int", 8)
    ulong = Int("long unsigned int", 8)
    se = Struct(
        "sched_entity", 16, [Member("vruntime", u64, 0), Member("sum_exec_runtime", u64, 64)]
    )
    mm = Struct("mm_struct", 8, [Member("total_vm", ulong, 0)])
    task = Struct("task_struct", 256)
    task.members = [
        Member("flags", U32, 0),
        Member("se", se, 64),
        Member("mm", Pointer(mm), 192),
        Member("sched_reset_on_fork", U32, 256, 1),
        Member("sched_contributes_to_load", U32, 257, 1),
        Member("in_execve", U32, 258, 1),
        Member("pid", pid, 320),
        Member("tgid", INT, 384),
        Member("real_parent", Pointer(task), 448),
        Member("comm", Array(CHAR, comm_len), 512),
    ]
    pid_type = Enum(
        "pid_type",
        4,
        [
            EnumValue(n, i)
            for i, n in enumerate(
                ["PIDTYPE_PID", "PIDTYPE_TGID", "PIDTYPE_PGID", "PIDTYPE_SID", "PIDTYPE_MAX"]
            )
        ],
    )
    return Spec.from_types([task, pid_type])


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("pid", "comm_len"),
    [
        (INT, 16),
        # A wider signed pid: direct loads of it may not be resized, so they are poisoned.
        (Int("long int", 8, IntEncoding.SIGNED), 16),
        (Int("short unsigned int", 2), 8),
    ],
)
def test_memory_access_sizes_same_as_libbpf(
    pid: Type, comm_len: int, testdata: Path, oracle: Path, tmp_path: Path
) -> None:
    btf = tmp_path / "target.btf"
    btf.write_bytes(marshal(_kernel_like(pid, comm_len)))
    path = testdata / "core-el.o"
    expected = libbpf_decisions(oracle, path, btf)
    assert len(expected) == 41
    assert our_decisions(path, load_spec(btf.read_bytes())) == expected


def test_fixups_and_results_are_frozen_records() -> None:
    import copy
    import dataclasses
    import pickle

    from pybpf.btf.corerelo import COREFixup, COREResult
    from pybpf.btf.ext.records import CORERelocation, CORERelocKind

    fixup = COREFixup(CORERelocKind.FIELD_BYTE_OFFSET, 8, 16, local_size=4, target_size=4)
    assert fixup == COREFixup(CORERelocKind.FIELD_BYTE_OFFSET, 8, 16, False, True, 4, 4)
    assert fixup != COREFixup(CORERelocKind.FIELD_BYTE_OFFSET, 8, 24, local_size=4, target_size=4)
    assert hash(fixup) == hash(copy.copy(fixup)) and {fixup: 1}[copy.deepcopy(fixup)] == 1
    assert pickle.loads(pickle.dumps(fixup)) == fixup
    assert repr(fixup) == (
        f"COREFixup(kind={CORERelocKind.FIELD_BYTE_OFFSET!r}, local=8, target=16, "
        "poison=False, validate=True, local_size=4, target_size=4, bad_size_change=False)"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        fixup.target = 0  # type: ignore[misc]
    match fixup:
        case COREFixup(kind, local, target):
            assert (kind, local, target) == (CORERelocKind.FIELD_BYTE_OFFSET, 8, 16)
    relocation = CORERelocation(Int("int", 4), (0,), CORERelocKind.TYPE_SIZE)
    result = COREResult(3, relocation, fixup)
    assert result == COREResult(index=3, relocation=relocation, fixup=fixup)
    assert repr(result) == f"COREResult(index=3, relocation={relocation!r}, fixup={fixup!r})"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del result.index  # type: ignore[misc]
    # Records, not dataclasses (defining one costs about a millisecond at every
    # start of a process that loads a CO-RE object), yet dataclasses to the
    # standard library's functions.
    assert "__slots__" in vars(COREFixup) and "__slots__" in vars(COREResult)
    assert [f.name for f in dataclasses.fields(COREResult)] == ["index", "relocation", "fixup"]
    assert dataclasses.replace(fixup, target=24) == COREFixup(
        CORERelocKind.FIELD_BYTE_OFFSET, 8, 24, local_size=4, target_size=4
    )
