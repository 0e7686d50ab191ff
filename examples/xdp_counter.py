"""xdp_counter: packets and bytes per IP protocol received on a network interface.

An XDP program (``xdp_counter.bpf.c``) counts every IPv4 and IPv6 packet that
the interface receives, in a hash map keyed by the IP protocol; this tool
prints what arrived each second, and the totals when it ends. Run as root:

    python3 examples/xdp_counter.py eth0          # until Ctrl-C
    python3 examples/xdp_counter.py eth0 -d 10    # for 10 seconds
    python3 examples/xdp_counter.py --demo        # in a network namespace of its own

``--demo`` makes a new network namespace, counts on its ``lo`` and sends UDP,
TCP and ICMP there itself: no packet leaves that namespace.

It attaches with an XDP bpf_link (Linux 5.9+), else through netlink as
``ip link set dev IFACE xdp`` does (``--netlink`` forces that). ``--generic``
runs the program in generic mode (after the kernel made the skb), which
every device has.

``xdp_counter_bpf.py`` is generated from the C by ``pybpf gen``; after
changing the C, regenerate it in this directory:

    pybpf gen xdp_counter_bpf xdp_counter.bpf.c
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import socket
import struct
import subprocess
import sys
import time

from xdp_counter_bpf import ProtoStats, XdpCounterBpfObjects

from pybpf.core import BPFError, NotSupportedError, Program
from pybpf.link import Link, XDPMode, xdp, xdp_legacy

PROTOCOLS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 58: "ICMPv6", 132: "SCTP"}
CLONE_NEWNET = 0x40000000
#: What the demo sends each second, all to 127.0.0.1 in its own namespace.
DEMO_UDP_DATAGRAMS = 5
DEMO_UDP_PAYLOAD = 100


def protocol_name(number: int) -> str:
    """``TCP`` for 6, ``proto 99`` for a number without a name here."""
    return PROTOCOLS.get(number, f"proto {number}")


def attach(prog: Program, interface: str, *, generic: bool, netlink: bool) -> tuple[Link, str]:
    """Attach ``prog`` to XDP of ``interface``: the link, and how it was attached."""
    mode = XDPMode.GENERIC if generic else None
    how = " in generic mode" if generic else ""
    if not netlink:
        try:
            return xdp(prog, interface, mode=mode), f"an XDP link{how}"
        except BPFError as err:
            # A kernel before 5.9 has no XDP links: it answers EINVAL.
            if not isinstance(err, NotSupportedError) and err.errno != errno.EINVAL:
                raise
    return xdp_legacy(prog, interface, mode=mode), f"netlink{how}"


def enter_new_netns() -> None:
    """Move this process into a new network namespace, its ``lo`` up (for ``--demo``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare(CLONE_NEWNET): {os.strerror(code)}")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``, of an even length."""
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send_demo_traffic() -> str:
    """Send some UDP, TCP and ICMP to 127.0.0.1; say what was sent."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.1", 0))
        for _ in range(DEMO_UDP_DATAGRAMS):
            sender.sendto(bytes(DEMO_UDP_PAYLOAD), receiver.getsockname())
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        conn, _ = server.accept()
        with conn:
            client.sendall(b"hello")
            conn.recv(16)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as icmp:
        echo = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xFFFF, 1) + b"pybpf!"
        echo = echo[:2] + struct.pack("!H", checksum(echo)) + echo[4:]
        icmp.sendto(echo, ("127.0.0.1", 0))
    return (
        f"sent {DEMO_UDP_DATAGRAMS} UDP datagrams of {DEMO_UDP_PAYLOAD} bytes, "
        "1 TCP connection, 1 ICMP echo"
    )


def print_table(title: str, stats: dict[int, ProtoStats]) -> None:
    """One line per protocol: packets and bytes."""
    print(title, flush=True)
    if not stats:
        print("    (no IP packets)")
    for proto, s in sorted(stats.items()):
        print(f"    {protocol_name(proto):<10} {s.packets:>10} packets {s.bytes_:>12} bytes")
    sys.stdout.flush()


def count(args: argparse.Namespace) -> None:
    """Load, attach, print every interval until the duration ends or Ctrl-C."""
    with XdpCounterBpfObjects.load() as objs:
        link, how = attach(
            objs.count_packets, args.interface, generic=args.generic, netlink=args.netlink
        )
        with link:
            try:
                print(f"==> counting packets received on {args.interface} with {how}", flush=True)
                before: dict[int, ProtoStats] = {}
                started = time.monotonic()
                while args.duration is None or time.monotonic() - started < args.duration:
                    if args.demo:
                        print(f"==> {send_demo_traffic()}", flush=True)
                    time.sleep(args.interval)
                    now = objs.per_proto.to_dict()
                    delta = {
                        proto: ProtoStats(
                            packets=s.packets - before.get(proto, ProtoStats()).packets,
                            bytes_=s.bytes_ - before.get(proto, ProtoStats()).bytes_,
                        )
                        for proto, s in now.items()
                        if s != before.get(proto)
                    }
                    print_table(time.strftime("%H:%M:%S"), delta)
                    before = now
            except KeyboardInterrupt:
                pass
        print_table("==> detached; totals:", objs.per_proto.to_dict())


def main() -> int:
    """Parse the options, run, and turn a failure into one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("interface", nargs="?", help="the interface to count on (eth0)")
    parser.add_argument("-d", "--duration", type=float, help="stop after SECONDS")
    parser.add_argument("-i", "--interval", type=float, default=1.0, help="seconds per line")
    parser.add_argument("--generic", action="store_true", help="XDP in generic (skb) mode")
    parser.add_argument("--netlink", action="store_true", help="attach through netlink")
    parser.add_argument(
        "--demo", action="store_true", help="count on lo of a new network namespace, with traffic"
    )
    args = parser.parse_args()
    if args.demo:
        if args.interface not in (None, "lo"):
            parser.error("--demo counts on lo of its own namespace: give no interface")
        args.interface = "lo"
        args.duration = 3.0 if args.duration is None else args.duration
    elif args.interface is None:
        parser.error("give an interface, or --demo")
    try:
        if args.demo:
            enter_new_netns()
        count(args)
    except (OSError, LookupError, ValueError, subprocess.CalledProcessError) as err:
        print(f"xdp_counter: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before counting started: nothing to show
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
