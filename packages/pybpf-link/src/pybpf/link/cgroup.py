"""cgroup programs: on the sockets, devices, sysctls and LSM hooks of a cgroup v2.

``cgroup(prog, "/sys/fs/cgroup/app")`` attaches through a bpf_link
(``BPF_LINK_TYPE_CGROUP``, Linux 5.7+): closing the :class:`CgroupLink`
detaches, and the link can be pinned. :func:`cgroup_legacy` uses
``BPF_PROG_ATTACH`` with its attach flags (``ALLOW_MULTI``,
``ALLOW_OVERRIDE``, ``REPLACE``) and detaches exactly its program on close.
:func:`query_cgroup` lists what is attached (``BPF_PROG_QUERY``).

The attach type comes from the program's section (``cgroup/connect4`` is
``CGROUP_INET4_CONNECT``) unless ``attach_type=`` names one, as sections such
as ``cgroup/skb`` need. The programs run for the processes in the cgroup
and in its descendants.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

from pybpf.asm.records import record
from pybpf.core import BPFError
from pybpf.core import sys as bpf
from pybpf.link.errors import NotACgroupError
from pybpf.link.link import Link
from pybpf.link.prog_attach import (
    ProgAttachLink,
    check_program,
    link_target,
    open_checked_target,
    prog_attach,
    resolve_attach_type,
)

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = [
    "CgroupLink",
    "CgroupProgram",
    "CgroupQuery",
    "LegacyCgroupLink",
    "cgroup",
    "cgroup_legacy",
    "query_cgroup",
]

_A = bpf.AttachType
_P = bpf.ProgramType

#: Every cgroup attach type, and the program type the kernel takes for it.
CGROUP_ATTACH_TYPES: dict[bpf.AttachType, bpf.ProgramType] = {
    _A.CGROUP_INET_INGRESS: _P.CGROUP_SKB,
    _A.CGROUP_INET_EGRESS: _P.CGROUP_SKB,
    _A.CGROUP_INET_SOCK_CREATE: _P.CGROUP_SOCK,
    _A.CGROUP_INET_SOCK_RELEASE: _P.CGROUP_SOCK,
    _A.CGROUP_INET4_POST_BIND: _P.CGROUP_SOCK,
    _A.CGROUP_INET6_POST_BIND: _P.CGROUP_SOCK,
    _A.CGROUP_SOCK_OPS: _P.SOCK_OPS,
    _A.CGROUP_DEVICE: _P.CGROUP_DEVICE,
    _A.CGROUP_SYSCTL: _P.CGROUP_SYSCTL,
    _A.CGROUP_GETSOCKOPT: _P.CGROUP_SOCKOPT,
    _A.CGROUP_SETSOCKOPT: _P.CGROUP_SOCKOPT,
    _A.LSM_CGROUP: _P.LSM,
    **{
        t: _P.CGROUP_SOCK_ADDR
        for t in (
            _A.CGROUP_INET4_BIND,
            _A.CGROUP_INET6_BIND,
            _A.CGROUP_INET4_CONNECT,
            _A.CGROUP_INET6_CONNECT,
            _A.CGROUP_UNIX_CONNECT,
            _A.CGROUP_UDP4_SENDMSG,
            _A.CGROUP_UDP6_SENDMSG,
            _A.CGROUP_UNIX_SENDMSG,
            _A.CGROUP_UDP4_RECVMSG,
            _A.CGROUP_UDP6_RECVMSG,
            _A.CGROUP_UNIX_RECVMSG,
            _A.CGROUP_INET4_GETPEERNAME,
            _A.CGROUP_INET6_GETPEERNAME,
            _A.CGROUP_UNIX_GETPEERNAME,
            _A.CGROUP_INET4_GETSOCKNAME,
            _A.CGROUP_INET6_GETSOCKNAME,
            _A.CGROUP_UNIX_GETSOCKNAME,
        )
    },
}

#: A file every cgroup v2 directory has and no cgroup v1 directory does.
_CGROUP2_FILE = "cgroup.controllers"
#: The attach flags BPF_PROG_ATTACH takes for cgroups.
_LEGACY_FLAGS = (
    bpf.AttachFlags.ALLOW_OVERRIDE | bpf.AttachFlags.ALLOW_MULTI | bpf.AttachFlags.REPLACE
)


class CgroupLink(Link, link_type=bpf.LinkType.CGROUP):
    """A program on a cgroup through a bpf_link (Linux 5.7+); closing it detaches.

    Links attach alongside each other and alongside ``ALLOW_MULTI``
    attachments; a cgroup holding a program attached without ``ALLOW_MULTI``
    refuses them (EPERM).
    """

    __slots__ = ()


class LegacyCgroupLink(ProgAttachLink):
    """A program on a cgroup through ``BPF_PROG_ATTACH``; closing it detaches that program.

    No bpf_link is behind it (:attr:`type` is None): it cannot be pinned,
    updated or asked for :meth:`info`, and the attachment does not end
    with this process unless closed.
    """

    __slots__ = ()


def open_cgroup(cgroup: object, call: str) -> tuple[bpf.FD, str]:
    """An owned fd of the cgroup v2 directory ``cgroup`` (a path or fd), and a label for it.

    Anything else raises :class:`~pybpf.link.NotACgroupError` (TypeError for
    an argument of the wrong kind).
    """
    return open_checked_target(cgroup, call, "cgroup", NotACgroupError, _not_cgroup2)


def _not_cgroup2(fd: bpf.FD) -> str | None:
    """Why the directory ``fd`` is no cgroup v2 directory; None if it is one."""
    try:
        os.stat(_CGROUP2_FILE, dir_fd=fd.number)
    except OSError as e:
        return "not a directory" if e.errno == errno.ENOTDIR else f"it has no {_CGROUP2_FILE}"
    return None


def cgroup(
    prog: Program,
    cgroup: str | os.PathLike[str] | int,
    *,
    attach_type: bpf.AttachType | None = None,
) -> CgroupLink:
    """Attach ``prog`` to ``cgroup`` (a cgroup v2 directory's path, or an fd) with a bpf_link.

    ``attach_type`` defaults to the one of the program's section. The
    program runs for every process in the cgroup and its descendants until
    the link is closed. A path that is not a cgroup v2 directory raises
    :class:`~pybpf.link.NotACgroupError`; a program that does not fit the
    attach type, TypeError; the kernel's refusals, :class:`~pybpf.core.BPFError`.
    """
    call = "cgroup"
    check_program(prog, call)
    kind = resolve_attach_type(prog, attach_type, CGROUP_ATTACH_TYPES, call)
    fd, label = open_cgroup(cgroup, call)
    name = f"{label} {kind.name}"
    with fd:
        return CgroupLink(link_target(prog, fd, kind, name), name)


def cgroup_legacy(
    prog: Program,
    cgroup: str | os.PathLike[str] | int,
    *,
    flags: bpf.AttachFlags = bpf.AttachFlags.ALLOW_MULTI,
    replace: Program | None = None,
    attach_type: bpf.AttachType | None = None,
) -> LegacyCgroupLink:
    """Attach ``prog`` to ``cgroup`` with ``BPF_PROG_ATTACH``, for kernels and flags links lack.

    ``flags``: ``ALLOW_MULTI`` (the default: programs run one after the
    other), ``ALLOW_OVERRIDE`` (a descendant's program replaces this one) or
    ``NONE`` (exclusive). ``replace``: with ``ALLOW_MULTI``, the attached
    program that ``prog`` takes the place of (``BPF_F_REPLACE``). Closing the
    returned link detaches ``prog`` only.
    """
    call = "cgroup_legacy"
    check_program(prog, call)
    kind = resolve_attach_type(prog, attach_type, CGROUP_ATTACH_TYPES, call)
    if not isinstance(flags, int) or isinstance(flags, bool):
        raise TypeError(f"{call}: flags must be AttachFlags, not {type(flags).__name__}")
    if int(flags) & ~int(_LEGACY_FLAGS):
        raise ValueError(f"{call}: flags {flags!r} has bits BPF_PROG_ATTACH takes not for cgroups")
    flags = bpf.AttachFlags(flags)
    if replace is not None:
        check_program(replace, f"{call}: replace")
        if not flags & bpf.AttachFlags.ALLOW_MULTI:
            raise ValueError(f"{call}: replace needs flags with ALLOW_MULTI")
        flags |= bpf.AttachFlags.REPLACE
    elif flags & bpf.AttachFlags.REPLACE:
        raise ValueError(f"{call}: flags has REPLACE but no replace= program")
    fd, label = open_cgroup(cgroup, call)
    name = f"{label} {kind.name}"
    try:
        what = f"attach program {prog.name!r} to {name}"
        prog_fd = prog_attach(prog, fd, kind, what, flags=flags, replace=replace)
    except BaseException:
        fd.close()
        raise
    return LegacyCgroupLink(fd, prog_fd, kind, name)


@record(frozen=True)
class CgroupProgram:
    """One program attached to a cgroup, as :func:`query_cgroup` reports it."""

    #: The program's kernel-wide id.
    id: int
    #: Its own attach flags (Linux 6.0+; None before, and in an effective query).
    attach_flags: bpf.AttachFlags | None = None
    #: The id of the bpf_link holding it, where the kernel reports one; else None.
    link_id: int | None = None


@record(frozen=True)
class CgroupQuery:
    """What :func:`query_cgroup` found for one cgroup and attach type."""

    #: The attach type asked about.
    attach_type: bpf.AttachType
    #: The cgroup's attach mode for it (``ALLOW_MULTI``, ``ALLOW_OVERRIDE``, or none).
    attach_flags: bpf.AttachFlags
    #: The programs, in the order they run.
    programs: tuple[CgroupProgram, ...]
    #: The attachment's revision (changes with every attach and detach), where reported.
    revision: int | None = None

    @property
    def program_ids(self) -> tuple[int, ...]:
        """The ids of :attr:`programs`, in the order they run."""
        return tuple(p.id for p in self.programs)


#: Query fields by the kernel that added them: newer fields make older kernels
#: refuse the query (EINVAL), so each tier is tried in turn.
_QUERY_TIERS = (("prog_attach_flags", "link_ids"), ("prog_attach_flags",), ())


def query_cgroup(
    cgroup: str | os.PathLike[str] | int, attach_type: bpf.AttachType, *, effective: bool = False
) -> CgroupQuery:
    """The programs attached to ``cgroup`` for ``attach_type`` (``BPF_PROG_QUERY``).

    With ``effective``, the programs that run for the cgroup's processes
    (its own and those inherited from its ancestors); else the ones attached
    to it directly, with their attach flags where the kernel reports them.
    """
    call = "query_cgroup"
    if not isinstance(attach_type, int) or isinstance(attach_type, bool):
        raise TypeError(
            f"{call}: attach_type must be an AttachType, not {type(attach_type).__name__}"
        )
    try:
        kind = bpf.AttachType(attach_type)
    except ValueError:
        raise ValueError(f"{call}: attach_type {attach_type} is not a known attach type") from None
    if kind not in CGROUP_ATTACH_TYPES:
        raise ValueError(f"{call}: attach type {kind.name} is not a cgroup attach type")
    fd, label = open_cgroup(cgroup, call)
    with fd:
        what = f"query {label} {kind.name}"
        tiers = _QUERY_TIERS[-1:] if effective else _QUERY_TIERS
        for i, fields in enumerate(tiers):
            try:
                return _query(fd, kind, effective, fields, what)
            except BPFError as e:
                if e.errno != errno.EINVAL or i == len(tiers) - 1:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def _query(
    fd: bpf.FD, kind: bpf.AttachType, effective: bool, fields: tuple[str, ...], what: str
) -> CgroupQuery:
    """One BPF_PROG_QUERY with the optional ``fields``, retried while the count grows."""
    count = 0
    while True:
        attr = bpf.new_attr("query")
        attr.target_fd = fd.number
        attr.attach_type = kind
        attr.query_flags = bpf.QueryFlags.EFFECTIVE if effective else bpf.QueryFlags.NONE
        arrays: dict[str, Any] = {}
        if count:
            for field in ("prog_ids", *fields):
                arrays[field] = bpf.ffi.new("uint32_t[]", count)
                setattr(attr, field, bpf.addr(arrays[field]))
        attr.prog_cnt = count
        try:
            bpf.prog_query(attr, what)
        except BPFError as e:
            if e.errno == errno.ENOSPC:  # attached meanwhile: ask again
                count = 0
                continue
            raise
        got = int(attr.prog_cnt)
        if got > count:
            count = got
            continue
        break
    programs = []
    for i in range(got):
        flags = arrays["prog_attach_flags"][i] if "prog_attach_flags" in arrays else None
        link_id = arrays["link_ids"][i] if "link_ids" in arrays else 0
        programs.append(
            CgroupProgram(
                id=int(arrays["prog_ids"][i]),
                attach_flags=None if flags is None else bpf.AttachFlags(flags),
                link_id=int(link_id) or None,
            )
        )
    return CgroupQuery(
        attach_type=kind,
        attach_flags=bpf.AttachFlags(int(attr.attach_flags)),
        programs=tuple(programs),
        revision=int(attr.revision) or None,
    )
