"""resolve_binary_path: libbpf's search order, and a process's own mappings first."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pybpf.link import BinaryNotFoundError, Executable, resolve_binary_path


def test_paths_are_taken_as_they_are(native: Path) -> None:
    assert resolve_binary_path(native / "target") == str(native / "target")
    assert Executable(native / "target").path == str(native / "target")


def test_ld_library_path_comes_first(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for d in (first, second):
        d.mkdir()
    shutil.copy(native / "libtarget.so", second / "libtarget.so")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{first}::{second}")
    assert resolve_binary_path("libtarget.so") == f"{second}/libtarget.so"
    shutil.copy(native / "libtarget.so", first / "libtarget.so")
    assert resolve_binary_path("libtarget.so") == f"{first}/libtarget.so"


def test_system_library_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    try:
        path = resolve_binary_path("libc.so.6")
    except BinaryNotFoundError:
        pytest.skip("no libc.so.6 in the usual directories")
    assert path.endswith("/libc.so.6")
    assert path.split("/libc.so.6")[0] in ("/usr/lib64", "/usr/lib") or "-linux-" in path


def test_executables_need_the_exec_bit(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(native / "target", plain / "pybpf-test-target")
    os.chmod(plain / "pybpf-test-target", 0o644)
    monkeypatch.setenv("PATH", f"{plain}:{native}")
    if os.geteuid() != 0:
        with pytest.raises(BinaryNotFoundError, match="pybpf-test-target"):
            resolve_binary_path("pybpf-test-target")
    os.chmod(plain / "pybpf-test-target", 0o755)
    assert resolve_binary_path("pybpf-test-target") == f"{plain}/pybpf-test-target"


def test_a_process_mapped_libraries_come_first(monkeypatch: pytest.MonkeyPatch) -> None:
    with open("/proc/self/maps") as f:
        mapped = {line.split()[-1] for line in f if line.rstrip().endswith("/libc.so.6")}
    if not mapped:
        pytest.skip("this Python does not map a libc.so.6")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/nonexistent")
    assert resolve_binary_path("libc.so.6", pid=os.getpid()) in mapped
    assert Executable("libc.so.6", pid=os.getpid()).path in mapped


def test_unknown_process() -> None:
    with pytest.raises(BinaryNotFoundError, match="no such process"):
        resolve_binary_path("libc.so.6", pid=2**22 + 12345)


def test_not_found_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/pybpf-nowhere")
    with pytest.raises(BinaryNotFoundError, match="/opt/pybpf-nowhere") as info:
        resolve_binary_path("libpybpf-none.so")
    assert isinstance(info.value, FileNotFoundError) and info.value.filename == "libpybpf-none.so"
