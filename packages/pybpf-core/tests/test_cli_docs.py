"""The shell examples of docs/cli.md: every command runs and prints what the page shows.

A ```console block holds ``$ command`` lines, each followed by its expected
output. A line ``...`` stands for any number of lines and ``...`` inside a
line for any text. Blocks marked ``console kernel`` need bpf(2).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "cli.md"
SCRIPT = Path(sys.executable).with_name("pybpf")
_BLOCK = re.compile(r"^```console( kernel)?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[bool, str, list[str]]]:
    """(needs the kernel, command, expected output lines) for each ``$`` line of the page."""
    out: list[tuple[bool, str, list[str]]] = []
    for kernel, body in _BLOCK.findall(PAGE.read_text()):
        for line in body.splitlines():
            if line.startswith("$ "):
                out.append((bool(kernel), line[2:], []))
            else:
                out[-1][2].append(line)
    return out


def _line_pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")) + r"\Z")


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` fits ``expected``, ``...`` lines matching any run of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and bool(_line_pattern(head).match(actual[0])) and matches(rest, actual[1:])


EXAMPLES = examples()


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 8
    assert sum(kernel for kernel, _, _ in EXAMPLES) >= 3


@pytest.mark.parametrize(
    ("kernel", "command", "expected"),
    [pytest.param(*e, id=e[1], marks=[pytest.mark.kernel] if e[0] else []) for e in EXAMPLES],
)
def test_example(kernel: bool, command: str, expected: list[str]) -> None:
    if command.startswith("pybpf btf list") and not _kernel_lists_vmlinux():
        pytest.skip("this kernel lists no vmlinux BTF object (BTF ids for vmlinux: 5.11+)")
    argv = shlex.split(command)
    assert argv[0] == "pybpf"
    out = subprocess.run(
        [str(SCRIPT), *argv[1:]], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert matches(expected, out.stdout.splitlines()), out.stdout


def _kernel_lists_vmlinux() -> bool:
    from pybpf.core.inventory import btf_objects

    return any(info.name == "vmlinux" for info in btf_objects())


def test_matches() -> None:
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["a ...B", "..."], ["a 12B"])
    assert not matches(["a"], ["a", "b"])
    assert matches([], [])
    assert os.path.exists(PAGE)
