"""What libbpf reads leniently, pybpf reads too: unknown sections, a lone .text function."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.elf import load_collection_spec
from pybpf.elf._uapi import ProgramType

ORDERS = ["el", "eb"]


@pytest.mark.parametrize("order", ORDERS)
def test_unknown_sections_are_unspec_programs(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"sections_unknown-{order}.o")
    assert list(spec.programs) == ["cls_test_prog", "sk_skb1_prog", "redirect_prog", "known_prog"]
    seen = {n: (p.section, p.type, p.autoload) for n, p in spec.programs.items()}
    assert seen == {
        "cls_test_prog": ("cls_test", ProgramType.UNSPEC, True),
        # "?" turns autoload off and is not part of the section name, as with known names.
        "sk_skb1_prog": ("sk_skb1", ProgramType.UNSPEC, False),
        "redirect_prog": ("redirect_map_0", ProgramType.UNSPEC, True),
        "known_prog": ("socket", ProgramType.SOCKET_FILTER, True),
    }
    cls = spec.programs["cls_test_prog"]
    assert (cls.attach_type, cls.attach_to, cls.flags, cls.sleepable) == (None, "", 0, False)
    assert cls.license == "GPL"
    # Subprograms are linked in as for any program.
    assert [i.symbol for i in cls.instructions if i.symbol] == ["cls_test_prog", "verdict"]


@pytest.mark.parametrize("order", ORDERS)
def test_lone_text_function_is_the_program(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"text_only-{order}.o")
    prog = spec.programs["lone_filter"]
    assert list(spec.programs) == ["lone_filter"]
    assert (prog.section, prog.type, prog.autoload) == (".text", ProgramType.UNSPEC, True)
    assert prog.license == "GPL"


def test_text_functions_beside_programs_stay_subprograms(testdata: Path) -> None:
    # One .text function but another program in the object: libbpf's
    # nr_programs > 1, so the .text function is only a subprogram.
    spec = load_collection_spec(testdata / "sections_unknown-el.o")
    assert "verdict" not in spec.programs

