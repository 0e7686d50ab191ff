"""A small, strict rtnetlink client: what XDP's and tc's older attach paths need.

Kernels attached XDP programs (``IFLA_XDP``) and tc's ``cls_bpf`` filters
through rtnetlink long before bpf_links existed, and still do. This module
speaks just enough of ``NETLINK_ROUTE`` for that: messages and attributes
(nested too) are packed and parsed here, every request asks for an
acknowledgement, and a refusal becomes core's typed error carrying the
kernel's extended-ack text (``NLMSGERR_ATTR_MSG``), which usually says more
than the errno. Test helpers use it to make veth and netkit pairs, bring
links up and add addresses.

A :class:`Route` socket belongs to the network namespace of the thread that
opened it: links keep theirs, so that closing detaches in the namespace the
program was attached in. :class:`RouteLink` is what such a link shares
(the program's fd, the socket, the device), and :func:`attach_through_route`
the attach step both paths take.
"""

from __future__ import annotations

import errno
import itertools
import socket
import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link.errors import InterfaceNotFoundError
from pybpf.link.link import Link

if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = [
    "Route",
    "RouteLink",
    "attach_through_route",
    "attr",
    "attr_str",
    "attr_u32",
    "interface_index",
    "nested",
    "parse_attrs",
]

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

# nlmsghdr types and flags (linux/netlink.h)
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
# flags of an NLMSG_ERROR message
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

# rtnetlink message types (linux/rtnetlink.h)
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_NEWQDISC = 36
RTM_DELQDISC = 37
RTM_NEWTFILTER = 44
RTM_DELTFILTER = 45
RTM_GETTFILTER = 46

# link attributes (linux/if_link.h)
IFF_UP = 0x1
IFLA_IFNAME = 3
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_XDP = 43
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_XDP_FD = 1
IFLA_XDP_ATTACHED = 2
IFLA_XDP_FLAGS = 3
IFLA_XDP_PROG_ID = 4
IFLA_XDP_EXPECTED_FD = 8
VETH_INFO_PEER = 1
IFLA_NETKIT_PEER_INFO = 1
IFA_LOCAL = 2
IFA_ADDRESS = 1

# traffic control (linux/pkt_sched.h, linux/pkt_cls.h)
TCA_KIND = 1
TCA_OPTIONS = 2
TC_H_CLSACT = 0xFFFFFFF1
TC_H_MIN_INGRESS = 0xFFF2
TC_H_MIN_EGRESS = 0xFFF3
TCA_BPF_FD = 6
TCA_BPF_NAME = 7
TCA_BPF_FLAGS = 8
TCA_BPF_FLAG_ACT_DIRECT = 1
ETH_P_ALL = 0x0003

IFNAMSIZ = 16
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_ATTR = struct.Struct("=HH")  # nlattr: len, type
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
_ERROR = struct.Struct("=i")
_RECV_SIZE = 65536


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute of type ``kind``, padded to 4 bytes."""
    size = _ATTR.size + len(payload)
    return _ATTR.pack(size, kind) + payload + b"\0" * (_align(size) - size)


def attr_u32(kind: int, value: int) -> bytes:
    """A ``u32`` attribute (host byte order)."""
    return attr(kind, struct.pack("=I", value))


def attr_i32(kind: int, value: int) -> bytes:
    """An ``s32`` attribute (host byte order): fds, where -1 means none."""
    return attr(kind, struct.pack("=i", value))


def attr_str(kind: int, text: str) -> bytes:
    """A NUL-terminated string attribute."""
    return attr(kind, text.encode() + b"\0")


def nested(kind: int, *attrs: bytes) -> bytes:
    """An attribute holding ``attrs`` (``NLA_F_NESTED`` set, as strict parsing wants)."""
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def parse_attrs(data: bytes | memoryview, what: str) -> dict[int, bytes]:
    """The attributes packed in ``data``, by type (flag bits cleared; a repeated type: the last).

    Malformed input (a length that runs past the end) raises ValueError naming ``what``.
    """
    view = memoryview(data)
    found: dict[int, bytes] = {}
    offset = 0
    while offset + _ATTR.size <= len(view):
        size, kind = _ATTR.unpack_from(view, offset)
        if size < _ATTR.size or offset + size > len(view):
            raise ValueError(f"{what}: malformed netlink attribute at offset {offset}")
        found[kind & NLA_TYPE_MASK] = bytes(view[offset + _ATTR.size : offset + size])
        offset += _align(size)
    return found


def interface_index(interface: object, what: str) -> tuple[int, str]:
    """``(ifindex, name)`` of ``interface`` (a name or an ifindex) in this thread's namespace.

    A wrong type raises TypeError, a malformed name ValueError, and an
    interface that does not exist :class:`~pybpf.link.InterfaceNotFoundError`:
    all before any attachment is tried.
    """
    if isinstance(interface, bool) or not isinstance(interface, int | str):
        kind = type(interface).__name__
        raise TypeError(f"{what}: interface must be a name or an ifindex, not {kind}")
    if isinstance(interface, str):
        if not interface or len(interface) >= IFNAMSIZ or "/" in interface or "\0" in interface:
            raise ValueError(f"{what}: {interface!r} is not an interface name")
        try:
            return socket.if_nametoindex(interface), interface
        except OSError:
            raise InterfaceNotFoundError(interface) from None
    if not 0 < interface < 2**31:
        raise ValueError(f"{what}: interface index {interface} is out of range")
    try:
        return interface, socket.if_indextoname(interface)
    except OSError:
        raise InterfaceNotFoundError(interface) from None


def clsact_parent(ingress: bool) -> int:
    """The parent handle of clsact's ingress or egress hook."""
    return (TC_H_CLSACT & 0xFFFF0000) | (TC_H_MIN_INGRESS if ingress else TC_H_MIN_EGRESS)


class Route:
    """A ``NETLINK_ROUTE`` socket of the calling thread's network namespace.

    Every request waits for the kernel's acknowledgement; :meth:`request`
    raises core's typed error (an ``OSError`` with the errno) with the
    kernel's extended-ack text. Close it, or use it as a context manager.
    """

    __slots__ = ("_seq", "_sock")

    def __init__(self) -> None:
        """Open the socket, asking for extended acks without the request echoed back."""
        sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            sock.bind((0, 0))
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._seq = itertools.count(1)

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._sock.fileno() < 0

    def __enter__(self) -> Route:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, kind: int, flags: int, body: bytes, what: str) -> list[bytes]:
        """Send one message and wait for the acknowledgement; a dump's messages' bodies.

        ``body`` is the message after its header (the family header and the
        attributes); ``what`` starts the error the kernel's refusal becomes.
        """
        seq = next(self._seq)
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        # A dump ends with NLMSG_DONE; anything else with the acknowledgement asked for.
        flags |= NLM_F_REQUEST if dump else NLM_F_REQUEST | NLM_F_ACK
        self._sock.send(_HEADER.pack(_HEADER.size + len(body), kind, flags, seq, 0) + body)
        replies: list[bytes] = []
        while True:
            data = self._sock.recv(_RECV_SIZE)
            for msg_type, msg_flags, msg_seq, payload in _messages(data, what):
                if msg_seq != seq:
                    continue
                if msg_type == NLMSG_DONE:
                    code = _ERROR.unpack_from(payload)[0] if len(payload) >= _ERROR.size else 0
                    if code < 0:
                        raise bpf.error(-code, what, needs=("CAP_NET_ADMIN",))
                    return replies
                if msg_type == NLMSG_ERROR:
                    code = _ERROR.unpack_from(payload)[0]
                    if code == 0:
                        return replies
                    raise _refusal(-code, msg_flags, payload, what)
                replies.append(bytes(payload))

    # -- links --------------------------------------------------------------------------

    def set_xdp(
        self, ifindex: int, prog_fd: int, flags: int, what: str, *, expected_fd: int | None = None
    ) -> None:
        """Set (``prog_fd``) or remove (-1) the XDP program of ``ifindex`` (``IFLA_XDP``)."""
        parts = [attr_i32(IFLA_XDP_FD, prog_fd)]
        if flags:
            parts.append(attr_u32(IFLA_XDP_FLAGS, flags))
        if expected_fd is not None:
            parts.append(attr_i32(IFLA_XDP_EXPECTED_FD, expected_fd))
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0) + nested(IFLA_XDP, *parts)
        self.request(RTM_SETLINK, 0, body, what)

    def xdp_program_id(self, ifindex: int, what: str) -> int:
        """The id of the XDP program on ``ifindex`` (0: none), as ``ip link`` reports it."""
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0)
        for reply in self.request(RTM_GETLINK, 0, body, what):
            attrs = parse_attrs(memoryview(reply)[IFINFOMSG.size :], what)
            xdp = parse_attrs(attrs.get(IFLA_XDP, b""), what)
            if IFLA_XDP_PROG_ID in xdp:
                return int(struct.unpack("=I", xdp[IFLA_XDP_PROG_ID][:4])[0])
        return 0

    def add_pair(
        self, name: str, kind: str, peer: str, what: str, *, peer_netns_fd: int | None = None
    ) -> None:
        """Make a ``veth`` or ``netkit`` pair ``name``/``peer`` (the peer in another namespace)."""
        peer_attrs = [attr_str(IFLA_IFNAME, peer)]
        if peer_netns_fd is not None:
            peer_attrs.append(attr_u32(IFLA_NET_NS_FD, peer_netns_fd))
        peer_info = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + b"".join(peer_attrs)
        peer_kind = VETH_INFO_PEER if kind == "veth" else IFLA_NETKIT_PEER_INFO
        info = nested(
            IFLA_LINKINFO,
            attr_str(IFLA_INFO_KIND, kind),
            nested(IFLA_INFO_DATA, attr(peer_kind | NLA_F_NESTED, peer_info)),
        )
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name) + info
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, what)

    def set_up(self, ifindex: int, what: str) -> None:
        """Bring ``ifindex`` up."""
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, IFF_UP, IFF_UP)
        self.request(RTM_NEWLINK, 0, body, what)

    def add_address(self, ifindex: int, address: str, prefixlen: int, what: str) -> None:
        """Add the IPv4 or IPv6 ``address/prefixlen`` to ``ifindex``."""
        import ipaddress  # noqa: PLC0415 (only addresses need it; attaching does not)

        ip = ipaddress.ip_address(address)
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        head = _IFADDRMSG.pack(family, prefixlen, 0, 0, ifindex)
        body = head + attr(IFA_LOCAL, ip.packed) + attr(IFA_ADDRESS, ip.packed)
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body, what)

    # -- traffic control ----------------------------------------------------------------

    def add_clsact(self, ifindex: int, what: str) -> bool:
        """Add the clsact qdisc to ``ifindex``: True if made, False if one was there."""
        body = TCMSG.pack(socket.AF_UNSPEC, ifindex, TC_H_CLSACT & 0xFFFF0000, TC_H_CLSACT, 0)
        try:
            self.request(
                RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, body + attr_str(TCA_KIND, "clsact"), what
            )
        except OSError as e:
            if e.errno == errno.EEXIST:
                return False
            raise
        return True

    def delete_clsact(self, ifindex: int, what: str) -> None:
        """Remove the clsact qdisc of ``ifindex``, and with it every filter on it."""
        body = TCMSG.pack(socket.AF_UNSPEC, ifindex, TC_H_CLSACT & 0xFFFF0000, TC_H_CLSACT, 0)
        self.request(RTM_DELQDISC, 0, body + attr_str(TCA_KIND, "clsact"), what)

    def add_bpf_filter(  # noqa: PLR0917 (one message's fields)
        self,
        ifindex: int,
        parent: int,
        priority: int,
        handle: int,
        prog_fd: int,
        name: str,
        what: str,
    ) -> None:
        """Add a direct-action ``cls_bpf`` filter running ``prog_fd``; EEXIST if taken."""
        options = nested(
            TCA_OPTIONS,
            attr_u32(TCA_BPF_FD, prog_fd),
            attr_str(TCA_BPF_NAME, name),
            attr_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT),
        )
        body = TCMSG.pack(socket.AF_UNSPEC, ifindex, handle, parent, _filter_info(priority))
        self.request(
            RTM_NEWTFILTER,
            NLM_F_CREATE | NLM_F_EXCL,
            body + attr_str(TCA_KIND, "bpf") + options,
            what,
        )

    def delete_filter(
        self, ifindex: int, parent: int, priority: int, handle: int, what: str
    ) -> None:
        """Delete the ``cls_bpf`` filter ``priority``/``handle`` under ``parent``."""
        body = TCMSG.pack(socket.AF_UNSPEC, ifindex, handle, parent, _filter_info(priority))
        self.request(RTM_DELTFILTER, 0, body + attr_str(TCA_KIND, "bpf"), what)

    def has_filters(self, ifindex: int, parent: int, what: str) -> bool:
        """Whether any filter is attached under ``parent`` of ``ifindex``."""
        body = TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, parent, 0)
        return bool(self.request(RTM_GETTFILTER, NLM_F_DUMP, body, what))


def _filter_info(priority: int) -> int:
    """``tcm_info``: the priority over the protocol (all, in network byte order)."""
    return (priority << 16) | socket.htons(ETH_P_ALL)


def _messages(data: bytes, what: str) -> Iterator[tuple[int, int, int, memoryview]]:
    """``(type, flags, seq, payload)`` of each message in one datagram."""
    view = memoryview(data)
    offset = 0
    while offset + _HEADER.size <= len(view):
        size, kind, flags, seq, _ = _HEADER.unpack_from(view, offset)
        if size < _HEADER.size or offset + size > len(view):
            raise ValueError(f"{what}: malformed netlink message at offset {offset}")
        yield kind, flags, seq, view[offset + _HEADER.size : offset + size]
        offset += _align(size)


def _refusal(code: int, flags: int, payload: memoryview, what: str) -> OSError:
    """The typed error of an ``NLMSG_ERROR``, with the kernel's extended-ack text."""
    message = ""
    if flags & NLM_F_ACK_TLVS:
        # nlmsgerr: the errno, then the request's header, then its body unless capped.
        start = _ERROR.size + _HEADER.size
        if not flags & NLM_F_CAPPED and len(payload) >= start:
            start = _ERROR.size + _align(_HEADER.unpack_from(payload, _ERROR.size)[0])
        text = parse_attrs(payload[start:], what).get(NLMSGERR_ATTR_MSG, b"")
        message = text.rstrip(b"\0").decode(errors="replace")
    return bpf.error(
        code, f"{what} (kernel: {message})" if message else what, needs=("CAP_NET_ADMIN",)
    )


class RouteLink(Link):
    """A program attached to a device through rtnetlink: no bpf_link behind it.

    It holds a duplicate of the program's fd and the :class:`Route` socket of
    the namespace it was attached in. :meth:`close` asks the subclass's
    :meth:`_detach` to undo the attachment through that socket, then closes
    both, whatever the detach raised.
    """

    __slots__ = ("_ifindex", "_route")

    def __init__(self, program: bpf.FD, name: str, route: Route, ifindex: int) -> None:
        """Take over ``program`` (a dup of the attached program's fd) and the ``route`` socket."""
        super().__init__(program, name)
        self._route: Route | None = route
        self._ifindex = ifindex

    @property
    def ifindex(self) -> int:
        """The device's ifindex, in the namespace the program was attached in."""
        return self._ifindex

    def _detach(self, route: Route) -> None:
        """Undo the attachment through ``route`` (once, from :meth:`close`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Detach the program from the device, and close the socket and the fd."""
        route, self._route = self._route, None
        try:
            if route is not None:
                self._detach(route)
        finally:
            try:
                if route is not None:
                    route.close()
            finally:
                super().close()


def attach_through_route(
    prog: Program, attach: Callable[[Route, int], None]
) -> tuple[bpf.FD, Route]:
    """A dup of ``prog``'s fd and a new :class:`Route`, once ``attach(route, fd number)`` worked.

    What a :class:`RouteLink` takes over; if ``attach`` raises, both are
    closed before the error goes on.
    """
    program = prog.fd.dup()
    try:
        route = Route()
        try:
            attach(route, program.number)
        except BaseException:
            route.close()
            raise
    except BaseException:
        program.close()
        raise
    return program, route
