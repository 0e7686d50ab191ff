"""What the ``src`` field of an LD_IMM64 or a CALL means, as enums.

Public in :mod:`pybpf.asm.opcodes` and :mod:`pybpf.asm`; apart from the plain
numbers (``PSEUDO_*`` in :mod:`pybpf.asm.opcodes`, which decoding, relocating
and loading compare) and from the opcode fields, so that code naming a
pseudo source builds only these two classes.
"""

from __future__ import annotations

from pybpf.asm import opcodes as op

# Not typing.TYPE_CHECKING: importing typing costs more than this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = ["CallSource", "PseudoSource"]


class PseudoSource(IntEnum):
    """What the 64-bit immediate of an LD_IMM64 stands for (its ``src`` field)."""

    #: A plain 64-bit constant.
    IMM = op.PSEUDO_NONE
    #: ``BPF_PSEUDO_MAP_FD``: the low half is a map fd.
    MAP_FD = op.PSEUDO_MAP_FD
    #: ``BPF_PSEUDO_MAP_VALUE``: a map fd and an offset into its value.
    MAP_VALUE = op.PSEUDO_MAP_VALUE
    #: ``BPF_PSEUDO_BTF_ID``: a kernel variable by BTF id.
    BTF_ID = op.PSEUDO_BTF_ID
    #: ``BPF_PSEUDO_FUNC``: the address of a subprogram, relative like a call.
    FUNC = op.PSEUDO_FUNC
    #: ``BPF_PSEUDO_MAP_IDX``: an index into the ``fd_array`` of the load.
    MAP_IDX = op.PSEUDO_MAP_IDX
    #: ``BPF_PSEUDO_MAP_IDX_VALUE``: ``fd_array`` index and value offset.
    MAP_IDX_VALUE = op.PSEUDO_MAP_IDX_VALUE


class CallSource(IntEnum):
    """What a CALL instruction calls (its ``src`` field)."""

    #: A helper function by id (``enum bpf_func_id``).
    HELPER = op.PSEUDO_NONE
    #: ``BPF_PSEUDO_CALL``: a subprogram, by relative offset.
    LOCAL = op.PSEUDO_CALL
    #: ``BPF_PSEUDO_KFUNC_CALL``: a kernel function by BTF id.
    KFUNC = op.PSEUDO_KFUNC_CALL
