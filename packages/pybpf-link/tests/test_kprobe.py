"""Kprobes on the real kernel: getpid() and getppid() counted through every kind of kprobe.

The host kernel has no kprobes and no fprobe: these tests skip there with the
kernel's answer and run in the VM rows.
"""

from __future__ import annotations

import errno
import os
import platform
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from pybpf.asm import Helper
from pybpf.core import BPFError, Collection, features
from pybpf.elf import ProgramType, load_collection_spec
from pybpf.link import (
    KernelSymbolNotFoundError,
    KprobeInfo,
    KprobeMultiInfo,
    KprobeMultiLink,
    LegacyPerfEventLink,
    Link,
    LinkType,
    PerfEventLink,
    kprobe,
    kprobe_multi,
    ksyscall,
    link_ids,
    syscall_function,
    tracefs_path,
)

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the programs read x86-64's pt_regs"),
]

Loader = Callable[..., Collection]


@pytest.fixture
def load(testdata: Path) -> Iterator[Loader]:
    """Load link_kprobe with only the named programs (the others need newer kernels)."""
    with ExitStack() as stack:

        def loader(*programs: str) -> Collection:
            spec = load_collection_spec(testdata / "link_kprobe-el.o")
            spec.variables["target_tgid"].set(os.getpid())
            for name, prog in spec.programs.items():
                prog.autoload = name in programs
            return stack.enter_context(Collection(spec))

        yield loader


def _get(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


def _ids(coll: Collection) -> set[int]:
    """The links of ``coll``'s programs (other processes may be making links meanwhile)."""
    programs = {p.info().id for p in coll.programs.values()}
    found = set()
    for link_id in link_ids():
        try:
            with Link.from_id(link_id) as link:
                if link.info().program_id in programs:
                    found.add(link_id)
        except BPFError as e:
            # Gone meanwhile (ENOENT), or another process's link not yet made (EAGAIN).
            if e.errno not in (errno.ENOENT, errno.EAGAIN):
                raise
    return found


GETPID = syscall_function("getpid")
GETPPID = syscall_function("getppid")
GETPGID = syscall_function("getpgid")


# -- kprobe, kretprobe, ksyscall -------------------------------------------------------


def test_kprobe_runs_until_close(load: Loader) -> None:
    coll = load("count_calls")
    link = kprobe(coll.programs["count_calls"], GETPID)
    with link:
        assert isinstance(link, PerfEventLink | LegacyPerfEventLink)
        assert link.name == f"kprobe {GETPID}"
        for _ in range(5):
            os.getpid()
        assert _get(coll, "calls") == 5
        if link.type is not None:
            info = link.info()
            if isinstance(info, KprobeInfo):  # 6.6+ says what the event is
                assert info.function == GETPID
                assert not info.retprobe
    assert link.closed
    os.getpid()
    assert _get(coll, "calls") == 5


def test_ksyscall_names_the_wrapper(load: Loader) -> None:
    coll = load("count_calls")
    with ksyscall(coll.programs["count_calls"], "getppid") as link:
        assert link.name == f"kprobe {GETPPID}"
        os.getppid()
        os.getppid()
    os.getppid()
    assert _get(coll, "calls") == 2


def test_kretprobe_sees_the_return_value(load: Loader) -> None:
    coll = load("return_value")
    with kprobe(coll.programs["return_value"], GETPID, retprobe=True) as link:
        assert link.name == f"kretprobe {GETPID}"
        pid = os.getpid()
    assert _get(coll, "returned") == pid
    assert _get(coll, "calls") == 1


def test_maxactive_goes_through_tracefs(load: Loader) -> None:
    coll = load("return_value")
    events = Path(tracefs_path()) / "kprobe_events"
    with kprobe(coll.programs["return_value"], GETPID, retprobe=True, maxactive=16):
        added = [line for line in events.read_text().splitlines() if "pybpf/" in line]
        assert len(added) == 1
        assert added[0].startswith("r16:pybpf/")
        assert GETPID in added[0]
        pid = os.getpid()
    assert _get(coll, "returned") == pid
    assert _get(coll, "calls") == 1
    assert not [line for line in events.read_text().splitlines() if "pybpf/" in line]
    os.getpid()
    assert _get(coll, "calls") == 1


def test_kprobe_by_address(load: Loader) -> None:
    address = _kallsyms_address(GETPID)
    coll = load("count_calls")
    with kprobe(coll.programs["count_calls"], address=address) as link:
        assert link.name == f"kprobe {address:#x}"
        os.getpid()
    os.getpid()
    assert _get(coll, "calls") == 1


def test_kprobe_cookie(load: Loader) -> None:
    features.have_helper(ProgramType.KPROBE, Helper.get_attach_cookie)
    coll = load("read_cookie")
    with kprobe(coll.programs["read_cookie"], GETPID, cookie=0xC0FFEE):
        os.getpid()
    assert _get(coll, "last_cookie") == 0xC0FFEE


def test_missing_function_leaves_nothing(load: Loader) -> None:
    coll = load("count_calls")
    before = _ids(coll)
    prog = coll.programs["count_calls"]
    with pytest.raises(KernelSymbolNotFoundError, match="pybpf_no_such_function") as info:
        kprobe(prog, "pybpf_no_such_function")
    assert info.value.symbol == "pybpf_no_such_function"
    with pytest.raises(KernelSymbolNotFoundError, match="pybpf_no_such_function"):
        kprobe(prog, "pybpf_no_such_function", retprobe=True, maxactive=4)
    assert _ids(coll) == before
    events = Path(tracefs_path()) / "kprobe_events"
    if events.exists():
        assert "pybpf_no_such_function" not in events.read_text()


def test_kprobe_arguments_are_checked(load: Loader) -> None:
    coll = load("count_calls")
    prog = coll.programs["count_calls"]
    before = _ids(coll)
    with pytest.raises(TypeError, match="prog must be a Program"):
        kprobe("count_calls", GETPID)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="either a symbol or an address"):
        kprobe(prog)
    with pytest.raises(TypeError, match="either a symbol or an address"):
        kprobe(prog, GETPID, address=0x1000)
    with pytest.raises(TypeError, match="symbol must be a str"):
        kprobe(prog, 12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a kernel symbol"):
        kprobe(prog, "two words")
    with pytest.raises(ValueError, match="not a kernel symbol"):
        kprobe(prog, ":getpid")
    with pytest.raises(ValueError, match="offset -1 is out of range"):
        kprobe(prog, GETPID, offset=-1)
    with pytest.raises(ValueError, match="cookie"):
        kprobe(prog, GETPID, cookie=1 << 64)
    with pytest.raises(ValueError, match="a kretprobe takes no offset"):
        kprobe(prog, GETPID, offset=4, retprobe=True)
    with pytest.raises(ValueError, match="maxactive= is for kretprobes"):
        kprobe(prog, GETPID, maxactive=4)
    with pytest.raises(ValueError, match="offset= goes with a symbol"):
        kprobe(prog, address=0x1000, offset=4)
    with pytest.raises(ValueError, match="not a system call name"):
        ksyscall(prog, "__x64_sys_getpid; rm")
    with pytest.raises(TypeError, match="syscall_name must be a str"):
        ksyscall(prog, None)  # type: ignore[arg-type]
    assert _ids(coll) == before


def test_syscall_function_follows_the_kernel() -> None:
    name = syscall_function("openat")
    assert name in ("__x64_sys_openat", "__se_sys_openat")
    with open("/proc/kallsyms") as f:
        wrapped = any(line.split()[2] == "__x64_sys_bpf" for line in f if line.strip())
    assert name == ("__x64_sys_openat" if wrapped else "__se_sys_openat")


# -- kprobe_multi ----------------------------------------------------------------------


def test_kprobe_multi_pattern(load: Loader) -> None:
    # ftrace lists a function under one name: 0-argument syscalls' wrappers
    # (__x64_sys_getpid) share their address with __do_sys_getpid and are
    # listed under that name, so a pattern matches a one-argument syscall.
    pattern = GETPGID[: -len("pgid")] + "?gid"
    coll = load("multi_count")
    link = kprobe_multi(coll.programs["multi_count"], pattern=pattern)
    with link:
        assert isinstance(link, KprobeMultiLink)
        assert link.type == LinkType.KPROBE_MULTI
        for _ in range(3):
            os.getpgid(0)
        assert _get(coll, "calls") >= 3
    counted = _get(coll, "calls")
    os.getpgid(0)
    assert _get(coll, "calls") == counted


def test_kprobe_multi_symbols_with_cookies(load: Loader) -> None:
    features.have_helper(ProgramType.KPROBE, Helper.get_attach_cookie)  # 5.15: loads before 5.18
    coll = load("multi_cookie")
    prog = coll.programs["multi_cookie"]
    with kprobe_multi(prog, symbols=[GETPPID, GETPID], cookies=[10, 1]) as link:
        os.getpid()
        assert _get(coll, "last_cookie") == 1
        os.getppid()
        assert _get(coll, "last_cookie") == 10
        info = link.info()
        assert info.id in _ids(coll)
        assert isinstance(info, KprobeMultiInfo)
        assert not info.retprobe
        if info.addresses:  # 6.6+ reports them (kptr_restrict may hide them)
            assert len(info.addresses) == 2
        if info.cookies is not None:  # 6.9+: in the order of the sorted addresses
            assert sorted(info.cookies) == [1, 10]
        with Link.from_id(info.id) as again:
            assert type(again) is KprobeMultiLink
    os.getpid()
    assert _get(coll, "cookie_sum") == 11
    assert info.id not in _ids(coll)


def test_kprobe_multi_addresses_and_retprobe(load: Loader) -> None:
    coll = load("multi_count")
    prog = coll.programs["multi_count"]
    addresses = [_kallsyms_address(GETPID), _kallsyms_address(GETPPID)]
    with kprobe_multi(prog, addresses=addresses, retprobe=True):
        os.getpid()
        os.getppid()
    os.getpid()
    assert _get(coll, "calls") == 2


def test_kprobe_multi_session(load: Loader) -> None:
    coll = load("session_count")
    with kprobe_multi(coll.programs["session_count"], symbols=[GETPID], session=True):
        os.getpid()
        os.getpid()
    os.getpid()
    assert _get(coll, "calls") == 4  # entry and return, twice


def test_kprobe_multi_missing_functions(load: Loader) -> None:
    coll = load("multi_count")
    prog = coll.programs["multi_count"]
    before = _ids(coll)
    with pytest.raises(KernelSymbolNotFoundError, match="pybpf_no_such_function"):
        kprobe_multi(prog, symbols=[GETPID, "pybpf_no_such_function"])
    with pytest.raises(KernelSymbolNotFoundError, match="pybpf_no_such_"):
        kprobe_multi(prog, pattern="pybpf_no_such_*")
    assert _ids(coll) == before


def test_kprobe_multi_arguments_are_checked(load: Loader) -> None:
    coll = load("multi_count")
    prog = coll.programs["multi_count"]
    before = _ids(coll)
    with pytest.raises(TypeError, match=r"exactly one of .*\(got none\)"):
        kprobe_multi(prog)
    with pytest.raises(TypeError, match="got symbols, pattern"):
        kprobe_multi(prog, symbols=[GETPID], pattern="x*")
    with pytest.raises(TypeError, match="symbols must be a sequence of str"):
        kprobe_multi(prog, symbols=GETPID)
    with pytest.raises(ValueError, match="symbols is empty"):
        kprobe_multi(prog, symbols=[])
    with pytest.raises(ValueError, match="given twice"):
        kprobe_multi(prog, symbols=[GETPID, GETPID])
    with pytest.raises(ValueError, match="2 cookies for 1 functions"):
        kprobe_multi(prog, symbols=[GETPID], cookies=[1, 2])
    with pytest.raises(ValueError, match="cookies= need symbols= or addresses="):
        kprobe_multi(prog, pattern="x*", cookies=[1])
    with pytest.raises(ValueError, match="address -1 is out of range"):
        kprobe_multi(prog, addresses=[-1])
    with pytest.raises(ValueError, match="retprobe= goes without"):
        kprobe_multi(prog, symbols=[GETPID], retprobe=True, session=True)
    with pytest.raises(ValueError, match="pattern is empty"):
        kprobe_multi(prog, pattern="")
    assert _ids(coll) == before


def _kallsyms_address(name: str) -> int:
    with open("/proc/kallsyms") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == name:
                address = int(fields[0], 16)
                if address == 0:
                    pytest.skip("/proc/kallsyms hides addresses (kptr_restrict)")
                return address
    pytest.skip(f"{name} not in /proc/kallsyms")
