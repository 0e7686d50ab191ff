"""Bad input: every malformed blob is a BTFError that says where, never another exception."""

from __future__ import annotations

import struct
import time

import pytest

from pybpf.btf import BTFError, Int, Pointer, Typedef, load_spec, parse, sizeof
from pybpf.btf.elfsections import section_data, section_names
from pybpf.btf.parse import RawBTF


def info(kind: int, vlen: int = 0, kind_flag: bool = False) -> int:
    return (kind_flag << 31) | (kind << 24) | vlen


def blob(
    words: list[int],
    strings: bytes = b"\0int\0",
    *,
    order: str = "<",
    version: int = 1,
    hdr_len: int = 24,
) -> bytes:
    types = struct.pack(f"{order}{len(words)}I", *words)
    header = struct.pack(
        f"{order}HBBIIIII", 0xEB9F, version, 0, hdr_len, 0, len(types), len(types), len(strings)
    )
    return header + b"\0" * (hdr_len - 24) + types + strings


# [1] INT 'int' size=4 signed 32 bits; [2] PTR -> 1; [3] TYPEDEF 'int' -> 2
VALID = [1, info(1), 4, 0x01000020, 0, info(2), 1, 1, info(8), 2]


@pytest.mark.parametrize("order", ["<", ">"])
def test_valid_blob_both_orders(order: str) -> None:
    spec = load_spec(blob(VALID, order=order))
    assert spec.byte_order == ("little" if order == "<" else "big")
    i, p, td = spec.type_by_id(1), spec.type_by_id(2), spec.type_by_id(3)
    assert isinstance(i, Int) and i.signed and i.bits == 32
    assert isinstance(p, Pointer) and p.target is i
    assert isinstance(td, Typedef) and td.type is p
    assert [spec.type_id(t) for t in spec.types_by_name("int")] == [1, 3]


def test_larger_header_with_zeros_is_fine() -> None:
    assert len(load_spec(blob(VALID, hdr_len=32))) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated BTF header"),
        (b"\x9f", "truncated BTF header"),
        (b"\x9f\xeb\x01\x00", "truncated BTF header"),
        (b"\x00\x00" + bytes(30), "bad BTF magic"),
        (blob(VALID, version=2), "unsupported BTF version 2"),
        (blob(VALID, hdr_len=20), "bad BTF header length 20"),
        (blob(VALID)[:-3], "past the end"),
        (blob(VALID)[:40], "past the end"),
        (blob(VALID, strings=b"\0int"), "not NUL-terminated"),
        (blob(VALID, strings=b"xint\0"), "does not start with NUL"),
        (blob(VALID, strings=b""), "not NUL-terminated"),
        (blob([0, info(1), 4]), "runs past the end"),
        (blob([0, info(4, vlen=100), 4]), "type record 1 at offset 24 runs past the end"),
        (blob([*VALID, 0]), "type record 4 at offset 64 runs past the end"),
        (blob([0, info(25), 0]), "unknown BTF kind 25 at type section offset 24"),
        (blob([0, info(0), 0]), "unknown BTF kind 0"),
        (blob([0, info(2, vlen=1), 0]), "PTR with vlen 1"),
        (blob([0, info(2, kind_flag=True), 0]), "PTR with kind_flag"),
        (blob([0, info(12, vlen=3), 0]), "FUNC with bad linkage 3"),
        (blob([0, info(2) | 0x0010_0000, 0]), "reserved info bits"),
    ],
)
def test_framing_errors_at_load(data: bytes, message: str) -> None:
    with pytest.raises(BTFError, match=message):
        load_spec(data)


def test_unaligned_and_overlapping_sections() -> None:
    good = blob(VALID)
    hdr = list(struct.unpack_from("<HBBIIIII", good))
    for field, value, message in [
        (4, 2, "not 4-byte aligned"),  # type_off
        (5, 6, "not 4-byte aligned"),  # type_len
        (6, 0, "overlap"),  # str_off inside the type section
    ]:
        bad_hdr = hdr.copy()
        bad_hdr[field] = value
        data = struct.pack("<HBBIIIII", *bad_hdr) + good[24:]
        with pytest.raises(BTFError, match=message):
            load_spec(data)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([1, info(2), 7], "type 1: reference to type 7 out of range"),
        ([99, info(1), 4, 32], "type 1: string offset 99 out of range"),
        ([1, info(1), 3, 32], "type 1: INT of bad size 3"),
        ([1, info(1), 4, 0x0800_0020], "type 1: INT with bad encoding"),
        ([1, info(1), 4, 0x0001_0020], "INT bits 1\\+32 do not fit 4 bytes"),
        ([1, info(1), 4, 0], "INT bits"),
        ([1, info(4, vlen=1), 4, 1, 5, 0], "member reference to type 5 out of range"),
        ([1, info(13, vlen=1), 0, 1, 9], "parameter reference to type 9 out of range"),
        ([1, info(15, vlen=1), 0, 9, 0, 4], "variable reference to type 9 out of range"),
        ([1, info(14), 0, 7], "VAR with bad linkage 7"),
        ([1, info(6, vlen=0), 3], "ENUM of bad size 3"),
        ([1, info(16), 5], "FLOAT of bad size 5"),
    ],
)
def test_record_errors_when_decoded(words: list[int], message: str) -> None:
    spec = load_spec(blob(words))
    with pytest.raises(BTFError, match=message):
        spec.type_by_id(1)


def test_reference_loops_raise_when_sizes_are_computed() -> None:
    # [1] TYPEDEF 'int' -> 2, [2] TYPEDEF 'int' -> 1: no struct or pointer to break it.
    spec = load_spec(blob([1, info(8), 2, 1, info(8), 1]))
    with pytest.raises(BTFError, match=r"type 1 .*cycle"):
        sizeof(spec.type_by_id(1))
    self_ref = load_spec(blob([1, info(8), 1]))
    with pytest.raises(BTFError, match="cycle"):
        sizeof(self_ref.type_by_id(1))
    with pytest.raises(BTFError, match=r"type 1: reference cycle"):
        spec.validate()
    # [1] ARRAY of [2], [2] CONST -> 1
    with pytest.raises(BTFError, match=r"type 1: reference cycle"):
        load_spec(blob([0, info(3), 0, 2, 2, 4, 0, info(10), 1])).validate()
    # A pointer breaks a cycle: [1] PTR -> 2, [2] TYPEDEF 'int' -> 1
    load_spec(blob([0, info(2), 2, 1, info(8), 1])).validate()
    load_spec(blob(VALID)).validate()


def test_absurd_array_size() -> None:
    # [1] INT, [2] ARRAY of 1 x 2^32-1, [3] ARRAY of 2 x 2^32-1
    words = [
        1,
        info(1),
        4,
        0x01000020,
        0,
        info(3),
        0,
        1,
        1,
        0xFFFF_FFFF,
        0,
        info(3),
        0,
        2,
        1,
        0xFFFF_FFFF,
    ]
    spec = load_spec(blob(words))
    with pytest.raises(BTFError, match="exceeds 32 bits"):
        sizeof(spec.type_by_id(3))
    with pytest.raises(BTFError, match=r"type 3: array of more than 2\^32"):
        spec.validate()


def test_split_blob_needs_a_loaded_base() -> None:
    from pybpf.btf import Spec

    with pytest.raises(BTFError, match="base must be loaded"):
        load_spec(blob(VALID), base=Spec([Int("x", 4)]))


def test_raw_index() -> None:
    raw = RawBTF(blob(VALID, order=">"))
    assert raw.count == 3
    assert list(raw.offsets) == [0, 4, 7]
    assert raw.ids_named([1]) == [1, 3]
    assert raw.kind_of(2) == 2


@pytest.mark.parametrize("searched_with", ["find", "re"])
@pytest.mark.parametrize("many", [False, True])
def test_a_name_right_behind_a_misaligned_match_is_found(
    searched_with: str, many: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first INT's encoding (0x00010008) ends in the bytes 00 01 00: with
    # the second record's name_off (0x100, bytes 00 01 00 00) they match that
    # name one byte before the record, overlapping it.
    if searched_with == "re":
        monkeypatch.setattr(parse, "_FIND_BELOW", 0)
    strings = b"\0int\0" + bytes(0x100 - 5) + b"foo\0"
    words = [1, info(1), 4, 0x00010008, 0x100, info(1), 4, 0x20]
    raw = RawBTF(blob(words, strings))
    assert raw.ids_named([0x100], many=many) == [2]
    assert raw.ids_named([1], many=many) == [1]


# -- the ELF reader ------------------------------------------------------------


def elf64(sections: list[tuple[str, int, bytes]], order: str = "<") -> bytes:
    """A minimal ELF64 file: (name, sh_type, contents) sections after the null one."""
    names = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in sections) + b".shstrtab\0"
    body = b""
    headers = [struct.pack(f"{order}IIQQQQIIQQ", *[0] * 10)]
    offset = 64
    name_at = 1
    for name, sh_type, contents in sections:
        headers.append(
            struct.pack(
                f"{order}IIQQQQIIQQ", name_at, sh_type, 0, 0, offset, len(contents), 0, 0, 1, 0
            )
        )
        name_at += len(name) + 1
        body += contents
        offset += len(contents)
    headers.append(
        struct.pack(f"{order}IIQQQQIIQQ", name_at, 3, 0, 0, offset, len(names), 0, 0, 1, 0)
    )
    body += names
    shoff = 64 + len(body)
    ident = b"\x7fELF\x02" + (b"\x01" if order == "<" else b"\x02") + b"\x01" + bytes(9)
    ehdr = ident + struct.pack(
        f"{order}HHIQQQIHHHHHH",
        1,
        247,
        1,
        0,
        0,
        shoff,
        0,
        64,
        0,
        0,
        64,
        len(headers),
        len(headers) - 1,
    )
    return ehdr + body + b"".join(headers)


@pytest.mark.parametrize("order", ["<", ">"])
def test_elf_btf_section(order: str) -> None:
    data = elf64([(".text", 1, b"\0" * 8), (".BTF", 1, blob(VALID, order=order))], order)
    assert section_names(data) == ["", ".text", ".BTF", ".shstrtab"]
    assert len(load_spec(data)) == 3


def test_elf_errors() -> None:
    with pytest.raises(BTFError, match=r"no \.BTF section"):
        load_spec(elf64([(".text", 1, b"\0" * 8)]))
    with pytest.raises(BTFError, match="SHT_NOBITS"):
        section_data(elf64([(".BTF", 8, b"")]), ".BTF")
    good = elf64([(".BTF", 1, blob(VALID))])
    with pytest.raises(BTFError, match="more than the file holds"):
        load_spec(good[:-20])
    with pytest.raises(BTFError, match="runs past the end"):
        at = len(good) - 128 + 24  # sh_offset of .BTF's section header
        load_spec(good[:at] + struct.pack("<Q", 1 << 40) + good[at + 8 :])
    with pytest.raises(BTFError, match="truncated ELF header"):
        load_spec(good[:20])
    with pytest.raises(BTFError, match="bad ELF class"):
        load_spec(good[:4] + b"\x07" + good[5:])


@pytest.mark.parametrize("order", ["<", ">"])
def test_split_blob_names_from_the_base(order: str) -> None:
    base = load_spec(blob(VALID, order=order))
    # [4] TYPEDEF 'int' (base string 1) -> 1, [5] TYPEDEF 'own' (own string at 5) -> 4
    split = load_spec(
        blob([1, info(8), 1, 5, info(8), 4], strings=b"own\0", order=order), base=base
    )
    assert split.start_id == 4
    four, five = split.type_by_id(4), split.type_by_id(5)
    assert (four.name, five.name) == ("int", "own")
    assert isinstance(five, Typedef) and five.type is four
    assert [split.type_id(t) for t in split.types_by_name("int")] == [1, 3, 4]
    assert split.types_by_name("own") == [five]
    with pytest.raises(BTFError, match="type 4: reference to type 6 out of range"):
        load_spec(blob([1, info(8), 6], strings=b"", order=order), base=base).type_by_id(4)
    with pytest.raises(BTFError, match="string offset 9 out of range"):
        load_spec(blob([9, info(8), 1], strings=b"own\0", order=order), base=base).type_by_id(4)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("kind", [6, 19])
def test_enum_forward_declaration_has_size_zero(order: str, kind: int) -> None:
    # clang writes ``enum later;`` as an ENUM of size 0 and no values; libbpf
    # reads it (the kernel only refuses it on load). With values, size 0 is bad.
    spec = load_spec(blob([1, info(kind), 0], order=order))
    later = spec.type_by_id(1)
    assert later.size == 0 and later.values == []  # type: ignore[attr-defined]
    two = [1, info(kind, vlen=1), 0, 1, 5] + ([0] if kind == 19 else [])
    with pytest.raises(BTFError, match=r"type 1: ENUM(64)? of bad size 0"):
        load_spec(blob(two, order=order)).type_by_id(1)


def test_validate_is_linear_in_chain_length() -> None:
    # [1] INT, then CONST -> previous, 20,000 deep: each type's chain is walked once.
    n = 20_000
    words = [1, info(1), 4, 0x01000020]
    for i in range(n):
        words += [0, info(10), i + 1]
    spec = load_spec(blob(words))
    start = time.perf_counter()
    spec.validate()
    # Walking every chain from its start took minutes.
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("order", ["<", ">"])
def test_small_string_table_decoded_whole_at_first_name(order: str) -> None:
    # [1] INT 'an_int'; [2] TYPEDEF 'int' (offset 4: the tail of 'an_int') -> 1;
    # [3] TYPEDEF named by bytes that are not UTF-8 -> 1.
    strings = b"\0an_int\0caf\xe9\0"
    words = [1, info(1), 4, 0x01000020, 4, info(8), 1, 8, info(8), 1]
    spec = load_spec(blob(words, strings=strings, order=order))
    assert spec.type_by_id(1).name == "an_int"
    # An object's table is small: the first name decoded them all.
    assert spec._decoder is not None and set(spec._decoder.names) == {0, 1, 8}
    assert spec.type_by_id(2).name == "int"  # not the start of a string in the table
    assert spec.type_by_id(3).name == "caf\ufffd"
    bad = load_spec(blob([1, info(1), 4, 0x01000020, 40, info(8), 1], strings=strings))
    assert bad.type_by_id(1).name == "an_int"
    with pytest.raises(BTFError, match="type 2: string offset 40 out of range"):
        bad.type_by_id(2)
