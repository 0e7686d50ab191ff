"""``pybpf gen``: a typed Python module for a BPF object, as ebpf-go's bpf2go makes Go.

:func:`generate` compiles C (or takes compiled objects) and returns the
module's text: a ``<Name>Objects`` class loading the object, with its
programs, maps and variables as attributes, and a Python class for each C
type its maps, variables and ring buffers hold.
"""

from pybpf.elf.gen.errors import ClangNotFoundError, CompileError, GenError
from pybpf.elf.gen.module import GeneratedModule, generate, object_file_names

__all__ = [
    "ClangNotFoundError",
    "CompileError",
    "GenError",
    "GeneratedModule",
    "generate",
    "object_file_names",
]
