"""syscount: count system calls by name, shown as a table every interval.

A tracepoint program on ``raw_syscalls/sys_enter`` counts each call in a
hash map keyed by the syscall number; this side reads the map every
``--interval`` seconds, prints the top ``--top`` calls and clears it. The
BPF side is ``syscount.bpf.c``; ``syscount_bpf.py`` is its typed module,
generated from the repository root with::

    pybpf gen syscount_bpf examples/syscount.bpf.c --output-dir examples

Syscall names come from the system's ``asm/unistd_64.h``, read when the tool
starts (no table to keep in step with the kernel's headers); without the
header (Debian's ``linux-libc-dev``) calls show as numbers.

Run as root::

    python3 examples/syscount.py                 # every second, until Ctrl-C
    python3 examples/syscount.py -p 1234 -d 5    # one process, for 5 seconds
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from syscount_bpf import SyscountBpfObjects

from pybpf.core import NotSupportedError

#: Where Debian and its derivatives keep the x86-64 syscall numbers.
UNISTD_HEADERS = [
    Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    Path("/usr/include/asm/unistd_64.h"),
]
_DEFINE = re.compile(r"^#define __NR_(\w+)\s+(\d+)\s*$", re.MULTILINE)


def syscall_names(headers: list[Path] = UNISTD_HEADERS) -> dict[int, str]:
    """Syscall number to name, from the first header found (empty when there is none)."""
    for header in headers:
        try:
            text = header.read_text()
        except OSError:
            continue
        return {int(number): name for name, number in _DEFINE.findall(text)}
    return {}


def show(counts: dict[int, int], names: dict[int, str], top: int) -> None:
    """The ``top`` most frequent calls, as a table."""
    print(f"[{time.strftime('%H:%M:%S')}]")
    print(f"{'SYSCALL':<24} {'COUNT':>10}")
    for nr, count in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{names.get(nr, f'syscall {nr}'):<24} {count:>10}")
    print(flush=True)


def count(pid: int | None, interval: float, top: int, duration: float | None) -> None:
    """Attach, then print the table every ``interval`` seconds until ``duration`` (or Ctrl-C)."""
    names = syscall_names()
    spec = SyscountBpfObjects.spec()
    if pid is not None:
        spec.variables["target_tgid"].set(pid)
    with SyscountBpfObjects.load(spec) as objs:
        links = objs.attach()
        try:
            print("(counting syscalls, Ctrl-C to end)", file=sys.stderr, flush=True)
            deadline = None if duration is None else time.monotonic() + duration
            while deadline is None or (left := deadline - time.monotonic()) > 0:
                time.sleep(interval if deadline is None else min(left, interval))
                counts = objs.counts.to_dict()
                # Calls counted between the read and the clear are lost: fine for a view.
                objs.counts.delete_batch(list(counts))
                show(counts, names, top)
        finally:
            for link in links:
                link.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and count; errors end the tool with one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--pid", type=int, help="only this process (its tgid)")
    parser.add_argument(
        "-i", "--interval", type=float, default=1.0, metavar="SECONDS", help="table every SECONDS"
    )
    parser.add_argument("-T", "--top", type=int, default=10, help="show the top N (default 10)")
    parser.add_argument(
        "-d", "--duration", type=float, metavar="SECONDS", help="stop after SECONDS"
    )
    args = parser.parse_args(argv)
    try:
        count(args.pid, args.interval, args.top, args.duration)
    except KeyboardInterrupt:
        pass
    except (NotSupportedError, OSError, ValueError) as e:
        print(f"syscount: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
