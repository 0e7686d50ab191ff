"""Why the kernel refused (EPERM/EACCES): what this process really lacks.

The kernel's answer is one errno for many causes. The hint names the cause it
can see from here: the capabilities missing from the effective set
(``CapEff`` in ``/proc/self/status``), ``kernel.unprivileged_bpf_disabled``,
RLIMIT_MEMLOCK where the kernel charges it, or a path that is not on bpffs.
It never names a capability the process already holds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from pybpf.core import _rlimit

__all__ = ["effective_capabilities", "on_bpffs", "permission_hint"]

#: Capability numbers (``include/uapi/linux/capability.h``) the bpf(2) checks use.
CAPABILITIES: Final = {
    "CAP_NET_ADMIN": 12,
    "CAP_SYS_ADMIN": 21,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
}

_STATUS = "/proc/self/status"
_UNPRIVILEGED = "/proc/sys/kernel/unprivileged_bpf_disabled"
_MOUNTINFO = "/proc/self/mountinfo"


def effective_capabilities() -> frozenset[str] | None:
    """The capabilities bpf(2) checks that this thread holds; None if unknown."""
    try:
        with open(_STATUS, encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    mask = int(line.split()[1], 16)
                    return frozenset(n for n, bit in CAPABILITIES.items() if mask >> bit & 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _unprivileged_bpf_disabled() -> int | None:
    try:
        with open(_UNPRIVILEGED, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _missing(needs: Sequence[str], caps: frozenset[str]) -> list[str]:
    # CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (kernels before 5.8
    # know only it, and later ones still accept it).
    out = []
    for cap in needs:
        if cap in caps or (cap in ("CAP_BPF", "CAP_PERFMON") and "CAP_SYS_ADMIN" in caps):
            continue
        out.append(cap)
    return out


def permission_hint(needs: Sequence[str] = ("CAP_BPF",)) -> str:
    """What most likely made the kernel refuse an operation that ``needs`` these capabilities."""
    caps = effective_capabilities()
    if caps is None:
        return f"bpf(2) needs {' and '.join(needs)} (or root)"
    missing = _missing(needs, caps)
    if _missing(("CAP_BPF",), caps):
        disabled = _unprivileged_bpf_disabled()
        if disabled:
            return (
                f"unprivileged bpf(2) is disabled (kernel.unprivileged_bpf_disabled={disabled}) "
                f"and this process lacks {' and '.join(missing or ['CAP_BPF'])}"
            )
    if missing:
        return f"this needs {' and '.join(missing)}, which this process lacks"
    memlock = _rlimit.memlock_hint()
    if memlock:
        return memlock
    held = ", ".join(sorted(c for c in caps if c in ("CAP_BPF", "CAP_SYS_ADMIN", *needs)))
    return (
        f"not for lack of privileges (this process holds {held}): the kernel refused for "
        "another reason, such as a security module, lockdown, or a feature this kernel "
        "build disallows"
    )


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def on_bpffs(path: str | os.PathLike[str]) -> bool | None:
    """Whether ``path`` (or, if it does not exist yet, its directory) lies on a bpffs mount.

    None when the mount table cannot be read.
    """
    target = os.path.realpath(path)
    if not os.path.exists(target):
        target = os.path.dirname(target)
    best, fstype = "", ""
    try:
        with open(_MOUNTINFO, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if " - " not in line or len(fields) < 5:
                    continue
                mount = _unescape(fields[4])
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best = mount
                    fstype = line.split(" - ", 1)[1].split()[0]
    except OSError:
        return None
    return fstype == "bpf"
