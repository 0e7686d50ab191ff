"""The tracing example tools (examples/*snoop.py, syscount, funclatency, pyflow) on this kernel.

Each test starts a tool with a short duration, waits until it says it is
attached, triggers the events itself (runs commands, or drives a child
process), and checks what the tool printed. The committed typed modules are
checked against their C with ``pybpf gen --check``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
PYTHON = "/usr/bin/python3"

#: Each tool's typed module: the options and clang flags of the pybpf gen command that made it.
GENERATED: dict[str, tuple[list[str], list[str]]] = {
    "execsnoop": (["--type", "event"], []),
    "opensnoop": (["--type", "event"], []),
    "syscount": ([], []),
    "funclatency": ([], []),
    "pyflow": (["--type", "call"], ["-D__TARGET_ARCH_x86"]),
}

#: A child that runs what it is told on stdin, one line at a time, and says "done".
_CHILD = """\
import os, sys, time
sys.setprofile(slice)  # CPython 3.11 fires function__entry only under a profiler
def pybpf_inner(i):
    return i + 1
def pybpf_outer(i):
    return pybpf_inner(i) * 2
for line in sys.stdin:
    what, _, arg = line.strip().partition(" ")
    if what == "open":
        for path in (arg, arg + ".missing"):
            try:
                open(path).close()
            except OSError:
                pass
    elif what == "getppid":
        for _ in range(int(arg)):
            os.getppid()
    elif what == "sleep":
        for _ in range(int(arg)):
            time.sleep(0.002)
    elif what == "calls":
        for i in range(int(arg)):
            pybpf_outer(i)
    print("done", flush=True)
"""


@pytest.mark.parametrize("tool", sorted(GENERATED))
def test_generated_module_is_fresh(tool: str) -> None:
    if shutil.which("clang") is None:
        pytest.skip("no clang to compile the examples' C (Debian package clang)")
    from pybpf.cli.main import main

    options, cflags = GENERATED[tool]
    name = f"{tool}_bpf"
    args = ["gen", name, f"examples/{tool}.bpf.c", *options, "--output-dir", "examples", "--check"]
    if cflags:
        args += ["--", *cflags]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(args) == 0, f"examples/{name}.py is stale: regenerate it (see its header)"
    finally:
        os.chdir(cwd)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    """A Python process that does what :func:`tell` asks."""
    proc = subprocess.Popen(
        [PYTHON, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        proc.communicate(timeout=30)


def tell(proc: subprocess.Popen[str], command: str) -> None:
    """Ask the child to do ``command`` and wait until it did."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "done\n"


def run_tool(
    tool: str, args: list[str], trigger: Callable[[], None], *, interrupt: bool = False
) -> tuple[int, str, str]:
    """Run ``examples/<tool>.py``; once it is attached, ``trigger()``; its exit code and output.

    With ``interrupt``, the tool then gets a SIGINT, as from Ctrl-C.
    """
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{tool}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    ready = proc.stderr.readline()  # the tool says it is attached, or why it failed
    try:
        if ready.startswith("("):
            trigger()
            if interrupt:
                proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, ready + err


@pytest.mark.kernel
def test_execsnoop_shows_execs_with_parent_args_and_result() -> None:
    def trigger() -> None:
        subprocess.run(["/bin/true", "pybpf-marker", "second arg"], check=True)
        with pytest.raises(FileNotFoundError):
            subprocess.run(["/nonexistent/pybpf-missing"], check=False)

    rc, out, err = run_tool("execsnoop", ["-d", "2"], trigger)
    assert rc == 0, err
    assert out.startswith("TIME     PCOMM                PID    PPID  RET ARGS")
    me = os.getpid()
    assert re.search(rf"\btrue +\d+ +{me} +0 /bin/true pybpf-marker second arg$", out, re.M), out
    # A failed exec keeps the caller's name and returns -ENOENT.
    assert re.search(rf" +\d+ +{me} +-2 /nonexistent/pybpf-missing$", out, re.M), out


@pytest.mark.kernel
def test_execsnoop_failed_only() -> None:
    def trigger() -> None:
        subprocess.run(["/bin/true", "pybpf-ok"], check=True)
        with pytest.raises(FileNotFoundError):
            subprocess.run(["/nonexistent/pybpf-failed"], check=False)

    rc, out, err = run_tool("execsnoop", ["-d", "2", "--failed"], trigger)
    assert rc == 0, err
    assert "/nonexistent/pybpf-failed" in out
    assert "pybpf-ok" not in out


@pytest.mark.kernel
def test_opensnoop_by_name(tmp_path: Path) -> None:
    target = tmp_path / "pybpf-opened"
    target.write_text("x")

    def trigger() -> None:
        subprocess.run(["cat", str(target)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cat", f"{target}.missing"], check=False, stderr=subprocess.DEVNULL)

    rc, out, err = run_tool("opensnoop", ["-d", "2", "--name", "ca"], trigger)
    assert rc == 0, err
    assert re.search(rf"^ +\d+ cat +\d+ +O_RDONLY +{target}$", out, re.M), out
    assert re.search(rf"^ +\d+ cat +-1 ENOENT +O_RDONLY +{target}.missing$", out, re.M), out
    assert all("ca" in line.split()[1] for line in out.splitlines()[1:]), out


@pytest.mark.kernel
def test_opensnoop_by_pid(tmp_path: Path, child: subprocess.Popen[str]) -> None:
    target = tmp_path / "pybpf-child-opened"
    target.write_text("x")

    def trigger() -> None:
        tell(child, f"open {target}")
        subprocess.run(["cat", str(target)], check=True, stdout=subprocess.DEVNULL)

    rc, out, err = run_tool("opensnoop", ["-d", "2", "--pid", str(child.pid)], trigger)
    assert rc == 0, err
    lines = out.splitlines()[1:]
    assert lines and all(line.split()[0] == str(child.pid) for line in lines), out
    assert re.search(rf" O_RDONLY\|O_CLOEXEC +{target}$", out, re.M), out
    assert re.search(rf" -1 ENOENT +O_RDONLY\|O_CLOEXEC +{target}.missing$", out, re.M), out


@pytest.mark.kernel
def test_syscount_counts_a_process_by_name(child: subprocess.Popen[str]) -> None:
    def trigger() -> None:
        tell(child, "getppid 777")

    args = ["-d", "1.5", "-i", "1", "-T", "3", "--pid", str(child.pid)]
    rc, out, err = run_tool("syscount", args, trigger)
    assert rc == 0, err
    assert "SYSCALL                       COUNT" in out
    counts = [int(n) for n in re.findall(r"^getppid +(\d+)$", out, re.M)]
    assert sum(counts) == 777, out


def test_syscount_names_from_the_header(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import syscount
    finally:
        sys.path.remove(str(EXAMPLES))
    header = tmp_path / "unistd_64.h"
    header.write_text("#define __NR_read 0\n#define __NR_getppid 110\n#define __NR_x bad\n")
    assert syscount.syscall_names([tmp_path / "missing.h", header]) == {0: "read", 110: "getppid"}
    assert syscount.syscall_names([tmp_path / "missing.h"]) == {}


@pytest.mark.kernel
def test_funclatency_uprobe_on_libc(child: subprocess.Popen[str]) -> None:
    def trigger() -> None:
        tell(child, "sleep 20")

    args = ["libc:clock_nanosleep", "-u", "-d", "1.5", "--pid", str(child.pid)]
    rc, out, err = run_tool("funclatency", args, trigger)
    assert rc == 0, err
    assert "libc:clock_nanosleep: 20 calls" in out
    assert "     usecs               : count     distribution" in out
    # 2 ms sleeps land in the 1024..2047 or 2048..4095 usecs slots.
    assert re.search(r"(1024 -> 2047|2048 -> 4095) +: [1-9]", out), out


@pytest.mark.kernel
def test_funclatency_runs_until_ctrl_c(child: subprocess.Popen[str]) -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here (a shell's background job), and in the tool with it")

    def trigger() -> None:
        tell(child, "sleep 5")

    args = ["libc:clock_nanosleep", "--pid", str(child.pid)]
    rc, out, err = run_tool("funclatency", args, trigger, interrupt=True)
    assert rc == 0, err
    assert "libc:clock_nanosleep: 5 calls" in out
    assert "     nsecs               : count     distribution" in out


@pytest.mark.kernel
def test_funclatency_unknown_function_is_one_line() -> None:
    rc, _, err = run_tool("funclatency", ["libc:pybpf_no_such_function", "-d", "1"], lambda: None)
    assert rc == 1
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("funclatency: symbol 'pybpf_no_such_function' not found in "), err


@pytest.mark.kernel
def test_funclatency_kprobe() -> None:
    """Needs kprobes: on a kernel without them, the tool's one line is the skip reason."""

    def trigger() -> None:
        subprocess.run(["cat", "/proc/self/status"], check=True, stdout=subprocess.DEVNULL)

    rc, out, err = run_tool("funclatency", ["vfs_read", "-m", "-d", "1"], trigger)
    if rc == 1 and "not supported" in err:
        pytest.skip(err.strip())
    assert rc == 0, err
    assert re.search(r"^vfs_read: [1-9]\d* calls$", out, re.M), out
    assert "     msecs               : count     distribution" in out


@pytest.mark.kernel
def test_pyflow_follows_calls_with_depth_and_time(child: subprocess.Popen[str]) -> None:
    from pybpf.link import Executable, USDTProbeNotFoundError

    try:
        Executable(PYTHON).usdt_probe_sites("python", "function__entry")
    except USDTProbeNotFoundError as e:
        pytest.skip(str(e))

    def trigger() -> None:
        tell(child, "calls 3")

    args = ["--pid", str(child.pid), "-d", "2"]
    rc, out, err = run_tool("pyflow", args, trigger)
    assert rc == 0, err
    tid = child.pid
    lines = out.splitlines()
    assert lines[0] == "TID     CALLS (-> entry, <- return)"
    # The child's own calls (reading stdin decodes, too) and the depth of each.
    ours = [line for line in lines[1:] if "pybpf_" in line]
    # Each line: the thread id in 7 columns, a space, two spaces per depth, the call.
    shape = [re.sub(r":\d+( \(.*\))?$", "", line[8:]) for line in ours]
    call = [
        "-> <string>:pybpf_outer",
        "  -> <string>:pybpf_inner",
        "  <- <string>:pybpf_inner",
        "<- <string>:pybpf_outer",
    ]
    assert shape == call * 3, out
    assert all(line.startswith(f"{tid:<7} ") for line in lines[1:])
    assert re.search(r"<- <string>:pybpf_outer:\d+ \(\d+\.\d us\)$", out, re.M), out
