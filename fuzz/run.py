"""Run every fuzz harness for a share of a time budget; print what each tried and found.

``python fuzz/run.py [SECONDS]`` (default 60 in all). Seed corpora come from
the objects in ``testdata/`` and the hostile blobs in ``seeds.py``; the corpus
each run grows, and any crash, hang or out-of-memory input, stay under
``.nox/fuzz-runs/<target>/`` for the next run. Exits non-zero when a harness found
something.
"""

from __future__ import annotations

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
    """Fuzz each target for its share of ``argv[0]`` seconds (default 60)."""
    total = int(argv[0]) if argv else DEFAULT_SECONDS
    share = max(total // len(TARGETS), 1)
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
        if proc.returncode and not found:
            sys.stderr.write(proc.stderr[-4000:])
        rows.append((target, int(runs[-1]) if runs else 0, found, proc.returncode, elapsed))
    print(f"\n{'target':10} {'inputs':>10} {'crashes':>8} {'seconds':>8}")
    for target, runs_done, found, _, elapsed in rows:
        print(f"{target:10} {runs_done:>10} {len(found):>8} {elapsed:>8.0f}")
        for path in found:
            print(f"  {path.relative_to(ROOT)}")
    return 1 if any(code or found for _, _, found, code, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
