"""pybpf demo: attach programs to real events, stream them, and show what they counted.

Run as root from the repository root:

    python3 examples/demo.py

Part 1, live (``testdata/demo_live.c``): a tracepoint program streams every
exec on the machine through a ring buffer, and a uprobe/uretprobe pair
on libc's ``clock_nanosleep`` times each sleep. The demo runs a few commands
itself, prints the events as they come, then a log2 histogram of the sleeps
and a table of who slept.

Part 2, packets (``testdata/demo.c``): a ``.rodata`` constant set before
loading, a map filled from user space, an XDP program and a socket filter run
in the kernel with BPF_PROG_TEST_RUN, and a verifier rejection shown with the
C line that caused it.

A part this kernel refuses (a kernel built without uprobes, say) is reported
with the kernel's answer and the demo goes on with the rest.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pybpf.core import (
    Collection,
    NotSupportedError,
    RingBuffer,
    VerifierError,
    load_collection_spec,
    log2_histogram,
)
from pybpf.link import Link, attach

ROOT = Path(__file__).resolve().parent.parent
XDP_VERDICTS = {0: "ABORTED", 1: "DROP", 2: "PASS", 3: "TX", 4: "REDIRECT"}
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP"}
#: What the demo runs while it listens: execs for the tracepoint, sleeps for the uprobes.
COMMANDS = [
    ["sleep", "0.01"],
    ["sleep", "0.05"],
    ["true"],
    ["sleep", "0.2"],
    ["ls", "/"],
]


def say(text: str) -> None:
    """One step of the demo, as it happens."""
    print(f"==> {text}", flush=True)


def live(listen_seconds: float) -> None:
    """Attach, trigger, stream, summarise."""
    spec = load_collection_spec(ROOT / "testdata" / "demo_live-el.o")
    say(f"loading {len(spec.programs)} programs and {len(spec.maps)} maps of demo_live.c")
    with Collection(spec) as coll:
        links: list[Link] = []
        try:
            for name, program in coll.programs.items():
                try:
                    links.append(attach(program))
                except NotSupportedError as err:
                    say(f"not attached {name}: this kernel refused it: {err}")
                    continue
                say(f"attached {links[-1].name}")
            with RingBuffer(coll.maps["execs"], record="struct exec_event") as execs:
                say(f"running {len(COMMANDS)} commands; streaming exec events")
                for argv in COMMANDS:
                    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
                time.sleep(0.1)  # this process sleeps too
                deadline = time.monotonic() + listen_seconds
                seen = 0
                while (left := deadline - time.monotonic()) > 0:
                    for ev in execs.read_batch(timeout=min(left, 0.5)):
                        seen += 1
                        comm = bytes(ev.comm).rstrip(b"\0").decode(errors="replace")
                        name = bytes(ev.filename).rstrip(b"\0").decode(errors="replace")
                        print(f"    exec  pid {ev.pid:<7} {comm:<16} {name}")
                say(f"{seen} exec events")
        finally:
            for link in links:
                link.close()
        say("detached; what the uprobes counted while attached:")
        print(
            log2_histogram(
                coll.maps["sleep_usecs"].values(), label="usecs", skip_leading_zeros=True
            )
        )
        print(f"\n    {'PID':<8} {'COMM':<16} {'SLEEPS':>6} {'TOTAL ms':>9}")
        table = sorted(coll.maps["sleepers"].items(), key=lambda kv: -kv[1].total_ns)
        for pid, who in table[:10]:
            comm = bytes(who.comm).rstrip(b"\0").decode(errors="replace")
            print(f"    {pid:<8} {comm:<16} {who.calls:>6} {who.total_ns / 1e6:>9.1f}")


def packet(proto: int, size: int) -> bytes:
    """An Ethernet frame carrying an IPv4 header with protocol ``proto``."""
    ip = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto])
    return bytes(12) + b"\x08\x00" + ip + bytes(size - 14 - len(ip))


def packets() -> None:
    """Configure, fill, run with BPF_PROG_TEST_RUN, and a verifier rejection."""
    spec = load_collection_spec(ROOT / "testdata" / "demo-el.o")
    spec.variables["drop_proto"].set(17)  # a .rodata constant, before loading
    say("packets: XDP and a socket filter run in the kernel on test frames")
    with Collection(spec) as coll:
        coll.maps["limits"][0] = 40
        xdp = coll.programs["count_packets"]
        for proto, size in [(6, 60), (6, 1500), (17, 90), (1, 64)]:
            result = xdp.run(packet(proto, size))
            verdict = XDP_VERDICTS.get(result.retval, result.retval)
            print(f"    xdp  {PROTOCOLS[proto]:<4} {size:>5} bytes -> {verdict}")
        capped = coll.programs["cap_length"].run(packet(6, 200), repeat=100)
        print(
            f"    sock 200-byte frame -> keep {capped.retval} bytes ({capped.duration_ns} ns/run)"
        )
        for proto, stats in sorted(coll.maps["per_proto"].to_dict().items()):
            name = PROTOCOLS.get(proto, proto)
            print(f"    per_proto[{name}] = packets={stats.packets} bytes={stats.bytes}")
        print(f"    total_packets = {coll.variables['total_packets'].get()}")
    say("a program the verifier rejects, with the C line that caused it")
    try:
        Collection(spec, programs=["bad_stack"])
    except VerifierError as err:
        print(f"    bad_stack rejected: {err.cause}\n      at {err.source}")


def main(argv: list[str]) -> int:
    """The whole demo; ``--listen SECONDS`` sets how long events stream (default 2)."""
    listen = float(argv[argv.index("--listen") + 1]) if "--listen" in argv else 2.0
    started = time.monotonic()
    parts: list[Callable[[], None]] = [lambda: live(listen), packets]
    for part in parts:
        try:
            part()
        except NotSupportedError as err:
            say(f"skipped the rest of this part: this kernel refused it: {err}")
        print()
    say(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
