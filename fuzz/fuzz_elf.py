"""Fuzz target: the ELF reader, from bytes to a CollectionSpec."""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.asm import InstructionError
    from pybpf.btf import BTFError
    from pybpf.elf import ELFError, load_collection_spec

# The reader's own error, and those of the layers it parses with.
ALLOWED = (ELFError, BTFError, InstructionError)


def check(data: bytes) -> None:
    """Read ``data`` as a BPF object file and copy the spec it gives."""
    spec = load_collection_spec(data)
    spec.copy()


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
