"""Start-up: what a process pays before pybpf.link does anything (issue #18).

Each check runs a fresh interpreter and looks at ``sys.modules`` afterwards:
a module that only some calls need is imported by those calls, not up front.
"""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds once it has run ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


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


def test_parsing_usdt_arguments_needs_no_elf_reader_or_btf_codecs() -> None:
    loaded = _modules_after("from pybpf.link import parse_usdt_args\nparse_usdt_args('-4@%edi')")
    unused = {"pybpf.elf.binary", "pybpf.btf.codec", "pybpf.btf.spec", "pybpf.core"}
    assert not unused & loaded, sorted(unused & loaded)
