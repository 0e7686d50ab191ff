"""Socket filters and reuseport selectors on the real kernel, in the test's own namespace."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.core import BPFError, Collection
from pybpf.elf import CollectionSpec, load_collection_spec
from pybpf.link import detach_reuseport, detach_socket_filter, reuseport, socket_filter

# The tests run with --import-mode=importlib: their folder is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns_helpers import own_netns

pytestmark = pytest.mark.kernel

UDP_HEADER = 8


def _spec(testdata: Path, *programs: str) -> CollectionSpec:
    spec = load_collection_spec(testdata / "link_sock-el.o")
    for prog in spec.programs.values():
        prog.autoload = prog.name in programs
    return spec


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = _spec(testdata, "truncate_packets", "select_socket")
    spec.variables["keep_bytes"].set(UDP_HEADER + 4)
    spec.variables["pick"].set(1)
    with Collection(spec) as c:
        yield c


def _udp() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def test_socket_filter_truncates_until_detached(coll: Collection) -> None:
    with own_netns(), _udp() as rx, _udp() as tx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(1)
        socket_filter(coll.programs["truncate_packets"], rx)
        tx.sendto(b"abcdefgh", rx.getsockname())
        assert rx.recv(64) == b"abcd"
        assert coll.variables["filtered"].get() == 1
        detach_socket_filter(rx.fileno())
        tx.sendto(b"abcdefgh", rx.getsockname())
        assert rx.recv(64) == b"abcdefgh"
        assert coll.variables["filtered"].get() == 1
        with pytest.raises(BPFError, match="detach_socket_filter") as e:
            detach_socket_filter(rx)
        assert e.value.errno == errno.ENOENT


def test_reuseport_selects_until_detached(coll: Collection) -> None:
    with own_netns(), _udp() as first, _udp() as second:
        for s in (first, second):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            s.bind(("127.0.0.1", 0 if s is first else first.getsockname()[1]))
            s.setblocking(False)
        coll.maps["group"][0] = first.fileno()
        coll.maps["group"][1] = second.fileno()
        reuseport(coll.programs["select_socket"], first)
        for _ in range(8):
            with _udp() as tx:  # a new source port each time: the kernel's hash varies
                tx.sendto(b"x", first.getsockname())
        assert coll.variables["selected"].get() == 8
        with pytest.raises(BlockingIOError):
            first.recv(8)
        assert [second.recv(8) for _ in range(8)] == [b"x"] * 8
        detach_reuseport(second)
        with _udp() as tx:
            tx.sendto(b"x", first.getsockname())
        assert coll.variables["selected"].get() == 8


def test_bad_arguments_attach_nothing(coll: Collection, tmp_path: Path, testdata: Path) -> None:
    prog = coll.programs["truncate_packets"]
    with open(tmp_path / "file", "w") as f, pytest.raises(BPFError, match="not a socket") as e:
        socket_filter(prog, f.fileno())
    assert e.value.errno == errno.ENOTSOCK
    with pytest.raises(TypeError, match="sock must be a socket or an fd"):
        socket_filter(prog, "socket")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prog must be a Program"):
        socket_filter(None, 3)  # type: ignore[arg-type]
    with _udp() as s:
        with pytest.raises(TypeError, match="SOCKET_FILTER program, not SK_REUSEPORT"):
            reuseport(prog, s)
        with pytest.raises(TypeError, match="SK_REUSEPORT program, not SOCKET_FILTER"):
            socket_filter(coll.programs["select_socket"], s)
        with pytest.raises(BPFError) as e:
            detach_socket_filter(s)
        assert e.value.errno == errno.ENOENT
