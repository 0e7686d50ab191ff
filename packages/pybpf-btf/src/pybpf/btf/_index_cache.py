"""The record index of the kernel's BTF, kept for the rest of the boot.

Finding where each of vmlinux's ~126k type records starts is the one part of
loading it that must touch every record: about 9 ms of Python against 2 ms for
libbpf's whole parse (about 1 ms where pybpf-core's compiled scan is
installed, see :mod:`pybpf.btf.parse`; sorting the names, below, still costs
a few ms). The kernel's BTF cannot change until the next boot (a
module's, until the module is reloaded), so the first process of a boot that
loads it saves the record offsets, each record's name offset and the named
records sorted by name (:mod:`pybpf.btf.name_order`), about 1.3 MB for
vmlinux; later processes map them back in a fraction of a millisecond.

An entry is used only if its key matches (the boot id, the file's path,
size, inode and modification time, and a checksum of the blob's first and
last 64 KiB), its own checksum holds, and the index frames the blob.
Anything unexpected (no cache directory, a foreign owner, a short or stale
file) makes the index be computed as before; caching never turns into an
error.

The checksum is XXH64 where pybpf-core's compiled scan is installed (its
``checksum``: a quarter of the instructions per byte of zlib's CRC-32, and
no zlib to load), else zlib's CRC-32. Which one is part of every key, so an
entry made by the other kind of install is a miss, never misread.

The same directory keeps small per-boot notes of other facts about the
running kernel (:func:`load_note`, :func:`store_note`: what pybpf-core's
feature probes found), under the same rules and keyed by the boot id and the
kernel's build.

Where entries live: ``$PYBPF_CACHE_DIR`` when set (empty disables the cache),
else ``$XDG_RUNTIME_DIR/pybpf``, else ``/run/pybpf`` for root, else
``~/.cache/pybpf``. The runtime directories are emptied at every boot; in
``~/.cache`` an entry of an earlier boot is simply replaced.
"""

from __future__ import annotations

import functools
import os
import stat
import struct
import sys
from array import array
from collections.abc import Sequence

from pybpf.btf import _mapping

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

__all__ = ["RecordIndex", "cache_dir", "load", "load_note", "store", "store_note"]

_MAGIC = b"pybpf-btf-index\n"
_NOTE_MAGIC = b"pybpf-boot-note\n"
_FORMAT = 2
_SAMPLE = 64 * 1024
_BOOT_ID = "/proc/sys/kernel/random/boot_id"

# The word offset of every record; every record's name offset packed as
# native 32-bit words (what RawBTF searches names in); and the named records
# sorted by name, when known (see pybpf.btf.name_order).
RecordIndex: TypeAlias = "tuple[Sequence[int], bytes | memoryview, Sequence[int] | None]"
# Record count, whether the name order follows, its length, the checksum of the rest.
_COUNTS = struct.Struct("=IIIQ")


def cache_dir() -> str | None:
    """The directory index entries go in, or None when caching is off."""
    # Plain strings, not pathlib: every process that loads kernel BTF comes
    # here, and pathlib brings urllib.parse and ipaddress with it.
    chosen = os.environ.get("PYBPF_CACHE_DIR")
    if chosen is not None:
        return chosen or None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "pybpf")
    if os.geteuid() == 0:
        return "/run/pybpf"
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache_home, "pybpf")


def load(path: str, st: os.stat_result, blob: bytes | memoryview) -> RecordIndex | None:
    """The saved index of the BTF file ``path`` (stat ``st``, contents ``blob``), if valid."""
    entry = _entry(path)
    key = _key(path, st, blob)
    if entry is None or key is None:
        return None
    data = _read_entry(entry, mapped=True)
    if data is None:
        return None
    head = _MAGIC + key
    start = len(head) + _COUNTS.size
    if len(data) < start or data[: len(head)] != head:
        return None
    count, has_order, named, check = _COUNTS.unpack(data[len(head) : start])
    if len(data) != start + 8 * count + 4 * named or named > count:
        return None
    # The entry is trusted whole or not at all (~0.1 ms compiled for vmlinux's).
    if _checksum()[1](data[start:]) != check:
        return None
    names_at = start + 4 * count
    order_at = names_at + 4 * count
    by_name = data[order_at:].cast("I") if has_order else None
    return data[start:names_at].cast("I"), data[names_at:order_at], by_name


def store(path: str, st: os.stat_result, blob: bytes | memoryview, index: RecordIndex) -> None:
    """Save ``index`` for the BTF file ``path``; silently skipped when that is not possible."""
    entry = _entry(path, create=True)
    key = _key(path, st, blob)
    if entry is None or key is None:
        return
    offsets, names, by_name = index
    body = [
        array("I", offsets).tobytes(),
        bytes(names),
        array("I", by_name if by_name is not None else ()).tobytes(),
    ]
    named = len(body[2]) // 4
    check = _checksum()[1](b"".join(body))
    counts = _COUNTS.pack(len(offsets), by_name is not None, named, check)
    _write_entry(entry, [_MAGIC + key, counts, *body])


def load_note(name: str) -> bytes | None:
    """The note ``name`` saved earlier in this boot of this kernel, if it is intact."""
    entry = _entry_named(f"note-{name}")
    key = _boot_key()
    if entry is None or key is None:
        return None
    data = _read_entry(entry, mapped=False)
    head = _NOTE_MAGIC + key
    if data is None or len(data) < len(head) + 8 or data[: len(head)] != head:
        return None
    body = bytes(data[len(head) : -8])
    if _checksum()[1](body).to_bytes(8, "little") != data[-8:]:
        return None
    return body


def store_note(name: str, body: bytes) -> None:
    """Save ``body`` as the note ``name`` for the rest of the boot; skipped if not possible."""
    entry = _entry_named(f"note-{name}", create=True)
    key = _boot_key()
    if entry is None or key is None:
        return
    check = _checksum()[1](body).to_bytes(8, "little")
    _write_entry(entry, [_NOTE_MAGIC + key, body, check])


def _read_entry(entry: str, *, mapped: bool) -> memoryview | None:
    """The contents of the entry file, if it is a regular file of this user's."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
            return None
        # Entries are replaced whole, never rewritten in place: mapping one is
        # safe, and cheaper than reading a megabyte into fresh pages.
        data = _mapping.map_fd(fd, info.st_size) if mapped else None
        if data is None:
            data = memoryview(os.read(fd, info.st_size))
    except OSError:
        return None
    finally:
        os.close(fd)
    return data


def _write_entry(entry: str, parts: list[bytes]) -> None:
    """Replace the entry file whole with ``parts`` (a reader never sees half of it)."""
    directory, name = os.path.split(entry)
    temp = os.path.join(directory, f".{name}.{os.getpid()}")
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o600)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.writelines(parts)
        os.replace(temp, entry)
    except OSError:
        import contextlib  # noqa: PLC0415 (only a failed write needs it)

        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _entry(path: str, *, create: bool = False) -> str | None:
    """The entry file for ``path`` in a directory only this user can write, or None."""
    return _entry_named(f"btf-index-{os.path.basename(path)}", create=create)


def _entry_named(name: str, *, create: bool = False) -> str | None:
    """The file ``name`` in a directory only this user can write, or None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        if create:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.lstat(directory)
    except OSError:
        return None
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        return None
    return os.path.join(directory, name)


def _boot_id() -> str | None:
    return _read_boot_id(_BOOT_ID)


@functools.cache
def _read_boot_id(path: str) -> str | None:
    """The boot id: read once per process (a load asks for it twice), without text I/O."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)


def _boot_key() -> bytes | None:
    """What a note must match: this boot of this very kernel build."""
    boot_id = _boot_id()
    if boot_id is None:
        return None
    uname = os.uname()
    fields = (
        _FORMAT,
        _checksum()[0],
        sys.byteorder,
        boot_id,
        uname.release,
        uname.version,
        uname.machine,
    )
    # The version string has spaces: each field goes on a line of its own.
    return "".join(f"{field}\n" for field in fields).encode()


def _key(path: str, st: os.stat_result, blob: bytes | memoryview) -> bytes | None:
    """What an entry must match: this boot, this very file, these contents."""
    boot_id = _boot_id()
    if boot_id is None:
        return None
    view = memoryview(blob)
    name, checksum = _checksum()
    fields = (
        _FORMAT,
        name,
        sys.byteorder,
        boot_id,
        os.fsencode(path).hex(),
        st.st_size,
        st.st_ino,
        st.st_mtime_ns,
        len(view),
        checksum(view[:_SAMPLE]),
        checksum(view[-_SAMPLE:]),
    )
    return " ".join(map(str, fields)).encode() + b"\n"


@functools.cache
def _checksum() -> tuple[str, Callable[[bytes | memoryview], int]]:
    """The whole-entry check this process makes and expects: its name (in keys), its function."""
    # Imported here: parse imports this module.
    from pybpf.btf.parse import _compiled_scan  # noqa: PLC0415

    compiled = _compiled_scan()
    if compiled is not None:
        return "xxh64", compiled.checksum
    import zlib  # noqa: PLC0415 (installs without the compiled scan)

    return "crc32", zlib.crc32
