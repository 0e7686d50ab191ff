"""What a user sees of the specs in a REPL: short reprs, listings, clear type errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.elf import CollectionSpec, load_collection_spec


@pytest.fixture
def loader(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "loader-el.o")


def test_program_repr_is_one_line(loader: CollectionSpec) -> None:
    prog = loader.programs["xdp_count"]
    assert repr(prog) == (
        "ProgramSpec(name='xdp_count', type=ProgramType.XDP, section='xdp', instructions=61)"
    )
    prog.type = 4242  # a type this pybpf does not know: shown as the number
    assert "type=4242," in repr(prog)


def test_program_str_lists_the_instructions(loader: CollectionSpec) -> None:
    prog = loader.programs["xdp_count"]
    lines = str(prog).splitlines()
    assert lines[0] == repr(prog)
    assert lines[1:] == str(prog.instructions).splitlines()
    assert any("<account>" in line for line in lines)


def test_collection_repr_is_one_line(loader: CollectionSpec) -> None:
    text = repr(loader)
    assert "\n" not in text and len(text) < 400
    assert text.startswith("CollectionSpec(programs=['xdp_count', 'xdp_drop_ip', ")
    assert "maps=['inner_map', 'outer', " in text
    assert text.endswith("variables=7, byte_order='little')")
    assert str(loader) == text


def test_unspec_program_repr(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "text_only-el.o")
    assert repr(spec.programs["lone_filter"]) == (
        "ProgramSpec(name='lone_filter', type=ProgramType.UNSPEC, section='.text', instructions=2)"
    )
