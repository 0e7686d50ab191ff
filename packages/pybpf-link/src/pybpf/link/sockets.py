"""Programs on sockets: socket filters and ``SO_REUSEPORT`` group selectors.

These attach with ``setsockopt(2)``, not bpf(2), and have no link: as in
ebpf-go, they are functions. :func:`socket_filter` sets a ``socket``
program as the socket's filter (``SO_ATTACH_BPF``): it sees every packet
the socket would receive and returns how many bytes to keep (0 drops the
packet). :func:`reuseport` sets an ``sk_reuseport`` program that picks the
socket of a ``SO_REUSEPORT`` group for each packet or connection
(``SO_ATTACH_REUSEPORT_EBPF``). A socket holds one filter; attaching
another replaces it, and closing the socket removes it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pybpf.core import sys as bpf
from pybpf.link.prog_attach import check_program, check_program_type

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["detach_reuseport", "detach_socket_filter", "reuseport", "socket_filter"]

# From asm-generic/socket.h (the same on every architecture that has eBPF sockets).
_SO_ATTACH_BPF = 50
_SO_DETACH_BPF = 27  # SO_DETACH_FILTER
_SO_ATTACH_REUSEPORT_EBPF = 52
_SO_DETACH_REUSEPORT_BPF = 68


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


_Socket = socket.socket | _HasFileno | int


def socket_filter(prog: Program, sock: _Socket) -> None:
    """Set the ``socket`` program ``prog`` as the filter of ``sock`` (``SO_ATTACH_BPF``).

    ``sock``: a :class:`socket.socket`, anything with ``fileno()``, or an fd.
    The program returns the number of bytes of each packet to keep (0: drop).
    An fd that is no socket raises :class:`~pybpf.core.BPFError` (``ENOTSOCK``).
    """
    call = "socket_filter"
    check_program(prog, call)
    check_program_type(prog, bpf.ProgramType.SOCKET_FILTER, call)
    _setsockopt(sock, call, _SO_ATTACH_BPF, prog)


def detach_socket_filter(sock: _Socket) -> None:
    """Remove the filter of ``sock`` (``SO_DETACH_BPF``); a socket without one raises ENOENT."""
    _setsockopt(sock, "detach_socket_filter", _SO_DETACH_BPF, None)


def reuseport(prog: Program, sock: _Socket) -> None:
    """Set ``prog`` as the selector of the ``SO_REUSEPORT`` group of ``sock``.

    ``prog`` is an ``sk_reuseport`` program (``SO_ATTACH_REUSEPORT_EBPF``):
    for each packet or connection, it picks the group's socket with
    ``bpf_sk_select_reuseport``. ``sock`` must have ``SO_REUSEPORT`` set; the
    program applies to its whole group.
    """
    call = "reuseport"
    check_program(prog, call)
    check_program_type(prog, bpf.ProgramType.SK_REUSEPORT, call)
    _setsockopt(sock, call, _SO_ATTACH_REUSEPORT_EBPF, prog)


def detach_reuseport(sock: _Socket) -> None:
    """Remove the selector of the ``SO_REUSEPORT`` group of ``sock`` (Linux 5.3+)."""
    _setsockopt(sock, "detach_reuseport", _SO_DETACH_REUSEPORT_BPF, None)


def _setsockopt(sock: object, call: str, option: int, prog: Program | None) -> None:
    """``setsockopt(SOL_SOCKET, option, prog's fd or 0)`` on ``sock``, errors typed."""
    with _socket_of(sock, call) as s:
        what = f"{call}: socket fd {s.fileno()}"
        if prog is not None:
            what = f"{call}: program {prog.name!r} on socket fd {s.fileno()}"
        try:
            s.setsockopt(socket.SOL_SOCKET, option, prog.fd.number if prog is not None else 0)
        except OSError as e:
            raise bpf.error(e.errno or errno.EINVAL, what, needs=()) from None


def _socket_of(sock: object, call: str) -> socket.socket:
    """A socket object on a duplicate of ``sock``'s fd, for the caller to close."""
    fileno: Callable[[], int] | None = getattr(sock, "fileno", None)
    if isinstance(sock, int) and not isinstance(sock, bool):
        number = sock
    elif fileno is not None and not isinstance(sock, bool):
        number = fileno()
    else:
        raise TypeError(f"{call}: sock must be a socket or an fd, not {type(sock).__name__}")
    if not isinstance(number, int) or number < 0:
        raise ValueError(f"{call}: sock's fd {number!r} is not an open fd")
    try:
        is_socket = stat.S_ISSOCK(os.fstat(number).st_mode)
    except OSError as e:
        raise bpf.error(e.errno or errno.EBADF, f"{call}: fd {number}", needs=()) from None
    if not is_socket:
        raise bpf.error(errno.ENOTSOCK, f"{call}: fd {number} is not a socket", needs=())
    dup = bpf.FD.duplicate(number)
    try:
        return socket.socket(fileno=dup.number)
    except BaseException:
        dup.close()
        raise
    finally:
        if not dup.closed:
            dup.detach()  # the socket object owns it now
