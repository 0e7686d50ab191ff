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
    from pybpf.link.cgroup import (
        CgroupLink,
        CgroupProgram,
        CgroupQuery,
        LegacyCgroupLink,
        cgroup,
        cgroup_legacy,
        query_cgroup,
    )
    from pybpf.link.errors import (
        AmbiguousSymbolError,
        BinaryNotFoundError,
        NotACgroupError,
        NotANetworkNamespaceError,
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
    from pybpf.link.netfilter import (
        NetfilterFamily,
        NetfilterHook,
        NetfilterLink,
        netfilter,
    )
    from pybpf.link.netns import (
        NetNsLink,
        netns,
    )
    from pybpf.link.paths import (
        resolve_binary_path,
    )
    from pybpf.link.perf_event import (
        LegacyPerfEventLink,
        PerfEventLink,
        perf_event,
    )
    from pybpf.link.prog_attach import (
        ProgAttachLink,
    )
    from pybpf.link.sockets import (
        detach_reuseport,
        detach_socket_filter,
        reuseport,
        socket_filter,
    )
    from pybpf.link.sockmap import (
        LegacySockmapLink,
        SockmapLink,
        sockmap,
    )
    from pybpf.link.tracefs import (
        tracefs_path,
    )
    from pybpf.link.tracepoint import (
        tracepoint,
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
    "CgroupLink": "pybpf.link.cgroup",
    "CgroupProgram": "pybpf.link.cgroup",
    "CgroupQuery": "pybpf.link.cgroup",
    "EM_X86_64": "pybpf.link.usdt",
    "Executable": "pybpf.link.executable",
    "KprobeMultiFlags": "pybpf.core.sys",
    "LegacyCgroupLink": "pybpf.link.cgroup",
    "LegacyPerfEventLink": "pybpf.link.perf_event",
    "LegacySockmapLink": "pybpf.link.sockmap",
    "Link": "pybpf.link.link",
    "LinkInfo": "pybpf.link.info",
    "LinkType": "pybpf.core.sys",
    "NetNsLink": "pybpf.link.netns",
    "NetfilterFamily": "pybpf.link.netfilter",
    "NetfilterFlags": "pybpf.core.sys",
    "NetfilterHook": "pybpf.link.netfilter",
    "NetfilterLink": "pybpf.link.netfilter",
    "NotACgroupError": "pybpf.link.errors",
    "NotANetworkNamespaceError": "pybpf.link.errors",
    "PerfEventLink": "pybpf.link.perf_event",
    "PerfEventType": "pybpf.core.sys",
    "ProgAttachLink": "pybpf.link.prog_attach",
    "SockmapLink": "pybpf.link.sockmap",
    "SymbolNotFoundError": "pybpf.link.errors",
    "TracepointNotFoundError": "pybpf.link.errors",
    "USDTArgKind": "pybpf.link.usdt",
    "USDTArgument": "pybpf.link.usdt",
    "USDTArgumentError": "pybpf.link.errors",
    "USDTProbe": "pybpf.link.usdt",
    "USDTProbeNotFoundError": "pybpf.link.errors",
    "USDT_MAX_ARGS": "pybpf.link.usdt",
    "UprobeMultiFlags": "pybpf.core.sys",
    "X86_64_PT_REGS": "pybpf.link.usdt",
    "XDPFlags": "pybpf.core.sys",
    "cgroup": "pybpf.link.cgroup",
    "cgroup_legacy": "pybpf.link.cgroup",
    "detach_reuseport": "pybpf.link.sockets",
    "detach_socket_filter": "pybpf.link.sockets",
    "encode_usdt_spec": "pybpf.link.usdt",
    "link_ids": "pybpf.link.link",
    "links": "pybpf.link.link",
    "netfilter": "pybpf.link.netfilter",
    "netns": "pybpf.link.netns",
    "parse_usdt_args": "pybpf.link.usdt",
    "perf_event": "pybpf.link.perf_event",
    "query_cgroup": "pybpf.link.cgroup",
    "read_usdt_probes": "pybpf.link.usdt",
    "resolve_binary_path": "pybpf.link.paths",
    "reuseport": "pybpf.link.sockets",
    "socket_filter": "pybpf.link.sockets",
    "sockmap": "pybpf.link.sockmap",
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
    "CgroupLink",
    "CgroupProgram",
    "CgroupQuery",
    "Executable",
    "KprobeMultiFlags",
    "LegacyCgroupLink",
    "LegacyPerfEventLink",
    "LegacySockmapLink",
    "Link",
    "LinkInfo",
    "LinkType",
    "NetNsLink",
    "NetfilterFamily",
    "NetfilterFlags",
    "NetfilterHook",
    "NetfilterLink",
    "NotACgroupError",
    "NotANetworkNamespaceError",
    "PerfEventLink",
    "PerfEventType",
    "ProgAttachLink",
    "SockmapLink",
    "SymbolNotFoundError",
    "TracepointNotFoundError",
    "USDTArgKind",
    "USDTArgument",
    "USDTArgumentError",
    "USDTProbe",
    "USDTProbeNotFoundError",
    "UprobeMultiFlags",
    "XDPFlags",
    "cgroup",
    "cgroup_legacy",
    "detach_reuseport",
    "detach_socket_filter",
    "encode_usdt_spec",
    "link_ids",
    "links",
    "netfilter",
    "netns",
    "parse_usdt_args",
    "perf_event",
    "query_cgroup",
    "read_usdt_probes",
    "resolve_binary_path",
    "reuseport",
    "socket_filter",
    "sockmap",
    "tracefs_path",
    "tracepoint",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
