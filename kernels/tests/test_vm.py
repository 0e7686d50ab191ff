"""`python -m kernels.vm`: its arguments, and a clear error when something is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kernels import cache, fetch, initramfs, manifest, matrix, qemu, vm

CHECKOUT = Path(vm.__file__).resolve().parent.parent


@pytest.fixture
def no_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(row: manifest.Row, *, refresh: bool = False) -> cache.Entry:
        raise AssertionError("nothing may be fetched before the tools are known to be there")

    monkeypatch.setattr(fetch, "fetch", refuse)


@pytest.fixture
def tools_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vm, "check_tools", lambda: None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["6.1"], "give a command after --, or --shell"),
        (["6.1", "--"], "give a command after --, or --shell"),
        (["6.1", "--shell", "--", "true"], "give a command after --, or --shell"),
        (["6.1", "--env", "NOVALUE", "--", "true"], "--env takes NAME=VALUE, not 'NOVALUE'"),
        (["6.1", "--env", "=x", "--", "true"], "--env takes NAME=VALUE, not '=x'"),
        (["host", "--shell"], "the host row has no VM"),
        (["6.1", "--timeout", "soon", "--", "true"], "invalid float value: 'soon'"),
        ([], "the following arguments are required: row"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        vm.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert vm.main(["4.19", "--", "true"]) == qemu.EXIT_VM_ERROR
    err = capsys.readouterr().err
    assert err.startswith("vm: error: no kernel row '4.19'")
    assert "'6.1'" in err


def test_everything_after_the_separator_is_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, object] = {}

    def fake_run_in_vm(row: manifest.Row, command: list[str] | None, **kw: object) -> int:
        seen.update(kw, row=row.name, command=command)
        return 3

    monkeypatch.setattr(vm, "run_in_vm", fake_run_in_vm)
    argv = ["6.1", "--timeout", "5", "--env", "A=b=c", "--module", "veth", "--keep-memlock"]
    assert vm.main([*argv, "--", "pytest", "--shell", "-x", "--", "y"]) == 3
    assert seen["row"] == "6.1"
    assert seen["command"] == ["pytest", "--shell", "-x", "--", "y"]
    assert seen["timeout"] == 5.0
    assert seen["env"] == {"A": "b=c"}
    assert seen["modules"] == ["veth"]
    assert seen["raise_memlock"] is False


def test_shell_has_no_command(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str] | None] = []

    def fake_run_in_vm(row: manifest.Row, command: list[str] | None, **kw: object) -> int:
        seen.append(command)
        return 0

    monkeypatch.setattr(vm, "run_in_vm", fake_run_in_vm)
    assert vm.main(["6.12", "--shell"]) == 0
    assert seen == [None]


def test_host_row_runs_the_command_here(tmp_path: Path) -> None:
    argv = ["host", "--cwd", str(tmp_path), "--env", "PYBPF_X=1", "--"]
    script = 'test "$PYBPF_X" = 1 && test "$(pwd)" = "$0" && exit 7'
    assert vm.main([*argv, "sh", "-c", script, str(tmp_path)]) == 7


def test_missing_qemu_is_named_before_any_fetch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_fetch: None
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert vm.main(["6.1", "--", "true"]) == qemu.EXIT_VM_ERROR
    err = capsys.readouterr().err
    assert "vm: error: qemu-system-x86_64 not found: install qemu-system-x86" in err


def test_missing_virtiofsd_is_named_before_any_fetch(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_fetch: None,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(qemu, "VIRTIOFSD_CANDIDATES", (str(tmp_path / "virtiofsd"),))
    assert vm.main(["6.1", "--", "true"]) == qemu.EXIT_VM_ERROR
    err = capsys.readouterr().err
    assert "virtiofsd not found in" in err
    assert "install qemu-system-common (bookworm) or virtiofsd" in err


def test_missing_busybox_is_a_vm_error(monkeypatch: pytest.MonkeyPatch, no_fetch: None) -> None:
    monkeypatch.setattr(qemu, "qemu_binary", lambda: "/usr/bin/qemu-system-x86_64")
    monkeypatch.setattr(qemu, "virtiofsd_binary", lambda: Path("/usr/libexec/virtiofsd"))

    def no_busybox() -> Path:
        raise initramfs.InitramfsError("busybox not found: install busybox-static")

    monkeypatch.setattr(initramfs, "busybox", no_busybox)
    with pytest.raises(qemu.VMError, match="busybox not found"):
        vm.check_tools()


def test_kernel_that_cannot_be_fetched(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tools_present: None
) -> None:
    def offline(row: manifest.Row, *, refresh: bool = False) -> cache.Entry:
        raise fetch.FetchError(f"row {row.name}: apt-get update exited 100: offline")

    monkeypatch.setattr(fetch, "fetch", offline)
    assert vm.main(["5.10", "--", "true"]) == qemu.EXIT_VM_ERROR
    assert "vm: error: row 5.10: apt-get update exited 100: offline" in capsys.readouterr().err


def test_command_line_without_qemu(tmp_path: Path) -> None:
    """The real entry point, with no qemu on PATH and an empty cache: an error, no traceback."""
    env = {
        **os.environ,
        "PATH": str(tmp_path),
        "PYBPF_KERNEL_CACHE": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "kernels.vm", "6.1", "--", "true"],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == qemu.EXIT_VM_ERROR
    assert proc.stderr == (
        "vm: error: qemu-system-x86_64 not found: install qemu-system-x86 (tools/setup.sh does)\n"
    )
    assert not (tmp_path / "cache").exists()


def test_shares_expose_what_the_guest_tmpfs_hides() -> None:
    shares = vm.shares_for([Path("/tmp/pybpf-cache"), CHECKOUT / "x", Path("/usr/lib/python3")])
    assert [(s.tag, s.path, s.readonly) for s in shares] == [
        ("root", "/", True),
        ("checkout", str(CHECKOUT), False),
        ("extra2", "/tmp/pybpf-cache", True),
    ]


def test_lsm_cmdline_adds_bpf_only_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = cache.Entry("5.10", "r", "v", [], "vmlinuz", "", "modules", "config", "")
    for lsm, expected in [
        ("lockdown,yama,apparmor", "lsm=lockdown,yama,apparmor,bpf"),
        ("lockdown,bpf", None),
        ("", None),
    ]:
        monkeypatch.setattr(cache.Entry, "kconfig", lambda self, lsm=lsm: {"CONFIG_LSM": lsm})
        args = vm.cmdline(entry).split()
        assert "console=ttyS0" in args
        assert [a for a in args if a.startswith("lsm=")] == ([expected] if expected else [])


def test_a_row_whose_guest_crashed_runs_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools_present: None
) -> None:
    # An emulated kernel that oopses stops the guest without an exit code, which
    # qemu.run raises as GuestStopped: the row runs again once, and row.json
    # keeps what the first attempt was.
    entry = SimpleNamespace(release="6.12.0-test", packages=[])
    monkeypatch.setattr(fetch, "fetch", lambda row, refresh=False: entry)
    crash = qemu.GuestStopped("the guest stopped without an exit code (qemu exited 0)")
    outcomes: list[int | Exception] = [crash, 0]
    calls: list[object] = []

    def run_in_vm(*args: object, **kwargs: object) -> int:
        calls.append(kwargs.get("single_threaded", False))
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(vm, "run_in_vm", run_in_vm)
    out = tmp_path / "6.12"
    rc = matrix.run_row(manifest.row("6.12"), Path(sys.executable), out, timeout=60, pytest_args=[])
    # The second boot emulates every vCPU on one thread, out of the race.
    assert (rc, calls) == (0, [False, True])
    meta = json.loads((out / "row.json").read_text())
    assert (meta["status"], meta["first_attempt"]) == ("ok", "VM ERROR")

    calls.clear()
    outcomes[:] = [crash, crash]
    assert (
        matrix.run_row(manifest.row("6.12"), Path(sys.executable), out, timeout=60, pytest_args=[])
        == 1
    )
    assert len(calls) == 2  # once more, not for ever


@pytest.mark.parametrize(
    ("pytest_args", "rc", "status"),
    [(["-k", "no_test_is_named_like_this"], 0, "ok"), (["--no-such-pytest-option"], 1, "FAILED")],
)
def test_parallel_rows_print_each_rows_output_then_the_table(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    pytest_args: list[str],
    rc: int,
    status: str,
) -> None:
    # The host row runs for real, in its own `kernels.matrix run` process.
    argv = ["parallel", "host", f"--python={sys.executable}", f"--results-root={tmp_path}"]
    assert matrix.main([*argv, "--jobs=2", "--", *pytest_args]) == rc
    out = capfd.readouterr().out
    started = out.index("matrix: row host: started")
    ended = out.index(f"matrix: row host: exit {rc} after")
    whole = out.index("matrix: row host: the machine's own kernel", ended)
    table = out.index("matrix: 1 row(s)", whole)
    assert started < ended < whole < table
    assert json.loads((tmp_path / "host" / "row.json").read_text())["status"] == status
    assert (tmp_path / "host.log").read_text() in out
    assert ("matrix: rows that failed: host" in out) == (rc != 0)


def test_parallel_needs_rows_or_ci(capsys: pytest.CaptureFixture[str]) -> None:
    for rows in ([], ["--ci", "host"]):
        with pytest.raises(SystemExit) as e:
            matrix.main(["parallel", *rows, "--python=python3", "--results-root=/nonexistent"])
        assert e.value.code == 2
        assert "name the rows, or give --ci" in capsys.readouterr().err
