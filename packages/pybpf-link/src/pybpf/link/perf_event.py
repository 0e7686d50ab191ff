"""Programs on perf events: the base of tracepoints, kprobes, uprobes and sampling.

Every perf-event attachment is a :class:`PerfEventLink`: a bpf_link of type
``PERF_EVENT`` (``BPF_LINK_CREATE`` with ``BPF_PERF_EVENT``, Linux 5.15+)
where the kernel has one, else the older ``PERF_EVENT_IOC_SET_BPF`` ioctl on
the event (a :class:`LegacyPerfEventLink`, with no bpf_link behind it). Both
own the perf event's fd and close it with the link, and run the cleanup of
the event's maker (a tracefs kprobe is removed from ``kprobe_events``).
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable
from typing import TYPE_CHECKING

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.link import Link

if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["LegacyPerfEventLink", "PerfEventLink", "attach_perf_event", "perf_event"]

#: Whether ``BPF_LINK_CREATE`` takes perf events on this kernel; None until tried.
_perf_links: bool | None = None


class PerfEventLink(Link, link_type=bpf.LinkType.PERF_EVENT):
    """A program on a perf event, through a bpf_link (Linux 5.15+).

    Closing it detaches the program and closes the event. Opened from a
    pin or id, it holds the bpf_link only (the event lives as long as the link).
    """

    __slots__ = ("_cleanup", "_event")

    def __init__(
        self,
        fd: bpf.FD,
        name: str,
        event: bpf.FD | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        """Take over the link ``fd`` and the perf ``event`` it attaches (for the attach calls)."""
        super().__init__(fd, name)
        self._event = event
        self._cleanup = cleanup

    @property
    def event(self) -> bpf.FD | None:
        """The perf event's fd, owned by the link; None for links opened by pin or id."""
        return getattr(self, "_event", None)

    def close(self) -> None:
        """Detach the program, close the event and undo what made it (a tracefs probe)."""
        try:
            super().close()
        finally:
            _release(self)


class LegacyPerfEventLink(Link):
    """A program on a perf event through ``PERF_EVENT_IOC_SET_BPF`` (kernels before 5.15).

    No bpf_link is behind it: :attr:`type` is None, and it cannot be pinned,
    updated or asked for :meth:`info`. Closing the event detaches the program.
    """

    __slots__ = ("_cleanup", "_event")

    def __init__(self, event: bpf.FD, name: str, cleanup: Callable[[], None] | None = None) -> None:
        """Take over the perf ``event`` the program was set on (for the attach calls)."""
        super().__init__(event, name)
        self._event: bpf.FD | None = None  # the event is the link's own fd
        self._cleanup = cleanup

    @property
    def event(self) -> bpf.FD:
        """The perf event's fd (the link's own)."""
        return self.fd

    def close(self) -> None:
        """Disable and close the event, which detaches the program; undo what made it."""
        try:
            if not self._fd.closed:
                with contextlib.suppress(OSError):
                    bpf.perf_ioctl(self._fd, bpf.PERF_EVENT_IOC_DISABLE, 0, self._name)
            super().close()
        finally:
            _release(self)


def _release(link: PerfEventLink | LegacyPerfEventLink) -> None:
    """Close what a perf-event link owns besides its fd, once."""
    event = getattr(link, "_event", None)
    cleanup = getattr(link, "_cleanup", None)
    link._event = None
    link._cleanup = None
    try:
        if event is not None:
            event.close()
    finally:
        if cleanup is not None:
            cleanup()


def attach_perf_event(
    program: Program,
    event: bpf.FD,
    name: str,
    *,
    cookie: int = 0,
    cleanup: Callable[[], None] | None = None,
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``program`` to the perf ``event``, which the returned link then owns.

    For the attach calls of this package: ``name`` says what is attached
    (``"tracepoint syscalls/sys_enter_getpid"``); ``cookie`` is what
    ``bpf_get_attach_cookie()`` returns (needs the bpf_link, 5.15+);
    ``cleanup`` runs once the link is closed. On failure ``event`` is closed
    and ``cleanup`` run, so nothing is left behind.
    """
    global _perf_links  # noqa: PLW0603 (a cache of what this kernel does)
    what = f"attach program {program.name!r} to {name}"
    try:
        cookie = bpf.check_uint(cookie, 64, "cookie", what)
        prog_fd = program.fd
        if _perf_links is not False:
            attr = bpf.new_attr("link_create")
            attr.prog_fd = prog_fd.number
            attr.target_fd = event.number
            attr.attach_type = bpf.AttachType.PERF_EVENT
            attr.perf_event.bpf_cookie = cookie
            rc = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
            if isinstance(rc, bpf.FD):
                _perf_links = True
                return PerfEventLink(rc, name, event, cleanup)
            # Kernels before 5.15 know no BPF_PERF_EVENT attach type: EINVAL.
            if rc != -errno.EINVAL or _perf_links:
                raise bpf.error(-rc, what)
            _perf_links = False
        if cookie:
            raise NotSupportedError(
                f"{what}: a cookie needs perf-event bpf_links (Linux 5.15)", code=errno.EOPNOTSUPP
            )
        bpf.perf_ioctl(event, bpf.PERF_EVENT_IOC_SET_BPF, prog_fd.number, what)
        bpf.perf_ioctl(event, bpf.PERF_EVENT_IOC_ENABLE, 0, what)
        return LegacyPerfEventLink(event, name, cleanup)
    except BaseException:
        try:
            event.close()
        finally:
            if cleanup is not None:
                cleanup()
        raise


def perf_event(
    program: Program, event: bpf.FD, *, cookie: int = 0
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``program`` to a perf event opened with :func:`pybpf.core.perf_event_open`.

    For sampling (``PERF_TYPE_SOFTWARE``/``HARDWARE`` events, one per CPU) and
    any other event: the program runs on each of the event's overflows. The
    link takes over ``event`` (closing the link closes it). ``cookie`` is what
    ``bpf_get_attach_cookie()`` returns in the program (Linux 5.15+).
    """
    if not isinstance(event, bpf.FD):
        kind = type(event).__name__
        raise TypeError(f"perf_event: event must be an FD from perf_event_open, not {kind}")
    return attach_perf_event(program, event, f"perf event fd {event.number}", cookie=cookie)
