"""``pybpf object show`` and ``pybpf prog disasm`` (offline)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from pybpf.elf import load_collection_spec

SCRIPT = Path(sys.executable).with_name("pybpf")


def pybpf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, check=False)


def show(path: Path) -> dict[str, dict[str, dict[str, object]]]:
    out = pybpf("object", "show", "--json", str(path))
    assert out.returncode == 0, out.stderr
    doc: dict[str, dict[str, dict[str, object]]] = json.loads(out.stdout)
    return doc


def test_object_show_json(testdata: Path) -> None:
    doc = show(testdata / "globals-el.o")
    assert {"programs", "maps", "variables", "externs"} <= set(doc)
    prog = doc["programs"]["print_counters"]
    assert prog["section"] == "tracepoint/syscalls/sys_enter_getpid"
    assert prog["type"] == "tracepoint"
    assert prog["attach_to"] == "syscalls/sys_enter_getpid"
    spec = load_collection_spec(testdata / "globals-el.o")
    assert prog["instructions"] == len(spec.programs["print_counters"].instructions)
    var = doc["variables"]["rodata_config"]
    assert var["section"] == ".rodata"
    assert var["type"] == "const volatile struct config"
    assert var["value"] == {"mode": 2, "threshold": 100, "mask": (1 << 64) - 1}
    assert doc["variables"]["rodata_array"]["value"] == [1, 2, 3, 4]


def test_object_show_map_btf_types_and_both_byte_orders(testdata: Path) -> None:
    little, big = show(testdata / "maps-el.o"), show(testdata / "maps-eb.o")
    inner = little["maps"]["inner_a"]
    assert (inner["key_type"], inner["value_type"]) == ("u32", "u64")
    assert inner["type"] == "array" and inner["max_entries"] == 2
    assert little["maps"] == big["maps"]  # clang's code differs by byte order, maps do not


def test_object_show_externs(testdata: Path) -> None:
    externs = show(testdata / "ksyms-el.o")["externs"]
    assert externs["runqueues"] == {"kind": "ksym", "type": "const struct rq", "weak": False}
    assert externs["bpf_prog_active"]["weak"] is True
    text = pybpf("object", "show", str(testdata / "ksyms-el.o")).stdout
    assert "\nexterns:\n" in text and re.search(r"runqueues +ksym +const struct rq", text)
    kconfig = show(testdata / "kconfig-el.o")["externs"]
    assert kconfig and all(e["kind"] == "kconfig" for e in kconfig.values())


def test_object_show_text_is_python_m_pybpf_elf(testdata: Path) -> None:
    ours = pybpf("object", "show", str(testdata / "globals-el.o")).stdout
    theirs = subprocess.run(
        [sys.executable, "-m", "pybpf.elf", str(testdata / "globals-el.o")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ours == theirs  # no externs in this object: nothing added


def test_object_show_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF nonsense")
    out = pybpf("object", "show", str(bad))
    assert out.returncode == 1
    assert out.stderr.startswith("pybpf: error: ") and out.stderr.count("\n") == 1
    missing = pybpf("object", "show", str(tmp_path / "none.o"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_prog_disasm_interleaves_source_lines(testdata: Path) -> None:
    out = pybpf("prog", "disasm", str(testdata / "globals-el.o"), "count_packets")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "count_packets (socket):"
    assert lines[1].startswith("; int count_packets(struct __sk_buff *skb) @ globals.c:")
    insns = [line for line in lines if re.match(r" *\d+: ", line)]
    spec = load_collection_spec(testdata / "globals-el.o").programs["count_packets"]
    assert len(insns) == len(spec.instructions)
    assert insns[-1].endswith("exit")
    assert "data_packets++; @ globals.c:" in out.stdout
    bare = pybpf("prog", "disasm", str(testdata / "globals-el.o"), "count_packets", "--no-source")
    assert not any(line.startswith(";") for line in bare.stdout.splitlines())


def test_prog_disasm_every_program(testdata: Path) -> None:
    out = pybpf("prog", "disasm", str(testdata / "globals-eb.o"))
    assert out.returncode == 0, out.stderr
    headers = [line for line in out.stdout.splitlines() if line.endswith("):")]
    assert headers == [
        "count_packets (socket):",
        "read_counters (socket):",
        "print_counters (tracepoint/syscalls/sys_enter_getpid):",
    ]


def test_prog_disasm_unknown_program(testdata: Path) -> None:
    out = pybpf("prog", "disasm", str(testdata / "globals-el.o"), "nosuch")
    assert out.returncode == 1
    assert "no program 'nosuch'" in out.stderr and "count_packets" in out.stderr
