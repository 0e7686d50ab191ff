"""XDP: a program on a network device's receive path, before the kernel makes an skb.

:func:`xdp` attaches through a bpf_link of type ``XDP`` (``BPF_LINK_CREATE``
with the device's ifindex, Linux 5.9+): the device holds one such program per
mode, no other program can replace it while the link lives, and closing the
link detaches it. :func:`xdp_legacy` is the older way, rtnetlink's
``IFLA_XDP``, which every kernel has and which can replace the device's
program only if it is still the one expected (``XDP_FLAGS_REPLACE``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link._netlink import Route, RouteLink, attach_through_route, interface_index
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program

if TYPE_CHECKING:
    from enum import IntEnum

    from pybpf.core import Program
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = ["LegacyXDPLink", "XDPLink", "XDPMode", "xdp", "xdp_legacy"]


class XDPMode(IntEnum):
    """Where an XDP program runs; the flag of each mode (``XDP_FLAGS_*_MODE``)."""

    #: In the core networking code, after the skb is made: every device, slowest.
    GENERIC = bpf.XDPFlags.SKB_MODE
    #: In the device's driver, on its receive buffers: drivers that support XDP.
    DRIVER = bpf.XDPFlags.DRV_MODE
    #: On the NIC itself: the few devices that offload XDP.
    OFFLOAD = bpf.XDPFlags.HW_MODE


class XDPLink(Link, link_type=bpf.LinkType.XDP):
    """An XDP program attached to a device through a bpf_link (Linux 5.9+).

    Closing the link detaches the program; while it lives, no other attach
    (link or netlink) may replace it, and :meth:`update` swaps it atomically.
    """

    __slots__ = ()


class LegacyXDPLink(RouteLink):
    """An XDP program set on a device through rtnetlink (``IFLA_XDP``): no bpf_link behind it.

    :attr:`type` is None; it cannot be pinned, updated or asked for
    :meth:`info`. Closing it removes the program from the device, but only
    if it is still this one (``XDP_FLAGS_REPLACE`` with the expected fd): a
    program that replaced it is left alone. The program stays attached if
    the process exits without closing.
    """

    __slots__ = ("_flags",)

    def __init__(self, program: bpf.FD, name: str, route: Route, ifindex: int, flags: int) -> None:
        """Take over ``program`` (a dup of the attached program's fd) and the ``route`` socket."""
        super().__init__(program, name, route, ifindex)
        self._flags = flags

    def _detach(self, route: Route) -> None:
        """Remove the program from the device if it is still there."""
        if self._fd.closed:
            return
        # Masking the mode would make the kernel pick another mode's program.
        flags = (self._flags & _MODES) | bpf.XDPFlags.REPLACE
        try:
            route.set_xdp(
                self._ifindex, -1, flags, f"detach {self._name}", expected_fd=self._fd.number
            )
        except OSError as e:
            # EEXIST: another program replaced ours; ENODEV: the device is gone.
            if e.errno not in (errno.EEXIST, errno.ENODEV):
                raise


_MODES = int(bpf.XDPFlags.SKB_MODE | bpf.XDPFlags.DRV_MODE | bpf.XDPFlags.HW_MODE)


def _mode_flags(mode: object, caller: str) -> int:
    """The ``XDP_FLAGS_*_MODE`` flag of ``mode`` (0: the kernel's choice)."""
    if mode is None:
        return 0
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise TypeError(f"{caller}: mode must be an XDPMode or None, not {type(mode).__name__}")
    try:
        return int(XDPMode(mode))
    except ValueError:
        raise ValueError(f"{caller}: mode {mode!r} is not an XDPMode") from None


def xdp(prog: Program, interface: str | int, *, mode: XDPMode | None = None) -> XDPLink:
    """Attach the XDP program ``prog`` to ``interface`` (a name or an ifindex) with a bpf_link.

    ``mode`` (an :class:`XDPMode`) forces where it runs; by default the
    kernel picks the driver's mode where the driver has one, generic mode
    elsewhere. A device that already has an XDP program in that mode refuses
    with :class:`~pybpf.core.BPFError` (EBUSY), and a missing interface
    raises :class:`~pybpf.link.InterfaceNotFoundError` before the kernel is
    asked.
    """
    check_program(prog, "xdp")
    flags = _mode_flags(mode, "xdp")
    ifindex, name = interface_index(interface, "xdp")
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.target_ifindex = ifindex
    attr.attach_type = bpf.AttachType.XDP
    attr.flags = flags
    fd = bpf.link_create(attr, f"attach program {prog.name!r} to XDP of {name}")
    return XDPLink(fd, f"xdp {name}")


def xdp_legacy(
    prog: Program,
    interface: str | int,
    *,
    mode: XDPMode | None = None,
    expected: Program | None = None,
    replace: bool = False,
) -> LegacyXDPLink:
    """Set the XDP program ``prog`` on ``interface`` through rtnetlink (``IFLA_XDP``).

    The way of kernels before bpf_links, which every kernel still takes. By
    default a device that already has a program refuses
    (``XDP_FLAGS_UPDATE_IF_NOEXIST``: :class:`~pybpf.core.BPFError`, EBUSY).
    ``expected`` replaces the device's program only if it is still that
    program (``XDP_FLAGS_REPLACE``; else EEXIST); ``replace=True`` replaces
    whatever is there. A program attached through a bpf_link is never
    replaced. ``mode`` is as for :func:`xdp`. The returned link removes the
    program on close, if it is still ours.
    """
    check_program(prog, "xdp_legacy")
    if expected is not None:
        check_program(expected, "xdp_legacy", "expected")
    if not isinstance(replace, bool):
        raise TypeError(f"xdp_legacy: replace must be a bool, not {type(replace).__name__}")
    flags = _mode_flags(mode, "xdp_legacy")
    ifindex, name = interface_index(interface, "xdp_legacy")
    what = f"set XDP program {prog.name!r} on {name} through netlink"
    expected_fd = None
    if expected is not None:
        flags |= bpf.XDPFlags.REPLACE
        expected_fd = expected.fd.number
    elif not replace:
        flags |= bpf.XDPFlags.UPDATE_IF_NOEXIST
    program, route = attach_through_route(
        prog, lambda route, fd: route.set_xdp(ifindex, fd, flags, what, expected_fd=expected_fd)
    )
    return LegacyXDPLink(program, f"xdp {name} (netlink)", route, ifindex, flags)
