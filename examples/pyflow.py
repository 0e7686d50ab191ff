r"""pyflow: follow the Python function calls of a running Python process.

CPython's USDT probes ``python:function__entry`` and ``function__return``
(file, function, line) stream through a ring buffer; this side indents
each call by its depth in its thread and shows how long each took, like
bcc's ``uflow``. The BPF side is ``pyflow.bpf.c`` (libbpf's ``usdt.bpf.h``);
``pyflow_bpf.py`` is its typed module, generated from the repository root
with::

    pybpf gen pyflow_bpf examples/pyflow.bpf.c --type call --output-dir examples \
        -- -D__TARGET_ARCH_x86

The interpreter must carry the probes (Debian's ``/usr/bin/python3`` does:
``readelf -n /usr/bin/python3`` lists them). CPython 3.11 fires
``function__entry`` only while a trace or profile function is set in the
traced program. A builtin one adds no calls of its own to the flow:
``sys.setprofile(slice)`` (a Python function, a lambda, would show up).

Run as root::

    python3 examples/pyflow.py --pid 1234              # until Ctrl-C
    python3 examples/pyflow.py --pid 1234 --count 50   # the first 50 calls and returns
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pyflow_bpf import Call, CallKind, PyflowBpfObjects

from pybpf.core import NotSupportedError
from pybpf.link import Executable


class Flow:
    """Per-thread call stacks: the depth of each call and the time of its entry."""

    def __init__(self) -> None:
        self.stacks: dict[int, list[int]] = {}

    def line(self, call: Call) -> str:
        """One line for an entry (``->``) or a return (``<-``, with the time it took)."""
        stack = self.stacks.setdefault(call.tid, [])
        where = f"{call.filename_str}:{call.function_str}:{call.lineno}"
        if call.kind == CallKind.CALL_ENTRY:
            stack.append(call.ts_ns)
            return f"{call.tid:<7} {'  ' * (len(stack) - 1)}-> {where}"
        # A return whose entry came before we attached has no start and no depth.
        started = stack.pop() if stack else None
        took = "" if started is None else f" ({(call.ts_ns - started) / 1000:.1f} us)"
        return f"{call.tid:<7} {'  ' * len(stack)}<- {where}{took}"


def follow(pid: int, binary: str | None, count: int | None, duration: float | None) -> None:
    """Attach to ``pid``'s interpreter; print its calls until ``count``, ``duration`` or Ctrl-C."""
    python = Executable(binary or os.readlink(f"/proc/{pid}/exe"), pid=pid)
    spec = PyflowBpfObjects.spec()
    spec.variables["target_tgid"].set(pid)
    with PyflowBpfObjects.load(spec) as objs:
        links = [
            python.usdt(objs.function_entry, "python", "function__entry", pid=pid),
            python.usdt(objs.function_return, "python", "function__return", pid=pid),
        ]
        try:
            with objs.calls_reader() as calls:
                print(f"{'TID':<7} CALLS (-> entry, <- return)")
                print(
                    f"(following {python.path} pid {pid}, Ctrl-C to end)",
                    file=sys.stderr,
                    flush=True,
                )
                flow = Flow()
                shown = 0
                deadline = None if duration is None else time.monotonic() + duration
                while deadline is None or (left := deadline - time.monotonic()) > 0:
                    timeout = 0.5 if deadline is None else min(left, 0.5)
                    for call in calls.read_batch(timeout=timeout):
                        print(flow.line(call), flush=True)
                        shown += 1
                        if count is not None and shown >= count:
                            return
        finally:
            for link in links:
                link.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and follow; errors end the tool with one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--pid", type=int, required=True, help="the Python process")
    parser.add_argument("--binary", help="the interpreter (default: the process's executable)")
    parser.add_argument("-n", "--count", type=int, help="stop after N calls and returns")
    parser.add_argument(
        "-d", "--duration", type=float, metavar="SECONDS", help="stop after SECONDS"
    )
    args = parser.parse_args(argv)
    try:
        follow(args.pid, args.binary, args.count, args.duration)
    except KeyboardInterrupt:
        pass
    except (NotSupportedError, OSError, ValueError, LookupError) as e:
        print(f"pyflow: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
