"""Every Python example in the README and in each distribution's README runs.

A README's ```python blocks run in order in one namespace, from the
repository's root (their paths are relative to it), as a user who copies them
would run them. READMEs whose examples need the kernel carry its marker.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

# What each README's examples touch: bpf(2), the kernel's BTF files, or nothing.
READMES = [
    pytest.param("README.md", marks=pytest.mark.kernel),
    pytest.param("packages/pybpf-asm/README.md"),
    pytest.param("packages/pybpf-btf/README.md", marks=pytest.mark.kernel_files),
    pytest.param("packages/pybpf-elf/README.md"),
    pytest.param("packages/pybpf-core/README.md", marks=pytest.mark.kernel),
    pytest.param("packages/pybpf-link/README.md"),
]


def examples(readme: Path) -> list[str]:
    """The ```python blocks of a markdown file, in order."""
    return _BLOCK.findall(readme.read_text())


def test_every_readme_is_listed() -> None:
    """A new distribution's README is not left out by accident."""
    listed = {p.values[0] for p in READMES}
    found = {"README.md"} | {
        str(p.relative_to(ROOT)) for p in (ROOT / "packages").glob("*/README.md")
    }
    assert found == listed


@pytest.mark.parametrize("readme", READMES)
def test_examples_run(readme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's examples run, in order, as a user who copies them would."""
    path = ROOT / readme
    if readme.startswith("packages/pybpf-btf") and not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no /sys/kernel/btf/vmlinux on this kernel")
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for i, code in enumerate(examples(path)):
        exec(compile(code, f"{readme} (example {i + 1})", "exec"), namespace)
