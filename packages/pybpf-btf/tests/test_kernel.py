"""The running kernel's BTF."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Struct, load_kernel_module_spec, load_kernel_spec
from pybpf.btf.kernel import vmlinux_candidates

SYSFS = Path("/sys/kernel/btf")


def test_candidates_follow_libbpf() -> None:
    paths = [str(p) for p in vmlinux_candidates("6.1.0-test")]
    assert paths[0] == "/sys/kernel/btf/vmlinux"
    assert "/boot/vmlinux-6.1.0-test" in paths
    assert "/usr/lib/debug/boot/vmlinux-6.1.0-test" in paths


@pytest.mark.kernel_files
def test_kernel_spec_is_cached() -> None:
    spec = load_kernel_spec()
    assert load_kernel_spec() is spec
    assert isinstance(spec.type_by_name("task_struct", Struct), Struct)
    assert load_kernel_module_spec("vmlinux") is spec


def test_bad_module_names() -> None:
    for name in ("", "../etc", ".hidden"):
        with pytest.raises(ValueError, match="bad kernel module name"):
            load_kernel_module_spec(name)
    with pytest.raises(FileNotFoundError):
        load_kernel_module_spec("no_such_module_xyz")


@pytest.mark.kernel_files
@pytest.mark.skipif(
    not SYSFS.exists() or len(list(SYSFS.iterdir())) < 2, reason="no kernel module BTF here"
)
def test_module_spec_is_split() -> None:
    module = next(p.name for p in sorted(SYSFS.iterdir()) if p.name != "vmlinux")
    spec = load_kernel_module_spec(module)
    assert spec.base is load_kernel_spec()
    assert spec.start_id == load_kernel_spec().next_id
    for t in spec.own_types():
        for ref in t.references():
            spec.type_id(ref)


def _elf_with_btf(btf_blob: bytes) -> bytes:
    """A minimal little-endian ELF64 file whose only section is .BTF."""
    import struct

    names = b"\0.BTF\0.shstrtab\0"
    body = btf_blob + names
    shoff = 64 + len(body)
    headers = struct.pack("<IIQQQQIIQQ", *[0] * 10)
    headers += struct.pack("<IIQQQQIIQQ", 1, 1, 0, 0, 64, len(btf_blob), 0, 0, 1, 0)
    headers += struct.pack("<IIQQQQIIQQ", 6, 3, 0, 0, 64 + len(btf_blob), len(names), 0, 0, 1, 0)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 3, 2)
    return ehdr + body + headers


def test_falls_back_to_vmlinux_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pybpf.btf import Int, Spec, kernel, marshal

    image = tmp_path / "vmlinux-test"
    image.write_bytes(_elf_with_btf(marshal([Int("int", 4)])))
    missing = str(tmp_path / "missing")
    monkeypatch.setattr(kernel, "_candidate_files", lambda: [missing, str(image)])
    assert kernel.load_kernel_spec_uncached() == Spec([Int("int", 4)])
    monkeypatch.setattr(kernel, "_candidate_files", lambda: [missing])
    with pytest.raises(FileNotFoundError, match="no kernel BTF found"):
        kernel.load_kernel_spec_uncached()
