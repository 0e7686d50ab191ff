"""The bpf(2) layer, for pybpf's own distributions: no stability promise.

``pybpf.link`` and the readers build on this module; users should not. It
changes with ``pybpf-core`` (which ``pybpf-link`` pins exactly), as ebpf-go's
``internal/sys`` does. It is the one place that makes kernel structs:

- the cffi ``ffi``, :data:`NULL` and :func:`addr` (a buffer's address for an
  ``__aligned_u64`` field);
- :func:`new_iter_link_info`, what an iterator link iterates over;
- :func:`new_attr` (a zeroed ``struct pybpf_attr_<command>``, every
  ``union bpf_attr`` variant generated from the committed kernel BTF,
  ``link_create`` with all its per-link-type unions) and :func:`new_info`;
- one function per command: those returning an fd give an owned :class:`FD`
  (owned before any Python code runs), the others ``None`` or an int, and a
  failure raises the typed error of :func:`error`;
- :func:`perf_event_open` and the perf ioctls (:func:`perf_ioctl`); :func:`mmap`, :func:`munmap` and
  :func:`mapped_view`, for mappings at a given address;
- :func:`namespace_type` (nsfs's ``NS_GET_NSTYPE``) and :func:`mount`, for the
  link layer's namespace targets and tracefs;
- the generated enums and flags, and :class:`KernelObject`, :class:`FD` and
  :class:`Closing` for the objects built on top.

Every command function takes ``what``, the words an error starts with.
"""

from __future__ import annotations

import errno
import os

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this module's
# own imports. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from pybpf.core._closing import (
        Closing,
    )
    from pybpf.core._cmds import (
        ATTRS,
        INFOS,
        btf_load,
        call,
        call_with_fd,
        check_uint,
        enable_stats,
        error,
        field_ends,
        get_fd_by_id,
        get_next_id,
        iter_create,
        link_create,
        link_detach,
        link_update,
        map_create,
        map_freeze,
        new_attr,
        new_info,
        new_iter_link_info,
        obj_get,
        obj_info,
        obj_pin,
        prog_attach,
        prog_bind_map,
        prog_detach,
        prog_load,
        prog_query,
        prog_test_run,
        raw_tracepoint_open,
        receive_fd,
        task_fd_query,
        token_create,
    )
    from pybpf.core._ext_target import (
        program_func_id,
    )
    from pybpf.core._owner import (
        KernelObject,
    )
    from pybpf.core._sys import (
        addr,
        mapped_view,
        mmap,
        munmap,
        perf_event_open,
    )
    from pybpf.core._uapi import (
        Command,
        MapFlags,
    )
    from pybpf.core._uapi_access import (
        FileFlags,
        UpdateFlags,
    )
    from pybpf.core._uapi_link import (
        AttachFlags,
        CgroupIterOrder,
        KprobeMultiFlags,
        LinkType,
        NamespaceType,
        NetfilterFlags,
        PerfEventType,
        QueryFlags,
        TaskFdType,
        UprobeMultiFlags,
        XDPFlags,
    )
    from pybpf.core._uapi_perf import (
        PERF_EVENT_IOC_DISABLE,
        PERF_EVENT_IOC_ENABLE,
        PERF_EVENT_IOC_ID,
        PERF_EVENT_IOC_PAUSE_OUTPUT,
        PERF_EVENT_IOC_QUERY_BPF,
        PERF_EVENT_IOC_RESET,
        PERF_EVENT_IOC_SET_BPF,
        PerfOpenFlags,
    )
    from pybpf.core._uapi_run import (
        RunFlags,
        StatsType,
    )
    from pybpf.core.fd import (
        FD,
    )
    from pybpf.elf import (
        AttachType,
        MapType,
        ProgramType,
    )

    #: The cffi FFI of the layer (compiled, or ABI mode where no compiler was).
    ffi: Any
    #: cffi's NULL pointer.
    NULL: Any

__all__ = [
    "ATTRS",
    "FD",
    "INFOS",
    "NULL",
    "PERF_EVENT_IOC_DISABLE",
    "PERF_EVENT_IOC_ENABLE",
    "PERF_EVENT_IOC_ID",
    "PERF_EVENT_IOC_PAUSE_OUTPUT",
    "PERF_EVENT_IOC_QUERY_BPF",
    "PERF_EVENT_IOC_RESET",
    "PERF_EVENT_IOC_SET_BPF",
    "AttachFlags",
    "AttachType",
    "CgroupIterOrder",
    "Closing",
    "Command",
    "FileFlags",
    "KernelObject",
    "KprobeMultiFlags",
    "LinkType",
    "MapFlags",
    "MapType",
    "NamespaceType",
    "NetfilterFlags",
    "PerfEventType",
    "PerfOpenFlags",
    "ProgramType",
    "QueryFlags",
    "RunFlags",
    "StatsType",
    "TaskFdType",
    "UpdateFlags",
    "UprobeMultiFlags",
    "XDPFlags",
    "addr",
    "btf_load",
    "call",
    "call_with_fd",
    "check_uint",
    "enable_stats",
    "error",
    "ffi",
    "field_ends",
    "get_fd_by_id",
    "get_next_id",
    "iter_create",
    "link_create",
    "link_detach",
    "link_update",
    "map_create",
    "map_freeze",
    "mapped_view",
    "mmap",
    "mount",
    "munmap",
    "namespace_type",
    "new_attr",
    "new_info",
    "new_iter_link_info",
    "obj_get",
    "obj_info",
    "obj_pin",
    "perf_event_open",
    "perf_ioctl",
    "prog_attach",
    "prog_bind_map",
    "prog_detach",
    "prog_load",
    "prog_query",
    "prog_test_run",
    "program_func_id",
    "raw_tracepoint_open",
    "receive_fd",
    "task_fd_query",
    "token_create",
]

# Where each name lives; the first read of a name imports its module, so that
# a caller pays only for the commands and enums it uses (issue #18: an attach
# call needs neither program type checks' BTF nor the perf enums).
_EXPORTS = {
    "pybpf.core._closing": ("Closing",),
    "pybpf.core._cmds": (
        "ATTRS",
        "INFOS",
        "btf_load",
        "call",
        "call_with_fd",
        "check_uint",
        "enable_stats",
        "error",
        "field_ends",
        "get_fd_by_id",
        "get_next_id",
        "iter_create",
        "link_create",
        "link_detach",
        "link_update",
        "map_create",
        "map_freeze",
        "new_attr",
        "new_info",
        "new_iter_link_info",
        "obj_get",
        "obj_info",
        "obj_pin",
        "prog_attach",
        "prog_bind_map",
        "prog_detach",
        "prog_load",
        "prog_query",
        "prog_test_run",
        "raw_tracepoint_open",
        "receive_fd",
        "task_fd_query",
        "token_create",
    ),
    "pybpf.core._ext_target": ("program_func_id",),
    "pybpf.core._owner": ("KernelObject",),
    "pybpf.core._sys": (
        "NULL",
        "addr",
        "ffi",
        "mapped_view",
        "mmap",
        "munmap",
        "perf_event_open",
    ),
    "pybpf.core._uapi": (
        "Command",
        "MapFlags",
    ),
    "pybpf.core._uapi_access": (
        "FileFlags",
        "UpdateFlags",
    ),
    "pybpf.core._uapi_link": (
        "AttachFlags",
        "CgroupIterOrder",
        "KprobeMultiFlags",
        "LinkType",
        "NamespaceType",
        "NetfilterFlags",
        "PerfEventType",
        "QueryFlags",
        "TaskFdType",
        "UprobeMultiFlags",
        "XDPFlags",
    ),
    "pybpf.core._uapi_perf": (
        "PERF_EVENT_IOC_DISABLE",
        "PERF_EVENT_IOC_ENABLE",
        "PERF_EVENT_IOC_ID",
        "PERF_EVENT_IOC_PAUSE_OUTPUT",
        "PERF_EVENT_IOC_QUERY_BPF",
        "PERF_EVENT_IOC_RESET",
        "PERF_EVENT_IOC_SET_BPF",
        "PerfOpenFlags",
    ),
    "pybpf.core._uapi_run": (
        "RunFlags",
        "StatsType",
    ),
    "pybpf.core.fd": ("FD",),
    "pybpf.elf": ("AttachType", "MapType", "ProgramType"),
}


def perf_ioctl(event: FD, request: int, arg: int, what: str) -> None:
    """One of the perf ioctls (``PERF_EVENT_IOC_*``) on the perf event ``event``.

    ``arg`` is the ioctl's integer argument (a program fd for
    ``PERF_EVENT_IOC_SET_BPF``). A failure raises the typed error of
    :func:`error` naming ``what``.
    """
    import fcntl  # noqa: PLC0415 (only perf users pay for it)

    from pybpf.core._cmds import error  # noqa: PLC0415

    try:
        fcntl.ioctl(event.number, request, arg)
    except OSError as e:
        raise error(e.errno or errno.EINVAL, what) from None


def namespace_type(ns: FD, what: str) -> NamespaceType | int:
    """The type of the namespace file ``ns`` (nsfs's ``NS_GET_NSTYPE``, Linux 4.11+).

    A plain int for a type newer than this library. A file that is no
    namespace raises the typed error of :func:`error` naming ``what``
    (``ENOTTY``).
    """
    import fcntl  # noqa: PLC0415 (only namespace targets pay for it)

    from pybpf.core._cmds import error  # noqa: PLC0415
    from pybpf.core._uapi_link import NamespaceType  # noqa: PLC0415
    from pybpf.core._uapi_perf import NS_GET_NSTYPE  # noqa: PLC0415

    try:
        kind = fcntl.ioctl(ns.number, NS_GET_NSTYPE)
    except OSError as e:
        raise error(e.errno or errno.EINVAL, what) from None
    try:
        return NamespaceType(kind)
    except ValueError:
        return kind


def mount(source: str, target: str, fstype: str, what: str, *, flags: int = 0) -> None:
    """Mount the ``fstype`` filesystem ``source`` at ``target`` (mount(2)), with ``flags``.

    A failure raises the typed error of :func:`error` naming ``what``
    (a permission error says which capability is missing).
    """
    import ctypes  # noqa: PLC0415 (only a process that mounts pays for it)

    from pybpf.core._cmds import error  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    args = (os.fsencode(source), os.fsencode(target), os.fsencode(fstype))
    if libc.mount(*args, ctypes.c_ulong(flags), None) != 0:
        raise error(ctypes.get_errno() or errno.EINVAL, what, needs=("CAP_SYS_ADMIN",))


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
