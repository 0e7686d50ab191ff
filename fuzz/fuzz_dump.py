"""Fuzz target: the dumps of parsed BTF (C header, bpftool's raw text, JSON)."""

from __future__ import annotations

import json
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, load_spec
    from pybpf.btf.cdump import format_c
    from pybpf.btf.cli_dump import json_document, raw_lines

ALLOWED = (BTFError,)


def check(data: bytes) -> None:
    """Load ``data`` as raw BTF and render it every way the command line does."""
    spec = load_spec(data)
    for _ in raw_lines(spec):
        pass
    json.dumps(json_document(spec))
    format_c(spec)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
