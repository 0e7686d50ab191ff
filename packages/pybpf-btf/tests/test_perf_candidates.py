"""CO-RE candidates found name by name agree with a scan of every target type."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Member, Spec, Struct, Type, load_spec
from pybpf.btf.corerelo.candidates import NameIndex
from pybpf.btf.corerelo.typeutil import essential_name, kinds_compatible
from pybpf.btf.kernel import load_kernel_spec

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"


def scan(target: Spec, local: Type) -> list[int]:
    want = essential_name(local.name)
    return [
        type_id
        for type_id in range(1, len(target) + 1)
        if (t := target.type_by_id(type_id)).name
        and essential_name(t.name) == want
        and kinds_compatible(local, t)
    ]


def found(index: NameIndex, local: Type) -> list[int]:
    return [c.type_id for c in index.candidates(local)]


@pytest.mark.parametrize("obj", ["core-el.o", "core_match-eb.o", "btf-el.o"])
def test_every_named_type_of_an_object(obj: str) -> None:
    target = load_spec(TESTDATA / obj)
    index = NameIndex(target)
    for local in list(target):
        if local.name:
            assert found(index, local) == scan(target, local), local


def test_flavours_and_added_types() -> None:
    target = load_spec(TESTDATA / "core-el.o")
    int_type = next(t for t in target if t.name == "int")
    target.add(Struct("pybpf_added___v2", 4, [Member("a", int_type, 0)]))
    target.add(Struct("pybpf_added", 4, [Member("a", int_type, 0)]))
    index = NameIndex(target)
    for name in ("pybpf_added", "pybpf_added___v9", "pybpf_added___v2___v3", "a___b___c"):
        local = Struct(name, 4)
        assert found(index, local) == scan(target, local), name
    assert len(found(index, Struct("pybpf_added___x", 4))) == 2


@pytest.mark.kernel_files
def test_kernel_names() -> None:
    kernel = load_kernel_spec()
    index = NameIndex(kernel)
    # Only records named like the locals need checking: collect them once.
    by_name: dict[str, list[int]] = {}
    wanted = {"task_struct", "mm_struct", "sk_buff", "pid_type", "file", "pybpf_none"}
    for type_id in range(1, len(kernel) + 1):
        t = kernel.type_by_id(type_id)
        if t.name and essential_name(t.name) in wanted:
            by_name.setdefault(essential_name(t.name), []).append(type_id)
    for name in sorted(wanted):
        for spelling in (name, name + "___flavour"):
            local = Struct(spelling, 8)
            expected = [
                i for i in by_name.get(name, []) if kinds_compatible(local, kernel.type_by_id(i))
            ]
            assert found(index, local) == expected, spelling
