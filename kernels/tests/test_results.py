"""Reading a row's reports, and the table and skip list the matrix prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernels import matrix, results

JUNIT_HEAD = '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
JUNIT_TAIL = "</testsuite></testsuites>"


def case(path: str, name: str, outcome: str = "passed", message: str = "") -> str:
    """One xunit1 <testcase>, as pytest writes it (the file names the distribution)."""
    classname = path.removesuffix(".py").replace("/", ".")
    body = {
        "passed": "",
        "skipped": f'<skipped type="pytest.skip" message="{message}">{path}:1: {message}</skipped>',
        "failed": '<failure message="assert 0">assert 0</failure>',
        "error": '<error message="fixture">boom</error>',
    }[outcome]
    return (
        f'<testcase classname="{classname}" name="{name}" file="{path}" line="1" time="0.1">'
        f"{body}</testcase>"
    )


ASM = "packages/pybpf-asm/tests/test_codec.py"
BTF = "packages/pybpf-btf/tests/test_kernel.py"
CORE = "packages/pybpf-core/tests/test_core_map.py"


def write_row(
    folder: Path,
    cases: list[str] | None,
    meta: dict[str, object] | None = None,
    guest: dict[str, object] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if cases is not None:
        (folder / "pytest.xml").write_text(JUNIT_HEAD + "".join(cases) + JUNIT_TAIL)
    if meta is not None:
        (folder / results.ROW_NAME).write_text(json.dumps(meta))
    if guest is not None:
        (folder / "guest.json").write_text(json.dumps(guest))
    return folder


def test_junit_is_counted_per_distribution(tmp_path: Path) -> None:
    folder = write_row(
        tmp_path / "6.1",
        [
            case(ASM, "a"),
            case(ASM, "b", "skipped", "not on this kernel"),
            case(BTF, "c", "failed"),
            case(BTF, "d", "error"),
            case(CORE, "e"),
            case("docs/test_x.py", "f"),
        ],
        {"row": "6.1", "release": "6.1.0-56", "status": "FAILED", "wall_seconds": 963.6},
    )
    r = results.load(folder)
    assert (r.name, r.release, r.status, r.failed, r.scope) == (
        "6.1",
        "6.1.0-56",
        "FAILED",
        True,
        "full",
    )
    assert {d: c.cell() for d, c in r.counts.items()} == {
        "asm": "1/1/0",
        "btf": "0/0/2",
        "core": "1/0/0",
        "other": "1/0/0",
    }
    assert r.skipped == {f"{ASM}::b": "not on this kernel"}
    assert r.failures == {f"{BTF}::c": "assert 0", f"{BTF}::d": "fixture"}
    assert len(r.collected) == 6


def test_classname_names_the_distribution_without_a_file_attribute(tmp_path: Path) -> None:
    xml = case(CORE, "x").replace(f' file="{CORE}"', "")
    r = results.load(write_row(tmp_path / "host", [xml], {"row": "host", "status": "ok"}))
    assert r.counts["core"].cell() == "1/0/0"


def test_a_row_that_never_ran(tmp_path: Path) -> None:
    r = results.load(write_row(tmp_path / "5.10", None))
    assert (r.name, r.release, r.status, r.failed, r.counts) == ("5.10", "?", "not run", True, {})


def test_release_falls_back_to_the_guest_report(tmp_path: Path) -> None:
    folder = write_row(tmp_path / "x", [], {"row": "x", "status": "ok"}, {"release": "5.10.0-46"})
    assert results.load(folder).release == "5.10.0-46"


def test_a_truncated_junit_report_fails_the_row(tmp_path: Path) -> None:
    folder = write_row(tmp_path / "6.1", None, {"row": "6.1", "status": "ok"})
    (folder / "pytest.xml").write_text(JUNIT_HEAD + case(ASM, "a")[:40])
    r = results.load(folder)
    assert r.status.startswith("unreadable junit report")
    assert r.failed


def row(name: str, status: str = "ok", scope: str = "full", **cells: str) -> results.RowResult:
    r = results.RowResult(name=name, release=f"{name}-release", status=status, scope=scope)
    r.wall_seconds = 12.4
    for dist, cell in cells.items():
        p, s, f = (int(n) for n in cell.split("/"))
        r.counts[dist] = results.Counts(p, s, f)
    return r


def test_table() -> None:
    rows = [
        row("5.10", "FAILED", asm="326/2/1", btf="648/4/4"),
        row("host", scope="kernel", core="96/4/0"),
    ]
    assert results.table(rows).splitlines() == [
        "kernel  release       asm      btf      elf  core    link  wall  status",
        "------  ------------  -------  -------  ---  ------  ----  ----  ----------------------",
        "5.10    5.10-release  326/2/1  648/4/4  -    -       -     12s   FAILED",
        "host    host-release  -        -        -    96/4/0  -     12s   ok (kernel tests only)",
        "cells: passed/skipped/failed",
    ]


def with_tests(r: results.RowResult, passed: list[str], skipped: dict[str, str]) -> None:
    r.collected |= {*passed, *skipped}
    r.skipped.update(skipped)


def test_skipped_everywhere() -> None:
    a, b, c, booted_not = row("a"), row("b"), row("c"), row("failed-boot", "VM ERROR")
    with_tests(a, ["t1"], {"t2": "needs fentry", "t3": "no module BTF", "t4": "host only"})
    with_tests(b, ["t3"], {"t2": "needs fentry (b)"})
    # c ran only the kernel tests: t4 was not collected there, so it ran nowhere.
    with_tests(c, ["t1"], {"t2": "needs fentry (c)"})
    assert results.skipped_everywhere([a, b, c, booted_not]) == {
        "t2": "needs fentry",
        "t4": "host only",
    }
    assert results.skipped_everywhere([booted_not]) == {}


def test_report_prints_the_table_and_the_defects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_row(
        tmp_path / "6.1",
        [case(ASM, "a"), case(CORE, "k", "skipped", "no kprobes")],
        {"row": "6.1", "release": "6.1.0-56", "status": "ok", "wall_seconds": 90},
    )
    second = write_row(
        tmp_path / "host",
        [case(ASM, "a", "failed"), case(CORE, "k", "skipped", "no kprobes here")],
        {"row": "host", "release": "6.18", "status": "FAILED", "wall_seconds": 80},
    )
    assert matrix.report([first, second], strict_skips=False) == 0
    out = capsys.readouterr().out
    assert "matrix: 2 row(s)" in out
    assert "6.1     6.1.0-56  1/0/0  -    -    0/1/0  -     90s   ok" in out
    assert "matrix: failed rows: host" in out
    assert f"matrix: FAILED on host: {ASM}::a: assert 0\n" in out
    assert "1 test(s) skipped on every row, so never run:" in out
    assert f"  {CORE}::k: no kprobes\n" in out
    assert out.rstrip().endswith("matrix: 1 passed, 1 failed, 2 skipped")
    assert matrix.report([first, second], strict_skips=True) == 1


def test_report_of_one_row_names_no_defect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only = write_row(tmp_path / "host", [case(CORE, "k", "skipped", "x")], {"status": "ok"})
    assert matrix.report([only], strict_skips=True) == 0
    assert "skipped on every row" not in capsys.readouterr().out
