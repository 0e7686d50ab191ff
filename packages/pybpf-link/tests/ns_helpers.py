"""Namespaces and cgroups of the tests' own: a network namespace, a cgroup v2 directory.

Tests send traffic only inside a network namespace they make
(:func:`own_netns`: the calling thread moves into a new one with ``lo`` up,
and back when the block ends), and attach cgroup programs only to a cgroup
they make (:func:`cgroup2_mount`, :func:`child_cgroup`), with a child
process moved into it (:func:`run_in_cgroup`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import itertools
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


def _check(rc: int, what: str) -> None:
    if rc != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def lo_up() -> None:
    """Bring ``lo`` of the calling thread's network namespace up (``SIOCSIFFLAGS``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


def enter_new_netns() -> None:
    """Move the calling thread into a new network namespace, with ``lo`` up, for good."""
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    lo_up()


@contextlib.contextmanager
def own_netns() -> Iterator[None]:
    """Run the block in a new network namespace with ``lo`` up; the old one is back after.

    Only the calling thread moves. Sockets made in the block belong to the
    new namespace, which the kernel frees once the last of them is closed.
    """
    old = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter_new_netns()
        try:
            yield
        finally:
            _check(_libc.setns(old, CLONE_NEWNET), "setns back to the test's network namespace")
    finally:
        os.close(old)


def shared_cgroup2() -> Path | None:
    """A cgroup2 mount of the machine's, if any: not another run's temporary one.

    A test run (or an example tool) that mounts cgroup2 itself does so under
    the temporary directory, and unmounts it when it ends; a test that used
    it meanwhile would lose its cgroups, and, holding a file open in it, make
    that unmount fail and the mount stay.
    """
    temporary = Path(tempfile.gettempdir())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            where = Path(fields[1].replace("\\040", " "))
            if temporary not in where.parents:
                return where
    return None


@contextlib.contextmanager
def own_cgroup2_mount() -> Iterator[Path]:
    """cgroup2 mounted on a new temporary directory for the block, and gone after it.

    The unmount is lazy (``umount -l``): a file still open in the mount when
    the block ends cannot keep it mounted.
    """
    where = Path(tempfile.mkdtemp(prefix="pybpf-cgroup2-"))
    try:
        subprocess.run(
            ["mount", "-t", "cgroup2", "none", str(where)], check=True, capture_output=True
        )
        try:
            yield where
        finally:
            subprocess.run(["umount", "-l", str(where)], check=True, capture_output=True)
    finally:
        where.rmdir()


@contextlib.contextmanager
def cgroup2_mount() -> Iterator[Path]:
    """A cgroup v2 hierarchy's root: the machine's mount, or one mounted here for the block."""
    shared = shared_cgroup2()
    if shared is not None:
        yield shared
        return
    with own_cgroup2_mount() as where:
        yield where


@contextlib.contextmanager
def child_cgroup(root: Path) -> Iterator[Path]:
    """A new, empty cgroup under ``root`` for the block; removed after (once its processes left)."""
    path = root / f"pybpf-test-{os.getpid()}-{next(_counter)}"
    path.mkdir()
    try:
        yield path
    finally:
        for _ in range(50):
            try:
                path.rmdir()
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                time.sleep(0.02)  # a child that exited is still being reaped


def run_in_cgroup(cgroup: Path, code: str) -> str:
    """Run Python ``code`` in a child process moved into ``cgroup`` first: its stdout.

    The child also has a network namespace of its own (``lo`` up), so the
    traffic it makes stays there. It fails the test with its traceback if
    ``code`` raises.
    """
    here = str(Path(__file__).resolve().parent)
    prelude = (  # the namespace first: bringing lo up makes a socket the cgroup may refuse
        f"import os, sys\nsys.path.insert(0, {here!r})\nimport ns_helpers\n"
        "ns_helpers.enter_new_netns()\n"
        f"open({str(cgroup / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"child in {cgroup} failed:\n{done.stderr}")
    return done.stdout
