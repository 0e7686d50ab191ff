"""pybpf.link: attaching BPF programs.

So far the part that needs no kernel: finding executables and libraries
(:class:`Executable`), resolving their functions to the file offsets uprobes
take, and reading their USDT probes into the records libbpf's ``usdt.bpf.h``
expects. The link types themselves come with core's syscall layer.

>>> from pybpf.link import Executable
>>> Executable("libc.so.6").symbol_offset("malloc") > 0
True
"""

from __future__ import annotations

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from pybpf.link.errors import (
        AmbiguousSymbolError,
        BinaryNotFoundError,
        SymbolNotFoundError,
        USDTArgumentError,
        USDTProbeNotFoundError,
    )
    from pybpf.link.executable import (
        Executable,
    )
    from pybpf.link.paths import (
        resolve_binary_path,
    )
    from pybpf.link.usdt import (
        EM_X86_64,
        USDT_MAX_ARGS,
        X86_64_PT_REGS,
        USDTArgKind,
        USDTArgument,
        USDTProbe,
        encode_usdt_spec,
        parse_usdt_args,
        read_usdt_probes,
    )

# The public names, by the module defining each. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "pybpf.link.errors": (
        "AmbiguousSymbolError",
        "BinaryNotFoundError",
        "SymbolNotFoundError",
        "USDTArgumentError",
        "USDTProbeNotFoundError",
    ),
    "pybpf.link.executable": ("Executable",),
    "pybpf.link.paths": ("resolve_binary_path",),
    "pybpf.link.usdt": (
        "EM_X86_64",
        "USDT_MAX_ARGS",
        "X86_64_PT_REGS",
        "USDTArgKind",
        "USDTArgument",
        "USDTProbe",
        "encode_usdt_spec",
        "parse_usdt_args",
        "read_usdt_probes",
    ),
}

__all__ = [
    "EM_X86_64",
    "USDT_MAX_ARGS",
    "X86_64_PT_REGS",
    "AmbiguousSymbolError",
    "BinaryNotFoundError",
    "Executable",
    "SymbolNotFoundError",
    "USDTArgKind",
    "USDTArgument",
    "USDTArgumentError",
    "USDTProbe",
    "USDTProbeNotFoundError",
    "encode_usdt_spec",
    "parse_usdt_args",
    "read_usdt_probes",
    "resolve_binary_path",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
