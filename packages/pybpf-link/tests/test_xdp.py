"""XDP on the real kernel, on ``lo`` of a namespace each test makes: counts, drops, exclusivity."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since
from netns_util import UDPFlow, netns  # noqa: F401 (netns: a fixture)

from pybpf.core import BPFError, Collection, NotSupportedError
from pybpf.elf import load_collection_spec
from pybpf.link import (
    InterfaceNotFoundError,
    LegacyXDPLink,
    LinkType,
    XDPLink,
    XDPMode,
    links,
    xdp,
    xdp_legacy,
)
from pybpf.link._netlink import Route

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("netns")]

UDP, TCP = 17, 6


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    with Collection(load_collection_spec(testdata / "link_net-el.o")) as c:
        yield c


@pytest.fixture
def other(testdata: Path) -> Iterator[Collection]:
    """A second copy of the programs: another XDP program to compete with the first."""
    with Collection(load_collection_spec(testdata / "link_net-el.o")) as c:
        yield c


def _by_proto(coll: Collection, proto: int) -> int:
    return int(coll.variables["xdp_by_proto"].get()[proto])


def _xdp_program_id() -> int:
    with Route() as route:
        return route.xdp_program_id(socket.if_nametoindex("lo"), "read lo's XDP program")


def _tcp_handshake() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname(), timeout=1),
    ):
        server.accept()[0].close()


def test_counts_per_protocol_and_drops_a_port(coll: Collection) -> None:
    prog = coll.programs["xdp_count"]
    with UDPFlow() as flow, UDPFlow() as dropped, xdp(prog, "lo") as link:
        assert isinstance(link, XDPLink)
        assert link.type == LinkType.XDP
        assert flow.delivered(3) == 3
        assert _by_proto(coll, UDP) == 3
        _tcp_handshake()
        assert _by_proto(coll, TCP) >= 3
        coll.variables["xdp_drop_port"].set(dropped.port)
        assert dropped.delivered(2) == 0
        assert flow.delivered(1) == 1
        assert _by_proto(coll, UDP) == 6
    assert link.closed
    with UDPFlow() as flow:
        assert flow.delivered(2) == 2
    assert _by_proto(coll, UDP) == 6


def test_link_is_listed_and_opens_by_id(coll: Collection) -> None:
    prog = coll.programs["xdp_count"]
    with xdp(prog, socket.if_nametoindex("lo"), mode=XDPMode.GENERIC) as link:
        info = link.info()
        assert info.type == LinkType.XDP
        assert info.ifindex == socket.if_nametoindex("lo")
        assert info.program_id == prog.info().id
        assert info.id in {i.id for i in links()}
        assert _xdp_program_id() == prog.info().id
    assert info.id not in {i.id for i in links()}
    assert _xdp_program_id() == 0


def test_an_attached_program_is_exclusive(coll: Collection, other: Collection) -> None:
    mine, theirs = coll.programs["xdp_count"], other.programs["xdp_count"]
    with xdp(mine, "lo"):
        before = link_ids_now()
        with pytest.raises(BPFError) as busy:
            xdp(theirs, "lo")
        assert busy.value.errno == errno.EBUSY
        with pytest.raises(BPFError, match="lo through netlink"):
            xdp_legacy(theirs, "lo", replace=True)
        assert not our_links_since(before)
        assert _xdp_program_id() == mine.info().id


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    prog = coll.programs["xdp_count"]
    before = link_ids_now()
    with pytest.raises(InterfaceNotFoundError, match="nonesuch0"):
        xdp(prog, "nonesuch0")
    with pytest.raises(InterfaceNotFoundError, match="4242"):
        xdp_legacy(prog, 4242)
    with pytest.raises(ValueError, match="not an interface name"):
        xdp(prog, "../lo")
    with pytest.raises(TypeError, match="interface must be a name or an ifindex"):
        xdp(prog, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode 99 is not an XDPMode"):
        xdp(prog, "lo", mode=99)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prog must be a Program"):
        xdp("xdp_count", "lo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected must be a Program"):
        xdp_legacy(prog, "lo", expected=3)  # type: ignore[arg-type]
    assert not our_links_since(before)
    assert _xdp_program_id() == 0


def test_wrong_program_type_is_refused(coll: Collection) -> None:
    before = link_ids_now()
    with pytest.raises(BPFError, match="to XDP of lo"):
        xdp(coll.programs["tcx_ingress"], "lo")
    with pytest.raises(BPFError, match="through netlink"):
        xdp_legacy(coll.programs["tcx_ingress"], "lo")
    assert not our_links_since(before)
    assert _xdp_program_id() == 0


def test_driver_mode_on_lo_is_refused(coll: Collection) -> None:
    with pytest.raises(BPFError, match="XDP of lo"):
        xdp(coll.programs["xdp_count"], "lo", mode=XDPMode.DRIVER)
    assert _xdp_program_id() == 0


def test_legacy_attach_counts_until_close(coll: Collection) -> None:
    prog = coll.programs["xdp_count"]
    with UDPFlow() as flow:
        link = xdp_legacy(prog, "lo", mode=XDPMode.GENERIC)
        with link:
            assert isinstance(link, LegacyXDPLink)
            assert link.type is None
            assert link.ifindex == socket.if_nametoindex("lo")
            assert _xdp_program_id() == prog.info().id
            assert flow.delivered(2) == 2
            assert _by_proto(coll, UDP) == 2
        assert _xdp_program_id() == 0
        assert flow.delivered(1) == 1
        assert _by_proto(coll, UDP) == 2


def test_legacy_replaces_only_the_expected_program(coll: Collection, other: Collection) -> None:
    mine, theirs = coll.programs["xdp_count"], other.programs["xdp_count"]
    with xdp_legacy(mine, "lo") as first:
        with pytest.raises(BPFError) as busy:
            xdp_legacy(theirs, "lo")
        assert busy.value.errno == errno.EBUSY
        with pytest.raises(BPFError) as stale:
            xdp_legacy(theirs, "lo", expected=theirs)
        assert stale.value.errno == errno.EEXIST
        with pytest.raises(BPFError) as linked:
            xdp(theirs, "lo")  # a link does not take over a netlink program
        assert linked.value.errno == errno.EBUSY
        with xdp_legacy(theirs, "lo", expected=mine):
            assert _xdp_program_id() == theirs.info().id
            first.close()  # no longer ours: left alone
            assert _xdp_program_id() == theirs.info().id
        assert _xdp_program_id() == 0


def test_legacy_link_has_no_bpf_link_operations(coll: Collection) -> None:
    with xdp_legacy(coll.programs["xdp_count"], "lo") as link:
        for call in (link.info, link.detach, lambda: link.pin("/sys/fs/bpf/x")):
            with pytest.raises(NotSupportedError):
                call()


def test_update_swaps_the_program(coll: Collection, other: Collection) -> None:
    mine, theirs = coll.programs["xdp_count"], other.programs["xdp_count"]
    with UDPFlow() as flow, xdp(mine, "lo") as link:
        link.update(theirs, old=mine)
        assert _xdp_program_id() == theirs.info().id
        assert flow.delivered(1) == 1
        assert (_by_proto(coll, UDP), _by_proto(other, UDP)) == (0, 1)
        with pytest.raises(BPFError):
            link.update(mine, old=mine)  # no longer the link's program
