"""Views of maps and variables with other codecs: what ``pybpf gen``'s typed modules install."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.core import ClosedError, Collection, IntCodec, Map
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

pytestmark = pytest.mark.kernel


class _Pair:
    """A codec of two u32s as a tuple."""

    size = 8

    def encode(self, obj: tuple[int, int]) -> bytes:
        return struct.pack("=II", *obj)

    def decode(self, buf: bytes) -> tuple[int, int]:
        a, b = struct.unpack("=II", buf)
        return a, b


def test_map_with_codecs_shares_the_fd() -> None:
    with Map(MapSpec("v", MapType.HASH, 4, 8, 4), key_codec=int) as m:
        typed = m.with_codecs(value=_Pair())
        typed[1] = (2, 3)
        assert typed[1] == (2, 3)
        assert m[1] == struct.pack("=II", 2, 3)  # the original keeps its codecs
        assert typed.key_codec == m.key_codec
        assert typed.fd is m.fd
        both = m.with_codecs(key=IntCodec(4, signed=True), value=_Pair())
        both[-1] = (0, 1)
        assert dict(both.items()) == {1: (2, 3), -1: (0, 1)}
    with pytest.raises(ClosedError):
        typed[1]


def test_map_with_codecs_checks_sizes() -> None:
    with Map(MapSpec("v", MapType.HASH, 4, 4, 4)) as m, pytest.raises(ValueError, match="8 bytes"):
        m.with_codecs(value=_Pair())


def test_variable_with_codec(testdata: Path) -> None:
    with Collection(testdata / "globals-el.o") as coll:
        var = coll.variables["bss_config"]
        typed = var.with_codec(struct_codec := _Config())
        typed.set((1, 2, 3))
        assert typed.get() == (1, 2, 3)
        assert var.raw == struct_codec.encode((1, 2, 3))
        assert var.get().mode == 1  # the original keeps its BTF codec
        with pytest.raises(ValueError, match="4 bytes"):
            var.with_codec(IntCodec(4))


class _Config:
    """``struct config`` as a tuple."""

    size = 16

    def encode(self, obj: tuple[int, int, int]) -> bytes:
        return struct.pack("=IIQ", *obj)

    def decode(self, buf: bytes) -> tuple[int, int, int]:
        a, b, c = struct.unpack("=IIQ", buf)
        return a, b, c
