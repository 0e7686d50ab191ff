"""Tracepoints: a program on one of the kernel's static trace events.

``tracepoint(prog, "syscalls", "sys_enter_execve")`` attaches a
``tracepoint/…`` program (``BPF_PROG_TYPE_TRACEPOINT``) through a perf event
of type ``PERF_TYPE_TRACEPOINT``: a perf-event bpf_link where the kernel has
one (5.15+), ``PERF_EVENT_IOC_SET_BPF`` before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.link.perf_event import attach_perf_event
from pybpf.link.prog_attach import check_program
from pybpf.link.tracefs import event_id

if TYPE_CHECKING:
    from pybpf.core import Program
    from pybpf.link.perf_event import LegacyPerfEventLink, PerfEventLink

__all__ = ["tracepoint"]


def tracepoint(
    prog: Program, group: str, name: str, *, cookie: int = 0
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``prog`` to the tracepoint ``group/name`` (tracefs ``events/group/name``).

    The program runs each time the kernel passes the tracepoint, on any CPU
    and in any process. ``cookie`` is what ``bpf_get_attach_cookie()``
    returns in the program (Linux 5.15+). An unknown tracepoint raises
    :class:`~pybpf.link.TracepointNotFoundError`.
    """
    # The perf event records are imported by the first attach, not by the import.
    from pybpf.core import PerfEventAttr, perf_event_open  # noqa: PLC0415

    check_program(prog, "tracepoint")
    tp_id = event_id(group, name)
    event = perf_event_open(PerfEventAttr.tracepoint(tp_id), cpu=0)
    return attach_perf_event(prog, event, f"tracepoint {group}/{name}", cookie=cookie)
