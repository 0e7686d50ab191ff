"""tcx on the real kernel, on ``lo`` of a namespace each test makes: counts, drops, ordering."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since
from netns_util import UDPFlow, netns  # noqa: F401 (netns: a fixture)

from pybpf.core import BPFError, Collection, features
from pybpf.elf import AttachType, ProgramType, load_collection_spec
from pybpf.link import InterfaceNotFoundError, Link, LinkType, TCXLink, links, tcx

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("netns")]


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    features.have_attach_type(ProgramType.SCHED_CLS, AttachType.TCX_INGRESS)  # 6.6+
    with Collection(load_collection_spec(testdata / "link_net-el.o")) as c:
        yield c


def _get(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


@pytest.mark.parametrize("program", ["tcx_ingress", "tcx_egress"])
def test_counts_and_drops_until_close(coll: Collection, program: str) -> None:
    with UDPFlow() as flow, UDPFlow() as dropped:
        coll.variables["watch_port"].set(flow.port)
        coll.variables["drop_port"].set(dropped.port)
        with tcx(coll.programs[program], "lo") as link:  # the direction from the section
            assert isinstance(link, TCXLink)
            assert link.name == f"tcx {program.removeprefix('tcx_')} lo"
            assert flow.delivered(3) == 3
            assert _get(coll, "seen") == 3
            assert dropped.delivered(1) == 0
            info = link.info()
            assert info.type == LinkType.TCX
            assert info.ifindex == 1  # lo, in the test's own namespace
            assert info.id in {i.id for i in links()}
        assert flow.delivered(1) == 1
        assert dropped.delivered(1) == 1
        assert _get(coll, "seen") == 3
    assert info.id not in {i.id for i in links()}


def test_direction_overrides_the_section(coll: Collection) -> None:
    with UDPFlow() as flow:
        coll.variables["watch_port"].set(flow.port)
        with tcx(coll.programs["tcx_ingress"], "lo", direction="egress") as link:
            assert link.name == "tcx egress lo"
            assert flow.delivered(1) == 1
        assert _get(coll, "seen") == 1


def _order(coll: Collection, flow: UDPFlow) -> tuple[str, str]:
    assert flow.delivered(1) == 1
    first, second = _get(coll, "first_step"), _get(coll, "second_step")
    assert first and second
    return ("first", "second") if first < second else ("second", "first")


def test_before_and_after_order_the_programs(coll: Collection) -> None:
    first, second = coll.programs["order_first"], coll.programs["order_second"]
    with UDPFlow() as flow:
        coll.variables["watch_port"].set(flow.port)
        with tcx(second, "lo") as later, tcx(first, "lo", before=later):
            assert _order(coll, flow) == ("first", "second")
        with tcx(first, "lo") as earlier, tcx(second, "lo", before=first):
            assert isinstance(earlier, Link)
            assert _order(coll, flow) == ("second", "first")
        with tcx(second, "lo"), tcx(first, "lo", after=second):
            assert _order(coll, flow) == ("second", "first")
        with tcx(first, "lo"), tcx(second, "lo"):  # appended: in attach order
            assert _order(coll, flow) == ("first", "second")


def test_a_stale_revision_is_refused(coll: Collection) -> None:
    with tcx(coll.programs["order_first"], "lo"):
        before = link_ids_now()
        with pytest.raises(BPFError) as stale:
            tcx(coll.programs["order_second"], "lo", expected_revision=1000)
        assert stale.value.errno == errno.ESTALE
        assert not our_links_since(before)


def test_bad_arguments_attach_nothing(coll: Collection) -> None:
    prog = coll.programs["tcx_ingress"]
    before = link_ids_now()
    with pytest.raises(ValueError, match="before or after, not both"):
        tcx(prog, "lo", before=prog, after=prog)
    with pytest.raises(TypeError, match="before must be a Program, a Link or None"):
        tcx(prog, "lo", before=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction must be 'ingress' or 'egress'"):
        tcx(prog, "lo", direction="sideways")
    with pytest.raises(ValueError, match="direction is needed"):
        tcx(coll.programs["xdp_count"], "lo")
    with pytest.raises(ValueError, match="expected_revision -1 is out of range"):
        tcx(prog, "lo", expected_revision=-1)
    with pytest.raises(InterfaceNotFoundError):
        tcx(prog, "nonesuch0")
    with pytest.raises(BPFError, match="tcx ingress of lo"):
        tcx(coll.programs["xdp_count"], "lo", direction="ingress")  # wrong program type
    with pytest.raises(BPFError):
        tcx(prog, "lo", before=coll.programs["order_first"])  # not attached there
    assert not our_links_since(before)
