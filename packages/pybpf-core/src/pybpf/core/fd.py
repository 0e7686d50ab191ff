"""Owned file descriptors: closed exactly once, never used after close."""

from __future__ import annotations

import atexit
import errno
import os
from _weakref import ref

from pybpf.core import _sys, _sys_build
from pybpf.core._closing import Closing
from pybpf.core.errors import ClosedError

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FD"]

_CLOSED = _sys_build.FD_CLOSED
#: A cell with no descriptor yet.
_EMPTY = (-1, 0)


def _finalize(cell: Any, label: list[str]) -> None:
    # Runs at most once: when the FD was garbage collected without close().
    if _sys.fd_calls.close(cell):
        import warnings  # noqa: PLC0415 (only a leak warns)

        warnings.warn(f"unclosed {label[0]}", ResourceWarning, stacklevel=2)


# What weakref.finalize did, without importing weakref (~0.5 ms of every load):
# an open FD is watched by a weak reference whose callback closes the
# descriptor of an FD collected without close(). close() drops the watch, so
# a closed FD's collection runs no Python code. At exit the FDs still open are
# finalized before the modules are torn down, as weakref.finalize's would be.


class _Watch(ref):  # type: ignore[type-arg]
    """The weak reference watching one open FD, keyed by the FD's id."""

    __slots__ = ("key",)

    key: int


#: The open FDs' watches, cells and labels, by the FD's id.
_OPEN: dict[int, tuple[_Watch, Any, list[str]]] = {}


def _collected(watch: _Watch) -> None:
    held = _OPEN.pop(watch.key, None)
    if held is not None:
        _finalize(held[1], held[2])


def _at_exit() -> None:
    while _OPEN:
        _, cell, label = _OPEN.popitem()[1]
        _finalize(cell, label)


atexit.register(_at_exit)


class FD(Closing):
    """A file descriptor that this object owns.

    It is closed exactly once: by :meth:`close`, by leaving a ``with`` block, or
    by a finalizer when the object is garbage collected (which warns with a
    :class:`ResourceWarning`, as an unclosed file does). After close, every
    use raises :class:`~pybpf.core.errors.ClosedError` instead of reaching the
    kernel with a number that may already name another file: the syscall
    helpers hold the number while they use it (``_csrc/pybpf_sys.h``, and
    ``FD_CLOSED`` in :mod:`pybpf.core._sys_build`), and a close that comes meanwhile takes
    effect when the last of them ends, so the number cannot be reused under
    them.

    Descriptors are close-on-exec (the kernel creates bpf fds that way, and
    :meth:`dup` keeps it). Descriptor 0 is never held: several ``bpf_attr``
    fields treat 0 as "no fd", so a 0 is moved to a higher number.
    """

    __slots__ = ("__weakref__", "_cell", "_label", "_num")

    def __init__(self, num: int) -> None:
        if num < 0:
            raise ValueError(f"invalid file descriptor {num}")
        self._start()
        if num == 0:
            got = _sys.fd_calls.dup(0, self._cell)
            if got < 0:
                raise OSError(-got, os.strerror(-got))
            os.close(0)
        else:
            self._cell.fd = num
        self._num = int(self._cell.fd)

    def _start(self) -> None:
        #: The number lives in a cell that C helpers fill and hold (see
        #: ``_csrc/pybpf_sys.h``).
        self._cell = _sys.ffi.new("struct pybpf_fd_cell *", _EMPTY)
        #: The raw number, or -1 once closed (or before one is received).
        self._num = -1
        self._label = ["file descriptor"]
        watch = _Watch(self, _collected)
        watch.key = key = id(self)
        _OPEN[key] = (watch, self._cell, self._label)

    @property
    def _addr(self) -> int:
        """The cell's address, for the compiled map code."""
        return _sys.addr(self._cell)

    @classmethod
    def receive(cls, cmd: int, attr: Any, size: int) -> FD | int:
        """Issue ``cmd`` (a bpf(2) command returning an fd): the owned FD, or ``-errno``.

        The number is owned from the moment the syscall returns: an exception
        raised by a signal handler right after cannot leak it.
        """
        fd = cls.__new__(cls)
        fd._start()
        rc = _sys.fd_calls.bpf_fd(cmd, attr, size, fd._cell)
        if rc < 0:
            _OPEN.pop(id(fd), None)
            return int(rc)
        fd._num = int(rc)
        return fd

    @classmethod
    def duplicate(cls, num: int) -> FD:
        """A new owned descriptor for whatever ``num`` refers to (``F_DUPFD_CLOEXEC``)."""
        fd = cls.__new__(cls)
        fd._start()
        rc = _sys.fd_calls.dup(num, fd._cell)
        if rc < 0:
            _OPEN.pop(id(fd), None)
            raise OSError(-rc, f"duplicate fd {num}: {os.strerror(-rc)}")
        fd._num = int(rc)
        return fd

    def describe(self, label: str) -> None:
        """Name what the descriptor is (``"map 'counts'"``) for the unclosed warning."""
        self._label[0] = label

    @property
    def number(self) -> int:
        """The raw descriptor number.

        A close in another thread may free it at any time: calls that must
        not meet a reused number go through ``_cmds.call_with_fd``.
        """
        if self.closed:
            raise ClosedError("file descriptor is closed")
        return self._num

    def fileno(self) -> int:
        """The raw descriptor number (for ``select``, ``os.*`` and friends)."""
        return self.number

    @property
    def closed(self) -> bool:
        """Whether the descriptor was closed."""
        return self._num < 0 or bool(self._cell.state & _CLOSED)

    def close(self) -> None:
        """Close the descriptor; closing again does nothing.

        Calls holding it meanwhile finish first; the number is freed after them.
        """
        _sys.fd_calls.close(self._cell)
        self._num = -1
        _OPEN.pop(id(self), None)

    def dup(self) -> FD:
        """A new, independently owned descriptor for the same kernel object."""
        fd = FD.__new__(FD)
        fd._start()
        rc = _sys.fd_calls.dup_cell(self._cell, fd._cell)
        if rc < 0:
            _OPEN.pop(id(fd), None)
            if rc == -errno.EBADF:
                raise ClosedError("file descriptor is closed")
            raise OSError(-rc, f"duplicate fd {self._num}: {os.strerror(-rc)}")
        fd._num = int(rc)
        return fd

    def detach(self) -> int:
        """Give up ownership: return the number and never close it."""
        num = _sys.fd_calls.detach(self._cell)
        self._num = -1
        _OPEN.pop(id(self), None)
        if num < 0:
            raise ClosedError("file descriptor is closed")
        return int(num)

    def __repr__(self) -> str:
        return "FD(closed)" if self.closed else f"FD({self._num})"
