"""What a user sees of the specs in a REPL: short reprs, listings, clear type errors."""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path

import pytest

from pybpf.asm import Instructions
from pybpf.elf import (
    CollectionSpec,
    MapSpec,
    MapType,
    ProgramSpec,
    ProgramType,
    VariableSpec,
    load_collection_spec,
)


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


@pytest.mark.parametrize(
    ("make", "argument", "message"),
    [
        (lambda: MapSpec(name=b"x", type=MapType.HASH), "name", "must be str, not bytes"),
        (lambda: MapSpec("x", "hash"), "type", "must be int, not str"),
        (lambda: MapSpec("x", MapType.HASH, max_entries="4"), "max_entries", "must be int"),
        (lambda: MapSpec("x", MapType.HASH, inner_map="m"), "inner_map", "MapSpec or None"),
        (lambda: MapSpec("x", MapType.HASH, contents={b"k": b"v"}), "contents", "list"),
        (
            lambda: ProgramSpec(b"p", "xdp", ProgramType.XDP, Instructions()),
            "name",
            "must be str",
        ),
        (lambda: ProgramSpec("p", "xdp", ProgramType.XDP, []), "instructions", "Instructions"),
        (
            lambda: ProgramSpec("p", "xdp", ProgramType.XDP, Instructions(), license=b"GPL"),
            "license",
            "must be str",
        ),
        (lambda: VariableSpec(b"v", ".data", 0, 4), "name", "must be str"),
        (lambda: VariableSpec("v", ".data", "0", 4), "offset", "must be int"),
        (lambda: CollectionSpec(maps=[]), "maps", "must be dict"),
    ],
)
def test_constructors_name_the_wrong_argument(
    make: Callable[[], object], argument: str, message: str
) -> None:
    with pytest.raises(TypeError, match=message) as e:
        make()
    assert f"argument {argument!r}" in str(e.value)


def test_collection_checks_what_it_holds() -> None:
    with pytest.raises(TypeError, match="'maps' must map str to MapSpec, not str to str"):
        CollectionSpec(maps={"m": "hash"})


def test_bools_are_not_sizes() -> None:
    with pytest.raises(TypeError, match="'key_size' must be int, not bool"):
        MapSpec("x", MapType.HASH, key_size=True)


def test_valid_arguments_take_the_fast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every value of its exact kind, a bool field's True included, passes
    # without the slow per-argument check (which is only for wording errors).
    from pybpf.elf import spec

    def slow(*args: object) -> None:
        raise AssertionError("slow check taken")

    monkeypatch.setattr(spec, "_check_types", slow)
    MapSpec("m", MapType.HASH, 4, 4, 1, autocreate=False)
    MapSpec("m", MapType.HASH, section=".data", declared_max_entries=3)


def test_subclasses_pass_as_their_base() -> None:
    """Values of classes outside the usual ones still pass where isinstance says so."""

    class Size(int):
        pass

    class Name(str):
        pass

    class Kind(enum.IntEnum):
        HASH = 1

    class Inner(MapSpec):
        pass

    inner = Inner(Name("in"), Kind.HASH, key_size=Size(4))
    outer = MapSpec("out", MapType.HASH_OF_MAPS, flags=Size(1), inner_map=inner)
    assert outer.inner_map is inner
    assert ProgramSpec("p", "xdp", Kind.HASH, Instructions(), attach_type=Size(2)).attach_type == 2
    with pytest.raises(TypeError, match="'attach_type' must be int or None, not str"):
        ProgramSpec("p", "xdp", ProgramType.XDP, Instructions(), attach_type="xdp")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'map' must be MapSpec or None, not str"):
        VariableSpec("v", ".data", 0, 4, map="m")  # type: ignore[arg-type]


def test_edited_copies_still_construct(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "loader-el.o")
    assert spec.copy() == spec
