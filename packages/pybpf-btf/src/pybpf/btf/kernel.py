"""The running kernel's BTF: vmlinux and module specs, cached per process.

Only files are read here (``/sys/kernel/btf/*``, or a ``vmlinux`` ELF image on
kernels without sysfs BTF); nothing talks to the kernel.
"""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

from pybpf.btf import _index_cache, _mapping, name_order
from pybpf.btf.spec import Spec, load_spec, read_file_stat

__all__ = ["load_kernel_module_spec", "load_kernel_spec", "vmlinux_candidates"]

SYSFS_BTF = Path("/sys/kernel/btf")

# Where distributions put an uncompressed vmlinux with a .BTF section (libbpf's list).
_VMLINUX_PATHS = (
    "/boot/vmlinux-{release}",
    "/lib/modules/{release}/vmlinux-{release}",
    "/lib/modules/{release}/build/vmlinux",
    "/usr/lib/modules/{release}/kernel/vmlinux",
    "/usr/lib/debug/boot/vmlinux-{release}",
    "/usr/lib/debug/boot/vmlinux-{release}.debug",
    "/usr/lib/debug/lib/modules/{release}/vmlinux",
)


def vmlinux_candidates(release: str | None = None) -> list[Path]:
    """The files ``load_kernel_spec`` tries, in order."""
    release = release or os.uname().release
    return [SYSFS_BTF / "vmlinux"] + [Path(p.format(release=release)) for p in _VMLINUX_PATHS]


@functools.cache
def load_kernel_spec() -> Spec:
    """The running kernel's BTF, loaded once per process (lazily decoded).

    Tries ``/sys/kernel/btf/vmlinux``, then the vmlinux images where distributions
    install them. Do not modify the returned spec: it is shared; build a new one
    with ``Spec.from_types`` instead. ``load_kernel_spec.cache_clear()`` forgets it.
    """
    return load_kernel_spec_uncached()


def load_kernel_spec_uncached() -> Spec:
    """Like :func:`load_kernel_spec`, reading the files again."""
    candidates = vmlinux_candidates()
    for path in candidates:
        if path.parent == SYSFS_BTF and path.exists():
            return _load_sysfs(path, base=None)
        if path.exists():
            return load_spec(path)
    raise FileNotFoundError(
        errno.ENOENT,
        "no kernel BTF found (kernel built without CONFIG_DEBUG_INFO_BTF?); tried "
        + ", ".join(str(p) for p in candidates),
    )


@functools.cache
def load_kernel_module_spec(name: str) -> Spec:
    """A kernel module's BTF (``/sys/kernel/btf/<name>``), split on top of vmlinux's."""
    if name == "vmlinux":
        return load_kernel_spec()
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"bad kernel module name {name!r}")
    path = SYSFS_BTF / name
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"no BTF for kernel module {name!r}", str(path))
    return _load_sysfs(path, base=load_kernel_spec())


def _load_sysfs(path: Path, base: Spec | None) -> Spec:
    """A BTF file of ``/sys/kernel/btf``: mapped where allowed, its index kept for the boot."""
    mapped = _mapping.map_readonly(path)
    data: bytes | memoryview
    data, st = mapped if mapped is not None else read_file_stat(path)
    saved = _index_cache.load(path, st, data)
    spec = Spec.over_raw(data, base=base, index=saved, in_place=True)
    raw = spec._raw
    assert raw is not None
    if (saved is None or raw.offsets is not saved[0]) and _index_cache.cache_dir() is not None:
        # Sorting the names costs more than one process saves: only worth it kept.
        raw.by_name = name_order.build(raw)
        _index_cache.store(path, st, data, raw.record_index(raw.by_name))
    return spec
