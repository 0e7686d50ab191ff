"""struct_ops programs load with the struct_ops maps that hold them, as libbpf loads them.

libbpf's ``bpf_object_adjust_struct_ops_autoload``: a struct_ops program
that a created struct_ops map holds is loaded even from ``SEC("?struct_ops/...")``;
one that no map holds keeps the autoload its section gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.core import Collection
from pybpf.elf import load_collection_spec

pytestmark = pytest.mark.kernel


def test_held_optional_programs_load(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "struct_ops_autoload-el.o")
    # The spec keeps what the sections say, as libbpf's open does.
    assert not spec.programs["pybpf_al_ssthresh"].autoload
    with Collection(spec) as coll:
        assert set(coll.maps) == {"pybpf_al_ops"}
        assert set(coll.programs) == {
            "pybpf_al_ssthresh",
            "pybpf_al_cong_avoid",
            "pybpf_al_undo_cwnd",
        }


def test_program_brings_its_struct_ops_map(testdata: Path) -> None:
    # A struct_ops program learns its struct and member from the map that
    # holds it: loaded alone, the kernel would refuse it (ENOTSUPP).
    with Collection(testdata / "struct_ops-el.o", programs=["pybpf_ssthresh"]) as coll:
        assert set(coll.maps) == {"pybpf_cc"}
        assert "pybpf_ssthresh" in coll.programs
