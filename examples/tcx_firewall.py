"""tcx_firewall: drop the packets to one TCP or UDP port arriving on an interface.

A tc program (``tcx_firewall.bpf.c``) at the interface's ingress drops the
IPv4 and IPv6 packets to the port and counts them; this tool shows the drops
each second. Run as root:

    python3 examples/tcx_firewall.py eth0 --port 8080 --proto tcp   # until Ctrl-C
    python3 examples/tcx_firewall.py eth0 --port 53 -d 10            # UDP, 10 seconds
    python3 examples/tcx_firewall.py --demo                          # in a namespace of its own

``--demo`` makes a new network namespace, guards its ``lo`` and sends to two
servers there, one on the dropped port (8080 unless ``--port``): packets to
it never arrive, the others do. No packet leaves that namespace.

It attaches with tcx (Linux 6.6+), and where the kernel has no tcx with tc
(a clsact qdisc and a direct-action filter, as ``tc filter add ... bpf da``
does); it says which. ``--tc`` uses tc even where tcx exists.

``tcx_firewall_bpf.py`` is generated from the C by ``pybpf gen``; after
changing the C, regenerate it in this directory:

    pybpf gen tcx_firewall_bpf tcx_firewall.bpf.c
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import time

from tcx_firewall_bpf import TcxFirewallBpfObjects

from pybpf.core import NotSupportedError, Program
from pybpf.link import Link, tc, tcx

PROTOCOLS = {"udp": socket.IPPROTO_UDP, "tcp": socket.IPPROTO_TCP}
CLONE_NEWNET = 0x40000000
DEMO_PORT = 8080
#: What the demo sends to each server every second.
DEMO_TRIES = 3


def attach(prog: Program, interface: str, *, use_tc: bool) -> tuple[Link, str]:
    """Attach ``prog`` at ingress of ``interface``: the link, and how it was attached."""
    if not use_tc:
        try:
            return tcx(prog, interface, direction="ingress"), "tcx"
        except NotSupportedError as err:
            print(f"==> no tcx here ({err}): using tc", flush=True)
    return tc(prog, interface, direction="ingress"), "tc (clsact, direct-action filter)"


def enter_new_netns() -> None:
    """Move this process into a new network namespace, its ``lo`` up (for ``--demo``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare(CLONE_NEWNET): {os.strerror(code)}")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def udp_tries(port: int) -> int:
    """Send ``DEMO_TRIES`` datagrams to a server on 127.0.0.1:``port``: how many arrived."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", port))
        server.settimeout(0.2)
        for _ in range(DEMO_TRIES):
            client.sendto(b"knock", ("127.0.0.1", port))
        arrived = 0
        with contextlib.suppress(TimeoutError):
            while arrived < DEMO_TRIES:
                server.recv(16)
                arrived += 1
        return arrived


def tcp_tries(port: int) -> int:
    """Connect ``DEMO_TRIES`` times to a server on 127.0.0.1:``port``: how many got through."""
    with socket.create_server(("127.0.0.1", port)):
        connected = 0
        for _ in range(DEMO_TRIES):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    connected += 1
            except TimeoutError:  # the SYN was dropped
                pass
        return connected


def knock(blocked: int, proto: str) -> str:
    """Try the blocked port and the one next to it (in the demo's namespace): what got through."""
    other = blocked + 1 if blocked < 65535 else blocked - 1
    tries = udp_tries if proto == "udp" else tcp_tries
    return ", ".join(
        f"to port {port}: {tries(port)} of {DEMO_TRIES} got through" for port in (blocked, other)
    )


def firewall(args: argparse.Namespace) -> None:
    """Load with the port set, attach, show the drops until the duration ends or Ctrl-C."""
    spec = TcxFirewallBpfObjects.spec()
    spec.variables["port"].set(args.port)
    spec.variables["protocol"].set(PROTOCOLS[args.proto])
    with TcxFirewallBpfObjects.load(spec) as objs:
        link, how = attach(objs.drop_port, args.interface, use_tc=args.tc)
        with link:
            what = f"{args.proto.upper()} to port {args.port}"
            try:
                print(f"==> dropping {what} at ingress of {args.interface} with {how}", flush=True)
                dropped = passed = 0
                started = time.monotonic()
                while args.duration is None or time.monotonic() - started < args.duration:
                    if args.demo:
                        print(f"==> {knock(args.port, args.proto)}", flush=True)
                    time.sleep(args.interval)
                    now_dropped, now_passed = objs.dropped.get(), objs.passed.get()
                    print(
                        f"{time.strftime('%H:%M:%S')}  dropped {now_dropped - dropped:>6}  "
                        f"passed {now_passed - passed:>6}",
                        flush=True,
                    )
                    dropped, passed = now_dropped, now_passed
            except KeyboardInterrupt:
                pass
        print(f"==> detached; dropped {objs.dropped.get()} packets in all ({what})")


def main() -> int:
    """Parse the options, run, and turn a failure into one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("interface", nargs="?", help="the interface to guard (eth0)")
    parser.add_argument("-p", "--port", type=int, help="the destination port to drop")
    parser.add_argument("--proto", choices=sorted(PROTOCOLS), default="udp", help="default: udp")
    parser.add_argument("-d", "--duration", type=float, help="stop after SECONDS")
    parser.add_argument("-i", "--interval", type=float, default=1.0, help="seconds per line")
    parser.add_argument("--tc", action="store_true", help="attach with tc even if tcx exists")
    parser.add_argument(
        "--demo", action="store_true", help="guard lo of a new network namespace, with traffic"
    )
    args = parser.parse_args()
    if args.demo:
        if args.interface not in (None, "lo"):
            parser.error("--demo guards lo of its own namespace: give no interface")
        args.interface = "lo"
        args.port = DEMO_PORT if args.port is None else args.port
        args.duration = 3.0 if args.duration is None else args.duration
    elif args.interface is None or args.port is None:
        parser.error("give an interface and --port, or --demo")
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a port (1-65535)")
    try:
        if args.demo:
            enter_new_netns()
        firewall(args)
    except (OSError, LookupError, ValueError, subprocess.CalledProcessError) as err:
        print(f"tcx_firewall: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before counting started: nothing to show
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
