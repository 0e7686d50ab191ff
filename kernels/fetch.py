"""Fetch a row's kernel from Debian into the cache: resolve, download, extract, check.

    python -m kernels.fetch 6.1            # fetch unless a whole entry is cached
    python -m kernels.fetch --refresh 6.1  # resolve again; refetch if it moved
    python -m kernels.fetch --all          # every Debian row

A row names a metapackage and suites; the exact kernel packages are resolved
from the suites' signed package lists at fetch time and recorded in the
entry, because their ABI numbers change with every security update.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from . import cache, manifest
from .aptprivate import AptError, PrivateApt, Record

# Below this installed size a package is a metapackage: documentation only.
CONTENT_KIB = 64


class FetchError(RuntimeError):
    """The kernel could not be fetched, or what was fetched is not a usable kernel."""


def log(message: str) -> None:
    """Print one line of progress."""
    print(f"kernels: {message}", file=sys.stderr, flush=True)


def _apt(row: manifest.Row) -> PrivateApt:
    return PrivateApt(cache.apt_dir(row.name), row.sources_lines(), cache.debs_dir() / "partial")


def resolve(apt: PrivateApt, row: manifest.Row) -> list[Record]:
    """The metapackage's newest version and every package it pins, recursively."""
    meta = apt.record(row.package)
    if row.series and not meta.version.startswith(row.series + "."):
        raise FetchError(
            f"row {row.name}: {row.package} {meta.version} in {', '.join(row.suites)} "
            f"is not a {row.series} kernel; fix kernels/matrix.toml"
        )
    seen = {meta.name: meta}
    todo = list(meta.pinned_depends)
    while todo:
        name, version = todo.pop()
        if name in seen:
            continue
        rec = apt.record(name, version)
        seen[name] = rec
        todo.extend(rec.pinned_depends)
    # Metapackages carry no files (and the security archive does not always keep
    # them); only the packages with contents are downloaded.
    return [r for r in seen.values() if r.installed_kib >= CONTENT_KIB]


def _download(apt: PrivateApt, records: Iterable[Record]) -> list[tuple[Record, Path]]:
    debs = cache.debs_dir()
    debs.mkdir(parents=True, exist_ok=True)
    got = []
    for rec in records:
        dest = debs / rec.filename
        if (
            dest.is_file()
            and dest.stat().st_size == rec.size
            and cache.sha256_file(dest) == rec.sha256
        ):
            log(f"  cached {rec.filename}")
        else:
            log(f"  downloading {rec.name} {rec.version} ({rec.size / 1e6:.1f} MB)")
            with tempfile.TemporaryDirectory(dir=debs) as tmp:
                path = apt.download(rec, Path(tmp))
                if cache.sha256_file(path) != rec.sha256:
                    raise FetchError(f"{path.name}: SHA-256 differs from the package list")
                path.replace(dest)
        got.append((rec, dest))
    return got


def _one(tree: Path, patterns: list[str], what: str) -> Path:
    found = sorted({p for pattern in patterns for p in tree.glob(pattern)})
    if len(found) != 1:
        raise FetchError(f"expected one {what} in the packages, found {[str(p) for p in found]}")
    return found[0]


def _extract(debs: list[tuple[Record, Path]], into: Path) -> tuple[str, Path, Path]:
    tree = into / "tree"
    tree.mkdir(parents=True)
    for rec, deb in debs:
        log(f"  extracting {rec.name}")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    # Newer packages install under usr/lib only; depmod -b and modprobe -d look in lib/.
    if not (tree / "lib").exists() and (tree / "usr" / "lib").is_dir():
        (tree / "lib").symlink_to("usr/lib")
    vmlinuz = _one(tree, ["boot/vmlinuz-*", "usr/lib/modules/*/vmlinuz"], "vmlinuz")
    if not cache.is_bzimage(vmlinuz):
        raise FetchError(f"{vmlinuz} is not a bzImage")
    modules = _one(tree, ["lib/modules/*"], "modules folder")
    release = modules.name
    config = _one(tree, [f"boot/config-{release}", f"lib/modules/{release}/config"], "config")
    log(f"  depmod {release}")
    subprocess.run(["depmod", "-b", str(tree), release], check=True)
    if not (modules / "modules.dep").is_file():
        raise FetchError(f"depmod wrote no modules.dep for {release}")
    return release, vmlinuz, config


def fetch(row: manifest.Row, *, refresh: bool = False) -> cache.Entry:
    """A whole cached entry for `row`, fetching it when needed."""
    if row.is_host:
        raise FetchError("the host row runs on this machine's kernel: nothing to fetch")
    with cache.locked(row.name):
        entry = cache.read_entry(row.name)
        problems = entry.problems() if entry else ["not fetched yet"]
        if entry and not problems and not refresh:
            return entry
        if entry and problems:
            log(f"{row.name}: cached entry is not whole ({'; '.join(problems)}): fetching again")
        start = time.monotonic()
        log(f"{row.name}: updating package lists of {', '.join(row.suites)}")
        apt = _apt(row)
        try:
            apt.update()
            records = resolve(apt, row)
        except AptError as e:
            raise FetchError(f"row {row.name}: {e}") from None
        versions = {r.version for r in records}
        if entry and not problems and versions == {entry.version}:
            log(f"{row.name}: {entry.release} is still the newest")
            return entry
        log(f"{row.name}: resolved {', '.join(f'{r.name} {r.version}' for r in records)}")
        try:
            debs = _download(apt, records)
        except AptError as e:
            raise FetchError(f"row {row.name}: {e}") from None
        final = cache.entry_dir(row.name)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Left by a fetch that was killed; the lock we hold says none is running.
        for stale in final.parent.glob(f".{row.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{row.name}-", dir=final.parent))
        staging.chmod(0o755)
        try:
            release, vmlinuz, config = _extract(debs, staging)
            new = cache.Entry(
                row=row.name,
                release=release,
                version=records[0].version,
                suites=list(row.suites),
                vmlinuz=str(vmlinuz.relative_to(staging)),
                vmlinuz_sha256=cache.sha256_file(vmlinuz),
                modules=str((staging / "tree" / "lib" / "modules" / release).relative_to(staging)),
                config=str(config.relative_to(staging)),
                fetched_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                packages=[
                    cache.Package(r.name, r.version, d.name, r.sha256, r.size) for r, d in debs
                ],
            )
            cache.write_entry(new, staging)
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        entry = cache.read_entry(row.name)
        if entry is None or entry.problems():
            raise FetchError(f"row {row.name}: the new entry does not check out")
        log(f"{row.name}: {entry.release} ready in {time.monotonic() - start:.1f}s")
        return entry


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch rows into the cache."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("rows", nargs="*", help="row names from kernels/matrix.toml")
    parser.add_argument("--all", action="store_true", help="every Debian row")
    parser.add_argument("--refresh", action="store_true", help="resolve the packages again")
    args = parser.parse_args(argv)
    rows = [r for r in manifest.load() if not r.is_host] if args.all else []
    rows += [manifest.row(name) for name in args.rows]
    if not rows:
        parser.error("name a row, or --all")
    for row in rows:
        try:
            entry = fetch(row, refresh=args.refresh)
        except (FetchError, manifest.ManifestError, subprocess.CalledProcessError) as e:
            log(f"error: {e}")
            return 1
        packages = ", ".join(f"{p.name} {p.version}" for p in entry.packages)
        print(f"{row.name}\t{entry.release}\t{cache.entry_dir(row.name)}\t{packages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
