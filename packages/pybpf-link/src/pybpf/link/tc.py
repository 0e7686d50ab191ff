"""tc the older way: a direct-action ``cls_bpf`` filter on the clsact qdisc, via rtnetlink.

What libbpf's ``bpf_tc_hook_create`` and ``bpf_tc_attach`` do, for kernels
before tcx (6.6) and for setups that manage tc filters: :func:`tc` adds the
device's clsact qdisc if it has none, then a ``cls_bpf`` filter in
direct-action mode (the program's return code is the verdict) at a
priority and handle of the caller's choice. The returned :class:`TCLink`
has no bpf_link behind it: closing deletes the filter, and the qdisc too if
this process made it and no filter is left on it (libbpf leaves the qdisc to
an explicit ``bpf_tc_hook_destroy``; a qdisc we made and nobody uses is ours
to remove, one that was there before is not).
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from pybpf.core import sys as bpf
from pybpf.link._netlink import (
    Route,
    RouteLink,
    attach_through_route,
    clsact_parent,
    interface_index,
)
from pybpf.link.prog_attach import check_program
from pybpf.link.tcx import section_attach_type

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["TCLink", "tc"]

_DIRECTIONS = ("ingress", "egress")
#: Errors of a delete whose target is already gone (with its device or qdisc).
_GONE = (errno.ENOENT, errno.ENODEV, errno.EINVAL)
#: The clsact qdiscs this process added, as (network namespace inode, ifindex):
#: the last of our filters to go removes them.
_MADE: set[tuple[int, int]] = set()


def _qdisc_key(ifindex: int) -> tuple[int, int]:
    """The key of ``ifindex``'s qdisc in :data:`_MADE` (ifindexes are per namespace)."""
    return (os.stat("/proc/thread-self/ns/net").st_ino, ifindex)


class TCLink(RouteLink):
    """A ``cls_bpf`` filter on a device's clsact qdisc: no bpf_link behind it.

    :attr:`type` is None; it cannot be pinned, updated or asked for
    :meth:`info`. Closing deletes the filter (and the qdisc, if this
    process made it and it is now empty). The filter stays if the process exits
    without closing.
    """

    __slots__ = ("_filter", "_qdisc")

    def __init__(  # noqa: PLR0917 (what a filter is)
        self,
        program: bpf.FD,
        name: str,
        route: Route,
        ifindex: int,
        parent: int,
        priority: int,
        handle: int,
        qdisc: tuple[int, int],
    ) -> None:
        """Take over ``program`` (a dup of the filter's program fd) and the ``route`` socket."""
        super().__init__(program, name, route, ifindex)
        self._filter = (ifindex, parent, priority, handle)
        self._qdisc = qdisc

    @property
    def priority(self) -> int:
        """The filter's priority (lower runs first)."""
        return self._filter[2]

    @property
    def handle(self) -> int:
        """The filter's handle."""
        return self._filter[3]

    def _detach(self, route: Route) -> None:
        """Delete the filter (and the qdisc this process made, once empty)."""
        _remove(route, *self._filter, self._qdisc, f"detach {self._name}")


def _remove(  # noqa: PLR0917 (what a filter is)
    route: Route,
    ifindex: int,
    parent: int,
    priority: int,
    handle: int,
    qdisc: tuple[int, int],
    what: str,
) -> None:
    """Delete a filter, then the clsact qdisc if we made it and it is now empty."""
    try:
        route.delete_filter(ifindex, parent, priority, handle, what)
    except OSError as e:
        if e.errno not in _GONE:
            raise
    _drop_unused_qdisc(route, ifindex, qdisc, what)


def _drop_unused_qdisc(route: Route, ifindex: int, qdisc: tuple[int, int], what: str) -> None:
    """Remove the clsact qdisc of ``ifindex`` if we made it and no filter is left on it."""
    if qdisc not in _MADE:
        return
    try:
        if any(
            route.has_filters(ifindex, clsact_parent(d == "ingress"), what) for d in _DIRECTIONS
        ):
            return
        _MADE.discard(qdisc)
        route.delete_clsact(ifindex, what)
    except OSError as e:
        if e.errno not in _GONE:
            raise


def tc(
    prog: Program,
    interface: str | int,
    *,
    direction: str | None = None,
    priority: int = 1,
    handle: int = 1,
) -> TCLink:
    """Attach the ``SCHED_CLS`` program ``prog`` as a direct-action tc filter on ``interface``.

    ``direction`` is ``"ingress"`` or ``"egress"``; by default the one the
    program's section names (``tc/egress``), else ingress. ``priority``
    (1-65535) and ``handle`` (1-2**32-1) name the filter; a filter already
    there with both is refused (:class:`~pybpf.core.BPFError`, EEXIST). The
    clsact qdisc is added if the device has none. A missing interface
    raises :class:`~pybpf.link.InterfaceNotFoundError` first.
    """
    check_program(prog, "tc")
    if direction is None:
        egress = section_attach_type(prog, {bpf.AttachType.TCX_EGRESS}) is not None
        direction = "egress" if egress else "ingress"
    elif direction not in _DIRECTIONS:
        raise ValueError(f"tc: direction must be 'ingress' or 'egress', not {direction!r}")
    priority = bpf.check_uint(priority, 16, "priority", "tc")
    handle = bpf.check_uint(handle, 32, "handle", "tc")
    if priority == 0 or handle == 0:
        raise ValueError("tc: priority and handle must not be 0 (the filter is found by them)")
    ifindex, name = interface_index(interface, "tc")
    what = f"attach program {prog.name!r} to tc {direction} of {name}"
    parent = clsact_parent(direction == "ingress")
    label = f"{prog.name}:[{prog.info().id}]"  # as libbpf and tc name cls_bpf filters
    qdisc = _qdisc_key(ifindex)

    def add_filter(route: Route, program: int) -> None:
        if route.add_clsact(ifindex, what):
            _MADE.add(qdisc)
        try:
            route.add_bpf_filter(ifindex, parent, priority, handle, program, label, what)
        except BaseException:
            # Not _remove: a filter already at priority/handle is someone else's.
            _drop_unused_qdisc(route, ifindex, qdisc, what)
            raise

    program, route = attach_through_route(prog, add_filter)
    name = f"tc {direction} {name} prio {priority} handle {handle:#x}"
    return TCLink(program, name, route, ifindex, parent, priority, handle, qdisc)
