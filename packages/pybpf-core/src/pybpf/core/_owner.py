"""What maps and programs (and links, later) share: an owned fd, closing, pinning.

:class:`KernelObject` holds no attributes itself (``__slots__ = ()``), so that
a class with a C base (``Map``) can derive from it too.
"""

from __future__ import annotations

import os

from pybpf.core import _cmds
from pybpf.core._closing import Closing
from pybpf.core.errors import ClosedError, ObjectKindError
from pybpf.core.fd import FD

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = ["KernelObject"]

#: What the kernel names the anonymous inode behind each kind of bpf fd
#: (``readlink /proc/self/fd/N`` gives ``anon_inode:<name>``).
_ANON_INODE_KINDS = {
    "bpf-prog": "program",
    "bpf-map": "map",
    "bpf_link": "link",
    "bpf-link": "link",  # the name from Linux 6.x
    "bpf_iter": "BPF iterator",
    "btf": "BTF object",
    "bpf-token": "BPF token",
}


def object_kind(fd: FD) -> str | None:
    """What kind of object ``fd`` holds (``"program"``, ``"map"``, ...).

    Read from the fd's anonymous inode name in ``/proc/self/fd``; None when
    that is not readable here (no ``/proc``), so nothing can be said.
    """
    try:
        target = os.readlink(f"/proc/self/fd/{fd.number}")
    except OSError:
        return None
    prefix = "anon_inode:"
    if target.startswith(prefix):
        inode = target[len(prefix) :]
        return _ANON_INODE_KINDS.get(inode, f"file that is no BPF object ({target})")
    return f"file that is no BPF object ({target})"


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
        """Pin the object at ``path`` in bpffs, so it outlives this process.

        A path with a NUL byte, or whose directory is not in a bpffs mount,
        raises :class:`~pybpf.core.PinPathError` before the kernel sees it.
        """
        fd = self.fd
        from pybpf.core import _bpffs  # noqa: PLC0415 (only pins need bpffs paths)

        text = _bpffs.check_path(path, name=self._name, kind=self._KIND)
        _cmds.obj_pin(fd, text, f"{self._KIND} {self._name!r}")
        self._pinned = text  # type: ignore[misc] # a subclass's slot

    def unpin(self) -> None:
        """Remove the pin this object made or opened; nothing if there is none."""
        if self._pinned is None:
            return
        try:  # noqa: SIM105 (contextlib is not on a load's path)
            os.unlink(self._pinned)
        except FileNotFoundError:
            pass
        self._pinned = None  # type: ignore[misc] # a subclass's slot

    def close(self) -> None:
        """Close the object's fd; further operations raise ClosedError."""
        self._fd.close()

    @classmethod
    def _check_kind(cls, fd: FD, what: str) -> None:
        """Raise ObjectKindError unless ``fd`` holds this class's kind of object.

        ``what`` says where the fd came from (``"pinned object '/sys/fs/bpf/x'"``).
        Opened objects call this before anything reads the fd's info: the info
        of a map read as a program's is garbage, not an error.
        """
        actual = object_kind(fd)
        if actual is not None and actual != cls._KIND:
            raise ObjectKindError(what, cls._KIND, actual)

    @classmethod
    def _open_pinned(cls, path: str | os.PathLike[str], flags: int) -> tuple[FD, str]:
        """BPF_OBJ_GET of ``path`` once it is a path the kernel reads as given.

        Only bpffs holds pinned objects: a path elsewhere is refused here, as
        the same :class:`~pybpf.core.PinPathError` on every kernel (the
        kernel's own answer varies: EPERM, or EROFS on a read-only mount).
        """
        from pybpf.core import _bpffs  # noqa: PLC0415 (only pins need bpffs paths)

        text = _bpffs.check_path(path, kind=cls._KIND)
        fd = _cmds.obj_get(text, flags, f"open pinned {cls._KIND}")
        return fd, text

    def _closed(self) -> ClosedError:
        return ClosedError(f"{self._KIND} {self._name!r} is closed")
