"""RLIMIT_MEMLOCK, raised only where the kernel still charges BPF memory to it.

Kernels before 5.11 charge maps and programs to the locked-memory rlimit; later
ones charge the memory cgroup. Detection (the way ebpf-go does it): drop the
soft limit to zero, create a tiny array map, restore the limit. If creation
worked, memory is not charged to the rlimit and nothing needs raising.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import threading

from pybpf.core import _sys
from pybpf.core._uapi import Command
from pybpf.elf._uapi import MapType


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked = False
        #: Whether this kernel charges BPF memory to RLIMIT_MEMLOCK (None: unknown).
        self.charged: bool | None = None


_state = _State()


def _detect() -> bool | None:
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return None
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_map_create_attr *")
    attr.map_type = MapType.ARRAY
    attr.key_size = 4
    attr.value_size = 4
    attr.max_entries = 1
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, hard))
    try:
        rc = _sys.bpf(Command.MAP_CREATE, attr, ffi.sizeof(attr[0]))
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (soft, hard))
    if rc >= 0:
        os.close(rc)
        return False
    return True if rc == -errno.EPERM else None


def ensure_memlock() -> None:
    """Once per process: lift RLIMIT_MEMLOCK if this kernel charges BPF memory to it."""
    if _state.checked:
        return
    with _state.lock:
        if _state.checked:
            return
        _state.checked = True
        _state.charged = _detect()
        if not _state.charged:
            return
        inf = resource.RLIM_INFINITY
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (inf, inf))
        except (OSError, ValueError):
            # Without CAP_SYS_RESOURCE only the soft limit may rise, to the hard one.
            _, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
            with contextlib.suppress(OSError, ValueError):
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))


def memlock_hint() -> str:
    """A note for EPERM messages when the rlimit may be what refused."""
    if not _state.charged:
        return ""
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return ""
    return (
        f"this kernel (< 5.11) charges BPF memory to RLIMIT_MEMLOCK, which is {soft} bytes "
        "and could not be raised (needs CAP_SYS_RESOURCE)"
    )
