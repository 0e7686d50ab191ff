"""A program's instructions as text, with source lines interleaved.

Shared by ``pybpf prog disasm`` (an object file's line info) and ``pybpf prog
dump --xlated`` (the kernel's): like ``llvm-objdump -S`` and ``bpftool prog
dump xlated linum``, a source line is printed once, before the first
instruction it produced, as ``; text @ file:line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from pybpf.asm.disasm import format_instruction
from pybpf.asm.instruction import Instruction

__all__ = ["SourceLine", "listing_lines"]

#: One source line: (file, line number, text).
SourceLine = tuple[str, int, str]


def listing_lines(
    insns: Iterable[Instruction],
    sources: Mapping[int, SourceLine] | None = None,
    symbols: Mapping[int, str] | None = None,
) -> Iterator[str]:
    """``slot: text`` per instruction; ``sources`` and ``symbols`` are keyed by slot."""
    sources = sources or {}
    symbols = symbols or {}
    slot = 0
    last: SourceLine | None = None
    for insn in insns:
        name = symbols.get(slot, insn.symbol)
        if name:
            yield f"{name}:"
        source = sources.get(slot)
        if source is not None and source != last:
            file, number, text = source
            yield f"; {text.strip()} @ {file.rsplit('/', 1)[-1]}:{number}"
            last = source
        yield f"{slot:>5}: {format_instruction(insn)}"
        slot += insn.slots
