"""Subprograms are linked exactly as libbpf links them.

libbpf appends subprograms only while loading, so this compares with the
instructions of an object libbpf really loaded (root and a BPF-capable
kernel: a ``kernel`` test), slot by slot: opcode, registers, offset and
immediate, except what only the kernel decides (map fds, BTF ids).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pybpf.btf.ext.records import CORERelocation
from pybpf.elf import Extern, load_collection_spec
from pybpf.elf.programs import _local_calls

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OBJECTS = [
    "loader",
    "linked",
    "linked_weak",
    "linked_statics",
    "maps",
    "maps_new",
    "globals",
    "instructions",
    "atomics",
    "v4",
    "long_jump",
    "kconfig",
    "ksyms",
    "kfuncs",
    "core",
    "struct_ops",
    "usdt",
    "func_pointers",
]
# Objects the libbpf here (1.1.2) refuses on every kernel, so it can't be the
# oracle for them: core_local by design (its CO-RE types exist in no kernel),
# struct_ops_link because libbpf 1.1.2 ignores .struct_ops.link and its
# programs get no attach BTF id. The test below pins that refusal, so that a
# newer libbpf that loads them shows up and they join OBJECTS.
LIBBPF_REFUSES = {"core_local": 22, "struct_ops_link": 524}
# LD_IMM64 sources whose immediate the loader fills: map fds and indices, BTF ids.
_FILLED_BY_LOADER = {1, 2, 3, 5, 6}


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the libbpf oracle")
    out = tmp_path_factory.mktemp("oracle") / "libbpf_oracle"
    build = subprocess.run(
        [cc, "-O2", "-o", str(out), str(HERE / "libbpf_oracle.c"), "-lbpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode:
        pytest.skip(f"cannot build the libbpf oracle: {build.stderr.strip()[:200]}")
    return out


def _slots(code: bytes) -> list[list[int]]:
    out = []
    for op, regs, off, imm in struct.iter_unpack("<BBhi", code):
        out.append([op, regs & 0xF, regs >> 4, off, imm])
    return out


@pytest.mark.kernel
@pytest.mark.parametrize("name", OBJECTS)
def test_linked_like_libbpf(oracle: Path, name: str) -> None:
    path = ROOT / "testdata" / f"{name}-el.o"
    out = subprocess.run(
        [str(oracle), "--linked", str(path)], capture_output=True, text=True, check=True
    )
    theirs = json.loads(out.stdout)
    if "error" in theirs:
        pytest.skip(f"libbpf cannot load {path.name} here: errno {theirs['error']}")
    spec = load_collection_spec(path)
    assert sorted(theirs) == sorted(spec.programs)
    for prog_name, insns in theirs.items():
        prog = spec.programs[prog_name]
        ours = _slots(prog.instructions.encode("little"))
        # CO-RE relocations are applied against the running kernel's BTF.
        core = {
            slot for slot, insn in prog.instructions.offsets() if CORERelocation in insn.metadata
        }
        # The loader fills the immediates of extern uses, and may swap helper
        # ids for ones an older kernel has (probe_read_kernel -> probe_read).
        # An extern's LD_IMM64 has both halves filled (a typed ksym's second
        # half holds the BTF fd of the module that has it).
        filled = {
            slot + half
            for slot, insn in prog.instructions.offsets()
            if Extern in insn.metadata or insn.is_helper_call
            for half in range(insn.slots)
        }
        assert len(ours) == len(insns), prog_name
        for i, (mine, real) in enumerate(zip(ours, insns, strict=True)):
            if i in core:
                continue
            if i in filled:
                # A typed ksym the kernel lacks becomes a plain 64-bit zero load
                # (libbpf clears its BTF_ID source): opcode, dst and offset stay.
                assert [*mine[:2], mine[3]] == [*real[:2], real[3]], f"{prog_name} slot {i}"
                if not (mine[0] == 0x18 and mine[2] == 3 and real[2] == 0):
                    assert mine[2] == real[2], f"{prog_name} slot {i}"
                continue
            if mine[0] == 0x18 and mine[2] in _FILLED_BY_LOADER:
                assert mine[:4] == real[:4], f"{prog_name} slot {i}"
                continue
            if mine[0] == 0x85 and mine[2] == 2:
                assert mine[:4] == real[:4], f"{prog_name} slot {i}"
                continue
            assert mine == real, f"{prog_name} slot {i}"


@pytest.mark.kernel
@pytest.mark.parametrize(("name", "errno"), sorted(LIBBPF_REFUSES.items()))
def test_oracle_refuses_what_it_cannot_load(oracle: Path, name: str, errno: int) -> None:
    path = ROOT / "testdata" / f"{name}-el.o"
    out = subprocess.run(
        [str(oracle), "--linked", str(path)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {"error": errno}
    # pybpf reads it all the same.
    assert load_collection_spec(path).programs


def test_local_calls_are_told_from_helper_calls_by_the_raw_source_register() -> None:
    # call 1 (helper), call pc+0 (local, src 1), exit; then the same big-endian.
    little = bytes([0x85, 0x00, 0, 0, 1, 0, 0, 0, 0x85, 0x10, 0, 0, 0, 0, 0, 0, 0x95] + [0] * 7)
    big = bytes([0x85, 0x00, 0, 0, 0, 0, 0, 1, 0x85, 0x01, 0, 0, 0, 0, 0, 0, 0x95] + [0] * 7)
    assert _local_calls(little, "little") == [1]
    assert _local_calls(big, "big") == [1]


@pytest.mark.parametrize("name", [*OBJECTS, *LIBBPF_REFUSES])
def test_programs_share_no_instruction(testdata: Path, name: str) -> None:
    """A subprogram linked into several programs is one copy each: editing one edits no other."""
    spec = load_collection_spec(testdata / f"{name}-el.o")
    owner: dict[int, str] = {}
    for prog in spec.programs.values():
        for insn in prog.instructions:
            assert owner.setdefault(id(insn), prog.name) == prog.name, (
                f"{prog.name} and {owner[id(insn)]} share an instruction"
            )
    shared = [p for p in spec.programs.values() if p.instructions.slots > p.own_slots]
    if len(shared) < 2:
        return
    before = [p.instructions.copy() for p in shared]
    for insn in shared[-1].instructions:
        insn.constant = 0 if insn.constant else 1
    assert [p.instructions for p in shared[:-1]] == before[:-1]
