"""The eleven eBPF registers, public in :mod:`pybpf.asm.opcodes` and :mod:`pybpf.asm`.

Apart from the opcode fields so that decoding and loading programs, which
name no register, do not build their enum.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing costs more than this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = ["R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "RFP", "Register"]


class Register(IntEnum):
    """The eleven registers: R0-R9 general purpose, R10 the read-only frame pointer."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10

    def __str__(self) -> str:
        return f"r{self.value}"


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = Register
#: The frame pointer, an alias of R10.
RFP = Register.R10
