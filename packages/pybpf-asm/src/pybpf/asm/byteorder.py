"""The byte orders eBPF code and data come in: one name for every pybpf layer.

A module of its own, so that a layer that only annotates with it (the BTF
parser, the ELF reader) does not import the instruction set to get it.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ByteOrder"]

#: ``"little"`` (``bpfel``) or ``"big"`` (``bpfeb``), as :meth:`int.from_bytes` spells them.
ByteOrder = Literal["little", "big"]
