"""Auto-attach agrees with libbpf's bpf_program__attach, program by program.

A small C oracle (native/attach_oracle.c, built against the system's libbpf)
loads the same object and attaches each program; pybpf must attach what
libbpf attaches, with the same link type (or none, for an attachment without
a bpf_link), and refuse what libbpf refuses: a section that names no target
(libbpf's EOPNOTSUPP) is a SectionNotAttachableError, a kernel's refusal is
another error.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.core import Collection
from pybpf.elf import load_collection_spec
from pybpf.link import SectionNotAttachableError, attach

pytestmark = pytest.mark.kernel

HERE = Path(__file__).resolve().parent
OBJECTS = ["link_auto-el.o", "link_tracepoint-el.o"]


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the libbpf oracle")
    out = tmp_path_factory.mktemp("oracle") / "attach_oracle"
    build = subprocess.run(
        [cc, "-O1", str(HERE / "native" / "attach_oracle.c"), "-o", str(out), "-lbpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode:
        pytest.skip(f"libbpf's headers or library are missing (libbpf-dev): {build.stderr[-300:]}")
    return out


def _libbpf(oracle: Path, obj: Path) -> dict[str, str]:
    run = subprocess.run([str(oracle), str(obj)], capture_output=True, text=True, check=False)
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    if "load" in lines:
        pytest.skip(f"libbpf could not load {obj.name} here: {lines['load']}")
    return lines


def _pybpf(obj: Path) -> dict[str, str]:
    answers = {}
    with Collection(load_collection_spec(obj)) as coll:
        for name, prog in coll.programs.items():
            try:
                link = attach(prog)
            except SectionNotAttachableError:
                answers[name] = "err no target"
            except (OSError, LookupError, ValueError):
                answers[name] = "err refused"
            else:
                with link:
                    answers[name] = "ok legacy" if link.type is None else f"ok {int(link.type)}"
    return answers


def _outcome(answer: str) -> str:
    """What must agree: the link type when attached; refused-for-its-section or not.

    libbpf says EOPNOTSUPP for a section that names no target.
    """
    if answer.startswith("ok") or answer in ("err no target", "err refused"):
        return answer
    return "err no target" if answer == f"err {errno.EOPNOTSUPP}" else "err refused"


@pytest.mark.parametrize("name", OBJECTS)
def test_attach_agrees_with_libbpf(oracle: Path, testdata: Path, name: str) -> None:
    obj = testdata / name
    expected = {prog: _outcome(a) for prog, a in _libbpf(oracle, obj).items()}
    got = {prog: _outcome(a) for prog, a in _pybpf(obj).items()}
    assert got == expected
