"""Read-only mappings of kernel BTF files: no copy, no descriptor held."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.btf import _mapping, kernel, parse
from pybpf.btf._mapping import forget_mapper, map_readonly

SYSFS_VMLINUX = Path("/sys/kernel/btf/vmlinux")


@pytest.fixture(autouse=True, params=["compiled", "ctypes"])
def mapper(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test maps both ways: the compiled scan's map_readonly, and ctypes'."""
    if request.param == "compiled":
        if getattr(parse._compiled_scan(), "map_readonly", None) is None:
            pytest.skip("no compiled scan: pybpf-core absent or built without a C compiler")
    else:
        # As in an install without the compiled scan (read when the mapping is chosen).
        monkeypatch.setattr(parse, "_compiled_scan", lambda: None)
    forget_mapper()
    yield request.param
    # Chosen again, with the process's own setting, after this test.
    forget_mapper()


def test_the_mapping_is_chosen_once_until_forgotten(mapper: str) -> None:
    chosen = _mapping._mapper()
    assert chosen.__name__ == f"map_{mapper}"
    assert _mapping._mapper() is chosen
    forget_mapper()
    assert _mapping._mapper() is not chosen


def test_maps_a_file_read_only(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 64)
    mapped = map_readonly(path)
    assert mapped is not None
    view, st = mapped
    assert st.st_size == len(view) == 256 * 64
    assert view.readonly
    assert bytes(view) == path.read_bytes()
    assert view[24:32].cast("I").tolist() == [0x1B1A1918, 0x1F1E1D1C]
    with pytest.raises(TypeError):
        view[0] = 1
    # The fd-leak check of every test covers "no descriptor held".


def test_empty_file_is_not_mapped(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert map_readonly(path) is None


def test_unmapped_after_the_last_view(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * 8192)
    mapped = map_readonly(path)
    assert mapped is not None
    view = mapped[0]
    part = view[4096:]
    del mapped, view
    gc.collect()
    maps = Path("/proc/self/maps").read_text()
    assert str(path) in maps  # ``part`` still holds the mapping
    del part
    gc.collect()
    assert str(path) not in Path("/proc/self/maps").read_text()


def test_missing_file_raises() -> None:
    with pytest.raises(FileNotFoundError):
        map_readonly("/nonexistent/btf")


@pytest.mark.kernel_files
def test_kernel_spec_uses_the_mapping_where_the_kernel_allows_it() -> None:
    if map_readonly(SYSFS_VMLINUX) is None:
        pytest.skip(
            f"kernel {os.uname().release} refuses to map BTF (Linux 6.16 and later allow it)"
        )
    spec = kernel.load_kernel_spec_uncached()
    assert spec._raw is not None
    assert isinstance(spec._raw.data, memoryview)
    assert spec.type_by_name("task_struct").name == "task_struct"
