"""Network-namespace programs: the flow dissector and ``sk_lookup`` of one namespace.

``netns(prog, "/proc/self/ns/net")`` attaches a ``flow_dissector`` or
``sk_lookup`` program to a network namespace through a bpf_link
(``BPF_LINK_TYPE_NETNS``; flow dissector 5.8+, ``sk_lookup`` 5.9+). A
namespace holds one flow dissector, and any number of ``sk_lookup``
programs, which run in attach order. The link does not keep the namespace
alive: once the namespace is gone, the program is detached.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link.errors import NotANetworkNamespaceError
from pybpf.link.link import Link
from pybpf.link.prog_attach import (
    check_program,
    link_target,
    open_checked_target,
    resolve_attach_type,
)

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["NetNsLink", "netns"]

#: The attach types a network namespace takes, and their program types.
NETNS_ATTACH_TYPES = {
    bpf.AttachType.FLOW_DISSECTOR: bpf.ProgramType.FLOW_DISSECTOR,
    bpf.AttachType.SK_LOOKUP: bpf.ProgramType.SK_LOOKUP,
}
#: Each netns program type has one attach type: a program without a spec still attaches.
_BY_PROGRAM_TYPE = {prog: attach for attach, prog in NETNS_ATTACH_TYPES.items()}


class NetNsLink(Link, link_type=bpf.LinkType.NETNS):
    """A program on a network namespace through a bpf_link; closing it detaches."""

    __slots__ = ()


def open_netns(netns: object, call: str) -> tuple[bpf.FD, str]:
    """An owned fd of the network namespace ``netns`` (a path or fd), and a label for it."""
    return open_checked_target(netns, call, "netns", NotANetworkNamespaceError, _not_netns)


def _not_netns(fd: bpf.FD) -> str | None:
    """Why the file ``fd`` is no network namespace; None if it is one."""
    try:
        kind = bpf.namespace_type(fd, "NS_GET_NSTYPE")
    except OSError as e:
        return "not a namespace file" if e.errno in (errno.ENOTTY, errno.EINVAL) else str(e)
    return None if kind == bpf.NamespaceType.NET else "a namespace of another kind"


def netns(prog: Program, netns: str | os.PathLike[str] | int) -> NetNsLink:
    """Attach a flow dissector or ``sk_lookup`` program to the network namespace ``netns``.

    ``netns``: a namespace file (``/proc/self/ns/net``, ``/run/netns/NAME``)
    or an fd of one. Something else raises
    :class:`~pybpf.link.NotANetworkNamespaceError`; a program of another type,
    TypeError; a second flow dissector in one namespace, a
    :class:`~pybpf.core.LimitError` (``E2BIG``).
    """
    call = "netns"
    check_program(prog, call)
    given = _BY_PROGRAM_TYPE.get(prog.type)  # type: ignore[call-overload]
    if given is None:
        kind = prog.type.name if isinstance(prog.type, bpf.ProgramType) else prog.type
        raise TypeError(
            f"{call}: program {prog.name!r} is a {kind} program, not FLOW_DISSECTOR or SK_LOOKUP"
        )
    kind = resolve_attach_type(prog, given, NETNS_ATTACH_TYPES, call)
    fd, label = open_netns(netns, call)
    name = f"{label} {kind.name}"
    with fd:
        return NetNsLink(link_target(prog, fd, kind, name), name)
