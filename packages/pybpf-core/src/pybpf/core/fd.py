"""Owned file descriptors: closed exactly once, never used after close."""

from __future__ import annotations

import contextlib
import fcntl
import os
import weakref

from pybpf.core._closing import Closing
from pybpf.core.errors import ClosedError

__all__ = ["FD"]


def _close(num: int) -> None:
    # A finalizer runs at most once, and the number may already be gone if
    # the process closed it behind our back: nothing useful to report then.
    with contextlib.suppress(OSError):
        os.close(num)


class FD(Closing):
    """A file descriptor that this object owns.

    It is closed exactly once: by :meth:`close`, by leaving a ``with`` block, or
    by a finalizer when the object is garbage collected. After close, every
    use raises :class:`~pybpf.core.errors.ClosedError` instead of reaching the
    kernel with a number that may already name another file.

    Descriptors are close-on-exec (the kernel creates bpf fds that way, and
    :meth:`dup` keeps it). Descriptor 0 is never held: several ``bpf_attr``
    fields treat 0 as "no fd", so a 0 is moved to a higher number.
    """

    __slots__ = ("__weakref__", "_finalizer", "_num")

    def __init__(self, num: int) -> None:
        if num < 0:
            raise ValueError(f"invalid file descriptor {num}")
        if num == 0:
            moved = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 1)
            os.close(0)
            num = moved
        #: The raw number, or -1 once closed. Hot paths read it directly: the
        #: kernel answers -1 with EBADF, which they turn into ClosedError.
        self._num = num
        self._finalizer = weakref.finalize(self, _close, num)

    @property
    def number(self) -> int:
        """The raw descriptor number."""
        if self._num < 0:
            raise ClosedError("file descriptor is closed")
        return self._num

    def fileno(self) -> int:
        """The raw descriptor number (for ``select``, ``os.*`` and friends)."""
        return self.number

    @property
    def closed(self) -> bool:
        """Whether the descriptor was closed."""
        return self._num < 0

    def close(self) -> None:
        """Close the descriptor; closing again does nothing."""
        self._num = -1
        self._finalizer()

    def dup(self) -> FD:
        """A new, independently owned descriptor for the same kernel object."""
        return FD(fcntl.fcntl(self.number, fcntl.F_DUPFD_CLOEXEC, 1))

    def detach(self) -> int:
        """Give up ownership: return the number and never close it."""
        num = self.number
        self._finalizer.detach()
        self._num = -1
        return num

    def __repr__(self) -> str:
        return "FD(closed)" if self._num < 0 else f"FD({self._num})"
