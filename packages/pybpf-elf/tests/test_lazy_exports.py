"""pybpf.elf's re-exports load on first use: an import pays only for the names read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pybpf.elf
from pybpf.asm.exports import export_mismatches


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_import_loads_no_submodule() -> None:
    loaded = _modules_after("import pybpf.elf")
    assert {name for name in loaded if name.startswith("pybpf.elf.")} <= set()


def test_a_name_loads_its_own_module_only() -> None:
    loaded = _modules_after("from pybpf.elf import MapType")
    assert "pybpf.elf._uapi" in loaded
    assert "pybpf.elf.reader" not in loaded


def test_every_public_name_resolves() -> None:
    for name in pybpf.elf.__all__:
        assert getattr(pybpf.elf, name) is not None, name
    assert set(pybpf.elf.__all__) <= set(dir(pybpf.elf))


def test_unknown_name_is_attribute_error() -> None:
    assert not hasattr(pybpf.elf, "no_such_name")


def test_the_specs_need_no_value_codec() -> None:
    loaded = _modules_after("from pybpf.elf import CollectionSpec")
    assert "pybpf.btf.codec" not in loaded


def test_byte_order_is_asms() -> None:
    import pybpf.asm

    assert pybpf.elf.ByteOrder is pybpf.asm.ByteOrder


def test_the_lists_of_public_names_agree() -> None:
    # The lazy exports, the imports type checkers read and __all__ name the
    # same names, each from the module that lists it in its own __all__.
    assert export_mismatches(pybpf.elf, pybpf.elf._EXPORTS) == []


def test_reading_an_object_imports_only_the_packed_ext_records(testdata: Path) -> None:
    # The eager record tables, the kernel encoders and the instruction
    # helpers of pybpf.btf.ext are for other callers: a load reads none.
    loaded = _modules_after(
        f"from pybpf.elf import load_collection_spec\n"
        f"load_collection_spec({str(testdata / 'loader-el.o')!r})"
    )
    assert "pybpf.btf.ext.packed" in loaded
    eager = {f"pybpf.btf.ext.{name}" for name in ("attach", "infos", "kernel", "strings")}
    assert not loaded & eager


def test_reading_an_object_imports_no_typing(testdata: Path) -> None:
    # Annotations never run: the reader's named tuples and the ext records'
    # generic table have light run-time bases, and the Source and ByteOrder
    # aliases are made by their first reader. The object's BTF is small enough
    # to be searched for names without re.
    for name in ("core-el.o", "loader-el.o"):
        loaded = _modules_after(
            f"import pybpf.elf\npybpf.elf.load_collection_spec({str(testdata / name)!r})"
        )
        assert not {"typing", "contextlib", "re"} & loaded, name
        assert "pybpf.elf.reader" in loaded


def test_the_run_time_type_aliases_are_the_ones_type_checkers_read() -> None:
    import os
    import typing

    from pybpf.elf import reader, spec

    assert pybpf.elf.Source is reader.Source
    source = str | os.PathLike[str] | bytes | bytearray | memoryview | typing.IO[bytes]
    assert reader.Source == source
    assert spec.ByteOrder is pybpf.elf.ByteOrder == typing.Literal["little", "big"]
    assert {"Source", "ByteOrder"} <= set(dir(reader)) | set(dir(spec))
    for module in (reader, spec):
        assert not hasattr(module, "Nothing")


def test_the_elf_records_are_named_tuples(testdata: Path) -> None:
    import pickle

    from pybpf.elf._elffile import Note, ProgramHeader, Relocation

    rel = Relocation(8, 3, 1, 0)
    assert rel == (8, 3, 1, 0)
    assert rel.symbol == 3
    assert repr(rel) == "Relocation(offset=8, symbol=3, type=1, addend=0)"
    assert rel._replace(addend=4) == (8, 3, 1, 4)
    assert pickle.loads(pickle.dumps(rel)) == rel
    assert Note._fields == ("name", "type", "desc", "offset")
    assert Note.__module__ == "pybpf.elf._segments"
    assert Note.__doc__ is not None
    assert ProgramHeader._fields[0] == "type"
    assert len(ProgramHeader.__annotations__) == 8
