"""pybpf.link: resolving a libc function in a fresh process; attaching uprobes and devices.

Target: symbol resolution of libc in <= 20 ms in a fresh process (issue #13).
Attaching and detaching a uprobe, and an uprobe_multi link on 100 libc
functions, are compared with C (libbpf; a raw bpf(2) call for uprobe_multi,
which libbpf 1.1.2 lacks): <= 1.5x. Attaching and detaching an XDP link and a
tcx link: <= 1.5x libbpf's C (issue #14), on lo of a namespace of their own.
These need root.
Each sample is a new interpreter, so nothing is cached: it reads libc, its
section table, .dynsym and the GNU versions, then finds ``malloc``; the row is
the median over the bench's rounds. Importing ``pybpf.link`` is on its own row
(and, as a whole process, in bench_startup).
"""

from __future__ import annotations

import ctypes
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from run import ROOT, Bench

from pybpf.core import Collection, NotSupportedError
from pybpf.elf import load_collection_spec
from pybpf.elf.binary import STT_FUNC
from pybpf.link import tcx, xdp

if TYPE_CHECKING:
    from pybpf.link import Executable

_PROBE = """
import time
t0 = time.perf_counter()
from pybpf.link import Executable
t1 = time.perf_counter()
Executable("libc.so.6").symbol_offset("malloc")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _probe() -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True
    ).stdout
    imported, resolved = (float(x) for x in out.split())
    return imported, resolved


def run(bench: Bench) -> None:
    """Resolve malloc in libc from a fresh interpreter, ``bench.rounds`` times."""
    samples = [_probe() for _ in range(bench.rounds)]
    bench.report(
        "Executable('libc.so.6').symbol_offset('malloc'), fresh process",
        statistics.median(resolved for _, resolved in samples),
        kind="fresh process",
        note="target <= 20 ms; imports not timed",
    )
    bench.report(
        "  import pybpf.link + Executable, timed inside a fresh process",
        statistics.median(imported for imported, _ in samples),
        kind="fresh process",
    )
    if os.geteuid() == 0:
        _raw_tracepoint(bench)
        _kprobe_multi(bench)
        _netdev(bench)
        _attach(bench)


# --- kprobe_multi on 1,000 kernel functions, against libbpf (bench/c/link_kprobe_multi.c) ---

_KPROBE_OBJECT = "testdata/link_kprobe-el.o"
_KPROBE_MULTI_COUNT = 1000


def _kprobe_multi(bench: Bench) -> None:
    """Attach+detach one kprobe_multi link on 1,000 functions (kernels with fprobe: VM rows)."""
    from pybpf.core import Collection, NotSupportedError  # noqa: PLC0415 (timed rows first)
    from pybpf.elf import load_collection_spec  # noqa: PLC0415
    from pybpf.link import kprobe_multi  # noqa: PLC0415

    names = _traceable_functions(_KPROBE_MULTI_COUNT)
    spec = load_collection_spec(ROOT / _KPROBE_OBJECT)
    with Collection(spec, programs=["multi_count"]) as coll:
        prog = coll.programs["multi_count"]
        what = f"kprobe_multi on {_KPROBE_MULTI_COUNT} functions"
        if len(names) < _KPROBE_MULTI_COUNT:
            bench.skip(what, f"ftrace lists {len(names)} traceable functions here")
            return
        try:
            kprobe_multi(prog, symbols=names[:1]).close()
        except NotSupportedError as e:
            bench.skip(what, str(e))
            return
        bench.compare(
            f"kprobe_multi(prog, symbols=<{_KPROBE_MULTI_COUNT}>).close()",
            bench.in_process(lambda: kprobe_multi(prog, symbols=names).close(), number=1),
            bench.c_figure(
                "link_kprobe_multi",
                "kprobe_multi",
                str(ROOT / _KPROBE_OBJECT),
                "multi_count",
                "1",
                *names,
            ),
            baseline_name="C libbpf",
            target=2.0,
        )


def _traceable_functions(count: int) -> list[str]:
    """``count`` distinct vmlinux functions ftrace can trace, once each in kallsyms."""
    seen: dict[str, int] = {}
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                _, kind, name, *module = line.split()
                if kind in "tT" and not module:
                    seen[name] = seen.get(name, 0) + 1
        with open("/sys/kernel/tracing/available_filter_functions") as f:
            traceable = [line.split()[0] for line in f if len(line.split()) == 1]
    except OSError:
        return []
    names = [n for n in dict.fromkeys(traceable) if seen.get(n) == 1 and "." not in n]
    # bpf and ftrace internals would trace the attach itself: leave them out.
    names = [n for n in names if not n.startswith(("bpf", "__bpf", "ftrace", "rcu"))]
    return names[:count]


# --- attaching a raw tracepoint, against libbpf (bench/c/link_raw_tp.c) ---

_RAW_TP_OBJECT = "testdata/link_tracing-el.o"


def _raw_tracepoint(bench: Bench) -> None:
    """Attach+detach a raw tracepoint (sys_enter), the program loaded once."""
    from pybpf.core import Collection  # noqa: PLC0415 (timed rows first)
    from pybpf.elf import load_collection_spec  # noqa: PLC0415
    from pybpf.link import raw_tracepoint  # noqa: PLC0415

    spec = load_collection_spec(ROOT / _RAW_TP_OBJECT)
    with Collection(spec, programs=["raw_sys_enter"]) as coll:
        prog = coll.programs["raw_sys_enter"]
        bench.compare(
            "raw_tracepoint(prog, 'sys_enter').close(): attach+detach",
            bench.in_process(lambda: raw_tracepoint(prog, "sys_enter").close(), number=20),
            bench.c_figure(
                "link_raw_tp",
                "raw_tp",
                str(ROOT / _RAW_TP_OBJECT),
                "raw_sys_enter",
                "sys_enter",
                "3",
            ),
            baseline_name="C libbpf",
            target=1.5,
        )


# --- attaching to a device: XDP and tcx links on lo, against libbpf (bench/c/link_netdev.c) ---

_NET_OBJECT = "testdata/link_net-el.o"
_CLONE_NEWNET = 0x40000000


def _in_own_netns(body: Callable[[], None]) -> None:
    """Run ``body`` with this thread in a new network namespace, then return to this one."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        try:
            body()
        finally:
            if libc.setns(home, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(home)


def _netdev(bench: Bench) -> None:
    """Attach+detach an XDP link and a tcx link on lo (ifindex 1 in a new namespace)."""
    obj = str(ROOT / _NET_OBJECT)

    def body() -> None:
        with Collection(load_collection_spec(obj)) as coll:
            xdp_prog, tcx_prog = coll.programs["xdp_count"], coll.programs["tcx_ingress"]
            rows: list[tuple[str, Callable[[], object], str]] = [
                (
                    "xdp(prog, 1).close(): attach+detach an XDP link",
                    lambda: xdp(xdp_prog, 1).close(),
                    "xdp",
                ),
                (
                    "tcx(prog, 1).close(): attach+detach a tcx link",
                    lambda: tcx(tcx_prog, 1).close(),
                    "tcx",
                ),
            ]
            for what, attach, label in rows:
                try:
                    attach()
                except NotSupportedError as e:
                    print(f"  ({what}: skipped: {e})")
                    continue
                bench.compare(
                    what,
                    bench.in_process(attach, number=10),
                    bench.c_figure("link_netdev", label, obj, "1"),
                    baseline_name="C libbpf",
                    target=1.5,
                )

    _in_own_netns(body)


# --- attaching: uprobes on libc, against libbpf in C (bench/c/link_uprobe.c) ---

_OBJECT = "testdata/link_uprobe-el.o"
_MULTI_COUNT = 100


def _libc_offsets(libc: Executable, count: int) -> list[int]:
    """``count`` distinct function offsets of libc's .dynsym, in table order."""
    seen: list[int] = []
    for sym in libc.binary.dynamic_symbols:
        offset = sym.file_offset
        if sym.type == STT_FUNC and sym.defined and offset and offset not in seen:
            seen.append(offset)
            if len(seen) == count:
                break
    return seen


def _attach(bench: Bench) -> None:
    """One uprobe, and uprobe_multi on 100 libc functions: attach + detach, this process only."""
    from pybpf.core import Collection, NotSupportedError  # noqa: PLC0415 (timed rows first)
    from pybpf.elf import load_collection_spec  # noqa: PLC0415
    from pybpf.link import Executable, have_uprobe_multi  # noqa: PLC0415

    libc = Executable("libc.so.6", pid=os.getpid())
    offsets = _libc_offsets(libc, _MULTI_COUNT)
    spec = load_collection_spec(ROOT / _OBJECT)
    try:
        have_uprobe_multi()
        multi = True
    except NotSupportedError:
        multi = False
    for name, prog in spec.programs.items():
        prog.autoload = name == "on_entry" or (multi and name == "multi_entry")
    c_args = [str(ROOT / _OBJECT), libc.path, "1", *(hex(o) for o in offsets)]
    pid = os.getpid()
    with Collection(spec) as coll:
        single = coll.programs["on_entry"]
        bench.compare(
            "Executable.uprobe + close (libc getpid offset, one pid)",
            bench.in_process(
                lambda: libc.uprobe(single, offset=offsets[0], pid=pid).close(), number=5
            ),
            bench.c_figure("link_uprobe", "uprobe", *c_args),
            baseline_name="C libbpf",
        )
        if multi:
            multi_prog = coll.programs["multi_entry"]
            bench.compare(
                f"Executable.uprobe_multi on {_MULTI_COUNT} libc functions + close",
                bench.in_process(
                    lambda: libc.uprobe_multi(multi_prog, offsets=offsets, pid=pid).close(),
                    number=5,
                ),
                bench.c_figure("link_uprobe", "uprobe_multi", *c_args),
                baseline_name="C bpf(2) (libbpf 1.1.2 has no uprobe_multi)",
            )
