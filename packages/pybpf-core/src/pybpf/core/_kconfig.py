"""The ``.kconfig`` map's contents: the running kernel's configuration.

As libbpf fills ``__kconfig`` externs: ``LINUX_KERNEL_VERSION`` from
``uname``, ``LINUX_HAS_SYSCALL_WRAPPER`` from the kernel's symbols, and
``CONFIG_*`` from ``/boot/config-$(uname -r)`` or ``/proc/config.gz``. Each
value is read as its BTF type says: a ``bool`` takes ``y``/``n``, an ``enum
libbpf_tristate`` ``y``/``n``/``m`` (1, 0, 2), an integer a decimal or hex
number, a ``char[N]`` a quoted string. A weak extern the kernel lacks stays 0;
a strong one is an error.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from typing import IO

from pybpf.btf import Array, Enum, Int, IntEncoding, Type, underlying
from pybpf.core import _externs
from pybpf.core.errors import BPFError, NotSupportedError
from pybpf.elf import ProgramType
from pybpf.elf.spec import ByteOrder, VariableSpec

__all__ = ["config_paths", "fill", "kernel_version", "read_config"]

_TRISTATE = {"y": 1, "n": 0, "m": 2}


def config_paths() -> list[str]:
    """Where the running kernel's configuration may be, in libbpf's order."""
    return [f"/boot/config-{os.uname().release}", "/proc/config.gz"]


@functools.cache
def read_config(path: str | None = None) -> dict[str, str] | None:
    """``CONFIG_*`` name to raw value (``y``, ``m``, ``100``, ``"str"``), or None if absent."""
    for candidate in [path] if path else config_paths():
        try:
            with _open_text(candidate) as f:
                text = f.read()
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                name, _, value = line.partition("=")
                out[name] = value
        return out
    return None


def _open_text(path: str) -> IO[str]:
    if path.endswith(".gz"):
        import gzip  # noqa: PLC0415 (only read where /boot has no config)

        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def kernel_version(release: str | None = None) -> int:
    """``KERNEL_VERSION(a, b, c)`` of the running kernel (``c`` capped at 255, as libbpf does)."""
    release = release or os.uname().release
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if m is None:
        return 0
    a, b, c = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return (a << 16) | (b << 8) | min(c, 255)


_ARCH_PREFIX = {
    "x86_64": "__x64_",
    "aarch64": "__arm64_",
    "s390x": "__s390x_",
    "riscv64": "__riscv_",
    "ppc64le": "",
    "i686": "__ia32_",
}


def has_syscall_wrapper() -> bool:
    """Whether syscalls are reached through ``__<arch>_sys_*`` wrappers."""
    prefix = _ARCH_PREFIX.get(os.uname().machine, "")
    if not prefix:
        return False
    try:
        return f"{prefix}sys_bpf" in _externs.kallsyms()
    except OSError:
        return False


def has_bpf_cookie() -> bool:
    """Whether tracing programs may call ``bpf_get_attach_cookie`` (libbpf's FEAT_BPF_COOKIE)."""
    # Imported here: features imports the program layer, and the helper ids
    # (a ~200-member enum) are needed only by this probe.
    from pybpf.asm import Helper  # noqa: PLC0415
    from pybpf.core import features  # noqa: PLC0415

    try:
        features.have_helper(ProgramType.TRACEPOINT, Helper.get_attach_cookie)
    except NotSupportedError:
        return False
    return True


def _error(name: str, reason: str, code: int = errno.EINVAL) -> BPFError:
    """The error, with libbpf's errno: ``EINVAL`` for what it cannot take, ``ESRCH`` if unset."""
    return BPFError(code, f"kconfig extern {name!r}", reason=reason)


def _encode(var: VariableSpec, raw: str, order: ByteOrder) -> bytes:
    t: Type | None = underlying(var.type) if var.type is not None else None
    size = var.size
    if isinstance(t, Enum) and t.name == "libbpf_tristate":
        if raw not in _TRISTATE:
            raise _error(var.name, f"value {raw!r} is not a tristate (y/n/m)")
        return _TRISTATE[raw].to_bytes(size, order)
    if isinstance(t, Int) and t.encoding & IntEncoding.BOOL:
        if raw not in ("y", "n"):
            raise _error(var.name, f"value {raw!r} is not a bool (y/n)")
        return (1 if raw == "y" else 0).to_bytes(size, order)
    if isinstance(t, Array):
        if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
            raise _error(var.name, f"value {raw!r} is not a string")
        data = raw[1:-1].encode()[: size - 1]
        return data + b"\0" * (size - len(data))
    if isinstance(t, Int | Enum):
        signed = bool(isinstance(t, Int) and t.encoding & IntEncoding.SIGNED)
        if raw in _TRISTATE and raw != "m":
            value = _TRISTATE[raw]
        else:
            try:
                value = int(raw, 0)
            except ValueError:
                raise _error(var.name, f"value {raw!r} is not a number") from None
        try:
            return value.to_bytes(size, order, signed=signed)
        except OverflowError:
            raise _error(var.name, f"value {raw!r} does not fit in {size} bytes") from None
    raise _error(var.name, f"unsupported type {t!r}")


def fill(value: bytes, variables: list[VariableSpec], weak: set[str], order: ByteOrder) -> bytes:
    """The ``.kconfig`` value with every extern of ``variables`` set (``weak`` may be missing)."""
    out = bytearray(value)
    config: dict[str, str] | None = None
    for var in variables:
        data: bytes | None = None
        if var.name == "LINUX_KERNEL_VERSION":
            data = kernel_version().to_bytes(var.size, order)
        elif var.name == "LINUX_HAS_SYSCALL_WRAPPER":
            data = int(has_syscall_wrapper()).to_bytes(var.size, order)
        elif var.name == "LINUX_HAS_BPF_COOKIE":
            data = int(has_bpf_cookie()).to_bytes(var.size, order)
        elif var.name.startswith("CONFIG_"):
            if config is None:
                config = read_config()
            raw = None if config is None else config.get(var.name)
            if raw is not None:
                data = _encode(var, raw, order)
            elif var.name not in weak:
                if config is not None:
                    raise _error(var.name, "not found in the kernel's config", errno.ESRCH)
                # libbpf fails to read the config, which it reports as EINVAL.
                raise _error(var.name, f"no kernel config: {' or '.join(config_paths())}")
        elif var.name not in weak:
            raise _error(var.name, "unknown LINUX_ extern")
        if data is not None:
            out[var.offset : var.offset + var.size] = data
    return bytes(out)
