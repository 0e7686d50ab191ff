"""The codec, compiled and in Python: the same instructions, bytes and errors.

The compiled codec (``_pybpf_asm_codec``) comes with a compiled pybpf-core;
the Python code is what installs without it use (and ``PYBPF_ASM_CODEC=python``).
Hostile input, as bytes or as instructions, gives the same result or the same
:class:`InstructionError` either way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.asm import Instruction, InstructionError, codec
from pybpf.asm.instruction import DeferredMetadata

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def compiled() -> Iterator[ModuleType]:
    """The compiled codec; skipped where pybpf-core was installed without it."""
    codec._compiled_codec.cache_clear()
    module = codec._compiled_codec()
    if module is None:
        pytest.skip("no compiled codec: pybpf-core absent or built without a C compiler")
    yield module
    codec._compiled_codec.cache_clear()


def both_ways(run: Callable[[], object]) -> dict[str, object]:
    """What ``run`` returns (or the error it raises, as text and offsets) per codec."""
    results: dict[str, object] = {}
    with pytest.MonkeyPatch.context() as m:
        for mode in ("compiled", "python"):
            if mode == "python":
                m.setenv("PYBPF_ASM_CODEC", "python")
            codec._compiled_codec.cache_clear()
            try:
                results[mode] = run()
            except InstructionError as exc:
                results[mode] = ("error", str(exc), exc.offset, exc.index)
    codec._compiled_codec.cache_clear()
    return results


def fields(insns: list[Instruction]) -> list[tuple[object, ...]]:
    """Every field of each instruction, its type and its names included."""
    return [
        (type(i), i.opcode, i.dst, i.src, i.offset, i.constant, i._names is None) for i in insns
    ]


def decoded(data: bytes, byteorder: str) -> Callable[[], object]:
    return lambda: fields(codec.decode_instructions(data, byteorder))


def executable_sections() -> bytes:
    """The executable sections of the little-endian testdata objects."""
    elftools = pytest.importorskip("elftools.elf.elffile")
    code = b""
    for path in sorted((ROOT / "testdata").glob("*-el.o")):
        if path.name == "raw_insns-el.o":
            continue  # words the UAPI lacks, on purpose: neither codec takes them
        with path.open("rb") as f:
            for sec in elftools.ELFFile(f).iter_sections():
                if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & 0x4:
                    code += sec.data()
    return code


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYBPF_ASM_CODEC", "python")
    codec._compiled_codec.cache_clear()
    try:
        assert codec._compiled_codec() is None
        assert codec.decode_instructions(bytes.fromhex("9500000000000000"), "little") == [
            Instruction(0x95)
        ]
    finally:
        codec._compiled_codec.cache_clear()


def test_testdata_programs_decode_and_encode_the_same(compiled: ModuleType) -> None:
    code = executable_sections()
    assert code
    results = both_ways(decoded(code, "little"))
    assert results["compiled"] == results["python"]
    insns = codec.decode_instructions(code, "little")
    for byteorder in ("little", "big"):
        encodings = both_ways(lambda b=byteorder: codec.encode_instructions(insns, b))
        assert encodings["compiled"] == encodings["python"]
    assert codec.encode_instructions(insns, "little") == code


def test_the_compiled_codec_takes_plainly_valid_input_only(compiled: ModuleType) -> None:
    rules = codec._codec_rules()
    mov = bytes.fromhex("b701000005000000")
    assert compiled.decode(mov, True, Instruction, rules) is not None
    assert compiled.decode(bytes.fromhex("ff01000005000000"), True, Instruction, rules) is None
    assert compiled.decode(bytes.fromhex("b70b000005000000"), True, Instruction, rules) is None
    assert compiled.decode(bytes.fromhex("1801000005000000"), True, Instruction, rules) is None
    assert compiled.decode(mov[:7], True, Instruction, rules) is None
    insn = Instruction(0xB7, 1, 0, 0, 5)
    assert compiled.encode([insn], True, Instruction, rules) == mov
    assert compiled.encode((insn,), True, Instruction, rules) is None
    assert compiled.encode([insn, "mov"], True, Instruction, rules) is None
    assert compiled.encode([Instruction(0xB7, 1, 0, 0, 1 << 31)], True, Instruction, rules) is None

    class Fields:
        opcode = dst = src = offset = constant = _names = property(lambda self: 0)

    assert compiled.decode(mov, True, Fields, rules) is None
    assert compiled.encode([insn], True, Fields, rules) is None
    with pytest.raises(ValueError, match="512 bytes"):
        compiled.decode(mov, True, Instruction, rules[:256])


def test_suspects_come_back_for_a_closer_look(compiled: ModuleType) -> None:
    # A byte swap's width and an ALU offset are checked by the Python code.
    swap = bytes.fromhex("d401000010000000") + bytes.fromhex("d401000011000000")
    results = both_ways(decoded(swap, "little"))
    assert results["compiled"] == results["python"]
    assert results["python"][:3] == (  # type: ignore[index]
        "error",
        "byte offset 8: byte swap width must be 16, 32 or 64, not 17",
        8,
    )
    insns, suspects = compiled.decode(swap[:8], True, Instruction, codec._codec_rules())
    assert suspects == [(0, insns[0])]


def test_compiled_instructions_carry_deferred_metadata(compiled: ModuleType) -> None:
    insns = codec.decode_instructions(bytes.fromhex("b701000005000000" * 3), "little")
    table = DeferredMetadata()
    table.add("line", insns, [0, 1, 2], lambda row: f"line {row}")
    table.attach()
    assert [i.get_metadata("line") for i in insns] == ["line 0", "line 1", "line 2"]
    assert insns[1].copy().metadata == {"line": "line 1"}


SEED = bytes.fromhex(
    "b701000005000000"  # r1 = 5
    "18120000040000000000000003000000"  # ld_imm64 map value
    "850000000c000000"  # call helper
    "db21080000000000"  # atomic add
    "d401000020000000"  # le32 r1
    "3f21010000000000"  # signed div
    "bf21010001000000"  # addr_space_cast
    "9500000000000000"  # exit
)


@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, len(SEED)),
    byteorder=st.sampled_from(["little", "big"]),
)
def test_hostile_bytes_decode_the_same(
    compiled: ModuleType, edits: list[tuple[int, int]], cut: int, byteorder: str
) -> None:
    data = bytearray(SEED[:cut])
    for at, value in edits:
        if at < len(data):
            data[at] = value
    results = both_ways(decoded(bytes(data), byteorder))
    assert results["compiled"] == results["python"]
    if results["python"] and not isinstance(results["python"], tuple):
        insns = codec.decode_instructions(bytes(data), byteorder)
        encodings = both_ways(lambda: codec.encode_instructions(insns, byteorder))
        assert encodings["compiled"] == encodings["python"] == bytes(data)


class Opcode(enum.IntEnum):
    LD_IMM64 = 0x18


FIELD_VALUES = st.one_of(
    st.integers(-12, 12),
    st.sampled_from(
        [
            *(0x18, 0x85, 0xB7, 0xDB, 0x7FFF, 0x8000, -0x8001, 1 << 31, -(1 << 31) - 1),
            *((1 << 63) - 1, 1 << 63, (1 << 64) - 1, 1 << 64, -(1 << 63) - 1, 1 << 100),
            *(True, Opcode.LD_IMM64, 1.0, "1", None),
        ]
    ),
)
FIELDS = ("opcode", "dst", "src", "offset", "constant")


@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    program=st.lists(
        st.tuples(
            st.sampled_from([0x18, 0xB7, 0x07, 0x85, 0xDB, 0x95]),
            st.lists(st.tuples(st.sampled_from(FIELDS), FIELD_VALUES), max_size=2),
        ),
        max_size=6,
    ),
    byteorder=st.sampled_from(["little", "big"]),
)
def test_hostile_instructions_encode_the_same(
    compiled: ModuleType, program: list[tuple[int, list[tuple[str, object]]]], byteorder: str
) -> None:
    insns = []
    for op, changes in program:
        insn = Instruction(op, 1, 2, 0, 3)
        for name, value in changes:
            setattr(insn, name, value)
        insns.append(insn)

    def encode() -> object:
        try:
            return codec.encode_instructions(insns, byteorder)
        except (TypeError, ValueError) as exc:  # not InstructionError: a bug either way
            return ("bug", type(exc).__name__)

    results = both_ways(encode)
    assert results["compiled"] == results["python"]
