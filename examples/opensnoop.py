"""opensnoop: trace the files processes open (openat), with flags and the fd or error.

A tracepoint pair (``syscalls/sys_enter_openat`` and ``sys_exit_openat``)
sends each open through a ring buffer with its file name, flags and result.
``--pid`` filters in the kernel (a ``.rodata`` constant set before loading);
``--name`` keeps the processes whose name contains it. Only ``openat`` is
traced (what glibc's ``open()`` calls), not ``open(2)`` or ``openat2(2)``.
The BPF side is ``opensnoop.bpf.c``; ``opensnoop_bpf.py`` is its typed
module, generated from the repository root with::

    pybpf gen opensnoop_bpf examples/opensnoop.bpf.c --type event --output-dir examples

Run as root::

    python3 examples/opensnoop.py                  # until Ctrl-C
    python3 examples/opensnoop.py --name cat -d 5  # processes named *cat*, 5 seconds
    python3 examples/opensnoop.py --pid 1234 -x    # one process, failed opens only
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time

from opensnoop_bpf import Event, OpensnoopBpfObjects

from pybpf.core import NotSupportedError

#: open(2)'s flags worth showing, by name (the access mode is shown apart).
FLAGS = {
    name: getattr(os, name)
    for name in (
        *("O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DIRECTORY"),
        *("O_NOFOLLOW", "O_CLOEXEC", "O_PATH", "O_TMPFILE", "O_DIRECT", "O_SYNC"),
    )
    if hasattr(os, name)
}
ACCESS = {os.O_RDONLY: "O_RDONLY", os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR"}


def flag_names(flags: int) -> str:
    """``flags`` as ``O_RDONLY|O_CLOEXEC``."""
    names = [ACCESS.get(flags & os.O_ACCMODE, f"{flags & os.O_ACCMODE:#o}")]
    names += [name for name, bit in FLAGS.items() if flags & bit == bit]
    if "O_TMPFILE" in names:  # O_TMPFILE holds O_DIRECTORY's bit
        names.remove("O_DIRECTORY")
    return "|".join(names)


def describe(event: Event) -> str:
    """One line for an open: pid, name, fd or errno, flags, path."""
    fd, err = event.ret, ""
    if event.ret < 0:
        fd, err = -1, errno.errorcode.get(-event.ret, str(-event.ret))
    return (
        f"{event.pid:>7} {event.comm_str:<16} {fd:>4} {err:<7} "
        f"{flag_names(event.flags):<28} {event.filename_str}"
    )


def trace(pid: int | None, name: str | None, failed_only: bool, duration: float | None) -> None:
    """Attach, then print each matching open until ``duration`` seconds pass (or Ctrl-C)."""
    spec = OpensnoopBpfObjects.spec()
    if pid is not None:
        spec.variables["target_tgid"].set(pid)
    with OpensnoopBpfObjects.load(spec) as objs:
        links = objs.attach()
        try:
            with objs.events_reader() as events:
                print(f"{'PID':>7} {'COMM':<16} {'FD':>4} {'ERR':<7} {'FLAGS':<28} PATH")
                print("(tracing openat, Ctrl-C to end)", file=sys.stderr, flush=True)
                deadline = None if duration is None else time.monotonic() + duration
                while deadline is None or (left := deadline - time.monotonic()) > 0:
                    timeout = 0.5 if deadline is None else min(left, 0.5)
                    for ev in events.read_batch(timeout=timeout):
                        if name is not None and name not in ev.comm_str:
                            continue
                        if failed_only and ev.ret >= 0:
                            continue
                        print(describe(ev), flush=True)
        finally:
            for link in links:
                link.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and trace; errors end the tool with one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--pid", type=int, help="only this process (its tgid)")
    parser.add_argument("-n", "--name", help="only processes whose name contains NAME")
    parser.add_argument("-x", "--failed", action="store_true", help="only opens that failed")
    parser.add_argument(
        "-d", "--duration", type=float, metavar="SECONDS", help="stop after SECONDS"
    )
    args = parser.parse_args(argv)
    try:
        trace(args.pid, args.name, args.failed, args.duration)
    except KeyboardInterrupt:
        pass
    except (NotSupportedError, OSError, ValueError) as e:
        print(f"opensnoop: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
