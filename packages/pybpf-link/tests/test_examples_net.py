"""The networking and cgroup example tools run on this kernel and count what really happened.

Each tool runs as a subprocess, as a user runs it: in its ``--demo`` mode (it
makes its own network namespace or cgroup and sends traffic there), and on a
namespace or cgroup this test made, the test sending the traffic itself.
Their generated modules are checked to be what ``pybpf gen`` makes of the C.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from netns_util import UDPFlow, fresh_netns
from ns_helpers import cgroup2_mount, child_cgroup, run_in_cgroup

from pybpf.cli.main import main as pybpf_main
from pybpf.elf.gen.compile import clang_version, find_clang
from pybpf.elf.gen.errors import GenError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TOOLS = ["xdp_counter", "tcx_firewall", "cgroup_egress"]
ETH_IP_UDP = 14 + 20 + 8  # the headers XDP sees before a UDP payload
IP_UDP = 20 + 8  # the headers cgroup_skb sees


def run(tool: str, *args: str, timeout: float = 60) -> str:
    """Run ``examples/<tool>.py`` with ``args`` to its end; its stdout (it must exit 0).

    A tool still running after ``timeout`` seconds is stopped with SIGTERM,
    which lets it undo what it made (a demo's cgroup2 mount), not killed.
    """
    with subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{tool}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"{tool} ran over {timeout} s:\n{out}{err}") from None
    assert proc.returncode == 0, err
    assert err == ""
    return out


@contextmanager
def running(tool: str, *args: str, ready: str = "==> ") -> Iterator[subprocess.Popen[str]]:
    """Start ``examples/<tool>.py``, wait for its line starting with ``ready``, yield it.

    ``ready`` is the line the tool prints once its program is attached (a
    fallback's notice may come before it).
    """
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{tool}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line.startswith("==> ") and not line.startswith(ready):
            line = proc.stdout.readline()
        assert line.startswith(ready), line + proc.communicate(timeout=30)[1]
        yield proc
    finally:
        if proc.poll() is None:
            proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


def finish(proc: subprocess.Popen[str]) -> str:
    """The rest of a running tool's stdout once it ends (it must exit 0)."""
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def totals(out: str, proto: str) -> tuple[int, int]:
    """Packets and bytes of ``proto`` in xdp_counter's final table."""
    table = out.split("==> detached; totals:")[1]
    found = re.search(rf"^\s+{proto}\s+(\d+) packets\s+(\d+) bytes$", table, re.MULTILINE)
    assert found, out
    return int(found[1]), int(found[2])


# -- the generated modules ---------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_generated_module_is_fresh(tool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = EXAMPLES / f"{tool}_bpf.py"
    header = module.read_text().splitlines()[:4]
    assert header[1] == f"# Command: pybpf gen {tool}_bpf {tool}.bpf.c"
    try:
        compiler = clang_version(find_clang())
    except GenError as exc:
        pytest.skip(str(exc))
    if header[2] != f"# Compiler: {compiler}":
        pytest.skip(f"{module.name} was made by another clang ({header[2][12:]}), not {compiler}")
    monkeypatch.chdir(EXAMPLES)
    assert pybpf_main(["gen", f"{tool}_bpf", f"{tool}.bpf.c", "--check"]) == 0


# -- xdp_counter ---------------------------------------------------------------


@pytest.mark.kernel
def test_xdp_counter_demo() -> None:
    out = run("xdp_counter", "--demo", "--duration", "2")
    assert "==> counting packets received on lo with an XDP link\n" in out
    rounds = out.count("==> sent 5 UDP datagrams of 100 bytes, 1 TCP connection, 1 ICMP echo")
    assert rounds >= 1
    assert totals(out, "UDP") == (5 * rounds, 5 * rounds * (ETH_IP_UDP + 100))
    # An echo request and its reply, 8 bytes of ICMP header and 6 of data each.
    assert totals(out, "ICMP") == (2 * rounds, 2 * rounds * (14 + 20 + 8 + 6))
    assert totals(out, "TCP")[0] >= 6 * rounds  # handshake, data and ack, closing
    assert re.search(r"^\d\d:\d\d:\d\d\n\s+ICMP\s+2 packets", out, re.MULTILINE), out


@pytest.mark.kernel
def test_xdp_counter_through_netlink_in_generic_mode() -> None:
    out = run("xdp_counter", "--demo", "--duration", "1", "--netlink", "--generic")
    assert "==> counting packets received on lo with netlink in generic mode\n" in out
    assert totals(out, "UDP") == (5, 5 * (ETH_IP_UDP + 100))


@pytest.mark.kernel
def test_xdp_counter_counts_what_the_test_sends() -> None:
    tool = ("xdp_counter", "lo", "--duration", "1", "--interval", "0.5")
    with fresh_netns(), UDPFlow() as flow, running(*tool) as proc:
        assert flow.delivered(7) == 7
        out = finish(proc)
    assert totals(out, "UDP") == (7, 7 * (ETH_IP_UDP + len(b"packet 0")))
    assert "ICMP" not in out and "TCP" not in out


@pytest.mark.kernel
def test_ctrl_c_detaches_and_prints_the_totals() -> None:
    with fresh_netns(), UDPFlow() as flow, running("xdp_counter", "lo") as proc:
        assert flow.delivered(3) == 3
        proc.send_signal(signal.SIGINT)
        out = finish(proc)
    assert totals(out, "UDP") == (3, 3 * (ETH_IP_UDP + len(b"packet 0")))


@pytest.mark.kernel
def test_xdp_counter_names_a_missing_interface() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "xdp_counter.py"), "pybpf-nosuch0", "-d", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    expected = "xdp_counter: no network interface with name 'pybpf-nosuch0' in this namespace\n"
    assert done.stderr == expected


# -- tcx_firewall ----------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize(("proto", "how"), [("udp", "tcx"), ("tcp", "tc")])
def test_tcx_firewall_demo(proto: str, how: str) -> None:
    args = ["--demo", "--duration", "1", "--proto", proto, "--port", "9000"]
    out = run("tcx_firewall", *args, *(["--tc"] if how == "tc" else []))
    if how == "tc" or "==> no tcx here (" in out:  # before 6.6 the tool falls back to tc
        how = "tc (clsact, direct-action filter)"
    assert f"==> dropping {proto.upper()} to port 9000 at ingress of lo with {how}\n" in out
    knocks = re.findall(
        r"^==> to port 9000: (\d) of 3 got through, to port 9001: (\d) of 3", out, re.M
    )
    assert knocks and all(k == ("0", "3") for k in knocks), out
    dropped = re.search(r"dropped (\d+) packets in all", out)
    assert dropped and int(dropped[1]) >= 3 * len(knocks), out


@pytest.mark.kernel
def test_tcx_firewall_drops_what_the_test_sends() -> None:
    with fresh_netns(), UDPFlow() as blocked, UDPFlow() as other:
        port = str(blocked.port)
        # Stopped by Ctrl-C once the test is done: a fixed duration may end
        # first where Python is slow (an emulated VM).
        with running(
            "tcx_firewall", "lo", "--port", port, "--duration", "600", ready="==> dropping"
        ) as proc:
            assert blocked.delivered(4) == 0
            assert other.delivered(2) == 2
            proc.send_signal(signal.SIGINT)
            out = finish(proc)
        assert blocked.delivered(1) == 1  # the tool ended: nothing is attached any more
    assert f"==> detached; dropped 4 packets in all (UDP to port {port})" in out
    # The per-interval lines, if one was printed before Ctrl-C, add up to no more.
    lines = re.findall(r"dropped +(\d+) +passed +(\d+)", out)
    assert sum(int(d) for d, _ in lines) <= 4, out


# -- cgroup_egress -----------------------------------------------------------------


@pytest.mark.kernel
def test_cgroup_egress_demo() -> None:
    out = run("cgroup_egress", "--demo", "--duration", "1")
    assert re.search(
        r"^==> counting what \S+/cgroup_egress-demo-\d+ sends, with a cgroup link$", out, re.M
    )
    assert "==> a child in the cgroup sent 10 UDP datagrams of 200 bytes" in out
    assert re.search(rf"sent 10 packets, {10 * (IP_UDP + 200)} bytes$", out, re.M), out


@pytest.mark.kernel
def test_cgroup_egress_demo_undoes_what_it_made_when_killed() -> None:
    # SIGTERM (a timeout's kill) ends it as Ctrl-C does: its cgroup (and, where
    # the machine mounts no cgroup2, its mount) must not stay behind.
    with running("cgroup_egress", "--demo", "--duration", "600", ready="==> counting") as proc:
        proc.terminate()
        out = finish(proc)
    found = re.search(r"^==> detached; (\S+) sent \d+ packets", out, re.M)
    assert found, out
    group = Path(found.group(1))
    assert not group.exists()
    if Path(tempfile.gettempdir()) in group.parents:  # under a mount of its own
        assert not group.parent.exists()


@pytest.mark.kernel
def test_cgroup_egress_counts_a_cgroup_of_the_test() -> None:
    send = (
        "import socket\n"
        "with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:\n"
        "    s.bind(('127.0.0.1', 0))\n"
        "    for n in range(6): s.sendto(b'x' * n, s.getsockname())\n"
    )
    with (
        cgroup2_mount() as root,
        child_cgroup(root) as group,
        # Stopped by Ctrl-C once the child is done: a fixed duration may end
        # before the child even starts where Python is slow (an emulated VM).
        running("cgroup_egress", str(group), "--duration", "600", ready="==> counting") as proc,
    ):
        run_in_cgroup(group, send)
        proc.send_signal(signal.SIGINT)
        out = finish(proc)
    assert f"==> detached; {group} sent 6 packets, {6 * IP_UDP + sum(range(6))} bytes" in out


@pytest.mark.kernel
def test_cgroup_egress_refuses_a_directory_that_is_no_cgroup(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "cgroup_egress.py"), str(tmp_path), "-d", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"cgroup_egress: '{tmp_path}' is not a cgroup v2 directory")
    assert done.stderr.count("\n") == 1
