"""The one place that issues bpf(2): cffi, compiled when possible.

The compiled module ``_pybpf_sys`` is built out of line (API mode) by the
distribution's hatch build hook. Where it is missing (no compiler at install
time) or when ``PYBPF_SYS=abi`` is set, the same functions are provided in
cffi's ABI mode through libc's ``syscall(2)``: slower, same behaviour.

Every function returns the syscall's result, or ``-errno``; turning that into
an exception is the caller's job, because only the caller knows what failed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import platform
import threading
import warnings
from collections.abc import Callable
from typing import Any

from pybpf.core import _sys_build
from pybpf.core._uapi import Command

#: bpf(2)'s syscall number per architecture, for ABI mode only (API mode takes
#: ``__NR_bpf`` from the C headers). From each arch's ``unistd`` tables.
_NR_BPF = {
    "x86_64": 321,
    "i386": 357,
    "i686": 357,
    "aarch64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "armv7l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
}

CData = Any
ElemFn = Callable[[int, int, CData, CData, int], int]
BatchFn = Callable[[int, int, CData, CData, CData, CData, CData, int], int]
BpfFn = Callable[[int, CData, int], int]
FastFillFn = Callable[[dict[Any, Any], int, int, int, int], None]
NewDictFn = Callable[[int], dict[Any, Any]]


def _load_compiled() -> tuple[Any, BpfFn, ElemFn, BatchFn, Any] | None:
    if os.environ.get("PYBPF_SYS", "") == "abi":
        return None
    try:
        import _pybpf_sys  # noqa: PLC0415 (optional: absent without a compiler)
    except ImportError:
        return None
    lib = _pybpf_sys.lib
    if getattr(lib, "PYBPF_SYS_VERSION", None) != _sys_build.VERSION:
        warnings.warn(
            "pybpf: the compiled _pybpf_sys is stale (built from other sources); "
            "reinstall pybpf-core. Falling back to cffi ABI mode.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return (
        _pybpf_sys.ffi,
        lib.pybpf_bpf,
        lib.pybpf_map_elem,
        lib.pybpf_map_batch,
        _load_fast(_pybpf_sys.__file__),
    )


def _load_fast(path: str, name: str = _sys_build.FAST_MODULE) -> Any:
    """A further module of the compiled library: plain CPython functions, no cffi."""
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _load_abi() -> tuple[Any, BpfFn, ElemFn, BatchFn]:
    import cffi  # type: ignore[import-untyped]  # noqa: PLC0415 (only in ABI mode)

    abi = cffi.FFI()
    abi.cdef(_sys_build.ABI_CDEF)
    libc: Any = abi.dlopen(None)
    machine = platform.machine()
    if machine not in _NR_BPF:
        raise ImportError(f"pybpf: no bpf(2) syscall number known for {machine}")
    nr = abi.cast("long", _NR_BPF[machine])
    syscall = libc.syscall
    cast = abi.cast
    # Variadic arguments must be cdata of the exact C type: cast them once.
    cmds = {int(c): cast("int", c) for c in Command}
    sizes: dict[int, CData] = {}

    def bpf(cmd: int, attr: CData, size: int) -> int:
        csize = sizes.get(size)
        if csize is None:
            csize = sizes[size] = cast("unsigned int", size)
        ccmd = cmds.get(cmd)
        if ccmd is None:
            ccmd = cast("int", cmd)
        rc = int(syscall(nr, ccmd, attr, csize))
        return rc if rc >= 0 else -abi.errno

    def addr(ptr: CData) -> int:
        return int(cast("uintptr_t", ptr))

    # One element attr per thread, reused: on 64-bit, its pointer-typed twin
    # takes the key and value pointers without a cast per call.
    local = threading.local()
    by_pointer = abi.sizeof("void *") == 8
    elem_type = "struct pybpf_elem_attr_ptr *" if by_pointer else "struct pybpf_elem_attr *"
    elem_size = abi.sizeof("struct pybpf_elem_attr")

    def map_elem(cmd: int, fd: int, key: CData, value: CData, flags: int) -> int:
        attr = getattr(local, "elem", None)
        if attr is None:
            attr = local.elem = abi.new(elem_type)
        attr.map_fd = fd & 0xFFFFFFFF
        if by_pointer:
            attr.key = key
            attr.value = value
        else:
            attr.key = addr(key)
            attr.value = addr(value)
        attr.flags = flags
        rc = bpf(cmd, attr, elem_size)
        return rc if rc < 0 else 0

    def map_batch(  # noqa: PLR0917 (mirrors the C helper)
        cmd: int,
        fd: int,
        in_batch: CData,
        out_batch: CData,
        keys: CData,
        values: CData,
        count: CData,
        elem_flags: int,
    ) -> int:
        attr = abi.new("struct pybpf_batch_attr *")
        attr.in_batch = addr(in_batch)
        attr.out_batch = addr(out_batch)
        attr.keys = addr(keys)
        attr.values = addr(values)
        attr.count = count[0]
        attr.map_fd = fd & 0xFFFFFFFF
        attr.elem_flags = elem_flags
        rc = bpf(cmd, attr, abi.sizeof("struct pybpf_batch_attr"))
        count[0] = attr.count
        return rc if rc < 0 else 0

    return abi, bpf, map_elem, map_batch


_compiled = _load_compiled()
#: True when the compiled (API-mode) module is in use.
COMPILED = _compiled is not None
#: The plain-CPython module compiled alongside (None in ABI mode): ``MapBase``,
#: the element hot paths of :class:`~pybpf.core.map.Map` (see
#: :mod:`pybpf.core._map_base`), and the helpers below.
fast: Any = None
#: ``fast_fill(dict, keys, values, n, shape)`` adds ``n`` ints packed at two
#: addresses to a dict (a batch read's result; a shape is key spec | value
#: spec << 8, a spec being the size | 0x10 when signed); ``new_dict(n)`` is an
#: empty dict, with room for ``n`` items when compiled.
fast_fill: FastFillFn | None = None
new_dict: NewDictFn = lambda n: {}  # noqa: E731 (replaced by the compiled one)
if _compiled is not None:
    ffi, bpf, map_elem, map_batch, fast = _compiled
    fast_fill, new_dict = fast.fill, fast.new_dict
else:
    ffi, bpf, map_elem, map_batch = _load_abi()
NULL: CData = ffi.NULL

#: The event readers' consume loops (``ring_read``, ``perf_read``, ``load``,
#: ``store`` and ``PerfRecord``), compiled alongside; None in ABI mode, where
#: the readers use the same loops in Python (:mod:`pybpf.core._consume`).
readers: Any = None
if fast is not None:
    readers = _load_fast(fast.__file__, _sys_build.READERS_MODULE)


def addr(ptr: CData) -> int:
    """The address of a cdata pointer or array, for a ``__aligned_u64`` field."""
    return int(ffi.cast("uintptr_t", ptr))


#: perf_event_open(2)'s syscall number per architecture (from each arch's
#: ``unistd`` tables): no C header is needed to reach it.
_NR_PERF_EVENT_OPEN = {
    "x86_64": 298,
    "i386": 336,
    "i686": 336,
    "aarch64": 241,
    "riscv64": 241,
    "loongarch64": 241,
    "armv7l": 364,
    "ppc64le": 319,
    "ppc64": 319,
    "s390x": 331,
}
_libc_syscall: Any = None


def perf_event_open(attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int:
    """Open a perf event from ``attr``, a raw ``struct perf_event_attr``: the fd or -errno."""
    global _libc_syscall  # noqa: PLW0603 (bound on first use: most processes never call it)
    import ctypes  # noqa: PLC0415
    import errno  # noqa: PLC0415

    if _libc_syscall is None:
        _libc_syscall = ctypes.CDLL(None, use_errno=True).syscall
        _libc_syscall.restype = ctypes.c_long
    nr = _NR_PERF_EVENT_OPEN.get(platform.machine())
    if nr is None:
        return -errno.ENOSYS
    buf = ctypes.create_string_buffer(attr, len(attr))
    rc = int(
        _libc_syscall(
            ctypes.c_long(nr),
            buf,
            ctypes.c_int(pid),
            ctypes.c_int(cpu),
            ctypes.c_int(group_fd),
            ctypes.c_ulong(flags),
        )
    )
    return rc if rc >= 0 else -ctypes.get_errno()
