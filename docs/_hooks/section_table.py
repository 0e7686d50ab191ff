"""mkdocs hook: render the section-name table of sections.md from the code.

The table is built at every site build from ``pybpf.elf.SECTION_DEFS``, the
table the ELF reader itself matches against, so the page cannot drift from
it. A program type that ``ATTACHES_TO`` does not describe fails the build.
"""

from __future__ import annotations

import re
from typing import Any

from pybpf.elf import ProgramType
from pybpf.elf.sections import NEWER_THAN_LIBBPF_1_1_2, SECTION_DEFS, SectionDef

#: Where the table goes in docs/sections.md.
MARKER = "<!-- section-table -->"

T = ProgramType
#: What a program of each type is attached to (or run by), in a few words.
ATTACHES_TO: dict[ProgramType, str] = {
    T.SOCKET_FILTER: "a socket (`SO_ATTACH_BPF`): filters or trims what it receives",
    T.KPROBE: "a kernel or user function's entry or return (kprobe, uprobe, USDT)",
    T.SCHED_CLS: "a network device's tc/tcx ingress or egress, or a netkit device",
    T.SCHED_ACT: "a tc action",
    T.TRACEPOINT: "a tracepoint (`category/name`)",
    T.XDP: "a network device's driver receive path (or a devmap/cpumap entry)",
    T.PERF_EVENT: "a perf event (sampling, hardware counters)",
    T.CGROUP_SKB: "a cgroup: packets its sockets send or receive",
    T.CGROUP_SOCK: "a cgroup: socket creation, release, post-bind",
    T.LWT_IN: "a lightweight-tunnel route, input",
    T.LWT_OUT: "a lightweight-tunnel route, output",
    T.LWT_XMIT: "a lightweight-tunnel route, transmit",
    T.SOCK_OPS: "a cgroup: TCP socket events",
    T.SK_SKB: "a sockmap/sockhash: stream parser or verdict",
    T.CGROUP_DEVICE: "a cgroup: device access",
    T.SK_MSG: "a sockmap/sockhash: sendmsg verdict",
    T.RAW_TRACEPOINT: "a raw tracepoint (by name)",
    T.CGROUP_SOCK_ADDR: "a cgroup: bind, connect, sendmsg, recvmsg, getpeername, getsockname",
    T.LWT_SEG6LOCAL: "a seg6local route",
    T.LIRC_MODE2: "an infrared (lirc) device",
    T.SK_REUSEPORT: "a SO_REUSEPORT socket group: socket selection",
    T.FLOW_DISSECTOR: "a network namespace's flow dissector",
    T.CGROUP_SYSCTL: "a cgroup: sysctl reads and writes",
    T.RAW_TRACEPOINT_WRITABLE: "a raw tracepoint whose arguments it may write",
    T.CGROUP_SOCKOPT: "a cgroup: getsockopt, setsockopt",
    T.TRACING: "a kernel function (fentry/fexit/fmod_ret), a BTF tracepoint, an iterator",
    T.STRUCT_OPS: "a member function of a kernel ops struct (`.struct_ops` maps)",
    T.EXT: "a function of another loaded BPF program, which it replaces",
    T.LSM: "an LSM hook",
    T.SK_LOOKUP: "a network namespace's socket lookup",
    T.SYSCALL: "nothing: run from user space (`BPF_PROG_TEST_RUN`)",
    T.NETFILTER: "a netfilter hook",
}
del T

#: Finer descriptions for the families of one program type, by the pattern
#: (without ``+`` and ``.s``), else by its first word (before ``.`` or ``/``).
ATTACHES_TO_BY_FAMILY: dict[str, str] = {
    "kprobe": "a kernel function's entry (kprobe)",
    "kretprobe": "a kernel function's return (kretprobe)",
    "kprobe.session": "a kernel function's entry and return (session)",
    "uprobe.session": "a user-space function's entry and return (session)",
    "uprobe": "a user-space function's entry (uprobe)",
    "uretprobe": "a user-space function's return (uretprobe)",
    "ksyscall": "a system call's entry",
    "kretsyscall": "a system call's return",
    "usdt": "a USDT probe of a user-space binary",
    "tp_btf": "a tracepoint, with typed arguments (BTF)",
    "fentry": "a kernel function's entry (fentry)",
    "fexit": "a kernel function's return (fexit)",
    "fmod_ret": "a kernel function, whose return value it may change",
    "iter": "a kernel object iterator (read from an iterator fd)",
    "lsm_cgroup": "an LSM hook, for one cgroup",
}


def _row(sec_def: SectionDef) -> str:
    pattern = sec_def.pattern
    stem = pattern.rstrip("+").removesuffix(".s")
    family = re.split(r"[./]", stem, maxsplit=1)[0]
    try:
        target = (
            ATTACHES_TO_BY_FAMILY.get(stem)
            or ATTACHES_TO_BY_FAMILY.get(family)
            or ATTACHES_TO[sec_def.type]
        )
    except KeyError:
        raise KeyError(f"docs/_hooks/section_table.py: describe {sec_def.type!r}") from None
    shown = f"{pattern[:-1]}[/…]" if pattern.endswith("+") else pattern
    shown = f'<code class="nowrap">{shown}</code>'
    kind = sec_def.type.name
    if sec_def.attach_type is not None:
        kind += f"<br>{sec_def.attach_type.name}"
    notes = [
        note
        for on, note in (
            (sec_def.attach_btf, "BTF target"),
            (sec_def.sleepable, "sleepable"),
            (sec_def.xdp_frags, "frags"),
            (pattern in NEWER_THAN_LIBBPF_1_1_2, "newer than libbpf 1.1.2"),
        )
        if on
    ]
    return f"| {shown} | {kind} | {target} | {', '.join(notes)} |"


def section_table() -> str:
    """The markdown table of every pattern, in libbpf's (matching) order."""
    head = [
        "| section | program type, attach type | attaches to | notes |",
        "|---|---|---|---|",
    ]
    return "\n".join(head + [_row(d) for d in SECTION_DEFS])


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill in the table where sections.md asks for it (an mkdocs event)."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, section_table())
