"""``nox -s bench``: every layer's figures, as ratios measured in interleaved pairs.

Each ``bench/bench_*.py`` module defines ``run(bench: Bench) -> None`` and records
its rows through :class:`Bench`:

- :meth:`Bench.compare` takes a ratio from interleaved pairs (ours, theirs,
  ours, theirs, ... for at least :data:`ROUNDS` rounds) and reports the median
  of the per-pair ratios and their spread (lowest to highest pair). On a shared
  machine the load changes from one second to the next; a pair sees the same
  load on both sides, where the minima of two separate phases need not.
- A sample is either *in-process* (:meth:`Bench.in_process`: one auto-ranged
  batch of calls, seconds per call), a *fresh process* (:meth:`Bench.process`:
  the wall time of a whole process, interpreter start and imports included,
  against a whole C process), a C program's own figure (:meth:`Bench.c_figure`),
  or a constant (:class:`Constant`, for ebpf-go, whose modules are not
  reachable here: measured elsewhere, never same-run, and the row says so).
- :meth:`Bench.report` is a row without a baseline: the median of the samples.
- :meth:`Bench.instructions` counts what a whole process executes, with
  valgrind's callgrind (:meth:`Bench.count`): a count does not move with the
  machine's load, which moves times by a quarter from pair to pair here and
  by up to 2x between hours, so it tells whether a change made the work
  smaller. Those rows are for the record; the goals stay in time.

C baselines live in ``bench/c/`` and are compiled against libbpf-dev by
:meth:`Bench.c_program`. Run a subset with ``nox -s bench -- asm btf``;
``--json [PATH]`` also writes every row as JSON for CI to keep
(default ``bench/build/results.json``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "build"
ROUNDS = 7
# An in-process sample is a batch of calls lasting about this long.
BATCH_SECONDS = 0.02

Sampler = Callable[[], float]


@dataclass(frozen=True)
class Constant:
    """A figure measured elsewhere (not same-run): the value and where it comes from."""

    seconds: float
    source: str


@dataclass
class Row:
    """One line of the table, as ``--json`` writes it.

    ``value`` and ``baseline_value`` are in ``unit``: seconds, or the
    instructions callgrind counted.
    """

    what: str
    kind: str
    value: float
    baseline_name: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    target: float | None = None
    target_seconds: float | None = None
    rounds: int = 0
    note: str = ""
    unit: str = "s"

    @property
    def holds(self) -> bool | None:
        """Whether the medians meet the targets (ratio, seconds), when there are any."""
        checks = []
        if self.target is not None and self.ratio is not None:
            checks.append(self.ratio <= self.target)
        if self.target_seconds is not None:
            checks.append(self.value <= self.target_seconds)
        return all(checks) if checks else None


@dataclass
class Bench:
    """What a bench module gets: samplers, C baselines, and the rows of the report."""

    rows: list[Row] = field(default_factory=list)
    rounds: int = ROUNDS
    _said: set[str] = field(default_factory=set)

    # --- samplers: each call returns one measurement, in seconds ---

    def in_process(self, fn: Callable[[], object], *, number: int = 0) -> Sampler:
        """Seconds per call of ``fn``, one batch per sample (auto-ranged once when number=0)."""
        if number == 0:
            number = 1
            while True:
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                if time.perf_counter() - t0 > BATCH_SECONDS:
                    break
                number *= 2

        def sample() -> float:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            return (time.perf_counter() - t0) / number

        return sample

    def process(self, argv: Sequence[str | os.PathLike[str]], **kwargs: object) -> Sampler:
        """The wall time of a whole process, its output thrown away; it must succeed."""
        args = [os.fspath(a) for a in argv]

        def sample() -> float:
            t0 = time.perf_counter()
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
            return time.perf_counter() - t0

        return sample

    def python(self, code: str, *args: str) -> Sampler:
        """A whole fresh interpreter running ``code``: start-up and imports included."""
        return self.process([sys.executable, "-c", code, *args])

    def c_figure(self, name: str, label: str, *args: str) -> Sampler:
        """The figure a C baseline prints on its ``label seconds`` line, one run per sample."""
        return lambda: self.c_seconds(name, *args)[label]

    # --- C baselines ---

    def c_program(self, name: str, *, libs: tuple[str, ...] = ("-lbpf",)) -> Path:
        """Compile ``bench/c/NAME.c`` (once per run) and return the binary."""
        BUILD.mkdir(exist_ok=True)
        src, exe = HERE / "c" / f"{name}.c", BUILD / name
        # The shared header (common.h) is found beside the source: no -I needed.
        newest = max(p.stat().st_mtime for p in (src, *src.parent.glob("*.h")))
        if not exe.exists() or exe.stat().st_mtime < newest:
            subprocess.run(["cc", "-O2", "-o", str(exe), str(src), *libs], check=True)
        return exe

    def c_seconds(self, name: str, *args: str) -> dict[str, float]:
        """Run a C baseline once; it prints ``label seconds`` lines."""
        out = subprocess.run(
            [str(self.c_program(name)), *args], check=True, capture_output=True, text=True
        ).stdout
        result = {}
        for line in out.splitlines():
            label, _, value = line.rpartition(" ")
            result[label] = float(value)
        return result

    # --- rows ---

    def time(self, fn: Callable[[], object], *, number: int = 0) -> float:
        """Median seconds per call of ``fn`` over the bench's rounds of batches."""
        sample = self.in_process(fn, number=number)
        return statistics.median(sample() for _ in range(self.rounds))

    def compare(
        self,
        what: str,
        ours: Sampler,
        theirs: Sampler | Constant,
        *,
        baseline_name: str,
        kind: str = "in-process",
        target: float | None = None,
        target_seconds: float | None = None,
        rounds: int = 0,
    ) -> Row:
        """One row: the median of interleaved pair ratios ours/theirs, with their spread."""
        rounds = max(rounds or self.rounds, ROUNDS)
        ours_s, theirs_s, ratios = [], [], []
        for _ in range(rounds):
            a = ours()
            b = theirs.seconds if isinstance(theirs, Constant) else theirs()
            ours_s.append(a)
            theirs_s.append(b)
            ratios.append(a / b)
        note = f"not same-run: {theirs.source}" if isinstance(theirs, Constant) else ""
        row = Row(
            what=what,
            kind=kind,
            value=statistics.median(ours_s),
            baseline_name=baseline_name,
            baseline_value=statistics.median(theirs_s),
            ratio=statistics.median(ratios),
            ratio_low=min(ratios),
            ratio_high=max(ratios),
            target=target,
            target_seconds=target_seconds,
            rounds=rounds,
            note=note,
        )
        self._add(row)
        return row

    def excess(
        self,
        what: str,
        ours: Sampler,
        theirs: Sampler,
        *,
        baseline_name: str,
        kind: str = "fresh process",
        target_seconds: float | None = None,
    ) -> Row:
        """One row: the median of interleaved pair differences ours - theirs (e.g. imports)."""
        diffs, theirs_s = [], []
        for _ in range(self.rounds):
            a, b = ours(), theirs()
            diffs.append(a - b)
            theirs_s.append(b)
        row = Row(
            what=what,
            kind=kind,
            value=statistics.median(diffs),
            baseline_name=baseline_name,
            baseline_value=statistics.median(theirs_s),
            target_seconds=target_seconds,
            rounds=self.rounds,
            note=f"over {baseline_name} ({_fmt(statistics.median(theirs_s))}), "
            f"pairs {_fmt(min(diffs))} to {_fmt(max(diffs))}",
        )
        self._add(row)
        return row

    def report(self, what: str, seconds: float, *, kind: str = "in-process", note: str = "") -> Row:
        """A row without a baseline: a figure for the record."""
        row = Row(what=what, kind=kind, value=seconds, rounds=self.rounds, note=note)
        self._add(row)
        return row

    def instructions(self, argv: Sequence[str | os.PathLike[str]]) -> int | None:
        """The instructions a whole process executes (callgrind), or None without valgrind.

        Interpreter start, imports and exit included; the process must succeed.
        """
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            return None
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
            + [os.fspath(a) for a in argv],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"callgrind counted nothing for {argv}: {done.stderr[-500:]}")
        return int(found.group(1))

    def count(
        self,
        what: str,
        ours: int,
        theirs: int | None = None,
        *,
        baseline_name: str = "",
        note: str = "",
    ) -> Row:
        """A row of instruction counts (:meth:`instructions`), with their ratio to a baseline's."""
        row = Row(
            what=what,
            kind="instructions",
            value=ours,
            baseline_name=baseline_name,
            baseline_value=theirs,
            ratio=None if theirs is None else ours / theirs,
            rounds=1,
            note=note,
            unit="instructions",
        )
        self._add(row)
        return row

    def skip(self, what: str, reason: str) -> None:
        """A row this machine cannot measure (its kernel lacks the feature), and why."""
        print(f"  {what:<58} skipped: {reason}", flush=True)

    def _add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = ""
        if row.ratio is not None and row.ratio_low is None:
            ratio = f"{row.ratio:.2f}x {row.baseline_name}"
        elif row.ratio is not None:
            ratio = (
                f"{row.ratio:.2f}x {row.baseline_name} [{row.ratio_low:.2f}-{row.ratio_high:.2f}]"
            )
        goals = []
        if row.target is not None:
            goals.append(f"<= {row.target:g}x")
        if row.target_seconds is not None:
            goals.append(f"<= {_fmt(row.target_seconds)}")
        verdict = f"{', '.join(goals)} {'ok' if row.holds else 'MISSED'}" if goals else ""
        note = row.note
        if note.startswith("not same-run: "):
            # Where a constant comes from is said once; the JSON keeps it on every row.
            if note in self._said:
                note = "not same-run"
            self._said.add(row.note)
        figure = _fmt(row.value, row.unit)
        print(
            f"  {row.what:<58} {row.kind:<13} {figure:>10}  {ratio:<30} {verdict}"
            + (f"  ({note})" if note else ""),
            flush=True,
        )


def _fmt(value: float, unit: str = "s") -> str:
    if unit == "instructions":
        return f"{value / 1e6:.2f} M"
    if value < 1e-3:
        return f"{value * 1e6:.2f} us"
    return f"{value * 1e3:.2f} ms"


def main(argv: list[str]) -> int:
    """Run the bench modules named in ``argv`` (all by default); ``--json [PATH]`` saves rows."""
    json_path: Path | None = None
    wanted: set[str] = set()
    args = iter(argv)
    for arg in args:
        if arg == "--json":
            json_path = BUILD / "results.json"
        elif arg.startswith("--json="):
            json_path = Path(arg.removeprefix("--json="))
        else:
            wanted.add(arg)
    modules = sorted(HERE.glob("bench_*.py"))
    bench = Bench()
    started = time.perf_counter()
    print(f"pybpf bench: Python {sys.version.split()[0]}, {os.uname().release}")
    print(f"  ratios: median of >= {ROUNDS} interleaved pairs [lowest-highest pair]")
    if importlib.util.find_spec("_distutils_hack") is not None:
        # noxfile.py makes the venv without it; an older venv, reused, has it.
        print("  note: setuptools' distutils hook runs in every fresh process here (~5 ms)")
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
    missed = [row.what for row in bench.rows if row.holds is False]
    elapsed = time.perf_counter() - started
    print(f"{len(bench.rows)} rows in {elapsed:.0f} s; targets missed: {len(missed)}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "python": sys.version.split()[0],
            "kernel": os.uname().release,
            "rounds": ROUNDS,
            "rows": [asdict(row) | {"holds": row.holds} for row in bench.rows],
        }
        json_path.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    # The bench modules import their helpers from ``run``: let that be this module.
    sys.modules.setdefault("run", sys.modules[__name__])
    sys.exit(main(sys.argv[1:]))
