"""The kernel cache: a whole entry is used as it is; a partial or corrupt one is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import cast

import pytest

from kernels import cache, fetch, manifest
from kernels.aptprivate import AptError, PrivateApt, Record

RELEASE = "6.1.0-99-cloud-amd64"
ROW = manifest.Row(
    name="6.1",
    source="debian",
    suites=("bookworm",),
    package="linux-image-cloud-amd64",
    series="6.1",
    ci="kernel",
    why="",
)


@pytest.fixture(autouse=True)
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_KERNEL_CACHE", str(root))
    yield root


def bzimage(size: int = 4096) -> bytes:
    data = bytearray(size)
    offset = cache.BZIMAGE_MAGIC_OFFSET
    data[offset : offset + len(cache.BZIMAGE_MAGIC)] = cache.BZIMAGE_MAGIC
    return bytes(data)


def make_entry(row: str = "6.1") -> cache.Entry:
    """A whole entry, as fetch.fetch leaves it, but tiny."""
    folder = cache.entry_dir(row)
    modules = folder / "tree" / "lib" / "modules" / RELEASE
    modules.mkdir(parents=True)
    (modules / "modules.dep").write_text("kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko\n")
    boot = folder / "tree" / "boot"
    boot.mkdir()
    (boot / f"vmlinuz-{RELEASE}").write_bytes(bzimage())
    (boot / f"config-{RELEASE}").write_text(
        '# comment\nCONFIG_BPF=y\nCONFIG_LSM="lockdown,yama"\n# CONFIG_KVM is not set\n'
    )
    entry = cache.Entry(
        row=row,
        release=RELEASE,
        version="6.1.99-1",
        suites=["bookworm"],
        vmlinuz=f"tree/boot/vmlinuz-{RELEASE}",
        vmlinuz_sha256=cache.sha256_file(boot / f"vmlinuz-{RELEASE}"),
        modules=f"tree/lib/modules/{RELEASE}",
        config=f"tree/boot/config-{RELEASE}",
        fetched_at="2026-11-22T00:00:00+00:00",
        packages=[cache.Package("linux-image-x", "6.1.99-1", "x.deb", "00" * 32, 123)],
    )
    cache.write_entry(entry, folder)
    return entry


def test_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_root: Path
) -> None:
    assert cache.root() == cache_root.resolve()
    assert cache.entry_dir("5.10") == cache_root.resolve() / "entries" / "5.10"
    monkeypatch.delenv("PYBPF_KERNEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.root() == (tmp_path / "xdg" / "pybpf" / "kernels").resolve()


def test_whole_entry_round_trips() -> None:
    entry = make_entry()
    again = cache.read_entry("6.1")
    assert again == entry
    assert again.problems() == []
    assert not (cache.entry_dir("6.1") / "entry.json.tmp").exists()
    assert entry.base == cache.entry_dir("6.1") / "tree"
    assert entry.kconfig() == {"CONFIG_BPF": "y", "CONFIG_LSM": "lockdown,yama"}


def test_interrupted_fetch_has_no_entry() -> None:
    make_entry()
    (cache.entry_dir("6.1") / "entry.json").unlink()
    assert cache.read_entry("6.1") is None
    assert cache.read_entry("never-fetched") is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda raw: '{"row": ', id="truncated"),
        pytest.param(lambda raw: "[]", id="not-an-object"),
        pytest.param(lambda raw: json.dumps({**raw, "format": 0}), id="other-format"),
        pytest.param(lambda raw: json.dumps({**raw, "surprise": 1}), id="unknown-field"),
        pytest.param(
            lambda raw: json.dumps({k: v for k, v in raw.items() if k != "vmlinuz"}),
            id="missing-field",
        ),
        pytest.param(lambda raw: json.dumps({**raw, "vmlinuz": 7}), id="path-not-a-string"),
        pytest.param(lambda raw: json.dumps({**raw, "packages": ["x.deb"]}), id="bad-package"),
        pytest.param(lambda raw: json.dumps({**raw, "row": "6.12"}), id="another-row"),
    ],
)
def test_unreadable_entry_json_is_no_entry(change: object) -> None:
    entry = make_entry()
    path = cache.entry_dir("6.1") / "entry.json"
    path.write_text(change(asdict(entry)))  # type: ignore[operator]
    assert cache.read_entry("6.1") is None


def test_corrupt_kernel_is_detected() -> None:
    entry = make_entry()
    vmlinuz = entry.path(entry.vmlinuz)
    data = bytearray(vmlinuz.read_bytes())
    data[-1] ^= 0xFF
    vmlinuz.write_bytes(bytes(data))
    (problem,) = entry.problems()
    assert "does not match its recorded SHA-256" in problem


@pytest.mark.parametrize(
    "content", [b"", bzimage()[: cache.BZIMAGE_MAGIC_OFFSET + 2], b"\0" * 4096]
)
def test_truncated_or_foreign_kernel_is_not_a_bzimage(content: bytes) -> None:
    entry = make_entry()
    entry.path(entry.vmlinuz).write_bytes(content)
    (problem,) = entry.problems()
    assert "missing or not a bzImage" in problem


def test_every_missing_part_is_named() -> None:
    entry = make_entry()
    entry.path(entry.vmlinuz).unlink()
    (entry.path(entry.modules) / "modules.dep").unlink()
    entry.path(entry.config).unlink()
    problems = entry.problems()
    assert len(problems) == 3
    assert "not a bzImage" in problems[0]
    assert problems[1].endswith("modules.dep is missing")
    assert problems[2].endswith(f"config-{RELEASE} is missing")


class OfflineApt:
    """Stands in for PrivateApt where the network must not be reached."""

    def __init__(self) -> None:
        self.updates = 0

    def update(self) -> None:
        self.updates += 1
        raise AptError("apt-get update exited 100: offline")


def test_fetch_uses_a_whole_entry_without_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = make_entry()

    def no_apt(row: manifest.Row) -> PrivateApt:
        raise AssertionError("a whole cached entry must not reach apt")

    monkeypatch.setattr(fetch, "_apt", no_apt)
    assert fetch.fetch(ROW) == entry


@pytest.mark.parametrize("damage", ["entry.json", "modules.dep", "vmlinuz"])
def test_fetch_refetches_a_partial_entry(
    damage: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = make_entry()
    target = {
        "entry.json": cache.entry_dir("6.1") / "entry.json",
        "modules.dep": entry.path(entry.modules) / "modules.dep",
        "vmlinuz": entry.path(entry.vmlinuz),
    }[damage]
    target.unlink()
    apt = OfflineApt()
    monkeypatch.setattr(fetch, "_apt", lambda row: apt)
    with pytest.raises(fetch.FetchError, match=r"row 6\.1: apt-get update exited 100"):
        fetch.fetch(ROW)
    assert apt.updates == 1
    err = capsys.readouterr().err
    if damage != "entry.json":
        assert "cached entry is not whole" in err


def test_host_row_is_never_fetched() -> None:
    host = manifest.Row("host", "host", (), "", "", "full", "")
    with pytest.raises(fetch.FetchError, match="nothing to fetch"):
        fetch.fetch(host)


def record(name: str, version: str, kib: int, *pins: tuple[str, str]) -> Record:
    return Record(name, version, f"{name}.deb", 1, kib, "00" * 32, tuple(pins))


class ListsApt:
    """Answers apt-cache show from a dict."""

    def __init__(self, *records: Record) -> None:
        self.records = {r.name: r for r in records}

    def record(self, name: str, version: str | None = None) -> Record:
        rec = self.records[name]
        assert version in (None, rec.version)
        return rec


def test_resolve_follows_pins_and_drops_metapackages() -> None:
    image = record("linux-image-6.1.0-99-cloud-amd64", "6.1.99-1", 40000)
    meta = record("linux-image-cloud-amd64", "6.1.99-1", 10, (image.name, image.version))
    apt = cast(PrivateApt, ListsApt(meta, image))
    assert fetch.resolve(apt, ROW) == [image]


def test_resolve_refuses_another_series() -> None:
    meta = record("linux-image-cloud-amd64", "6.12.9-1", 10)
    apt = cast(PrivateApt, ListsApt(meta))
    with pytest.raises(fetch.FetchError, match=r"6\.12\.9-1 .* is not a 6\.1 kernel"):
        fetch.resolve(apt, ROW)
