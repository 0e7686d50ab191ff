"""Fuzz target: the dumps of parsed BTF (C header, bpftool's raw text, JSON)."""

from __future__ import annotations

import json
import os
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, cdump, load_spec
    from pybpf.btf.cli_dump import json_document, raw_lines

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
    reference = _dumped_in_python(data)
    if compiled is not None:
        assert compiled == reference, "the compiled and the Python C dumps disagree"
    if isinstance(reference, BTFError):
        raise reference
    cdump.format_c(spec)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
