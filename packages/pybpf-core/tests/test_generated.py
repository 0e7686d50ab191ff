"""The runtime of ``pybpf gen``'s modules: records' helpers, and objects classes on the kernel.

The modules themselves (written, linted, loaded) are tested by ``pybpf-elf``'s
``test_gen.py`` and ``pybpf-link``'s ``test_gen_live.py``; here, the runtime
alone, with classes declared by hand as the generator declares them.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import os
import struct
import sys
import zlib
from pathlib import Path
from typing import ClassVar, Self

import pytest

from pybpf.core import ClosedError, Codec, GeneratedObjects, IntCodec, generated
from pybpf.core.generated import (
    BytesLike,
    MapField,
    ProgramField,
    RecordCodec,
    VariableField,
    c_string,
    decode_records,
    embedded_object,
    encode_records,
    enum_or_int,
    fit_bytes,
    object_beside,
)
from pybpf.elf.gen.render import OBJECTS_RESERVED, RUNTIME

ROOT = Path(__file__).resolve().parents[3]
GEN_DEMO = ROOT / "testdata" / f"gen_demo-{'el' if sys.byteorder == 'little' else 'eb'}.o"
OTHER_ORDER = "big" if sys.byteorder == "little" else "little"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """``struct point``, as the generator writes it."""

    x: int = 0
    y: int = 0

    SIZE: ClassVar[int] = 8
    codec: ClassVar[RecordCodec[Point]]
    layout: ClassVar[struct.Struct] = struct.Struct("=ii")

    def encode(self) -> bytes:
        """The 8 bytes."""
        return self.layout.pack(self.x, self.y)

    @classmethod
    def decode(cls, data: BytesLike) -> Self:
        """The record in 8 bytes."""
        x, y = cls.layout.unpack_from(data)
        return cls(x=x, y=y)


Point.codec = RecordCodec(Point)


class Color(enum.IntEnum):
    RED = 1


class Demo(GeneratedObjects):
    """``gen_demo.c``'s object, declared by hand."""

    count_packet = ProgramField("count_packet")
    judge = ProgramField("judge")
    flows = MapField("flows", value=IntCodec(8))
    entries = MapField("entries")
    runs = VariableField("runs")
    last = VariableField("last", Point.codec)

    @classmethod
    def object_bytes(cls) -> bytes:
        """The committed object."""
        return GEN_DEMO.read_bytes()


# -- offline ----------------------------------------------------------------------


def test_record_codec_is_a_codec() -> None:
    codec = Point.codec
    assert isinstance(codec, Codec)
    assert codec.size == 8
    assert codec.encode(Point(x=1, y=-1)) == struct.pack("=ii", 1, -1)
    assert codec.decode(struct.pack("=ii", 3, 4)) == Point(x=3, y=4)
    assert repr(codec) == "RecordCodec(Point)"


def test_record_helpers() -> None:
    assert enum_or_int(Color, 1) is Color.RED
    assert enum_or_int(Color, 7) == 7
    assert fit_bytes(b"ab", 2, "tag") == b"ab"
    with pytest.raises(ValueError, match="tag holds 2 bytes, got 3"):
        fit_bytes(b"abc", 2, "tag")
    data = struct.pack("=iiii", 1, 2, 3, 4)
    points = decode_records(Point.decode, data, 8)
    assert points == (Point(x=1, y=2), Point(x=3, y=4))
    assert encode_records(points, 2, "path") == data
    with pytest.raises(ValueError, match="path holds 3 records, got 2"):
        encode_records(points, 3, "path")
    assert c_string(b"comm\0junk") == "comm"
    assert c_string(b"\xff") == "\ufffd"


def test_object_embedded_or_beside(tmp_path: Path) -> None:
    encoded = base64.b64encode(zlib.compress(b"\x7fELF...")).decode()
    assert embedded_object({sys.byteorder: encoded}) == b"\x7fELF..."
    (tmp_path / "m-o.o").write_bytes(b"beside")
    assert object_beside(str(tmp_path / "m.py"), {sys.byteorder: "m-o.o"}) == b"beside"
    with pytest.raises(RuntimeError, match=f"no object for {sys.byteorder}-endian machines"):
        embedded_object({OTHER_ORDER: encoded})


def test_fields_make_the_tables() -> None:
    assert Demo.PROGRAMS == {"count_packet": "count_packet", "judge": "judge"}
    assert Demo.MAPS == {"flows": "flows", "entries": "entries"}
    assert Demo.VARIABLES == {"runs": "runs", "last": "last"}
    assert GeneratedObjects.PROGRAMS == {}
    assert isinstance(Demo.flows, MapField)
    assert repr(Demo.last) == "VariableField('last')"

    class Renamed(GeneratedObjects):
        bpf_usdt_specs = MapField("__bpf_usdt_specs")

    assert Renamed.MAPS == {"__bpf_usdt_specs": "bpf_usdt_specs"}
    with pytest.raises(NotImplementedError, match="Renamed does not say where its object is"):
        Renamed.spec()


def test_the_generator_knows_the_runtime() -> None:
    """What the generator imports and keeps clear of is what this module has."""
    assert set(RUNTIME) == set(generated.__all__) - {"Record"}
    public = {n for n in dir(GeneratedObjects) if not n.startswith("_")}
    assert public | {"collection"} <= OBJECTS_RESERVED


# -- on the kernel ----------------------------------------------------------------


@pytest.mark.kernel
def test_load_and_use() -> None:
    with Demo.load() as objs:
        assert objs.count_packet.run(bytes(64)).retval == 0
        assert objs.runs.get() == 1
        assert objs.last.get() == Point(x=50, y=-1)  # the variable's codec
        objs.last.set(Point(x=3, y=4))
        assert objs.last.get() == Point(x=3, y=4)
        assert list(objs.flows.values()) == [1]  # the map's value codec
        assert objs.collection.maps["flows"].value_codec != objs.flows.value_codec
        assert objs.PROGRAMS == Demo.PROGRAMS
        assert repr(objs).startswith("Demo(Collection(")
        with pytest.raises(AttributeError, match=r"Demo\.flows is read-only"):
            objs.flows = objs.entries  # type: ignore[assignment]
    with pytest.raises(ClosedError):
        list(objs.flows.keys())


@pytest.mark.kernel
def test_load_a_changed_spec_and_only_some_programs() -> None:
    spec = Demo.spec()
    spec.variables["magic"].set(9)
    with Demo.load(spec, programs=["count_packet"], log_level=0) as objs:
        assert objs.count_packet.run(bytes(64)).retval == 0
        assert objs.collection.variables["magic"].get() == 9
        with pytest.raises(LookupError, match="program 'judge' was not loaded"):
            objs.judge  # noqa: B018
        with pytest.raises(LookupError, match="map 'entries' was not loaded"):
            objs.entries  # noqa: B018


@pytest.mark.kernel
def test_a_failed_wrap_closes_what_was_loaded() -> None:
    """A codec that does not fit its map fails the load, and nothing stays open."""

    class Wrong(Demo):
        entries = MapField("entries", value=IntCodec(8))  # the values are 64 bytes

    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError, match="map 'entries': a value codec of 8 bytes"):
        Wrong.load()
    assert set(os.listdir("/proc/self/fd")) <= before
