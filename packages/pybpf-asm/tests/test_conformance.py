"""Every program section of every testdata object round-trips and reads like llvm-objdump."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf import asm

elftools = pytest.importorskip("elftools.elf.elffile")

SHF_EXECINSTR = 0x4
# The newest objdump knows the most instructions (cpu v4); older ones print <unknown>.
OBJDUMP = next(
    (p for p in map(shutil.which, ("llvm-objdump-19", "llvm-objdump-18", "llvm-objdump")) if p),
    None,
)


def objdump_version() -> int:
    """The LLVM major version of OBJDUMP (0 when unknown)."""
    if OBJDUMP is None:
        return 0
    out = subprocess.run([OBJDUMP, "--version"], check=False, capture_output=True, text=True).stdout
    m = re.search(r"LLVM version (\d+)", out)
    return int(m.group(1)) if m else 0


# Older LLVMs print decimal immediates and know fewer v4 instructions: compare
# their text only from the version our disassembler follows.
COMPARE_TEXT = objdump_version() >= 19


def program_sections(path: Path) -> tuple[asm.ByteOrder, dict[str, bytes]]:
    """The byte order and the executable sections (name -> bytes) of an object."""
    with path.open("rb") as f:
        elf = elftools.ELFFile(f)
        order: asm.ByteOrder = "little" if elf.little_endian else "big"
        sections = {
            sec.name: sec.data()
            for sec in elf.iter_sections()
            if sec["sh_type"] == "SHT_PROGBITS"
            and sec["sh_flags"] & SHF_EXECINSTR
            and sec.data_size
        }
    return order, sections


def decode(data: bytes, order: asm.ByteOrder) -> tuple[asm.Instructions, bool]:
    """The section's instructions, and whether the UAPI defines all of them.

    ``raw_insns`` holds words the kernel is to refuse, on purpose: those read
    and write back as they are (``strict=False``).
    """
    try:
        return asm.decode(data, order), True
    except asm.InstructionError:
        return asm.decode(data, order, strict=False), False


def test_roundtrip(obj_path: Path) -> None:
    order, sections = program_sections(obj_path)
    assert sections, "no program sections"
    for name, data in sections.items():
        insns, strict = decode(data, order)
        assert insns.encode(order, strict=strict) == data, name
        assert insns.slots * 8 == len(data), name
        # The other byte order is a faithful encoding too.
        other: asm.ByteOrder = "big" if order == "little" else "little"
        again = asm.decode(insns.encode(other, strict=strict), other, strict=strict)
        assert again == insns, name


_LINE = re.compile(r"^\s*(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\s*\t?(.*)$")
_SECTION = re.compile(r"^Disassembly of section (.*):$")
_ANNOTATION = re.compile(r" <[^<>]*>$")


def objdump(path: Path) -> dict[str, list[tuple[int, bytes, str]]]:
    """llvm-objdump's view: per section, (slot, raw bytes, text) of each instruction."""
    assert OBJDUMP is not None
    out = subprocess.run(
        [OBJDUMP, "-d", str(path)], check=True, capture_output=True, text=True
    ).stdout
    sections: dict[str, list[tuple[int, bytes, str]]] = {}
    current: list[tuple[int, bytes, str]] = []
    for line in out.splitlines():
        if m := _SECTION.match(line):
            current = sections.setdefault(m.group(1), [])
        elif m := _LINE.match(line):
            current.append((int(m.group(1)), bytes.fromhex(m.group(2)), m.group(3).strip()))
    return sections


def comparable(insn: asm.Instruction, llvm_text: str) -> tuple[str, str] | None:
    """Both texts without annotations, or None where LLVM 19 is known to print otherwise."""
    theirs = _ANNOTATION.sub("", llvm_text)
    if theirs == "<unknown>":
        return None
    mine = _ANNOTATION.sub(
        "", asm.Instruction(insn.opcode, insn.dst, insn.src, insn.offset, insn.constant).__str__()
    )
    if insn.opcode == 0xC3:
        # LLVM 19 decodes every 32-bit atomic as the non-fetching add on r-registers.
        return None
    if insn.is_kfunc_call:
        mine = mine.replace("call kfunc ", "call ")
    if insn.opcode & 0xE7 == 0x40 and insn.constant:
        # LLVM drops the immediate of LD_IND.
        mine = re.sub(r" \+ 0x[0-9a-f]+\]", "]", mine)
    return mine, theirs


@pytest.mark.skipif(OBJDUMP is None, reason="llvm-objdump not installed")
def test_agrees_with_llvm_objdump(obj_path: Path) -> None:
    order, sections = program_sections(obj_path)
    theirs = objdump(obj_path)
    compared = 0
    for name, data in sections.items():
        insns, strict = decode(data, order)
        lines = theirs[name]
        assert len(lines) == len(insns), f"{name}: instruction count"
        for (slot, insn), (their_slot, raw, text) in zip(insns.offsets(), lines, strict=True):
            assert slot == their_slot, name
            assert asm.Instructions([insn]).encode(order, strict=strict) == raw, f"{name}+{slot}"
            pair = comparable(insn, text) if COMPARE_TEXT and strict else None
            if pair is not None:
                assert pair[0] == pair[1], f"{name}+{slot}: {raw.hex()}"
                compared += 1
    assert compared or not COMPARE_TEXT
