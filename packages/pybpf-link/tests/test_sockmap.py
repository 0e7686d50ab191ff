"""sk_msg and sk_skb programs on sockmaps, on TCP pairs over lo of the test's own namespace."""

from __future__ import annotations

import contextlib
import errno
import importlib
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection, features
from pybpf.elf import AttachType, ProgramType, load_collection_spec
from pybpf.link import LegacySockmapLink, LinkType, SockmapLink, sockmap

# The tests run with --import-mode=importlib: their folder is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns_helpers import own_netns

pytestmark = pytest.mark.kernel


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "link_sock-el.o")
    spec.programs["pass_skb"].autoload = False  # SK_SKB_VERDICT: 5.13+
    with own_netns(), Collection(spec) as c:
        yield c


@pytest.fixture(params=["link", "legacy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Attach through a bpf_link where the kernel has one, or force BPF_PROG_ATTACH."""
    if request.param == "legacy":
        monkeypatch.setattr(importlib.import_module("pybpf.link.sockmap"), "_sockmap_links", False)
    return str(request.param)


@contextlib.contextmanager
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected (client, server) TCP pair on 127.0.0.1."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.socket() as client:
            client.connect(listener.getsockname())
            server, _ = listener.accept()
            with server:
                server.settimeout(1)
                yield client, server


def test_msg_verdict_drops_until_close(coll: Collection, path: str) -> None:
    socks = coll.maps["socks"]
    with sockmap(coll.programs["drop_msg"], socks) as link:
        if path == "legacy":
            assert type(link) is LegacySockmapLink
            assert link.type is None
        else:
            features.have_bpf_link()
            if type(link) is SockmapLink:
                assert link.type == LinkType.SOCKMAP
        with tcp_pair() as (client, _):
            socks[0] = client.fileno()
            with pytest.raises(PermissionError):
                client.send(b"dropped")
            assert coll.variables["messages"].get() == 1
    # Sockets keep the programs they had when added: a new pair has none.
    with tcp_pair() as (client, server):
        socks[0] = client.fileno()
        client.send(b"through")
        assert server.recv(64) == b"through"
    assert coll.variables["messages"].get() == 1


def test_stream_parser_and_verdict(coll: Collection, path: str) -> None:
    socks = coll.maps["socks"]
    parser = sockmap(coll.programs["parse_stream"], socks)
    with parser, sockmap(coll.programs["pass_stream"], socks):
        with tcp_pair() as (client, server):
            socks[0] = server.fileno()
            client.send(b"stream")
            assert server.recv(64) == b"stream"
        assert coll.variables["skbs"].get() >= 1


def test_skb_verdict_needs_its_attach_type(testdata: Path) -> None:
    features.have_attach_type(ProgramType.SK_SKB, AttachType.SK_SKB_VERDICT)
    spec = load_collection_spec(testdata / "link_sock-el.o")
    for prog in spec.programs.values():
        prog.autoload = prog.name == "pass_skb"
    with own_netns(), Collection(spec) as c:
        prog, socks = c.programs["pass_skb"], c.maps["socks"]
        with pytest.raises(ValueError, match="pass attach_type="):
            sockmap(prog, socks)
        with sockmap(prog, socks, attach_type=AttachType.SK_SKB_VERDICT), tcp_pair() as pair:
            client, server = pair
            socks[1] = server.fileno()
            client.send(b"verdict")
            assert server.recv(64) == b"verdict"
        assert c.variables["skbs"].get() >= 1


def test_bad_arguments_attach_nothing(coll: Collection, path: str) -> None:
    before = link_ids_now()
    socks = coll.maps["socks"]
    with pytest.raises(TypeError, match="REUSEPORT_SOCKARRAY map, not SOCKMAP or SOCKHASH"):
        sockmap(coll.programs["pass_msg"], coll.maps["group"])
    with pytest.raises(TypeError, match="map must be a Map"):
        sockmap(coll.programs["pass_msg"], 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SK_MSG program; attach type SK_SKB_STREAM_VERDICT"):
        sockmap(coll.programs["pass_msg"], socks, attach_type=AttachType.SK_SKB_STREAM_VERDICT)
    with pytest.raises(ValueError, match="CGROUP_DEVICE is not one sockmap attaches"):
        sockmap(coll.programs["pass_msg"], socks, attach_type=AttachType.CGROUP_DEVICE)
    assert not our_links_since(before)


def test_second_program_of_one_attach_type(coll: Collection, path: str) -> None:
    socks = coll.maps["socks"]
    before = link_ids_now()
    with sockmap(coll.programs["pass_msg"], socks) as first:
        if isinstance(first, SockmapLink):
            with pytest.raises(BPFError, match="SK_MSG_VERDICT") as e:
                sockmap(coll.programs["drop_msg"], socks)
            assert e.value.errno == errno.EBUSY
            return
        # BPF_PROG_ATTACH replaces the map's program; closing the replaced one is harmless.
        with sockmap(coll.programs["drop_msg"], socks):
            first.close()
            with tcp_pair() as (client, _):
                socks[0] = client.fileno()
                with pytest.raises(PermissionError):
                    client.send(b"dropped")
    assert not our_links_since(before)
