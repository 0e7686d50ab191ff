"""Every testdata object reads to the same specs as when the digests were recorded.

Speeding up the reader must not change what it reads. Each object's
:class:`CollectionSpec` is rendered field by field (instructions with their
metadata, BTF types by content, the object's BTF by its marshalled bytes) and
hashed; ``data/spec_digests.json`` holds the hashes recorded before the reader
was optimised. Regenerate it only for an intended change of output::

    PYBPF_WRITE_SPEC_DIGESTS=1 pytest packages/pybpf-elf/tests/test_spec_digests.py
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pybpf.asm import Instructions
from pybpf.asm.records import fields
from pybpf.btf import Spec as BTFSpec
from pybpf.btf import parse
from pybpf.btf.marshal import marshal
from pybpf.elf import CollectionSpec, btf_maps, load_collection_spec

DIGESTS = Path(__file__).parent / "data" / "spec_digests.json"


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot in ("_spec", "__weakref__", "__dict__"):
                continue
            # Lazy references live in "_x" slots behind an "x" descriptor.
            public = slot[1:] if slot.startswith("_") else slot
            if public not in names:
                names.append(public)
    return names


def _render(value: Any, seen: dict[int, int]) -> Any:
    """A JSON-able rendering of ``value``, type graphs numbered in visit order."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Instructions):
        return [_instruction(insn, seen) for insn in value]
    if isinstance(value, list | tuple):
        return [_render(x, seen) for x in value]
    if isinstance(value, dict):
        return [[_render(k, seen), _render(v, seen)] for k, v in value.items()]
    if isinstance(value, type):
        return value.__qualname__
    if isinstance(value, BTFSpec):
        return {"btf": marshal(value).hex()}
    cls = type(value)
    if cls.__module__.startswith("pybpf.btf"):
        if id(value) in seen:
            return {"ref": seen[id(value)]}
        seen[id(value)] = len(seen)
        return {
            "kind": cls.__name__,
            **{n: _render(getattr(value, n), seen) for n in _slots(cls)},
        }
    return {
        "kind": cls.__name__,
        **{f.name: _render(getattr(value, f.name), seen) for f in fields(value)},
    }


def _instruction(insn: Any, seen: dict[int, int]) -> Any:
    return [
        insn.opcode,
        insn.dst,
        insn.src,
        insn.offset,
        insn.constant,
        insn.symbol,
        insn.label,
        insn.reference,
        [[k.__qualname__, _render(v, seen)] for k, v in insn.metadata.items()],
    ]


def spec_digest(spec: CollectionSpec) -> str:
    """A hash of everything ``spec`` holds."""
    rendered = {
        "byte_order": spec.byte_order,
        "types": _render(spec.types, {}),
        "programs": {n: _render(p, {}) for n, p in spec.programs.items()},
        "maps": {n: _render(m, {}) for n, m in spec.maps.items()},
        "variables": {n: _render(v, {}) for n, v in spec.variables.items()},
    }
    text = json.dumps(rendered, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _digests(testdata: Path) -> dict[str, str]:
    out = {}
    for path in sorted(testdata.glob("*.o")):
        try:
            spec = load_collection_spec(path)
        except ValueError as e:
            out[path.name] = f"error: {type(e).__name__}: {e}"
            continue
        out[path.name] = spec_digest(spec)
    return out


@pytest.mark.parametrize("path", ["default", "typed maps", "python scans"])
def test_every_object_reads_as_recorded(
    testdata: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "typed maps":
        # BTF map definitions read as pybpf.btf types, as before the raw reading.
        monkeypatch.setattr(btf_maps, "_read_raw", lambda *args, **kwargs: None)
    elif path == "python scans":
        # No compiled BTF scan (record walk, string table): an offline install.
        monkeypatch.setenv("PYBPF_BTF_SCAN", "python")
        monkeypatch.setattr(parse, "_compiled_scan", functools.cache(lambda: None))
    else:
        # The compiled scan from the first object, as in a process that read many.
        monkeypatch.setattr(parse, "_small_walks", parse._SMALL_WALKS_BEFORE_COMPILED)
    found = _digests(testdata)
    if os.environ.get("PYBPF_WRITE_SPEC_DIGESTS"):
        DIGESTS.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        pytest.skip("digests written")
    recorded = json.loads(DIGESTS.read_text())
    assert found.keys() == recorded.keys()
    changed = sorted(name for name in found if found[name] != recorded[name])
    assert not changed, changed
