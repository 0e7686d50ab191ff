"""kprobe_multi's glob resolution, offline: libbpf's rules on made-up ftrace and kallsyms lists."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pybpf.link import KernelSymbolNotFoundError

# The module, not the function of the same name that pybpf.link exports.
kprobe_module = importlib.import_module("pybpf.link.kprobe")

KALLSYMS = """\
ffffffff81000100 T __x64_sys_getpgid
ffffffff81000200 t __x64_sys_getsid
ffffffff81000300 t helper.llvm.123456
ffffffff81000400 D not_a_function
ffffffff81000500 T __x64_sys_getpgid
ffffffffc0000000 t mod_func\t[mod]
"""


@pytest.fixture
def tracefs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(kprobe_module, "tracefs_path", lambda: str(tmp_path))
    kallsyms = tmp_path / "kallsyms"
    kallsyms.write_text(KALLSYMS)
    monkeypatch.setattr(kprobe_module, "_KALLSYMS", str(kallsyms))
    return tmp_path


def test_addresses_from_filter_functions_addrs(tracefs: Path) -> None:
    (tracefs / "available_filter_functions_addrs").write_text(
        "ffffffff81000204 __x64_sys_getsid\n"
        "ffffffff81000104 __x64_sys_getpgid\n"
        "ffffffff81000104 __x64_sys_getpgid\n"
        "ffffffff81000904 __ftrace_invalid_address___64\n"
        "ffffffffc0000004 mod_func [mod]\n"
    )
    resolve = kprobe_module._resolve_pattern
    assert resolve("__x64_sys_get*") == [0xFFFFFFFF81000104, 0xFFFFFFFF81000204]
    assert resolve("__x64_sys_get?id") == [0xFFFFFFFF81000204]
    assert resolve("mod_*") == [0xFFFFFFFFC0000004]
    with pytest.raises(KernelSymbolNotFoundError, match="__ftrace"):
        resolve("__ftrace*")
    with pytest.raises(KernelSymbolNotFoundError, match=r"\[a\]"):
        resolve("[a]*")  # only * and ? are special


def test_names_looked_up_in_kallsyms_before_6_5(tracefs: Path) -> None:
    (tracefs / "available_filter_functions").write_text(
        "__x64_sys_getpgid\n__x64_sys_getsid\nhelper\nnot_a_function\nmod_func [mod]\n"
    )
    resolve = kprobe_module._resolve_pattern
    # Both functions named __x64_sys_getpgid; kallsyms' .llvm. suffix is dropped.
    assert resolve("__x64_sys_getp*") == [0xFFFFFFFF81000100, 0xFFFFFFFF81000500]
    assert resolve("help*") == [0xFFFFFFFF81000300]
    assert resolve("*") == [
        0xFFFFFFFF81000100,
        0xFFFFFFFF81000200,
        0xFFFFFFFF81000300,
        0xFFFFFFFF81000500,
        0xFFFFFFFFC0000000,
    ]
    with pytest.raises(KernelSymbolNotFoundError, match="nothing_like_this"):
        resolve("nothing_like_this*")


def test_no_ftrace_list_matches_nothing(tracefs: Path) -> None:
    with pytest.raises(KernelSymbolNotFoundError, match="available_filter_functions"):
        kprobe_module._resolve_pattern("__x64_sys_*")
