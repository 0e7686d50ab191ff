"""pybpf.link: attaching BPF programs.

Every attach call returns a :class:`Link`, which keeps the program attached
until it is closed (or pinned). :func:`links` lists the kernel's links, and
:meth:`Link.from_pin`, :meth:`Link.from_id` and :meth:`Link.from_fd` open
them. :class:`Executable` finds executables and libraries, resolves their
functions to the file offsets uprobes take, and reads their USDT probes into
the records libbpf's ``usdt.bpf.h`` expects.

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
    from pybpf.core.sys import (
        AttachFlags,
        CgroupIterOrder,
        KprobeMultiFlags,
        LinkType,
        NetfilterFlags,
        PerfEventType,
        UprobeMultiFlags,
        XDPFlags,
    )
    from pybpf.link.errors import (
        AmbiguousSymbolError,
        BinaryNotFoundError,
        SymbolNotFoundError,
        TracepointNotFoundError,
        USDTArgumentError,
        USDTProbeNotFoundError,
    )
    from pybpf.link.executable import (
        Executable,
    )
    from pybpf.link.info import (
        LinkInfo,
    )
    from pybpf.link.iter import (
        IterLink,
        IterTask,
        iter,
    )
    from pybpf.link.link import (
        Link,
        link_ids,
        links,
    )
    from pybpf.link.paths import (
        resolve_binary_path,
    )
    from pybpf.link.perf_event import (
        LegacyPerfEventLink,
        PerfEventLink,
        perf_event,
    )
    from pybpf.link.struct_ops import (
        StructOpsLink,
        StructOpsRegistration,
        struct_ops,
    )
    from pybpf.link.tracefs import (
        tracefs_path,
    )
    from pybpf.link.tracepoint import (
        tracepoint,
    )
    from pybpf.link.tracing import (
        RawTracepointLink,
        TracingLink,
        freplace,
        raw_tracepoint,
        tracing,
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

# Where each public name is defined. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "AmbiguousSymbolError": "pybpf.link.errors",
    "AttachFlags": "pybpf.core.sys",
    "BinaryNotFoundError": "pybpf.link.errors",
    "CgroupIterOrder": "pybpf.core.sys",
    "EM_X86_64": "pybpf.link.usdt",
    "Executable": "pybpf.link.executable",
    "IterLink": "pybpf.link.iter",
    "IterTask": "pybpf.link.iter",
    "KprobeMultiFlags": "pybpf.core.sys",
    "LegacyPerfEventLink": "pybpf.link.perf_event",
    "Link": "pybpf.link.link",
    "LinkInfo": "pybpf.link.info",
    "LinkType": "pybpf.core.sys",
    "NetfilterFlags": "pybpf.core.sys",
    "PerfEventLink": "pybpf.link.perf_event",
    "PerfEventType": "pybpf.core.sys",
    "RawTracepointLink": "pybpf.link.tracing",
    "StructOpsLink": "pybpf.link.struct_ops",
    "StructOpsRegistration": "pybpf.link.struct_ops",
    "SymbolNotFoundError": "pybpf.link.errors",
    "TracepointNotFoundError": "pybpf.link.errors",
    "TracingLink": "pybpf.link.tracing",
    "USDTArgKind": "pybpf.link.usdt",
    "USDTArgument": "pybpf.link.usdt",
    "USDTArgumentError": "pybpf.link.errors",
    "USDTProbe": "pybpf.link.usdt",
    "USDTProbeNotFoundError": "pybpf.link.errors",
    "USDT_MAX_ARGS": "pybpf.link.usdt",
    "UprobeMultiFlags": "pybpf.core.sys",
    "X86_64_PT_REGS": "pybpf.link.usdt",
    "XDPFlags": "pybpf.core.sys",
    "encode_usdt_spec": "pybpf.link.usdt",
    "freplace": "pybpf.link.tracing",
    "iter": "pybpf.link.iter",
    "link_ids": "pybpf.link.link",
    "links": "pybpf.link.link",
    "parse_usdt_args": "pybpf.link.usdt",
    "perf_event": "pybpf.link.perf_event",
    "raw_tracepoint": "pybpf.link.tracing",
    "read_usdt_probes": "pybpf.link.usdt",
    "resolve_binary_path": "pybpf.link.paths",
    "struct_ops": "pybpf.link.struct_ops",
    "tracefs_path": "pybpf.link.tracefs",
    "tracepoint": "pybpf.link.tracepoint",
    "tracing": "pybpf.link.tracing",
}

__all__ = [
    "EM_X86_64",
    "USDT_MAX_ARGS",
    "X86_64_PT_REGS",
    "AmbiguousSymbolError",
    "AttachFlags",
    "BinaryNotFoundError",
    "CgroupIterOrder",
    "Executable",
    "IterLink",
    "IterTask",
    "KprobeMultiFlags",
    "LegacyPerfEventLink",
    "Link",
    "LinkInfo",
    "LinkType",
    "NetfilterFlags",
    "PerfEventLink",
    "PerfEventType",
    "RawTracepointLink",
    "StructOpsLink",
    "StructOpsRegistration",
    "SymbolNotFoundError",
    "TracepointNotFoundError",
    "TracingLink",
    "USDTArgKind",
    "USDTArgument",
    "USDTArgumentError",
    "USDTProbe",
    "USDTProbeNotFoundError",
    "UprobeMultiFlags",
    "XDPFlags",
    "encode_usdt_spec",
    "freplace",
    "iter",
    "link_ids",
    "links",
    "parse_usdt_args",
    "perf_event",
    "raw_tracepoint",
    "read_usdt_probes",
    "resolve_binary_path",
    "struct_ops",
    "tracefs_path",
    "tracepoint",
    "tracing",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)


def _keep_functions_over_modules() -> None:
    """Keep ``pybpf.link.tracing`` the function when its module ``pybpf.link.tracing`` loads.

    Several attach functions share their module's name (``tracepoint``,
    ``tracing``, ``iter``, ``struct_ops``). Loading a submodule sets it as
    an attribute of the package, which would hide the function from then on;
    the package refuses that one assignment, so the name stays the function
    (the module is still ``sys.modules["pybpf.link.tracing"]``).
    """
    import sys  # noqa: PLC0415 (only here: the package module imports nothing up front)
    import types  # noqa: PLC0415

    shadowed = frozenset(n for n, m in _EXPORTS.items() if m == f"{__name__}.{n}")

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: object) -> None:
            if name in shadowed and isinstance(value, types.ModuleType):
                return
            super().__setattr__(name, value)

    sys.modules[__name__].__class__ = _Package


_keep_functions_over_modules()
