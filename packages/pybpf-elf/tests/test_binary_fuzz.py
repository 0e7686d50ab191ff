"""Corrupt native binaries give ELFError from every Binary reader, never another exception."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import ELFError
from pybpf.elf.binary import Binary

# A small dynamically linked executable with versioned imports and notes.
SEED_PATH = Path(shutil.which("true") or "/usr/bin/true")
SEED = SEED_PATH.read_bytes() if SEED_PATH.exists() else b""
pytestmark = pytest.mark.skipif(not SEED.startswith(b"\x7fELF\x02"), reason="no 64-bit seed")


def _regions() -> list[tuple[int, int]]:
    elf = Binary(SEED)
    out = [(0, 64)]
    out += [(s.offset, s.size) for s in elf.sections if s.type != 8 and s.size]
    out += [(elf.sections[0].offset, 64)] if elf.sections else []
    return out


def _read_everything(data: bytes) -> None:
    with contextlib.suppress(ELFError):
        elf = Binary(data)
        for seg in elf.segments:
            elf.segment_at(seg.vaddr)
        elf.dynamic_symbols  # noqa: B018
        elf.static_symbols  # noqa: B018
        elf.symbols_named("exit")
        for sec in elf.sections:
            if sec.type == 7:
                elf.notes(sec)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_mutations(data: st.DataObject) -> None:
    regions = _regions()
    buf = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        start, size = data.draw(st.sampled_from(regions))
        at = start + data.draw(st.integers(0, max(size - 1, 0)))
        if at < len(buf):
            buf[at] = data.draw(st.integers(0, 255))
    _read_everything(bytes(buf))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(SEED)))
def test_truncations(cut: int) -> None:
    _read_everything(SEED[:cut])
