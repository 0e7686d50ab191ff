"""python -m pybpf.elf FILE [--json]."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.elf.cli import main


def test_json(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(testdata / "loader-el.o"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"byte_order", "programs", "maps", "variables"}
    assert doc["byte_order"] == "little"
    prog = doc["programs"]["cgroup_ingress"]
    assert prog == {
        "section": "cgroup_skb/ingress",
        "type": "cgroup_skb",
        "attach_type": "cgroup_inet_ingress",
        "insn_slots": prog["insn_slots"],
        "license": "Dual MIT/GPL",
    }
    assert doc["programs"]["trace_execve"]["attach_type"] is None
    outer = doc["maps"]["outer"]
    assert outer["type"] == "array_of_maps" and outer["inner_map"] == "outer.inner"
    assert doc["maps"]["pybpf_loader_pinned"]["pinning"] == "by_name"
    assert doc["maps"][".rodata"]["type"] == "array"
    assert set(doc["variables"]["sample_rate"]) == {"section", "offset", "size"}


def test_text(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(testdata / "maps-eb.o")]) == 0
    out = capsys.readouterr().out
    assert "byte order: big" in out and "jump_table" in out


def test_text_tables_have_headers(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(testdata / "loader-el.o")]) == 0
    lines = capsys.readouterr().out.splitlines()
    headers = {
        "programs:": ["NAME", "SECTION", "TYPE", "ATTACH TYPE", "SLOTS", "LICENSE"],
        "maps:": ["NAME", "TYPE", "KEY", "VALUE", "MAX ENTRIES", "FLAGS", "PINNING", "INNER MAP"],
        "variables:": ["NAME", "SECTION", "OFFSET", "SIZE"],
    }
    for title, columns in headers.items():
        header = lines[lines.index(title) + 1]
        assert re.split(r"\s{2,}", header.strip()) == columns
    # Each value starts under its header (left-aligned) or ends under it (numbers).
    at = lines.index("programs:") + 1
    header, row = lines[at], next(line for line in lines[at:] if "cgroup_ingress" in line)
    assert row.index("cgroup_skb/ingress") == header.index("SECTION")
    assert row.index("cgroup_inet_ingress") == header.index("ATTACH TYPE")
    assert row.index("7  Dual") + 1 == header.index("SLOTS") + len("SLOTS")


def test_text_empty_tables(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(testdata / "text_only-el.o")]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("maps:")
    assert lines[at + 1].startswith("  NAME  TYPE  KEY  VALUE  MAX ENTRIES")
    assert lines[at + 2] == "  (none)"


def test_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF nonsense")
    assert main([str(bad)]) == 1
    assert "bad.o" in capsys.readouterr().err


def test_module_entry_point(testdata: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pybpf.elf", str(testdata / "instructions-el.o"), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=None,
    )
    assert "programs" in json.loads(out.stdout)
