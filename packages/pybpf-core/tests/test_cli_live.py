"""The live ``pybpf`` commands against objects the test loads, compared with bpftool's view."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pybpf.core import Collection, load_collection, load_collection_spec, possible_cpus
from pybpf.core.inventory import btf_objects, map_ids, maps, program_code, program_ids, programs

pytestmark = pytest.mark.kernel

SCRIPT = Path(sys.executable).with_name("pybpf")
BPFTOOL = shutil.which("bpftool")
needs_bpftool = pytest.mark.skipif(BPFTOOL is None, reason="bpftool not installed")
SO_ATTACH_BPF = 50


def pybpf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, check=False)


def pybpf_json(*args: str) -> Any:
    out = pybpf(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def bpftool_json(*args: str) -> Any:
    out = subprocess.run([BPFTOOL or "", "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def globals_collection(testdata: Path) -> Iterator[Collection]:
    with load_collection(load_collection_spec(testdata / "globals-el.o")) as coll:
        yield coll


@pytest.fixture
def prog_id(globals_collection: Collection) -> int:
    return globals_collection.programs["count_packets"].info().id


def test_inventory_iterators(globals_collection: Collection, prog_id: int) -> None:
    assert prog_id in set(program_ids())
    info = next(p for p in programs() if p.id == prog_id)
    assert info.name == "count_packets"
    data_id = globals_collection.maps[".data"].info().id
    assert data_id in set(map_ids())
    assert next(m for m in maps() if m.id == data_id).name == ".data"
    listed = list(btf_objects())
    btf_id = globals_collection.programs["count_packets"].info().btf_id
    assert any(b.id == btf_id and not b.kernel_btf for b in listed)
    if (Path("/sys/kernel/btf/vmlinux")).exists() and any(b.kernel_btf for b in listed):
        # From 5.11 vmlinux's BTF is a BTF object with an id, named.
        assert any(b.name == "vmlinux" for b in listed if b.kernel_btf)


PROG_FIELDS = (
    "id",
    "type",
    "name",
    "tag",
    "gpl_compatible",
    "uid",
    "bytes_xlated",
    "jited",
    "bytes_jited",
    "map_ids",
    "btf_id",
    "verified_insns",
)


@needs_bpftool
def test_prog_list_and_show_match_bpftool(prog_id: int) -> None:
    ours = next(p for p in pybpf_json("prog", "list") if p["id"] == prog_id)
    theirs = bpftool_json("prog", "show", "id", str(prog_id))
    for field in PROG_FIELDS:
        if field in theirs:  # bpftool 7.1 leaves out verified_insns
            assert ours[field] == theirs[field], field
    assert abs(ours["loaded_at"] - theirs["loaded_at"]) <= 2
    assert pybpf_json("prog", "show", str(prog_id)) == ours
    text = pybpf("prog", "show", str(prog_id)).stdout
    assert text.startswith(f"{prog_id}: socket_filter  name count_packets  tag {ours['tag']}")


@needs_bpftool
def test_prog_dump_xlated_matches_bpftool(prog_id: int) -> None:
    ours = pybpf_json("prog", "dump", str(prog_id), "--xlated")
    theirs = bpftool_json("prog", "dump", "xlated", "id", str(prog_id), "linum")
    assert len(ours) == len(theirs)  # one entry per instruction
    # The same source lines, on the same instructions.
    fields = ("src", "file", "line_num", "line_col")
    our_lines = [(i, [e.get(f) for f in fields]) for i, e in enumerate(ours) if "src" in e]
    their_lines = [(i, [e.get(f) for f in fields]) for i, e in enumerate(theirs) if "src" in e]
    assert our_lines == their_lines
    assert ours[-1]["disasm"] == "exit"
    text = pybpf("prog", "dump", str(prog_id)).stdout
    assert "; data_packets++; @ globals.c:" in text
    assert re.search(r"r2 = map_value 0x[0-9a-f]+ \+ 0x0 ll <\.data>", text)  # maps by name


def test_prog_dump_names_helper_calls(globals_collection: Collection) -> None:
    prog_id = globals_collection.programs["print_counters"].info().id
    text = pybpf("prog", "dump", str(prog_id)).stdout
    assert "<bpf_trace_printk" in text or "<bpf_trace_vprintk" in text


def test_prog_dump_jited(prog_id: int) -> None:
    code = program_code(prog_id)
    doc = pybpf_json("prog", "dump", str(prog_id), "--jited")
    assert bytes.fromhex(doc["jited"]) == code.jited
    assert len(code.jited) == pybpf_json("prog", "show", str(prog_id))["bytes_jited"]


MAP_FIELDS = ("id", "type", "name", "flags", "bytes_key", "bytes_value", "max_entries", "btf_id")


@needs_bpftool
def test_map_list_and_show_match_bpftool(globals_collection: Collection) -> None:
    map_id = globals_collection.maps[".rodata"].info().id
    ours = next(m for m in pybpf_json("map", "list") if m["id"] == map_id)
    theirs = bpftool_json("map", "show", "id", str(map_id))
    for field in MAP_FIELDS:
        assert ours[field] == theirs[field], field
    assert pybpf_json("map", "show", str(map_id)) == ours


@needs_bpftool
def test_map_dump_matches_bpftool(testdata: Path) -> None:
    with load_collection(load_collection_spec(testdata / "maps-el.o")) as coll:
        flows, per_cpu = coll.maps["flows"], coll.maps["percpu_hash"]
        key = flows.key_codec.decode(bytes(range(16)))
        flows[key] = flows.value_codec.decode(bytes(range(16, 32)))
        cpus = possible_cpus()
        per_cpu[7] = [per_cpu.value_codec.decode(bytes([i]) * 16) for i in range(cpus)]
        for m in (flows, per_cpu):
            map_id = str(m.info().id)
            assert pybpf_json("map", "dump", map_id) == bpftool_json("map", "dump", "id", map_id)
        text = pybpf("map", "dump", str(per_cpu.info().id)).stdout
        assert text.splitlines()[0] == "key: 7"
        assert text.splitlines()[1].startswith("  cpu 0: {'packets': 0")


@needs_bpftool
def test_btf_list_matches_bpftool(globals_collection: Collection) -> None:
    ours = {b["id"]: b for b in pybpf_json("btf", "list")}
    theirs = bpftool_json("btf", "list")
    assert {b["id"] for b in theirs} <= set(ours) | {b["id"] for b in theirs if b["id"] > max(ours)}
    # Kernels before 5.11 give vmlinux's BTF no id: then neither tool lists it.
    for vmlinux in (b for b in theirs if b.get("name") == "vmlinux"):
        assert ours[vmlinux["id"]] == {k: vmlinux[k] for k in ("id", "size", "kernel", "name")}
    btf_id = globals_collection.programs["count_packets"].info().btf_id
    assert ours[btf_id]["kernel"] is False


def test_feature_probe() -> None:
    doc = pybpf_json("feature", "probe", "--only", "program_types", "--only", "misc")
    assert set(doc) == {"program_types", "misc"}
    assert doc["program_types"]["socket_filter"] == {
        "supported": True,
        "status": "yes",
        "since": "3.19",
    }
    assert doc["misc"]["bpf_link"]["supported"] is True
    statuses = {d["status"] for d in doc["program_types"].values()}
    assert statuses <= {"yes", "missing", "not built", "refused"}
    for d in doc["program_types"].values():
        assert d["supported"] == (d["status"] == "yes")
        if d["status"] != "yes":
            assert d["reason"]


def test_feature_probe_helpers() -> None:
    helpers = pybpf_json("feature", "probe", "--only", "helpers")["helpers"]
    assert helpers["socket_filter/map_lookup_elem"] == {"supported": True, "status": "yes"}
    # Socket filters may not write to the packet: missing, not "not built".
    refused = helpers["socket_filter/skb_store_bytes"]
    assert refused["supported"] is False and refused["status"] == "missing"
    assert "since" not in refused


def test_feature_probe_text_shows_refusals_apart() -> None:
    out = pybpf("feature", "probe", "--only", "map_types")
    assert out.returncode == 0, out.stderr
    assert "  hash " in out.stdout and "yes (Linux 3.19+)" in out.stdout
    for line in out.stdout.splitlines():
        if " refused " in line or " not built " in line:
            assert ": " in line  # the kernel's answer follows


_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up() -> None:
    """Bring up ``lo`` of the current (new, private) network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = bytearray(struct.pack("16sH14x", b"lo", 0))
        fcntl.ioctl(s, _SIOCGIFFLAGS, ifreq)
        flags = struct.unpack_from("16sH", ifreq)[1] | _IFF_UP
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags))


def _packets_through(prog_fd: int, seconds: float) -> int:
    """Start a child that, in a network namespace of its own, sends UDP packets
    over that namespace's loopback to a socket the program filters, for up to
    ``seconds``. Returns the child's pid; nothing leaves the namespace."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNET) != 0:
            os._exit(3)
        _loopback_up()
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        ):
            rx.bind(("127.0.0.1", 0))
            rx.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, prog_fd)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                tx.sendto(b"x", rx.getsockname())
                time.sleep(0.001)
        code = 0
    finally:
        os._exit(code)


def test_top_once_json_counts_runs(globals_collection: Collection) -> None:
    prog = globals_collection.programs["count_packets"]
    prog_id = prog.info().id
    top = subprocess.Popen(
        [str(SCRIPT), "top", "--once", "--json", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Packets flow for as long as top measures (its start may take seconds in
    # an emulated kernel), then the sender is stopped.
    sender = _packets_through(prog.fd.number, 120.0)
    try:
        out, err = top.communicate(timeout=60)
        done, status = os.waitpid(sender, os.WNOHANG)
        assert not done, f"the sender failed: {os.waitstatus_to_exitcode(status)}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sender, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(sender, 0)
    assert top.returncode == 0, err
    row = next(r for r in json.loads(out) if r["id"] == prog_id)
    assert row["name"] == "count_packets" and row["type"] == "socket_filter"
    assert row["runs"] > 0 and row["run_cnt"] >= row["runs"]
    assert row["time_ns"] > 0 and row["avg_ns"] == row["time_ns"] // row["runs"]
    assert row["cpu_percent"] >= 0


def test_top_interactive_refreshes_and_quits_on_q(globals_collection: Collection) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: pybpf top on a terminal
        os.execv(str(SCRIPT), [str(SCRIPT), "top", "--interval", "0.3"])
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while seen.count(b"pybpf top - ") < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                seen += os.read(fd, 65536)
        assert seen.count(b"pybpf top - ") >= 2, seen[-500:]
        assert b"count_packets" in seen
        os.write(fd, b"q")
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:
                select.select([fd], [], [], 0.2)
                os.read(fd, 65536)
            except OSError:
                pass
        assert status is not None and os.waitstatus_to_exitcode(status) == 0
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_errors_say_what_to_do() -> None:
    out = pybpf("prog", "show", str(1 << 30))
    assert out.returncode == 1
    assert out.stderr.startswith("pybpf: error: open program id")
    assert "pybpf prog list" in out.stderr and out.stderr.count("\n") == 1
