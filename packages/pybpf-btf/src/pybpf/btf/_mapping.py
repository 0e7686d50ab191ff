"""Kernel BTF files mapped read-only, without copying them or holding a descriptor.

Linux 6.16 and later let ``/sys/kernel/btf/*`` be mapped (private, read-only):
the pages are the kernel's own, so mapping vmlinux's 5.5 MB costs a few
microseconds where reading it costs over a thousand page-sized read(2)s and a
copy. Python's ``mmap`` keeps a duplicate of the file descriptor for as long
as the mapping lives, so the mapping is made by the compiled record scan's
``map_readonly`` where pybpf-core's wheel brings it (see
:func:`pybpf.btf.parse._compiled_scan`), else through ``ctypes`` (imported
only then: it costs a load more than the mapping saves); either way it is
unmapped when the last view of it goes away.
"""

from __future__ import annotations

import functools
import mmap
import os

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    MapFn = Callable[[int, int], memoryview | None]

__all__ = ["forget_mapper", "map_fd", "map_readonly"]

_FLAGS = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)


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
    if size <= 0:
        return None
    return _mapper()(fd, size)


# functools.cache: the load path imports functools anyway (pybpf.btf.parse).
@functools.cache
def _mapper() -> MapFn:
    """How this process maps files: the compiled scan's, else ctypes', else not at all.

    Chosen once per process; :func:`forget_mapper` makes the next mapping choose again.
    """
    # Imported here: parse imports the index cache, which imports this module.
    from pybpf.btf.parse import _compiled_scan  # noqa: PLC0415

    compiled = getattr(_compiled_scan(), "map_readonly", None)
    return _compiled_mapper(compiled) if compiled else _ctypes_mapper()


def forget_mapper() -> None:
    """Forget how this process maps files, so that the next mapping chooses again.

    For tests: the choice follows what the compiled scan offers when it is
    made, and a test that changes that (or chose under a change) forgets it.
    """
    _mapper.cache_clear()


def _compiled_mapper(map_readonly: Callable[[int, int], Any]) -> MapFn:
    """The compiled scan's ``map_readonly`` (a buffer object, or None), as byte views."""

    def map_compiled(fd: int, size: int) -> memoryview | None:
        mapping = map_readonly(fd, size)
        return None if mapping is None else memoryview(mapping)

    return map_compiled


def _ctypes_mapper() -> MapFn:
    """mmap(2) through ctypes, for installs without pybpf-core's compiled modules."""
    import ctypes  # noqa: PLC0415
    import weakref  # noqa: PLC0415

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mmap_fn, munmap_fn = libc.mmap, libc.munmap
    except (OSError, AttributeError):
        return lambda fd, size: None
    mmap_fn.restype = ctypes.c_void_p
    mmap_fn.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    munmap_fn.restype = ctypes.c_int
    munmap_fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    failed = ctypes.c_void_p(-1).value

    def map_ctypes(fd: int, size: int) -> memoryview | None:
        addr = mmap_fn(None, size, mmap.PROT_READ, _FLAGS, fd, 0)
        if addr is None or addr == failed:
            return None
        pages = (ctypes.c_ubyte * size).from_address(addr)
        # The pages outlive every view made from them: unmapped after the last.
        weakref.finalize(pages, munmap_fn, addr, size)
        return memoryview(pages).cast("B").toreadonly()

    return map_ctypes
