"""Compiling a BPF C source with clang, for both byte orders, reproducibly.

As the project's own ``testdata/build.py`` does: ``clang -target bpfel``
(and ``bpfeb``) ``-O2 -g``, run in the source's directory on its bare file
name with ``-fdebug-compilation-dir=.`` so that no absolute path reaches the
BTF line info, the host's multiarch include directory after the others (for
``asm/types.h``, which ``linux/bpf.h`` needs and ``-target bpf`` lacks), then
``llvm-strip -g``: DWARF goes, ``.BTF`` and ``.BTF.ext`` stay.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pybpf.elf.gen.errors import ClangNotFoundError, CompileError
from pybpf.elf.spec import ByteOrder

__all__ = ["TARGETS", "clang_version", "compile_source", "find_clang"]

#: clang's target for each byte order.
TARGETS: dict[ByteOrder, str] = {"little": "bpfel", "big": "bpfeb"}
_CFLAGS = ("-O2", "-g", "-fdebug-compilation-dir=.")
_MAX_ERROR_LINES = 40


def find_clang(clang: str | None = None) -> str:
    """The clang to run: ``clang`` as given (a path or a name on PATH), else ``clang``."""
    wanted = clang or "clang"
    found = shutil.which(wanted)
    if found is None:
        where = f"{wanted!r} is not there" if clang else "no clang on PATH"
        raise ClangNotFoundError(
            f"pybpf gen compiles C with clang: {where}. Install Debian's package "
            "'clang' (apt install clang), pass --clang PATH, or give compiled "
            "objects with --object"
        )
    return found


def _strip_tool(clang: str) -> str:
    """llvm-strip of the same LLVM as ``clang`` (``clang-19`` → ``llvm-strip-19``)."""
    path = Path(clang)
    suffix = path.name[len("clang") :] if path.name.startswith("clang") else ""
    for name in (f"llvm-strip{suffix}", "llvm-strip"):
        for candidate in (path.parent / name, Path(shutil.which(name) or "")):
            if candidate.name and candidate.is_file():
                return str(candidate)
    raise ClangNotFoundError(
        "pybpf gen strips DWARF with llvm-strip, which is not there: install Debian's "
        "package 'llvm' (apt install llvm)"
    )


def clang_version(clang: str) -> str:
    """The first line of ``clang --version`` (what a generated module's header records)."""
    out = _run([clang, "--version"], Path.cwd())
    return out.splitlines()[0].strip() if out.strip() else "unknown"


def _multiarch_include(clang: str) -> list[str]:
    for cmd in (["gcc", "-print-multiarch"], [clang, "-print-multiarch"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError:
            continue
        triple = out.stdout.strip()
        if triple and Path("/usr/include", triple, "asm").is_dir():
            return ["-idirafter", f"/usr/include/{triple}"]
    return []


def _run(cmd: Sequence[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CompileError(f"$ {shlex.join(cmd)}: {exc.strerror}") from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).splitlines()
        errors = [line for line in output if "error:" in line] or output
        first = errors[0].strip() if errors else f"exit status {proc.returncode}"
        if len(output) > _MAX_ERROR_LINES:
            output = [*output[:_MAX_ERROR_LINES], "..."]
        summary = f"{Path(cmd[0]).name} failed: {first}"
        if "file not found" in first and "bpf/" in first:
            summary += " (libbpf's headers: install Debian's package 'libbpf-dev')"
        raise CompileError("\n".join([summary, f"$ {shlex.join(cmd)}", *output]))
    return proc.stdout


def compile_source(
    source: str | os.PathLike[str], clang: str, cflags: Sequence[str] = ()
) -> dict[ByteOrder, bytes]:
    """The objects ``source`` compiles to, by byte order."""
    source = Path(source)
    if not source.is_file():
        raise CompileError(f"{source}: no such C source")
    strip = _strip_tool(clang)
    includes = _multiarch_include(clang)
    objects: dict[ByteOrder, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="pybpf-gen-") as tmp:
        for order, target in TARGETS.items():
            unstripped = Path(tmp, f"{target}.debug.o")
            stripped = Path(tmp, f"{target}.o")
            cmd = [clang, "-target", target, *_CFLAGS, *includes, *cflags]
            _run([*cmd, "-c", source.name, "-o", str(unstripped)], source.resolve().parent)
            _run([strip, "-g", str(unstripped), "-o", str(stripped)], Path(tmp))
            objects[order] = stripped.read_bytes()
    return objects
