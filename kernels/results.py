"""Read a row's junit report and summarise rows: the matrix table and the always-skipped tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .guest_tests import GUEST_NAME, JUNIT_NAME, LAYERS

ROW_NAME = "row.json"


@dataclass
class Counts:
    """Outcomes of one distribution's tests on one row."""

    passed: int = 0
    skipped: int = 0
    failed: int = 0

    def cell(self) -> str:
        """passed/skipped/failed, as the table shows it."""
        return f"{self.passed}/{self.skipped}/{self.failed}"


@dataclass
class RowResult:
    """Everything known about one row's run."""

    name: str
    release: str = "?"
    status: str = "not run"
    wall_seconds: float = 0.0
    boot_seconds: float | None = None
    scope: str = "full"
    counts: dict[str, Counts] = field(default_factory=dict)
    # test id -> skip reason, for every test this row skipped
    skipped: dict[str, str] = field(default_factory=dict)
    # test id -> the first line of its failure or error message
    failures: dict[str, str] = field(default_factory=dict)
    collected: set[str] = field(default_factory=set)

    @property
    def failed(self) -> bool:
        """Whether the row is a failure: a test failed, or the run did not complete."""
        return self.status != "ok"


def _distribution(case: ET.Element) -> str:
    where = case.get("file") or case.get("classname", "").replace(".", "/")
    for layer in LAYERS:
        if f"pybpf-{layer}/" in where:
            return layer
    return "other"


def _test_id(case: ET.Element) -> str:
    where = case.get("file") or case.get("classname", "")
    return f"{where}::{case.get('name', '?')}"


def parse_junit(path: Path, result: RowResult) -> None:
    """Add the outcomes in a junit file to `result`."""
    for case in ET.parse(path).getroot().iter("testcase"):
        dist = _distribution(case)
        counts = result.counts.setdefault(dist, Counts())
        test = _test_id(case)
        result.collected.add(test)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            counts.failed += 1
            message = problem.get("message") or problem.text or ""
            result.failures[test] = message.strip().split("\n", 1)[0][:300]
        elif (skip := case.find("skipped")) is not None:
            counts.skipped += 1
            result.skipped[test] = skip.get("message", "")
        else:
            counts.passed += 1


def load(folder: Path) -> RowResult:
    """A row's result from its results folder."""
    meta = json.loads((folder / ROW_NAME).read_text()) if (folder / ROW_NAME).is_file() else {}
    result = RowResult(
        name=meta.get("row", folder.name),
        release=meta.get("release", "?"),
        status=meta.get("status", "not run"),
        wall_seconds=meta.get("wall_seconds", 0.0),
        boot_seconds=meta.get("boot_seconds"),
        scope=meta.get("scope", "full"),
    )
    guest = folder / GUEST_NAME
    if result.release == "?" and guest.is_file():
        result.release = json.loads(guest.read_text()).get("release", "?")
    junit = folder / JUNIT_NAME
    if junit.is_file():
        try:
            parse_junit(junit, result)
        except ET.ParseError as e:
            result.status = f"unreadable junit report: {e}"
    return result


def table(rows: list[RowResult]) -> str:
    """The matrix: one line per row, passed/skipped/failed per distribution, wall time."""
    header = ["kernel", "release", *LAYERS, "wall", "status"]
    lines = [header]
    for r in rows:
        cells = [r.counts[d].cell() if d in r.counts else "-" for d in LAYERS]
        status = r.status if r.scope == "full" else f"{r.status} ({r.scope} tests only)"
        lines.append([r.name, r.release, *cells, f"{r.wall_seconds:.0f}s", status])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    out.append("cells: passed/skipped/failed")
    return "\n".join(out)


def skipped_everywhere(rows: list[RowResult]) -> dict[str, str]:
    """Tests that ran on no row: skipped wherever they were collected (test id -> a reason).

    A row that collected nothing (a failed boot, a timeout) says nothing either
    way. A row that did not collect a test (CI runs only the kernel tests in
    the VM rows) did not run it either: a test the host skips and no other row
    collects never ran.
    """
    ran = [r for r in rows if r.collected]
    never: dict[str, str] = {}
    for test in sorted(set().union(*(r.skipped for r in ran))):
        where = [r for r in ran if test in r.collected]
        if all(test in r.skipped for r in where):
            never[test] = where[0].skipped[test]
    return never
