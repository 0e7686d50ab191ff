"""BTF map definitions read from the undecoded records.

``btf_maps`` reads a well-formed definition as numbers (``_read_raw``) and
leaves anything else to the typed reading (``_parse_map``), which words the
errors. That both make the same specs, and the same errors, is checked by
``test_spec_digests`` and ``test_compiled`` with the raw reading on and off;
here, that the raw reading takes the common forms (or the speed-up is gone
without a failing test) and declines records already decoded.
"""

from __future__ import annotations

from pathlib import Path

from pybpf.btf import Spec
from pybpf.elf import btf_maps
from pybpf.elf._elffile import ElfFile


def test_loader_maps_are_read_raw(testdata: Path) -> None:
    # Every map of the loader object (hash, arrays, ring buffer, pinned, map
    # in map with its inner map) is a plain form.
    for order in ("el", "eb"):
        elf = ElfFile((testdata / f"loader-{order}.o").read_bytes())
        btf = elf.section_data(elf.section_named(".BTF"))  # type: ignore[arg-type]
        spec = Spec.from_bytes(btf)
        found = []
        for t in spec:
            if t.name == ".maps":
                for vsi in t.vars:  # type: ignore[attr-defined]
                    var = vsi.type
                    read = btf_maps._read_raw(
                        btf_maps._RawCache(Spec.from_bytes(btf)),
                        var.name,
                        spec.type_id(var.type),
                        inner=False,
                    )
                    found.append((var.name, read is not None))
        assert found and all(ok for _, ok in found), found


def test_raw_reading_of_a_decoded_record_declines(testdata: Path) -> None:
    elf = ElfFile((testdata / "loader-el.o").read_bytes())
    spec = Spec.from_bytes(elf.section_data(elf.section_named(".BTF")))  # type: ignore[arg-type]
    stats = next(t for t in spec if t.name == ".maps").vars[0].type  # type: ignore[attr-defined]
    # Iterating decoded every type: their objects may have been edited since.
    cache = btf_maps._RawCache(spec)
    assert btf_maps._read_raw(cache, stats.name, spec.type_id(stats.type), inner=False) is None
