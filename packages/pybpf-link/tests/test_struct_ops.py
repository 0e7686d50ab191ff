"""struct_ops on the real kernel: a BPF TCP congestion control, registered and used, then gone.

The connection that uses it runs over loopback in a network namespace of its
own (a child process made with ``unshare -n``), never on the host's network.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.btf import Enum, load_kernel_spec
from pybpf.core import BPFError, Collection, NotSupportedError, features
from pybpf.core.sys import MapType
from pybpf.elf import load_collection_spec
from pybpf.link import (
    Link,
    LinkType,
    StructOpsLink,
    StructOpsRegistration,
    struct_ops,
)

pytestmark = pytest.mark.kernel

AVAILABLE = Path("/proc/sys/net/ipv4/tcp_available_congestion_control")

#: A TCP connection over loopback, in the child's own network namespace, with
#: the congestion control named in argv[1]; prints the one the socket has.
CONNECT = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
cc = sys.argv[1].encode()
with socket.create_server(("127.0.0.1", 0)) as server:
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
    with socket.create_connection(server.getsockname()) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
        peer, _ = server.accept()
        with peer:
            client.sendall(b"x" * 100000)
            got = 0
            while got < 100000:
                got += len(peer.recv(65536))
        name = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
        print(name.rstrip(b"\\0").decode())
"""


def _available() -> set[str]:
    return set(AVAILABLE.read_text().split())


def _connect_with(cc: str) -> str:
    """The congestion control a loopback connection in a new netns got (after asking for ``cc``)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare(1) and ip(8) for a network namespace of the test's own")
    out = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", CONNECT, cc],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


def _load(testdata: Path, name: str) -> Collection:
    """The object with only the struct_ops map ``name`` (and what it needs) loaded."""
    features.have_map_type(MapType.STRUCT_OPS)
    spec = load_collection_spec(testdata / "link_struct_ops-el.o")
    try:
        return Collection(spec, maps=[name])
    except BPFError as e:
        if name == "pybpf_linked" and e.errno == errno.EINVAL and not _has_struct_ops_links():
            # The map's BPF_F_LINK flag is what a kernel without struct_ops links refuses.
            raise NotSupportedError(
                "struct_ops maps with BPF_F_LINK",
                reason="this kernel's bpf_attach_type has no BPF_STRUCT_OPS",
            ) from e
        raise


def _has_struct_ops_links() -> bool:
    """Whether the kernel's own BTF knows struct_ops links (its bpf_attach_type's member)."""
    return any(
        v.name == "BPF_STRUCT_OPS"
        for t in load_kernel_spec().types_by_name("bpf_attach_type", Enum)
        if isinstance(t, Enum)
        for v in t.values
    )


@pytest.fixture
def coll(testdata: Path) -> Iterator[Collection]:
    with _load(testdata, "pybpf_plain") as c:
        yield c


@pytest.fixture
def linked(testdata: Path) -> Iterator[Collection]:
    with _load(testdata, "pybpf_linked") as c:
        yield c


def _count(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


def test_plain_struct_ops_registers_until_close(coll: Collection) -> None:
    m = coll.maps["pybpf_plain"]
    reg = struct_ops(m, coll.struct_ops_values["pybpf_plain"])
    with reg:
        assert isinstance(reg, StructOpsRegistration)
        assert reg.type is None
        assert reg.name == "struct_ops pybpf_plain"
        assert "pybpf_plain" in _available()
        assert _connect_with("pybpf_plain") == "pybpf_plain"
        assert _count(coll, "inits") >= 1
    assert "pybpf_plain" not in _available()
    # The kernel registers a plain struct_ops map once: its value cannot be
    # written again (EBUSY), and nothing is left behind.
    with pytest.raises(BPFError, match="write its value") as e:
        struct_ops(m, coll.struct_ops_values["pybpf_plain"])
    assert e.value.errno == errno.EBUSY
    assert "pybpf_plain" not in _available()


def test_linked_struct_ops_registers_until_close(linked: Collection) -> None:
    coll = linked
    m = coll.maps["pybpf_linked"]
    link = struct_ops(m, coll.struct_ops_values["pybpf_linked"])
    with link:
        assert isinstance(link, StructOpsLink)
        assert link.type == LinkType.STRUCT_OPS
        assert "pybpf_linked" in _available()
        assert _connect_with("pybpf_linked") == "pybpf_linked"
        assert _count(coll, "link_inits") >= 1
        with Link.from_id(link.info().id) as opened:
            assert type(opened) is StructOpsLink
    assert "pybpf_linked" not in _available()


def test_update_swaps_the_map(testdata: Path) -> None:
    # A second load of the same object: another map of the same struct. The
    # kernel swaps only maps of the same name: BPF_LINK_UPDATE keeps it.
    with _load(testdata, "pybpf_linked") as first, _load(testdata, "pybpf_linked") as second:
        old, new = first.maps["pybpf_linked"], second.maps["pybpf_linked"]
        with struct_ops(old, first.struct_ops_values["pybpf_linked"]) as link:
            assert isinstance(link, StructOpsLink)
            link.update(new, second.struct_ops_values["pybpf_linked"], old=old)
            assert link.info().id
            assert _connect_with("pybpf_linked") == "pybpf_linked"
            assert _count(second, "link_inits") >= 1
            assert _count(first, "link_inits") == 0
            with pytest.raises(BPFError):
                link.update(old, old=old)  # no longer the link's map
        assert "pybpf_linked" not in _available()


def test_a_taken_name_registers_nothing(testdata: Path) -> None:
    with _load(testdata, "pybpf_linked") as first, _load(testdata, "pybpf_linked") as second:
        before = link_ids_now()
        with struct_ops(first.maps["pybpf_linked"], first.struct_ops_values["pybpf_linked"]):
            with pytest.raises(BPFError) as e:
                struct_ops(second.maps["pybpf_linked"], second.struct_ops_values["pybpf_linked"])
            assert e.value.errno == errno.EEXIST  # the name is taken
        assert not our_links_since(before)
        assert "pybpf_linked" not in _available()


def test_bad_arguments_register_nothing(coll: Collection) -> None:
    with pytest.raises(TypeError, match="map must be a Map"):
        struct_ops("pybpf_plain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a struct_ops map"):
        struct_ops(coll.maps[".bss"])
    with pytest.raises(TypeError, match="value must be bytes"):
        struct_ops(coll.maps["pybpf_plain"], "x")  # type: ignore[arg-type]
    assert "pybpf_plain" not in _available()
