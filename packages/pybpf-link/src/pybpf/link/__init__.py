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
    from pybpf.link.tracefs import (
        tracefs_path,
    )
    from pybpf.link.tracepoint import (
        tracepoint,
    )
    from pybpf.link.uprobe import (
        UprobeMultiLink,
        have_uprobe_multi,
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
    from pybpf.link.usdt_attach import (
        USDTLink,
    )

# Where each public name is defined. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "AmbiguousSymbolError": "pybpf.link.errors",
    "AttachFlags": "pybpf.core.sys",
    "BinaryNotFoundError": "pybpf.link.errors",
    "EM_X86_64": "pybpf.link.usdt",
    "Executable": "pybpf.link.executable",
    "KprobeMultiFlags": "pybpf.core.sys",
    "LegacyPerfEventLink": "pybpf.link.perf_event",
    "Link": "pybpf.link.link",
    "LinkInfo": "pybpf.link.info",
    "LinkType": "pybpf.core.sys",
    "NetfilterFlags": "pybpf.core.sys",
    "PerfEventLink": "pybpf.link.perf_event",
    "PerfEventType": "pybpf.core.sys",
    "SymbolNotFoundError": "pybpf.link.errors",
    "TracepointNotFoundError": "pybpf.link.errors",
    "USDTArgKind": "pybpf.link.usdt",
    "USDTArgument": "pybpf.link.usdt",
    "USDTArgumentError": "pybpf.link.errors",
    "USDTLink": "pybpf.link.usdt_attach",
    "USDTProbe": "pybpf.link.usdt",
    "USDTProbeNotFoundError": "pybpf.link.errors",
    "USDT_MAX_ARGS": "pybpf.link.usdt",
    "UprobeMultiFlags": "pybpf.core.sys",
    "UprobeMultiLink": "pybpf.link.uprobe",
    "X86_64_PT_REGS": "pybpf.link.usdt",
    "XDPFlags": "pybpf.core.sys",
    "encode_usdt_spec": "pybpf.link.usdt",
    "have_uprobe_multi": "pybpf.link.uprobe",
    "link_ids": "pybpf.link.link",
    "links": "pybpf.link.link",
    "parse_usdt_args": "pybpf.link.usdt",
    "perf_event": "pybpf.link.perf_event",
    "read_usdt_probes": "pybpf.link.usdt",
    "resolve_binary_path": "pybpf.link.paths",
    "tracefs_path": "pybpf.link.tracefs",
    "tracepoint": "pybpf.link.tracepoint",
}

__all__ = [
    "EM_X86_64",
    "USDT_MAX_ARGS",
    "X86_64_PT_REGS",
    "AmbiguousSymbolError",
    "AttachFlags",
    "BinaryNotFoundError",
    "Executable",
    "KprobeMultiFlags",
    "LegacyPerfEventLink",
    "Link",
    "LinkInfo",
    "LinkType",
    "NetfilterFlags",
    "PerfEventLink",
    "PerfEventType",
    "SymbolNotFoundError",
    "TracepointNotFoundError",
    "USDTArgKind",
    "USDTArgument",
    "USDTArgumentError",
    "USDTLink",
    "USDTProbe",
    "USDTProbeNotFoundError",
    "UprobeMultiFlags",
    "UprobeMultiLink",
    "XDPFlags",
    "encode_usdt_spec",
    "have_uprobe_multi",
    "link_ids",
    "links",
    "parse_usdt_args",
    "perf_event",
    "read_usdt_probes",
    "resolve_binary_path",
    "tracefs_path",
    "tracepoint",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
