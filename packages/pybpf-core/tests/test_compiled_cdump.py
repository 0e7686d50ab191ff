"""A compiled pybpf-core brings pybpf.btf's compiled C dump (``_pybpf_btf_cdump``)."""

from __future__ import annotations

import pytest

from pybpf.btf import cdump
from pybpf.core import _sys


def test_compiled_core_brings_the_compiled_c_dump() -> None:
    """Where the wheel was compiled, dump_c of a whole spec runs in C."""
    if not _sys.COMPILED:
        pytest.skip("pybpf-core runs in cffi ABI mode here")
    cdump._compiled_module.cache_clear()
    assert cdump._compiled_module() is not None
