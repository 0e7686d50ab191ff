"""The running kernel's BTF: vmlinux and module specs, cached per process.

Only files are read here (``/sys/kernel/btf/*``, or a ``vmlinux`` ELF image on
kernels without sysfs BTF); nothing talks to the kernel.
"""

from __future__ import annotations

import errno
import functools
import os

from pybpf.btf import _index_cache, _mapping, name_order
from pybpf.btf.spec import Spec, load_spec, read_file_stat

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    #: The sysfs directory of the kernel's BTF files.
    SYSFS_BTF: Path

__all__ = [
    "load_boot_note",
    "load_kernel_module_spec",
    "load_kernel_spec",
    "store_boot_note",
    "vmlinux_candidates",
]

# Paths are plain strings here: every process that loads kernel BTF comes
# through this module, and pathlib brings urllib.parse and ipaddress with it.
_SYSFS_BTF = "/sys/kernel/btf"

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


def __getattr__(name: str) -> Path:
    """``SYSFS_BTF``, made on first use (PEP 562)."""
    if name == "SYSFS_BTF":
        from pathlib import Path  # noqa: PLC0415 (the load path needs no pathlib)

        return Path(_SYSFS_BTF)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def vmlinux_candidates(release: str | None = None) -> list[Path]:
    """The files ``load_kernel_spec`` tries, in order."""
    from pathlib import Path  # noqa: PLC0415 (the load path needs no pathlib)

    return [Path(p) for p in _candidate_files(release)]


def _candidate_files(release: str | None = None) -> list[str]:
    release = release or os.uname().release
    images = [p.format(release=release) for p in _VMLINUX_PATHS]
    return [os.path.join(_SYSFS_BTF, "vmlinux"), *images]


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
    candidates = _candidate_files()
    for path in candidates:
        if not os.path.exists(path):
            continue
        if os.path.dirname(path) == _SYSFS_BTF:
            return _load_sysfs(path, base=None)
        return load_spec(path)
    raise FileNotFoundError(
        errno.ENOENT,
        "no kernel BTF found (kernel built without CONFIG_DEBUG_INFO_BTF?); tried "
        + ", ".join(candidates),
    )


@functools.cache
def load_kernel_module_spec(name: str) -> Spec:
    """A kernel module's BTF (``/sys/kernel/btf/<name>``), split on top of vmlinux's."""
    if name == "vmlinux":
        return load_kernel_spec()
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"bad kernel module name {name!r}")
    path = os.path.join(_SYSFS_BTF, name)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, f"no BTF for kernel module {name!r}", path)
    return _load_sysfs(path, base=load_kernel_spec())


def load_boot_note(name: str) -> bytes | None:
    """A note about the running kernel saved by :func:`store_boot_note` in this boot, if any.

    Notes sit next to the kernel BTF index cache, under its rules (see
    :mod:`pybpf.btf._index_cache`): a note of another boot or kernel build,
    a damaged one, or caching turned off (``PYBPF_CACHE_DIR=``) gives None.
    """
    return _index_cache.load_note(_note_name(name))


def store_boot_note(name: str, body: bytes) -> None:
    """Keep ``body`` for the rest of this boot as the note ``name``; skipped when not possible.

    For facts that cannot change until the kernel does (what its loaders
    accept), so that later processes need not find them out again.
    """
    _index_cache.store_note(_note_name(name), body)


def _note_name(name: str) -> str:
    if not (name.isascii() and name.replace("-", "").replace("_", "").isalnum()):
        raise ValueError(f"bad boot note name {name!r} (letters, digits, '-' and '_')")
    return name


def _load_sysfs(path: str | os.PathLike[str], base: Spec | None) -> Spec:
    """A BTF file of ``/sys/kernel/btf``: mapped where allowed, its index kept for the boot."""
    path = os.fspath(path)
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
