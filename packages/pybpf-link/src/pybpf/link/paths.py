"""Finding the file behind a binary name, the way libbpf's ``resolve_full_path`` does.

A name with a ``/`` is a path and is used as it is. A bare library name
(``libc.so.6``: it ends in ``.so`` or contains ``.so.``) is looked up in
``LD_LIBRARY_PATH``, then ``/usr/lib64:/usr/lib``, then the multiarch
directory of this machine (``/lib/x86_64-linux-gnu``); any other bare name
(``python3``) in ``PATH``, then ``/usr/bin:/usr/sbin``, and must be
executable. Given a process id, the libraries that process has mapped
(``/proc/PID/maps``) are searched first, so that the library found is the
one the process runs.
"""

from __future__ import annotations

import os

from pybpf.link.errors import BinaryNotFoundError

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["resolve_binary_path"]

# Debian's multiarch triplets by machine, for Pythons that do not record
# their own (sysconfig's MULTIARCH); the same list libbpf compiles in.
_MULTIARCH = {
    "x86_64": "x86_64-linux-gnu",
    "i686": "i386-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "mips64": "mips64el-linux-gnuabi64",
    "sparc64": "sparc64-linux-gnu",
}


def resolve_binary_path(name: str | os.PathLike[str], *, pid: int | None = None) -> str:
    """The path of the executable or library ``name``.

    Raises :class:`~pybpf.link.BinaryNotFoundError` (a ``FileNotFoundError``)
    naming what was searched when nothing matches.

    >>> resolve_binary_path("/usr/bin/python3")
    '/usr/bin/python3'
    >>> resolve_binary_path("libc.so.6").endswith("/libc.so.6")
    True
    """
    text = os.fspath(name)
    if "/" in text:
        if not os.path.exists(text):
            raise BinaryNotFoundError(text)
        return text
    if not text:
        raise BinaryNotFoundError(text)
    if pid is not None:
        mapped = _mapped_library(text, pid)
        if mapped is not None:
            return mapped
    library = text.endswith(".so") or ".so." in text
    if library:
        dirs: Iterable[str | None] = _library_dirs()
        mode = os.R_OK
    else:
        dirs = [os.environ.get("PATH"), "/usr/bin:/usr/sbin"]
        mode = os.R_OK | os.X_OK
    searched = []
    for group in dirs:
        for directory in (group or "").split(":"):
            if not directory:
                continue
            searched.append(directory)
            candidate = f"{directory}/{text}"
            if os.access(candidate, mode, effective_ids=os.access in os.supports_effective_ids):
                return candidate
    raise BinaryNotFoundError(text, ":".join(searched))


def _library_dirs() -> Iterator[str | None]:
    """Where a library is looked for, in order; the multiarch one only if still needed."""
    yield os.environ.get("LD_LIBRARY_PATH")
    yield "/usr/lib64:/usr/lib"
    yield _multiarch_dirs()


def _multiarch_dirs() -> str | None:
    import sysconfig  # noqa: PLC0415 (~1 ms, and most lookups are found before it)

    triplet = sysconfig.get_config_var("MULTIARCH") or _MULTIARCH.get(os.uname().machine)
    return f"/lib/{triplet}" if triplet else None


def _mapped_library(name: str, pid: int) -> str | None:
    """The file named ``name`` that process ``pid`` has mapped, reached through its root."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            lines = f.readlines()
    except FileNotFoundError:
        raise BinaryNotFoundError(name, f"/proc/{pid}/maps: no such process") from None
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6:
            continue
        path = fields[5].rstrip("\n")
        if path.startswith("/") and path.rsplit("/", 1)[1] == name:
            return path if _same_root(pid) else f"/proc/{pid}/root{path}"
    return None


def _same_root(pid: int) -> bool:
    """Whether ``pid`` sees our root; if not, its files are reached through its own."""
    try:
        theirs = os.stat(f"/proc/{pid}/root")
    except OSError:
        return False
    ours = os.stat("/")
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)
