"""bpf(2) commands other than the element hot paths, as typed functions.

Each function issues one command and turns a failure into a
:class:`~pybpf.core.errors.BPFError` naming what was attempted. The attribute
structs are the generated ``struct pybpf_attr_<command>`` (``_uapi_types.h``),
made here and nowhere else (:func:`new_attr`, :func:`new_info`). Published
for pybpf's own distributions as :mod:`pybpf.core.sys`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

from pybpf.core import _rlimit, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import (
    ENOTSUPP,
    BPFError,
    BPFPermissionError,
    ClosedError,
    LimitError,
    NotSupportedError,
)
from pybpf.core.fd import FD

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    CData: TypeAlias = Any


def error(code: int, what: str, *, needs: Sequence[str] = ("CAP_BPF",)) -> BPFError:
    """The typed error for ``code`` (a positive errno) from an attempt at ``what``.

    ``needs``: the capabilities the attempt requires, named in a permission
    error only when this process lacks them.
    """
    if code in (errno.EPERM, errno.EACCES):
        return permission_error(code, what, permission_hint(needs))
    if code in (ENOTSUPP, errno.EOPNOTSUPP):
        return NotSupportedError(what, code=code)
    if code in (errno.E2BIG, errno.ENOSPC):
        return LimitError(code, what)
    return BPFError(code, what)


def permission_error(code: int, what: str, hint: str) -> BPFPermissionError:
    """A refusal (EPERM/EACCES) of ``what``, with ``hint`` saying why."""
    return BPFPermissionError(code, what, reason=f"{os.strerror(code)}; {hint}")


def permission_hint(needs: Sequence[str] = ("CAP_BPF",)) -> str:
    """Why the kernel refused an operation that ``needs`` these capabilities."""
    # Imported here, as in _pin_error: only a refusal reads the process's privileges.
    from pybpf.core import _privileges  # noqa: PLC0415

    return _privileges.permission_hint(needs)


def _pin_error(code: int, what: str, path: str | os.PathLike[str]) -> BPFError:
    """The error of pinning at, or opening, ``path``: a path off bpffs is named as such."""
    from pybpf.core import _privileges  # noqa: PLC0415

    if code in (errno.EPERM, errno.EACCES) and _privileges.on_bpffs(path) is False:
        return permission_error(code, what, "not a bpffs path (pins live on a bpf filesystem)")
    return error(code, what)


def check_uint(value: object, bits: int, name: str, what: str) -> int:
    """``value`` if it is an int that fits ``bits`` unsigned bits, else a TypeError/ValueError.

    For arguments that go into the kernel's fixed-width fields: checked
    before any syscall, named in the message.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what}: {name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{what}: {name} {value} is out of range (0 to 2**{bits}-1)")
    return value


#: The ``union bpf_attr`` variants, by the name of the command (family) they serve.
ATTRS = frozenset(
    {
        "map_create",
        "map_elem",
        "map_batch",
        "prog_load",
        "obj",
        "prog_attach",
        "test_run",
        "get_id",
        "info",
        "query",
        "raw_tracepoint",
        "btf_load",
        "task_fd_query",
        "link_create",
        "link_update",
        "link_detach",
        "enable_stats",
        "iter_create",
        "prog_bind_map",
        "token_create",
        "prog_stream_read",
    }
)
#: The ``bpf_*_info`` structs of BPF_OBJ_GET_INFO_BY_FD, by object kind.
INFOS = frozenset({"prog", "map", "btf", "link"})


def new_attr(variant: str) -> CData:
    """A zeroed ``struct pybpf_attr_<variant>``: the attribute of one command (family)."""
    if variant not in ATTRS:
        raise ValueError(f"no bpf_attr variant {variant!r} (one of {sorted(ATTRS)})")
    return _sys.ffi.new(f"struct pybpf_attr_{variant} *")


def new_info(kind: str) -> CData:
    """A zeroed ``struct bpf_<kind>_info`` (``prog``, ``map``, ``btf`` or ``link``)."""
    if kind not in INFOS:
        raise ValueError(f"no bpf_{kind}_info (one of {sorted(INFOS)})")
    return _sys.ffi.new(f"struct pybpf_{kind}_info *")


def new_iter_link_info() -> CData:
    """A zeroed ``union bpf_iter_link_info``: what an iterator link iterates over."""
    return _sys.ffi.new("union pybpf_iter_link_info *")


def call(cmd: Command, attr: CData) -> int:
    """Issue ``cmd`` with ``attr`` as it is: the result, or ``-errno``.

    For commands that return no fd, and for probes that want the bare errno.
    """
    return int(_sys.bpf(cmd, attr, _sys.ffi.sizeof(attr[0])))


def receive_fd(cmd: Command, attr: CData, size: int | None = None) -> FD | int:
    """Issue ``cmd``, a command that returns an fd: the owned FD, or ``-errno``.

    The fd is owned before any Python code runs (see :meth:`FD.receive`).
    """
    return FD.receive(cmd, attr, _sys.ffi.sizeof(attr[0]) if size is None else size)


def call_with_fd(cmd: Command, attr: CData, field: str, fd: FD) -> int:
    """Issue ``cmd`` with ``fd``'s number in ``attr``'s ``field``: the result or ``-errno``.

    The number is held for the call: a close in another thread waits for it
    instead of letting the kernel meet a reused number; a closed fd raises
    ClosedError.
    """
    ffi = _sys.ffi
    offset = ffi.offsetof(ffi.typeof(attr).item, field)
    rc = int(_sys.fd_calls.bpf_held(cmd, attr, ffi.sizeof(attr[0]), fd._cell, offset))
    if rc == -errno.EBADF and fd.closed:
        raise ClosedError("file descriptor is closed")
    return rc


def _fd_result(cmd: Command, attr: CData, what: str, *, needs: Sequence[str] = ("CAP_BPF",)) -> FD:
    got = receive_fd(cmd, attr)
    if isinstance(got, int):
        raise error(-got, what, needs=needs)
    return got


def map_create(attr: CData, what: str) -> FD:
    """BPF_MAP_CREATE with a filled ``struct pybpf_attr_map_create``."""
    _rlimit.ensure_memlock()
    return _fd_result(Command.MAP_CREATE, attr, what)


def map_create_raw(attr: CData) -> int:
    """BPF_MAP_CREATE returning the raw fd or -errno, for probes."""
    return int(_sys.bpf(Command.MAP_CREATE, attr, _sys.ffi.sizeof(attr[0])))


def obj_pin(fd: FD, path: str | os.PathLike[str], what: str) -> None:
    """BPF_OBJ_PIN: give the object a name in bpffs."""
    ffi = _sys.ffi
    cpath = ffi.new("char[]", os.fsencode(path))
    attr = new_attr("obj")
    attr.pathname = _sys.addr(cpath)
    rc = call_with_fd(Command.OBJ_PIN, attr, "bpf_fd", fd)
    if rc < 0:
        raise _pin_error(-rc, f"{what}: pin to {os.fspath(path)!r}", path)


def obj_get(path: str | os.PathLike[str], flags: int, what: str) -> FD:
    """BPF_OBJ_GET: open a pinned object."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    cpath = ffi.new("char[]", os.fsencode(path))
    attr = new_attr("obj")
    attr.pathname = _sys.addr(cpath)
    attr.file_flags = check_uint(flags, 32, "flags", what)
    got = receive_fd(Command.OBJ_GET, attr)
    if isinstance(got, int):
        raise _pin_error(-got, f"{what} {os.fspath(path)!r}", path)
    return got


def get_fd_by_id(cmd: Command, obj_id: int, flags: int, what: str) -> FD:
    """``BPF_*_GET_FD_BY_ID``."""
    _rlimit.ensure_memlock()
    attr = new_attr("get_id")
    attr.start_id = check_uint(obj_id, 32, "id", what)
    attr.open_flags = check_uint(flags, 32, "flags", what)
    # Opening objects by id is for administrators only: CAP_SYS_ADMIN.
    return _fd_result(cmd, attr, f"{what} {obj_id}", needs=("CAP_SYS_ADMIN",))


def get_next_id(cmd: Command, start: int) -> int | None:
    """``BPF_*_GET_NEXT_ID``: the next id after ``start``, or None at the end."""
    attr = new_attr("get_id")
    attr.start_id = check_uint(start, 32, "start", cmd.name)
    rc = call(cmd, attr)
    if rc == -errno.ENOENT:
        return None
    if rc < 0:
        raise error(-rc, f"{cmd.name} after {start}", needs=("CAP_SYS_ADMIN",))
    return int(attr.next_id)


def obj_info(fd: FD, info: CData, what: str) -> int:
    """BPF_OBJ_GET_INFO_BY_FD into ``info`` (a pointer to an info struct).

    Returns how many bytes of it the kernel filled: ``min(our size, its
    size)``, which tells a field an older kernel does not know from a zero.
    """
    ffi = _sys.ffi
    attr = new_attr("info")
    attr.info_len = ffi.sizeof(info[0])
    attr.info = _sys.addr(info)
    rc = call_with_fd(Command.OBJ_GET_INFO_BY_FD, attr, "bpf_fd", fd)
    if rc < 0:
        raise error(-rc, f"{what}: get info")
    return int(attr.info_len)


def field_ends(info_type: str) -> dict[str, int]:
    """Where each field of the cffi struct ``info_type`` ends, in bytes.

    A field ending past what :func:`obj_info` says the kernel filled is one
    that kernel does not report (an older kernel's struct is shorter).
    """
    ffi = _sys.ffi
    return {name: f.offset + ffi.sizeof(f.type) for name, f in ffi.typeof(info_type).fields}


def map_freeze(fd: FD, what: str) -> None:
    """BPF_MAP_FREEZE: no more writes from user space."""
    attr = new_attr("map_elem")
    rc = call_with_fd(Command.MAP_FREEZE, attr, "map_fd", fd)
    if rc < 0:
        if rc == -errno.EINVAL:
            raise NotSupportedError(f"{what}: freeze", min_version="5.2", code=errno.EINVAL)
        raise error(-rc, f"{what}: freeze")


#: Enough for the log of a rejected BTF blob of any realistic size.
_BTF_LOG_SIZE = 1 << 20


def btf_load(blob: bytes, what: str) -> FD:
    """BPF_BTF_LOAD: hand raw BTF to the kernel; on failure, the kernel's log says why."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    data = ffi.from_buffer(blob)
    attr = new_attr("btf_load")
    attr.btf = _sys.addr(data)
    attr.btf_size = len(blob)
    got = receive_fd(Command.BTF_LOAD, attr)
    if not isinstance(got, int):
        return got
    rc = got
    # Only a failed load pays for the log: load again, asking for it.
    log = ffi.new("char[]", _BTF_LOG_SIZE)
    attr.btf_log_buf = _sys.addr(log)
    attr.btf_log_size = _BTF_LOG_SIZE
    attr.btf_log_level = 1
    retry = receive_fd(Command.BTF_LOAD, attr)
    if not isinstance(retry, int):
        return retry
    text = ffi.string(log).decode("utf-8", "replace").strip()
    tail = "; ".join(text.splitlines()[-3:])
    err = error(-rc, what)
    if tail:
        err.add_note(f"kernel BTF log: {tail}")
    raise err


def _no_result(cmd: Command, attr: CData, what: str, needs: Sequence[str] = ("CAP_BPF",)) -> None:
    rc = call(cmd, attr)
    if rc < 0:
        raise error(-rc, what, needs=needs)


def prog_load(attr: CData, what: str) -> FD:
    """BPF_PROG_LOAD with a filled ``struct pybpf_attr_prog_load`` (no log retry here)."""
    _rlimit.ensure_memlock()
    return _fd_result(Command.PROG_LOAD, attr, what)


def link_create(attr: CData, what: str) -> FD:
    """BPF_LINK_CREATE with a filled ``struct pybpf_attr_link_create``: the link's fd."""
    return _fd_result(Command.LINK_CREATE, attr, what)


def link_update(attr: CData, what: str) -> None:
    """BPF_LINK_UPDATE: give a link another program."""
    _no_result(Command.LINK_UPDATE, attr, what)


def link_detach(link: FD, what: str) -> None:
    """BPF_LINK_DETACH: detach a link's program, the link's fd staying open."""
    rc = call_with_fd(Command.LINK_DETACH, new_attr("link_detach"), "link_fd", link)
    if rc < 0:
        raise error(-rc, f"{what}: detach")


def raw_tracepoint_open(attr: CData, what: str) -> FD:
    """BPF_RAW_TRACEPOINT_OPEN with a filled ``struct pybpf_attr_raw_tracepoint``."""
    return _fd_result(Command.RAW_TRACEPOINT_OPEN, attr, what)


def iter_create(attr: CData, what: str) -> FD:
    """BPF_ITER_CREATE with a filled ``struct pybpf_attr_iter_create``: a readable fd."""
    return _fd_result(Command.ITER_CREATE, attr, what)


def prog_attach(attr: CData, what: str) -> None:
    """BPF_PROG_ATTACH with a filled ``struct pybpf_attr_prog_attach``."""
    _no_result(Command.PROG_ATTACH, attr, what, needs=("CAP_NET_ADMIN",))


def prog_detach(attr: CData, what: str) -> None:
    """BPF_PROG_DETACH with a filled ``struct pybpf_attr_prog_attach``."""
    _no_result(Command.PROG_DETACH, attr, what, needs=("CAP_NET_ADMIN",))


def prog_query(attr: CData, what: str) -> None:
    """BPF_PROG_QUERY into a filled ``struct pybpf_attr_query`` (the kernel fills it in)."""
    _no_result(Command.PROG_QUERY, attr, what, needs=("CAP_NET_ADMIN",))


def prog_bind_map(attr: CData, what: str) -> None:
    """BPF_PROG_BIND_MAP with a filled ``struct pybpf_attr_prog_bind_map``."""
    _no_result(Command.PROG_BIND_MAP, attr, what)


def task_fd_query(attr: CData, what: str) -> None:
    """BPF_TASK_FD_QUERY into a filled ``struct pybpf_attr_task_fd_query``."""
    _no_result(Command.TASK_FD_QUERY, attr, what)


def prog_test_run(attr: CData) -> int:
    """BPF_PROG_TEST_RUN with a filled ``struct pybpf_attr_test_run``: 0 or ``-errno``.

    The caller words the error: what ENOSPC means depends on the buffers it gave.
    """
    return call(Command.PROG_TEST_RUN, attr)


def enable_stats(stats_type: int, what: str) -> FD:
    """BPF_ENABLE_STATS: statistics of ``stats_type`` on while the returned fd is open."""
    attr = new_attr("enable_stats")
    attr.type = check_uint(stats_type, 32, "type", what)
    return _fd_result(Command.ENABLE_STATS, attr, what)


def token_create(attr: CData, what: str) -> FD:
    """BPF_TOKEN_CREATE with a filled ``struct pybpf_attr_token_create``."""
    return _fd_result(Command.TOKEN_CREATE, attr, what)
