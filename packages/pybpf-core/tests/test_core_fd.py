"""FD: close exactly once, close-on-exec, no use after close."""

from __future__ import annotations

import fcntl
import gc
import os
import subprocess
import sys

import pytest

from pybpf.core import FD, ClosedError


def _pipe_fd() -> tuple[FD, int]:
    r, w = os.pipe2(os.O_CLOEXEC)
    return FD(r), w


def _is_open(num: int) -> bool:
    try:
        os.fstat(num)
    except OSError:
        return False
    return True


def test_close_once_and_closed_error() -> None:
    fd, w = _pipe_fd()
    num = fd.number
    assert fd.fileno() == num
    assert not fd.closed
    fd.close()
    fd.close()
    assert fd.closed
    assert not _is_open(num)
    with pytest.raises(ClosedError):
        _ = fd.number
    with pytest.raises(ClosedError):
        fd.dup()
    assert repr(fd) == "FD(closed)"
    os.close(w)


def test_context_manager() -> None:
    fd, w = _pipe_fd()
    with fd as same:
        assert same is fd
        num = fd.number
    assert fd.closed
    assert not _is_open(num)
    os.close(w)


def test_finalizer_closes_forgotten_fd_with_a_resource_warning() -> None:
    fd, w = _pipe_fd()
    fd.describe("pipe end")
    num = fd.number
    with pytest.warns(ResourceWarning, match="unclosed pipe end"):
        del fd
        gc.collect()
    assert not _is_open(num)
    os.close(w)


def test_closed_fd_warns_nothing_when_collected() -> None:
    fd, w = _pipe_fd()
    fd.close()
    del fd
    gc.collect()  # filterwarnings=error: a ResourceWarning here fails the test
    os.close(w)


def test_an_fd_open_at_exit_is_closed_before_teardown_with_a_warning() -> None:
    # A module-level FD, a cycle holding another, and one closed in time: the
    # open ones are finalized while the modules still work (no "Exception
    # ignored" from a torn-down module), each once.
    code = """if True:
        import os, sys
        from pybpf.core import FD

        class Holder:
            pass

        KEPT = FD(os.pipe()[0])
        KEPT.describe("kept pipe")
        cycle = Holder()
        cycle.me, cycle.fd = cycle, FD(os.pipe()[0])
        cycle.fd.describe("cycle pipe")
        FD(os.pipe()[0]).close()
        del cycle
    """
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.count("ResourceWarning: unclosed kept pipe") == 1, done.stderr
    assert done.stderr.count("ResourceWarning: unclosed cycle pipe") == 1, done.stderr
    assert "Exception ignored" not in done.stderr
    assert done.stderr.count("ResourceWarning") == 2, done.stderr


def test_dup_is_cloexec_and_independent() -> None:
    fd, w = _pipe_fd()
    with fd, fd.dup() as copy:
        assert copy.number != fd.number
        assert fcntl.fcntl(copy.number, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        fd.close()
        assert _is_open(copy.number)
    os.close(w)


def test_detach_gives_up_ownership() -> None:
    fd, w = _pipe_fd()
    num = fd.detach()
    assert fd.closed
    del fd
    gc.collect()
    assert _is_open(num)
    os.close(num)
    os.close(w)


def test_negative_rejected() -> None:
    with pytest.raises(ValueError):
        FD(-1)


def test_fd_zero_is_moved() -> None:
    saved = os.dup(0)
    try:
        r, w = os.pipe()
        os.dup2(r, 0)
        os.close(r)
        with FD(0) as fd:
            assert fd.number > 0
            assert not _is_open(0)
        os.close(w)
    finally:
        os.dup2(saved, 0)
        os.close(saved)
