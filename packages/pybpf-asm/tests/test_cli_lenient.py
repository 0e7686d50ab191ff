"""The lenient decode mode: the kernel's translated instructions, internal encodings and all."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.asm import Instruction, InstructionError
from pybpf.asm.instructions import decode


def raw_code(*insns: Instruction) -> bytes:
    """Little-endian bytes of ``insns``, unchecked (encode() would refuse some)."""
    out = b""
    for i in insns:
        out += struct.pack("<BBhi", i.opcode, i.dst | i.src << 4, i.offset, i.constant)
    return out


# The kernel's internal encodings, as translated instructions can hold them:
# BPF_JMP|BPF_TAIL_CALL (0xf5 without the X bit), a register above r10 (the
# verifier's BPF_REG_AX), and an LD_IMM64 around them.
KERNEL_CODE = (
    raw_code(Instruction(0xF5))
    + struct.pack("<BBhi", 0xBF, 0x0B, 0, 0)
    + raw_code(Instruction(0x18, 1, 0, 0, 5), Instruction(0, 0, 0, 0, 1))
    + raw_code(Instruction(0x95))
)


def test_lenient_decode_keeps_what_strict_rejects() -> None:
    with pytest.raises(InstructionError):
        decode(KERNEL_CODE, "little")
    insns = decode(KERNEL_CODE, "little", strict=False)
    assert [i.opcode for i in insns] == [0xF5, 0xBF, 0x18, 0x95]
    assert insns[1].dst == 11
    assert insns[2].constant == (1 << 32) | 5
    assert insns.slots == 5


def test_lenient_decode_is_strict_decode_on_valid_code() -> None:
    valid = raw_code(Instruction(0xB7, 0, 0, 0, -1), Instruction(0x95))
    assert decode(valid, "little", strict=False) == decode(valid, "little")
    with pytest.raises(InstructionError):
        decode(valid[:-3], "little", strict=False)


def test_asm_disasm_lenient(tmp_path: Path) -> None:
    prog = tmp_path / "kernel.bin"
    prog.write_bytes(KERNEL_CODE)
    strict = _disasm(str(prog), "--byteorder", "little")
    assert strict.returncode == 1 and "unknown opcode" in strict.stderr
    out = _disasm(str(prog), "--byteorder", "little", "--lenient")
    assert out.returncode == 0, out.stderr
    assert "<unknown opcode 0xf5>" in out.stdout
    assert out.stdout.splitlines()[-1] == "    4: exit"


def _disasm(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pybpf")
    cmd = [str(script), "asm", "disasm", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)
