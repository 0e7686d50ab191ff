"""perf_event_open(2): one perf event from typed attributes.

:class:`PerfEventAttr` says which event (software, hardware, tracepoint,
breakpoint, a probe PMU...) and :func:`perf_event_open` opens it, per CPU or
per process, as an owned :class:`~pybpf.core.fd.FD`. Both are public from
:mod:`pybpf.core.perf` and :mod:`pybpf.core`; they live apart from the perf
buffer reader so that the link layer's kprobe, uprobe and tracepoint attach
calls do not import the readers.
"""

from __future__ import annotations

import struct
from typing import Any

from pybpf.asm.records import record
from pybpf.core import _cmds, _sys
from pybpf.core._uapi_perf import (
    HardwareEvent,
    PerfEventFlag,
    PerfOpenFlags,
    PerfType,
    SampleType,
    SoftwareEvent,
)
from pybpf.core.fd import FD

__all__ = ["PerfEventAttr", "perf_event_open"]


#: ``struct perf_event_attr`` up to ``sample_max_stack`` (PERF_ATTR_SIZE_VER5).
_ATTR = struct.Struct("=IIQQQQQIIQQQQIiQIHH")


@record()
class PerfEventAttr:
    """The fields of ``struct perf_event_attr`` that pybpf's users set.

    ``sample_period`` is ``sample_freq`` when ``flags`` has ``FREQ``;
    ``wakeup_events`` is ``wakeup_watermark`` (bytes) when it has
    ``WATERMARK``; ``config1``/``config2`` are also ``bp_addr``/``bp_len``
    (breakpoints), ``kprobe_func``/``probe_offset`` (the probe PMUs).
    """

    type: PerfType | int
    config: int = 0
    sample_period: int = 0
    sample_type: SampleType | int = 0
    read_format: int = 0
    flags: PerfEventFlag | int = 0
    wakeup_events: int = 0
    bp_type: int = 0
    config1: int = 0
    config2: int = 0

    def pack(self) -> bytes:
        """The kernel's ``struct perf_event_attr`` for these fields."""
        return _ATTR.pack(
            int(self.type),
            _ATTR.size,
            self.config,
            self.sample_period,
            int(self.sample_type),
            self.read_format,
            int(self.flags),
            self.wakeup_events,
            self.bp_type,
            self.config1,
            self.config2,
            *(0,) * 8,
        )

    @classmethod
    def tracepoint(cls, tracepoint_id: int, **fields: Any) -> PerfEventAttr:
        """A tracepoint event (its id from tracefs ``events/<group>/<name>/id``)."""
        return cls(PerfType.TRACEPOINT, tracepoint_id, **fields)

    @classmethod
    def software(cls, event: SoftwareEvent, **fields: Any) -> PerfEventAttr:
        """A software event."""
        return cls(PerfType.SOFTWARE, event, **fields)

    @classmethod
    def hardware(cls, event: HardwareEvent, **fields: Any) -> PerfEventAttr:
        """A hardware event (the machine's PMU: often missing in VMs)."""
        return cls(PerfType.HARDWARE, event, **fields)


def perf_event_open(
    attr: PerfEventAttr,
    *,
    pid: int = -1,
    cpu: int = -1,
    group: FD | None = None,
) -> FD:
    """Open a perf event: of process ``pid`` (-1: all) on ``cpu`` (-1: any); close-on-exec.

    ``pid=-1`` with ``cpu=-1`` is refused by the kernel: one of them must be set.
    """
    group_fd = -1 if group is None else group.number
    rc = _sys.perf_event_open(attr.pack(), pid, cpu, group_fd, PerfOpenFlags.FD_CLOEXEC)
    if rc < 0:
        what = f"perf_event_open type={int(attr.type)} config={attr.config} pid={pid} cpu={cpu}"
        raise _cmds.error(-rc, what)
    return FD(rc)
