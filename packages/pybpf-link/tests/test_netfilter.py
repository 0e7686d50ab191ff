"""Netfilter programs (6.4+) on the real kernel: UDP on lo of the test's own namespace."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import Collection, features
from pybpf.elf import ProgramType, load_collection_spec
from pybpf.link import (
    LinkType,
    NetfilterFamily,
    NetfilterFlags,
    NetfilterHook,
    NetfilterLink,
    netfilter,
)

# The tests run with --import-mode=importlib: their folder is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns_helpers import own_netns

pytestmark = pytest.mark.kernel

PAYLOAD = b"n" * 123
IP_UDP_HEADERS = 20 + 8


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    features.have_program_type(ProgramType.NETFILTER)
    spec = load_collection_spec(testdata / "link_netfilter-el.o")
    spec.variables["drop_len"].set(IP_UDP_HEADERS + len(PAYLOAD))
    with Collection(spec) as c:
        yield c


def _arrives(receiver: socket.socket, sender: socket.socket) -> bool:
    sender.sendto(PAYLOAD, receiver.getsockname())
    try:
        return receiver.recv(1024) == PAYLOAD
    except TimeoutError:
        return False


def test_local_in_drop_until_close(coll: Collection) -> None:
    prog = coll.programs["drop_by_length"]
    with (
        own_netns(),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(0.2)
        assert _arrives(rx, tx)
        family, hook = NetfilterFamily.IPV4, NetfilterHook.LOCAL_IN
        with netfilter(prog, family=family, hook=hook, priority=-100) as link:
            assert isinstance(link, NetfilterLink)
            assert link.type == LinkType.NETFILTER
            assert not _arrives(rx, tx)
            assert coll.variables["dropped"].get() == 1
        assert _arrives(rx, tx)
        assert coll.variables["dropped"].get() == 1


def test_defrag_flag(coll: Collection) -> None:
    with own_netns():
        prog = coll.programs["drop_by_length"]
        with netfilter(
            prog,
            family=NetfilterFamily.IPV6,
            hook=NetfilterHook.PRE_ROUTING,
            priority=-300,
            flags=NetfilterFlags.IP_DEFRAG,
        ) as link:
            assert link.name == "netfilter IPV6 PRE_ROUTING priority -300"


def test_bad_arguments_attach_nothing(coll: Collection, testdata: Path) -> None:
    prog = coll.programs["drop_by_length"]
    before = link_ids_now()
    ipv4, local_in = NetfilterFamily.IPV4, NetfilterHook.LOCAL_IN
    with pytest.raises(ValueError, match="family 7 is not a NetfilterFamily"):
        netfilter(prog, family=7, hook=local_in, priority=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hook must be a NetfilterHook"):
        netfilter(prog, family=ipv4, hook="in", priority=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="priority"):
        netfilter(prog, family=ipv4, hook=local_in, priority=-(2**31))
    with pytest.raises(ValueError, match="flags"):
        netfilter(prog, family=ipv4, hook=local_in, priority=0, flags=8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="above the defragmenter"):
        netfilter(prog, family=ipv4, hook=local_in, priority=-400, flags=NetfilterFlags.IP_DEFRAG)
    spec = load_collection_spec(testdata / "link_netns-el.o")
    with Collection(spec) as c, pytest.raises(TypeError, match="SK_LOOKUP program, not NETFILTER"):
        netfilter(c.programs["redirect_port_lookup"], family=ipv4, hook=local_in, priority=0)
    assert not our_links_since(before)
