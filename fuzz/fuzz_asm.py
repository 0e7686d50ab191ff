"""Fuzz target: instruction decoding, disassembly, re-encoding and the program tag."""

from __future__ import annotations

import os
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.asm import InstructionError, decode
    from pybpf.asm import codec as asm_codec
    from pybpf.asm.byteorder import ByteOrder
    from pybpf.asm.disasm import format_instruction

ALLOWED = (InstructionError,)


def _decoded_in_python(data: bytes, byteorder: ByteOrder) -> object:
    """The fields decoded (or the error) with the compiled codec turned off."""
    os.environ["PYBPF_ASM_CODEC"] = "python"
    asm_codec._compiled_codec.cache_clear()
    try:
        return [(i.opcode, i.dst, i.src, i.offset, i.constant) for i in decode(data, byteorder)]
    except InstructionError as exc:
        return (str(exc), exc.offset)
    finally:
        del os.environ["PYBPF_ASM_CODEC"]
        asm_codec._compiled_codec.cache_clear()


def check(data: bytes) -> None:
    """Decode ``data`` in both byte orders and use every instruction decoded.

    Where pybpf-core's compiled codec is installed, the Python code must
    decode the same instructions or raise the same error.
    """
    compiled = asm_codec._compiled_codec() is not None
    for byteorder in ("little", "big"):
        if compiled:
            try:
                fields: object = [
                    (i.opcode, i.dst, i.src, i.offset, i.constant) for i in decode(data, byteorder)
                ]
            except InstructionError as exc:
                fields = (str(exc), exc.offset)
            assert fields == _decoded_in_python(data, byteorder), "the two codecs disagree"
        try:
            insns = decode(data, byteorder)
        except InstructionError:
            _check_as_is(data, byteorder)
            continue
        for insn in insns:
            format_instruction(insn)
        assert insns.encode(byteorder) == data, "decode and encode disagree"
        insns.tag(byteorder)


def _check_as_is(data: bytes, byteorder: ByteOrder) -> None:
    """Words strict decoding refuses: read and written back as they are, or InstructionError.

    The ELF reader and the loader take such words this way (``strict=False``).
    """
    try:
        insns = decode(data, byteorder, strict=False)
    except InstructionError:
        return
    for insn in insns:
        format_instruction(insn)
    try:
        encoded = insns.encode(byteorder, strict=False)
    except InstructionError:
        return
    if all(insn.slots == 1 for insn in insns):
        assert encoded == data, "lenient decode and encode disagree"


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
