"""USDT on the real kernel: Python's own function__entry probe, through libbpf's usdt.bpf.h.

CPython 3.11 passes its function__entry probe only while a trace or profile
function is set (it shares the tracing path of the eval loop): the child
process sets one.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import ClosedError, Collection, NotSupportedError, features
from pybpf.elf import AttachType, load_collection_spec
from pybpf.elf.binary import ET_DYN
from pybpf.link import (
    Executable,
    LegacyPerfEventLink,
    LinkType,
    PerfEventLink,
    UprobeMultiInfo,
    UprobeMultiLink,
    USDTLink,
    USDTProbeNotFoundError,
    have_uprobe_multi,
)

pytestmark = pytest.mark.kernel

PYTHON = "/usr/bin/python3"
_CALLS = 7
_SNIPPET = f"""\
import sys
sys.setprofile(lambda *args: None)
def pybpf_probed(i):
    return i
for line in sys.stdin:
    for i in range({_CALLS}):
        pybpf_probed(i)
    print("done", flush=True)
"""


@pytest.fixture(scope="module")
def python() -> Executable:
    exe = Executable(PYTHON)
    try:
        exe.usdt_probe_sites("python", "function__entry")
    except USDTProbeNotFoundError as e:
        pytest.skip(str(e))
    return exe


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [PYTHON, "-c", _SNIPPET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        proc.communicate(timeout=30)


def _collection(
    testdata: Path, target: int, *, multi: bool = False, section: str | None = None
) -> Collection:
    spec = load_collection_spec(testdata / "link_usdt-el.o")
    if multi:
        spec.programs["function_entry"].attach_type = AttachType.TRACE_UPROBE_MULTI
    if section is not None:
        spec.programs["function_entry"].section = section
    coll = Collection(spec)
    coll.variables["target_tgid"].set(target)
    return coll


def _call_functions(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "done\n"


def _named_calls(coll: Collection, name: str) -> int:
    key = name.encode().ljust(32, b"\0")
    value = coll.maps["calls_by_name"].raw.get(key)
    return 0 if value is None else int.from_bytes(value, "little")


def _semaphore(python: Executable, pid: int) -> int:
    """The probe's semaphore as process ``pid`` holds it."""
    site = python.usdt_probe_sites("python", "function__entry")[0]
    base = 0
    if python.binary.type == ET_DYN:
        st = os.stat(python.path)
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                span, _, pgoff, _, inode = line.split()[:5]
                if int(inode) == st.st_ino and int(pgoff, 16) == 0:
                    base = int(span.split("-")[0], 16)
                    break
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        mem.seek(base + site.semaphore_address)
        return int(struct.unpack("=H", mem.read(2))[0])


def _specs_in_use(coll: Collection) -> int:
    """How many entries of the object's spec array hold a spec."""
    return sum(any(v) for v in coll.maps["__bpf_usdt_specs"].raw.values())


def _check_counts(
    coll: Collection, python: Executable, link: USDTLink, proc: subprocess.Popen[str]
) -> None:
    with link:
        assert isinstance(link, USDTLink)
        assert link.name == f"usdt {python.path}:python:function__entry"
        assert _semaphore(python, proc.pid) > 0
        _call_functions(proc)
        assert _named_calls(coll, "pybpf_probed") == _CALLS
        assert coll.variables["last_cookie"].get() == 0xFEED
    assert link.closed
    assert _semaphore(python, proc.pid) == 0
    _call_functions(proc)
    assert _named_calls(coll, "pybpf_probed") == _CALLS
    assert _specs_in_use(coll) == 0


def test_a_usdt_program_fires_through_one_uprobe_multi_link(
    testdata: Path, python: Executable, child: subprocess.Popen[str]
) -> None:
    """libbpf 1.5's default: a usdt program is loaded for uprobe_multi where the kernel can."""
    features.have_uprobe_multi_link()  # else skipped with the kernel's answer
    with _collection(testdata, child.pid) as coll:
        prog = coll.programs["function_entry"]
        assert prog.spec is not None
        assert prog.spec.attach_type == AttachType.TRACE_UPROBE_MULTI
        link = python.usdt(prog, "python", "function__entry", cookie=0xFEED)
        (part,) = link.links
        assert isinstance(part, UprobeMultiLink)
        assert link.type == LinkType.UPROBE_MULTI
        info = link.info()
        assert isinstance(info, UprobeMultiInfo)
        assert info.id == part.info().id
        sites = python.usdt_probe_sites("python", "function__entry")
        if info.offsets:  # reported from 6.8
            assert sorted(info.offsets) == sorted(s.offset for s in sites)
            assert info.path == os.path.realpath(python.path)
        _check_counts(coll, python, link, child)
        with pytest.raises(ClosedError):
            link.info()


def test_one_uprobe_per_site_for_a_program_not_loaded_for_uprobe_multi(
    testdata: Path, python: Executable, child: subprocess.Popen[str]
) -> None:
    """The path of kernels without uprobe_multi links (5.10, 6.1), and of such programs."""
    with _collection(testdata, child.pid, section="uprobe") as coll:
        prog = coll.programs["function_entry"]
        assert prog.spec is not None and prog.spec.attach_type is None
        link = python.usdt(prog, "python", "function__entry", cookie=0xFEED)
        assert len(link.links) == len(python.usdt_probe_sites("python", "function__entry"))
        assert all(isinstance(p, PerfEventLink | LegacyPerfEventLink) for p in link.links)
        assert link.type is None
        with pytest.raises(NotSupportedError, match="one uprobe per site"):
            link.info()
        _check_counts(coll, python, link, child)


def test_a_usdt_program_is_loaded_as_the_probe_says(testdata: Path) -> None:
    """Decided by the cached feature probe, never by the kernel's version."""
    try:
        features.have_uprobe_multi_link()
        expected = AttachType.TRACE_UPROBE_MULTI
    except NotSupportedError:
        expected = None
    with _collection(testdata, os.getpid()) as coll:
        spec = coll.programs["function_entry"].spec
        assert spec is not None and spec.attach_type == expected


def test_python_function_entry_with_a_pid(
    testdata: Path, python: Executable, child: subprocess.Popen[str]
) -> None:
    with _collection(testdata, child.pid) as coll:
        prog = coll.programs["function_entry"]
        link = python.usdt(prog, "python", "function__entry", pid=child.pid, cookie=0xFEED)
        _check_counts(coll, python, link, child)


def test_one_uprobe_multi_link_for_all_sites(
    testdata: Path, python: Executable, child: subprocess.Popen[str]
) -> None:
    have_uprobe_multi()
    with _collection(testdata, child.pid, multi=True) as coll:
        link = python.usdt(
            coll.programs["function_entry"], "python", "function__entry", cookie=0xFEED
        )
        (part,) = link.links
        assert isinstance(part, UprobeMultiLink)
        _check_counts(coll, python, link, child)


def test_two_probes_take_two_spec_ids(testdata: Path, python: Executable) -> None:
    with _collection(testdata, os.getpid()) as coll:
        prog = coll.programs["function_entry"]
        with python.usdt(prog, "python", "function__entry", cookie=1):
            with python.usdt(prog, "python", "function__return", cookie=2):
                assert _specs_in_use(coll) == 2
            assert _specs_in_use(coll) == 1
        assert _specs_in_use(coll) == 0


def test_errors_leave_nothing_behind(testdata: Path, python: Executable) -> None:
    before = link_ids_now()
    with _collection(testdata, os.getpid()) as coll:
        prog = coll.programs["function_entry"]
        with pytest.raises(USDTProbeNotFoundError, match="python:no_such_probe"):
            python.usdt(prog, "python", "no_such_probe")
        with pytest.raises(ValueError, match="pid 0"):
            python.usdt(prog, "python", "function__entry", pid=0)
        with pytest.raises(ValueError, match="cookie -1 is out of range"):
            python.usdt(prog, "python", "function__entry", cookie=-1)
        with pytest.raises(TypeError, match="provider must be a str"):
            python.usdt(prog, b"python", "function__entry")  # type: ignore[arg-type]
        assert _specs_in_use(coll) == 0
    spec = load_collection_spec(testdata / "link_uprobe-el.o")
    for prog_name, prog_spec in spec.programs.items():
        prog_spec.autoload = prog_name == "on_entry"  # the others need 5.15 or 6.6
    with Collection(spec) as other, pytest.raises(ValueError, match="no __bpf_usdt_specs map"):
        python.usdt(other.programs["on_entry"], "python", "function__entry")
    assert not our_links_since(before)


def test_no_cookie_kernels_need_a_pid_for_a_pie(testdata: Path, native: Path) -> None:
    """The rule of libbpf: before 5.15 a PIE's sites are found by address, per process."""
    from pybpf.link import usdt_attach

    if usdt_attach._has_bpf_cookie():
        pytest.skip("this kernel has BPF cookies: the rule does not apply")
    target = Executable(native / "target")  # a PIE with the probe test:traced
    with _collection(testdata, os.getpid()) as coll, pytest.raises(NotSupportedError, match="pid"):
        target.usdt(coll.programs["function_entry"], "test", "traced")


def test_semaphore_raised_through_process_memory(
    python: Executable, child: subprocess.Popen[str]
) -> None:
    """The fallback for kernels without uprobe reference counters (before 4.20)."""
    from pybpf.link import usdt_attach

    site = python.usdt_probe_sites("python", "function__entry")[0]
    bias = usdt_attach._load_bias(python, child.pid, site, "test")
    assert _semaphore(python, child.pid) == 0
    release = usdt_attach._raise_semaphore(child.pid, site.semaphore_address + bias, "test")
    assert _semaphore(python, child.pid) == 1
    release()
    assert _semaphore(python, child.pid) == 0
