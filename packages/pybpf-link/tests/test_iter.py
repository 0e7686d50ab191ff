"""BPF iterators on the real kernel: tasks, maps and map elements, read whole or line by line.

Where this kernel refuses iterator programs (a probe says so), the tests skip
with its answer; the VM rows run them.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection, NotSupportedError, features
from pybpf.core.sys import AttachType, ProgramType
from pybpf.elf import load_collection_spec
from pybpf.link import IterLink, IterTask, Link, LinkType, iter

pytestmark = pytest.mark.kernel


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    features.have_attach_type(ProgramType.TRACING, AttachType.TRACE_ITER)
    spec = load_collection_spec(testdata / "link_iter-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    try:
        c = Collection(spec)
    except BPFError as e:
        if e.errno != errno.EPERM:
            raise
        # The probe's program at bpf_iter_task passes where a kernel refuses
        # these loads (EPERM after the verifier's empty run): the load is the
        # probe then, and its refusal the kernel's answer.
        raise NotSupportedError("iterator programs", code=e.errno, reason=str(e)) from e
    with c:
        yield c


def _tasks(text: bytes) -> list[tuple[int, int, str]]:
    rows = [line.split(maxsplit=2) for line in text.decode().splitlines()]
    return [(int(tgid), int(pid), comm) for tgid, pid, comm in rows]


def test_task_iterator_lists_this_process(coll: Collection) -> None:
    with iter(coll.programs["list_tasks"]) as link:
        assert isinstance(link, IterLink) and link.type == LinkType.ITER
        assert link.name == "iter/task"
        rows = _tasks(link.read())
        assert (os.getpid(), os.getpid()) in {(tgid, pid) for tgid, pid, _ in rows}
        # Each read is a new run: a thread started now shows up in the next one.
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait)
        worker.start()
        try:
            again = _tasks(link.read())
            assert worker.native_id in {pid for _, pid, _ in again}
        finally:
            stop.set()
            worker.join()
        with Link.from_id(link.info().id) as opened:
            assert type(opened) is IterLink


def test_open_streams_lines(coll: Collection) -> None:
    with iter(coll.programs["list_tasks"]) as link, link.open() as f:
        lines = list(f)
    assert lines and all(line.endswith(b"\n") for line in lines)
    assert str(os.getpid()).encode() in lines[0]


def test_map_iterator_sees_our_map(coll: Collection) -> None:
    with iter(coll.programs["list_maps"]) as link:
        text = link.read().decode()
    squares = coll.maps["squares"].info()
    assert f"{squares.id} squares" in text.splitlines()


def test_map_element_iterator(coll: Collection) -> None:
    squares = coll.maps["squares"]
    for k in range(1, 6):
        squares.update(k, k * k)
    with iter(coll.programs["list_elems"], map=squares) as link:
        assert link.name == "iter/bpf_map_elem of map"
        pairs = sorted(tuple(map(int, line.split())) for line in link.read().splitlines())
    assert pairs == [(k, k * k) for k in range(1, 6)]


def test_task_iterator_of_one_process(coll: Collection) -> None:
    # Linux 6.1+: the task iterator takes a tid, pid or pidfd (before, NotSupportedError).
    spec_all = coll.programs["list_tasks"]
    with iter(spec_all, task=os.getpid()) as link:
        tgids = {tgid for tgid, _, _ in _tasks(link.read())}
    assert tgids == {os.getpid()}
    pidfd = os.pidfd_open(os.getpid())
    try:
        with iter(spec_all, task=IterTask(pid_fd=pidfd)) as by_fd:
            assert {tgid for tgid, _, _ in _tasks(by_fd.read())} == {os.getpid()}
    finally:
        os.close(pidfd)


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    before = link_ids_now()
    prog = coll.programs["list_elems"]
    squares = coll.maps["squares"]
    with pytest.raises(TypeError, match="prog must be a Program"):
        iter(squares)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most one of map, task, cgroup"):
        iter(prog, map=squares, task=1)
    with pytest.raises(TypeError, match="map must be a Map"):
        iter(prog, map=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="task 0 is no process"):
        iter(prog, task=0)
    with pytest.raises(ValueError, match="order is for cgroup"):
        iter(prog, order=1)
    with pytest.raises(ValueError, match="exactly one of tid, pid, pid_fd"):
        IterTask(tid=1, pid=2)
    with pytest.raises(FileNotFoundError):
        iter(prog, cgroup="/nonexistent/pybpf-cgroup")
    assert not our_links_since(before)
