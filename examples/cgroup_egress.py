"""cgroup_egress: the packets and bytes that the processes of a cgroup v2 send.

A ``cgroup_skb/egress`` program (``cgroup_egress.bpf.c``) counts every packet
that leaves a socket of a process in the cgroup (or in the cgroups below it),
its bytes counted from the IP header; this tool prints what was sent each
second, and the totals when it ends. Run as root:

    python3 examples/cgroup_egress.py /sys/fs/cgroup/system.slice   # until Ctrl-C
    python3 examples/cgroup_egress.py /sys/fs/cgroup/user.slice -d 10
    python3 examples/cgroup_egress.py --demo

``--demo`` makes a cgroup of its own (mounting cgroup2 on a temporary
directory where none is mounted) and runs a child in it each second that
sends UDP datagrams to itself, in a network namespace of its own: no packet
leaves that namespace.

It attaches with a cgroup bpf_link (Linux 5.7+), else with ``BPF_PROG_ATTACH``.

``cgroup_egress_bpf.py`` is generated from the C by ``pybpf gen``; after
changing the C, regenerate it in this directory:

    pybpf gen cgroup_egress_bpf cgroup_egress.bpf.c
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cgroup_egress_bpf import CgroupEgressBpfObjects, EgressTotals

from pybpf.core import NotSupportedError, Program
from pybpf.link import Link, cgroup, cgroup_legacy

#: What the demo's child sends each second.
DEMO_DATAGRAMS = 10
DEMO_PAYLOAD = 200
#: The demo's child: it moves into a network namespace of its own (``lo`` up),
#: then into the cgroup, and sends datagrams to a socket of its own.
DEMO_CHILD = """
import ctypes, os, socket, subprocess, sys
cgroup_procs, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:  # CLONE_NEWNET
    sys.exit(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
with open(cgroup_procs, "w") as procs:
    procs.write(str(os.getpid()))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
    receiver.bind(("127.0.0.1", 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for _ in range(count):
            sender.sendto(bytes(size), receiver.getsockname())
"""


def attach(prog: Program, path: Path) -> tuple[Link, str]:
    """Attach ``prog`` to the cgroup at ``path``: the link, and how it was attached."""
    try:
        return cgroup(prog, path), "a cgroup link"
    except NotSupportedError:
        return cgroup_legacy(prog, path), "BPF_PROG_ATTACH"


def cgroup2_root() -> Path | None:
    """Where the machine mounts cgroup v2, if it does.

    Mounts under the temporary directory are another tool's for a while (this
    one's ``--demo`` makes such): they may go while this one runs.
    """
    temporary = Path(tempfile.gettempdir())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2" and temporary not in Path(fields[1]).parents:
            return Path(fields[1])
    return None


@contextlib.contextmanager
def demo_cgroup() -> Iterator[Path]:
    """A new cgroup for the block, under a cgroup2 mount (a temporary one if none is mounted)."""
    with contextlib.ExitStack() as cleanup:
        root = cgroup2_root()
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="cgroup2-"))
            cleanup.callback(root.rmdir)
            subprocess.run(["mount", "-t", "cgroup2", "none", str(root)], check=True)
            # Lazily: a file still open in it must not keep it mounted.
            cleanup.callback(subprocess.run, ["umount", "-l", str(root)], check=True)
            print(f"==> mounted cgroup2 on {root}", flush=True)
        path = root / f"cgroup_egress-demo-{os.getpid()}"
        path.mkdir()
        cleanup.callback(remove_cgroup, path)
        yield path


def remove_cgroup(path: Path) -> None:
    """Remove an empty cgroup, waiting a little for its exited processes to be gone."""
    for _ in range(50):
        try:
            path.rmdir()
            return
        except OSError as err:
            if err.errno != errno.EBUSY:
                raise
            time.sleep(0.02)
    path.rmdir()


def run_demo_child(path: Path) -> str:
    """Run the demo's child in the cgroup at ``path``; say what it sent."""
    argv = [str(path / "cgroup.procs"), str(DEMO_DATAGRAMS), str(DEMO_PAYLOAD)]
    subprocess.run([sys.executable, "-c", DEMO_CHILD, *argv], check=True)
    return f"a child in the cgroup sent {DEMO_DATAGRAMS} UDP datagrams of {DEMO_PAYLOAD} bytes"


def count(path: Path, args: argparse.Namespace) -> None:
    """Load, attach, print every interval until the duration ends or Ctrl-C."""
    with CgroupEgressBpfObjects.load() as objs:
        link, how = attach(objs.count_egress, path)
        with link:
            try:
                print(f"==> counting what {path} sends, with {how}", flush=True)
                before = EgressTotals()
                started = time.monotonic()
                while args.duration is None or time.monotonic() - started < args.duration:
                    if args.demo:
                        print(f"==> {run_demo_child(path)}", flush=True)
                    time.sleep(args.interval)
                    now: EgressTotals = objs.totals.get()
                    print(
                        f"{time.strftime('%H:%M:%S')}  {now.packets - before.packets:>8} packets "
                        f"{now.bytes_ - before.bytes_:>10} bytes",
                        flush=True,
                    )
                    before = now
            except KeyboardInterrupt:
                pass
        total: EgressTotals = objs.totals.get()
        print(f"==> detached; {path} sent {total.packets} packets, {total.bytes_} bytes")


def main() -> int:
    """Parse the options, run, and turn a failure into one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cgroup", nargs="?", type=Path, help="a cgroup v2 directory")
    parser.add_argument("-d", "--duration", type=float, help="stop after SECONDS")
    parser.add_argument("-i", "--interval", type=float, default=1.0, help="seconds per line")
    parser.add_argument(
        "--demo", action="store_true", help="count a cgroup of its own, with a child sending"
    )
    args = parser.parse_args()
    # A kill (SIGTERM) ends it as Ctrl-C does: detached, and the demo's mount gone.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    given: Path | None = args.cgroup
    if args.demo:
        if given is not None:
            parser.error("--demo makes its own cgroup: give none")
        args.duration = 2.0 if args.duration is None else args.duration
    elif given is None:
        parser.error("give a cgroup v2 directory, or --demo")
    try:
        if given is None:
            with demo_cgroup() as path:
                count(path, args)
        else:
            count(given, args)
    except (OSError, LookupError, ValueError, subprocess.CalledProcessError) as err:
        print(f"cgroup_egress: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before counting started: nothing to show
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
