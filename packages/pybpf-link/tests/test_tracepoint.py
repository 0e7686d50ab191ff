"""Tracepoints on the real kernel: the program runs on the event, and not after close()."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.asm import Helper
from pybpf.core import BPFError, Collection, NotSupportedError, ObjectKindError, features
from pybpf.elf import ProgramType, load_collection_spec
from pybpf.link import (
    LegacyPerfEventLink,
    Link,
    LinkInfo,
    LinkType,
    PerfEventLink,
    TracepointNotFoundError,
    links,
    tracepoint,
)

pytestmark = pytest.mark.kernel


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "link_tracepoint-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    spec.programs["cookie_getppid"].autoload = False  # bpf_get_attach_cookie: 5.15+
    with Collection(spec) as c:
        yield c


def _calls(coll: Collection) -> int:
    return int(coll.variables["calls"].get())


def test_program_runs_until_close(coll: Collection) -> None:
    link = tracepoint(coll.programs["count_getpid"], "syscalls", "sys_enter_getpid")
    with link:
        assert isinstance(link, PerfEventLink | LegacyPerfEventLink)
        for _ in range(5):
            os.getpid()
        assert _calls(coll) == 5
    assert link.closed
    os.getpid()
    assert _calls(coll) == 5


def test_link_info_and_listing(coll: Collection) -> None:
    with tracepoint(coll.programs["count_getpid"], "syscalls", "sys_enter_getpid") as link:
        if link.type is None:
            pytest.skip("perf-event bpf_links are Linux 5.15+: attached by ioctl")
        assert link.type == LinkType.PERF_EVENT
        info = link.info()
        assert isinstance(info, LinkInfo)
        assert info.program_id == coll.programs["count_getpid"].info().id
        assert info.id in {i.id for i in links()}
        with Link.from_id(info.id) as again:
            assert type(again) is PerfEventLink
            assert again.info().id == info.id
    assert info.id not in {i.id for i in links()}


def _have_cookies() -> bool:
    try:
        features.have_helper(ProgramType.TRACEPOINT, Helper.GET_ATTACH_COOKIE)
    except NotSupportedError:
        return False
    return True


def test_cookie(testdata: Path) -> None:
    features.have_helper(ProgramType.TRACEPOINT, Helper.GET_ATTACH_COOKIE)  # 5.15: else a skip
    spec = load_collection_spec(testdata / "link_tracepoint-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    with Collection(spec) as c:
        prog = c.programs["cookie_getppid"]
        with tracepoint(prog, "syscalls", "sys_enter_getppid", cookie=0xC0FFEE):
            os.getppid()
        assert c.variables["last_cookie"].get() == 0xC0FFEE


def test_missing_tracepoint_leaks_nothing(coll: Collection) -> None:
    before = link_ids_now()
    with pytest.raises(TracepointNotFoundError, match="syscalls/sys_enter_nonesuch"):
        tracepoint(coll.programs["count_getpid"], "syscalls", "sys_enter_nonesuch")
    with pytest.raises(ValueError, match="not a tracefs event name"):
        tracepoint(coll.programs["count_getpid"], "../..", "x")
    assert not our_links_since(before)


def test_wrong_program_type_is_refused(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "demo-el.o")
    with Collection(spec) as c, pytest.raises(BPFError, match="tracepoint syscalls/sys_enter"):
        tracepoint(c.programs["count_packets"], "syscalls", "sys_enter_getpid")


def test_from_fd_of_a_map_is_refused(coll: Collection) -> None:
    with pytest.raises(ObjectKindError):
        Link.from_fd(coll.maps[".bss"].fd.number)


def test_info_names_the_tracepoint(coll: Collection) -> None:
    from pybpf.link import PerfEventInfo, TracepointInfo

    with tracepoint(coll.programs["count_getpid"], "syscalls", "sys_enter_getpid") as link:
        if link.type is None:
            pytest.skip("perf-event bpf_links are Linux 5.15+: attached by ioctl")
        info = link.info()
        assert isinstance(info, PerfEventInfo)
        if info.event_type is None:
            return  # before 6.6 the kernel says no more
        assert isinstance(info, TracepointInfo)
        assert info.tracepoint == "sys_enter_getpid"
        assert info.cookie in (0, None)


def test_auto_attach_by_section(coll: Collection) -> None:
    from pybpf.link import attach

    with attach(coll.programs["count_getpid"]) as link:
        assert "syscalls/sys_enter_getpid" in link.name
        os.getpid()
        assert _calls(coll) == 1
    os.getpid()
    assert _calls(coll) == 1


def test_attach_all_is_all_or_nothing(testdata: Path) -> None:
    from pybpf.link import attach_all

    spec = load_collection_spec(testdata / "link_tracepoint-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    cookies = _have_cookies()
    spec.programs["cookie_getppid"].autoload = cookies  # bpf_get_attach_cookie: 5.15+
    with Collection(spec) as c:
        before = link_ids_now()
        made = attach_all(c)
        try:
            assert len(made) == (2 if cookies else 1)
            os.getpid()
            assert int(c.variables["calls"].get()) == 1
        finally:
            for link in made:
                link.close()
        assert not our_links_since(before)


def test_opened_program_has_no_section(coll: Collection) -> None:
    from pybpf.core import Program
    from pybpf.link import SectionNotAttachableError, attach

    opened = Program.from_id(coll.programs["count_getpid"].info().id)
    with opened, pytest.raises(SectionNotAttachableError, match="no section"):
        attach(opened)
