"""execsnoop: trace every exec on the machine, with its parent, arguments and result.

A tracepoint pair (``syscalls/sys_enter_execve`` and ``sys_exit_execve``)
copies each new program's first arguments and its return code into a ring
buffer; the parent's pid comes from the kernel's ``task_struct`` through
CO-RE. The BPF side is ``execsnoop.bpf.c``; ``execsnoop_bpf.py`` is its typed
module, generated from the repository root with::

    pybpf gen execsnoop_bpf examples/execsnoop.bpf.c --type event --output-dir examples

Run as root::

    python3 examples/execsnoop.py              # until Ctrl-C
    python3 examples/execsnoop.py -d 5 -x      # 5 seconds, failed execs only
"""

from __future__ import annotations

import argparse
import sys
import time

from execsnoop_bpf import Event, ExecsnoopBpfObjects

from pybpf.core import NotSupportedError

#: How long one argument may be, as the C copies it (ARG_LEN).
ARG_LEN = 64


def arguments(event: Event) -> str:
    """The arguments the C copied, joined like a shell line ("..." when more were left out)."""
    slots = event.args.ljust(event.args_count * ARG_LEN, b"\0")
    words = [
        slots[i * ARG_LEN : (i + 1) * ARG_LEN].split(b"\0", 1)[0].decode(errors="replace")
        for i in range(event.args_count)
    ]
    return " ".join(words) + (" ..." if event.truncated else "")


def trace(duration: float | None, failed_only: bool) -> None:
    """Attach, then print each exec until ``duration`` seconds pass (or Ctrl-C)."""
    with ExecsnoopBpfObjects.load() as objs:
        links = objs.attach()
        try:
            with objs.events_reader() as events:
                print(f"{'TIME':<8} {'PCOMM':<16} {'PID':>7} {'PPID':>7} {'RET':>4} ARGS")
                print("(tracing execs, Ctrl-C to end)", file=sys.stderr, flush=True)
                deadline = None if duration is None else time.monotonic() + duration
                while deadline is None or (left := deadline - time.monotonic()) > 0:
                    timeout = 0.5 if deadline is None else min(left, 0.5)
                    for ev in events.read_batch(timeout=timeout):
                        if failed_only and ev.retval == 0:
                            continue
                        print(
                            f"{time.strftime('%H:%M:%S'):<8} {ev.comm_str:<16} {ev.pid:>7} "
                            f"{ev.ppid:>7} {ev.retval:>4} {arguments(ev)}",
                            flush=True,
                        )
        finally:
            for link in links:
                link.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and trace; errors end the tool with one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-d", "--duration", type=float, metavar="SECONDS", help="stop after SECONDS"
    )
    parser.add_argument("-x", "--failed", action="store_true", help="only execs that failed")
    args = parser.parse_args(argv)
    try:
        trace(args.duration, args.failed)
    except KeyboardInterrupt:
        pass
    except (NotSupportedError, OSError, ValueError) as e:
        print(f"execsnoop: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
