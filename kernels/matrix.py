"""Drive the matrix from the host: run one row's tests, or report on several rows.

    python -m kernels.matrix rows [--ci]                  # the rows (that CI runs), one per line
    python -m kernels.matrix run 6.1 --python VENV/bin/python --results DIR [-- pytest args]
    python -m kernels.matrix report DIR [DIR...] [--strict-skips]

`run` exits non-zero when the row failed (a test, the smoke test, the boot, a
timeout). With $PYBPF_MATRIX_SCOPE=ci (set by .ci/run), `run` runs only the
tests the row's `ci` scope in matrix.toml selects. `report` prints the kernel x
distribution table and the tests that were skipped on every row, and fails only
with --strict-skips when there are any.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
    """Command line: rows, run, report."""
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
