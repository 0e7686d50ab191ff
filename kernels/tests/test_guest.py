"""What comes back from a guest: the console, the exit-code marker, the reports, the row."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kernels import cache, fetch, guest_tests, manifest, matrix, qemu, results, vm
from kernels.guestinit import Share

MARKER = "PYBPF-EXIT-0a1b2c3d"


def test_console_takes_out_the_marker_and_carriage_returns() -> None:
    console = qemu._ConsoleFilter(MARKER)
    out = console.feed(b"guest: kernel 5.10\r\n[   12.5] random: crng init done\r\n")
    out += console.feed(f"5 passed\r\n{MARKER}=1\r\n".encode())
    assert out == "guest: kernel 5.10\n[   12.5] random: crng init done\n5 passed\n"
    assert console.exit_code == 1
    assert console.error is None


def test_console_marker_split_across_reads() -> None:
    console = qemu._ConsoleFilter(MARKER)
    out = "".join(
        console.feed(chunk.encode()) for chunk in ["ok\r\nPYBPF-EX", "IT-0a1b", "2c3d=0\r"]
    )
    assert console.exit_code is None
    out += console.feed(b"\n")
    assert out == "ok\n"
    assert console.exit_code == 0


def test_console_streams_progress_dots_but_holds_what_may_be_the_marker() -> None:
    console = qemu._ConsoleFilter(MARKER)
    assert console.feed(b"test_map.py ...") == "test_map.py ..."
    assert console.feed(b"..") == ".."
    assert console.feed(b"\r\nPY") == "\n"
    assert console.feed(b"THON\r\n") == "PYTHON\n"


def test_console_utf8_split_across_reads() -> None:
    console = qemu._ConsoleFilter(MARKER)
    data = "caf\u00e9 passed\r\n".encode()
    assert console.feed(data[:4]) + console.feed(data[4:]) == "caf\u00e9 passed\n"


def test_console_reports_the_guest_init_error() -> None:
    console = qemu._ConsoleFilter(MARKER)
    out = console.feed(f"{MARKER}-ERROR: mounting the host root\r\n".encode())
    assert out == "vm: guest init failed: mounting the host root\n"
    assert console.error == "mounting the host root"
    assert console.exit_code is None


def test_console_ignores_a_garbled_marker() -> None:
    console = qemu._ConsoleFilter(MARKER)
    console.feed(f"{MARKER}=x\r\n".encode())
    assert console.exit_code is None


def stream(script: str, timeout: float | None = 10) -> tuple[int, dict[str, float]]:
    timings: dict[str, float] = {}
    with subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE) as proc:
        try:
            return qemu._stream(proc, MARKER, timeout, Path(os.devnull), timings), timings
        finally:
            proc.kill()


def test_stream_returns_at_the_marker_without_waiting_for_power_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, timings = stream(f"printf 'booted\\r\\n{MARKER}=3\\r\\n'; exec sleep 30")
    assert rc == 3
    assert capsys.readouterr().out == "booted\n"
    assert timings["first_output"] < 10


def test_stream_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert stream("exec sleep 30", timeout=0.05)[0] == qemu.EXIT_TIMEOUT
    assert "timed out after 0s; stopping the VM" in capsys.readouterr().out


def test_stream_of_a_guest_that_died_without_a_marker() -> None:
    with pytest.raises(qemu.GuestStopped, match=r"stopped without an exit code \(qemu exited 0\)"):
        stream("echo 'Kernel panic - not syncing'")


def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qemu_script: str) -> Path:
    """A virtiofsd that makes its socket and waits; a qemu that runs `qemu_script`."""
    pids = tmp_path / "pids"
    virtiofsd = tmp_path / "virtiofsd"
    virtiofsd.write_text(
        "#!/bin/sh\n"
        'case "$1" in --help) echo "  --shared-dir <dir>"; exit 0;; esac\n'
        f"echo $$ >> {pids}\n"
        'for a; do case "$a" in --socket-path=*) : > "${a#--socket-path=}";; esac; done\n'
        "exec sleep 30\n"
    )
    fake_qemu = tmp_path / "qemu-system-x86_64"
    fake_qemu.write_text(f"#!/bin/sh\necho $$ >> {pids}\n{qemu_script}\n")
    for tool in (virtiofsd, fake_qemu):
        tool.chmod(0o755)
    monkeypatch.setattr(qemu, "VIRTIOFSD_CANDIDATES", (str(virtiofsd),))
    monkeypatch.setattr(qemu, "QEMU", str(fake_qemu))
    return pids


def machine(tmp_path: Path) -> qemu.Machine:
    shares = [Share("root", "/", True), Share("checkout", str(tmp_path), False)]
    return qemu.Machine(tmp_path / "bzImage", tmp_path / "initrd", "quiet", shares, tmp_path)


def test_qemu_args_choose_the_emulation_threads(tmp_path: Path) -> None:
    guest = machine(tmp_path)
    sockets = [tmp_path / "fs0", tmp_path / "fs1"]
    args = qemu._qemu_args(guest, sockets, interactive=False)
    assert args[args.index("-accel") + 1] == "tcg,thread=multi"
    guest.single_threaded = True
    args = qemu._qemu_args(guest, sockets, interactive=False)
    assert args[args.index("-accel") + 1] == "tcg,thread=single"


def assert_all_gone(pids: Path) -> None:
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 3  # two virtiofsd, one qemu
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_run_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = fake_tools(tmp_path, monkeypatch, f"printf 'hi\\r\\n{MARKER}=4\\r\\n'; exec sleep 30")
    assert qemu.run(machine(tmp_path), MARKER, timeout=10, interactive=False) == 4
    assert capsys.readouterr().out == "hi\n"
    assert_all_gone(pids)


def test_run_timeout_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = fake_tools(tmp_path, monkeypatch, "exec sleep 30")
    rc = qemu.run(machine(tmp_path), MARKER, timeout=0.2, interactive=False)
    assert rc == qemu.EXIT_TIMEOUT
    assert_all_gone(pids)


def test_guest_tests_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands: list[list[str]] = []
    outcome: dict[str, object] = {"rc": 0, "smoke": None}

    def fake_run(command: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
        commands.append(command)
        return subprocess.CompletedProcess(command, int(str(outcome["rc"])))

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(guest_tests, "bpf_smoke", lambda: outcome["smoke"])
    out = tmp_path / "results"
    for rc, smoke, expected in [
        (0, None, 0),
        (guest_tests.PYTEST_NO_TESTS, None, 0),
        (1, None, 1),
        (2, None, 1),
        (0, "BPF_MAP_CREATE failed: Operation not permitted", 1),
    ]:
        outcome.update(rc=rc, smoke=smoke)
        assert guest_tests.main([f"--results={out}", "-m", "kernel", "-k", "map"]) == expected
        report = json.loads((out / guest_tests.GUEST_NAME).read_text())
        assert (report["pytest_exit"], report["smoke"]) == (rc, smoke)
    command = commands[-1]
    assert command[1:3] == ["-m", "pytest"]
    assert f"--junitxml={out / guest_tests.JUNIT_NAME}" in command
    assert command[-4:] == ["-m", "kernel", "-k", "map"]
    assert "junit_family=xunit1" in command
    assert "bpf smoke test: BPF_MAP_CREATE failed" in capsys.readouterr().out


def test_guest_tests_smoke_test_here() -> None:
    # On a machine without bpf(2) the answer is a reason, never an exception.
    reason = guest_tests.bpf_smoke()
    assert reason is None or reason.startswith("BPF_MAP_CREATE failed: ")


HOST = manifest.Row("host", "host", (), "", "", "full", "")
VM_ROW = manifest.Row("6.1", "debian", ("bookworm",), "p", "6.1", "kernel", "")


def fake_row_run(out_rc: int, smoke: str | None = None) -> object:
    """Stands in for the guest: writes its reports the way kernels.guest_tests does."""

    def run(command: list[str], **kw: object) -> int:
        results_dir = Path(next(a for a in command if a.startswith("--results=")).split("=")[1])
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / guest_tests.GUEST_NAME).write_text(
            json.dumps({"release": "r", "smoke": smoke, "pytest_exit": out_rc})
        )
        run.commands.append(command)  # type: ignore[attr-defined]
        return out_rc

    run.commands = []  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize(
    ("rc", "smoke", "status"),
    [
        (0, None, "ok"),
        (1, None, "FAILED"),
        (1, "no bpf", "SMOKE FAILED"),
        (130, None, "INTERRUPTED"),
    ],
)
def test_run_row_on_the_host(
    *,
    rc: int,
    smoke: str | None,
    status: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_row_run(rc, smoke)
    monkeypatch.setattr(vm, "run_on_host", fake)
    out = tmp_path / "host"
    (out).mkdir()
    (out / "stale.xml").write_text("from the previous run")
    code = matrix.run_row(HOST, Path("/py"), out, timeout=1, pytest_args=["-x"])
    assert code == (0 if status == "ok" else 1)
    meta = json.loads((out / results.ROW_NAME).read_text())
    assert (meta["row"], meta["status"], meta["exit"]) == ("host", status, rc)
    assert not (out / "stale.xml").exists()
    assert fake.commands[0][:3] == ["/py", "-m", "kernels.guest_tests"]  # type: ignore[attr-defined]
    assert fake.commands[0][-1] == "-x"  # type: ignore[attr-defined]
    assert f"host    {meta['release']}" in capsys.readouterr().out


def test_run_row_ci_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_row_run(0)
    entry = cache.Entry("6.1", "6.1.0-56", "6.1.1", ["bookworm"], "v", "", "m", "c", "")
    monkeypatch.setattr(vm, "check_tools", lambda: None)
    monkeypatch.setattr(fetch, "fetch", lambda row: entry)
    monkeypatch.setattr(vm, "run_in_vm", lambda row, command, **kw: fake(command))  # type: ignore[operator]
    monkeypatch.setenv("PYBPF_MATRIX_SCOPE", "ci")
    out = tmp_path / "6.1"
    assert matrix.run_row(VM_ROW, Path("/py"), out, timeout=1, pytest_args=["-x"]) == 0
    assert fake.commands[0][-3:] == ["-m", "(kernel or kernel_files) and not slow", "-x"]  # type: ignore[attr-defined]
    meta = json.loads((out / results.ROW_NAME).read_text())
    assert (meta["scope"], meta["release"], meta["status"]) == ("kernel", "6.1.0-56", "ok")
    assert "ok (kernel tests only)" in capsys.readouterr().out


def test_run_row_that_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> None:
        raise qemu.VMError("qemu-system-x86_64 not found")

    monkeypatch.setattr(vm, "check_tools", missing)
    monkeypatch.delenv("PYBPF_MATRIX_SCOPE", raising=False)
    out = tmp_path / "6.1"
    assert matrix.run_row(VM_ROW, Path("/py"), out, timeout=1, pytest_args=[]) == 1
    assert json.loads((out / results.ROW_NAME).read_text())["status"] == "VM ERROR"
    assert "matrix: row 6.1: qemu-system-x86_64 not found" in capsys.readouterr().err
