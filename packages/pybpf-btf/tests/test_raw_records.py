"""The raw and JSON dumps read from the records equal those rendered from decoded types."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from pybpf.btf import BTFError, Int, load_spec
from pybpf.btf.cli_dump import _raw, json_document, type_fields
from pybpf.btf.raw_records import record_fields, record_json, record_lines, record_text
from pybpf.btf.spec import Spec

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def _decoded(spec: Spec) -> list[str]:
    return [
        line
        for type_id in range(spec.start_id, spec.next_id)
        for line in _raw(spec, type_id, spec.type_by_id(type_id))
    ]


def _objects(testdata: Path) -> list[Path]:
    found = []
    for path in sorted(testdata.glob("*.o")):
        try:
            load_spec(path)
        except (BTFError, ValueError):
            continue
        found.append(path)
    return found


def test_every_testdata_object(testdata: Path) -> None:
    objects = _objects(testdata)
    assert objects
    for path in objects:
        lines = record_lines(load_spec(path))
        assert lines is not None, path
        assert list(lines) == _decoded(load_spec(path)), path


@pytest.mark.kernel_files
def test_vmlinux() -> None:
    lines = record_lines(load_spec(VMLINUX))
    assert lines is not None
    assert list(lines) == _decoded(load_spec(VMLINUX))


def test_not_once_a_type_was_decoded(testdata: Path) -> None:
    spec = load_spec(testdata / "globals-el.o")
    spec.type_by_id(1)
    assert record_lines(spec) is None


def test_not_for_a_spec_built_by_hand() -> None:
    assert record_lines(Spec([Int("int", 4)])) is None


def test_fields_of_every_testdata_object(testdata: Path) -> None:
    for path in _objects(testdata):
        spec = load_spec(path)
        fields = record_fields(spec)
        assert fields is not None, path
        decoded = load_spec(path)
        expected = [
            type_fields(decoded, i, decoded.type_by_id(i))
            for i in range(decoded.start_id, decoded.next_id)
        ]
        # Compared as JSON text: the same keys in the same order.
        assert json.dumps(list(fields)) == json.dumps(expected), path


def test_fields_not_once_a_type_was_decoded(testdata: Path) -> None:
    spec = load_spec(testdata / "globals-el.o")
    spec.type_by_id(1)
    assert record_fields(spec) is None


def test_a_datasec_entry_of_no_type_is_a_btf_error() -> None:
    # Found by `nox -s fuzz` (dump): the raw dump from records looked the
    # entry's type up and leaked TypeNotFoundError.
    strings = b"\0.data\0"
    datasec = struct.pack("<III", 1, (15 << 24) | 1, 4) + struct.pack("<III", 99, 0, 4)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(datasec), len(datasec), len(strings))
    spec = load_spec(header + datasec + strings)
    with pytest.raises(BTFError, match="type id 99"):
        list(record_lines(spec) or ())


def _blob(types: bytes, strings: bytes) -> bytes:
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def _compact(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"))


def test_json_text_of_every_testdata_object(testdata: Path) -> None:
    for path in _objects(testdata):
        pieces = record_json(load_spec(path))
        assert pieces is not None, path
        decoded = load_spec(path)
        assert "".join(pieces) == _compact(json_document(decoded)), path


def test_text_batches_are_the_lines(testdata: Path) -> None:
    for path in _objects(testdata):
        batches = record_text(load_spec(path))
        assert batches is not None, path
        counts, texts = zip(*batches, strict=True)
        assert sum(counts) == load_spec(path).next_id - 1
        assert "".join(texts) == "".join(f"{line}\n" for line in _decoded(load_spec(path)))


@pytest.mark.kernel_files
def test_vmlinux_json_text() -> None:
    pieces = record_json(load_spec(VMLINUX))
    assert pieces is not None
    assert "".join(pieces) == _compact(json_document(load_spec(VMLINUX)))


def test_names_json_escapes() -> None:
    # A quote, a backslash, a control character, non-ASCII and invalid UTF-8,
    # and a name starting inside another: json.dumps' escapes exactly.
    strings = b'\0a"b\\c\x01\0\xc3\xa9t\xe9\0'
    ints = b"".join(
        struct.pack("<IIII", off, 1 << 24, 4, 32) for off in (1, 8, 9, len(strings) - 1)
    )
    spec = load_spec(_blob(ints, strings))
    pieces = record_json(spec)
    assert pieces is not None
    assert "".join(pieces) == _compact(json_document(load_spec(_blob(ints, strings))))
    lines = record_lines(load_spec(_blob(ints, strings)))
    assert lines is not None
    assert list(lines) == _decoded(load_spec(_blob(ints, strings)))


def test_no_types() -> None:
    spec = load_spec(_blob(b"", b"\0"))
    assert "".join(record_json(spec) or ()) == '{"types":[]}'
    assert list(record_text(load_spec(_blob(b"", b"\0"))) or ()) == []
