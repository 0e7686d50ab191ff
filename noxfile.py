"""Every task of the project: tests, lint, type check, testdata, build, bench, VM matrix.

Sessions install only what they need, so that the same venvs stay lean enough to
run inside slow emulated kernels.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
# Bottom layer first: installing in this order satisfies each layer's dependencies
# from the checkout instead of an index.
LAYERS = ["asm", "btf", "elf", "core", "link"]
PACKAGES = [ROOT / "packages" / f"pybpf-{layer}" for layer in LAYERS]
# pyelftools cross-checks our ELF readers in tests; no layer needs it at run time.
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "pyelftools>=0.31"]

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


def install_layers(session: nox.Session, *, editable: bool = True) -> None:
    args: list[str] = []
    for pkg in PACKAGES:
        args += ["-e", str(pkg)] if editable else [str(pkg)]
    session.install(*args)
    if editable:
        compile_sources(session, "python")


def compile_sources(session: nox.Session, python: str) -> None:
    """Write the bytecode of the editable sources (and the examples) beside them.

    pip compiles what it installs, but an editable install is imported from the
    checkout, and with PYTHONDONTWRITEBYTECODE set (as on these machines) every
    new process, and the tests start many, would compile every module again:
    about 1 s a process here, far more in an emulated kernel.
    """
    sources = [str(pkg / "src") for pkg in PACKAGES] + [str(ROOT / "examples")]
    session.run(python, "-m", "compileall", "-q", *sources, external=True, silent=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Every distribution's tests (and the docs' examples) on this machine's kernel."""
    install_layers(session)
    session.install(*TEST_DEPS)
    # A layer with no tests yet (pybpf-link) has no tests/ folder in a clone.
    suites = [str(p / "tests") for p in PACKAGES if (p / "tests").is_dir()]
    targets = session.posargs or [*suites, "kernels/tests", "docs"]
    session.run("pytest", "--doctest-glob=*.md", *targets, env={"PYBPF_ROOT": str(ROOT)})


@nox.session
def demo(session: nox.Session) -> None:
    """The bundled example, end to end on this machine's kernel (needs root)."""
    install_layers(session, editable=False)
    session.run("python", str(ROOT / "examples" / "demo.py"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every distribution's sources."""
    install_layers(session)
    session.install("mypy>=1.10", *TEST_DEPS)
    session.run("mypy", "--strict", *[str(p / "src" / "pybpf") for p in PACKAGES])
    # The project's own tooling is held to the same standard.
    tooling = ["kernels", "tools", "bench/run.py", "testdata/build.py", "conftest.py"]
    session.run("mypy", "--strict", *[str(ROOT / t) for t in tooling])
    # The fuzz harnesses import each other as top-level modules.
    session.run("mypy", "--strict", str(ROOT / "fuzz"), env={"MYPYPATH": str(ROOT / "fuzz")})
    # The example tools import their pybpf-gen modules as top-level modules.
    session.run(
        "mypy", "--strict", str(ROOT / "examples"), env={"MYPYPATH": str(ROOT / "examples")}
    )


# The site's tools: mkdocs with the Material theme, mkdocstrings' Python handler
# for the API reference (griffe reads the sources, nothing is imported).
DOCS_DEPS = [
    "mkdocs>=1.6,<2",
    "mkdocs-material>=9.5,<10",
    "mkdocstrings>=0.26,<2",
    "mkdocstrings-python>=1.12,<3",
    "ruff>=0.6",  # mkdocstrings formats the long signatures with it
]


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built with --strict into site/ (a broken link fails)."""
    # The section-name table is rendered from pybpf.elf's own table at build
    # time: the offline layers are enough, no kernel or compiler needed.
    session.install(*[a for pkg in PACKAGES[:3] for a in ("-e", str(pkg))])
    session.install(*DOCS_DEPS)
    site = ROOT / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--config-file",
        str(ROOT / "mkdocs.yml"),
        "--site-dir",
        str(site),
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def testdata(session: nox.Session) -> None:
    """Rebuild testdata/*.o from testdata/*.c for both byte orders."""
    session.run(
        sys.executable, str(ROOT / "testdata" / "build.py"), *session.posargs, external=True
    )


@nox.session
def testdata_check(session: nox.Session) -> None:
    """Fail when a committed testdata object differs from a fresh build."""
    session.run(sys.executable, str(ROOT / "testdata" / "build.py"), "--check", external=True)


@nox.session
def build(session: nox.Session) -> None:
    """Build a wheel and an sdist of every layer, then prove each installs on its own."""
    session.install("build>=1.2")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for pkg in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), str(pkg))
    session.run("python", str(ROOT / "tools" / "check_wheels.py"), str(dist))


# No setuptools in the bench's venv (as in venvs of Python 3.12 and later, and
# uv's): its distutils-precedence.pth runs in every interpreter start, ~5 ms
# here, which the fresh-process rows would count against pybpf, which never
# uses it.
@nox.session(venv_params=["--no-setuptools", "--no-wheel"])
def bench(session: nox.Session) -> None:
    """Performance figures: ratios from interleaved pairs (``-- --json`` saves them)."""
    install_layers(session, editable=False)
    session.install("pyelftools>=0.31")  # the asm bench pulls programs out of testdata
    session.run(
        "python",
        str(ROOT / "bench" / "run.py"),
        *session.posargs,
        env={"PYBPF_ROOT": str(ROOT), "PYTHONHASHSEED": "0"},
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing of every parser with atheris, 60 s in all (``-- SECONDS``)."""
    # The offline layers parse untrusted bytes; core is installed for the compiled
    # modules its wheel carries (BTF scan and record dumps, C dump, asm codec),
    # which those layers use when present (the harnesses compare them with the
    # pure-Python paths). Link is not needed.
    layers = [pkg for pkg in PACKAGES if pkg.name != "pybpf-link"]
    session.install(*[arg for pkg in layers for arg in ("-e", str(pkg))], "atheris>=2.3")
    session.run("python", str(ROOT / "fuzz" / "run.py"), *session.posargs)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the kernel UAPI enums and structs from testdata/uapi's BTF blob."""
    session.run(
        sys.executable, str(ROOT / "tools" / "gen_uapi.py"), *session.posargs, external=True
    )


# --- VM matrix: every distribution's tests on every kernel of kernels/matrix.toml ---
# `nox -s "vm(kernel='6.1')"` runs one row; `nox -s vm` runs them all, one after
# another, and each row prints the table of the rows run so far in this nox run.
# docs/kernels.md tells how to add a kernel and debug inside a VM.

import tomllib  # noqa: E402

VM_VENV = ROOT / ".nox" / "vm"
VM_RESULTS = ROOT / ".nox" / "vm-results"
with (ROOT / "kernels" / "matrix.toml").open("rb") as _f:
    VM_KERNELS = [row["name"] for row in tomllib.load(_f)["kernel"]]
_vm_done: list[Path] = []


def vm_python(session: nox.Session) -> str:
    """The guests' lean venv, made or brought up to date, its sources compiled: its python."""
    editables = [a for pkg in PACKAGES for a in ("--editable", str(pkg))]
    venv = [str(VM_VENV), *editables, "--", *TEST_DEPS]
    session.run(sys.executable, "-m", "kernels.leanvenv", *venv, external=True)
    python = str(VM_VENV / "bin" / "python")
    compile_sources(session, python)
    return python


@nox.session(venv_backend="none")
@nox.parametrize("kernel", VM_KERNELS)
def vm(session: nox.Session, kernel: str) -> None:
    """Every distribution's tests inside one kernel of the matrix (or on the host row)."""
    session.log(f"vm: row {kernel} ({VM_KERNELS.index(kernel) + 1}/{len(VM_KERNELS)})")
    py = [sys.executable, "-m"]
    python = vm_python(session)
    results = VM_RESULTS / kernel
    row = [kernel, "--python", python, "--results", str(results), "--", *session.posargs]
    try:
        session.run(*py, "kernels.matrix", "run", *row, external=True)
    finally:
        _vm_done.append(results)
        done = [str(d) for d in _vm_done]
        session.run(*py, "kernels.matrix", "report", *done, external=True)


@nox.session(venv_backend="none")
def matrix(session: nox.Session) -> None:
    """The rows CI runs (`ci` in kernels/matrix.toml), one per CPU at a time; then the table.

    What `.ci/run` runs, with $PYBPF_MATRIX_SCOPE=ci: a guest keeps about one
    host CPU busy on average, so on two CPUs the rows take less time than
    `nox -s "vm(kernel='5.10')" ...` one after another (CI's: 2246 s against 2801 s).
    Arguments go to pytest in every row.
    """
    python = vm_python(session)
    rows = ["--ci", "--python", python, "--results-root", str(VM_RESULTS)]
    session.run(
        sys.executable, "-m", "kernels.matrix", "parallel", *rows, "--", *session.posargs,
        external=True,
    )  # fmt: skip
