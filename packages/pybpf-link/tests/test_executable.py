"""Executable: libbpf's symbol resolution, checked against binutils and pyelftools."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.elf import ELFError
from pybpf.link import (
    AmbiguousSymbolError,
    BinaryNotFoundError,
    Executable,
    SymbolNotFoundError,
)

elftools = pytest.importorskip("elftools.elf.elffile")

needs_readelf = pytest.mark.skipif(shutil.which("readelf") is None, reason="no readelf")


@pytest.fixture(scope="module")
def libc() -> Executable:
    try:
        return Executable("libc.so.6")
    except BinaryNotFoundError as e:
        pytest.skip(str(e))


def _segment_offsets(path: str) -> dict[str, set[int]]:
    """Every defined function of ``path`` (by versioned name) at its file offset, via the
    program headers as pyelftools reads them: the oracle the brief of the issue names."""
    with open(path, "rb") as f:
        elf = elftools.ELFFile(io.BytesIO(f.read()))
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    out: dict[str, set[int]] = {}
    for text in subprocess.run(
        ["readelf", "--dyn-syms", "-W", path], check=True, capture_output=True, text=True
    ).stdout.splitlines():
        m = re.match(r"\s*\d+: ([0-9a-f]+)\s+\S+ FUNC\s+\w+\s+\w+\s+(\d+) (\S+)", text)
        if not m:
            continue
        value = int(m[1], 16)
        seg = next(s for s in loads if s["p_vaddr"] <= value < s["p_vaddr"] + s["p_memsz"])
        out.setdefault(m[3], set()).add(value - seg["p_vaddr"] + seg["p_offset"])
    return out


@needs_readelf
def test_libc_offsets_match_the_program_headers(libc: Executable) -> None:
    oracle = _segment_offsets(libc.path)
    unique = sorted((name, *offsets) for name, offsets in oracle.items() if len(offsets) == 1)
    # One lookup reads the tables afresh (the fast path for one symbol): a
    # sample keeps this quick; symbol_offsets checks them all at once.
    for name, offset in unique[::8]:
        assert libc.symbol_offset(name) == offset, name
    by_base: dict[str, set[int]] = {}
    for name, offsets in oracle.items():
        by_base.setdefault(name.split("@")[0], set()).update(offsets)
    plain = sorted((base, *offsets) for base, offsets in by_base.items() if len(offsets) == 1)
    assert len(plain) > 1000
    assert libc.symbol_offsets([n for n, _ in plain]) == [o for _, o in plain]
    assert len(unique) > 1000
    assert libc.symbol_offset("malloc") == next(iter(oracle["malloc@@GLIBC_2.2.5"]))


def test_versioned_names(libc: Executable) -> None:
    old = libc.symbol_offset("pthread_create@GLIBC_2.2.5")
    new = libc.symbol_offset("pthread_create@@GLIBC_2.34")
    assert libc.symbol_offset("pthread_create") in (old, new)
    # Either spelling of a version picks it, as in libbpf.
    assert libc.symbol_offset("pthread_create@GLIBC_2.34") == new
    with pytest.raises(SymbolNotFoundError, match=r"GLIBC_9\.99"):
        libc.symbol_offset("malloc@GLIBC_9.99")


def test_gnu_indirect_functions_are_named_as_such(libc: Executable) -> None:
    ifuncs = [
        s.name
        for s in libc.binary.dynamic_symbols
        if s.type == 10
        and s.defined
        and not any(t.name == s.name and t.type == 2 for t in libc.binary.dynamic_symbols)
    ]
    if not ifuncs:
        pytest.skip("this libc has no GNU indirect functions")
    with pytest.raises(SymbolNotFoundError, match="STT_GNU_IFUNC") as info:
        libc.symbol_offset(ifuncs[0])
    assert isinstance(info.value, LookupError)
    assert info.value.symbol == ifuncs[0] and info.value.path == libc.path


def test_missing_symbol_names_symbol_and_file(libc: Executable) -> None:
    with pytest.raises(LookupError, match=r"'no_such_function'.*libc\.so\.6"):
        libc.symbol_offset("no_such_function")
    # "mallo" is a prefix of malloc, not a name.
    with pytest.raises(SymbolNotFoundError):
        libc.symbol_offset("mallo")


def test_missing_binary_is_file_not_found() -> None:
    with pytest.raises(FileNotFoundError, match="libnosuch"):
        Executable("libnosuch.so.1")
    with pytest.raises(BinaryNotFoundError):
        Executable("/no/such/file")


def test_not_elf_names_the_file(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(ELFError, match=f"{script}: not an ELF file"):
        _ = Executable(script).binary


def test_static_symbols_aliases_and_ambiguity(native: Path) -> None:
    exe = Executable(native / "target")
    assert exe.symbol_offset("first") == exe.symbol_offset("first_alias")
    with pytest.raises(AmbiguousSymbolError, match="'duplicate'") as info:
        exe.symbol_offset("duplicate")
    assert len(set(info.value.offsets)) == 2
    # A PIE's code addresses are relative, like a library's.
    assert exe.binary.is_shared_object
    oracle = {s.name: s.file_offset for s in exe.binary.static_symbols if s.type == 2}
    assert exe.symbol_offset("traced") == oracle["traced"]


def test_a_weak_definition_gives_way(native: Path) -> None:
    for name, wanted_bind in (("target", 0), ("libtarget.so", 2)):
        exe = Executable(native / name)
        chosen = [s for s in exe.binary.symbols_named("chosen") if s.type == 2]
        assert {s.bind for s in chosen} >= {wanted_bind}
        # .symtab has both (local and weak); a .dynsym entry, the weak one, comes first.
        expected = next(s.file_offset for s in chosen if s.bind == wanted_bind)
        assert exe.symbol_offset("chosen") == expected, name
        # uprobe_multi's resolution reads both tables through: the local
        # definition replaces the weak one found first in .dynsym.
        local = next(s.file_offset for s in chosen if s.bind == 0)
        assert exe.symbol_offsets(["chosen"]) == [local]


def test_symbol_offsets_in_order(native: Path) -> None:
    exe = Executable(native / "libtarget.so")
    names = ["second", "first", "traced"]
    assert exe.symbol_offsets(names) == [exe.symbol_offset(n) for n in names]
    with pytest.raises(SymbolNotFoundError, match="'nope'"):
        exe.symbol_offsets(["first", "nope"])
    with pytest.raises(AmbiguousSymbolError):
        exe.symbol_offsets(["duplicate"])


def test_pattern_offsets(native: Path) -> None:
    exe = Executable(native / "target")
    found = dict(exe.pattern_offsets("fir*"))
    assert found == {"first": exe.symbol_offset("first"), "first_alias": found["first"]}
    assert [n for n, _ in exe.pattern_offsets("s?cond")] == ["second"]
    # Only * and ? are special, as in libbpf's glob_match.
    with pytest.raises(SymbolNotFoundError):
        exe.pattern_offsets("[f]irst")


def test_pattern_prefers_static_symbols(libc: Executable) -> None:
    found = libc.pattern_offsets("pthread_mutex_*lock")
    names = {n for n, _ in found}
    assert {"pthread_mutex_lock", "pthread_mutex_unlock", "pthread_mutex_trylock"} <= names
    for name, offset in found:
        assert offset == libc.symbol_offset(name) or name.startswith("__")
