"""Write cpio archives in the "newc" format, the one the kernel unpacks as initramfs.

Written here rather than by cpio(1) so that the archive can hold device nodes
and root-owned files without privileges, and so that its bytes depend only on
what was put in.
"""

from __future__ import annotations

import stat
from typing import BinaryIO

_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"


class Writer:
    """Append files, folders, symlinks and device nodes to a newc archive."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._offset = 0
        self._ino = 0

    def _pad(self) -> None:
        gap = -self._offset % 4
        self._write(b"\0" * gap)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._offset += len(data)

    def _entry(
        self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
    ) -> None:
        self._ino += 1
        encoded = name.lstrip("/").encode() + b"\0"
        fields = [
            self._ino,
            mode,
            0,  # uid
            0,  # gid
            2 if stat.S_ISDIR(mode) else 1,
            0,  # mtime: fixed, so equal inputs give equal archives
            len(data),
            0,  # device of the file system holding the file: irrelevant here
            0,
            rdev[0],
            rdev[1],
            len(encoded),
            0,  # checksum: unused by "070701"
        ]
        self._write(_MAGIC + b"".join(b"%08X" % f for f in fields) + encoded)
        self._pad()
        self._write(data)
        self._pad()

    def directory(self, name: str, perm: int = 0o755) -> None:
        """A folder; its parents must have been added first."""
        self._entry(name, stat.S_IFDIR | perm)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        """A regular file with the given contents."""
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name: str, target: str) -> None:
        """A symbolic link to `target`."""
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, perm: int = 0o600) -> None:
        """A character device node."""
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def close(self) -> None:
        """End the archive with its trailer; the output stays open."""
        self._entry(_TRAILER, 0)
