"""Kernel BTF files mapped read-only, without copying them or holding a descriptor.

Linux 6.16 and later let ``/sys/kernel/btf/*`` be mapped (private, read-only):
the pages are the kernel's own, so mapping vmlinux's 5.5 MB costs a few
microseconds where reading it costs over a thousand page-sized read(2)s and a
copy. Python's ``mmap`` keeps a duplicate of the file descriptor for as long
as the mapping lives, so the mapping is made through ``ctypes`` instead and
unmapped when the last view of it goes away.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import weakref

__all__ = ["map_fd", "map_readonly"]

#: What mmap(2) returns on failure.
MAP_FAILED = ctypes.c_void_p(-1).value


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        libc.munmap.restype = ctypes.c_int
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


#: The C library's ``mmap`` and ``munmap``, typed; None where ctypes cannot load it.
LIBC = _libc()


def map_readonly(path: str | os.PathLike[str]) -> tuple[memoryview, os.stat_result] | None:
    """The file at ``path`` as a read-only byte view, and its stat; None if it can't be mapped.

    Only for files that cannot change while mapped (kernel BTF): the view
    reads the file's pages directly.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        view = map_fd(fd, st.st_size)
    finally:
        os.close(fd)
    return None if view is None else (view, st)


def map_fd(fd: int, size: int) -> memoryview | None:
    """The first ``size`` bytes of the open file ``fd``, mapped read-only; None if not possible.

    The caller may close ``fd`` right away.
    """
    if LIBC is None or size <= 0:
        return None
    flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
    addr = LIBC.mmap(None, size, mmap.PROT_READ, flags, fd, 0)
    if addr is None or addr == MAP_FAILED:
        return None
    return mapped_view(addr, size).toreadonly()


def mapped_view(addr: int, size: int) -> memoryview:
    """A byte view of the ``size`` bytes mapped at ``addr``, which it then owns.

    Every view made from it keeps the mapping: it is unmapped after the last.
    """
    assert LIBC is not None
    pages = (ctypes.c_ubyte * size).from_address(addr)
    weakref.finalize(pages, LIBC.munmap, addr, size)
    return memoryview(pages).cast("B")
