"""netkit: programs on a netkit device pair, for its primary or its peer (Linux 6.7+).

A netkit pair is a veth-like pair made for BPF: the program attached to the
primary runs on what the primary transmits (towards the peer), the program
attached for the peer on what the peer transmits, both attached through the
primary's ifindex. :func:`netkit` makes a bpf_link of type ``NETKIT``, with
the multi-program ordering of tcx (``before``, ``after``, ``expected_revision``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link._netlink import interface_index
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program
from pybpf.link.tcx import create_device_link, placement, section_attach_type

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["NetkitLink", "netkit"]

_SIDES = {bpf.AttachType.NETKIT_PRIMARY, bpf.AttachType.NETKIT_PEER}


class NetkitLink(Link, link_type=bpf.LinkType.NETKIT):
    """A program on a netkit device's primary or peer (Linux 6.7+); close detaches it."""

    __slots__ = ()


def netkit(
    prog: Program,
    interface: str | int,
    *,
    peer: bool | None = None,
    before: Program | Link | None = None,
    after: Program | Link | None = None,
    expected_revision: int = 0,
) -> NetkitLink:
    """Attach the ``SCHED_CLS`` program ``prog`` to the netkit primary ``interface``.

    ``peer=True`` attaches it for the peer device, ``False`` for the
    primary; by default the program's section says (``netkit/peer``), else
    the primary. ``interface`` (a name or an ifindex) is always the primary.
    ``before``, ``after`` and ``expected_revision`` order programs as for
    :func:`~pybpf.link.tcx`. A device that is not a netkit primary is refused by
    the kernel (:class:`~pybpf.core.BPFError`); kernels before 6.7 raise
    :class:`~pybpf.core.NotSupportedError`.
    """
    check_program(prog, "netkit")
    if peer is None:
        attach_type = section_attach_type(prog, _SIDES) or bpf.AttachType.NETKIT_PRIMARY
    elif isinstance(peer, bool):
        attach_type = bpf.AttachType.NETKIT_PEER if peer else bpf.AttachType.NETKIT_PRIMARY
    else:
        raise TypeError(f"netkit: peer must be a bool or None, not {type(peer).__name__}")
    attr = bpf.new_attr("link_create")
    attr.flags = placement(attr.netkit, before, after, expected_revision, "netkit")
    ifindex, name = interface_index(interface, "netkit")
    side = "peer" if attach_type == bpf.AttachType.NETKIT_PEER else "primary"
    attr.prog_fd = prog.fd.number
    attr.target_ifindex = ifindex
    attr.attach_type = attach_type
    fd = create_device_link(attr, f"attach program {prog.name!r} to netkit {side} of {name}")
    return NetkitLink(fd, f"netkit {side} {name}")
