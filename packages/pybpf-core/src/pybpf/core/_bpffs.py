"""bpffs paths: where an object may be pinned, checked before the kernel sees the path.

The kernel takes a pin path as a C string: a NUL byte inside it would cut the
path short, so that the pin lands elsewhere and ``unpin()`` then misses it.
Names that come from an object file (``LIBBPF_PIN_BY_NAME`` maps) are joined
to a pin directory: a separator or ``..`` in them would lead out of it. And a
pin outside a bpffs mount is refused by the kernel with a bare ``EPERM``;
saying so up front names the path.
"""

from __future__ import annotations

import os

from pybpf.core.errors import PinPathError

__all__ = ["DEFAULT_PIN_ROOT", "check_path", "join_name"]

#: Where libbpf pins ``LIBBPF_PIN_BY_NAME`` maps when no pin path is given
#: (its ``BPF_FS_DEFAULT_PATH``).
DEFAULT_PIN_ROOT = "/sys/fs/bpf"

#: The filesystem type bpffs has in ``/proc/self/mounts``.
_BPFFS = "bpf"


def check_path(
    path: str | os.PathLike[str], *, name: str = "", kind: str = "map", bpffs: bool = True
) -> str:
    """``path`` as a str, once it is a path the kernel will read as given.

    Refuses a path that is not a ``str``/``os.PathLike[str]``, that holds a
    NUL byte, or (with ``bpffs``) whose directory is not in a bpffs mount.
    """
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"a pin path must be a str or os.PathLike[str], not {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"a pin path must be a str or os.PathLike[str], not {type(text).__name__}")
    if "\0" in text:
        raise PinPathError(text, "contains a NUL byte", name=name, kind=kind)
    if not text:
        raise PinPathError(text, "is empty", name=name, kind=kind)
    if bpffs:
        parent = os.path.dirname(os.path.abspath(text))
        if not in_bpffs(parent):
            raise PinPathError(
                text, f"{parent!r} is not a directory in a bpffs mount", name=name, kind=kind
            )
    return text


def join_name(directory: str | os.PathLike[str], name: str) -> str:
    """The pin path of the object ``name`` (from an object file) under ``directory``.

    The name must be one path component: no ``/``, not ``.`` or ``..``, no NUL.
    """
    where = check_path(directory, name=name, bpffs=False)
    if not name or name in {".", ".."} or "/" in name or "\0" in name:
        raise PinPathError(
            where, "the name is not a single path component, it would pin outside", name=name
        )
    if not in_bpffs(where):
        raise PinPathError(where, "is not a directory in a bpffs mount", name=name)
    return os.path.join(where, name)


def in_bpffs(directory: str) -> bool:
    """Whether ``directory`` exists and lies on a bpffs mount (any mount of one)."""
    try:
        dev = os.stat(directory).st_dev
    except (OSError, ValueError):
        return False
    return dev in _bpffs_devices()


def _bpffs_devices() -> set[int]:
    """The device numbers of this mount namespace's bpffs mounts."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return set()
    devices = set()
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or fields[2] != _BPFFS:
            continue
        try:
            devices.add(os.stat(_unescape(fields[1])).st_dev)
        except OSError:
            continue
    return devices


def _unescape(field: str) -> str:
    r"""A mount point as ``/proc/self/mounts`` writes it: ``\040`` for a space, etc."""
    out = []
    i = 0
    while i < len(field):
        octal = field[i + 1 : i + 4]
        if field[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
