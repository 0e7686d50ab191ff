"""tc's clsact and cls_bpf through netlink, on ``lo`` of a namespace each test makes."""

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
from pybpf.link import InterfaceNotFoundError, TCLink, tc
from pybpf.link._netlink import Route, clsact_parent

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("netns")]


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    with Collection(load_collection_spec(testdata / "link_net-el.o")) as c:
        yield c


def _seen(coll: Collection) -> int:
    return int(coll.variables["seen"].get())


def _filters(direction: str) -> bool:
    with Route() as route:
        lo = socket.if_nametoindex("lo")
        return route.has_filters(lo, clsact_parent(direction == "ingress"), "list filters")


def _has_clsact() -> bool:
    """Whether lo has a clsact qdisc (adding one says; what was added is removed)."""
    with Route() as route:
        lo = socket.if_nametoindex("lo")
        if route.add_clsact(lo, "probe clsact"):
            route.delete_clsact(lo, "remove the probe's clsact")
            return False
        return True


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_filter_counts_and_drops_until_close(coll: Collection, direction: str) -> None:
    with UDPFlow() as flow, UDPFlow() as dropped:
        coll.variables["watch_port"].set(flow.port)
        coll.variables["drop_port"].set(dropped.port)
        before = link_ids_now()
        with tc(coll.programs["tc_ingress"], "lo", direction=direction, priority=3) as link:
            assert isinstance(link, TCLink)
            assert link.type is None
            assert (link.priority, link.handle) == (3, 1)
            assert link.name == f"tc {direction} lo prio 3 handle 0x1"
            assert not our_links_since(before)  # no bpf_link behind it
            assert _filters(direction)
            assert flow.delivered(2) == 2
            assert _seen(coll) == 2
            assert dropped.delivered(1) == 0
        assert not _has_clsact()  # made for the link, removed with it
        assert flow.delivered(1) == 1
        assert dropped.delivered(1) == 1
        assert _seen(coll) == 2


def test_a_qdisc_that_was_there_stays(coll: Collection) -> None:
    with Route() as route:
        assert route.add_clsact(socket.if_nametoindex("lo"), "add clsact")
    with tc(coll.programs["tc_ingress"], "lo"):
        pass
    assert not _filters("ingress")
    assert _has_clsact()


def test_the_qdisc_stays_while_another_filter_uses_it(coll: Collection) -> None:
    prog = coll.programs["tc_ingress"]
    with UDPFlow() as flow:
        coll.variables["watch_port"].set(flow.port)
        first = tc(prog, "lo")  # makes the qdisc
        with first, tc(prog, "lo", direction="egress", handle=2):
            first.close()
            assert _has_clsact()
            assert flow.delivered(1) == 1
            assert _seen(coll) == 1  # egress only now
        assert not _has_clsact()


def test_a_taken_priority_and_handle_is_refused(coll: Collection) -> None:
    prog = coll.programs["tc_ingress"]
    with UDPFlow() as flow, tc(prog, "lo", priority=5, handle=7):
        coll.variables["watch_port"].set(flow.port)
        with pytest.raises(BPFError) as taken:
            tc(prog, "lo", priority=5, handle=7)
        assert taken.value.errno == errno.EEXIST
        assert flow.delivered(1) == 1
        assert _seen(coll) == 1  # the first filter is untouched


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    prog = coll.programs["tc_ingress"]
    with pytest.raises(ValueError, match="direction must be 'ingress' or 'egress'"):
        tc(prog, "lo", direction="up")
    with pytest.raises(ValueError, match="must not be 0"):
        tc(prog, "lo", priority=0)
    with pytest.raises(ValueError, match="priority 65536 is out of range"):
        tc(prog, "lo", priority=1 << 16)
    with pytest.raises(TypeError, match="handle must be an int"):
        tc(prog, "lo", handle="1")  # type: ignore[arg-type]
    with pytest.raises(InterfaceNotFoundError):
        tc(prog, "nonesuch0")
    with pytest.raises(BPFError, match="tc ingress of lo"):
        tc(coll.programs["xdp_count"], "lo")  # wrong program type
    assert not _has_clsact()


def test_no_bpf_link_operations(coll: Collection) -> None:
    with tc(coll.programs["tc_ingress"], "lo") as link:
        with pytest.raises(NotSupportedError):
            link.info()
        with pytest.raises(NotSupportedError):
            link.update(coll.programs["tcx_ingress"])
