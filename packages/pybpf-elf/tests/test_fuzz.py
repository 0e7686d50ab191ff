"""Corrupt objects give ELFError, never another exception, and never hang."""

from __future__ import annotations

import contextlib
import signal
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import ELFError, load_collection_spec
from pybpf.elf._elffile import ElfFile

ROOT = Path(__file__).resolve().parents[3]
SEEDS = [
    (ROOT / "testdata" / name).read_bytes()
    for name in (
        "loader-el.o",
        "maps-eb.o",
        "maps_legacy-el.o",
        "kconfig-el.o",
        "struct_ops-el.o",
        "linked-el.o",
        "ksyms-eb.o",
    )
    if (ROOT / "testdata" / name).exists()
]


def _regions(data: bytes) -> list[tuple[int, int]]:
    """The interesting byte ranges: header, section table, symbols, relocations."""
    elf = ElfFile(data)
    out = [(0, 64)]
    shoff = struct.unpack_from("<Q" if data[5] == 1 else ">Q", data, 0x28)[0]
    out.append((shoff, len(elf.sections) * 64))
    for s in elf.sections:
        if s.type in (2, 9) or s.name in (".maps", "maps", ".BTF", ".BTF.ext", ".strtab"):
            # Symbols, relocations, map definitions and BTF: weight them up.
            out += [(s.offset, s.size)] * 3
        else:
            out.append((s.offset, s.size))
    return [(a, n) for a, n in out if n > 0]


def _hang(signum: int, frame: object) -> None:
    raise TimeoutError("load_collection_spec ran for a minute: a hang")


def _check(data: bytes) -> None:
    # No per-example deadline (emulated kernels in the VM matrix are slow), but
    # an alarm turns a real hang into a failure.
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(60)
    try:
        with contextlib.suppress(ELFError):
            load_collection_spec(data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_flipped_bytes(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS))
    regions = _regions(seed)
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 8))):
        start, size = data.draw(st.sampled_from(regions))
        pos = start + data.draw(st.integers(0, size - 1))
        if pos < len(buf):
            buf[pos] = data.draw(st.integers(0, 255))
    _check(bytes(buf))


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_truncations(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS))
    _check(seed[: data.draw(st.integers(0, len(seed)))])


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=512))
def test_random_bytes(blob: bytes) -> None:
    _check(b"\x7fELF\x02\x01\x01" + blob)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_every_single_header_byte(seed: int) -> None:
    data = SEEDS[seed]
    for pos in range(64):
        for value in (0, 0xFF):
            buf = bytearray(data)
            buf[pos] = value
            _check(bytes(buf))
