"""Run every fuzz harness for a share of a time budget; print what each tried and found.

``python fuzz/run.py [SECONDS] [--seed N]`` (default 60 s in all; libFuzzer's
random seed unless ``--seed`` fixes it, as CI does so that its run can be
replayed: ``nox -s fuzz -- 60 --seed 1``). Seed corpora come from
the objects in ``testdata/`` and the hostile blobs in ``seeds.py``; the corpus
each run grows, and any crash, hang or out-of-memory input, stay under
``.nox/fuzz-runs/<target>/`` for the next run. Exits non-zero when a harness found
something, and prints the end of that harness's report (the Python traceback).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from seeds import write_seeds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = ROOT / ".nox" / "fuzz-runs"
TARGETS = ["asm", "btf", "btf_graph", "btf_ext", "dump", "elf"]
DEFAULT_SECONDS = 60


def main(argv: list[str]) -> int:
    """Fuzz each target for its share of the seconds given (default 60)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("seconds", nargs="?", type=int, default=DEFAULT_SECONDS)
    parser.add_argument("--seed", type=int, help="libFuzzer's -seed (default: random)")
    args = parser.parse_args(argv)
    share = max(args.seconds // len(TARGETS), 1)
    seed = [] if args.seed is None else [f"-seed={args.seed}"]
    rows = []
    for target in TARGETS:
        corpus = WORK / target / "corpus"
        seeds = WORK / target / "seeds"
        crashes = WORK / target / "crashes"
        for d in (corpus, seeds, crashes):
            d.mkdir(parents=True, exist_ok=True)
        write_seeds(target, seeds)
        before = set(crashes.iterdir())
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                str(HERE / f"fuzz_{target}.py"),
                f"-max_total_time={share}",
                *seed,
                f"-artifact_prefix={crashes}/",
                str(corpus),
                str(seeds),
            ],
            check=False,
            capture_output=True,
            text=True,
            errors="replace",
        )
        elapsed = time.monotonic() - start
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
        found = sorted(set(crashes.iterdir()) - before)
        if proc.returncode:
            sys.stderr.write(f"--- {target}: the end of its report\n{proc.stderr[-4000:]}\n")
        rows.append((target, int(runs[-1]) if runs else 0, found, proc.returncode, elapsed))
    print(f"\n{'target':10} {'inputs':>10} {'crashes':>8} {'seconds':>8}")
    for target, runs_done, found, _, elapsed in rows:
        print(f"{target:10} {runs_done:>10} {len(found):>8} {elapsed:>8.0f}")
        for path in found:
            print(f"  {path.relative_to(ROOT)}")
    return 1 if any(code or found for _, _, found, code, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
