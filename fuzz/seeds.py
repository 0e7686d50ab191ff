"""Seed inputs for each fuzz target, cut out of the objects in ``testdata/``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from pybpf.btf import BTFError
from pybpf.btf.elfsections import section_data, section_names

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
MAX_SEED = 100_000

# Raw BTF that once made the C dump hang (a 4 GiB struct) or recurse without
# end (a typedef returned by its own function prototype).
HOSTILE_BTF = [
    bytes.fromhex(
        "9feb010018000000000000002800000028000000090000000100000001000004ffffffff"
        "030000000200000000000000050000000000000104000000200000010073006100696e7400"
    ),
    bytes.fromhex(
        "9feb01001800000000000000180000001800000003000000010000000000000802000000"
        "000000000000000d01000000007400"
    ),
]
# Sections of an object that hold no instructions.
_NOT_CODE = (".BTF", ".rel", ".symtab", ".strtab", ".shstrtab", ".debug", ".maps", ".data")


def _objects() -> Iterator[bytes]:
    for path in sorted(TESTDATA.glob("*.o")):
        yield path.read_bytes()


def _sections(name_test: Callable[[str], bool]) -> Iterator[bytes]:
    for obj in _objects():
        for name in section_names(obj):
            if name_test(name):
                try:
                    data = section_data(obj, name)
                except BTFError:  # .bss and the like hold no bytes
                    continue
                if data:
                    yield data


def seeds(target: str) -> Iterator[bytes]:
    """The seed inputs of one target."""
    if target == "asm":
        yield from _sections(lambda n: bool(n) and not n.startswith((*_NOT_CODE, ".rodata")))
    elif target in ("btf", "dump"):
        yield from _sections(lambda n: n == ".BTF")
        yield from HOSTILE_BTF
    elif target == "btf_ext":
        yield from _sections(lambda n: n == ".BTF.ext")
    elif target == "elf":
        yield from _objects()


def write_seeds(target: str, folder: Path) -> None:
    """Write ``target``'s seeds into ``folder``, one file each, named by content."""
    for data in seeds(target):
        if len(data) <= MAX_SEED:
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
