"""Programs holding words the kernel refuses still open, as with libbpf.

``raw_insns`` puts an ALU offset the kernel reserves and an opcode it does
not know in the same ``socket`` section as two good programs (the verifier
tests write such words with ``__imm_insn()``). libbpf opens the object
(1.1.2: instruction counts 7, 4, 3, 6) and loads the good programs; the
kernel refuses the others. Only a broken LD_IMM64 pair stays a reading error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.elf import ELFError, load_collection_spec


@pytest.mark.parametrize("order", ["el", "eb"])
def test_the_object_opens_with_every_program(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"raw_insns-{order}.o")
    slots = {name: p.own_slots for name, p in spec.programs.items()}
    assert slots == {"before": 7, "reserved_offset": 4, "unknown_opcode": 3, "after": 6}
    assert {p.section for p in spec.programs.values()} == {"socket"}


@pytest.mark.parametrize("order", ["el", "eb"])
def test_the_raw_words_are_kept_as_they_are(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"raw_insns-{order}.o")
    div = spec.programs["reserved_offset"].instructions[1]
    assert (div.opcode, div.dst, div.src, div.offset, div.constant) == (0x3F, 0, 0, -1, 0)
    call = spec.programs["unknown_opcode"].instructions[1]
    assert (call.opcode, call.dst, call.src, call.offset, call.constant) == (0x8E, 2, 0, 0, 0)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_programs_after_the_raw_words_keep_their_references(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"raw_insns-{order}.o")
    loads = [i for i in spec.programs["after"].instructions if i.reference is not None]
    assert [i.reference for i in loads] == [".bss"]


def test_a_broken_ld_imm64_pair_is_still_an_error(testdata: Path, tmp_path: Path) -> None:
    data = bytearray((testdata / "raw_insns-el.o").read_bytes())
    # The reserved-offset div (0x3f, offset 0xffff), made an LD_IMM64 whose
    # second half is the next instruction (r0 = 0): not opcode 0.
    word = bytes([0x3F, 0, 0xFF, 0xFF, 0, 0, 0, 0])
    at = data.index(word)
    data[at] = 0x18
    broken = tmp_path / "broken.o"
    broken.write_bytes(bytes(data))
    with pytest.raises(ELFError, match="second half of this LD_IMM64") as info:
        load_collection_spec(broken)
    assert "section 'socket'" in str(info.value)
