"""The kernel BTF record index kept for the boot: reused when valid, ignored otherwise."""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import pytest

from pybpf.btf import Int, Pointer, Spec, Struct, kernel, marshal
from pybpf.btf import _index_cache as index_cache
from pybpf.btf.types import IntEncoding, Member

SYSFS_VMLINUX = Path("/sys/kernel/btf/vmlinux")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def btf_file(tmp_path: Path) -> Path:
    """A stand-in for a /sys/kernel/btf file: raw BTF with a few named types."""
    i = Int("int", 4, IntEncoding.SIGNED)
    s = Struct("pair", 8, [Member("a", i, 0), Member("b", i, 32)])
    path = tmp_path / "vmlinux"
    path.write_bytes(marshal(Spec([s, Pointer(s), Int("u8", 1)])))
    return path


def _entry(cache: Path) -> Path:
    (entry,) = cache.iterdir()
    return entry


def _from_cache(spec: Spec) -> bool:
    assert spec._raw is not None
    return isinstance(spec._raw.offsets, memoryview)


def test_second_load_reuses_the_saved_index(cache: Path, btf_file: Path) -> None:
    first = kernel._load_sysfs(btf_file, base=None)
    assert not _from_cache(first)
    entry = _entry(cache)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    second = kernel._load_sysfs(btf_file, base=None)
    assert _from_cache(second)
    assert second == first
    assert second.shape(second.type_by_name("pair")) == first.shape(first.type_by_name("pair"))
    assert [t.name for t in second] == [t.name for t in first]


def _layout(entry: bytes) -> tuple[int, int, int]:
    """Where the offsets, the names and the name order start in an entry."""
    head = entry.index(b"\n", len(b"pybpf-btf-index\n")) + 1
    count = int.from_bytes(entry[head : head + 4], sys.byteorder)
    offsets_at = head + index_cache._COUNTS.size
    return offsets_at, offsets_at + 4 * count, offsets_at + 8 * count


def _other_field(entry: bytes, field: str, other: str) -> bytes:
    """The entry with one field of its key changed (unchanged when the key lacks it)."""
    head = entry.index(b"\n") + 1
    line = entry[head : entry.index(b"\n", head)].split(b" ")
    line = [other.encode() if part == field.encode() else part for part in line]
    return entry[:head] + b" ".join(line) + entry[entry.index(b"\n", head) :]


def _zero(entry: bytes, start: int, size: int) -> bytes:
    return entry[:start] + bytes(size) + entry[start + size :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-4], id="short"),
        pytest.param(lambda b: b + b"x", id="long"),
        pytest.param(lambda b: b"garbage" + b[7:], id="bad-magic"),
        pytest.param(lambda b: _other_field(b, str(index_cache._FORMAT), "9"), id="other-format"),
        pytest.param(lambda b: _other_field(b, "xxh64", "crc32"), id="other-check"),
        pytest.param(lambda b: _other_field(b, "crc32", "xxh64"), id="other-check-reversed"),
        pytest.param(lambda b: _zero(b, _layout(b)[2] - 4, 4), id="wrong-last-name"),
        pytest.param(lambda b: _zero(b, _layout(b)[2], len(b) - _layout(b)[2]), id="zeroed-order"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_damaged_entry_is_recomputed_and_replaced(cache: Path, btf_file: Path, damage) -> None:  # type: ignore[no-untyped-def]
    good = kernel._load_sysfs(btf_file, base=None)
    entry = _entry(cache)
    saved = entry.read_bytes()
    entry.write_bytes(damage(saved))
    again = kernel._load_sysfs(btf_file, base=None)
    assert again == good
    assert again.shape(again.type_by_name("pair")) == good.shape(good.type_by_name("pair"))
    # Loading recomputed the index and saved it afresh.
    assert entry.read_bytes() == saved


def test_an_entry_of_the_other_checksum_is_a_miss_not_misread(
    cache: Path, btf_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An install without the compiled scan checks entries with zlib's CRC-32.
    monkeypatch.setattr(index_cache, "_checksum", lambda: ("crc32", zlib.crc32))
    first = kernel._load_sysfs(btf_file, base=None)
    assert _from_cache(kernel._load_sysfs(btf_file, base=None))
    crc_entry = _entry(cache).read_bytes()
    monkeypatch.undo()
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(cache))
    name, _ = index_cache._checksum()
    again = kernel._load_sysfs(btf_file, base=None)
    assert again == first
    assert _from_cache(again) == (name == "crc32")
    if name != "crc32":
        assert _entry(cache).read_bytes() != crc_entry  # replaced by this kind's
        assert _from_cache(kernel._load_sysfs(btf_file, base=None))


def test_index_that_does_not_frame_the_blob_is_ignored(cache: Path, btf_file: Path) -> None:
    good = kernel._load_sysfs(btf_file, base=None)
    entry = _entry(cache)
    saved = entry.read_bytes()
    # The last record said to start where the first does: records no longer tile.
    broken = _zero(saved, _layout(saved)[1] - 4, 4)
    entry.write_bytes(broken)
    again = kernel._load_sysfs(btf_file, base=None)
    assert not _from_cache(again)
    assert again == good
    assert entry.read_bytes() == saved


def test_changed_file_is_not_matched(cache: Path, btf_file: Path) -> None:
    kernel._load_sysfs(btf_file, base=None)
    btf_file.write_bytes(marshal(Spec([Int("long", 8, IntEncoding.SIGNED)])))
    again = kernel._load_sysfs(btf_file, base=None)
    assert not _from_cache(again)
    assert [t.name for t in again] == ["long"]


def test_empty_setting_disables_the_cache(
    tmp_path: Path, btf_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYBPF_CACHE_DIR", "")
    assert index_cache.cache_dir() is None
    kernel._load_sysfs(btf_file, base=None)
    assert not _from_cache(kernel._load_sysfs(btf_file, base=None))


def test_default_directories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PYBPF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert index_cache.cache_dir() == str(tmp_path / "pybpf")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    expected = Path("/run/pybpf") if os.geteuid() == 0 else Path.home() / ".cache" / "pybpf"
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert index_cache.cache_dir() == str(expected)


def test_directory_others_can_write_is_not_used(cache: Path, btf_file: Path) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    kernel._load_sysfs(btf_file, base=None)
    assert list(cache.iterdir()) == []
    assert not _from_cache(kernel._load_sysfs(btf_file, base=None))


def test_symlinked_entry_is_not_followed(cache: Path, btf_file: Path, tmp_path: Path) -> None:
    kernel._load_sysfs(btf_file, base=None)
    entry = _entry(cache)
    target = tmp_path / "elsewhere"
    target.write_bytes(entry.read_bytes())
    entry.unlink()
    entry.symlink_to(target)
    assert not _from_cache(kernel._load_sysfs(btf_file, base=None))


def test_unwritable_directory_is_not_an_error(
    tmp_path: Path, btf_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(blocker / "cache"))
    spec = kernel._load_sysfs(btf_file, base=None)
    assert spec.type_by_name("pair").name == "pair"


@pytest.mark.kernel_files
def test_kernel_spec_from_the_saved_index_equals_a_fresh_parse(cache: Path) -> None:
    first = kernel._load_sysfs(SYSFS_VMLINUX, base=None)
    second = kernel._load_sysfs(SYSFS_VMLINUX, base=None)
    assert _from_cache(second) and not _from_cache(first)
    assert first._raw is not None and second._raw is not None
    assert list(second._raw.offsets) == list(first._raw.offsets)
    assert bytes(second._raw._packed_names()) == bytes(first._raw._packed_names())
    task, fresh = second.type_by_name("task_struct"), first.type_by_name("task_struct")
    assert second.shape(task) == first.shape(fresh)
    assert second.type_id(task) == first.type_id(fresh)


def test_saved_name_order_answers_lookups(cache: Path, btf_file: Path) -> None:
    kernel._load_sysfs(btf_file, base=None)
    spec = kernel._load_sysfs(btf_file, base=None)
    assert spec._raw is not None and spec._raw.by_name is not None
    # No copy of the string table was needed to find names.
    assert spec._raw._strings is None
    for name in ("pair", "int", "u8"):
        assert spec.type_by_name(name).name == name
    assert spec.types_by_name("missing") == []
    assert spec._raw._strings is None


def test_boot_note_is_read_back_in_the_same_boot(cache: Path) -> None:
    assert kernel.load_boot_note("probes") is None
    kernel.store_boot_note("probes", b"float=1\n")
    assert kernel.load_boot_note("probes") == b"float=1\n"
    kernel.store_boot_note("probes", b"float=1\nfunc=1\n")  # replaced whole
    assert kernel.load_boot_note("probes") == b"float=1\nfunc=1\n"
    assert kernel.load_boot_note("other") is None


def test_boot_note_of_another_boot_or_kernel_is_ignored(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel.store_boot_note("probes", b"float=1\n")
    boot_id = tmp_path / "boot_id"
    boot_id.write_text("00000000-0000-0000-0000-000000000000\n")
    monkeypatch.setattr(index_cache, "_BOOT_ID", str(boot_id))
    assert kernel.load_boot_note("probes") is None
    monkeypatch.undo()
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(cache))
    assert kernel.load_boot_note("probes") == b"float=1\n"
    real = os.uname()
    rebuilt = os.uname_result((*real[:3], real.version + " rebuilt", real.machine))
    monkeypatch.setattr(index_cache.os, "uname", lambda: rebuilt)
    assert kernel.load_boot_note("probes") is None


def test_damaged_or_disabled_boot_note_is_none(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel.store_boot_note("probes", b"float=1\n")
    entry = _entry(cache)
    data = bytearray(entry.read_bytes())
    data[-6] ^= 1
    entry.write_bytes(bytes(data))
    assert kernel.load_boot_note("probes") is None
    entry.write_bytes(bytes(data[:5]))
    assert kernel.load_boot_note("probes") is None
    monkeypatch.setenv("PYBPF_CACHE_DIR", "")
    kernel.store_boot_note("probes", b"float=1\n")
    assert kernel.load_boot_note("probes") is None
    with pytest.raises(ValueError, match="bad boot note name"):
        kernel.load_boot_note("../probes")
