"""pybpf.link: attaching BPF programs.

Every attach call returns a :class:`Link`, which keeps the program attached
until it is closed (or pinned): :func:`attach` by the program's section, or
the call of each hook (:func:`tracepoint`, :func:`kprobe`,
``Executable(path).uprobe``, :func:`xdp`, :func:`cgroup`, ...). :func:`links`
lists the kernel's links, and :meth:`Link.from_pin`, :meth:`Link.from_id` and
:meth:`Link.from_fd` open them. :class:`Executable` finds executables and
libraries, resolves their functions to file offsets and reads their USDT
probes. Every system call goes through ``pybpf.core.sys``.

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

# The public names, by the module defining each. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "pybpf.core.sys": (
        "AttachFlags",
        "CgroupIterOrder",
        "KprobeMultiFlags",
        "LinkType",
        "NetfilterFlags",
        "PerfEventType",
        "UprobeMultiFlags",
        "XDPFlags",
    ),
    "pybpf.link.auto": (
        "AutoTarget",
        "attach",
        "attach_all",
        "auto_attachable",
        "auto_target",
    ),
    "pybpf.link.cgroup": (
        "CgroupLink",
        "CgroupProgram",
        "CgroupQuery",
        "LegacyCgroupLink",
        "cgroup",
        "cgroup_legacy",
        "query_cgroup",
    ),
    "pybpf.link.errors": (
        "AmbiguousSymbolError",
        "BinaryNotFoundError",
        "InterfaceNotFoundError",
        "KernelSymbolNotFoundError",
        "NotACgroupError",
        "NotANetworkNamespaceError",
        "SectionNotAttachableError",
        "SymbolNotFoundError",
        "TracepointNotFoundError",
        "USDTArgumentError",
        "USDTProbeNotFoundError",
    ),
    "pybpf.link.executable": ("Executable",),
    "pybpf.link.info": (
        "CgroupInfo",
        "EventInfo",
        "IterInfo",
        "KprobeInfo",
        "KprobeMultiInfo",
        "LinkInfo",
        "NetNsInfo",
        "NetfilterInfo",
        "NetkitInfo",
        "PerfEventInfo",
        "RawTracepointInfo",
        "SockmapInfo",
        "StructOpsInfo",
        "TCXInfo",
        "TracepointInfo",
        "TracingInfo",
        "UprobeInfo",
        "UprobeMultiInfo",
        "XDPInfo",
    ),
    "pybpf.link.iter": (
        "IterLink",
        "IterTask",
        "iter",
    ),
    "pybpf.link.kprobe": (
        "KprobeMultiLink",
        "kprobe",
        "kprobe_multi",
        "ksyscall",
        "syscall_function",
    ),
    "pybpf.link.link": (
        "Link",
        "link_ids",
        "links",
    ),
    "pybpf.link.netfilter": (
        "NetfilterFamily",
        "NetfilterHook",
        "NetfilterLink",
        "netfilter",
    ),
    "pybpf.link.netkit": (
        "NetkitLink",
        "netkit",
    ),
    "pybpf.link.netns": (
        "NetNsLink",
        "netns",
    ),
    "pybpf.link.paths": ("resolve_binary_path",),
    "pybpf.link.perf_event": (
        "LegacyPerfEventLink",
        "PerfEventLink",
        "perf_event",
    ),
    "pybpf.link.prog_attach": ("ProgAttachLink",),
    "pybpf.link.sockets": (
        "detach_reuseport",
        "detach_socket_filter",
        "reuseport",
        "socket_filter",
    ),
    "pybpf.link.sockmap": (
        "LegacySockmapLink",
        "SockmapLink",
        "sockmap",
    ),
    "pybpf.link.struct_ops": (
        "StructOpsLink",
        "StructOpsRegistration",
        "struct_ops",
    ),
    "pybpf.link.tc": (
        "TCLink",
        "tc",
    ),
    "pybpf.link.tcx": (
        "TCXLink",
        "tcx",
    ),
    "pybpf.link.tracefs": ("tracefs_path",),
    "pybpf.link.tracepoint": ("tracepoint",),
    "pybpf.link.tracing": (
        "RawTracepointLink",
        "TracingLink",
        "freplace",
        "raw_tracepoint",
        "tracing",
    ),
    "pybpf.link.uprobe": (
        "UprobeMultiLink",
        "have_uprobe_multi",
    ),
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
    "pybpf.link.usdt_attach": ("USDTLink",),
    "pybpf.link.xdp": (
        "LegacyXDPLink",
        "XDPLink",
        "XDPMode",
        "xdp",
        "xdp_legacy",
    ),
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
