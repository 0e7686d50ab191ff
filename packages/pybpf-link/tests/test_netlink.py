"""The rtnetlink module: attribute packing offline, requests and refusals on the real kernel."""

from __future__ import annotations

import errno
import socket
import struct

import pytest
from netns_util import fresh_netns, inside, spare_netns

from pybpf.core import BPFError
from pybpf.link import InterfaceNotFoundError
from pybpf.link._netlink import (
    NLA_F_NESTED,
    Route,
    attr,
    attr_str,
    attr_u32,
    clsact_parent,
    interface_index,
    nested,
    parse_attrs,
)


def test_attributes_are_padded_and_parse_back() -> None:
    packed = attr_str(3, "lo") + attr_u32(4, 1500) + nested(43, attr_u32(1, 7))
    assert len(attr_str(3, "lo")) == 8  # 4-byte header, "lo\0", one byte of padding
    found = parse_attrs(packed, "test")
    assert found[3] == b"lo\0"
    assert struct.unpack("=I", found[4]) == (1500,)
    assert parse_attrs(found[43], "test") == {1: struct.pack("=I", 7)}
    assert struct.unpack_from("=HH", nested(43))[1] == 43 | NLA_F_NESTED


def test_malformed_attributes_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="test: malformed netlink attribute at offset 0"):
        parse_attrs(struct.pack("=HH", 64, 1), "test")
    with pytest.raises(ValueError, match="malformed"):
        parse_attrs(struct.pack("=HH", 2, 1), "test")
    assert parse_attrs(attr(1, b"") + b"\0\0", "test") == {1: b""}


def test_interface_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="f: interface must be a name or an ifindex, not bool"):
        interface_index(True, "f")
    for bad in ("", "a" * 16, "a/b", "a\0"):
        with pytest.raises(ValueError, match="is not an interface name"):
            interface_index(bad, "f")
    with pytest.raises(ValueError, match="out of range"):
        interface_index(0, "f")
    with pytest.raises(InterfaceNotFoundError) as missing:
        interface_index("nonesuch0", "f")
    assert isinstance(missing.value, LookupError)
    assert missing.value.interface == "nonesuch0"


def test_clsact_parents() -> None:
    assert clsact_parent(True) == 0xFFFFFFF2
    assert clsact_parent(False) == 0xFFFFFFF3


@pytest.mark.kernel
def test_refusal_carries_the_kernels_message() -> None:
    with fresh_netns(), Route() as route:
        lo = socket.if_nametoindex("lo")
        with pytest.raises(BPFError, match=r"remove clsact \(kernel: .+\)") as gone:
            route.delete_clsact(lo, "remove clsact")
        assert gone.value.errno in {errno.EINVAL, errno.ENOENT}
        assert route.add_clsact(lo, "add") is True
        assert route.add_clsact(lo, "add") is False
        assert not route.has_filters(lo, clsact_parent(True), "dump")
        route.delete_clsact(lo, "remove clsact")
    assert route.closed


@pytest.mark.kernel
def test_pairs_addresses_and_namespaces() -> None:
    with fresh_netns(), spare_netns() as far, Route() as route:
        route.add_pair("veth0", "veth", "veth1", "make veth", peer_netns_fd=far)
        index, _ = interface_index("veth0", "test")
        route.set_up(index, "up")
        route.add_address(index, "10.7.0.1", 24, "address")
        with pytest.raises(BPFError) as taken:
            route.add_address(index, "10.7.0.1", 24, "address again")
        assert taken.value.errno == errno.EEXIST
        assert "veth1" not in dict(socket.if_nameindex()).values()
        with inside(far):
            assert "veth1" in dict(socket.if_nameindex()).values()
