"""Fuzz target: the dumps of parsed BTF (C header, bpftool's raw text, JSON)."""

from __future__ import annotations

import json
import os
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, cdump, load_spec, parse
    from pybpf.btf.cli_dump import json_document, raw_lines
    from pybpf.btf.raw_records import record_json, record_text

ALLOWED = (BTFError,)


def _dumped_in_python(data: bytes) -> str | BTFError:
    """The C header's body (or the error) with the compiled dump turned off."""
    os.environ["PYBPF_BTF_CDUMP"] = "python"
    try:
        return cdump.dump_c(load_spec(data))
    except BTFError as e:
        return e
    finally:
        del os.environ["PYBPF_BTF_CDUMP"]


def check(data: bytes) -> None:
    """Load ``data`` as raw BTF and render it every way the command line does.

    Where pybpf-core's compiled C dump is installed, it must write what the
    Python dump writes, or decline (None) where the Python dump raises.
    """
    spec = load_spec(data)
    compiled = cdump._compiled_dump(load_spec(data), spec.pointer_size or 8)
    for _ in raw_lines(spec):
        pass
    json.dumps(json_document(spec))
    # The text the compiled scan makes (where installed) is the Python code's.
    made = _record_dumps(data)
    os.environ["PYBPF_BTF_SCAN"] = "python"
    parse._compiled_scan.cache_clear()
    try:
        assert _record_dumps(data) == made
    finally:
        del os.environ["PYBPF_BTF_SCAN"]
        parse._compiled_scan.cache_clear()
    reference = _dumped_in_python(data)
    if compiled is not None:
        assert compiled == reference, "the compiled and the Python C dumps disagree"
    if isinstance(reference, BTFError):
        raise reference
    cdump.format_c(spec)


def _record_dumps(data: bytes) -> tuple[str, str]:
    """The raw and JSON dumps :mod:`pybpf.btf.raw_records` writes from the records."""
    raw = "".join(text for _, text in record_text(load_spec(data)) or ())
    return raw, "".join(record_json(load_spec(data)) or ())


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
