"""Programs of sections that name no program type: refused until the user sets one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.core import Collection, Program, ProgramType, load_collection_spec
from pybpf.elf import UnspecifiedProgramTypeError

pytestmark = pytest.mark.kernel

#: An Ethernet + IPv4 header, padded to 64 bytes.
PACKET = bytes(14) + bytes([0x45]) + bytes(49)


def test_lone_text_function_needs_a_type(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "text_only-el.o")
    with pytest.raises(UnspecifiedProgramTypeError) as e:
        Program(spec.programs["lone_filter"])
    message = str(e.value)
    assert "'lone_filter'" in message and "'.text'" in message
    assert "spec.programs['lone_filter'].type = ProgramType." in message
    assert isinstance(e.value, ValueError)
    assert (e.value.program, e.value.section) == ("lone_filter", ".text")


def test_lone_text_function_loads_once_typed(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "text_only-el.o")
    spec.programs["lone_filter"].type = ProgramType.SOCKET_FILTER
    with Program(spec.programs["lone_filter"]) as prog:
        assert prog.type == ProgramType.SOCKET_FILTER
        # skb->len past the Ethernet header, which test_run pulls.
        assert prog.run(PACKET).retval == len(PACKET) - 14


def test_collection_refuses_then_loads_typed(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections_unknown-el.o")
    with pytest.raises(UnspecifiedProgramTypeError, match="'cls_test_prog'"):
        Collection(spec)
    spec.programs["cls_test_prog"].type = ProgramType.SCHED_CLS
    spec.programs["redirect_prog"].type = ProgramType.XDP
    with Collection(spec) as coll:
        # "?sk_skb1" is not autoloaded, so its missing type does not matter.
        assert sorted(coll.programs) == ["cls_test_prog", "known_prog", "redirect_prog"]
        assert coll.programs["cls_test_prog"].type == ProgramType.SCHED_CLS
        assert coll.programs["redirect_prog"].run(PACKET).retval == 2  # XDP_PASS
