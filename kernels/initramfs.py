"""Build the guest's initramfs: busybox, the modules needed to reach the shares, /init.

Debian's 5.10 and 6.1 cloud kernels build virtio, fuse and virtiofs as modules,
so they must be loaded before the host's files can be mounted; 6.12 and later
build them in. Modules are decompressed here because busybox's insmod may not
read .ko.xz or .ko.zst.
"""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import subprocess
from pathlib import Path

from . import cpio

# What the guest needs before it can mount anything: the PCI transport for
# virtio devices and the virtiofs file system.
BOOT_MODULES = ("virtio_pci", "virtiofs")
_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


class InitramfsError(RuntimeError):
    """The initramfs could not be built (busybox or a module is missing)."""


def _module_name(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def _read_deps(modules_dir: Path) -> dict[str, tuple[str, list[str]]]:
    deps = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[_module_name(path)] = (path, rest.split())
    return deps


def _builtin(modules_dir: Path) -> set[str]:
    builtin = modules_dir / "modules.builtin"
    if not builtin.is_file():
        return set()
    return {_module_name(line) for line in builtin.read_text().split()}


def load_order(modules_dir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The module files to insmod, dependencies first; built-in ones are left out."""
    deps = _read_deps(modules_dir)
    builtin = _builtin(modules_dir)
    order: list[Path] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in builtin:
            return
        done.add(name)
        if name not in deps:
            raise InitramfsError(f"module {name} is neither built in nor in {modules_dir}")
        path, needs = deps[name]
        # modules.dep lists the deepest dependency last: load from the end.
        for dep in reversed(needs):
            visit(_module_name(dep))
        order.append(modules_dir / path)

    for name in wanted:
        visit(name.replace("-", "_"))
    return order


def _decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        if not shutil.which("zstd"):
            raise InitramfsError(f"{path.name} needs zstd (tools/setup.sh installs it)")
        return subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return data


def busybox() -> Path:
    """The static busybox that runs the guest's /init."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.is_file():
            return path
    raise InitramfsError("busybox not found: install busybox-static (tools/setup.sh does)")


def build(modules_dir: Path, init_script: str, files: dict[str, str]) -> bytes:
    """An initramfs: busybox, the boot modules in load order, /init and extra text files."""
    out = io.BytesIO()
    w = cpio.Writer(out)
    for folder in ("bin", "dev", "proc", "sys", "newroot", "modules", "etc"):
        w.directory(folder)
    # The kernel opens /dev/console for /init's output before anything is mounted.
    w.char_device("dev/console", 5, 1)
    w.file("bin/busybox", busybox().read_bytes(), 0o755)
    for index, module in enumerate(load_order(modules_dir, BOOT_MODULES)):
        w.file(f"modules/{index:02d}-{_module_name(module.name)}.ko", _decompressed(module))
    w.file("init", init_script.encode(), 0o755)
    for name, text in files.items():
        w.file(name, text.encode(), 0o755)
    w.close()
    return out.getvalue()
