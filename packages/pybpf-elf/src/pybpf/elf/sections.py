"""libbpf's table of program section names: what ``SEC("...")`` means.

The table is the one of the newest libbpf (``section_defs`` in
``src/libbpf.c``), in its order, because the first matching entry wins. A
pattern ending in ``+`` matches the name exactly or followed by ``/extras``
(the attach target); any other pattern matches the whole name. A leading ``?``
(not autoloaded) is not part of the section name proper.

The newest table knows patterns that libbpf 1.1.2 (Debian bookworm's, the one
the conformance test runs against) does not: :data:`NEWER_THAN_LIBBPF_1_1_2`.
1.1.2 opens such programs with type ``unspec``.
"""

from __future__ import annotations

import functools

from pybpf.asm.records import record
from pybpf.elf._uapi import AttachType, ProgramFlags, ProgramType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False

__all__ = [
    "BPF_F_SLEEPABLE",
    "BPF_F_XDP_HAS_FRAGS",
    "NEWER_THAN_LIBBPF_1_1_2",
    "SECTION_DEFS",
    "STRUCT_OPS_LINK_SECTION",
    "STRUCT_OPS_SECTION",
    "SectionDef",
    "SectionInfo",
    "is_struct_ops_section",
    "match_section",
]

#: ``BPF_F_SLEEPABLE`` of ``include/uapi/linux/bpf.h`` (generated: :mod:`._uapi`).
BPF_F_SLEEPABLE = int(ProgramFlags.SLEEPABLE)
#: ``BPF_F_XDP_HAS_FRAGS`` of ``include/uapi/linux/bpf.h`` (generated: :mod:`._uapi`).
BPF_F_XDP_HAS_FRAGS = int(ProgramFlags.XDP_HAS_FRAGS)

# libbpf's sec_def_flags, kept as booleans below.
_SLEEPABLE = "sleepable"
_FRAGS = "frags"
_BTF = "btf"


@record(frozen=True, slots=True)
class SectionDef:
    """One row of the table: a pattern and what a matching section means."""

    pattern: str
    type: ProgramType
    attach_type: AttachType | None
    #: The target is a BTF name (fentry, lsm, iter, ...).
    attach_btf: bool = False
    sleepable: bool = False
    xdp_frags: bool = False

    def matches(self, name: str) -> bool:
        """Whether the section called ``name`` (without ``?``) matches this pattern."""
        return _matches(self.pattern, name)

    @property
    def flags(self) -> int:
        """The program load flags this section implies."""
        flags = BPF_F_SLEEPABLE if self.sleepable else 0
        if self.xdp_frags and self.type == ProgramType.XDP:
            flags |= BPF_F_XDP_HAS_FRAGS
        return flags


def _matches(pattern: str, name: str) -> bool:
    if pattern.endswith("+"):
        stem = pattern[:-1]
        return name == stem or name.startswith(stem + "/")
    if pattern.endswith("/"):
        return name.startswith(pattern)
    return name == pattern


if TYPE_CHECKING:
    #: A row of the table: SectionDef's fields, in order.
    _Row = tuple[str, ProgramType, AttachType | None, bool, bool, bool]


def _d(pattern: str, type: ProgramType, attach: AttachType | None = None, *opts: str) -> _Row:
    return (pattern, type, attach, _BTF in opts, _SLEEPABLE in opts, _FRAGS in opts)


P, A = ProgramType, AttachType
# The table as rows: a load matches its sections against them and makes the
# SectionDef of the rows it matched (the ~110 records of SECTION_DEFS are
# made when it is first read: most processes never do).
_ROWS: tuple[_Row, ...] = (
    _d("socket", P.SOCKET_FILTER),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
    _d("kprobe+", P.KPROBE),
    _d("uprobe+", P.KPROBE),
    _d("uprobe.s+", P.KPROBE, None, _SLEEPABLE),
    _d("kretprobe+", P.KPROBE),
    _d("uretprobe+", P.KPROBE),
    _d("uretprobe.s+", P.KPROBE, None, _SLEEPABLE),
    _d("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    _d("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION),
    _d("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    _d("uprobe.session+", P.KPROBE, A.TRACE_UPROBE_SESSION),
    _d("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _SLEEPABLE),
    _d("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _SLEEPABLE),
    _d("uprobe.session.s+", P.KPROBE, A.TRACE_UPROBE_SESSION, _SLEEPABLE),
    _d("ksyscall+", P.KPROBE),
    _d("kretsyscall+", P.KPROBE),
    _d("usdt+", P.KPROBE),
    _d("usdt.s+", P.KPROBE, None, _SLEEPABLE),
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tc", P.SCHED_CLS),
    _d("classifier", P.SCHED_CLS),
    _d("action", P.SCHED_ACT),
    _d("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY),
    _d("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER),
    _d("tracepoint+", P.TRACEPOINT),
    _d("tp+", P.TRACEPOINT),
    _d("raw_tracepoint+", P.RAW_TRACEPOINT),
    _d("raw_tp+", P.RAW_TRACEPOINT),
    _d("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE),
    _d("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE),
    _d("tp_btf+", P.TRACING, A.TRACE_RAW_TP, _BTF),
    _d("fentry+", P.TRACING, A.TRACE_FENTRY, _BTF),
    _d("fmod_ret+", P.TRACING, A.MODIFY_RETURN, _BTF),
    _d("fexit+", P.TRACING, A.TRACE_FEXIT, _BTF),
    _d("fentry.s+", P.TRACING, A.TRACE_FENTRY, _BTF, _SLEEPABLE),
    _d("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, _BTF, _SLEEPABLE),
    _d("fexit.s+", P.TRACING, A.TRACE_FEXIT, _BTF, _SLEEPABLE),
    _d("freplace+", P.EXT, None, _BTF),
    _d("lsm+", P.LSM, A.LSM_MAC, _BTF),
    _d("lsm.s+", P.LSM, A.LSM_MAC, _BTF, _SLEEPABLE),
    _d("lsm_cgroup+", P.LSM, A.LSM_CGROUP, _BTF),
    _d("iter+", P.TRACING, A.TRACE_ITER, _BTF),
    _d("iter.s+", P.TRACING, A.TRACE_ITER, _BTF, _SLEEPABLE),
    _d("syscall", P.SYSCALL, None, _SLEEPABLE),
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, _FRAGS),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, _FRAGS),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP),
    _d("xdp.frags", P.XDP, A.XDP, _FRAGS),
    _d("xdp", P.XDP, A.XDP),
    _d("perf_event", P.PERF_EVENT),
    _d("lwt_in", P.LWT_IN),
    _d("lwt_out", P.LWT_OUT),
    _d("lwt_xmit", P.LWT_XMIT),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL),
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT),
    _d("sk_skb", P.SK_SKB),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS),
    _d("cgroup/skb", P.CGROUP_SKB),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
    _d("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
    _d("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
    _d("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
    _d("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
    _d("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT),
    _d("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
    _d("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
    _d("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG),
    _d("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
    _d("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
    _d("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG),
    _d("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
    _d("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
    _d("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME),
    _d("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
    _d("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
    _d("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE),
    _d("struct_ops+", P.STRUCT_OPS),
    _d("struct_ops.s+", P.STRUCT_OPS, None, _SLEEPABLE),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP),
    _d("netfilter", P.NETFILTER, A.NETFILTER),
)
del P, A
#: The SectionDef of each row made so far, by row.
_DEFS: dict[int, SectionDef] = {}


def _definition(row: int) -> SectionDef:
    found = _DEFS.get(row)
    if found is None:
        found = _DEFS[row] = SectionDef(*_ROWS[row])
    return found


if TYPE_CHECKING:
    #: The whole table, first match wins.
    SECTION_DEFS: tuple[SectionDef, ...]
else:
    from pybpf.asm.exports import lazy_value

    __getattr__ = lazy_value(
        globals(), "SECTION_DEFS", lambda: tuple(map(_definition, range(len(_ROWS))))
    )

#: Patterns of the table that libbpf 1.1.2 does not know yet.
NEWER_THAN_LIBBPF_1_1_2 = frozenset(
    {
        "kprobe.session+",
        "uprobe.multi+",
        "uretprobe.multi+",
        "uprobe.session+",
        "uprobe.multi.s+",
        "uretprobe.multi.s+",
        "uprobe.session.s+",
        "usdt.s+",
        "tc/ingress",
        "tc/egress",
        "tcx/ingress",
        "tcx/egress",
        "netkit/primary",
        "netkit/peer",
        "cgroup/connect_unix",
        "cgroup/sendmsg_unix",
        "cgroup/recvmsg_unix",
        "cgroup/getpeername_unix",
        "cgroup/getsockname_unix",
        "struct_ops.s+",
        "netfilter",
    }
)


@record(frozen=True, slots=True)
class SectionInfo:
    """What a program section's name says about its programs."""

    #: The section name without the ``?`` prefix.
    name: str
    type: ProgramType
    attach_type: AttachType | None
    #: The part after the pattern's ``/``: a function, tracepoint, path, ...
    attach_to: str
    flags: int
    sleepable: bool
    autoload: bool
    definition: SectionDef


# The struct_ops names live here, not in :mod:`.struct_ops`: the reader asks
# every section, and only objects with such a section need the rest.

#: The section of struct_ops maps (``?.struct_ops`` too: optional ones).
STRUCT_OPS_SECTION = ".struct_ops"
#: The section of struct_ops maps created with ``BPF_F_LINK``, for a bpf_link
#: (``?.struct_ops.link`` too).
STRUCT_OPS_LINK_SECTION = ".struct_ops.link"


def is_struct_ops_section(name: str) -> bool:
    """Whether the section called ``name`` holds struct_ops maps (``?`` makes them optional)."""
    return name.removeprefix("?") in (STRUCT_OPS_SECTION, STRUCT_OPS_LINK_SECTION)


@functools.lru_cache(maxsize=1024)
def match_section(section: str) -> SectionInfo | None:
    """Look a program section name up in libbpf's table; None when unknown."""
    autoload = not section.startswith("?")
    name = section if autoload else section[1:]
    for row, entry in enumerate(_ROWS):
        pattern = entry[0]
        if _matches(pattern, name):
            sec_def = _definition(row)
            stem = pattern.rstrip("+")
            attach_to = ""
            if pattern.endswith("+") and len(name) > len(stem):
                attach_to = name[len(stem) + 1 :]
            elif pattern.endswith("/"):
                attach_to = name[len(stem) :]
            return SectionInfo(
                name,
                sec_def.type,
                sec_def.attach_type,
                attach_to,
                sec_def.flags,
                sec_def.sleepable,
                autoload,
                sec_def,
            )
    return None
