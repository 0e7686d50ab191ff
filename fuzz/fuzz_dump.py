"""Fuzz target: the dumps of parsed BTF (C header, bpftool's raw text, JSON)."""

from __future__ import annotations

import json
import os
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, load_spec, parse
    from pybpf.btf.cdump import format_c
    from pybpf.btf.cli_dump import json_document, raw_lines
    from pybpf.btf.raw_records import record_json, record_text

ALLOWED = (BTFError,)


def check(data: bytes) -> None:
    """Load ``data`` as raw BTF and render it every way the command line does."""
    spec = load_spec(data)
    for _ in raw_lines(spec):
        pass
    json.dumps(json_document(spec))
    format_c(spec)
    # The text the compiled scan makes (where installed) is the Python code's.
    made = _record_dumps(data)
    os.environ["PYBPF_BTF_SCAN"] = "python"
    parse._compiled_scan.cache_clear()
    try:
        assert _record_dumps(data) == made
    finally:
        del os.environ["PYBPF_BTF_SCAN"]
        parse._compiled_scan.cache_clear()


def _record_dumps(data: bytes) -> tuple[str, str]:
    """The raw and JSON dumps :mod:`pybpf.btf.raw_records` writes from the records."""
    raw = "".join(text for _, text in record_text(load_spec(data)) or ())
    return raw, "".join(record_json(load_spec(data)) or ())


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
