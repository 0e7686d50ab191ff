"""Specs are plain data: deep copies, equality by content, byte order aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf.codec import Record, asdict
from pybpf.elf import CollectionSpec, load_collection_spec


def test_two_readings_are_equal(obj_path: Path) -> None:
    assert load_collection_spec(obj_path) == load_collection_spec(obj_path.read_bytes())


def test_copy_is_equal_and_independent(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "loader-el.o")
    clone = spec.copy()
    assert clone == spec
    clone.programs["xdp_count"].instructions[0].constant += 1
    clone.maps["outer"].max_entries = 99
    clone.maps["outer"].inner_map.max_entries = 99  # type: ignore[union-attr]
    clone.variables["last_proto"].raw = b"\x01\x02\x03\x04"
    assert clone != spec
    fresh = load_collection_spec(testdata / "loader-el.o")
    assert spec == fresh
    assert clone.variables["last_proto"].map is clone.maps[".data"]
    assert spec.maps[".data"].contents != clone.maps[".data"].contents


def test_map_and_program_copies(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "maps-el.o")
    m = spec.maps["jump_table"]
    c = m.copy()
    assert c == m
    c.contents.append((b"\x09\0\0\0", "x"))
    assert c != m
    p = next(iter(spec.programs.values()))
    q = p.copy()
    assert q == p
    q.instructions.pop()
    assert q != p


def _shape(spec: CollectionSpec) -> object:
    return (
        {
            n: (p.section, p.type, p.attach_type, p.attach_to, p.flags)
            for n, p in spec.programs.items()
        },
        {
            n: (m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.pinning)
            for n, m in spec.maps.items()
        },
        {n: (v.section, v.offset, v.size) for n, v in spec.variables.items()},
    )


def test_byte_orders_agree(testdata: Path) -> None:
    for el in sorted(testdata.glob("*-el.o")):
        eb = el.with_name(el.name[:-5] + "-eb.o")
        if not eb.exists():
            continue
        little, big = load_collection_spec(el), load_collection_spec(eb)
        assert (little.byte_order, big.byte_order) == ("little", "big")
        assert _shape(little) == _shape(big), el.name


def test_variables_agree_across_byte_orders(testdata: Path) -> None:
    little = load_collection_spec(testdata / "globals-el.o")
    big = load_collection_spec(testdata / "globals-eb.o")
    for name, v in little.variables.items():
        if v.type is not None and name in big.variables and not name.endswith("fmt"):
            assert _plain(v.get()) == _plain(big.variables[name].get()), name


def _plain(value: object) -> object:
    """Records of two specs are different classes: compare them as dicts."""
    if isinstance(value, Record):
        return {k: _plain(x) for k, x in asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(x) for x in value]
    return value


def test_spec_and_loaded_variables_share_one_value_codec(testdata: Path) -> None:
    # pybpf.core.Variable subclasses it too: get/set are written once.
    from pybpf.elf.variable_value import VariableValue

    var = load_collection_spec(testdata / "demo-el.o").variables["total_packets"]
    assert isinstance(var, VariableValue)
    var.set(7)
    assert var.get() == 7
    assert var.raw == (7).to_bytes(8, "little")
    with pytest.raises(ValueError, match="is 8 bytes, got 1"):
        var.raw = b"\0"
    var.type = None
    with pytest.raises(ValueError, match="no BTF type"):
        var.get()
