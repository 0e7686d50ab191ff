"""The lean venv is rebuilt when what an editable install compiled has changed."""

from __future__ import annotations

from pathlib import Path

from kernels import leanvenv


def _package(root: Path) -> Path:
    pkg = root / "pkg"
    (pkg / "src" / "mod" / "_csrc").mkdir(parents=True)
    (pkg / "tests").mkdir()
    (pkg / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (pkg / "hatch_build.py").write_text("# hook\n")
    (pkg / "src" / "mod" / "core.py").write_text("x = 1\n")
    (pkg / "src" / "mod" / "_csrc" / "scan.c").write_text("int f(void) { return 1; }\n")
    (pkg / "src" / "mod" / "_csrc" / "scan.h").write_text("int f(void);\n")
    (pkg / "tests" / "helper.c").write_text("int t;\n")
    return pkg


def test_fingerprint_follows_what_the_install_compiled(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    first = leanvenv._fingerprint([pkg], ["pytest"])
    # Python sources are followed by the editable install itself, and tests
    # are not installed: neither makes the venv stale.
    (pkg / "src" / "mod" / "core.py").write_text("x = 2\n")
    (pkg / "tests" / "helper.c").write_text("int t2;\n")
    assert leanvenv._fingerprint([pkg], ["pytest"]) == first
    for path, text in [
        ("src/mod/_csrc/scan.c", "int f(void) { return 2; }\n"),
        ("src/mod/_csrc/scan.h", "int f(void); int g;\n"),
        ("hatch_build.py", "# hook, changed\n"),
        ("pyproject.toml", "[project]\nname = 'pkg2'\n"),
    ]:
        (pkg / path).write_text(text)
        changed = leanvenv._fingerprint([pkg], ["pytest"])
        assert changed != first, path
        first = changed
    assert leanvenv._fingerprint([pkg], ["pytest", "hypothesis"]) != first
