"""The main demo (examples/demo.py) runs on this kernel and prints what its programs saw."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo.py"


def test_demo_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(DEMO), "--listen", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    # Live: the tracepoint saw the demo's own commands, the uprobes its sleeps.
    assert "attached tracepoint sched/sched_process_exec" in out
    assert re.search(r"exec  pid \d+ +\S+ +/usr/bin/sleep|exec  pid \d+ +\S+ +.*sleep", out)
    assert "usecs               : count     distribution" in out
    assert re.search(r"\d+ +sleep +\d+", out)
    # Packets: as before.
    assert "xdp  UDP     90 bytes -> DROP" in out
    assert "keep 40 bytes" in out
    assert "per_proto[TCP] = packets=2 bytes=1560" in out
    assert "total_packets = 4" in out
    assert "bad_stack rejected: invalid read from stack" in out
    assert "demo.c:" in out
