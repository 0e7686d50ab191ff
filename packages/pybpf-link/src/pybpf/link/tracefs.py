"""The kernel's tracing filesystem: where tracepoints and dynamic probes are named.

Found wherever it is mounted (``/sys/kernel/tracing``, the older
``/sys/kernel/debug/tracing``, or any mount listed in ``/proc/self/mounts``),
and mounted at ``/sys/kernel/tracing`` when it is nowhere and this process
may mount it.
"""

from __future__ import annotations

import errno
import os

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.errors import TracepointNotFoundError

__all__ = ["event_id", "tracefs_path"]

_DEFAULT = "/sys/kernel/tracing"
_DEBUGFS = "/sys/kernel/debug/tracing"
#: What a tracepoint group or name may contain (tracefs directory names).
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

_found: str | None = None


def _mounted() -> str | None:
    """The first tracefs mount listed for this process, if any."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "tracefs":
                    return fields[1].replace("\\040", " ")
    except OSError:
        pass
    return None


def tracefs_path() -> str:
    """Where tracefs is mounted; mounted at ``/sys/kernel/tracing`` if it is nowhere.

    A kernel without tracefs, or a process that may not mount it, raises
    :class:`~pybpf.core.NotSupportedError`.
    """
    global _found  # noqa: PLW0603 (the answer does not change while the process runs)
    if _found is not None and os.path.isdir(os.path.join(_found, "events")):
        return _found
    candidates = [p for p in (_mounted(), _DEFAULT, _DEBUGFS) if p]
    for path in candidates:
        if os.path.isdir(os.path.join(path, "events")):
            _found = path
            return path
    why = f"{_DEFAULT} does not exist"
    if os.path.isdir(_DEFAULT):
        try:
            bpf.mount("tracefs", _DEFAULT, "tracefs", f"mount tracefs at {_DEFAULT}")
        except OSError as e:
            why = str(e)
        else:
            if os.path.isdir(f"{_DEFAULT}/events"):
                _found = _DEFAULT
                return _DEFAULT
            why = f"{_DEFAULT} has no events/ once mounted"
    raise NotSupportedError(
        f"tracefs: not mounted, and mounting it failed ({why}; a kernel without "
        "CONFIG_TRACING, or no CAP_SYS_ADMIN)",
        code=errno.EOPNOTSUPP,
    )


def event_id(group: str, name: str) -> int:
    """The perf event id of tracepoint ``group/name`` (tracefs ``events/G/N/id``).

    An unknown tracepoint raises :class:`~pybpf.link.TracepointNotFoundError`.
    """
    for part, label in ((group, "group"), (name, "name")):
        if not isinstance(part, str):
            raise TypeError(f"tracepoint {label} must be a str, not {type(part).__name__}")
        if not part or not _NAME_CHARS.issuperset(part):
            raise ValueError(f"tracepoint {label} {part!r} is not a tracefs event name")
    path = os.path.join(tracefs_path(), "events", group, name, "id")
    try:
        with open(path) as f:
            return int(f.read())
    except FileNotFoundError:
        raise TracepointNotFoundError(group, name) from None
