"""Hidden global variables become static in BTF, as libbpf's ``btf_fixup_datasec`` makes them.

A data section whose variables are all static (or hidden) is then no
``BPF_F_MMAPABLE`` map, as with libbpf (``map_is_mmapable``): the kernel's
selftests put locks and rbtree roots in such sections (``private(A)``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Linkage, Var
from pybpf.core import Collection
from pybpf.elf import load_collection_spec
from pybpf.elf.datasecs import BPF_F_MMAPABLE


def _linkages(path: Path, section: str) -> dict[str, Linkage]:
    ms = load_collection_spec(path).maps[section]
    assert ms.value_type is not None
    found = {}
    for vsi in ms.value_type.vars:
        assert isinstance(vsi.type, Var)
        found[vsi.type.name] = vsi.type.linkage
    return found


@pytest.mark.parametrize("order", ["el", "eb"])
def test_hidden_variables_are_static(testdata: Path, order: str) -> None:
    path = testdata / f"globals_hidden-{order}.o"
    assert _linkages(path, ".data.priv") == {
        "priv_count": Linkage.STATIC,
        "priv_total": Linkage.STATIC,
    }
    assert _linkages(path, ".data") == {
        "hidden_hits": Linkage.STATIC,
        "visible_hits": Linkage.GLOBAL,
    }


@pytest.mark.parametrize("order", ["el", "eb"])
def test_section_of_hidden_variables_is_not_mmapable(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"globals_hidden-{order}.o")
    assert not spec.maps[".data.priv"].flags & BPF_F_MMAPABLE
    assert spec.maps[".data"].flags & BPF_F_MMAPABLE


@pytest.mark.kernel
def test_variables_of_a_map_not_mmapable_read_and_count(testdata: Path) -> None:
    with Collection(testdata / "globals_hidden-el.o") as coll:
        coll.programs["count"].run(bytes(64))
        assert coll.variables["priv_count"].get() == 2
        assert coll.variables["hidden_hits"].get() == 4
        assert coll.variables["visible_hits"].get() == 5
