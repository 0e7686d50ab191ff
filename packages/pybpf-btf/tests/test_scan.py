"""The record scan, compiled and in Python: the same offsets, names and name order, the same errors.

The compiled scan (``_pybpf_btf_scan``) comes with a compiled pybpf-core; the
Python walk is what offline installs use (and ``PYBPF_BTF_SCAN=python``).
Hostile BTF is a BTFError either way, worded the same, and the compiled
functions never read past what they are given.
"""

from __future__ import annotations

import lzma
import struct
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTFError, load_spec, name_order, parse
from pybpf.btf.elfsections import section_data
from pybpf.btf.parse import RawBTF

ROOT = Path(__file__).resolve().parents[3]
VMLINUX = Path("/sys/kernel/btf/vmlinux")
UAPI_BTF = ROOT / "testdata" / "uapi" / "vmlinux.btf.xz"
# Small test blobs go through the compiled scan too, where it is used.
pytestmark = pytest.mark.usefixtures("scan_small_sections")


def info(kind: int, vlen: int = 0, kind_flag: bool = False) -> int:
    return (kind_flag << 31) | (kind << 24) | vlen


def blob(words: list[int], strings: bytes = b"\0int\0", *, order: str = "<") -> bytes:
    types = struct.pack(f"{order}{len(words)}I", *words)
    header = struct.pack(
        f"{order}HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)
    )
    return header + types + strings


@pytest.fixture(params=["compiled", "python"])
def scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test that takes it runs with the compiled scan, then with the Python walk."""
    parse._compiled_scan.cache_clear()
    if request.param == "python":
        monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
        assert parse._compiled_scan() is None
    elif parse._compiled_scan() is None:
        pytest.skip("no compiled scan: pybpf-core absent or built without a C compiler")
    yield request.param
    parse._compiled_scan.cache_clear()


def framing(data: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[object, ...]]:
    """Offsets, packed names and name order of ``data``, per scan."""
    results = {}
    for mode in ("compiled", "python"):
        with monkeypatch.context() as m:
            if mode == "python":
                m.setenv("PYBPF_BTF_SCAN", "python")
            parse._compiled_scan.cache_clear()
            raw = RawBTF(data)
            order = name_order.build(raw)
            results[mode] = (
                list(raw.offsets),
                bytes(raw._packed_names()),
                None if order is None else list(order),
            )
        parse._compiled_scan.cache_clear()
    return results


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
    parse._compiled_scan.cache_clear()
    try:
        assert parse._compiled_scan() is None
        assert isinstance(RawBTF(blob([1, info(1), 4, 0x01000020])).offsets, list)
    finally:
        parse._compiled_scan.cache_clear()


def test_only_large_sections_use_the_compiled_scan(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse, "_SCAN_COMPILED_FROM", 16)
    monkeypatch.setattr(parse, "_small_walks", 0)
    record = [1, info(1), 4, 0x01000020]
    assert isinstance(RawBTF(blob(record * 3)).offsets, list)
    assert isinstance(RawBTF(blob(record * 4)).offsets, array)


def test_small_sections_use_the_compiled_scan_once_many_were_walked(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process reading object after object has paid for loading the module.
    monkeypatch.setattr(parse, "_SCAN_COMPILED_FROM", 16)
    monkeypatch.setattr(parse, "_small_walks", 0)
    small = blob([1, info(1), 4, 0x01000020] * 3)
    walked = [RawBTF(small).offsets for _ in range(parse._SMALL_WALKS_BEFORE_COMPILED)]
    assert all(isinstance(offsets, list) for offsets in walked)
    assert isinstance(RawBTF(small).offsets, array)
    assert list(RawBTF(small).offsets) == walked[0]


def btf_blobs() -> list[tuple[str, bytes]]:
    """Real BTF: every testdata object's .BTF, the committed kernel blob, this kernel's."""
    found = []
    for path in sorted((ROOT / "testdata").glob("*.o")):
        data = path.read_bytes()
        try:
            found.append((path.name, section_data(data, ".BTF")))
        except (ValueError, KeyError):
            continue
    found.append((UAPI_BTF.name, lzma.decompress(UAPI_BTF.read_bytes())))
    if VMLINUX.exists():
        found.append((str(VMLINUX), VMLINUX.read_bytes()))
    return found


@pytest.mark.parametrize(
    ("name", "data"), btf_blobs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_real_btf_frames_the_same(
    name: str, data: bytes, compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = framing(data, monkeypatch)
    assert results["compiled"] == results["python"]
    assert results["compiled"][0], name


def test_foreign_byte_order_frames_the_same(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "<" if sys.byteorder == "big" else ">"
    words = [1, info(1), 4, 0x01000020, 0, info(2), 1, 1, info(8), 2, 0, info(4, 1), 4]
    words += [1, 1, 0]
    results = framing(blob(words, order=other), monkeypatch)
    assert results["compiled"] == results["python"]
    assert results["compiled"][0] == [0, 4, 7, 10]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([1], "type record 1 at offset 24 runs past the end"),
        ([1, info(1)], "type record 1 at offset 24 runs past the end"),
        ([1, info(1), 4], "type record 1 at offset 24 runs past the end"),
        ([1, info(1), 4, 0x01000020, 0], "type record 2 at offset 40 runs past the end"),
        ([1, info(4, 2), 4, 0, 0, 0], "type record 1 at offset 24 runs past the end"),
        ([1, info(4, 0xFFFF), 4], "type record 1 at offset 24 runs past the end"),
        ([0, info(20), 0], "unknown BTF kind 20 at type section offset 24"),
        ([0, info(0), 0], "unknown BTF kind 0 at type section offset 24"),
        ([0, info(31), 0], "unknown BTF kind 31 at type section offset 24"),
        ([0, info(2) | 0x00010000, 0], "reserved info bits set"),
        ([0, info(2) | 0x20000000, 0], "reserved info bits set"),
        ([0, info(2, 1), 0], "PTR with vlen 1 at type section offset 24"),
        ([1, info(12, 3), 1], "FUNC with bad linkage 3 at type section offset 24"),
        ([1, info(1, kind_flag=True), 4, 32], "INT with kind_flag at type section offset 24"),
        ([0, info(2), 0, 0, info(2, 7), 0], "PTR with vlen 7 at type section offset 36"),
    ],
)
def test_hostile_records_fail_the_same(words: list[int], message: str, scan: str) -> None:
    with pytest.raises(BTFError, match=message):
        load_spec(blob(words))


def test_valid_edge_records(scan: str) -> None:
    # FUNC's largest linkage, kind_flag where allowed, an empty type section.
    words = [1, info(13, 1), 0, 0, 0, 1, info(12, 2), 1, 0, info(4, kind_flag=True), 0]
    raw = RawBTF(blob(words))
    assert list(raw.offsets) == [0, 5, 8]
    assert bytes(raw._packed_names()) == array("I", [1, 1, 0]).tobytes()
    assert RawBTF(blob([])).count == 0


def test_index_rejects_what_it_cannot_read(compiled: ModuleType) -> None:
    rules = parse._KIND_RULES
    with pytest.raises(ValueError, match="whole number of words"):
        compiled.index(b"\0" * 13, rules)
    with pytest.raises(ValueError, match="kind rules"):
        compiled.index(b"", rules[:-2])
    # A kind whose records would be shorter than their header: the walk could not move on.
    stuck = struct.pack("=4H", 1, 0, 0, 0) + rules[8:]
    with pytest.raises(ValueError, match="kind 0 has 1 words"):
        compiled.index(b"\0" * 12, stuck)
    with pytest.raises(TypeError):
        compiled.index("not a buffer", rules)
    with pytest.raises(TypeError):
        compiled.index(b"")
    assert compiled.index(b"", rules) == (b"", b"")
    # A vlen past the end, of the largest record a kind can have.
    huge = array("I", [0, info(13, 0xFFFF), 0]).tobytes()
    assert compiled.index(huge, rules) is None


def test_index_reads_unaligned_words(compiled: ModuleType) -> None:
    words = array("I", [7, info(1), 4, 0x01000020, 9, info(2), 1]).tobytes()
    view = memoryview(b"x" + words)[1:]
    offsets, names = compiled.index(view, parse._KIND_RULES)
    assert array("I", offsets).tolist() == [0, 4]
    assert array("I", names).tolist() == [7, 9]


def packed(values: list[int]) -> bytes:
    return array("I", values).tobytes()


def test_name_order_rejects_what_it_cannot_read(compiled: ModuleType) -> None:
    strings = b"\0b\0a\0ab\0"
    assert compiled.name_order(strings, packed([1, 3, 0, 5, 3])) == packed([1, 4, 3, 0])
    assert compiled.name_order(strings, packed([2])) is None  # the NUL ending "b"
    assert compiled.name_order(strings, packed([6])) is None  # inside "ab"
    assert compiled.name_order(strings, packed([len(strings)])) is None
    assert compiled.name_order(strings, packed([0xFFFFFFFF])) is None
    assert compiled.name_order(strings, b"") == b""
    with pytest.raises(ValueError, match="NUL-terminated"):
        compiled.name_order(b"\0a", packed([0]))
    with pytest.raises(ValueError, match="NUL-terminated"):
        compiled.name_order(b"", b"")
    with pytest.raises(ValueError, match="NUL-terminated"):
        compiled.name_order(strings, b"\0\0\0")


def test_name_order_sorts_bytewise(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Long names sharing their first 8 bytes, high bytes, names one a prefix of another.
    names = [
        "trace_event_raw_b",
        "trace_event_raw_a",
        "trace_ev",
        "trace_eva",
        "trace_e",
        "\xff\xfe",
        "Z",
        "trace_event_raw_a",
        "a" * 300,
        "a" * 299 + "b",
    ]
    table = b"\0" + b"".join(n.encode("latin-1") + b"\0" for n in names)
    starts = [0]
    for n in names:
        starts.append(starts[-1] + len(n) + 1)
    words: list[int] = []
    for start in [1 + s for s in starts[:-1]] + [0]:
        words += [start, info(8), 0]
    results = framing(blob(words, table), monkeypatch)
    assert results["compiled"] == results["python"]


record = st.one_of(
    st.tuples(st.integers(0, 40), st.integers(0, 31), st.integers(0, 4), st.booleans()).map(
        lambda t: (
            [t[0], info(t[1], t[2], t[3]), 0]
            + [0] * (3 * t[2] if t[1] in (4, 5, 15, 19) else 2 * t[2] if t[1] in (6, 13) else 0)
            + ([0] if t[1] in (1, 14, 17) else [0, 0, 0] if t[1] == 3 else [])
        )
    ),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=4),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(record, max_size=12), cut=st.integers(0, 3))
def test_random_sections_fail_or_frame_the_same(
    records: list[list[int]], cut: int, compiled: ModuleType
) -> None:
    words = [w for r in records for w in r]
    words = words[: max(0, len(words) - cut)]
    types = array("I", words)
    found = compiled.index(memoryview(types), parse._KIND_RULES)
    try:
        expected = parse._index(types, memoryview(types)[1:], 0)
    except BTFError:
        assert found is None
        return
    assert found is not None
    assert array("I", found[0]).tolist() == expected
    assert array("I", found[1]).tolist() == [words[o] for o in expected]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strings=st.lists(
        st.binary(min_size=0, max_size=12).map(lambda b: b.replace(b"\0", b"")), max_size=10
    ),
    picks=st.lists(st.integers(0, 80), max_size=20),
)
def test_random_name_orders_are_the_same(
    strings: list[bytes], picks: list[int], compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = b"\0" + b"".join(s + b"\0" for s in strings)
    words: list[int] = []
    for pick in picks:
        words += [pick % len(table), info(8), 0]
    try:
        results = framing(blob(words, table), monkeypatch)
    except BTFError:
        return
    assert results["compiled"] == results["python"]


def _python_strings(table: bytes, base: int) -> dict[int, str]:
    """The string table decoded as the Python decoder does it, for the compiled one to match."""
    from pybpf.btf.parse_types import Decoder

    words = array("I", [0, info(1), 4, 0x20])
    data = blob(list(words), b"\0" + table if not table.startswith(b"\0") else table)
    raw = RawBTF(data)
    assert parse._compiled_scan() is None
    decoder = Decoder(raw, None)  # type: ignore[arg-type]
    decoder._decode_all_strings()
    return {k: v for k, v in decoder.names.items() if k != 0 or base == 0}


@pytest.mark.parametrize(
    "table",
    [
        b"\0",
        b"\0int\0char\0",
        b"\0caf\xc3\xa9\0\xff\xfe bad\0half \xe2\x82\0",
        b"\0" + b"x" * 70000 + b"\0y\0",
        b"\0a\0\0b\0",
    ],
    ids=["empty", "ascii", "utf-8 and bad bytes", "long", "empty strings"],
)
def test_compiled_strings_are_the_python_decoding(
    compiled: ModuleType, table: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
    parse._compiled_scan.cache_clear()
    expected = _python_strings(table, 0)
    assert compiled.strings(table, 0) == expected
    assert compiled.strings(bytearray(table), 0) == expected
    assert compiled.strings(memoryview(table), 7) == {k + 7: v for k, v in expected.items()}


def test_compiled_strings_of_hostile_tables(compiled: ModuleType) -> None:
    # What follows the last NUL is no string; no NUL at all, nothing.
    assert compiled.strings(b"ab\0cd", 0) == {0: "ab"}
    assert compiled.strings(b"abc", 0) == {}
    assert compiled.strings(b"", 1 << 40) == {}
    most = sys.maxsize
    assert compiled.strings(b"a\0\0", most) == {most: "a", most + 2: ""}
    with pytest.raises(TypeError):
        compiled.strings("text", 0)
    with pytest.raises(ValueError, match="negative"):
        compiled.strings(b"\0", -1)
    with pytest.raises(OverflowError):
        compiled.strings(b"\0", most + 1)


@pytest.mark.parametrize("mode", ["compiled", "python"])
def test_small_blobs_use_the_compiled_strings_once_the_scan_is_in_use(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pybpf.btf.parse_types import Decoder

    parse._compiled_scan.cache_clear()
    if mode == "python":
        monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
    elif parse._compiled_scan() is None:
        pytest.skip("no compiled scan: pybpf-core absent or built without a C compiler")
    monkeypatch.setattr(parse, "_SCAN_COMPILED_FROM", 1 << 20)
    monkeypatch.setattr(parse, "_small_walks", parse._SMALL_WALKS_BEFORE_COMPILED)
    raw = RawBTF(blob([0, info(1), 4, 0x20], b"\0caf\xc3\xa9\0\xff\0"))
    assert (parse._compiled_scan_for(len(raw.words)) is None) == (mode == "python")
    decoder = Decoder(raw, None)  # type: ignore[arg-type]
    decoder._decode_all_strings()
    assert decoder.names == {0: "", 1: "café", 7: "\ufffd"}
    parse._compiled_scan.cache_clear()


def _xxh64(data: bytes) -> int:
    """XXH64 with seed 0, from its specification: what the compiled ``checksum`` must give."""
    p1, p2, p3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
    p4, p5, mask = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5, (1 << 64) - 1

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (64 - r))) & mask

    def round_(acc: int, lane: int) -> int:
        return (rotl((acc + lane * p2) & mask, 31) * p1) & mask

    def word(at: int, size: int) -> int:
        return int.from_bytes(data[at : at + size], "little")

    at, size = 0, len(data)
    if size >= 32:
        lanes = [(p1 + p2) & mask, p2, 0, (-p1) & mask]
        while size - at >= 32:
            lanes = [round_(lane, word(at + 8 * i, 8)) for i, lane in enumerate(lanes)]
            at += 32
        h = sum(rotl(lane, r) for lane, r in zip(lanes, (1, 7, 12, 18), strict=True)) & mask
        for lane in lanes:
            h = ((h ^ round_(0, lane)) * p1 + p4) & mask
    else:
        h = p5
    h = (h + size) & mask
    while size - at >= 8:
        h = (rotl(h ^ round_(0, word(at, 8)), 27) * p1 + p4) & mask
        at += 8
    if size - at >= 4:
        h = (rotl(h ^ ((word(at, 4) * p1) & mask), 23) * p2 + p3) & mask
        at += 4
    for byte in data[at:]:
        h = (rotl(h ^ ((byte * p5) & mask), 11) * p1) & mask
    for shift, prime in ((33, p2), (29, p3)):
        h = ((h ^ (h >> shift)) * prime) & mask
    return h ^ (h >> 32)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Published XXH64 values (seed 0).
        (b"", 0xEF46DB3751D8E999),
        (b"a", 0xD24EC4F1A98C6E5B),
        (b"abc", 0x44BC2CF5AD770999),
    ],
)
def test_checksum_is_xxh64(data: bytes, expected: int, compiled: ModuleType) -> None:
    assert _xxh64(data) == expected
    assert compiled.checksum(data) == expected


def test_checksum_agrees_with_the_specification_at_every_tail_length(compiled: ModuleType) -> None:
    data = bytes(range(256)) * 3
    for size in (*range(70), 255, 256, 257, 767, 768):
        assert compiled.checksum(data[:size]) == _xxh64(data[:size]), size
        assert compiled.checksum(memoryview(data)[:size]) == _xxh64(data[:size]), size


def test_checksum_takes_only_buffers(compiled: ModuleType) -> None:
    with pytest.raises(TypeError):
        compiled.checksum("text")
    with pytest.raises(BufferError):
        compiled.checksum(memoryview(bytes(8))[::2])
