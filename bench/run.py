"""``nox -s bench``: every layer's figures, as ratios against C measured in the same run.

Each ``bench/bench_*.py`` module defines ``run(bench: Bench) -> None`` and reports
its measurements through ``bench.report``. C baselines live in ``bench/c/`` and
are compiled against libbpf-dev by ``Bench.c_program``.
Run a subset with ``nox -s bench -- asm btf``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "build"


@dataclass
class Bench:
    """What a bench module gets: timing helpers, C baselines, and the report."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def time(self, fn: Callable[[], object], *, number: int = 0, repeat: int = 7) -> float:
        """Best-of-``repeat`` seconds per call of ``fn`` (auto-ranged when number=0)."""
        if number == 0:
            number = 1
            while True:
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                if time.perf_counter() - t0 > 0.2:
                    break
                number *= 2
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            runs.append((time.perf_counter() - t0) / number)
        return min(runs)

    def c_program(self, name: str, *, libs: tuple[str, ...] = ("-lbpf",)) -> Path:
        """Compile ``bench/c/NAME.c`` (once per run) and return the binary."""
        BUILD.mkdir(exist_ok=True)
        src, exe = HERE / "c" / f"{name}.c", BUILD / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            subprocess.run(["cc", "-O2", "-o", str(exe), str(src), *libs], check=True)
        return exe

    def c_seconds(self, name: str, *args: str) -> dict[str, float]:
        """Run a C baseline; it prints ``label seconds`` lines."""
        out = subprocess.run(
            [str(self.c_program(name)), *args], check=True, capture_output=True, text=True
        ).stdout
        result = {}
        for line in out.splitlines():
            label, _, value = line.rpartition(" ")
            result[label] = float(value)
        return result

    def report(
        self,
        what: str,
        seconds: float,
        *,
        baseline: float | None = None,
        baseline_name: str = "C",
        target: str = "",
    ) -> None:
        """One row: the figure, and its ratio to the baseline when there is one."""
        ratio = f"{seconds / baseline:.2f}x {baseline_name}" if baseline else ""
        self.rows.append((what, _fmt(seconds), ratio, target))
        print(f"  {what:<64} {_fmt(seconds):>10}  {ratio:<14} {target}", flush=True)


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e3:.2f} ms"


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = sorted(HERE.glob("bench_*.py"))
    bench = Bench()
    print(f"pybpf bench: Python {sys.version.split()[0]}, {os.uname().release}")
    for path in modules:
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"[{name}]", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.run(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
