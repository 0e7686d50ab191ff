"""Fuzz target: instruction decoding, disassembly, re-encoding and the program tag."""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.asm import InstructionError, decode
    from pybpf.asm.disasm import format_instruction

ALLOWED = (InstructionError,)


def check(data: bytes) -> None:
    """Decode ``data`` in both byte orders and use every instruction decoded."""
    for byteorder in ("little", "big"):
        try:
            insns = decode(data, byteorder)
        except InstructionError:
            continue
        for insn in insns:
            format_instruction(insn)
        assert insns.encode(byteorder) == data, "decode and encode disagree"
        insns.tag(byteorder)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
