"""``pybpf link list|show`` on a real link: bpftool's ids, types and fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.core import Collection
from pybpf.elf import load_collection_spec
from pybpf.link import tracepoint

pytestmark = pytest.mark.kernel


def _pybpf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pybpf.cli", *args], capture_output=True, text=True, check=False
    )


def test_list_and_show_a_tracepoint_link(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "link_tracepoint-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    spec.programs["cookie_getppid"].autoload = False
    with Collection(spec) as c:
        prog = c.programs["count_getpid"]
        with tracepoint(prog, "syscalls", "sys_enter_getpid") as link:
            if link.type is None:
                pytest.skip("perf-event bpf_links are Linux 5.15+: attached by ioctl")
            link_id = link.info().id
            listed = json.loads(_pybpf("link", "list", "--json").stdout)
            mine = [d for d in listed if d["id"] == link_id]
            assert mine == [json.loads(_pybpf("link", "show", str(link_id), "--json").stdout)]
            assert mine[0]["type"] == "perf_event"
            assert mine[0]["prog_id"] == prog.info().id
            text = _pybpf("link", "list").stdout
            assert f"{link_id}: perf_event  prog {prog.info().id}" in text
    gone = _pybpf("link", "show", str(link_id))
    assert gone.returncode != 0
    assert "link id" in gone.stderr
