"""What maps and programs (and links, later) share: an owned fd, closing, pinning.

:class:`KernelObject` holds no attributes itself (``__slots__ = ()``), so that
a class with a C base (``Map``) can derive from it too.
"""

from __future__ import annotations

import contextlib
import os
from typing import ClassVar

from pybpf.core import _cmds
from pybpf.core._closing import Closing
from pybpf.core.errors import ClosedError
from pybpf.core.fd import FD

__all__ = ["KernelObject"]


class KernelObject(Closing):
    """A kernel object this process holds by a file descriptor: a map, a program.

    Subclasses keep ``_fd``, ``_name`` and ``_pinned`` and name their kind in
    ``_KIND`` ("map", "program"), which error messages use.
    """

    __slots__ = ()

    _KIND: ClassVar[str]
    _fd: FD
    _name: str
    _pinned: str | None

    @property
    def fd(self) -> FD:
        """The object's file descriptor (owned by the object)."""
        if self._fd.closed:
            raise self._closed()
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether the object was closed."""
        return self._fd.closed

    @property
    def pinned(self) -> str | None:
        """The bpffs path this object pinned or opened, if any."""
        return self._pinned

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the object at ``path`` in bpffs, so it outlives this process."""
        _cmds.obj_pin(self.fd, path, f"{self._KIND} {self._name!r}")
        self._pinned = os.fspath(path)  # type: ignore[misc] # a subclass's slot

    def unpin(self) -> None:
        """Remove the pin this object made or opened; nothing if there is none."""
        if self._pinned is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._pinned)
        self._pinned = None  # type: ignore[misc] # a subclass's slot

    def close(self) -> None:
        """Close the object's fd; further operations raise ClosedError."""
        self._fd.close()

    def _closed(self) -> ClosedError:
        return ClosedError(f"{self._KIND} {self._name!r} is closed")
