"""The records of executables and shared libraries: program headers and notes.

Apart from :mod:`._elffile` (which re-exports them) because only reading an
executable makes them (a uprobe's segments, a USDT probe's notes): a BPF
object has neither, and each named tuple class costs a load its making.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from pybpf.asm.runtime_typing import NamedTuple

__all__ = ["Note", "ProgramHeader"]


class ProgramHeader(NamedTuple):
    """One entry of the program header table (a segment)."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class Note(NamedTuple):
    """One ELF note: its owner (``"GNU"``, ``"stapsdt"``), type and descriptor bytes."""

    name: str
    type: int
    desc: bytes
    offset: int
    """Where the note starts within its section."""
