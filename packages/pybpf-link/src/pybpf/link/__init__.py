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
    from pybpf.link.auto import (
        AutoTarget,
        attach,
        attach_all,
        auto_attachable,
        auto_target,
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
        InterfaceNotFoundError,
        KernelSymbolNotFoundError,
        NotACgroupError,
        NotANetworkNamespaceError,
        SectionNotAttachableError,
        SymbolNotFoundError,
        TracepointNotFoundError,
        USDTArgumentError,
        USDTProbeNotFoundError,
    )
    from pybpf.link.executable import (
        Executable,
    )
    from pybpf.link.info import (
        CgroupInfo,
        EventInfo,
        IterInfo,
        KprobeInfo,
        KprobeMultiInfo,
        LinkInfo,
        NetfilterInfo,
        NetkitInfo,
        NetNsInfo,
        PerfEventInfo,
        RawTracepointInfo,
        SockmapInfo,
        StructOpsInfo,
        TCXInfo,
        TracepointInfo,
        TracingInfo,
        UprobeInfo,
        UprobeMultiInfo,
        XDPInfo,
    )
    from pybpf.link.iter import (
        IterLink,
        IterTask,
        iter,
    )
    from pybpf.link.kprobe import (
        KprobeMultiLink,
        kprobe,
        kprobe_multi,
        ksyscall,
        syscall_function,
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
    from pybpf.link.netkit import (
        NetkitLink,
        netkit,
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
    from pybpf.link.struct_ops import (
        StructOpsLink,
        StructOpsRegistration,
        struct_ops,
    )
    from pybpf.link.tc import (
        TCLink,
        tc,
    )
    from pybpf.link.tcx import (
        TCXLink,
        tcx,
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
    from pybpf.link.xdp import (
        LegacyXDPLink,
        XDPLink,
        XDPMode,
        xdp,
        xdp_legacy,
    )

# Where each public name is defined. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "AmbiguousSymbolError": "pybpf.link.errors",
    "AttachFlags": "pybpf.core.sys",
    "AutoTarget": "pybpf.link.auto",
    "BinaryNotFoundError": "pybpf.link.errors",
    "CgroupInfo": "pybpf.link.info",
    "CgroupIterOrder": "pybpf.core.sys",
    "CgroupLink": "pybpf.link.cgroup",
    "CgroupProgram": "pybpf.link.cgroup",
    "CgroupQuery": "pybpf.link.cgroup",
    "EM_X86_64": "pybpf.link.usdt",
    "EventInfo": "pybpf.link.info",
    "Executable": "pybpf.link.executable",
    "InterfaceNotFoundError": "pybpf.link.errors",
    "IterInfo": "pybpf.link.info",
    "IterLink": "pybpf.link.iter",
    "IterTask": "pybpf.link.iter",
    "KernelSymbolNotFoundError": "pybpf.link.errors",
    "KprobeInfo": "pybpf.link.info",
    "KprobeMultiFlags": "pybpf.core.sys",
    "KprobeMultiInfo": "pybpf.link.info",
    "KprobeMultiLink": "pybpf.link.kprobe",
    "LegacyCgroupLink": "pybpf.link.cgroup",
    "LegacyPerfEventLink": "pybpf.link.perf_event",
    "LegacySockmapLink": "pybpf.link.sockmap",
    "LegacyXDPLink": "pybpf.link.xdp",
    "Link": "pybpf.link.link",
    "LinkInfo": "pybpf.link.info",
    "LinkType": "pybpf.core.sys",
    "NetNsInfo": "pybpf.link.info",
    "NetNsLink": "pybpf.link.netns",
    "NetfilterFamily": "pybpf.link.netfilter",
    "NetfilterFlags": "pybpf.core.sys",
    "NetfilterHook": "pybpf.link.netfilter",
    "NetfilterInfo": "pybpf.link.info",
    "NetfilterLink": "pybpf.link.netfilter",
    "NetkitInfo": "pybpf.link.info",
    "NetkitLink": "pybpf.link.netkit",
    "NotACgroupError": "pybpf.link.errors",
    "NotANetworkNamespaceError": "pybpf.link.errors",
    "PerfEventInfo": "pybpf.link.info",
    "PerfEventLink": "pybpf.link.perf_event",
    "PerfEventType": "pybpf.core.sys",
    "ProgAttachLink": "pybpf.link.prog_attach",
    "RawTracepointInfo": "pybpf.link.info",
    "RawTracepointLink": "pybpf.link.tracing",
    "SectionNotAttachableError": "pybpf.link.errors",
    "SockmapInfo": "pybpf.link.info",
    "SockmapLink": "pybpf.link.sockmap",
    "StructOpsInfo": "pybpf.link.info",
    "StructOpsLink": "pybpf.link.struct_ops",
    "StructOpsRegistration": "pybpf.link.struct_ops",
    "SymbolNotFoundError": "pybpf.link.errors",
    "TCLink": "pybpf.link.tc",
    "TCXInfo": "pybpf.link.info",
    "TCXLink": "pybpf.link.tcx",
    "TracepointInfo": "pybpf.link.info",
    "TracepointNotFoundError": "pybpf.link.errors",
    "TracingInfo": "pybpf.link.info",
    "TracingLink": "pybpf.link.tracing",
    "USDTArgKind": "pybpf.link.usdt",
    "USDTArgument": "pybpf.link.usdt",
    "USDTArgumentError": "pybpf.link.errors",
    "USDTLink": "pybpf.link.usdt_attach",
    "USDTProbe": "pybpf.link.usdt",
    "USDTProbeNotFoundError": "pybpf.link.errors",
    "USDT_MAX_ARGS": "pybpf.link.usdt",
    "UprobeInfo": "pybpf.link.info",
    "UprobeMultiFlags": "pybpf.core.sys",
    "UprobeMultiInfo": "pybpf.link.info",
    "UprobeMultiLink": "pybpf.link.uprobe",
    "X86_64_PT_REGS": "pybpf.link.usdt",
    "XDPFlags": "pybpf.core.sys",
    "XDPInfo": "pybpf.link.info",
    "XDPLink": "pybpf.link.xdp",
    "XDPMode": "pybpf.link.xdp",
    "attach": "pybpf.link.auto",
    "attach_all": "pybpf.link.auto",
    "auto_attachable": "pybpf.link.auto",
    "auto_target": "pybpf.link.auto",
    "cgroup": "pybpf.link.cgroup",
    "cgroup_legacy": "pybpf.link.cgroup",
    "detach_reuseport": "pybpf.link.sockets",
    "detach_socket_filter": "pybpf.link.sockets",
    "encode_usdt_spec": "pybpf.link.usdt",
    "freplace": "pybpf.link.tracing",
    "have_uprobe_multi": "pybpf.link.uprobe",
    "iter": "pybpf.link.iter",
    "kprobe": "pybpf.link.kprobe",
    "kprobe_multi": "pybpf.link.kprobe",
    "ksyscall": "pybpf.link.kprobe",
    "link_ids": "pybpf.link.link",
    "links": "pybpf.link.link",
    "netfilter": "pybpf.link.netfilter",
    "netkit": "pybpf.link.netkit",
    "netns": "pybpf.link.netns",
    "parse_usdt_args": "pybpf.link.usdt",
    "perf_event": "pybpf.link.perf_event",
    "query_cgroup": "pybpf.link.cgroup",
    "raw_tracepoint": "pybpf.link.tracing",
    "read_usdt_probes": "pybpf.link.usdt",
    "resolve_binary_path": "pybpf.link.paths",
    "reuseport": "pybpf.link.sockets",
    "socket_filter": "pybpf.link.sockets",
    "sockmap": "pybpf.link.sockmap",
    "struct_ops": "pybpf.link.struct_ops",
    "syscall_function": "pybpf.link.kprobe",
    "tc": "pybpf.link.tc",
    "tcx": "pybpf.link.tcx",
    "tracefs_path": "pybpf.link.tracefs",
    "tracepoint": "pybpf.link.tracepoint",
    "tracing": "pybpf.link.tracing",
    "xdp": "pybpf.link.xdp",
    "xdp_legacy": "pybpf.link.xdp",
}

__all__ = [
    "EM_X86_64",
    "USDT_MAX_ARGS",
    "X86_64_PT_REGS",
    "AmbiguousSymbolError",
    "AttachFlags",
    "AutoTarget",
    "BinaryNotFoundError",
    "CgroupInfo",
    "CgroupIterOrder",
    "CgroupLink",
    "CgroupProgram",
    "CgroupQuery",
    "EventInfo",
    "Executable",
    "InterfaceNotFoundError",
    "IterInfo",
    "IterLink",
    "IterTask",
    "KernelSymbolNotFoundError",
    "KprobeInfo",
    "KprobeMultiFlags",
    "KprobeMultiInfo",
    "KprobeMultiLink",
    "LegacyCgroupLink",
    "LegacyPerfEventLink",
    "LegacySockmapLink",
    "LegacyXDPLink",
    "Link",
    "LinkInfo",
    "LinkType",
    "NetNsInfo",
    "NetNsLink",
    "NetfilterFamily",
    "NetfilterFlags",
    "NetfilterHook",
    "NetfilterInfo",
    "NetfilterLink",
    "NetkitInfo",
    "NetkitLink",
    "NotACgroupError",
    "NotANetworkNamespaceError",
    "PerfEventInfo",
    "PerfEventLink",
    "PerfEventType",
    "ProgAttachLink",
    "RawTracepointInfo",
    "RawTracepointLink",
    "SectionNotAttachableError",
    "SockmapInfo",
    "SockmapLink",
    "StructOpsInfo",
    "StructOpsLink",
    "StructOpsRegistration",
    "SymbolNotFoundError",
    "TCLink",
    "TCXInfo",
    "TCXLink",
    "TracepointInfo",
    "TracepointNotFoundError",
    "TracingInfo",
    "TracingLink",
    "USDTArgKind",
    "USDTArgument",
    "USDTArgumentError",
    "USDTLink",
    "USDTProbe",
    "USDTProbeNotFoundError",
    "UprobeInfo",
    "UprobeMultiFlags",
    "UprobeMultiInfo",
    "UprobeMultiLink",
    "XDPFlags",
    "XDPInfo",
    "XDPLink",
    "XDPMode",
    "attach",
    "attach_all",
    "auto_attachable",
    "auto_target",
    "cgroup",
    "cgroup_legacy",
    "detach_reuseport",
    "detach_socket_filter",
    "encode_usdt_spec",
    "freplace",
    "have_uprobe_multi",
    "iter",
    "kprobe",
    "kprobe_multi",
    "ksyscall",
    "link_ids",
    "links",
    "netfilter",
    "netkit",
    "netns",
    "parse_usdt_args",
    "perf_event",
    "query_cgroup",
    "raw_tracepoint",
    "read_usdt_probes",
    "resolve_binary_path",
    "reuseport",
    "socket_filter",
    "sockmap",
    "struct_ops",
    "syscall_function",
    "tc",
    "tcx",
    "tracefs_path",
    "tracepoint",
    "tracing",
    "xdp",
    "xdp_legacy",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
