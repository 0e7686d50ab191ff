"""pybpf demo: load a BPF object, configure it, feed it packets, read the results.

Run as root from the repository root:

    python3 examples/demo.py [testdata/demo-el.o]

It loads ``testdata/demo.c``'s object with a ``.rodata`` constant set before
loading (drop UDP), fills a map from user space (a length cap for the socket
filter), runs both programs in the kernel with BPF_PROG_TEST_RUN, and prints
what the programs counted: the maps decode keys and values through the
object's BTF by themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pybpf.core import Collection, VerifierError, load_collection_spec

XDP_VERDICTS = {0: "ABORTED", 1: "DROP", 2: "PASS", 3: "TX", 4: "REDIRECT"}
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP"}


def packet(proto: int, size: int) -> bytes:
    """An Ethernet frame carrying an IPv4 header with protocol ``proto``."""
    ip = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto])
    return bytes(12) + b"\x08\x00" + ip + bytes(size - 14 - len(ip))


def main(argv: list[str]) -> int:
    """Run the demo on the object ``argv[0]`` (default: testdata/demo-el.o)."""
    root = Path(__file__).resolve().parent.parent
    path = Path(argv[0]) if argv else root / "testdata" / "demo-el.o"
    spec = load_collection_spec(path)
    spec.variables["drop_proto"].set(17)  # a .rodata constant, before loading

    with Collection(spec) as coll:
        coll.maps["limits"][0] = 40
        xdp = coll.programs["count_packets"]
        for proto, size in [(6, 60), (6, 1500), (17, 90), (1, 64)]:
            result = xdp.run(packet(proto, size))
            verdict = XDP_VERDICTS.get(result.retval, result.retval)
            print(f"xdp  {PROTOCOLS[proto]:<4} {size:>5} bytes -> {verdict}")
        capped = coll.programs["cap_length"].run(packet(6, 200), repeat=100)
        print(f"sock 200-byte frame -> keep {capped.retval} bytes ({capped.duration_ns} ns/run)")

        for proto, stats in sorted(coll.maps["per_proto"].to_dict().items()):
            print(
                f"per_proto[{PROTOCOLS.get(proto, proto)}] = "
                f"packets={stats.packets} bytes={stats.bytes}"
            )
        print(f"total_packets = {coll.variables['total_packets'].get()}")
        print(f"drop_proto    = {coll.variables['drop_proto'].get()} (frozen .rodata)")

    try:
        Collection(spec, programs=["bad_stack"])
    except VerifierError as err:
        print(f"bad_stack rejected: {err.cause}\n  at {err.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
