"""``pybpf btf dump`` and ``pybpf btf diff``."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.btf import Int, IntEncoding, Member, Spec, Struct, Typedef, marshal
from pybpf.cli.btf_diff import diff_specs

SCRIPT = Path(sys.executable).with_name("pybpf")
BPFTOOL = shutil.which("bpftool")
CLANG = shutil.which("clang")


def pybpf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, check=False)


@pytest.mark.skipif(BPFTOOL is None, reason="bpftool not installed")
def test_raw_dump_is_bpftools(testdata: Path) -> None:
    for name in ("globals-el.o", "btf-eb.o", "maps-el.o"):
        ours = pybpf("btf", "dump", str(testdata / name))
        assert ours.returncode == 0, ours.stderr
        theirs = subprocess.run(
            [BPFTOOL or "", "btf", "dump", "file", str(testdata / name)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ours.stdout == theirs.stdout


def test_dump_one_type(testdata: Path) -> None:
    out = pybpf("btf", "dump", str(testdata / "globals-el.o"), "--type", "config")
    assert out.returncode == 0
    assert out.stdout.startswith("[") and "STRUCT 'config'" in out.stdout
    as_json = json.loads(
        pybpf(
            "btf", "dump", str(testdata / "globals-el.o"), "--type", "config", "--format", "json"
        ).stdout
    )
    assert [t["name"] for t in as_json["types"]] == ["config"]
    missing = pybpf("btf", "dump", str(testdata / "globals-el.o"), "--type", "nosuch")
    assert missing.returncode == 1
    assert missing.stderr.startswith("pybpf: error: no type named 'nosuch'")


@pytest.mark.skipif(CLANG is None, reason="clang not installed")
@pytest.mark.kernel_files
def test_c_dump_of_vmlinux_type_compiles(tmp_path: Path) -> None:
    out = pybpf("btf", "dump", "vmlinux", "--type", "task_struct", "--format", "c")
    assert out.returncode == 0, out.stderr
    header = tmp_path / "task.h"
    header.write_text(out.stdout)
    src = tmp_path / "use.c"
    src.write_text('#include "task.h"\nint size = sizeof(struct task_struct);\n')
    subprocess.run(
        [CLANG or "", "-target", "bpf", "-c", str(src), "-o", str(tmp_path / "use.o")],
        check=True,
        capture_output=True,
    )


@pytest.mark.kernel_files
def test_progress_is_quiet_when_piped() -> None:
    out = pybpf("btf", "dump", "vmlinux", "--type", "pid_t")
    assert out.returncode == 0
    assert out.stderr == ""
    assert "TYPEDEF 'pid_t'" in out.stdout


def _spec(extra_member: bool, value_type: str) -> Spec:
    u32 = Int("u32", 4, IntEncoding.NONE)
    u64 = Int("u64", 8, IntEncoding.NONE)
    members = [Member("a", u32, 0), Member("b", u32 if value_type == "u32" else u64, 32)]
    if extra_member:
        members.append(Member("c", u64, 128))
    gone = Typedef("old_name", u32)
    new = Typedef("new_name", u64)
    return Spec.from_types([Struct("pair", 24, members), gone if not extra_member else new])


def test_diff_finds_added_removed_changed(tmp_path: Path) -> None:
    old, new = _spec(False, "u32"), _spec(True, "u64")
    result = diff_specs(old, new)
    assert result.removed == [("typedef", "old_name")]
    assert result.added == [("int", "u64"), ("typedef", "new_name")]
    (change,) = result.changed
    assert (change.kind, change.name) == ("struct", "pair")
    assert change.parts == {
        "member b": ("u32 @ bit 32", "u64 @ bit 32"),
        "member c": (None, "u64 @ bit 128"),
    }
    a, b = tmp_path / "a.btf", tmp_path / "b.btf"
    a.write_bytes(marshal(old))
    b.write_bytes(marshal(new))
    text = pybpf("btf", "diff", str(a), str(b))
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [
        "- typedef old_name",
        "+ int u64",
        "+ typedef new_name",
        "~ struct pair",
        "    ~ member b: u32 @ bit 32 -> u64 @ bit 32",
        "    + member c: u64 @ bit 128",
    ]
    doc = json.loads(pybpf("btf", "diff", str(a), str(b), "--json").stdout)
    assert doc["added"][1] == {"kind": "typedef", "name": "new_name"}
    assert doc["changed"][0]["changes"][1] == {
        "part": "member c",
        "old": None,
        "new": "u64 @ bit 128",
    }


def test_diff_of_a_blob_with_itself_is_empty(testdata: Path) -> None:
    out = pybpf("btf", "diff", str(testdata / "globals-el.o"), str(testdata / "globals-eb.o"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""


@pytest.mark.kernel_files
def test_broken_pipe_is_quiet() -> None:
    # ``pybpf btf dump vmlinux | head -1``: no traceback, no complaint.
    proc = subprocess.run(
        f"{SCRIPT} btf dump vmlinux | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.stdout.startswith("[1] ")
    assert proc.stderr == ""


@pytest.mark.kernel_files
def test_progress_shows_on_a_terminal() -> None:
    main, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            [str(SCRIPT), "btf", "dump", "vmlinux"],
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            check=False,
            timeout=300,
        )
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
        if terminal >= 0:
            os.close(terminal)
    assert proc.returncode == 0
    assert b"pybpf btf dump: " in seen and b"/" in seen
    assert seen.endswith(b"\r\x1b[K")  # erased when done


def test_dump_json_is_compact_unless_pretty(testdata: Path) -> None:
    args = ("btf", "dump", str(testdata / "globals-el.o"), "--format", "json")
    compact = pybpf(*args).stdout
    assert compact.count("\n") == 1 and '": ' not in compact
    pretty = pybpf(*args, "--pretty").stdout
    assert pretty.count("\n") > 10
    assert json.loads(pretty) == json.loads(compact)


def test_whole_c_dump_is_made_by_the_compiled_module(
    testdata: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Picking every type first decoded them all, and a decoded spec is dumped
    # in Python: 25x bpftool on vmlinux instead of ~1x.
    from pybpf.btf import cdump
    from pybpf.cli.main import main

    if cdump._compiled_module() is None:
        pytest.skip("pybpf-core's compiled C dump is not installed")
    made: list[str | None] = []
    compiled = cdump._compiled_dump

    def spy(types: object, pointer_size: int) -> str | None:
        made.append(compiled(types, pointer_size))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(cdump, "_compiled_dump", spy)
    assert main(["btf", "dump", str(testdata / "globals-el.o"), "--format", "c"]) == 0
    assert made and made[0] is not None
    assert made[0] in capsys.readouterr().out
