"""Compile the BPF C sources in testdata/ into committed objects, for both byte orders.

Every ``testdata/<name>.c`` becomes ``testdata/<name>-el.o`` (``-target bpfel``) and
``testdata/<name>-eb.o`` (``-target bpfeb``): ``clang -O2 -g -c``, then
``llvm-strip -g``, which drops DWARF but keeps ``.BTF`` and ``.BTF.ext``.

A source may adjust its build with one header comment line among its first lines::

    // pybpf: clang=clang-19 cflags=-mcpu=v4
    // pybpf: link=linked_part.c

- ``clang=`` the compiler (default ``clang``, Debian's clang 14);
- ``cflags=`` replaces the default ``-mcpu=v3`` (several flags: separate with commas);
- ``link=`` more sources (comma-separated) compiled the same way and statically
  linked with the main one by ``bpftool gen object``. A source named by some
  ``link=`` is only a part: it produces no object of its own.
- ``endian=`` the byte orders to build (``el``, ``eb`` or ``el,eb``, the default):
  libbpf 1.1.2's linker, in Debian's bpftool, refuses big-endian objects.

Usage::

    python3 testdata/build.py              # rebuild every object
    python3 testdata/build.py maps btf     # rebuild only these sources
    python3 testdata/build.py --check      # rebuild into a temporary dir and compare

``--check`` exits with status 1 and lists every object that differs from the
committed one, is missing, or has no source any more.

Builds are deterministic: clang runs inside testdata/ on a relative source path
with ``-fdebug-compilation-dir=.``, so the checkout's path never reaches the BTF
line info. If a tool is missing, ``bash tools/setup.sh`` installs it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENDIANS = {"el": "bpfel", "eb": "bpfeb"}
DEFAULT_CLANG = "clang"
DEFAULT_CFLAGS = ("-mcpu=v3",)
# bpf_tracing.h picks the pt_regs layout from this; x86-64 is what the tests run on.
COMMON_CFLAGS = ("-O2", "-g", "-Wall", "-Werror", "-D__TARGET_ARCH_x86")
STRIP = "llvm-strip"
BPFTOOL = "bpftool"
DIRECTIVE = "// pybpf:"
HEADER_LINES = 10
MAX_ERROR_LINES = 30


class BuildError(Exception):
    """A tool failed; the message holds its command and output."""


@dataclass(frozen=True)
class Source:
    """One object to build: a main C file, its settings and its link partners."""

    name: str
    clang: str = DEFAULT_CLANG
    cflags: tuple[str, ...] = DEFAULT_CFLAGS
    link: tuple[str, ...] = field(default_factory=tuple)
    endians: tuple[str, ...] = tuple(ENDIANS)

    @property
    def files(self) -> tuple[str, ...]:
        return (f"{self.name}.c", *self.link)


def parse_source(path: Path) -> Source:
    """Read the ``// pybpf:`` directives of one source file."""
    settings: dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        for _, line in zip(range(HEADER_LINES), f, strict=False):
            line = line.strip()
            if not line.startswith(DIRECTIVE):
                continue
            for word in shlex.split(line[len(DIRECTIVE) :]):
                key, sep, value = word.partition("=")
                if not sep or key not in ("clang", "cflags", "link", "endian"):
                    raise BuildError(f"{path.name}: unknown directive {word!r}")
                settings[key] = value
    cflags = tuple(settings["cflags"].split(",")) if "cflags" in settings else DEFAULT_CFLAGS
    link = tuple(settings["link"].split(",")) if "link" in settings else ()
    endians = tuple(settings.get("endian", ",".join(ENDIANS)).split(","))
    if not endians or any(e not in ENDIANS for e in endians):
        raise BuildError(f"{path.name}: endian= takes el, eb or el,eb")
    return Source(path.stem, settings.get("clang", DEFAULT_CLANG), cflags, link, endians)


def discover() -> list[Source]:
    """Every buildable source in testdata/, parts of linked objects left out."""
    sources = [parse_source(p) for p in sorted(HERE.glob("*.c"))]
    parts = {part for s in sources for part in s.link}
    for part in parts:
        if not (HERE / part).is_file():
            raise BuildError(f"link part {part} does not exist")
    return [s for s in sources if f"{s.name}.c" not in parts]


def multiarch_include() -> list[str]:
    """The host's asm/ header dir: linux/bpf.h needs asm/types.h, -target bpf lacks it."""
    for cmd in (["gcc", "-print-multiarch"], [DEFAULT_CLANG, "-print-multiarch"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            continue
        triple = out.stdout.strip()
        if triple and Path("/usr/include", triple, "asm").is_dir():
            return ["-idirafter", f"/usr/include/{triple}"]
    return []


def run(cmd: Sequence[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise BuildError(f"{cmd[0]} not found: run `bash tools/setup.sh`") from e
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).splitlines()
        if len(output) > MAX_ERROR_LINES:
            output = [*output[:MAX_ERROR_LINES], "..."]
        raise BuildError("\n".join([f"$ {shlex.join(cmd)}", *output]))


def build_one(src: Source, endian: str, outdir: Path, includes: list[str]) -> Path:
    """Compile (and link) one source for one byte order into ``outdir``."""
    out = outdir / f"{src.name}-{endian}.o"
    with tempfile.TemporaryDirectory(prefix=f"pybpf-{src.name}-{endian}-") as tmp:
        parts: list[Path] = []
        for file in src.files:
            obj = Path(tmp) / f"{Path(file).stem}.part.o"
            run(
                [
                    src.clang,
                    "-target",
                    ENDIANS[endian],
                    *COMMON_CFLAGS,
                    *src.cflags,
                    "-fdebug-compilation-dir=.",
                    *includes,
                    "-c",
                    file,
                    "-o",
                    str(obj),
                ],
                cwd=HERE,
            )
            parts.append(obj)
        if len(parts) > 1:
            linked = Path(tmp) / "linked.o"
            run([BPFTOOL, "gen", "object", str(linked), *map(str, parts)], cwd=HERE)
        else:
            linked = parts[0]
        run([STRIP, "-g", str(linked), "-o", str(out)], cwd=HERE)
    return out


def build(sources: list[Source], outdir: Path, jobs: int) -> list[str]:
    """Build every source for both byte orders; return the failures' messages."""
    includes = multiarch_include()
    tasks = [(s, e) for s in sources for e in s.endians]
    errors: list[str] = []

    def one(task: tuple[Source, str]) -> None:
        src, endian = task
        try:
            out = build_one(src, endian, outdir, includes)
        except BuildError as e:
            errors.append(f"{src.name}-{endian}.o: {e}")
            print(f"FAIL  {src.name}-{endian}.o", flush=True)
            return
        print(f"built {out.name} ({out.stat().st_size} bytes, {src.clang})", flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, tasks))
    return errors


def check(sources: list[Source], jobs: int) -> int:
    """Rebuild into a temporary dir; report objects that differ from the committed ones."""
    with tempfile.TemporaryDirectory(prefix="pybpf-testdata-") as tmp:
        fresh_dir = Path(tmp)
        errors = build(sources, fresh_dir, jobs)
        for err in errors:
            print(err, file=sys.stderr)
        problems: list[str] = []
        expected = {p.name for p in fresh_dir.glob("*.o")}
        for name in sorted(expected):
            committed = HERE / name
            if not committed.is_file():
                problems.append(f"{name}: not committed (run testdata/build.py)")
            elif committed.read_bytes() != (fresh_dir / name).read_bytes():
                problems.append(f"{name}: differs from a fresh build")
        wanted = {f"{s.name}-{e}.o" for s in sources for e in s.endians}
        for committed in sorted(HERE.glob("*.o")):
            if committed.name not in wanted:
                problems.append(f"{committed.name}: no source builds it")
    for p in problems:
        print(p, file=sys.stderr)
    if errors or problems:
        print(f"check: {len(errors)} failed, {len(problems)} out of date", file=sys.stderr)
        return 1
    print(f"check: {len(expected)} objects up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or check) the testdata objects."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="sources to build (stem, default: all)")
    parser.add_argument("--check", action="store_true", help="compare with a fresh build")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    for tool in (DEFAULT_CLANG, STRIP):
        if shutil.which(tool) is None:
            print(f"{tool} not found: run `bash tools/setup.sh`", file=sys.stderr)
            return 2
    try:
        sources = discover()
    except BuildError as e:
        print(e, file=sys.stderr)
        return 2
    if args.names:
        known = {s.name: s for s in sources}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            print(f"unknown sources: {', '.join(unknown)}", file=sys.stderr)
            return 2
        sources = [known[n] for n in args.names]
    if args.check:
        if args.names:
            print("--check always checks every source", file=sys.stderr)
            return 2
        return check(sources, args.jobs)
    errors = build(sources, HERE, args.jobs)
    for err in errors:
        print(err, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
