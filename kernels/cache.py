"""Where fetched kernels live on this machine, and how a cached entry proves it is whole.

Layout under the cache root (outside the repo, reused across runs and checkouts)::

    apt/<row>/        the row's private apt configuration, lists and status
    debs/             downloaded .deb files, shared by every row
    entries/<row>/    the extracted kernel: tree/ and entry.json

entry.json is written last, after everything it describes was checked, so an
entry without it (an interrupted fetch) or whose files no longer match it (a
disk that lost data, a hand edit) is not whole and is fetched again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENTRY_FORMAT = 1
# Every x86 bzImage carries this magic at this offset (the setup header).
BZIMAGE_MAGIC = b"HdrS"
BZIMAGE_MAGIC_OFFSET = 0x202


def root() -> Path:
    """The cache root: $PYBPF_KERNEL_CACHE, else $XDG_CACHE_HOME/pybpf/kernels."""
    explicit = os.environ.get("PYBPF_KERNEL_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base).expanduser() / "pybpf" / "kernels").resolve()


def entry_dir(row: str) -> Path:
    """The folder of one row's extracted kernel."""
    return root() / "entries" / row


def apt_dir(row: str) -> Path:
    """The folder of one row's private apt state."""
    return root() / "apt" / row


def debs_dir() -> Path:
    """The folder downloaded .deb files are kept in."""
    return root() / "debs"


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file's contents."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_bzimage(path: Path) -> bool:
    """Whether `path` looks like a bootable x86 kernel image."""
    try:
        with path.open("rb") as f:
            f.seek(BZIMAGE_MAGIC_OFFSET)
            return f.read(len(BZIMAGE_MAGIC)) == BZIMAGE_MAGIC
    except OSError:
        return False


@dataclass
class Package:
    """One .deb that went into an entry."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int


@dataclass
class Entry:
    """What was fetched for a row; paths are relative to the entry folder."""

    row: str
    release: str
    version: str
    suites: list[str]
    vmlinuz: str
    vmlinuz_sha256: str
    modules: str
    config: str
    fetched_at: str
    packages: list[Package] = field(default_factory=list)
    format: int = ENTRY_FORMAT

    def path(self, relative: str) -> Path:
        """An entry-relative path made absolute."""
        return entry_dir(self.row) / relative

    @property
    def base(self) -> Path:
        """The extracted tree, as `depmod -b` and `modprobe -d` want it."""
        return entry_dir(self.row) / "tree"

    def problems(self) -> list[str]:
        """Why this entry cannot be used; empty when it is whole."""
        found = []
        vmlinuz = self.path(self.vmlinuz)
        if not is_bzimage(vmlinuz):
            found.append(f"{vmlinuz} is missing or not a bzImage")
        elif sha256_file(vmlinuz) != self.vmlinuz_sha256:
            found.append(f"{vmlinuz} does not match its recorded SHA-256")
        if not (self.path(self.modules) / "modules.dep").is_file():
            found.append(f"{self.path(self.modules)}/modules.dep is missing")
        if not self.path(self.config).is_file():
            found.append(f"{self.path(self.config)} is missing")
        return found

    def kconfig(self) -> dict[str, str]:
        """The kernel's build configuration: CONFIG_X -> value."""
        options = {}
        for line in self.path(self.config).read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("CONFIG_"):
                options[key] = value.strip('"')
        return options


def write_entry(entry: Entry, folder: Path) -> None:
    """Record `entry` in `folder`, atomically."""
    tmp = folder / "entry.json.tmp"
    tmp.write_text(json.dumps(asdict(entry), indent=2) + "\n")
    os.replace(tmp, folder / "entry.json")


def read_entry(row: str) -> Entry | None:
    """The recorded entry of `row`, or None when there is none or it is unreadable."""
    try:
        raw = json.loads((entry_dir(row) / "entry.json").read_text())
        if not isinstance(raw, dict) or raw.get("format") != ENTRY_FORMAT:
            return None
        raw["packages"] = [Package(**p) for p in raw.get("packages", [])]
        entry = Entry(**raw)
    except (OSError, ValueError, TypeError):
        return None
    paths = (entry.release, entry.vmlinuz, entry.vmlinuz_sha256, entry.modules, entry.config)
    if not all(isinstance(p, str) for p in paths):
        return None
    # An entry recorded for another row (a folder copied by hand) is not this row's.
    return entry if entry.row == row else None


@contextlib.contextmanager
def locked(row: str) -> Iterator[None]:
    """Hold the row's lock, so that two runs sharing the cache never fetch it at once."""
    lock_dir = root() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{row}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
