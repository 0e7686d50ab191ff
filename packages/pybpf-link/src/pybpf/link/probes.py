"""Dynamic probes: the perf events behind kprobes and uprobes.

A kprobe or uprobe is made one of two ways, as libbpf does:

- through its PMU (``/sys/bus/event_source/devices/kprobe``, ``…/uprobe``,
  Linux 4.17+): one ``perf_event_open`` whose ``config1`` names the function
  or file and ``config2`` the offset; nothing is left behind when the event
  is closed;
- through tracefs (``kprobe_events``, ``uprobe_events``), where the PMU is
  missing or a feature only tracefs has is asked for (a kretprobe's
  ``maxactive``): a named event is added, opened as a tracepoint, and removed
  again when the link is closed.

:func:`open_probe` returns the event and the cleanup the link must run.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Callable
from typing import Literal

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.tracefs import event_id, tracefs_path

__all__ = ["Probe", "open_probe", "pmu_type"]

ProbeKind = Literal["kprobe", "uprobe"]

_PMU_DIR = "/sys/bus/event_source/devices"
#: ``config`` bits above this hold a uprobe's reference counter offset
#: (``PERF_UPROBE_REF_CTR_OFFSET_SHIFT``).
_REF_CTR_SHIFT = 32
#: The tracefs group of the events this library adds.
_GROUP = "pybpf"
_counter = itertools.count()


class Probe:
    """Where a kprobe or uprobe goes.

    A kprobe names ``symbol`` (``"do_sys_openat2"``, ``"module:symbol"`` for
    a module's) plus ``offset``, or an ``address`` with no symbol. A uprobe
    names ``path`` (the binary) and ``offset`` (a file offset), and may name
    ``ref_ctr_offset`` (the file offset of its USDT semaphore). ``maxactive``
    is a kretprobe's instance count: only tracefs takes it (0: the kernel's
    default).
    """

    # A plain class: a dataclass compiles its methods when the module is
    # imported, and nothing compares or prints probes.
    __slots__ = (
        "address",
        "kind",
        "maxactive",
        "offset",
        "path",
        "ref_ctr_offset",
        "retprobe",
        "symbol",
    )

    def __init__(
        self,
        kind: ProbeKind,
        *,
        retprobe: bool = False,
        symbol: str = "",
        address: int = 0,
        path: str = "",
        offset: int = 0,
        ref_ctr_offset: int = 0,
        maxactive: int = 0,
    ) -> None:
        self.kind = kind
        self.retprobe = retprobe
        self.symbol = symbol
        self.address = address
        self.path = path
        self.offset = offset
        self.ref_ctr_offset = ref_ctr_offset
        self.maxactive = maxactive

    def describe(self) -> str:
        """What the probe attaches, as error messages and link names say it."""
        ret = "ret" if self.retprobe else ""
        if self.kind == "kprobe":
            where = self.symbol or f"{self.address:#x}"
            if self.symbol and self.offset:
                where += f"+{self.offset:#x}"
            return f"k{ret}probe {where}"
        return f"u{ret}probe {self.path}:{self.offset:#x}"


def pmu_type(kind: ProbeKind) -> int | None:
    """The perf type of the ``kind`` PMU, or None where the kernel has none."""
    try:
        with open(f"{_PMU_DIR}/{kind}/type") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _retprobe_bit(kind: ProbeKind) -> int:
    """Which ``config`` bit makes a ``kind`` PMU event a return probe (``format/retprobe``)."""
    try:
        with open(f"{_PMU_DIR}/{kind}/format/retprobe") as f:
            text = f.read().strip()  # "config:0"
        return int(text.partition(":")[2])
    except (OSError, ValueError):
        return 0


def open_probe(probe: Probe, *, pid: int = -1) -> tuple[bpf.FD, Callable[[], None] | None]:
    """Open the perf event of ``probe``: its fd, and what must run once it is closed.

    ``pid`` limits a uprobe to one process (-1: every process). The PMU is
    used where the kernel has it, tracefs otherwise (and for ``maxactive``).
    """
    pmu = pmu_type(probe.kind)
    if pmu is not None and not probe.maxactive:
        return _open_pmu(probe, pmu, pid), None
    return _open_tracefs(probe, pid)


def _cpu_for(pid: int) -> int:
    # perf_event_open needs a process or a CPU: every process is "CPU 0, any
    # process", which for probes still fires on every CPU.
    return 0 if pid == -1 else -1


def _open_pmu(probe: Probe, pmu: int, pid: int) -> bpf.FD:
    # The perf event records are imported by the first probe, not by the import.
    from pybpf.core import PerfEventAttr, perf_event_open  # noqa: PLC0415

    config = 1 << _retprobe_bit(probe.kind) if probe.retprobe else 0
    if probe.kind == "kprobe":
        name = probe.symbol
        config2 = probe.offset if probe.symbol else probe.address
    else:
        name = probe.path
        config2 = probe.offset
        config |= probe.ref_ctr_offset << _REF_CTR_SHIFT
    text = bpf.ffi.new("char[]", name.encode()) if name else bpf.NULL
    attr = PerfEventAttr(
        pmu, config, config1=bpf.addr(text) if name else 0, config2=config2, sample_period=1
    )
    try:
        return perf_event_open(attr, pid=pid, cpu=_cpu_for(pid))
    except OSError as e:
        raise _probe_error(e, probe) from None
    finally:
        del text


def _probe_error(e: OSError, probe: Probe) -> Exception:
    """The error of a refused probe, saying which probe (ENOENT: no such function)."""
    if e.errno in (errno.ENOENT, errno.EINVAL) and probe.kind == "kprobe" and probe.symbol:
        from pybpf.link.errors import KernelSymbolNotFoundError  # noqa: PLC0415

        return KernelSymbolNotFoundError(probe.symbol, str(e))
    return OSError(e.errno, f"{probe.describe()}: {e.strerror}")


def _event_name(probe: Probe) -> str:
    base = probe.symbol or os.path.basename(probe.path) or f"{probe.address:x}"
    import re  # noqa: PLC0415 (only the tracefs fallback names events)

    base = re.sub(r"[^A-Za-z0-9_]", "_", base)[:32]
    return f"{base}_{os.getpid()}_{next(_counter)}"


def _open_tracefs(probe: Probe, pid: int) -> tuple[bpf.FD, Callable[[], None]]:
    """Add ``probe`` to tracefs' ``kprobe_events``/``uprobe_events``, and open it."""
    from pybpf.core import PerfEventAttr, perf_event_open  # noqa: PLC0415

    root = tracefs_path()
    control = os.path.join(root, f"{probe.kind}_events")
    if not os.path.exists(control):
        raise NotSupportedError(
            f"{probe.describe()}: this kernel has neither the {probe.kind} PMU nor "
            f"tracefs {probe.kind}_events (CONFIG_{probe.kind.upper()}S off)",
            code=errno.EOPNOTSUPP,
        )
    name = _event_name(probe)
    kind = "r" if probe.retprobe else "p"
    if probe.maxactive:
        kind += str(probe.maxactive)
    if probe.kind == "kprobe":
        target = probe.symbol or f"{probe.address:#x}"
        if probe.symbol and probe.offset:
            target += f"+{probe.offset}"
    else:
        target = f"{probe.path}:{probe.offset:#x}"
        if probe.ref_ctr_offset:
            target += f"({probe.ref_ctr_offset:#x})"
    _write(control, f"{kind}:{_GROUP}/{name} {target}\n", probe)

    def remove() -> None:
        with contextlib.suppress(OSError):
            _write(control, f"-:{_GROUP}/{name}\n", probe)

    try:
        attr = PerfEventAttr.tracepoint(event_id(_GROUP, name), sample_period=1)
        return perf_event_open(attr, pid=pid, cpu=_cpu_for(pid)), remove
    except BaseException:
        remove()
        raise


def _write(control: str, line: str, probe: Probe) -> None:
    try:
        fd = os.open(control, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise _probe_error(e, probe) from None
