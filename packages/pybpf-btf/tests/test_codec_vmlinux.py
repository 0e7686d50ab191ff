"""Every struct and union of the running kernel's BTF through the codec (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Datasec, Struct, Union, load_spec
from pybpf.btf.codec import codec_for

VMLINUX = Path("/sys/kernel/btf/vmlinux")

pytestmark = pytest.mark.kernel_files


@pytest.mark.slow
@pytest.mark.parametrize("order", ["little", "big"])
def test_every_kernel_composite_round_trips(order: str) -> None:
    spec = load_spec(VMLINUX)
    count = 0
    for t in spec:
        if not isinstance(t, Struct | Union | Datasec):
            continue
        codec = codec_for(t, order)
        assert codec.encode(codec.zero()) == bytes(codec.size), t
        junk = bytes((i * 37 + 11) & 0xFF for i in range(codec.size))
        value = codec.decode(junk)
        again = codec.encode(value)
        # Padding is zeroed, so bytes may differ there, but the values may not.
        assert codec.decode(again) == value, t
        if isinstance(t, Union):
            assert again == junk, t
        count += 1
    assert count > 1000
