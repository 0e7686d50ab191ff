"""bpf(2) commands other than the element hot paths, as typed functions.

Each function fills its attribute struct, issues the command and turns a
failure into a :class:`~pybpf.core.errors.BPFError` naming what was attempted.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from pybpf.core import _rlimit, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import (
    ENOTSUPP,
    BPFError,
    BPFPermissionError,
    LimitError,
    NotSupportedError,
)
from pybpf.core.fd import FD

CData = Any


def error(code: int, what: str) -> BPFError:
    """The typed error for ``code`` (a positive errno) from an attempt at ``what``."""
    if code in (errno.EPERM, errno.EACCES):
        return BPFPermissionError(code, what, reason=f"{os.strerror(code)}; {permission_hint()}")
    if code in (ENOTSUPP, errno.EOPNOTSUPP):
        return NotSupportedError(what, code=code)
    if code in (errno.E2BIG, errno.ENOSPC):
        return LimitError(code, what)
    return BPFError(code, what)


def permission_hint() -> str:
    """Why the kernel usually says EPERM to bpf(2), for the error message."""
    hint = "bpf(2) needs CAP_BPF (plus CAP_PERFMON/CAP_NET_ADMIN for some objects) or root"
    memlock = _rlimit.memlock_hint()
    return f"{hint}; {memlock}" if memlock else hint


def _fd_result(rc: int, what: str) -> FD:
    if rc < 0:
        raise error(-rc, what)
    return FD(rc)


def map_create(attr: CData, what: str) -> FD:
    """BPF_MAP_CREATE with a filled ``struct pybpf_map_create_attr``."""
    _rlimit.ensure_memlock()
    rc = _sys.bpf(Command.MAP_CREATE, attr, _sys.ffi.sizeof(attr[0]))
    return _fd_result(rc, what)


def map_create_raw(attr: CData) -> int:
    """BPF_MAP_CREATE returning the raw fd or -errno, for probes."""
    return int(_sys.bpf(Command.MAP_CREATE, attr, _sys.ffi.sizeof(attr[0])))


def obj_pin(fd: FD, path: str | os.PathLike[str], what: str) -> None:
    """BPF_OBJ_PIN: give the object a name in bpffs."""
    ffi = _sys.ffi
    cpath = ffi.new("char[]", os.fsencode(path))
    attr = ffi.new("struct pybpf_obj_attr *")
    attr.pathname = _sys.addr(cpath)
    attr.bpf_fd = fd.number
    rc = _sys.bpf(Command.OBJ_PIN, attr, ffi.sizeof(attr[0]))
    if rc < 0:
        raise error(-rc, f"{what}: pin to {os.fspath(path)!r}")


def obj_get(path: str | os.PathLike[str], flags: int, what: str) -> FD:
    """BPF_OBJ_GET: open a pinned object."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    cpath = ffi.new("char[]", os.fsencode(path))
    attr = ffi.new("struct pybpf_obj_attr *")
    attr.pathname = _sys.addr(cpath)
    attr.file_flags = flags
    rc = _sys.bpf(Command.OBJ_GET, attr, ffi.sizeof(attr[0]))
    return _fd_result(rc, f"{what} {os.fspath(path)!r}")


def get_fd_by_id(cmd: Command, obj_id: int, flags: int, what: str) -> FD:
    """``BPF_*_GET_FD_BY_ID``."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_get_id_attr *")
    attr.id = obj_id
    attr.open_flags = flags
    rc = _sys.bpf(cmd, attr, ffi.sizeof(attr[0]))
    return _fd_result(rc, f"{what} {obj_id}")


def get_next_id(cmd: Command, start: int) -> int | None:
    """``BPF_*_GET_NEXT_ID``: the next id after ``start``, or None at the end."""
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_get_id_attr *")
    attr.id = start
    rc = _sys.bpf(cmd, attr, ffi.sizeof(attr[0]))
    if rc == -errno.ENOENT:
        return None
    if rc < 0:
        raise error(-rc, f"{cmd.name} after {start}")
    return int(attr.next_id)


def obj_info(fd: FD, info: CData, what: str) -> int:
    """BPF_OBJ_GET_INFO_BY_FD into ``info`` (a pointer to an info struct).

    Returns how many bytes of it the kernel filled: ``min(our size, its
    size)``, which tells a field an older kernel does not know from a zero.
    """
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_info_attr *")
    attr.bpf_fd = fd.number
    attr.info_len = ffi.sizeof(info[0])
    attr.info = _sys.addr(info)
    rc = _sys.bpf(Command.OBJ_GET_INFO_BY_FD, attr, ffi.sizeof(attr[0]))
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
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_elem_attr *")
    attr.map_fd = fd.number
    rc = _sys.bpf(Command.MAP_FREEZE, attr, ffi.sizeof(attr[0]))
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
    attr = ffi.new("struct pybpf_btf_load_attr *")
    attr.btf = _sys.addr(data)
    attr.btf_size = len(blob)
    rc = _sys.bpf(Command.BTF_LOAD, attr, ffi.sizeof(attr[0]))
    if rc >= 0:
        return FD(rc)
    # Only a failed load pays for the log: load again, asking for it.
    log = ffi.new("char[]", _BTF_LOG_SIZE)
    attr.btf_log_buf = _sys.addr(log)
    attr.btf_log_size = _BTF_LOG_SIZE
    attr.btf_log_level = 1
    retry = _sys.bpf(Command.BTF_LOAD, attr, ffi.sizeof(attr[0]))
    if retry >= 0:
        return FD(retry)
    text = ffi.string(log).decode("utf-8", "replace").strip()
    tail = "; ".join(text.splitlines()[-3:])
    err = error(-rc, what)
    if tail:
        err.add_note(f"kernel BTF log: {tail}")
    raise err
