"""Network namespaces for the device tests: every packet stays inside one the test made.

``fresh_netns()`` moves the calling thread into a new network namespace
(``unshare(CLONE_NEWNET)``, ``lo`` brought up) and back into the one it was
in when the block ends (``setns`` on the namespace's fd, opened first). The
new namespace dies with its last user: the sockets and links of the test,
which it closes. pytest runs tests in the main thread, the only thread whose
namespace changes.

``spare_netns()`` makes a second namespace without entering it (for the far
end of a netkit or veth pair), and ``inside(fd)`` visits it. ``UDPFlow``
sends datagrams between two sockets and counts what arrives.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pybpf.link._netlink import Route, interface_index

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _current() -> int:
    """An fd of this thread's network namespace (the caller closes it)."""
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


@contextmanager
def inside(netns_fd: int) -> Iterator[None]:
    """Run the block in the namespace ``netns_fd``, then return to this one."""
    original = _current()
    try:
        _check(_libc.setns(netns_fd, CLONE_NEWNET), "setns into the namespace")
        try:
            yield
        finally:
            _check(_libc.setns(original, CLONE_NEWNET), "setns back")
    finally:
        os.close(original)


def _new_namespace_fd() -> int:
    """A new network namespace with ``lo`` up, as an fd; this thread stays where it was."""
    original = _current()
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        try:
            made = _current()
            with Route() as route:
                route.set_up(interface_index("lo", "lo")[0], "bring lo up")
        finally:
            _check(_libc.setns(original, CLONE_NEWNET), "setns back")
    finally:
        os.close(original)
    return made


@contextmanager
def fresh_netns() -> Iterator[None]:
    """Run the block in a new network namespace whose ``lo`` is up."""
    made = _new_namespace_fd()
    try:
        with inside(made):
            yield
    finally:
        os.close(made)


@contextmanager
def spare_netns() -> Iterator[int]:
    """A second new namespace (its fd) that the block may move devices into and visit."""
    made = _new_namespace_fd()
    try:
        yield made
    finally:
        os.close(made)


@pytest.fixture
def netns() -> Iterator[None]:
    """Run the test in a fresh network namespace of its own (``lo`` up)."""
    with fresh_netns():
        yield


def _udp_socket(netns: int | None) -> socket.socket:
    """A UDP socket made in ``netns`` (a namespace fd), or in this namespace."""
    if netns is None:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with inside(netns):
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


class UDPFlow:
    """A receiving UDP socket on ``address:port`` and a sender, made in this namespace.

    With ``receiver_netns`` or ``sender_netns`` (namespace fds), that socket is
    made in that namespace instead: a socket stays in the namespace it was made
    in, so the datagrams cross from one to the other. Both sockets are closed by
    :meth:`close` (or leaving a ``with`` block).
    """

    def __init__(
        self,
        address: str = "127.0.0.1",
        port: int = 0,
        *,
        receiver_netns: int | None = None,
        sender_netns: int | None = None,
    ) -> None:
        self.receiver = _udp_socket(receiver_netns)
        try:
            self.sender = _udp_socket(sender_netns)
        except BaseException:
            self.receiver.close()
            raise
        try:
            self.receiver.bind((address, port))
            self.receiver.settimeout(0.2)
        except BaseException:
            self.close()
            raise
        self.address, self.port = self.receiver.getsockname()

    def delivered(self, count: int = 1) -> int:
        """Send ``count`` datagrams; how many arrived (a lost one costs the 0.2 s timeout)."""
        for i in range(count):
            self.sender.sendto(b"packet %d" % i, (self.address, self.port))
        got = 0
        for _ in range(count):
            try:
                self.receiver.recv(64)
            except TimeoutError:
                break
            got += 1
        return got

    def close(self) -> None:
        """Close both sockets."""
        self.receiver.close()
        self.sender.close()

    def __enter__(self) -> UDPFlow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
