"""Fuzzing ``.BTF.ext``: whatever the bytes, the only error is :class:`BTFError`."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTFError, Spec, load_spec
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import load_ext_infos

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"
OBJECT = (TESTDATA / "core-el.o").read_bytes()
SPEC: Spec = load_spec(OBJECT)
EXT = section_data(OBJECT, ".BTF.ext")
BIG = (TESTDATA / "core-eb.o").read_bytes()
BIG_SPEC: Spec = load_spec(BIG)
BIG_EXT = section_data(BIG, ".BTF.ext")

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _parse(data: bytes, spec: Spec) -> None:
    try:
        infos = load_ext_infos(data, spec)
    except BTFError:
        return
    # Whatever parsed must marshal again (offsets and kinds are in range).
    infos.marshal_for(spec)


@SETTINGS
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _parse(data, SPEC)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_after_a_valid_header(tail: bytes) -> None:
    _parse(EXT[:32] + tail, SPEC)
    _parse(BIG_EXT[:32] + tail, BIG_SPEC)


@SETTINGS
@given(
    st.data(),
    st.lists(st.tuples(st.integers(0, len(EXT) - 1), st.integers(0, 255)), max_size=8),
)
def test_corrupted_bytes(data: st.DataObject, edits: list[tuple[int, int]]) -> None:
    buf = bytearray(EXT)
    for at, value in edits:
        buf[at] = value
    cut = data.draw(st.integers(0, len(buf)))
    _parse(bytes(buf), SPEC)
    _parse(bytes(buf[:cut]), SPEC)


@SETTINGS
@given(
    st.integers(0, len(EXT) // 4 - 1),
    st.sampled_from([0, 1, 3, 4, 7, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]),
)
def test_corrupted_words(index: int, value: int) -> None:
    for spec, ext, order in ((SPEC, EXT, "little"), (BIG_SPEC, BIG_EXT, "big")):
        buf = bytearray(ext)
        buf[4 * index : 4 * index + 4] = value.to_bytes(4, order)  # type: ignore[arg-type]
        _parse(bytes(buf), spec)
