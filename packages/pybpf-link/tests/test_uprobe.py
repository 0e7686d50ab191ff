"""Uprobes on the real kernel: native functions and libc's, return values, pids, cookies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.asm import Helper
from pybpf.core import BPFError, Collection, ProgramType, features
from pybpf.elf import load_collection_spec
from pybpf.link import (
    Executable,
    LegacyPerfEventLink,
    LinkType,
    PerfEventLink,
    SymbolNotFoundError,
    UprobeMultiLink,
    have_uprobe_multi,
    links,
)

pytestmark = pytest.mark.kernel

_MULTI = ("multi_entry", "multi_return")


def _supported(check: object) -> bool:
    try:
        check()  # type: ignore[operator]
    except Exception:  # any refusal: the programs stay unloaded
        return False
    return True


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "link_uprobe-el.o")
    spec.programs["with_cookie"].autoload = _supported(
        lambda: features.have_helper(ProgramType.KPROBE, Helper.get_attach_cookie)
    )
    for name in _MULTI:
        spec.programs[name].autoload = _supported(have_uprobe_multi)
    with Collection(spec) as c:
        yield c


@pytest.fixture(scope="module")
def target(native: Path) -> Executable:
    return Executable(native / "target")


def _held(argv: list[str]) -> subprocess.Popen[str]:
    """A process that runs ``argv`` once a line arrives on its stdin (its pid known first)."""
    return subprocess.Popen(
        ["/bin/sh", "-c", 'read _ && exec "$@"', "sh", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _release(proc: subprocess.Popen[str], line: str = "\n") -> None:
    assert proc.stdin is not None
    proc.stdin.write(line)
    proc.stdin.flush()


def _run_held(coll: Collection, argv: list[str]) -> None:
    """Run ``argv`` to its end as the program's target process."""
    proc = _held(argv)
    coll.variables["target_tgid"].set(proc.pid)
    _release(proc)
    proc.communicate(timeout=30)


def _get(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


def test_native_function_and_its_return(coll: Collection, target: Executable) -> None:
    entry = target.uprobe(coll.programs["on_entry"], "traced")
    ret = target.uprobe(coll.programs["on_return"], "traced", retprobe=True)
    with entry, ret:
        assert isinstance(entry, PerfEventLink | LegacyPerfEventLink)
        assert entry.name == f"uprobe {target.path}:traced"
        assert ret.name == f"uretprobe {target.path}:traced"
        _run_held(coll, [target.path])
        assert _get(coll, "calls") == 2
        assert _get(coll, "last_arg") == 2  # main calls traced(2)
        assert _get(coll, "last_ret") == 4  # which returns 2 * 2
    _run_held(coll, [target.path])
    assert _get(coll, "calls") == 2


def test_by_virtual_address(coll: Collection, target: Executable) -> None:
    (sym,) = [s for s in target.symbols() if s.name == "traced" and s.value]
    with target.uprobe(coll.programs["on_entry"], address=sym.value) as link:
        assert link.name == f"uprobe {target.path}:{target.symbol_offset('traced'):#x}"
        _run_held(coll, [target.path])
        assert _get(coll, "last_arg") == 2
    with target.uprobe(coll.programs["on_entry"], offset=target.symbol_offset("traced")):
        _run_held(coll, [target.path])
        assert _get(coll, "calls") == 2


_GETPIDS = """\
import os, sys
sys.stdin.readline()
for _ in range(5):
    os.getpid()
print("done", flush=True)
sys.stdin.readline()
"""


def test_libc_function_in_one_process(coll: Collection) -> None:
    """A pid filter: another process calling the function concurrently is not seen."""
    watched = subprocess.Popen(
        [sys.executable, "-c", _GETPIDS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    other = subprocess.Popen(
        [sys.executable, "-c", _GETPIDS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        libc = Executable("libc.so.6", pid=watched.pid)
        coll.variables["target_tgid"].set(watched.pid)
        prog = coll.programs["on_return"]
        with libc.uprobe(prog, "getpid", pid=watched.pid, retprobe=True):
            for proc in (watched, other):
                _release(proc)
                assert proc.stdout is not None
                assert proc.stdout.readline() == "done\n"
            assert _get(coll, "calls") == 5
            assert _get(coll, "last_ret") == watched.pid
            assert _get(coll, "others") == 0
    finally:
        for proc in (watched, other):
            proc.communicate("\n", timeout=30)


def test_cookie(coll: Collection, target: Executable) -> None:
    features.have_helper(ProgramType.KPROBE, Helper.get_attach_cookie)
    with target.uprobe(coll.programs["with_cookie"], "traced", cookie=0xC0FFEE):
        _run_held(coll, [target.path])
    assert _get(coll, "last_cookie") == 0xC0FFEE


def test_uprobe_multi_symbols_and_cookies(coll: Collection, target: Executable) -> None:
    have_uprobe_multi()
    link = target.uprobe_multi(coll.programs["multi_entry"], ["traced", "second"], cookies=[1, 10])
    with link:
        assert isinstance(link, UprobeMultiLink)
        assert link.type == LinkType.UPROBE_MULTI
        assert link.info().id in {i.id for i in links()}
        _run_held(coll, [target.path])
        assert _get(coll, "calls") == 2
        assert _get(coll, "cookie_sum") == 11
    _run_held(coll, [target.path])
    assert _get(coll, "calls") == 2


def test_uprobe_multi_pattern_and_return(coll: Collection, target: Executable) -> None:
    have_uprobe_multi()
    with target.uprobe_multi(coll.programs["multi_return"], pattern="trace?", retprobe=True):
        _run_held(coll, [target.path])
    assert _get(coll, "calls") == 1
    assert _get(coll, "last_ret") == 4


def test_uprobe_multi_needs_a_multi_program(coll: Collection, target: Executable) -> None:
    have_uprobe_multi()
    before = {i.id for i in links()}
    with pytest.raises(BPFError, match="not loaded for uprobe_multi"):
        target.uprobe_multi(coll.programs["on_entry"], ["traced"])
    assert {i.id for i in links()} <= before  # nothing of ours left (others may go)


def test_errors_leave_nothing_attached(coll: Collection, target: Executable) -> None:
    prog = coll.programs["on_entry"]
    before = {i.id for i in links()}
    with pytest.raises(SymbolNotFoundError, match="no_such_function"):
        target.uprobe(prog, "no_such_function")
    with pytest.raises(ValueError, match="symbol or an address, not both"):
        target.uprobe(prog, "traced", address=0x1000)
    with pytest.raises(ValueError, match="give a symbol, an address or a file offset"):
        target.uprobe(prog)
    with pytest.raises(ValueError, match="address 0x1 is in only a non-executable segment"):
        target.uprobe(prog, address=1)  # the ELF header's page
    with pytest.raises(ValueError, match="address 0x7fff0000 is in no loadable segment"):
        target.uprobe(prog, address=0x7FFF0000)
    with pytest.raises(ValueError, match="pid 0"):
        target.uprobe(prog, "traced", pid=0)
    with pytest.raises(ValueError, match="offset -1 is out of range"):
        target.uprobe(prog, "traced", offset=-1)
    with pytest.raises(TypeError, match="prog must be a Program"):
        target.uprobe("on_entry", "traced")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a single string"):
        target.uprobe_multi(prog, "traced")
    with pytest.raises(ValueError, match="exactly one of symbols, pattern and offsets"):
        target.uprobe_multi(prog, ["traced"], pattern="t*")
    with pytest.raises(ValueError, match="1 cookies for 2 probes"):
        target.uprobe_multi(prog, ["traced", "second"], cookies=[1])
    with pytest.raises(SymbolNotFoundError, match="no function matches"):
        target.uprobe_multi(prog, pattern="zz*")
    assert {i.id for i in links()} <= before  # nothing of ours left (others may go)


def test_wrong_program_type_is_refused(testdata: Path, target: Executable) -> None:
    before = {i.id for i in links()}
    spec = load_collection_spec(testdata / "demo-el.o")
    with Collection(spec) as c, pytest.raises(BPFError, match=r"uretprobe .*target:traced"):
        target.uprobe(c.programs["count_packets"], "traced", retprobe=True)
    assert {i.id for i in links()} <= before  # nothing of ours left (others may go)
