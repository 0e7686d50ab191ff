"""``pybpf top``: the BPF programs running on this machine, refreshed like top(1).

Statistics are on (``BPF_ENABLE_STATS``) only while the command runs: the
kernel counts runs and run time per program then, and each refresh shows the
difference over the last interval: runs, run time, average ns per run and
the share of one CPU the program took. ``--once`` prints one interval and
exits (``--json`` for scripts); on a terminal, ``q`` quits.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import sys
import termios
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from pybpf.cli.core_prog import type_name
from pybpf.cli.output import print_json
from pybpf.core.errors import BPFError
from pybpf.core.inventory import programs
from pybpf.core.prog_info import ProgramInfo, enable_stats

__all__ = ["Row", "sample", "top"]


@dataclass(frozen=True)
class Row:
    """One program over one interval."""

    id: int
    type: str
    name: str
    #: Where it is attached, as far as the kernel says (the BTF attach target).
    attach: str
    #: Totals since statistics were turned on.
    run_cnt: int
    run_time_ns: int
    #: Over the interval.
    runs: int
    time_ns: int
    avg_ns: int
    cpu_percent: float


def _attach(info: ProgramInfo) -> str:
    try:
        target = info.attach_btf_type()
    except (BPFError, LookupError, ValueError):
        return "-"
    return target.name if target is not None and target.name else "-"


def _snapshot() -> dict[int, ProgramInfo]:
    return {info.id: info for info in programs()}


def sample(interval: float) -> list[Row]:
    """Programs' activity over ``interval`` seconds; statistics must be on."""
    before = _snapshot()
    start = time.monotonic_ns()
    time.sleep(interval)
    after = _snapshot()
    elapsed = max(time.monotonic_ns() - start, 1)
    rows = []
    for prog_id, info in after.items():
        old = before.get(prog_id)
        runs = info.run_count - (old.run_count if old else 0)
        spent = info.run_time_ns - (old.run_time_ns if old else 0)
        rows.append(
            Row(
                id=prog_id,
                type=type_name(info.type),
                name=info.name,
                attach=_attach(info),
                run_cnt=info.run_count,
                run_time_ns=info.run_time_ns,
                runs=runs,
                time_ns=spent,
                avg_ns=spent // runs if runs else 0,
                cpu_percent=round(100 * spent / elapsed, 3),
            )
        )
    return rows


_SORT_KEYS = {
    "cpu": lambda r: (-r.cpu_percent, -r.runs, r.id),
    "runs": lambda r: (-r.runs, r.id),
    "avg": lambda r: (-r.avg_ns, r.id),
    "time": lambda r: (-r.time_ns, r.id),
    "id": lambda r: r.id,
    "name": lambda r: (r.name, r.id),
}


def _table(rows: list[Row], interval: float, width: int) -> list[str]:
    head = f"{'ID':>7} {'TYPE':<16} {'NAME':<16} {'RUNS/s':>10} {'AVG ns':>9} {'CPU%':>7}  ATTACH"
    lines = [head[:width]]
    for r in rows:
        line = (
            f"{r.id:>7} {r.type[:16]:<16} {r.name[:16]:<16} {r.runs / interval:>10.0f} "
            f"{r.avg_ns:>9} {r.cpu_percent:>7.2f}  {r.attach}"
        )
        lines.append(line[:width])
    return lines


@contextmanager
def _keys() -> Iterator[None]:
    """Single key presses from the terminal, no echo, restored afterwards."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _quit_pressed(timeout: float) -> bool:
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and os.read(sys.stdin.fileno(), 16).lower().startswith(b"q")


def _interactive(args: argparse.Namespace) -> None:
    with _keys():
        sys.stdout.write("\x1b[?25l")  # hide the cursor
        try:
            while True:
                rows = sorted(sample(args.interval), key=_SORT_KEYS[args.sort])
                size = shutil.get_terminal_size()
                title = (
                    f"pybpf top - {time.strftime('%H:%M:%S')}  {len(rows)} programs, "
                    f"every {args.interval:g}s, sorted by {args.sort}  (q quits)"
                )
                lines = [title, "", *_table(rows, args.interval, size.columns)]
                sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines[: size.lines - 1]) + "\n")
                sys.stdout.flush()
                if _quit_pressed(0):
                    return
        finally:
            sys.stdout.write("\x1b[?25h")
            sys.stdout.flush()


def top(args: argparse.Namespace) -> int:
    """Run the view (or print one snapshot with ``--once``); statistics off again at the end."""
    with enable_stats():
        if args.once or not (sys.stdin.isatty() and sys.stdout.isatty()):
            while True:
                rows = sorted(sample(args.interval), key=_SORT_KEYS[args.sort])
                if args.json:
                    print_json([asdict(r) for r in rows])
                else:
                    print("\n".join(_table(rows, args.interval, 1 << 16)))
                if args.once:
                    return 0
                print(flush=True)
        _interactive(args)
    return 0
