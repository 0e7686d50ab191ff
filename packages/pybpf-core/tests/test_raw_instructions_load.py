"""Words the kernel refuses reach the kernel as they are, as libbpf leaves them.

``raw_insns`` holds an ALU offset the kernel reserves and an opcode it does
not know, each in its own program of a section shared with good programs.
libbpf 1.1.2 loads ``before`` and ``after`` (the same tags as here) and gets
EINVAL from the kernel for the other two; so does pybpf, with the verifier's
own words, not an encoder's refusal before the syscall.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pybpf.core import Collection, VerifierError
from pybpf.elf import load_collection_spec

pytestmark = pytest.mark.kernel


def _only(testdata: Path, program: str) -> Collection:
    spec = load_collection_spec(testdata / "raw_insns-el.o").copy()
    for name, prog in spec.programs.items():
        prog.autoload = name == program
    return Collection(spec)


@pytest.mark.parametrize("program", ["before", "after"])
def test_the_good_programs_load(testdata: Path, program: str) -> None:
    with _only(testdata, program) as coll:
        assert list(coll.programs) == [program]


@pytest.mark.parametrize(
    ("program", "words"),
    [("reserved_offset", "reserved fields"), ("unknown_opcode", "unknown opcode 8e")],
)
def test_the_kernel_refuses_the_raw_words(testdata: Path, program: str, words: str) -> None:
    with pytest.raises(VerifierError) as info:
        _only(testdata, program)
    assert info.value.errno == errno.EINVAL
    assert words in info.value.log
