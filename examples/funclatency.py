"""funclatency: a log2 histogram of how long a function takes, per call.

A probe at the function's entry notes the time; one at its return adds the
time it took to a histogram (an array map of log2 slots), printed at the end
as bcc's tools print theirs (``pybpf.core.log2_histogram``). The target is:

- ``LIBRARY:FUNCTION`` or ``/path/to/binary:FUNCTION``: a user-space
  function, through a uprobe/uretprobe pair (``libc:clock_nanosleep``;
  ``libc`` stands for ``libc.so.6``);
- ``FUNCTION``: a kernel function, through a kprobe/kretprobe pair (needs a
  kernel built with CONFIG_KPROBES).

The BPF side is ``funclatency.bpf.c``; ``funclatency_bpf.py`` is its typed
module, generated from the repository root with::

    pybpf gen funclatency_bpf examples/funclatency.bpf.c --output-dir examples

Run as root::

    python3 examples/funclatency.py libc:clock_nanosleep -u    # until Ctrl-C, in usecs
    python3 examples/funclatency.py -m -d 10 vfs_read          # 10 seconds, in msecs
    python3 examples/funclatency.py -p 1234 libc:malloc        # one process, in nsecs
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time

from funclatency_bpf import FunclatencyBpfObjects

from pybpf.core import NotSupportedError, log2_histogram
from pybpf.link import Executable, Link, kprobe

#: Short library names, as bcc's tools take them.
LIBRARIES = {"libc": "libc.so.6", "c": "libc.so.6"}
#: Unit name to its size in nanoseconds.
UNITS = {"nsecs": 1, "usecs": 1000, "msecs": 1000_000}


def attach(objs: FunclatencyBpfObjects, target: str, pid: int | None) -> list[Link]:
    """The entry and return probes of ``target``: uprobes for ``BINARY:FUNC``, else kprobes."""
    binary, _, function = target.rpartition(":")
    if binary:
        exe = Executable(LIBRARIES.get(binary, binary), pid=pid)
        return [
            exe.uprobe(objs.user_entry, function, pid=pid),
            exe.uprobe(objs.user_exit, function, pid=pid, retprobe=True),
        ]
    return [kprobe(objs.kernel_entry, function), kprobe(objs.kernel_exit, function, retprobe=True)]


def measure(target: str, pid: int | None, unit: str, duration: float | None) -> None:
    """Attach to ``target``, wait ``duration`` seconds (or Ctrl-C), print the histogram."""
    spec = FunclatencyBpfObjects.spec()
    spec.variables["divisor"].set(UNITS[unit])
    if pid is not None:
        spec.variables["target_tgid"].set(pid)
    user = ":" in target
    programs = ["user_entry", "user_exit"] if user else ["kernel_entry", "kernel_exit"]
    with FunclatencyBpfObjects.load(spec, programs=programs) as objs:
        links = attach(objs, target, pid)
        try:
            print(f"(timing {target}, Ctrl-C to end)", file=sys.stderr, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                if duration is None:
                    signal.pause()
                else:
                    time.sleep(duration)
        finally:
            for link in links:
                link.close()
        histogram = list(objs.hist.values())
    print(f"{target}: {sum(histogram)} calls")
    print(log2_histogram(histogram, label=unit) or "(no calls)")


def main(argv: list[str] | None = None) -> int:
    """Parse the options and measure; errors end the tool with one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="LIBRARY:FUNCTION, /path/binary:FUNCTION or KERNEL_FUNCTION")
    parser.add_argument("-p", "--pid", type=int, help="only this process (its tgid)")
    units = parser.add_mutually_exclusive_group()
    units.add_argument("-u", "--microseconds", action="store_true", help="in usecs")
    units.add_argument("-m", "--milliseconds", action="store_true", help="in msecs")
    parser.add_argument(
        "-d", "--duration", type=float, metavar="SECONDS", help="stop after SECONDS"
    )
    args = parser.parse_args(argv)
    unit = "usecs" if args.microseconds else "msecs" if args.milliseconds else "nsecs"
    try:
        measure(args.target, args.pid, unit, args.duration)
    except (NotSupportedError, OSError, ValueError, LookupError) as e:
        print(f"funclatency: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
