"""tcx: programs on a device's ingress or egress, in an ordered list (Linux 6.6+).

:func:`tcx` attaches a ``SCHED_CLS`` program through a bpf_link of type
``TCX`` (``BPF_LINK_CREATE`` with ``BPF_TCX_INGRESS``/``BPF_TCX_EGRESS`` and
the device's ifindex). Many programs share a hook; they run in order, and
``before``/``after`` place a new one relative to an attached program or
link (the kernel's multi-program API, ``bpf_mprog``). ``expected_revision``
makes the attach fail (ESTALE) if the list changed since it was read.
:func:`placement` fills that part of the request for tcx and netkit alike.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from pybpf.core import BPFError
from pybpf.core import sys as bpf
from pybpf.link._netlink import interface_index
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["TCXLink", "create_device_link", "placement", "section_attach_type", "tcx"]

_DIRECTIONS = {"ingress": bpf.AttachType.TCX_INGRESS, "egress": bpf.AttachType.TCX_EGRESS}


class TCXLink(Link, link_type=bpf.LinkType.TCX):
    """A program on a device's tcx ingress or egress hook (Linux 6.6+); close detaches it."""

    __slots__ = ()


def section_attach_type(prog: Program, allowed: set[bpf.AttachType]) -> bpf.AttachType | None:
    """The attach type ``prog``'s section names (``tcx/ingress``), if it is one of ``allowed``."""
    spec = prog.spec
    if spec is None or spec.attach_type not in allowed:
        return None
    return bpf.AttachType(spec.attach_type)


def placement(
    request: Any,
    before: Program | Link | None,
    after: Program | Link | None,
    expected_revision: int,
    caller: str,
) -> int:
    """Fill ``request`` (``link_create.tcx`` or ``.netkit``) and return the link's flags.

    A program is named by its fd, a link by its fd with ``BPF_F_LINK``;
    ``BPF_F_BEFORE``/``BPF_F_AFTER`` say on which side. With neither, the
    program goes last. Arguments are checked here, before any syscall.
    """
    if before is not None and after is not None:
        raise ValueError(f"{caller}: give before or after, not both")
    expected_revision = bpf.check_uint(expected_revision, 64, "expected_revision", caller)
    request.expected_revision = expected_revision
    relative, side, flags = (before, "before", bpf.AttachFlags.BEFORE)
    if before is None:
        relative, side, flags = (after, "after", bpf.AttachFlags.AFTER)
    if relative is None:
        return 0
    from pybpf.core import Program  # noqa: PLC0415 (loaded by the caller's program)

    if isinstance(relative, Link):
        if relative.type is None:
            raise ValueError(f"{caller}: {side} {relative!r} has no bpf_link to be placed by")
        flags |= bpf.AttachFlags.LINK
    elif not isinstance(relative, Program):
        kind = type(relative).__name__
        raise TypeError(f"{caller}: {side} must be a Program, a Link or None, not {kind}")
    request.relative_fd = relative.fd.number
    return int(flags)


def create_device_link(attr: Any, what: str) -> bpf.FD:
    """``BPF_LINK_CREATE`` for a tcx or netkit hook; a kernel without the hook: NotSupportedError.

    Such a kernel answers EINVAL, as it does for a wrong program: the
    attach type probe tells the two apart.
    """
    try:
        return bpf.link_create(attr, what)
    except BPFError as e:
        if e.errno == errno.EINVAL:
            from pybpf.core import features  # noqa: PLC0415 (only a refusal asks the kernel)

            features.have_attach_type(bpf.ProgramType.SCHED_CLS, bpf.AttachType(attr.attach_type))
        raise


def tcx(
    prog: Program,
    interface: str | int,
    *,
    direction: str | None = None,
    before: Program | Link | None = None,
    after: Program | Link | None = None,
    expected_revision: int = 0,
) -> TCXLink:
    """Attach the ``SCHED_CLS`` program ``prog`` to tcx of ``interface`` (a name or an ifindex).

    ``direction`` is ``"ingress"`` or ``"egress"``; by default the one the
    program's section names (``tcx/ingress``, ``tc/egress``). ``before`` or
    ``after`` (an attached Program, or a Link) place it in the hook's list,
    else it runs last; ``expected_revision`` (non-zero) must be the list's
    revision (as ``BPF_PROG_QUERY`` reports it), else ESTALE.
    The program's return code (``TCX_NEXT``, ``TCX_PASS``, ``TCX_DROP``,
    ``TCX_REDIRECT``) decides what happens to the packet. Kernels before
    6.6 raise :class:`~pybpf.core.NotSupportedError`: use
    :func:`pybpf.link.tc` there.
    """
    check_program(prog, "tcx")
    if direction is None:
        attach_type = section_attach_type(prog, set(_DIRECTIONS.values()))
        if attach_type is None:
            raise ValueError(
                f"tcx: direction is needed: the section of program {prog.name!r} names none"
            )
    elif direction in _DIRECTIONS:
        attach_type = _DIRECTIONS[direction]
    else:
        raise ValueError(f"tcx: direction must be 'ingress' or 'egress', not {direction!r}")
    attr = bpf.new_attr("link_create")
    attr.flags = placement(attr.tcx, before, after, expected_revision, "tcx")
    ifindex, name = interface_index(interface, "tcx")
    side = "ingress" if attach_type == bpf.AttachType.TCX_INGRESS else "egress"
    attr.prog_fd = prog.fd.number
    attr.target_ifindex = ifindex
    attr.attach_type = attach_type
    fd = create_device_link(attr, f"attach program {prog.name!r} to tcx {side} of {name}")
    return TCXLink(fd, f"tcx {side} {name}")
