"""cgroup programs on the real kernel: a child process in the test's own cgroup v2 feels them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection, NotSupportedError, Program, features
from pybpf.elf import AttachType, CollectionSpec, load_collection_spec
from pybpf.link import (
    AttachFlags,
    CgroupLink,
    Link,
    LinkType,
    NotACgroupError,
    cgroup,
    cgroup_legacy,
    query_cgroup,
)

# The tests run with --import-mode=importlib: their folder is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns_helpers import (
    cgroup2_mount,
    child_cgroup,
    own_cgroup2_mount,
    run_in_cgroup,
    shared_cgroup2,
)

pytestmark = pytest.mark.kernel

DENY_PORT = 7357
TRY_UDP_SOCKET = """
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    print("ok")
except PermissionError:
    print("EPERM")
"""
TRY_CONNECT = f"""
import socket
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    try:
        s.connect(("127.0.0.1", {DENY_PORT}))
        print("ok")
    except PermissionError:
        print("EPERM")
"""
TRY_DEV_NULL = """
try:
    open("/dev/null", "rb").close()
    print("ok")
except PermissionError:
    print("EPERM")
"""
READ_SYSCTL = "open('/proc/sys/kernel/ostype').read(); open('/proc/sys/kernel/ostype').read()"
SEND_UDP = """
import socket
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    for _ in range(3):
        s.sendto(b"x", ("127.0.0.1", 9))
"""


@pytest.fixture(scope="module")
def cgroup_root() -> Iterator[Path]:
    with cgroup2_mount() as root:
        yield root


@pytest.fixture
def cg(cgroup_root: Path) -> Iterator[Path]:
    with child_cgroup(cgroup_root) as path:
        yield path


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    spec = load_collection_spec(testdata / "link_cgroup-el.o")
    spec.variables["deny_port"].set(DENY_PORT)
    with Collection(spec) as c:
        yield c


def _get(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


def test_link_refuses_sockets_until_close(coll: Collection, cg: Path) -> None:
    before = link_ids_now()
    with cgroup(coll.programs["deny_udp_socket"], cg) as link:
        assert isinstance(link, CgroupLink)
        assert link.type == LinkType.CGROUP
        assert run_in_cgroup(cg, TRY_UDP_SOCKET).strip() == "EPERM"
        assert _get(coll, "sockets_refused") == 1
        assert our_links_since(before)
    assert run_in_cgroup(cg, TRY_UDP_SOCKET).strip() == "ok"
    assert _get(coll, "sockets_refused") == 1
    assert not our_links_since(before)


def test_legacy_refuses_connect_until_close(coll: Collection, cg: Path) -> None:
    before = link_ids_now()
    link = cgroup_legacy(coll.programs["deny_connect4"], cg)
    with link:
        assert link.type is None
        assert link.attach_type == AttachType.CGROUP_INET4_CONNECT
        assert not our_links_since(before)  # no bpf_link behind it
        assert run_in_cgroup(cg, TRY_CONNECT).strip() == "EPERM"
        assert _get(coll, "connects_refused") == 1
        with pytest.raises(NotSupportedError, match="without a bpf_link"):
            link.pin("/sys/fs/bpf/pybpf-never")
    link.close()  # again: nothing
    assert run_in_cgroup(cg, TRY_CONNECT).strip() == "ok"
    assert query_cgroup(cg, AttachType.CGROUP_INET4_CONNECT).programs == ()


def test_device_program_denies_dev_null(coll: Collection, cg: Path) -> None:
    with cgroup(coll.programs["deny_dev_null"], str(cg)):
        assert run_in_cgroup(cg, TRY_DEV_NULL).strip() == "EPERM"
    assert run_in_cgroup(cg, TRY_DEV_NULL).strip() == "ok"
    assert _get(coll, "devices_refused") == 1


def test_sysctl_reads_counted(coll: Collection, cg: Path) -> None:
    fd = os.open(cg, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with cgroup(coll.programs["count_sysctl_reads"], fd):
            run_in_cgroup(cg, READ_SYSCTL)
            assert _get(coll, "sysctl_reads") >= 2
        seen = _get(coll, "sysctl_reads")
        run_in_cgroup(cg, READ_SYSCTL)
        assert _get(coll, "sysctl_reads") == seen
    finally:
        os.close(fd)


def test_egress_packets_counted(coll: Collection, cg: Path) -> None:
    with cgroup(coll.programs["count_egress"], cg):
        run_in_cgroup(cg, SEND_UDP)
        assert _get(coll, "egress_packets") >= 3
    seen = _get(coll, "egress_packets")
    run_in_cgroup(cg, SEND_UDP)
    assert _get(coll, "egress_packets") == seen


def test_query_lists_programs_in_order_and_replace(coll: Collection, cg: Path) -> None:
    counting, allowing = coll.programs["count_sysctl_reads"], coll.programs["allow_sysctl"]
    with cgroup_legacy(counting, cg), cgroup(allowing, cg) as link:
        got = query_cgroup(cg, AttachType.CGROUP_SYSCTL)
        assert got.attach_type == AttachType.CGROUP_SYSCTL
        assert got.attach_flags == AttachFlags.ALLOW_MULTI
        assert got.program_ids == (counting.info().id, allowing.info().id)
        if got.programs[0].attach_flags is not None:  # reported since 6.0
            assert got.programs[0].attach_flags == AttachFlags.ALLOW_MULTI
        if got.programs[1].link_id is not None:
            assert got.programs[1].link_id == link.info().id
        effective = query_cgroup(cg, AttachType.CGROUP_SYSCTL, effective=True)
        assert set(effective.program_ids) >= set(got.program_ids)
    assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).programs == ()


def test_link_update_swaps_the_program(coll: Collection, cg: Path) -> None:
    counting, allowing = coll.programs["count_sysctl_reads"], coll.programs["allow_sysctl"]
    with cgroup(allowing, cg) as link:
        revision = query_cgroup(cg, AttachType.CGROUP_SYSCTL).revision
        run_in_cgroup(cg, READ_SYSCTL)
        assert _get(coll, "sysctl_reads") == 0
        link.update(counting, old=allowing)
        assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).program_ids == (counting.info().id,)
        run_in_cgroup(cg, READ_SYSCTL)
        assert _get(coll, "sysctl_reads") >= 2
        with pytest.raises(BPFError):
            link.update(allowing, old=allowing)  # no longer its program: EPERM
    after = query_cgroup(cg, AttachType.CGROUP_SYSCTL)
    assert after.programs == ()
    if revision is not None:  # where the kernel reports one
        assert after.revision is not None and after.revision > revision


def test_legacy_replace(coll: Collection, cg: Path) -> None:
    counting, allowing = coll.programs["count_sysctl_reads"], coll.programs["allow_sysctl"]
    with cgroup_legacy(counting, cg) as first:
        with cgroup_legacy(allowing, cg, replace=counting):
            assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).program_ids == (allowing.info().id,)
            first.close()  # its program was replaced: nothing to detach, no error
        assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).programs == ()


def test_exclusive_attachment_refuses_a_link(coll: Collection, cg: Path) -> None:
    before = link_ids_now()
    counting, allowing = coll.programs["count_sysctl_reads"], coll.programs["allow_sysctl"]
    with cgroup_legacy(counting, cg, flags=AttachFlags.NONE):
        with pytest.raises(BPFError, match="CGROUP_SYSCTL") as e:
            cgroup(allowing, cg)
        assert e.value.errno is not None
        assert not our_links_since(before)
    assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).programs == ()


def test_link_opened_by_id_is_a_cgroup_link(coll: Collection, cg: Path) -> None:
    with cgroup(coll.programs["allow_sysctl"], cg) as link:
        link_id = link.info().id
        with Link.from_id(link_id) as again:
            assert type(again) is CgroupLink


def test_bad_targets_attach_nothing(coll: Collection, tmp_path: Path, cg: Path) -> None:
    prog = coll.programs["allow_sysctl"]
    before = link_ids_now()
    with pytest.raises(NotACgroupError, match=r"cgroup\.controllers"):
        cgroup(prog, tmp_path)
    with pytest.raises(NotACgroupError, match="nonesuch"):
        cgroup_legacy(prog, tmp_path / "nonesuch")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotACgroupError):
        cgroup(prog, tmp_path / "file")
    with open(tmp_path / "file") as f, pytest.raises(NotACgroupError, match="not a directory"):
        cgroup(prog, f.fileno())
    with pytest.raises(NotACgroupError):
        query_cgroup("/proc", AttachType.CGROUP_SYSCTL)
    with pytest.raises(TypeError, match="cgroup must be a path or an fd"):
        cgroup(prog, 1.5)  # type: ignore[arg-type]
    assert not our_links_since(before)
    assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).programs == ()


def test_bad_arguments_attach_nothing(coll: Collection, cg: Path) -> None:
    prog = coll.programs["allow_sysctl"]
    with pytest.raises(TypeError, match="prog must be a Program"):
        cgroup("prog", cg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is a CGROUP_SYSCTL program; attach type CGROUP_DEVICE"):
        cgroup(prog, cg, attach_type=AttachType.CGROUP_DEVICE)
    with pytest.raises(ValueError, match="XDP is not one cgroup attaches"):
        cgroup(prog, cg, attach_type=AttachType.XDP)
    with pytest.raises(ValueError, match="replace needs flags with ALLOW_MULTI"):
        cgroup_legacy(prog, cg, flags=AttachFlags.ALLOW_OVERRIDE, replace=prog)
    with pytest.raises(ValueError, match="flags"):
        cgroup_legacy(prog, cg, flags=AttachFlags.BEFORE)
    with pytest.raises(ValueError, match="flags"):
        cgroup_legacy(prog, cg, flags=1 << 20)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a cgroup attach type"):
        query_cgroup(cg, AttachType.XDP)
    assert query_cgroup(cg, AttachType.CGROUP_SYSCTL).programs == ()


# -- every cgroup attach type -----------------------------------------------------------


def _all_spec(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "link_cgroup_all-el.o")


ALL_PROGRAMS = [
    "skb_ingress", "skb_egress", "sock_create", "sock_release", "post_bind4", "post_bind6",
    "bind4", "bind6", "connect4", "connect6", "connect_unix", "sendmsg4", "sendmsg6",
    "sendmsg_unix", "recvmsg4", "recvmsg6", "recvmsg_unix", "getpeername4", "getpeername6",
    "getpeername_unix", "getsockname4", "getsockname6", "getsockname_unix", "sysctl",
    "getsockopt", "setsockopt", "dev", "sock_ops", "lsm_socket_bind",
]  # fmt: skip


@pytest.fixture
def one_program(request: pytest.FixtureRequest, testdata: Path) -> Iterator[Program]:
    spec = _all_spec(testdata)
    name = request.param
    prog_spec = spec.programs[name]
    assert prog_spec.attach_type is not None
    features.have_attach_type(prog_spec.type, prog_spec.attach_type)
    for other in spec.programs.values():
        other.autoload = other.name == name
    with Collection(spec) as c:
        yield c.programs[name]


@pytest.mark.parametrize("one_program", ALL_PROGRAMS, indirect=True)
def test_every_attach_type_attaches_both_ways(one_program: Program, cg: Path) -> None:
    prog = one_program
    kind = prog.spec.attach_type if prog.spec is not None else None
    assert kind is not None
    prog_id = prog.info().id
    with cgroup(prog, cg) as link:
        assert prog_id in query_cgroup(cg, kind).program_ids
        assert link.name.endswith(kind.name)
    assert prog_id not in query_cgroup(cg, kind).program_ids
    with cgroup_legacy(prog, cg):
        assert query_cgroup(cg, kind).program_ids == (prog_id,)
    assert query_cgroup(cg, kind).programs == ()


def test_section_without_attach_type_needs_one(testdata: Path, cg: Path) -> None:
    spec = _all_spec(testdata)
    for other in spec.programs.values():
        other.autoload = other.name == "skb_any"
    with Collection(spec) as c:
        prog = c.programs["skb_any"]
        with pytest.raises(ValueError, match="pass attach_type="):
            cgroup(prog, cg)
        with cgroup(prog, cg, attach_type=AttachType.CGROUP_INET_INGRESS):
            ids = query_cgroup(cg, AttachType.CGROUP_INET_INGRESS).program_ids
            assert ids == (prog.info().id,)


@pytest.mark.parametrize("name", ["cgroup", "netns", "netfilter", "sockmap"])
def test_an_attach_function_is_not_hidden_by_its_module(name: str) -> None:
    # Importing pybpf.link.cgroup binds the submodule on the package, over the
    # function of the same name unless the package keeps it.
    code = (
        f"import sys, pybpf.link, pybpf.link.{name}\n"
        f"from pybpf.link import {name}\n"
        f"assert callable({name}) and not isinstance({name}, type(sys)), {name}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _mounted_at(where: Path) -> bool:
    return any(
        line.split()[1] == str(where) for line in Path("/proc/self/mounts").read_text().splitlines()
    )


def test_a_temporary_cgroup2_mount_goes_even_with_a_file_open_in_it() -> None:
    # A run that used it (a cgroup fd still open) must not keep it mounted.
    with own_cgroup2_mount() as root:
        held = os.open(root, os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert not _mounted_at(root)
        assert not root.exists()
    finally:
        os.close(held)


def test_another_runs_temporary_cgroup2_mount_is_not_shared() -> None:
    with own_cgroup2_mount() as other:
        shared = shared_cgroup2()
        assert shared != other
        with cgroup2_mount() as root:
            assert root != other
            assert (root / "cgroup.controllers").exists()
        assert _mounted_at(other)
    assert not _mounted_at(other)
