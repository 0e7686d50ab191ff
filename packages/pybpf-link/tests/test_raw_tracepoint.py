"""Raw and BTF tracepoints on the real kernel: the program runs on a syscall until close()."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection, NotSupportedError, Program
from pybpf.elf import load_collection_spec
from pybpf.link import Link, LinkType, RawTracepointLink, raw_tracepoint, tracing

pytestmark = pytest.mark.kernel

#: getpgid's number, the syscall the programs count (tracepoints pass the number).
GETPGID = {"x86_64": 121, "aarch64": 155}
COOKIE_READERS = ("raw_cookie_reader", "btf_cookie_reader")


def _spec(testdata: Path):  # type: ignore[no-untyped-def]
    machine = platform.machine()
    if machine not in GETPGID:
        pytest.skip(f"getpgid's syscall number on {machine} is not known here")
    spec = load_collection_spec(testdata / "link_tracing-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    spec.variables["target_nr"].set(GETPGID[machine])
    return spec


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = _spec(testdata)
    for name in COOKIE_READERS:  # bpf_get_attach_cookie in raw_tp/tp_btf: 6.10+
        spec.programs[name].autoload = False
    with Collection(spec) as c:
        yield c


def _count(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


def _trigger(times: int) -> None:
    for _ in range(times):
        os.getpgid(0)


def test_raw_tracepoint_runs_until_close(coll: Collection) -> None:
    link = raw_tracepoint(coll.programs["raw_sys_enter"], "sys_enter")
    with link:
        assert isinstance(link, RawTracepointLink)
        assert link.type == LinkType.RAW_TRACEPOINT
        assert link.name == "raw_tp sys_enter"
        _trigger(3)
        assert _count(coll, "raw_calls") == 3
    assert link.closed
    _trigger(1)
    assert _count(coll, "raw_calls") == 3


def test_tp_btf_runs_until_close(coll: Collection) -> None:
    link = tracing(coll.programs["btf_sys_enter"])
    with link:
        assert isinstance(link, RawTracepointLink)
        assert link.name == "tp_btf/sys_enter"
        _trigger(4)
        assert _count(coll, "btf_calls") == 4
        info = link.info()
        assert info.program_id == coll.programs["btf_sys_enter"].info().id
        with Link.from_id(info.id) as again:
            assert type(again) is RawTracepointLink
    _trigger(1)
    assert _count(coll, "btf_calls") == 4


def test_tp_btf_of_an_opened_program(coll: Collection) -> None:
    # No spec, so no attach type: BPF_RAW_TRACEPOINT_OPEN with no name.
    with Program.from_fd(coll.programs["btf_sys_enter"].fd.number) as opened:
        assert opened.spec is None
        with tracing(opened) as link:
            assert isinstance(link, RawTracepointLink)
            _trigger(2)
        with pytest.raises(ValueError, match="cookie"):
            tracing(opened, cookie=1)
    assert _count(coll, "btf_calls") == 2


def test_pinned_raw_tracepoint(coll: Collection, tmp_path: Path) -> None:
    pins = Path("/sys/fs/bpf") / f"pybpf-rawtp-{os.getpid()}"
    pins.mkdir()
    try:
        with raw_tracepoint(coll.programs["raw_sys_enter"], "sys_enter") as link:
            link.pin(pins / "link")
        with Link.from_pin(pins / "link") as again:  # the pin kept it attached
            assert type(again) is RawTracepointLink
            _trigger(2)
            assert _count(coll, "raw_calls") == 2
            again.unpin()
    finally:
        for p in pins.iterdir():
            p.unlink()
        pins.rmdir()


@pytest.mark.parametrize("reader", COOKIE_READERS)
def test_cookie(testdata: Path, reader: str) -> None:
    spec = _spec(testdata)
    chosen = spec.programs[reader]
    for name, p in spec.programs.items():
        p.autoload = name == reader
    try:
        coll = Collection(spec)
    except BPFError as e:
        raise NotSupportedError(
            f"bpf_get_attach_cookie in {chosen.section} programs", min_version="6.10"
        ) from e
    with coll:
        prog = coll.programs[reader]
        attach = (
            (lambda: raw_tracepoint(prog, "sys_enter", cookie=0xBEEF))
            if (reader.startswith("raw"))
            else (lambda: tracing(prog, cookie=0xBEEF))
        )
        with attach():
            _trigger(1)
        variable = "raw_cookie" if reader.startswith("raw") else "btf_cookie"
        assert _count(coll, variable) == 0xBEEF


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    before = link_ids_now()
    raw = coll.programs["raw_sys_enter"]
    btf = coll.programs["btf_sys_enter"]
    with pytest.raises(TypeError, match="prog must be a Program"):
        raw_tracepoint("raw_sys_enter", "sys_enter")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name must be a str"):
        raw_tracepoint(raw, b"sys_enter")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a tracepoint name"):
        raw_tracepoint(raw, "syscalls/sys_enter")
    with pytest.raises(ValueError, match="cookie -1 is out of range"):
        raw_tracepoint(raw, "sys_enter", cookie=-1)
    with pytest.raises(ValueError, match="attach with tracing"):
        raw_tracepoint(btf, "sys_enter")
    with pytest.raises(ValueError, match="attach with raw_tracepoint"):
        tracing(raw)
    with pytest.raises(BPFError, match="pybpf_no_such_tracepoint") as e:
        raw_tracepoint(raw, "pybpf_no_such_tracepoint")
    assert e.value.errno == 2
    assert not our_links_since(before)
