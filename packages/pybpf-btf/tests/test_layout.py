"""pybpf.btf.layout: the one place sizes and alignments are computed."""

from __future__ import annotations

import pytest

from pybpf import btf
from pybpf.btf import BTFError, Int, Member, Pointer, Struct, Typedef, Void, cdump, layout

CHAR, INT = Int("char", 1), Int("int", 4)


def test_public_names_are_the_layout_modules() -> None:
    assert btf.sizeof is layout.sizeof
    assert btf.alignof is layout.alignof


def test_scalars_align_to_their_size_at_most_a_pointers() -> None:
    assert layout.scalar_alignment(INT, 8) == 4
    assert layout.scalar_alignment(Int("__int128", 16), 8) == 8
    assert layout.scalar_alignment(Pointer(INT), 4) == 4
    assert layout.scalar_alignment(Struct("s", 4, [Member("i", INT, 0)]), 8) is None


def test_layout_base_goes_through_typedefs_and_arrays() -> None:
    s = Struct("s", 4, [Member("i", INT, 0)])
    assert layout.layout_base(btf.Array(Typedef("t", s), 2)) is s
    loop = Typedef("a", Void())
    loop.type = loop
    with pytest.raises(BTFError, match="cycle"):
        layout.layout_base(loop)


def test_misaligned_members_but_not_bitfields() -> None:
    assert layout.is_misaligned(Member("i", INT, 8), 4)
    assert not layout.is_misaligned(Member("i", INT, 32), 4)
    assert not layout.is_misaligned(Member("b", INT, 8, bitfield_size=3), 4)


def test_the_c_dump_sizes_as_the_type_model_does() -> None:
    packed = Struct("packed", 5, [Member("c", CHAR, 0), Member("i", INT, 8)])
    arrays = btf.Array(Typedef("p", Pointer(INT)), 3)
    dumper = cdump._Dumper(8)
    for t in (packed, arrays, INT):
        assert dumper.size_of(t) == layout.sizeof(t)
    assert dumper.size_of(Void()) == 0
