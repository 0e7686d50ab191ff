"""The one place that issues bpf(2): cffi, compiled when possible.

The compiled module ``_pybpf_sys`` is built out of line (API mode) by the
distribution's hatch build hook. Where it is missing (no compiler at install
time) or when ``PYBPF_SYS=abi`` is set, the same functions are provided in
cffi's ABI mode through libc's ``syscall(2)``: slower, same behaviour.

Every function returns the syscall's result, or ``-errno``; turning that into
an exception is the caller's job, because only the caller knows what failed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from pybpf.core import _sys_build
from pybpf.core._uapi import Command

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    CData: TypeAlias = Any
    ElemFn: TypeAlias = Callable[[int, int, CData, CData, int], int]
    BatchFn: TypeAlias = Callable[[int, int, CData, CData, CData, CData, CData, int], int]
    BpfFn: TypeAlias = Callable[[int, CData, int], int]
    FastFillFn: TypeAlias = Callable[[dict[Any, Any], int, int, int, int], None]
    NewDictFn: TypeAlias = Callable[[int], dict[Any, Any]]
    CellFn: TypeAlias = Callable[[CData], int]

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


class FDCalls:
    """The owned-descriptor helpers (declared in ``_csrc/pybpf_sys.h``).

    ``bpf_fd(cmd, attr, size, cell)`` issues a command that returns an fd and
    puts it in ``cell`` before returning; ``dup(fd, cell)`` duplicates into
    ``cell``, ``dup_cell(from, cell)`` the same from a held cell;
    ``bpf_held(cmd, attr, size, cell, offset)`` issues a command whose attr
    takes the cell's fd at ``offset``, held for the call; ``hold(cell,
    held)``/``unhold(cell, held)`` keep a cell's number from being freed
    across several calls (``held``, an ``int32_t[1]``, records the hold, so
    that it is released once); ``close`` closes it (1 if this call did),
    ``detach`` gives it up; ``map_elem``/``map_batch`` are the element and
    batch calls on a held cell.
    """

    # A plain class: built once per process, a dataclass would cost more to define.
    __slots__ = (
        "bpf_fd",
        "bpf_held",
        "close",
        "detach",
        "dup",
        "dup_cell",
        "hold",
        "map_batch",
        "map_elem",
        "unhold",
    )

    def __init__(
        self,
        *,
        bpf_fd: Callable[[int, CData, int, CData], int],
        dup: Callable[[int, CData], int],
        dup_cell: Callable[[CData, CData], int],
        bpf_held: Callable[[int, CData, int, CData, int], int],
        hold: Callable[[CData, CData], int],
        unhold: Callable[[CData, CData], None],
        close: CellFn,
        detach: CellFn,
        map_elem: ElemFn,
        map_batch: BatchFn,
    ) -> None:
        self.bpf_fd = bpf_fd
        self.dup = dup
        self.dup_cell = dup_cell
        self.bpf_held = bpf_held
        self.hold = hold
        self.unhold = unhold
        self.close = close
        self.detach = detach
        self.map_elem = map_elem
        self.map_batch = map_batch


def _load_compiled() -> tuple[Any, Any, BpfFn, ElemFn, BatchFn, Any, FDCalls] | None:
    if os.environ.get("PYBPF_SYS", "") == "abi":
        return None
    try:
        import _pybpf_sys  # noqa: PLC0415 (optional: absent without a compiler)
    except ImportError:
        return None
    lib = _pybpf_sys.lib
    if _installed_apart(_pybpf_sys.__file__) and (
        getattr(lib, "PYBPF_SYS_HASH", None) != _sys_build.source_hash()
    ):
        import warnings  # noqa: PLC0415 (only this warning needs it)

        warnings.warn(
            "pybpf: the compiled _pybpf_sys is stale (built from other sources); "
            "reinstall pybpf-core. Falling back to cffi ABI mode.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return (
        _pybpf_sys.ffi,
        lib,
        lib.pybpf_bpf,
        lib.pybpf_map_elem,
        lib.pybpf_map_batch,
        _load_fast(_pybpf_sys.__file__),
        _compiled_fd_calls(lib),
    )


def _installed_apart(module_file: str) -> bool:
    """Whether the compiled module and these sources can differ: not one install.

    A wheel puts ``_pybpf_sys`` beside the ``pybpf`` directory that holds these
    sources, both written by one install, so they cannot part until the next
    one. An editable install (a development checkout) imports the sources from
    the checkout and the module from the environment: an edit there makes the
    module stale, which only its source hash tells. Hashing reads ~56 KB of C
    and headers, so a wheel's processes skip it.
    """
    package_root = os.path.dirname(os.path.dirname(_sys_build.HERE))
    return os.path.dirname(os.path.realpath(module_file)) != package_root


def _load_fast(path: str, name: str = _sys_build.FAST_MODULE) -> Any:
    """A further module of the compiled library: plain CPython functions, no cffi."""
    import _pybpf_sys  # noqa: PLC0415 (imported already: only its import machinery is wanted)

    # The loader and spec classes that imported _pybpf_sys (importlib.machinery's
    # ExtensionFileLoader and ModuleSpec) without importing importlib, which
    # brings warnings: a load needs neither otherwise.
    loader = type(_pybpf_sys.__loader__)(name, path)
    spec = type(_pybpf_sys.__spec__)(name, loader, origin=path)
    module = loader.create_module(spec)
    module.__spec__, module.__loader__ = spec, loader
    loader.exec_module(module)
    return module


def _load_abi() -> tuple[Any, Any, BpfFn, ElemFn, BatchFn]:
    # Imported here, as below: only ABI mode needs them.
    import threading  # noqa: PLC0415

    import cffi  # type: ignore[import-untyped]  # noqa: PLC0415

    abi = cffi.FFI()
    abi.cdef(_sys_build.abi_cdef())
    libc: Any = abi.dlopen(None)
    machine = os.uname().machine
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
    elem_type = "struct pybpf_attr_map_elem_ptr *" if by_pointer else "struct pybpf_attr_map_elem *"
    elem_size = abi.sizeof("struct pybpf_attr_map_elem")

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
        attr = abi.new("struct pybpf_attr_map_batch *")
        attr.in_batch = addr(in_batch)
        attr.out_batch = addr(out_batch)
        attr.keys = addr(keys)
        attr.values = addr(values)
        attr.count = count[0]
        attr.map_fd = fd & 0xFFFFFFFF
        attr.elem_flags = elem_flags
        rc = bpf(cmd, attr, abi.sizeof("struct pybpf_attr_map_batch"))
        count[0] = attr.count
        return rc if rc < 0 else 0

    return abi, libc, bpf, map_elem, map_batch


def _compiled_fd_calls(lib: Any) -> FDCalls:
    return FDCalls(
        bpf_fd=lib.pybpf_bpf_fd,
        dup=lib.pybpf_fd_dup,
        dup_cell=lib.pybpf_fd_dup_cell,
        bpf_held=lib.pybpf_bpf_held,
        hold=lib.pybpf_fd_hold,
        unhold=lib.pybpf_fd_unhold,
        close=lib.pybpf_fd_close,
        detach=lib.pybpf_fd_detach,
        map_elem=lib.pybpf_fd_map_elem,
        map_batch=lib.pybpf_fd_map_batch,
    )


class _signals_held:
    """On the main thread, hold signals back: their Python handlers run after the block.

    A plain class, not ``contextlib.contextmanager``: only ABI mode uses it,
    and a load on the compiled module imports no contextlib.
    """

    __slots__ = ("_old",)

    def __enter__(self) -> None:
        import threading  # noqa: PLC0415

        self._old: set[int] | None = None
        if threading.current_thread() is not threading.main_thread():
            return
        # Imported here: only ABI mode holds signals, and the signal module builds
        # its enums when imported, which a process on the compiled module skips.
        import signal  # noqa: PLC0415

        # Read the mask before changing it: blocking runs pending handlers, and
        # one that raises must not leave the mask changed.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            raise
        self._old = old

    def __exit__(self, *exc_info: object) -> None:
        if self._old is not None:
            import signal  # noqa: PLC0415

            signal.pthread_sigmask(signal.SIG_SETMASK, self._old)


def _abi_fd_calls(abi: Any, bpf: BpfFn, map_elem: ElemFn, map_batch: BatchFn) -> FDCalls:
    """The same helpers in Python, for ABI mode.

    A lock stands in for the atomics, and signals are held back on the main
    thread for each whole helper, as no Python code runs inside the C ones.
    (A signal that another thread takes can still run its handler inside:
    ABI mode is the fallback, not the reference.)
    """
    import fcntl  # noqa: PLC0415
    import threading  # noqa: PLC0415

    lock = threading.Lock()
    closed, kept = _sys_build.FD_CLOSED, _sys_build.FD_KEPT

    def acquire(cell: CData) -> int:
        with lock:
            state = cell.state
            if state & closed:
                return -1
            cell.state = state + 1
            return int(cell.fd)

    def release(cell: CData) -> None:
        with lock:
            cell.state -= 1
            last = cell.state == closed
        if last and cell.fd >= 0:
            os.close(cell.fd)

    def own(cell: CData, fd: int) -> int:
        if fd == 0:
            moved = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 1)
            os.close(0)
            fd = moved
        cell.fd = fd
        return fd

    def bpf_fd(cmd: int, attr: CData, size: int, cell: CData) -> int:
        with _signals_held():
            rc = bpf(cmd, attr, size)
            return own(cell, rc) if rc >= 0 else rc

    def dup_number(fd: int, cell: CData) -> int:
        try:
            return own(cell, fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1))
        except OSError as exc:
            return -(exc.errno or errno.EBADF)

    def dup(fd: int, cell: CData) -> int:
        with _signals_held():
            return dup_number(fd, cell)

    def held(call: Callable[[int], int], cell: CData) -> int:
        """``call(fd)`` with the cell's number held, or -EBADF once closed."""
        with _signals_held():
            fd = acquire(cell)
            if fd < 0:
                return -errno.EBADF
            try:
                return call(fd)
            finally:
                release(cell)

    def dup_cell(source: CData, cell: CData) -> int:
        return held(lambda fd: dup_number(fd, cell), source)

    def bpf_held(cmd: int, attr: CData, size: int, cell: CData, offset: int) -> int:
        def call(fd: int) -> int:
            abi.cast("int32_t *", abi.cast("char *", attr) + offset)[0] = fd
            return bpf(cmd, attr, size)

        return held(call, cell)

    def held_elem(cmd: int, cell: CData, key: CData, value: CData, flags: int) -> int:
        return held(lambda fd: map_elem(cmd, fd, key, value, flags), cell)

    def held_batch(  # noqa: PLR0917 (mirrors the C helper)
        cmd: int,
        cell: CData,
        in_batch: CData,
        out_batch: CData,
        keys: CData,
        values: CData,
        count: CData,
        elem_flags: int,
    ) -> int:
        return held(
            lambda fd: map_batch(cmd, fd, in_batch, out_batch, keys, values, count, elem_flags),
            cell,
        )

    def hold(cell: CData, flag: CData) -> int:
        with _signals_held():
            fd = acquire(cell)
            if fd >= 0:
                flag[0] = 1
            return fd

    def unhold(cell: CData, flag: CData) -> None:
        with _signals_held():
            if flag[0]:
                flag[0] = 0
                release(cell)

    def close(cell: CData) -> int:
        with _signals_held():
            with lock:
                state = cell.state
                if state & closed:
                    return 0
                cell.state = state | closed
            if state == 0 and cell.fd >= 0:
                os.close(cell.fd)
            return 1 if cell.fd >= 0 else 0

    def detach(cell: CData) -> int:
        with lock:
            state = cell.state
            cell.state = state | closed | kept
        return -1 if state & closed else int(cell.fd)

    return FDCalls(
        bpf_fd=bpf_fd,
        dup=dup,
        dup_cell=dup_cell,
        bpf_held=bpf_held,
        hold=hold,
        unhold=unhold,
        close=close,
        detach=detach,
        map_elem=held_elem,
        map_batch=held_batch,
    )


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
#: The owned-descriptor helpers of this mode.
fd_calls: FDCalls
#: The C functions declared beside the helpers (``mmap``, ``munmap``): the
#: compiled module's, or libc's in ABI mode.
libc: Any
if _compiled is not None:
    ffi, libc, bpf, map_elem, map_batch, fast, fd_calls = _compiled
    fast_fill, new_dict = fast.fill, fast.new_dict
else:
    ffi, libc, bpf, map_elem, map_batch = _load_abi()
    fd_calls = _abi_fd_calls(ffi, bpf, map_elem, map_batch)
NULL: CData = ffi.NULL

if TYPE_CHECKING:
    #: The event readers' consume loops (``ring_read``, ``perf_read``, ``load``,
    #: ``store`` and ``PerfRecord``), compiled alongside; None in ABI mode, where
    #: the readers use the same loops in Python (:mod:`pybpf.core._consume`).
    readers: Any
else:
    from pybpf.asm.exports import lazy_value

    def _readers():
        """``readers``, loaded by its first reader (PEP 562): loads, maps and links need none."""
        return None if fast is None else _load_fast(fast.__file__, _sys_build.READERS_MODULE)

    __getattr__ = lazy_value(globals(), "readers", _readers)


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
    nr = _NR_PERF_EVENT_OPEN.get(os.uname().machine)
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


def mmap(address: int, size: int, prot: int, flags: int, fd: int, *, offset: int = 0) -> int:
    """Map ``fd`` at ``address`` (0: where the kernel likes): the mapping's address, or -errno.

    mmap(2), for what Python's :mod:`mmap` cannot do: map at a given address.
    """
    hint = ffi.cast("void *", address) if address else NULL
    got = int(ffi.cast("intptr_t", libc.mmap(hint, size, prot, flags, fd, offset)))
    return got if got != -1 else -ffi.errno


def munmap(address: int, size: int) -> int:
    """Unmap ``size`` bytes at ``address`` (munmap(2)): 0, or -errno."""
    rc = int(libc.munmap(ffi.cast("void *", address), size))
    return rc if rc == 0 else -ffi.errno


def mapped_view(address: int, size: int) -> memoryview:
    """A writable byte view of the ``size`` bytes mapped at ``address``, which it then owns.

    Every view made from it keeps the mapping: it is unmapped after the last.
    """
    unmap = libc.munmap
    owner = ffi.gc(ffi.cast("void *", address), lambda p: unmap(p, size), size)
    return memoryview(ffi.buffer(owner, size)).cast("B")
