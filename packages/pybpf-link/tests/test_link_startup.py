"""Start-up: what a process pays before pybpf.link does anything (issue #18).

Each check runs a fresh interpreter and looks at ``sys.modules`` afterwards:
a module that only some calls need is imported by those calls, not up front.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds once it has run ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


# Everything a call attaching a program pays for once the program is loaded:
# core's program loader, the perf event readers, the freplace target lookup
# (with the BTF parser), and the assembler.
_LOADING = {
    "pybpf.core.program",
    "pybpf.core.perf",
    "pybpf.core.ringbuf",
    "pybpf.core._reader",
    "pybpf.core._records",
    "pybpf.core._ext_target",
    "pybpf.btf.parse",
    "pybpf.asm.builder",
    "pybpf.elf.spec",
    "dataclasses",
}


def test_finding_an_executable_reads_nothing_it_does_not_need() -> None:
    # Finding the file is all Executable(path) does: the ELF reader comes with
    # the first symbol, USDT notes and the BTF codecs with the first USDT
    # probe, sysconfig only with a library that is not in the usual places,
    # regexes only with a pattern, and functools (cached_property) not at all.
    loaded = _modules_after("from pybpf.link import Executable\nExecutable('/bin/true')")
    unused = {
        "pybpf.elf.binary",
        "pybpf.link.usdt",
        "pybpf.btf.codec",
        "pybpf.core",
        "sysconfig",
        "re",
        "enum",
        "functools",
        "typing",
        "dataclasses",
    }
    assert not unused & loaded, sorted(unused & loaded)


def test_a_symbol_lookup_imports_no_typing() -> None:
    # A uprobe's target is found through the native ELF reader: its records
    # take their run-time bases from pybpf.asm.runtime_typing, as the BPF
    # object reader's do, and its annotations are never evaluated.
    from pybpf.link import Executable

    libc = Executable("libc.so.6").path  # by path: the child needs no library search
    loaded = _modules_after(
        "from pybpf.link import Executable\n"
        f"exe = Executable({libc!r})\n"
        "assert exe.symbol_offset('malloc') > 0\n"
        "assert exe.binary.byte_order == 'little'"
    )
    assert "pybpf.elf.binary" in loaded
    assert "typing" not in loaded


_ATTACH_CALLS = [
    "kprobe",
    "tracepoint",
    "xdp",
    "Executable",
    "tc",
    "tcx",
    "netkit",
    "netns",
    "netfilter",
    "sockmap",
    "socket_filter",
    "struct_ops",
    "tracing",
    "links",
    "cgroup",
    "iter",
    "attach",
]
#: Modules whose public records are dataclasses: they import dataclasses themselves.
_WITH_DATACLASSES = {"cgroup", "iter", "attach"}


@pytest.mark.parametrize("name", _ATTACH_CALLS)
def test_importing_an_attach_call_loads_no_program_machinery(name: str) -> None:
    # A caller has loaded its program (and so core's loader) before it
    # attaches; the import alone needs none of it, nor the perf records that
    # only opening an event uses. kprobe's multi-link probe builds a program
    # with the assembler, only when kprobe_multi is called.
    loaded = _modules_after(f"from pybpf.link import {name}")
    unused = {*_LOADING, "platform", "ipaddress", "pybpf.link.usdt", "pybpf.core.map"}
    if name in _WITH_DATACLASSES:
        unused.discard("dataclasses")
    assert not unused & loaded, sorted(unused & loaded)


@pytest.mark.parametrize("name", ["kprobe", "tracepoint", "xdp", "netfilter", "iter"])
def test_importing_an_attach_call_builds_no_elf_type_enums(name: str) -> None:
    # These calls name no program, map or attach type when imported: the
    # command layer below them must not build those enums either.
    assert "pybpf.elf._uapi" not in _modules_after(f"from pybpf.link import {name}")


def test_parsing_usdt_arguments_needs_no_elf_reader_or_btf_codecs() -> None:
    loaded = _modules_after("from pybpf.link import parse_usdt_args\nparse_usdt_args('-4@%edi')")
    unused = {"pybpf.elf.binary", "pybpf.btf.codec", "pybpf.btf.spec", "pybpf.core"}
    assert not unused & loaded, sorted(unused & loaded)


@pytest.mark.kernel
def test_a_process_attaching_a_uprobe_leaves_out_usdt_and_the_assembler(testdata: Path) -> None:
    from pybpf.link import Executable

    libc = Executable("libc.so.6").path  # by path: the child needs no library search
    code = (
        "from pybpf.core import Collection, load_collection_spec\n"
        "from pybpf.link import Executable\n"
        f"spec = load_collection_spec({str(testdata / 'link_uprobe-el.o')!r})\n"
        "for name, prog in spec.programs.items():\n"
        "    prog.autoload = name == 'on_entry'\n"
        "with Collection(spec) as coll:\n"
        f"    Executable({libc!r}).uprobe(coll.programs['on_entry'], 'malloc').close()\n"
    )
    loaded = _modules_after(code)
    # The perf event readers: a uprobe opens a perf event, it reads none.
    unused = {
        "pybpf.link.usdt",
        "pybpf.link.usdt_attach",
        "pybpf.asm.builder",
        "pybpf.core.perf",
        "pybpf.core.ringbuf",
        "pybpf.core._reader",
        "pybpf.core._records",
        "pybpf.core._ext_target",
        "platform",
        "sysconfig",
        "ipaddress",
    }
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.link.uprobe" in loaded
