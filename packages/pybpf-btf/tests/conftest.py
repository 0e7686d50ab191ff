"""Fixtures of the BTF tests that look at the compiled record scan."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from pybpf.btf import parse


@pytest.fixture
def scan_small_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test blobs go through the compiled scan too, where it is used."""
    monkeypatch.setattr(parse, "_SCAN_COMPILED_FROM", 0)


@pytest.fixture
def compiled() -> Iterator[ModuleType]:
    """The compiled record scan; skipped where pybpf-core was installed without it.

    (``test_cdump_compiled`` has its own ``compiled``: the compiled C dump.)
    """
    parse._compiled_scan.cache_clear()
    module = parse._compiled_scan()
    if module is None:
        pytest.skip("no compiled scan: pybpf-core absent or built without a C compiler")
    yield module
    parse._compiled_scan.cache_clear()
