"""Fuzz target: ``.BTF.ext`` parsing against the BTF of a testdata object."""

from __future__ import annotations

import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, load_spec
    from pybpf.btf.ext import load_ext_infos

ALLOWED = (BTFError,)
# The func, line and CO-RE records refer to this object's types and strings.
SPEC = load_spec((Path(__file__).resolve().parents[1] / "testdata" / "core-el.o").read_bytes())


def check(data: bytes) -> None:
    """Parse ``data`` as a ``.BTF.ext`` section and marshal what parsed."""
    load_ext_infos(data, SPEC).marshal_for(SPEC)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
