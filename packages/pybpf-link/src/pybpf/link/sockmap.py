"""Programs on sockmaps and sockhashes: stream parsers and verdicts for their sockets.

``sockmap(prog, map)`` attaches an ``sk_skb`` (stream parser, stream
verdict, skb verdict) or ``sk_msg`` (msg verdict) program to a
``SOCKMAP``/``SOCKHASH``: it runs on the traffic of the sockets added to
the map *after* the attachment. Through a bpf_link where the kernel has
one (``BPF_LINK_TYPE_SOCKMAP``, Linux 6.10+, a :class:`SockmapLink`), else
with ``BPF_PROG_ATTACH`` to the map (a :class:`LegacySockmapLink`, which
detaches its program on close). A map holds one program per attach type:
a second link of a type is refused (EBUSY), while ``BPF_PROG_ATTACH``
replaces the map's program.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link.link import Link
from pybpf.link.prog_attach import ProgAttachLink, check_program, prog_attach, resolve_attach_type

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Map, Program

__all__ = ["LegacySockmapLink", "SockmapLink", "sockmap"]

_A = bpf.AttachType
#: The attach types of a sockmap, and their program types.
SOCKMAP_ATTACH_TYPES = {
    _A.SK_SKB_STREAM_PARSER: bpf.ProgramType.SK_SKB,
    _A.SK_SKB_STREAM_VERDICT: bpf.ProgramType.SK_SKB,
    _A.SK_SKB_VERDICT: bpf.ProgramType.SK_SKB,
    _A.SK_MSG_VERDICT: bpf.ProgramType.SK_MSG,
}
_MAP_TYPES = (bpf.MapType.SOCKMAP, bpf.MapType.SOCKHASH)

#: Whether ``BPF_LINK_CREATE`` takes sockmaps on this kernel; None until tried.
_sockmap_links: bool | None = None


class SockmapLink(Link, link_type=bpf.LinkType.SOCKMAP):
    """A program on a sockmap through a bpf_link (Linux 6.10+); closing it detaches."""

    __slots__ = ()


class LegacySockmapLink(ProgAttachLink):
    """A program on a sockmap through ``BPF_PROG_ATTACH``; closing it detaches that program.

    No bpf_link is behind it (:attr:`type` is None): it cannot be pinned,
    updated or asked for :meth:`info`.
    """

    __slots__ = ()


def sockmap(
    prog: Program, map: Map, *, attach_type: bpf.AttachType | None = None
) -> SockmapLink | LegacySockmapLink:
    """Attach ``prog`` to the sockmap or sockhash ``map``.

    ``attach_type`` defaults to the program's section's (``sk_msg`` is
    ``SK_MSG_VERDICT``, ``sk_skb/stream_parser`` ``SK_SKB_STREAM_PARSER``);
    a plain ``sk_skb`` section needs one. A bpf_link on Linux 6.10+,
    ``BPF_PROG_ATTACH`` before; either way closing the link detaches the
    program. Sockets already in the map keep the programs they got when
    they were added.
    """
    global _sockmap_links  # noqa: PLW0603 (a cache of what this kernel does)
    call = "sockmap"
    check_program(prog, call)
    from pybpf.core import Map  # noqa: PLC0415 (loaded by the caller's map)

    if not isinstance(map, Map):
        raise TypeError(f"{call}: map must be a Map, not {type(map).__name__}")
    if map.type not in _MAP_TYPES:
        map_kind = map.type.name if isinstance(map.type, bpf.MapType) else str(map.type)
        raise TypeError(f"{call}: map {map.name!r} is a {map_kind} map, not SOCKMAP or SOCKHASH")
    kind = resolve_attach_type(prog, attach_type, SOCKMAP_ATTACH_TYPES, call)
    name = f"sockmap {map.name!r} {kind.name}"
    what = f"attach program {prog.name!r} to {name}"
    if _sockmap_links is not False:
        attr = bpf.new_attr("link_create")
        attr.prog_fd = prog.fd.number
        attr.target_fd = map.fd.number
        attr.attach_type = kind
        rc = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
        if isinstance(rc, bpf.FD):
            _sockmap_links = True
            return SockmapLink(rc, name)
        # Kernels before 6.10 have no sockmap links: EINVAL.
        if rc != -errno.EINVAL or _sockmap_links:
            raise bpf.error(-rc, what)
        _sockmap_links = False
    target = map.fd.dup()
    try:
        prog_fd = prog_attach(prog, target, kind, what)
    except BaseException:
        target.close()
        raise
    return LegacySockmapLink(target, prog_fd, kind, name)
