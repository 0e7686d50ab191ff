"""python -m pybpf.btf dump: bpftool's raw text, JSON, and the C dump hook."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.btf.cli import main

VMLINUX = Path("/sys/kernel/btf/vmlinux")
BPFTOOL = shutil.which("bpftool")
needs_bpftool = pytest.mark.skipif(BPFTOOL is None, reason="bpftool not installed")


def dump(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = main(["dump", *args], out=out)
    return rc, out.getvalue()


def bpftool_dump(path: Path) -> str:
    assert BPFTOOL is not None
    return subprocess.run(
        [BPFTOOL, "btf", "dump", "file", str(path)], check=True, capture_output=True, text=True
    ).stdout


@needs_bpftool
def test_raw_matches_bpftool_on_testdata(obj_path: Path) -> None:
    rc, ours = dump(str(obj_path))
    assert rc == 0
    assert ours == bpftool_dump(obj_path)


@pytest.mark.slow
@needs_bpftool
@pytest.mark.kernel_files
def test_raw_matches_bpftool_on_vmlinux() -> None:
    rc, ours = dump(str(VMLINUX))
    assert rc == 0
    theirs = bpftool_dump(VMLINUX)
    if ours != theirs:  # show the first difference, not 300k lines
        for n, (a, b) in enumerate(zip(ours.splitlines(), theirs.splitlines(), strict=False)):
            assert a == b, f"line {n + 1}"
    assert ours == theirs


def test_json(testdata: Path) -> None:
    rc, text = dump(str(testdata / "globals-el.o"), "--format", "json")
    assert rc == 0
    types = json.loads(text)["types"]
    assert [t["id"] for t in types] == list(range(1, len(types) + 1))
    kinds = {t["kind"] for t in types}
    assert "DATASEC" in kinds
    datasec = next(t for t in types if t["kind"] == "DATASEC")
    assert {"size", "vlen", "vars"} <= datasec.keys()


def test_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x02\x00" + bytes(20))
    rc, _ = dump(str(bad))
    assert rc == 1
    assert "unsupported BTF version 2" in capsys.readouterr().err
    rc, _ = dump(str(tmp_path / "missing"))
    assert rc == 1


def test_c_format_needs_cdump(testdata: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("pybpf.btf.cdump") is None:
        with pytest.raises(SystemExit, match=r"needs pybpf\.btf\.cdump"):
            dump(str(testdata / "globals-el.o"), "--format", "c")
    else:
        rc, text = dump(str(testdata / "globals-el.o"), "--format", "c")
        assert rc == 0
        assert text.startswith("#ifndef __VMLINUX_H__")


def test_module_entry_point(testdata: Path) -> None:
    import os
    import sys

    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ)
    paths = [str(root / "packages" / p / "src") for p in ("pybpf-asm", "pybpf-btf")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "pybpf.btf", "dump", str(testdata / "v4-el.o")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] ")


def test_split_file_with_base(tmp_path: Path) -> None:
    from pybpf.btf import Int, Pointer, Spec, load_spec, marshal

    base_file = tmp_path / "base.btf"
    base_file.write_bytes(marshal([Int("int", 4), Int("char", 1)]))
    split = Spec(base=load_spec(base_file))
    split.add(Pointer(split.type_by_name("char")))
    split_file = tmp_path / "split.btf"
    split_file.write_bytes(marshal(split))
    rc, text = dump(str(split_file), "--base", str(base_file))
    assert rc == 0
    assert text == "[3] PTR '(anon)' type_id=2\n"
    rc, text = dump(str(split_file), "--base", str(base_file), "--format", "json")
    assert json.loads(text) == {"types": [{"id": 3, "kind": "PTR", "name": "(anon)", "type_id": 2}]}


def test_json_is_compact_unless_pretty(testdata: Path) -> None:
    path = str(testdata / "globals-el.o")
    rc, compact = dump(path, "--format", "json")
    assert rc == 0
    assert compact.count("\n") == 1 and '": ' not in compact
    rc, pretty = dump(path, "--format", "json", "--pretty")
    assert rc == 0
    assert pretty.count("\n") > 10
    assert json.loads(pretty) == json.loads(compact)
