"""The byte orders eBPF code and data come in: one name for every pybpf layer.

A module of its own, so that a layer that only annotates with it (the BTF
parser, the ELF reader) does not import the instruction set to get it.
"""

from __future__ import annotations

__all__ = ["ByteOrder"]

# Not typing.TYPE_CHECKING: every layer imports this module, and typing costs
# more than a load's own work. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    #: ``"little"`` (``bpfel``) or ``"big"`` (``bpfeb``), as :meth:`int.from_bytes` spells them.
    ByteOrder: TypeAlias = Literal["little", "big"]
else:
    from pybpf.asm.exports import lazy_value

    def _byte_order():
        """``ByteOrder`` for run-time readers (annotations never read it)."""
        from typing import Literal  # noqa: PLC0415 (only this alias needs typing)

        return Literal["little", "big"]

    __getattr__ = lazy_value(globals(), "ByteOrder", _byte_order)
