"""Hidden global functions become static in BTF, as libbpf makes them at open."""

from __future__ import annotations

from pathlib import Path

from pybpf.btf import Func, Linkage
from pybpf.elf import load_collection_spec


def test_hidden_functions_are_static(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "usdt-el.o")
    assert spec.types is not None
    # usdt.bpf.h declares its helpers __weak __hidden.
    func = spec.types.type_by_name("bpf_usdt_arg", Func)
    assert isinstance(func, Func)
    assert func.linkage == Linkage.STATIC


def test_visible_global_functions_stay_global(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "instructions-el.o")
    assert spec.types is not None
    globals_ = [
        t for t in spec.types.own_types() if isinstance(t, Func) and t.linkage == Linkage.GLOBAL
    ]
    assert globals_
