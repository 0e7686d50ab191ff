"""CO-RE against the host's kernel BTF, checked against libbpf's own decisions.

``core_oracle.c`` (built here against libbpf-dev) lets libbpf relocate the same
object and prints its debug log; every "relo #N: patched insn #I ... -> V" and
"substituting insn #I" line must be what pybpf computes for record N.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.asm import Instructions, OpClass, decode
from pybpf.btf import Spec, load_kernel_spec, load_spec
from pybpf.btf.corerelo import POISON_HELPER_ID, CORERelocator, COREResult
from pybpf.btf.elfsections import section_data
from pybpf.btf.ext import attach_ext_infos, load_ext_infos

HERE = Path(__file__).resolve().parent
VMLINUX = Path("/sys/kernel/btf/vmlinux")
CORE_OBJECTS = ["core", "core_local", "core_match", "kfuncs", "ksyms"]

Decision = tuple[int, int | str]

pytestmark = pytest.mark.skipif(not VMLINUX.exists(), reason="no kernel BTF at " + str(VMLINUX))


@pytest.fixture(scope="session")
def kernel_spec() -> Spec:
    return load_kernel_spec()


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler for the libbpf oracle")
    if os.geteuid() != 0:
        pytest.skip("libbpf relocates only after creating maps, which needs root")
    exe = tmp_path_factory.mktemp("oracle") / "core_oracle"
    build = subprocess.run(
        [cc, "-O1", "-o", str(exe), str(HERE / "core_oracle.c"), "-lbpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode:
        pytest.skip(f"cannot build the libbpf oracle (libbpf-dev missing?): {build.stderr[-300:]}")
    return exe


def relocate_object(
    path: Path, target: Spec
) -> tuple[dict[str, Instructions], dict[str, list[COREResult]]]:
    """Relocate every section of an object with CO-RE records, as libbpf orders them."""
    data = path.read_bytes()
    spec = load_spec(data)
    ext = load_ext_infos(section_data(data, ".BTF.ext"), spec)
    relocator = CORERelocator(spec, target)
    programs: dict[str, Instructions] = {}
    results: dict[str, list[COREResult]] = {}
    for name in ext.core_relocations:
        insns = decode(section_data(data, name), spec.byte_order)
        attach_ext_infos(insns, ext.section(name))
        results[name] = relocator.relocate(insns)
        programs[name] = insns
    return programs, results


def our_decisions(path: Path, target: Spec) -> dict[tuple[str, int], Decision]:
    programs, results = relocate_object(path, target)
    decisions: dict[tuple[str, int], Decision] = {}
    for name, section_results in results.items():
        insns = programs[name]
        for n, result in enumerate(section_results):
            insn = insns[result.index]
            slot = result.relocation.offset
            if insn.is_helper_call and insn.constant == POISON_HELPER_ID:
                decisions[name, n] = (slot, "poison")
            elif insn.op_class in (OpClass.LDX, OpClass.ST, OpClass.STX):
                decisions[name, n] = (slot, insn.offset)
            elif insn.is_ld_imm64:
                decisions[name, n] = (slot, insn.constant & 0xFFFFFFFFFFFFFFFF)
            else:
                decisions[name, n] = (slot, insn.constant & 0xFFFFFFFF)
    return decisions


_SECTION = re.compile(r"sec '([^']+)': found \d+ CO-RE relocations")
_PROGRAM = re.compile(r"sec '([^']+)': found program '([^']+)' at insn offset (\d+)")
_PATCHED = re.compile(
    r"prog '([^']+)': relo #(\d+): patched insn #(\d+) \((ALU/ALU64|LDX/ST/STX|LDIMM64)\) "
    r"(?:imm|off|imm64) (\d+) -> (\d+)"
)
_POISONED = re.compile(r"prog '([^']+)': relo #(\d+): substituting insn #(\d+)")


def libbpf_decisions(oracle: Path, path: Path) -> dict[tuple[str, int], Decision]:
    out = subprocess.run(
        [str(oracle), str(path)], capture_output=True, text=True, check=False, timeout=120
    ).stdout
    starts: dict[str, int] = {}
    section = ""
    decisions: dict[tuple[str, int], Decision] = {}
    for line in out.splitlines():
        if m := _PROGRAM.search(line):
            starts[m.group(2)] = int(m.group(3))
        elif m := _SECTION.search(line):
            section = m.group(1)
        elif m := _PATCHED.search(line):
            value = int(m.group(6))
            if m.group(4) == "ALU/ALU64":
                value &= 0xFFFFFFFF
            slot = starts[m.group(1)] + int(m.group(3))
            decisions[section, int(m.group(2))] = (slot, value)
        elif m := _POISONED.search(line):
            slot = starts[m.group(1)] + int(m.group(3))
            key = (section, int(m.group(2)))
            # A poisoned LD_IMM64 prints its second slot first.
            previous = decisions.get(key)
            if previous is not None:
                slot = min(slot, previous[0])
            decisions[key] = (slot, "poison")
    return decisions


@pytest.mark.parametrize("name", CORE_OBJECTS)
def test_same_decisions_as_libbpf(
    name: str, testdata: Path, kernel_spec: Spec, oracle: Path
) -> None:
    path = testdata / f"{name}-el.o"
    expected = libbpf_decisions(oracle, path)
    assert expected, "the oracle printed no CO-RE decisions"
    assert our_decisions(path, kernel_spec) == expected


@pytest.mark.parametrize("name", CORE_OBJECTS)
def test_big_endian_objects_relocate_alike(name: str, testdata: Path, kernel_spec: Spec) -> None:
    # clang's code differs between targets; the records and their fixups do not.
    def fixups(path: Path) -> list[tuple[str, tuple[int, ...], object, int, bool]]:
        _, results = relocate_object(path, kernel_spec)
        return [
            (
                r.relocation.type.name,
                r.relocation.accessor,
                r.relocation.kind,
                r.fixup.target,
                r.fixup.poison,
            )
            for section in results.values()
            for r in section
        ]

    little = fixups(testdata / f"{name}-el.o")
    big = fixups(testdata / f"{name}-eb.o")
    assert sorted(set(little), key=repr) == sorted(set(big), key=repr)


def test_known_kernel_values(testdata: Path, kernel_spec: Spec) -> None:
    _, results = relocate_object(testdata / "core-el.o", kernel_spec)
    task = kernel_spec.type_by_name("task_struct")
    by_access = {
        (r.relocation.type.name, r.relocation.accessor, r.relocation.kind.name): r.fixup
        for section in results.values()
        for r in section
    }
    pid = next(m for m in task.members if m.name == "pid")  # type: ignore[attr-defined]
    assert by_access["task_struct", (0, 6), "FIELD_BYTE_OFFSET"].target == pid.offset // 8
    assert by_access["task_struct", (0,), "TYPE_ID_TARGET"].target == kernel_spec.type_id(task)
    assert by_access["task_struct", (0,), "TYPE_SIZE"].target == task.size  # type: ignore[attr-defined]
    assert by_access["task_struct___v1", (0, 1), "FIELD_EXISTS"].target == 0
    assert by_access["pybpf_no_such_type", (0,), "TYPE_EXISTS"].target == 0
    assert by_access["pid_type___v1", (1,), "ENUMVAL_EXISTS"].target == 0
    assert by_access["pid_type___v1", (0,), "ENUMVAL_VALUE"].target == 1
