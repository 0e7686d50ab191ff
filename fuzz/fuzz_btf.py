"""Fuzz target: raw BTF parsing, every type decoded and queried, the spec marshalled again."""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, load_spec, marshal

ALLOWED = (BTFError,)


def check(data: bytes) -> None:
    """Load ``data`` as raw BTF, validate it and touch every type."""
    spec = load_spec(data)
    spec.validate()
    for t in spec.own_types():
        spec.type_id(t)
        t.references()
        try:
            spec.sizeof(t)
            spec.alignof(t)
        except BTFError:
            pass
    marshal(spec)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
