"""BPF_PROG_LOAD, with the verifier log fetched only when a load fails.

As libbpf and ebpf-go do: the first attempt asks for no log (a log costs the
kernel time on every load). On failure the load is repeated with a log; a log
that does not fit (ENOSPC) is retried larger (the kernel's ``log_true_size``
when it reports one, else double) up to the kernel's maximum. A log asked for
by the user (``log_level``) is kept from the successful load too.
"""

from __future__ import annotations

import errno

from pybpf.btf.ext import FUNC_INFO_SIZE, LINE_INFO_SIZE
from pybpf.core import _args, _cmds, _rlimit, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import LimitError, VerifierError
from pybpf.core.fd import FD

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

#: The first log buffer: enough for most rejected programs.
LOG_START = 64 * 1024
#: Kernels before 6.4 refuse log buffers smaller than this (EINVAL).
LOG_MIN = 128
#: ``UINT_MAX >> 2``: the largest log buffer the kernel accepts (5.2+).
LOG_MAX = 0xFFFFFFFF >> 2
#: ``BPF_LOG_LEVEL1``.
LOG_LEVEL_DEFAULT = 1


class LoadRequest:
    """Everything BPF_PROG_LOAD takes, already encoded."""

    # A plain class: a dataclass costs more to define (at import) than it saves.
    __slots__ = (
        "attach_btf_id",
        "attach_btf_obj_fd",
        "attach_prog_fd",
        "btf_fd",
        "expected_attach_type",
        "fd_array",
        "flags",
        "func_info",
        "insns",
        "kernel_name",
        "kernel_version",
        "license",
        "line_info",
        "log_level",
        "log_size",
        "name",
        "prog_type",
    )

    def __init__(
        self,
        name: str,
        prog_type: int,
        insns: bytes,
        *,
        license: str = "",
        kernel_version: int = 0,
        flags: int = 0,
        expected_attach_type: int = 0,
        attach_btf_id: int = 0,
        attach_btf_obj_fd: int = 0,
        attach_prog_fd: int = 0,
        btf_fd: int = 0,
        func_info: bytes = b"",
        line_info: bytes = b"",
        kernel_name: str = "",
        log_level: int = 0,
        log_size: int = 0,
        fd_array: list[int] | None = None,
    ) -> None:
        self.name = name
        self.prog_type = prog_type
        self.insns = insns
        self.license = license
        self.kernel_version = kernel_version
        self.flags = flags
        self.expected_attach_type = expected_attach_type
        self.attach_btf_id = attach_btf_id
        self.attach_btf_obj_fd = attach_btf_obj_fd
        self.attach_prog_fd = attach_prog_fd
        self.btf_fd = btf_fd
        self.func_info = func_info
        self.line_info = line_info
        self.kernel_name = kernel_name
        #: A user-chosen log level: the log is asked for on the first attempt too.
        self.log_level = log_level
        self.log_size = log_size
        #: The fds kfunc calls of module functions name by index (their ``off``).
        self.fd_array: list[int] = [] if fd_array is None else fd_array


def load(req: LoadRequest) -> tuple[FD, str | None]:
    """Load ``req``: its fd, and the verifier's log when ``req.log_level`` asked for it.

    Raise VerifierError (with the log) or a typed BPFError.
    """
    what = f"load program {req.name!r}"
    _args.unsigned(what, "log_level", req.log_level)
    _args.unsigned(what, "log_size", req.log_size, maximum=LOG_MAX)
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    attr = _cmds.new_attr("prog_load")
    keep = _fill(attr, req)
    size = ffi.sizeof(attr[0])
    if not req.log_level:
        got = _cmds.receive_fd(Command.PROG_LOAD, attr, size)
        if isinstance(got, FD):
            return got, None
    log_size = max(req.log_size or LOG_START, LOG_MIN)
    level = req.log_level or LOG_LEVEL_DEFAULT
    while True:
        buf = ffi.new("char[]", log_size)
        attr.log_buf = _sys.addr(buf)
        attr.log_size = log_size
        attr.log_level = level
        attr.log_true_size = 0
        got = _cmds.receive_fd(Command.PROG_LOAD, attr, size)
        # The kernel writes at most log_size bytes, NUL included.
        log = ffi.string(buf, log_size).decode("utf-8", "replace")
        if isinstance(got, FD):
            return got, log if req.log_level else None
        code = -got
        if code == errno.ENOSPC and log_size < LOG_MAX:
            want = int(attr.log_true_size)
            log_size = min(LOG_MAX, want if want > log_size else log_size * 2)
            continue
        _raise(req, code, log, truncated=code == errno.ENOSPC, keep=keep)


def _raise(req: LoadRequest, code: int, log: str, *, truncated: bool, keep: object) -> NoReturn:
    del keep  # the buffers had to live until here
    what = f"load program {req.name!r}"
    if not log.strip():
        if code == errno.E2BIG:
            raise LimitError(code, what, limit="instruction count")
        raise _cmds.error(code, what)
    raise VerifierError(code, req.name, log, truncated=truncated)


def check_numbers(what: str, fields: object) -> None:
    """Raise TypeError/ValueError naming the field if a number does not fit the kernel's.

    ``fields`` is a LoadRequest or a ProgramSpec: both name the numbers
    BPF_PROG_LOAD takes the same way (``flags``, ``kernel_version``...).
    """
    for name in ("flags", "kernel_version"):
        _args.unsigned(what, name, getattr(fields, name))
    prog_type = getattr(fields, "prog_type", None)
    _args.unsigned(what, "type", getattr(fields, "type", prog_type))


def _fill(attr: object, req: LoadRequest) -> list[object]:
    """Fill the attribute; return the buffers that must outlive the syscall."""
    ffi = _sys.ffi
    a: _sys.CData = attr
    check_numbers(f"program {req.name!r}", req)
    insns = ffi.from_buffer(req.insns)
    lic = ffi.new("char[]", req.license.encode())
    a.prog_type = req.prog_type
    a.insn_cnt = len(req.insns) // 8
    a.insns = _sys.addr(insns)
    a.license = _sys.addr(lic)
    a.kern_version = req.kernel_version
    a.prog_flags = req.flags
    a.prog_name = req.kernel_name.encode()
    a.expected_attach_type = req.expected_attach_type
    a.attach_btf_id = req.attach_btf_id
    a.attach_prog_fd = req.attach_prog_fd or req.attach_btf_obj_fd
    keep: list[object] = [insns, lic]
    if req.fd_array:
        fds = ffi.new("int32_t[]", req.fd_array)
        a.fd_array = _sys.addr(fds)
        keep.append(fds)
    if req.btf_fd:
        a.prog_btf_fd = req.btf_fd
        if req.func_info:
            fi = ffi.from_buffer(req.func_info)
            a.func_info = _sys.addr(fi)
            a.func_info_cnt = len(req.func_info) // FUNC_INFO_SIZE
            a.func_info_rec_size = FUNC_INFO_SIZE
            keep.append(fi)
        if req.line_info:
            li = ffi.from_buffer(req.line_info)
            a.line_info = _sys.addr(li)
            a.line_info_cnt = len(req.line_info) // LINE_INFO_SIZE
            a.line_info_rec_size = LINE_INFO_SIZE
            keep.append(li)
    return keep
