"""The raw and JSON dumps made by the compiled scan's ``dump`` equal those made in Python.

Where pybpf-core's compiled scan is installed, :mod:`pybpf.btf.raw_records`
has it make each batch of text; a batch it declines (names it cannot copy as
they are, types of the base) is made in Python. Either way, and with
``PYBPF_BTF_SCAN=python``, the text is the same, and so are the errors.
"""

from __future__ import annotations

import struct
from array import array
from pathlib import Path
from types import ModuleType

import pytest

from pybpf.btf import BTFError, Int, Pointer, Spec, load_spec, raw_records
from pybpf.btf import parse as btf_parse
from pybpf.btf.marshal import marshal
from pybpf.btf.parse import RawBTF

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def _dumps(data: bytes, base: Spec | None = None) -> tuple[str, str]:
    """The raw text and the JSON text of ``data``, or the error's message."""
    try:
        raw = "".join(text for _, text in raw_records.record_text(load_spec(data, base=base)) or ())
    except BTFError as e:
        raw = f"BTFError: {e}"
    try:
        doc = "".join(raw_records.record_json(load_spec(data, base=base)) or ())
    except BTFError as e:
        doc = f"BTFError: {e}"
    return raw, doc


def _both_ways(
    data: bytes, monkeypatch: pytest.MonkeyPatch, base: Spec | None = None
) -> tuple[tuple[str, str], tuple[str, str]]:
    """``_dumps`` with the compiled scan, then with the Python code alone."""
    btf_parse._compiled_scan.cache_clear()
    compiled = _dumps(data, base)
    with monkeypatch.context() as m:
        m.setenv("PYBPF_BTF_SCAN", "python")
        btf_parse._compiled_scan.cache_clear()
        python = _dumps(data, base)
    btf_parse._compiled_scan.cache_clear()
    return compiled, python


def _blob(records: list[list[int]], strings: bytes) -> bytes:
    words = [w for record in records for w in record]
    types = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def _info(kind: int, vlen: int = 0, kind_flag: int = 0) -> int:
    return (kind_flag << 31) | (kind << 24) | vlen


# Names at these offsets of STRINGS; QUOTED needs JSON escapes, NT starts inside "int".
STRINGS = b'\0int\0s\0a\0b\0e\0V\0f\0fp\0v\0.data\0tag\0fl\0td\0big\0q"\\\x01\x7f\t\0'
INT, S, A, B, E, V, F, FP, VAR, DATA, TAG, FL, TD, BIG, QUOTED = (
    STRINGS.index(b"\0" + name + b"\0") + 1
    for name in (
        b"int", b"s", b"a", b"b", b"e", b"V", b"f", b"fp", b"v", b".data", b"tag", b"fl",
        b"td", b"big", b'q"\\\x01\x7f\t',
    )
)  # fmt: skip
NT = INT + 1

# Every kind, with the edge values each prints differently.
EVERY_KIND = [
    [INT, _info(1), 4, (1 << 24) | 32],  # 1: SIGNED
    [NT, _info(1), 1, (8 << 24) | (3 << 16) | 5],  # 2: an encoding of no name
    [0, _info(2), 1],  # 3: PTR
    [0, _info(3), 0, 1, 1, 7],  # 4: ARRAY
    [S, _info(4, 2, 1), 8, A, 1, (3 << 24) | 5, B, 1, 32],  # 5: bitfields
    [0, _info(5, 1), 4, A, 1, 0x0100_0008],  # 6: no kind_flag: the offset as it is
    [E, _info(6, 2, 1), 4, V, 0xFFFF_FFFF, A, 5],  # 7: signed
    [E, _info(6, 1), 4, V, 0xFFFF_FFFF],  # 8: unsigned
    [F, _info(7, 0, 1), 0],  # 9: FWD union
    [F, _info(7), 0],  # 10: FWD struct
    [TD, _info(8), 1],  # 11
    [0, _info(9), 1],  # 12
    [0, _info(10), 1],  # 13
    [0, _info(11), 3],  # 14
    [0, _info(13, 2), 1, A, 1, 0, 0],  # 15: FUNC_PROTO, variadic
    [FP, _info(12, 1), 15],  # 16: global FUNC
    [VAR, _info(14), 1, 2],  # 17: extern VAR
    [VAR, _info(14), 1, 7],  # 18: a linkage of no name
    [DATA, _info(15, 2), 8, 17, 0, 4, 18, 4, 4],  # 19
    [FL, _info(16), 8],  # 20
    [TAG, _info(17), 5, 0xFFFF_FFFF],  # 21: component_idx -1
    [TAG, _info(17, 0, 1), 5, 1],  # 22
    [TAG, _info(18, 0, 1), 3],  # 23
    [TAG, _info(18), 3],  # 24
    [BIG, _info(19, 2, 1), 8, V, 0xFFFF_FFFF, 0xFFFF_FFFF, A, 5, 1],  # 25: signed
    [BIG, _info(19, 1), 8, V, 0xFFFF_FFFF, 0xFFFF_FFFF],  # 26: unsigned
    [QUOTED, _info(1), 4, 32],  # 27
]


def test_every_kind_the_same_both_ways(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _blob(EVERY_KIND, STRINGS)
    made_in_c, python = _both_ways(data, monkeypatch)
    assert made_in_c == python
    raw, doc = made_in_c
    assert "[2] INT 'nt' size=1 bits_offset=3 nr_bits=5 encoding=UNKN\n" in raw
    assert "\t'a' type_id=1 bits_offset=5 bitfield_size=3\n" in raw
    assert "\t'V' val=-1\n" in raw
    assert "\t'V' val=4294967295\n" in raw
    assert "\t'V' val=-1LL\n\t'a' val=4294967301LL\n" in raw
    assert "\t'V' val=18446744073709551615ULL\n" in raw
    assert "\ttype_id=18 offset=4 size=4 (VAR 'v')\n" in raw
    assert "[18] VAR 'v' type_id=1, linkage=UNKN\n" in raw
    assert "[21] DECL_TAG 'tag' type_id=5 component_idx=-1\n" in raw
    assert '"name":"q\\"\\\\\\u0001\\u007f\\t"' in doc


def test_the_compiled_dump_makes_the_text(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch, testdata: Path
) -> None:
    # The names are decoded in Python only for a batch the C code declines.
    def no_names(*args: object, **kwargs: object) -> None:
        raise AssertionError("the names were decoded in Python")

    expected = _dumps(_blob(EVERY_KIND, STRINGS))
    monkeypatch.setattr(raw_records, "_Names", no_names)
    assert _dumps(_blob(EVERY_KIND, STRINGS)) == expected
    assert _dumps((testdata / "globals-el.o").read_bytes())[0].startswith("[1] ")


@pytest.mark.parametrize(
    ("case", "name", "record"),
    [
        ("not ASCII", b"\xc3\xa9t\xe9\0", [_info(1), 4, 32]),
        ("a DATASEC entry of no type", b".data\0", [_info(15, 1), 4, 99, 0, 4]),
    ],
)
def test_declined_batches_are_made_in_python(
    case: str,
    name: bytes,
    record: list[int],
    compiled: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One batch: the first record the C code makes, the second it declines.
    data = _blob([EVERY_KIND[0], [len(STRINGS), *record]], STRINGS + name)
    made_in_c, python = _both_ways(data, monkeypatch)
    assert made_in_c == python, case
    raw = load_spec(data)._raw
    assert raw is not None
    offsets = array("I", raw.offsets)
    assert compiled.dump(raw.words, offsets, raw.strings, 0, 1, 0, 2, False) is None
    assert compiled.dump(raw.words, offsets, raw.strings, 0, 1, 0, 1, False) == (
        b"[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
    )


def test_split_btf_the_same_both_ways(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = load_spec(marshal([Int("int", 4), Int("char", 1)]))
    split = Spec(base=base)
    split.add(Pointer(split.type_by_name("char")))
    split.add(Int("long", 8))
    made_in_c, python = _both_ways(marshal(split), monkeypatch, base=base)
    assert made_in_c == python
    assert made_in_c[0] == (
        "[3] PTR '(anon)' type_id=2\n"
        "[4] INT 'long' size=8 bits_offset=0 nr_bits=64 encoding=(none)\n"
    )


def test_testdata_objects_the_same_both_ways(
    compiled: ModuleType, monkeypatch: pytest.MonkeyPatch, testdata: Path
) -> None:
    for path in sorted(testdata.glob("*.o")):
        made_in_c, python = _both_ways(path.read_bytes(), monkeypatch)
        assert made_in_c == python, path


@pytest.mark.kernel_files
def test_vmlinux_the_same_both_ways(compiled: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    made_in_c, python = _both_ways(VMLINUX.read_bytes(), monkeypatch)
    assert made_in_c[0] == python[0]
    assert made_in_c[1] == python[1]


def test_dump_never_reads_past_what_it_is_given(compiled: ModuleType) -> None:
    words = struct.pack("<4I", INT, _info(1), 4, 32)
    strings = STRINGS
    ok = struct.pack("<I", 0)
    assert compiled.dump(words, ok, strings, 0, 1, 0, 1, False) is not None
    # A record past the words, cut short, or a name past the table: declined.
    assert compiled.dump(words, struct.pack("<I", 2), strings, 0, 1, 0, 1, False) is None
    assert compiled.dump(words[:12], ok, strings, 0, 1, 0, 1, True) is None
    assert compiled.dump(words, ok, b"\0int", 0, 1, 0, 1, False) is None
    assert compiled.dump(words, ok, b"\0", 0, 1, 0, 1, False) is None
    # Names below the blob's own table are the base's: declined.
    assert compiled.dump(words, ok, strings, 4, 1, 0, 1, False) is None
    with pytest.raises(ValueError, match="range of records"):
        compiled.dump(words, ok, strings, 0, 1, 0, 2, False)
    with pytest.raises(ValueError, match="range of records"):
        compiled.dump(words[:13], ok, strings, 0, 1, 0, 1, False)
    with pytest.raises(TypeError):
        compiled.dump("not a buffer", ok, strings, 0, 1, 0, 1, False)


def test_offsets_and_ids_at_the_top_of_uint32_are_declined(compiled: ModuleType) -> None:
    """Record offsets and DATASEC entries near 2**32 are checked without wrapping.

    Checked in 64 bits: where Py_ssize_t is 32-bit an offset of 0xFFFFFFFF
    turned negative and passed the bound, and ``id - first_id`` could overflow.
    """
    words = struct.pack("<4I", INT, _info(1), 4, 32)
    for offset in (0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFFD, 0x8000_0000, 0x7FFF_FFFF):
        for as_json in (False, True):
            at = struct.pack("<I", offset)
            assert compiled.dump(words, at, STRINGS, 0, 1, 0, 1, as_json) is None
    # A DATASEC entry naming ids below the blob's first, or far past its last.
    for var_id, first_id in ((0xFFFF_FFFF, 1), (0x8000_0000, 1), (1, 0xFFFF_FFFF), (0, 1)):
        datasec = struct.pack("<6I", DATA, _info(15, 1), 8, var_id, 0, 4)
        at = struct.pack("<I", 0)
        assert compiled.dump(datasec, at, STRINGS, 0, first_id, 0, 1, False) is None


def test_offsets_of_a_saved_index(compiled: ModuleType) -> None:
    # A kernel spec framed from its per-boot index keeps the offsets as a view.
    data = _blob(EVERY_KIND, STRINGS)
    raw = load_spec(data)._raw
    assert raw is not None
    offsets, names, by_name = raw.record_index()
    saved = memoryview(array("I", offsets).tobytes()).cast("I")
    framed = RawBTF(data, index=(saved, names, by_name))
    assert framed.offsets is saved
    batch = raw_records._compiled_batches(framed)
    assert batch is not None
    assert batch(0, framed.count, False) == _dumps(data)[0]
