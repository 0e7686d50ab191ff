"""netkit on the real kernel: a pair between two namespaces the test makes, traffic both ways.

Where the kernel has no netkit device (6.7+, ``CONFIG_NETKIT``), making the
pair raises NotSupportedError with the kernel's answer, which skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since
from netns_util import UDPFlow, fresh_netns, inside, spare_netns

from pybpf.core import BPFError, Collection, features
from pybpf.elf import AttachType, ProgramType, load_collection_spec
from pybpf.link import InterfaceNotFoundError, LinkType, NetkitLink, netkit
from pybpf.link._netlink import Route, interface_index

pytestmark = pytest.mark.kernel

NEAR, FAR = "10.77.0.1", "10.77.0.2"


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    with Collection(load_collection_spec(testdata / "link_net-el.o")) as c:
        yield c


@pytest.fixture
def far() -> Iterator[int]:
    """Run the test beside netkit primary ``nk0``; the peer ``nk1`` is in namespace ``far``."""
    with fresh_netns(), spare_netns() as far:
        with Route() as route:
            route.add_pair("nk0", "netkit", "nk1", "make a netkit pair", peer_netns_fd=far)
            index = interface_index("nk0", "nk0")[0]
            route.add_address(index, NEAR, 24, "address nk0")
            route.set_up(index, "bring nk0 up")
        with inside(far), Route() as route:
            index = interface_index("nk1", "nk1")[0]
            route.add_address(index, FAR, 24, "address nk1")
            route.set_up(index, "bring nk1 up")
        yield far


def _seen(coll: Collection) -> int:
    return int(coll.variables["seen"].get())


@pytest.mark.parametrize("program", ["netkit_primary", "netkit_peer"])
def test_counts_and_drops_until_close(coll: Collection, far: int, program: str) -> None:
    # The primary's program runs on what nk0 sends (to the far side), the
    # peer's on what nk1 sends back (from the far side).
    if program == "netkit_primary":
        flow, dropped = UDPFlow(FAR, receiver_netns=far), UDPFlow(FAR, receiver_netns=far)
    else:
        flow, dropped = UDPFlow(NEAR, sender_netns=far), UDPFlow(NEAR, sender_netns=far)
    with flow, dropped:
        coll.variables["watch_port"].set(flow.port)
        coll.variables["drop_port"].set(dropped.port)
        before = link_ids_now()
        with netkit(coll.programs[program], "nk0") as link:  # the side from the section
            assert isinstance(link, NetkitLink)
            assert link.name == f"netkit {program.removeprefix('netkit_')} nk0"
            assert link.info().type == LinkType.NETKIT
            assert flow.delivered(3) == 3
            assert _seen(coll) == 3
            assert dropped.delivered(1) == 0
        assert not our_links_since(before)
        assert flow.delivered(1) == 1
        assert dropped.delivered(1) == 1
        assert _seen(coll) == 3


def test_peer_flag_overrides_the_section_and_orders(coll: Collection, far: int) -> None:
    first, second = coll.programs["order_first"], coll.programs["order_second"]
    with netkit(second, "nk0", peer=False) as later:
        assert later.name == "netkit primary nk0"
        with (
            netkit(first, "nk0", peer=False, before=later),
            UDPFlow(FAR, receiver_netns=far) as flow,
        ):
            coll.variables["watch_port"].set(flow.port)
            assert flow.delivered(1) == 1
            assert (
                0
                < int(coll.variables["first_step"].get())
                < int(coll.variables["second_step"].get())
            )


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    with fresh_netns():
        before = link_ids_now()
        with pytest.raises(TypeError, match="peer must be a bool or None"):
            netkit(coll.programs["netkit_peer"], "lo", peer="yes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="before or after, not both"):
            netkit(
                coll.programs["netkit_peer"],
                "lo",
                before=coll.programs["order_first"],
                after=coll.programs["order_first"],
            )
        with pytest.raises(InterfaceNotFoundError):
            netkit(coll.programs["netkit_peer"], "nk0")
        assert not our_links_since(before)


def test_a_device_that_is_not_netkit_is_refused(coll: Collection) -> None:
    # A kernel without netkit links (before 6.7) answers NotSupportedError: a skip.
    features.have_attach_type(ProgramType.SCHED_CLS, AttachType.NETKIT_PRIMARY)
    with fresh_netns():
        before = link_ids_now()
        with pytest.raises(BPFError, match="netkit primary of lo"):
            netkit(coll.programs["netkit_primary"], "lo")
        assert not our_links_since(before)
