"""The demo of examples/demo.py runs and prints what the programs counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo.py"


def test_demo_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "xdp  UDP     90 bytes -> DROP" in out
    assert "keep 40 bytes" in out
    assert "per_proto[TCP] = packets=2 bytes=1560" in out
    assert "total_packets = 4" in out
    assert "drop_proto    = 17" in out
    assert "bad_stack rejected: invalid read from stack" in out
    assert "demo.c:" in out
