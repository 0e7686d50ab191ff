"""Drive the matrix from the host: run one row's tests or several at once; report on rows.

    python -m kernels.matrix rows [--ci]                  # the rows (that CI runs), one per line
    python -m kernels.matrix run 6.1 --python VENV/bin/python --results DIR [-- pytest args]
    python -m kernels.matrix parallel (--ci | ROW...) --python VENV/bin/python --results-root DIR
                                      [--jobs N] [-- pytest args]
    python -m kernels.matrix report DIR [DIR...] [--strict-skips]

`run` exits non-zero when the row failed (a test, the smoke test, the boot, a
timeout). `parallel` runs each row (or every row CI runs) as `run` would, in
DIR/<row>, at most N at once (default: one per CPU; a guest keeps about one
host CPU busy), prints each row's output whole when the row ends and then the
report of them all; it exits non-zero when any row failed. With
$PYBPF_MATRIX_SCOPE=ci (set by .ci/run), `run` and `parallel` run only the
tests each row's `ci` scope in matrix.toml selects. `report` prints the kernel x
distribution table and the tests that were skipped on every row, and fails only
with --strict-skips when there are any.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import fetch, initramfs, manifest, qemu, results, vm
from .guest_tests import GUEST_NAME

# A row that runs longer than this is stopped and fails; $PYBPF_VM_TIMEOUT overrides it.
DEFAULT_TIMEOUT = float(os.environ.get("PYBPF_VM_TIMEOUT", "2400"))

_STATUS = {
    0: "ok",
    1: "FAILED",
    qemu.EXIT_TIMEOUT: "TIMEOUT",
    qemu.EXIT_VM_ERROR: "VM ERROR",
    qemu.EXIT_INTERRUPTED: "INTERRUPTED",
}


def _boot(
    row: manifest.Row,
    command: list[str],
    *,
    timeout: float,
    env: dict[str, str],
    timings: dict[str, float],
    single_threaded: bool = False,
) -> int:
    """One boot of `row`: the guest's exit code, or EXIT_VM_ERROR when it stopped without one."""
    try:
        return vm.run_in_vm(
            row,
            command,
            cwd=vm.CHECKOUT,
            timeout=timeout,
            env=env,
            timings=timings,
            single_threaded=single_threaded,
        )
    except qemu.GuestStopped as e:
        # Say why (qemu's status, the console's last error) before the row is run again.
        print(f"matrix: row {row.name}: {e}", file=sys.stderr, flush=True)
        return qemu.EXIT_VM_ERROR


def run_row(
    row: manifest.Row,
    python: Path,
    out: Path,
    *,
    timeout: float,
    pytest_args: list[str],
) -> int:
    """Run every distribution's tests on `row`, record row.json in `out`, print the row."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    meta: dict[str, object] = {"row": row.name}
    env = {"PYBPF_ROOT": str(vm.CHECKOUT)}
    # The guest's console is a terminal: pytest would colour output that goes to a log.
    env.update({"PY_COLORS": "1"} if sys.stdout.isatty() else {"PY_COLORS": "0", "NO_COLOR": "1"})
    if os.environ.get("PYBPF_MATRIX_SCOPE") == "ci":
        pytest_args = [*manifest.SCOPE_PYTEST_ARGS[row.ci], *pytest_args]
        meta["scope"] = row.ci
        print(f"matrix: row {row.name}: CI scope {row.ci!r}", flush=True)
    print(f"matrix: row {row.name}: {row.why}", flush=True)
    command = [str(python), "-m", "kernels.guest_tests", f"--results={out}", *pytest_args]
    timings: dict[str, float] = {}
    start = time.monotonic()
    try:
        if row.is_host:
            meta["release"] = platform.release()
            rc = vm.run_on_host(command, cwd=vm.CHECKOUT, env=env)
        else:
            vm.check_tools()
            entry = fetch.fetch(row)
            meta["fetch_seconds"] = round(time.monotonic() - start, 1)
            meta["release"] = entry.release
            meta["packages"] = [f"{p.name} {p.version}" for p in entry.packages]
            start = time.monotonic()
            rc = _boot(row, command, timeout=timeout, env=env, timings=timings)
            if rc == qemu.EXIT_VM_ERROR:
                # The guest stopped without an exit code: its kernel crashed (an
                # emulated kernel's text patching has oopsed under multi-threaded
                # TCG) or qemu failed. That is no test's verdict: run the row once
                # more, on one emulation thread, and keep the first attempt's
                # outcome in row.json.
                print(
                    f"matrix: row {row.name}: the guest stopped without an exit code;"
                    " running the row once more, single-threaded",
                    flush=True,
                )
                meta["first_attempt"] = _STATUS[rc]
                for stale in out.iterdir():
                    if stale.is_file():
                        stale.unlink()
                    else:
                        shutil.rmtree(stale)
                start = time.monotonic()
                rc = _boot(
                    row, command, timeout=timeout, env=env, timings=timings, single_threaded=True
                )
    except (fetch.FetchError, qemu.VMError, initramfs.InitramfsError) as e:
        print(f"matrix: row {row.name}: {e}", file=sys.stderr, flush=True)
        rc = qemu.EXIT_VM_ERROR
    meta["wall_seconds"] = round(time.monotonic() - start, 1)
    if "first_output" in timings:
        meta["boot_seconds"] = round(timings["first_output"], 1)
    meta["exit"] = rc
    meta["status"] = _STATUS.get(rc, f"EXIT {rc}")
    guest = out / GUEST_NAME
    if rc == 1 and guest.is_file() and json.loads(guest.read_text()).get("smoke"):
        meta["status"] = "SMOKE FAILED"
    (out / results.ROW_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    print(results.table([results.load(out)]), flush=True)
    return 0 if rc == 0 else 1


def _last_wall(results_dir: Path) -> float:
    """How long the row whose reports are in `results_dir` ran last time (0 if unknown)."""
    try:
        return float(json.loads((results_dir / results.ROW_NAME).read_text())["wall_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def run_rows(
    rows: list[manifest.Row],
    python: Path,
    results_root: Path,
    *,
    jobs: int,
    timeout: float,
    pytest_args: list[str],
) -> int:
    """Run `rows` as `run` would, at most `jobs` at a time; 1 if any row failed.

    A guest's emulation keeps about one host CPU busy on average whatever its
    vCPUs do, so on a machine of N CPUs N rows side by side take less time than
    one after another (each is slower than alone: 1.35-1.85x for CI's). Rows start
    longest first (by their last run's wall time) so that the last to start is
    a short one. Each row runs in its own `python -m kernels.matrix run`, its
    output kept in `results_root/<row>.log` and printed whole when it ends, so
    that no two rows' lines interleave.
    """
    results_root.mkdir(parents=True, exist_ok=True)
    # Fetch one row at a time first: the rows share the download folder.
    for row in rows:
        if not row.is_host:
            # A row that cannot be fetched fails in its own run again, which records why.
            with contextlib.suppress(fetch.FetchError):
                fetch.fetch(row)
    pending = sorted(rows, key=lambda r: -_last_wall(results_root / r.name))
    running: dict[str, tuple[subprocess.Popen[bytes], Path, float]] = {}
    failed: list[str] = []
    try:
        while pending or running:
            while pending and len(running) < jobs:
                row = pending.pop(0)
                log = results_root / f"{row.name}.log"
                command = [
                    sys.executable, "-m", "kernels.matrix", "run", row.name,
                    f"--python={python}", f"--results={results_root / row.name}",
                    f"--timeout={timeout}", "--", *pytest_args,
                ]  # fmt: skip
                with log.open("wb") as out:
                    proc = subprocess.Popen(
                        command,
                        cwd=vm.CHECKOUT,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        # SIGTERM, not SIGKILL: the row stops its guest and cleans up.
                        preexec_fn=functools.partial(qemu.die_with_parent, signal.SIGTERM),  # noqa: PLW1509 (this process starts no threads)
                    )
                running[row.name] = (proc, log, time.monotonic())
                print(f"matrix: row {row.name}: started, its output in {log}", flush=True)
            time.sleep(1)
            for name, (proc, log, started) in list(running.items()):
                rc = proc.poll()
                if rc is None:
                    continue
                del running[name]
                if rc != 0:
                    failed.append(name)
                took = round(time.monotonic() - started)
                print(f"\nmatrix: row {name}: exit {rc} after {took}s; its output:", flush=True)
                sys.stdout.write(log.read_text(errors="replace"))
                sys.stdout.flush()
    finally:
        # Interrupted (or failed) here: stop every row still running, and wait for it.
        for proc, _, _ in running.values():
            proc.terminate()
        for proc, _, _ in running.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if failed:
        print(f"matrix: rows that failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


def report(folders: list[Path], *, strict_skips: bool) -> int:
    """Print the table of the given rows and the tests no row ran."""
    rows = [results.load(f) for f in folders]
    print(f"\nmatrix: {len(rows)} row(s)\n")
    print(results.table(rows))
    failed = [r.name for r in rows if r.failed]
    if failed:
        print(f"\nmatrix: failed rows: {', '.join(failed)}")
    for r in rows:
        for test, message in r.failures.items():
            print(f"matrix: FAILED on {r.name}: {test}: {message}")
    never = results.skipped_everywhere(rows) if len(rows) > 1 else {}
    if never:
        print(f"\nmatrix: DEFECT: {len(never)} test(s) skipped on every row, so never run:")
        for test, reason in never.items():
            print(f"  {test}: {reason}")
    elif len(rows) > 1:
        print("\nmatrix: every test ran on at least one row")
    totals = results.Counts()
    for r in rows:
        for c in r.counts.values():
            totals.passed += c.passed
            totals.skipped += c.skipped
            totals.failed += c.failed
    # The plain closing line CI's log readers look for.
    print(f"\nmatrix: {totals.passed} passed, {totals.failed} failed, {totals.skipped} skipped")
    # Each row's own session already failed for its failures; this only reports them.
    return 1 if strict_skips and never else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: rows, run, parallel, report."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__ or "").split("\n\n", 1)[-1],
    )
    sub = parser.add_subparsers(dest="action", required=True)
    rows_p = sub.add_parser("rows", help="list the rows")
    rows_p.add_argument("--ci", action="store_true", help="only the rows CI runs")
    run_p = sub.add_parser("run", help="run one row's tests")
    run_p.add_argument("row")
    run_p.add_argument("--python", type=Path, required=True, help="the lean venv's python")
    run_p.add_argument("--results", type=Path, required=True, help="folder for the row's reports")
    run_p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    par_p = sub.add_parser("parallel", help="run several rows' tests at once")
    par_p.add_argument("rows", nargs="*", help="the rows (or --ci)")
    par_p.add_argument("--ci", action="store_true", help="every row CI runs")
    par_p.add_argument("--python", type=Path, required=True, help="the lean venv's python")
    par_p.add_argument(
        "--results-root", type=Path, required=True, help="each row's reports go in its subfolder"
    )
    par_p.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="rows at once (default: CPUs)"
    )
    par_p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per row")
    report_p = sub.add_parser("report", help="the table of several rows")
    report_p.add_argument("folders", nargs="+", type=Path)
    report_p.add_argument("--strict-skips", action="store_true")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1 :]
    try:
        if args.action == "rows":
            for r in manifest.load():
                if r.ci != "off" or not args.ci:
                    print(r.name)
            return 0
        if args.action == "parallel":
            if args.ci == bool(args.rows):
                parser.error("parallel: name the rows, or give --ci")
            rows = (
                [r for r in manifest.load() if r.ci != "off"]
                if args.ci
                else [manifest.row(name) for name in args.rows]
            )
            root = args.results_root.resolve()
            rc = run_rows(
                rows,
                args.python.absolute(),
                root,
                jobs=max(1, args.jobs),
                timeout=args.timeout,
                pytest_args=extra,
            )
            done = [root / r.name for r in rows if (root / r.name / results.ROW_NAME).is_file()]
            if done:
                report(done, strict_skips=False)
            return rc
        if args.action == "run":
            return run_row(
                manifest.row(args.row),
                args.python.absolute(),
                args.results.resolve(),
                timeout=args.timeout,
                pytest_args=extra,
            )
        return report(args.folders, strict_skips=args.strict_skips)
    except manifest.ManifestError as e:
        print(f"matrix: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
