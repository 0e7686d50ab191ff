"""Netfilter programs: a BPF program as a netfilter hook (Linux 6.4+).

``netfilter(prog, family=NetfilterFamily.IPV4, hook=NetfilterHook.LOCAL_IN,
priority=-128)`` runs a ``netfilter`` program on every packet passing the
hook in the current network namespace, ordered among the other hooks by
``priority``. The program's return value is the verdict (``NF_DROP`` 0,
``NF_ACCEPT`` 1). ``NetfilterFlags.IP_DEFRAG`` (6.6+) has the kernel
reassemble fragments before the program sees them.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, TypeVar

from pybpf.core import sys as bpf
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program, check_program_type

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from enum import IntEnum

    from pybpf.core import Program
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = ["NetfilterFamily", "NetfilterHook", "NetfilterLink", "netfilter"]

_E = TypeVar("_E", bound=enum.IntEnum)

#: The priorities netfilter keeps for itself (``NF_IP_PRI_FIRST``/``LAST``).
_PRIORITY_MIN = -(2**31) + 1
_PRIORITY_MAX = 2**31 - 2
#: The defragmenter's priority (``NF_IP_PRI_CONNTRACK_DEFRAG``, the same for IPv6):
#: a program that wants whole packets must run after it.
_DEFRAG_PRIORITY = -400


class NetfilterFamily(IntEnum):
    """The protocol family of a netfilter hook (``NFPROTO_*``)."""

    IPV4 = 2
    IPV6 = 10


class NetfilterHook(IntEnum):
    """Where in the packet's path the hook runs (``NF_INET_*``)."""

    PRE_ROUTING = 0
    LOCAL_IN = 1
    FORWARD = 2
    LOCAL_OUT = 3
    POST_ROUTING = 4


class NetfilterLink(Link, link_type=bpf.LinkType.NETFILTER):
    """A program on a netfilter hook through a bpf_link; closing it removes the hook."""

    __slots__ = ()


def netfilter(
    prog: Program,
    *,
    family: NetfilterFamily,
    hook: NetfilterHook,
    priority: int,
    flags: bpf.NetfilterFlags = bpf.NetfilterFlags.NONE,
) -> NetfilterLink:
    """Attach the ``netfilter`` program ``prog`` at ``hook`` of ``family`` (Linux 6.4+).

    ``priority`` orders it among the hooks (lower runs first; netfilter's
    own ``INT_MIN`` and ``INT_MAX`` are refused; with ``IP_DEFRAG``, it must
    be above the defragmenter's -400). The hook is in the
    network namespace of the calling thread. A kernel without netfilter
    links raises :class:`~pybpf.core.NotSupportedError`.
    """
    call = "netfilter"
    check_program(prog, call)
    check_program_type(prog, bpf.ProgramType.NETFILTER, call)
    family = _member(NetfilterFamily, family, "family", call)
    hook = _member(NetfilterHook, hook, "hook", call)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise TypeError(f"{call}: priority must be an int, not {type(priority).__name__}")
    if not _PRIORITY_MIN <= priority <= _PRIORITY_MAX:
        raise ValueError(
            f"{call}: priority {priority} is out of range ({_PRIORITY_MIN} to {_PRIORITY_MAX})"
        )
    if not isinstance(flags, int) or isinstance(flags, bool):
        raise TypeError(f"{call}: flags must be NetfilterFlags, not {type(flags).__name__}")
    if int(flags) & ~int(bpf.NetfilterFlags.IP_DEFRAG):
        raise ValueError(f"{call}: flags {flags:#x} has unknown bits")
    if flags & bpf.NetfilterFlags.IP_DEFRAG and priority <= _DEFRAG_PRIORITY:
        raise ValueError(
            f"{call}: priority {priority} with IP_DEFRAG must be above the defragmenter's "
            f"({_DEFRAG_PRIORITY})"
        )
    name = f"netfilter {family.name} {hook.name} priority {priority}"
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.attach_type = bpf.AttachType.NETFILTER
    attr.netfilter.pf = family
    attr.netfilter.hooknum = hook
    attr.netfilter.priority = priority
    attr.netfilter.flags = flags
    what = f"attach program {prog.name!r} to {name}"
    return NetfilterLink(bpf.link_create(attr, what), name)


def _member(cls: type[_E], value: object, name: str, call: str) -> _E:
    """``value`` as a member of ``cls``, else a TypeError/ValueError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{call}: {name} must be a {cls.__name__}, not {type(value).__name__}")
    try:
        return cls(value)
    except ValueError:
        raise ValueError(f"{call}: {name} {value} is not a {cls.__name__}") from None
