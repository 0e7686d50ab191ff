"""Tests that need no kernel: errors, codecs, cpu lists, names."""

from __future__ import annotations

import errno
import sys

import pytest

from pybpf.core import (
    BPFError,
    BPFPermissionError,
    BytesCodec,
    ClosedError,
    Codec,
    IntCodec,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    NotSupportedError,
)
from pybpf.core._cpus import parse_cpu_list
from pybpf.core._map_create import sanitize_name
from pybpf.core.errors import ENOTSUPP


def test_error_hierarchy() -> None:
    missing = KeyNotFoundError(errno.ENOENT, "lookup in map 'm'", reason="key 1 not found")
    assert isinstance(missing, KeyError)
    assert isinstance(missing, BPFError)
    assert isinstance(missing, OSError)
    assert missing.errno == errno.ENOENT
    assert str(missing) == "[Errno 2] lookup in map 'm': key 1 not found"
    assert isinstance(KeyExistsError(errno.EEXIST, "x"), OSError)
    perm = BPFPermissionError(errno.EPERM, "create map")
    assert isinstance(perm, PermissionError)
    assert "EPERM" in str(perm)
    assert issubclass(ClosedError, ValueError)
    assert not issubclass(ClosedError, OSError)


def test_not_supported_names_feature_and_version() -> None:
    err = NotSupportedError("map type RINGBUF", min_version="5.8")
    assert err.errno == ENOTSUPP
    assert err.feature == "map type RINGBUF"
    assert err.min_version == "5.8"
    assert "requires Linux 5.8 or newer" in str(err)


def test_limit_error_names_limit() -> None:
    err = LimitError(errno.E2BIG, "update in map 'm'", limit="max_entries=4", reason="map is full")
    assert err.limit == "max_entries=4"
    assert "max_entries=4" in str(err)
    assert "map is full" in str(err)


def test_int_codec() -> None:
    codec = IntCodec(4)
    assert isinstance(codec, Codec)
    assert codec.encode(1) == (1).to_bytes(4, sys.byteorder)
    assert codec.decode(codec.encode(0xDEADBEEF)) == 0xDEADBEEF
    assert IntCodec(2, byteorder="big").encode(1) == b"\x00\x01"
    assert IntCodec(8, signed=True).decode(IntCodec(8, signed=True).encode(-5)) == -5
    assert IntCodec(4).ctype == "uint32_t"
    assert IntCodec(4, byteorder="big" if sys.byteorder == "little" else "little").ctype is None
    with pytest.raises(ValueError, match="does not fit"):
        codec.encode(1 << 32)
    with pytest.raises(TypeError):
        codec.encode(b"1234")
    with pytest.raises(ValueError):
        IntCodec(3)
    assert IntCodec(4) == IntCodec(4)
    assert IntCodec(4) != IntCodec(8)


def test_bytes_codec() -> None:
    codec = BytesCodec()
    assert codec.encode(bytearray(b"ab")) == b"ab"
    assert codec.decode(b"ab") == b"ab"
    with pytest.raises(TypeError):
        codec.encode(1)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0", [0]), ("0-3\n", [0, 1, 2, 3]), ("0-1,4,6-7", [0, 1, 4, 6, 7])],
)
def test_parse_cpu_list(text: str, cpus: list[int]) -> None:
    assert parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text", ["", "a-b", "3-1", "\n"])
def test_parse_cpu_list_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpu_list(text)


def test_sanitize_name() -> None:
    assert sanitize_name("counts") == "counts"
    assert sanitize_name("a-very-long-map-name") == "a_very_long_map"
    assert sanitize_name(".rodata") == ".rodata"
    assert sanitize_name(".rodata", allow_dot=False) == "_rodata"
    assert sanitize_name("naïve") == "na_ve"
