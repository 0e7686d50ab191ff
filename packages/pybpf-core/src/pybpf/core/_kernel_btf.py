"""BTF objects the kernel holds, by id: vmlinux, modules, and loaded BTF.

``BPF_BTF_GET_NEXT_ID`` walks them, ``BPF_BTF_GET_FD_BY_ID`` opens one and
``BPF_OBJ_GET_INFO_BY_FD`` says what it is (name, whether the kernel's own)
and hands its raw bytes back. Parsed specs are cached per process by BTF id
(ids are not reused while the kernel runs); file descriptors never are: a
:class:`ModuleBTFs` is opened for one load, as libbpf's ``load_module_btfs``
does per object, and closes each descriptor it opened exactly once.
A module's BTF is split BTF: it is parsed on top of vmlinux's.
"""

from __future__ import annotations

# _thread's lock, not threading's (the same lock): threading costs every load an import.
import _thread
import errno
from collections.abc import Iterable, Iterator

from pybpf.btf import Spec, load_kernel_spec
from pybpf.core import _cmds, _sys
from pybpf.core._closing import Closing
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError, BPFPermissionError, LimitError
from pybpf.core.fd import FD

__all__ = [
    "BTFInfo",
    "ModuleBTF",
    "ModuleBTFs",
    "btf_ids",
    "btf_info",
    "btf_spec_by_id",
    "open_btf",
    "read_btf",
]

#: Room for a BTF object's name: module names are at most 56 bytes.
_NAME_LEN = 64


class BTFInfo:
    """What ``BPF_OBJ_GET_INFO_BY_FD`` says about a BTF object."""

    # Plain classes here and in ModuleBTF: this module is imported by every
    # load, and a dataclass compiles its methods when it is defined.
    __slots__ = ("id", "kernel_btf", "name", "size")

    def __init__(self, id: int, name: str, kernel_btf: bool, size: int) -> None:
        self.id = id
        #: The module's name for kernel BTF ("vmlinux" for the kernel's own), "" otherwise.
        self.name = name
        #: True for the kernel's and modules' BTF, False for BTF loaded by user space.
        self.kernel_btf = kernel_btf
        #: The size of the raw BTF in bytes.
        self.size = size

    def __repr__(self) -> str:
        return (
            f"BTFInfo(id={self.id}, name={self.name!r}, "
            f"kernel_btf={self.kernel_btf}, size={self.size})"
        )


def btf_ids() -> Iterator[int]:
    """Every BTF object's id, in increasing order (``BPF_BTF_GET_NEXT_ID``)."""
    cur = 0
    while True:
        nxt = _cmds.get_next_id(Command.BTF_GET_NEXT_ID, cur)
        if nxt is None:
            return
        yield nxt
        cur = nxt


def open_btf(btf_id: int) -> FD:
    """A descriptor of the BTF object with id ``btf_id`` (``BPF_BTF_GET_FD_BY_ID``)."""
    return _cmds.get_fd_by_id(Command.BTF_GET_FD_BY_ID, btf_id, 0, "open BTF id")


def btf_info(fd: FD, *, with_name: bool = True) -> BTFInfo:
    """What the BTF object behind ``fd`` is.

    Kernels before 5.11 know neither names nor kernel BTF objects: they refuse
    the name buffer (``E2BIG``); ``with_name=False`` leaves it out.
    """
    ffi = _sys.ffi
    info = _cmds.new_info("btf")
    name = ffi.new("char[]", _NAME_LEN)
    if with_name:
        info.name = _sys.addr(name)
        info.name_len = _NAME_LEN
    try:
        _cmds.obj_info(fd, info, f"BTF fd {fd.number}")
    except LimitError as exc:
        if not with_name or exc.errno != errno.E2BIG:
            raise
        return btf_info(fd, with_name=False)  # the kernel's answer: no names before 5.11
    return BTFInfo(
        id=int(info.id),
        name=ffi.string(name).decode("utf-8", "replace") if with_name else "",
        kernel_btf=bool(info.kernel_btf),
        size=int(info.btf_size),
    )


def read_btf(fd: FD, size: int) -> bytes:
    """The raw BTF (``size`` bytes, from :func:`btf_info`) of the object behind ``fd``."""
    ffi = _sys.ffi
    buf = ffi.new("uint8_t[]", max(size, 1))
    info = _cmds.new_info("btf")
    info.btf = _sys.addr(buf)
    info.btf_size = size
    _cmds.obj_info(fd, info, f"BTF fd {fd.number}")
    return bytes(ffi.buffer(buf, min(size, int(info.btf_size))))


# Parsed specs by BTF id. The kernel's own BTF objects (vmlinux, modules)
# live as long as the kernel or the module; loaded BTF as long as what uses
# it: only the last few of those are kept. The kernel never reuses a BTF id,
# so each walk of the ids (ModuleBTFs) drops the specs of the ones gone.
_specs: dict[int, tuple[Spec | None, Spec]] = {}
_loaded: list[int] = []
_LOADED_KEPT = 16
_lock = _thread.allocate_lock()


def btf_spec_by_id(btf_id: int, fd: FD | None = None, info: BTFInfo | None = None) -> Spec:
    """The parsed BTF of the object with id ``btf_id``, cached per process.

    Module BTF is parsed on top of vmlinux's (split BTF), vmlinux's is
    :func:`~pybpf.btf.load_kernel_spec`'s, BTF loaded by user space stands
    alone. ``fd`` (an open descriptor of that object) and ``info`` spare
    opening it again.
    """
    with _lock:
        cached = _specs.get(btf_id)
    if cached is not None:
        base, spec = cached
        if base is None or base is _vmlinux_or_none():
            return spec
    if fd is None:
        with open_btf(btf_id) as own:
            return btf_spec_by_id(btf_id, own, info)
    if info is None:
        info = _info_or_unnamed(fd)
    if info.kernel_btf and info.name == "vmlinux":
        return load_kernel_spec()
    base = load_kernel_spec() if info.kernel_btf else None
    spec = Spec.from_bytes(read_btf(fd, info.size), base=base)
    with _lock:
        _specs[btf_id] = (base, spec)
        if not info.kernel_btf:
            _loaded.append(btf_id)
            while len(_loaded) > _LOADED_KEPT:
                _specs.pop(_loaded.pop(0), None)
    return spec


def _forget_all_but(live: Iterable[int]) -> None:
    """Drop the cached specs of BTF objects not in ``live`` (unloaded modules, freed BTF)."""
    keep = set(live)
    with _lock:
        for btf_id in [i for i in _specs if i not in keep]:
            del _specs[btf_id]
        _loaded[:] = [i for i in _loaded if i in keep]


def _vmlinux_or_none() -> Spec | None:
    try:
        return load_kernel_spec()
    except (OSError, ValueError):
        return None


def _info_or_unnamed(fd: FD) -> BTFInfo:
    try:
        return btf_info(fd)
    except LimitError:
        return btf_info(fd, with_name=False)


class ModuleBTF:
    """One kernel module's BTF, open for the length of a load."""

    __slots__ = ("fd", "id", "name", "size")

    def __init__(self, name: str, id: int, fd: FD, size: int) -> None:
        self.name = name
        self.id = id
        self.fd = fd
        self.size = size

    def __repr__(self) -> str:
        return f"ModuleBTF(name={self.name!r}, id={self.id}, fd={self.fd!r}, size={self.size})"

    @property
    def spec(self) -> Spec:
        """The module's types, split on top of vmlinux's."""
        info = BTFInfo(self.id, self.name, kernel_btf=True, size=self.size)
        return btf_spec_by_id(self.id, self.fd, info)


class ModuleBTFs(Closing):
    """The BTF of every loaded kernel module, opened at first use.

    What libbpf's ``load_module_btfs`` gathers once per object: one open
    descriptor per module, kept until :meth:`close` (or the end of a ``with``
    block) closes each of them, once. A kernel without module BTF (before
    5.11), or a caller not allowed to walk BTF objects, has none.
    """

    def __init__(self) -> None:
        self._modules: list[ModuleBTF] | None = None

    def __iter__(self) -> Iterator[ModuleBTF]:
        if self._modules is None:
            self._modules = []
            self._open_all(self._modules)
        return iter(self._modules)

    @staticmethod
    def _open_all(out: list[ModuleBTF]) -> None:
        try:
            ids = list(btf_ids())
        except BPFPermissionError:
            return  # as libbpf: no privilege to walk BTF objects, no modules
        _forget_all_but(ids)
        for btf_id in ids:
            try:
                fd = open_btf(btf_id)
            except BPFError as exc:
                if exc.errno == errno.ENOENT:
                    continue  # unloaded meanwhile
                raise
            try:
                info = btf_info(fd)
            except LimitError:
                fd.close()
                return  # no names: a kernel from before module BTF
            except BaseException:
                fd.close()
                raise
            if not info.kernel_btf or info.name == "vmlinux":
                fd.close()
                continue
            out.append(ModuleBTF(info.name, info.id, fd, info.size))

    def specs(self) -> Iterator[Spec]:
        """Each module's spec, in module order; nothing is opened before the first is asked for.

        What CO-RE takes after vmlinux's spec: modules are read only for a
        type vmlinux lacks.
        """
        for module in self:
            yield module.spec

    @property
    def opened(self) -> bool:
        """Whether the modules were looked up (and descriptors may be open)."""
        return self._modules is not None

    def close(self) -> None:
        """Close every module's descriptor; the object then has no modules."""
        for mod in self._modules or ():
            mod.fd.close()
        self._modules = []
