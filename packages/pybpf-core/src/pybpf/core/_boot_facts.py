"""Answers of kernel probes, kept for the rest of the boot.

What the running kernel accepts cannot change until it is replaced, which
takes a new boot: a probe's definite answer is kept in one boot note (see
:func:`pybpf.btf.kernel.store_boot_note`, keyed by the boot id and the
kernel's build) and later processes of the boot read it back instead of
asking the kernel again. A probe returns None when its failure says nothing
about the kernel (EPERM without privileges): that is not kept.
"""

from __future__ import annotations

# _thread's lock, not threading's (the same lock): threading costs every load an import.
import _thread
import functools
from collections.abc import Callable

from pybpf.btf.kernel import load_boot_note, store_boot_note

__all__ = ["probed"]

#: The note's name; its body is ``fact=0|1`` lines.
_NOTE = "core-probes"
_lock = _thread.allocate_lock()


def probed(fact: str, probe: Callable[[], bool | None]) -> bool | None:
    """``fact`` as kept in this boot, else ``probe()``'s answer (kept when it is definite)."""
    saved = _saved()
    known = saved.get(fact)
    if known is not None:
        return known
    answer = probe()
    if answer is not None:
        with _lock:
            saved[fact] = answer
            body = "".join(f"{name}={int(value)}\n" for name, value in sorted(saved.items()))
            store_boot_note(_NOTE, body.encode())
    return answer


@functools.cache
def _saved() -> dict[str, bool]:
    """The facts kept in this boot, read once per process (and added to as probes run)."""
    note = load_boot_note(_NOTE)
    facts: dict[str, bool] = {}
    for line in note.decode("ascii", "replace").splitlines() if note else ():
        name, _, value = line.partition("=")
        if value in {"0", "1"}:
            facts[name] = value == "1"
    return facts
