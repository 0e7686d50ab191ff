"""Network-namespace programs on the real kernel, in a namespace each test makes."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection
from pybpf.elf import load_collection_spec
from pybpf.link import Link, LinkType, NetNsLink, NotANetworkNamespaceError, netns

# The tests run with --import-mode=importlib: their folder is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns_helpers import own_netns

pytestmark = pytest.mark.kernel

REDIRECT_PORT = 7007
THIS_NETNS = "/proc/thread-self/ns/net"


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "link_netns-el.o")
    spec.variables["redirect_port"].set(REDIRECT_PORT)
    with Collection(spec) as c:
        yield c


def _connects(port: int) -> bool:
    with socket.socket() as client:
        try:
            client.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return False
        return True


def test_sk_lookup_redirects_until_close(coll: Collection) -> None:
    with own_netns(), socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        coll.maps["target"][0] = listener.fileno()
        assert not _connects(REDIRECT_PORT)
        with netns(coll.programs["redirect_port_lookup"], THIS_NETNS) as link:
            assert isinstance(link, NetNsLink)
            assert link.type == LinkType.NETNS
            assert _connects(REDIRECT_PORT)
            conn, _ = listener.accept()
            conn.close()
            assert coll.variables["redirected"].get() == 1
        assert not _connects(REDIRECT_PORT)
        assert coll.variables["redirected"].get() == 1


def test_flow_dissector_is_one_per_namespace(coll: Collection) -> None:
    prog = coll.programs["dissect"]
    before = link_ids_now()
    with own_netns():
        with open(THIS_NETNS) as ns, netns(prog, ns.fileno()) as link:
            assert link.name.endswith("FLOW_DISSECTOR")
            with Link.from_id(link.info().id) as again:
                assert type(again) is NetNsLink
            with pytest.raises(BPFError, match="FLOW_DISSECTOR") as e:
                netns(prog, THIS_NETNS)
            assert e.value.errno in (errno.E2BIG, errno.EEXIST)  # E2BIG: one program at most
        # Closed: another may attach.
        with netns(prog, THIS_NETNS):
            pass
    assert not our_links_since(before)


def test_bad_targets_attach_nothing(coll: Collection, tmp_path: Path, testdata: Path) -> None:
    prog = coll.programs["redirect_port_lookup"]
    before = link_ids_now()
    with pytest.raises(NotANetworkNamespaceError, match="another kind"):
        netns(prog, "/proc/self/ns/uts")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotANetworkNamespaceError, match="not a namespace file"):
        netns(prog, tmp_path / "file")
    with pytest.raises(NotANetworkNamespaceError, match="nonesuch"):
        netns(prog, tmp_path / "nonesuch")
    with pytest.raises(TypeError, match="netns must be a path or an fd"):
        netns(prog, None)  # type: ignore[arg-type]
    spec = load_collection_spec(testdata / "link_sock-el.o")
    for p in spec.programs.values():
        p.autoload = p.name == "truncate_packets"
    with Collection(spec) as c, pytest.raises(TypeError, match="SOCKET_FILTER program, not"):
        netns(c.programs["truncate_packets"], THIS_NETNS)
    assert not our_links_since(before)
