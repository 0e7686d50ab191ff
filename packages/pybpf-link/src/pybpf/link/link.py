"""The attachment of a program: :class:`Link`, and opening links the kernel holds.

A :class:`Link` is what every attach call returns. Most are bpf_links (the
kernel's ``BPF_LINK_TYPE_*`` objects, Linux 5.7+): the link's fd keeps the
program attached, closing it detaches, and it can be pinned, updated to
another program, detached while open, and found again by id or pin. Older
attach paths that have no bpf_link behind them (a perf event with
``PERF_EVENT_IOC_SET_BPF``, ``BPF_PROG_ATTACH`` to a cgroup, netlink for tc
and XDP) are Links too: :attr:`Link.type` is None and :meth:`Link.close`
undoes the attachment their own way.

One subclass per link type (``TracingLink``, ``PerfEventLink``, ...) is
defined by the module of its family; :meth:`Link.from_fd` and friends return
that subclass.
"""

from __future__ import annotations

import errno
import importlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from pybpf.core import BPFError, NotSupportedError
from pybpf.core import sys as bpf

if TYPE_CHECKING:
    from pybpf.core import Program
    from pybpf.link.info import LinkInfo

__all__ = ["Link", "link_ids", "links"]

#: The module that defines the Link subclass of each link type: imported when
#: a link of that type is opened, so that opening returns the right class.
_FAMILY_MODULES = {
    bpf.LinkType.RAW_TRACEPOINT: "pybpf.link.tracing",
    bpf.LinkType.TRACING: "pybpf.link.tracing",
    bpf.LinkType.CGROUP: "pybpf.link.cgroup",
    bpf.LinkType.ITER: "pybpf.link.iter",
    bpf.LinkType.NETNS: "pybpf.link.netns",
    bpf.LinkType.XDP: "pybpf.link.xdp",
    bpf.LinkType.PERF_EVENT: "pybpf.link.perf_event",
    bpf.LinkType.KPROBE_MULTI: "pybpf.link.kprobe",
    bpf.LinkType.STRUCT_OPS: "pybpf.link.struct_ops",
    bpf.LinkType.NETFILTER: "pybpf.link.netfilter",
    bpf.LinkType.TCX: "pybpf.link.tcx",
    bpf.LinkType.UPROBE_MULTI: "pybpf.link.uprobe",
    bpf.LinkType.NETKIT: "pybpf.link.netkit",
    bpf.LinkType.SOCKMAP: "pybpf.link.sockmap",
}


class Link(bpf.KernelObject):
    """An attached program; closing the link (or leaving a ``with`` block) detaches it.

    The link owns its file descriptor; after :meth:`close` every operation
    raises :class:`~pybpf.core.ClosedError`. A link that is :meth:`pin`-ned
    stays attached after its process exits, until the pin is removed.

    Subclasses name their kind of link in ``link_type=`` (``class
    TracingLink(Link, link_type=LinkType.TRACING)``); a subclass without one
    is an attachment with no bpf_link behind it and overrides :meth:`close`.
    """

    __slots__ = ("__weakref__", "_fd", "_name", "_pinned")
    _KIND = "link"
    #: The kernel's link type of this class's links; None: no bpf_link.
    LINK_TYPE: ClassVar[bpf.LinkType | None] = None
    _BY_TYPE: ClassVar[dict[int, type[Link]]] = {}

    def __init_subclass__(cls, link_type: bpf.LinkType | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if link_type is not None:
            cls.LINK_TYPE = link_type
            Link._BY_TYPE.setdefault(int(link_type), cls)

    def __init__(self, fd: bpf.FD, name: str) -> None:
        """Take over ``fd``, a link made by an attach call; ``name`` says what it attaches.

        For the attach functions of this package; users get links from them,
        or open existing ones with :meth:`from_fd`, :meth:`from_id` and
        :meth:`from_pin`.
        """
        self._fd = fd
        self._name = name
        self._pinned: str | None = None

    # -- opening links the kernel holds ---------------------------------------------

    @classmethod
    def _adopt(cls, fd: bpf.FD, what: str) -> Link:
        """The link behind ``fd`` (owned: closed on error), as its type's subclass."""
        try:
            cls._check_kind(fd, what)
            link_type = _read_type(fd, what)
            sub = _class_of(link_type)
            if not issubclass(sub, cls):
                raise TypeError(f"{what}: is a {sub.__name__}, not a {cls.__name__}")
        except BaseException:
            fd.close()
            raise
        link = sub.__new__(sub)
        Link.__init__(link, fd, what)
        return link

    @classmethod
    def from_fd(cls, fd: int | bpf.FD) -> Link:
        """The link behind ``fd``: an FD is taken over, a raw int duplicated.

        Returns the subclass of the link's type (a tracing link is a
        ``TracingLink``). An fd of another kind of object raises
        :class:`~pybpf.core.ObjectKindError`.
        """
        if isinstance(fd, bpf.FD):
            return cls._adopt(fd, f"link fd {fd.number}")
        if not isinstance(fd, int) or isinstance(fd, bool):
            raise TypeError(f"Link.from_fd: fd must be an int or FD, not {type(fd).__name__}")
        if fd < 0:
            raise ValueError(f"Link.from_fd: fd {fd} is negative")
        return cls._adopt(bpf.FD.duplicate(fd), f"link fd {fd}")

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        """Open the link with kernel-wide id ``link_id`` (needs CAP_SYS_ADMIN)."""
        fd = bpf.get_fd_by_id(bpf.Command.LINK_GET_FD_BY_ID, link_id, 0, "open link id")
        return cls._adopt(fd, f"link id {link_id}")

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Link:
        """Open the link pinned at ``path`` in bpffs; the link remembers the pin.

        A pin of another kind of object raises :class:`~pybpf.core.ObjectKindError`.
        """
        fd, text = cls._open_pinned(path, bpf.FileFlags.RDWR)
        link = cls._adopt(fd, f"pinned link {text!r}")
        link._pinned = text
        return link

    # -- what it is -------------------------------------------------------------------

    @property
    def name(self) -> str:
        """What the link attaches (``"tracepoint syscalls/sys_enter_getpid"``)."""
        return self._name

    @property
    def type(self) -> bpf.LinkType | int | None:
        """The kernel's link type; None for an attachment with no bpf_link behind it.

        A plain int for a link type newer than this library.
        """
        if self.LINK_TYPE is not None:
            return self.LINK_TYPE
        if type(self)._is_bpf_link():
            return _read_type(self.fd, self._name)
        return None

    @classmethod
    def _is_bpf_link(cls) -> bool:
        """Whether this class's fd is a bpf_link (``Link`` itself: any link opened)."""
        return cls is Link or cls.LINK_TYPE is not None

    def info(self) -> LinkInfo:
        """The kernel's view of the link (``BPF_OBJ_GET_INFO_BY_FD``).

        A :class:`~pybpf.link.LinkInfo` subclass with the fields of the link's
        type. An attachment with no bpf_link behind it raises
        :class:`~pybpf.core.NotSupportedError`.
        """
        from pybpf.link.info import LinkInfo  # noqa: PLC0415 (a cycle: info names link types)

        self._need_bpf_link("info")
        return LinkInfo.from_fd(self.fd)

    def __repr__(self) -> str:
        state = "closed" if self._fd.closed else f"fd={self._fd.number}"
        return f"{type(self).__name__}({self._name!r}, {state})"

    # -- changing it ------------------------------------------------------------------

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the link at ``path`` in bpffs: the program stays attached until it is unpinned."""
        self._need_bpf_link("pin")
        super().pin(path)

    def update(self, program: Program, *, old: Program | None = None) -> None:
        """Attach ``program`` in place of the link's program (``BPF_LINK_UPDATE``).

        With ``old``, only if the link's program is still ``old``
        (``BPF_F_REPLACE``), else :class:`~pybpf.core.BPFError` (EPERM).
        Link types whose kernel cannot swap programs raise
        :class:`~pybpf.core.NotSupportedError`.
        """
        self._need_bpf_link("update")
        what = f"update {self._name} to program {program.name!r}"
        attr = bpf.new_attr("link_update")
        attr.link_fd = self.fd.number
        attr.new_prog_fd = program.fd.number
        if old is not None:
            attr.old_prog_fd = old.fd.number
            attr.flags = bpf.AttachFlags.REPLACE
        bpf.link_update(attr, what)

    def detach(self) -> None:
        """Detach the program while the link stays open (``BPF_LINK_DETACH``, Linux 5.9+).

        The link object then reports its program as gone; closing it is still
        needed to free it. Link types the kernel cannot detach this way
        raise :class:`~pybpf.core.NotSupportedError`.
        """
        self._need_bpf_link("detach")
        bpf.link_detach(self.fd, f"detach {self._name}")

    def _need_bpf_link(self, operation: str) -> None:
        if not type(self)._is_bpf_link():
            raise NotSupportedError(
                f"{operation} of {self._name}: the kernel attached it without a bpf_link",
                code=errno.EOPNOTSUPP,
            )


def _read_type(fd: bpf.FD, what: str) -> bpf.LinkType | int:
    """The link type of the link behind ``fd``."""
    raw = bpf.new_info("link")
    bpf.obj_info(fd, raw, what)
    value = int(raw.type)
    try:
        return bpf.LinkType(value)
    except ValueError:
        return value


def _class_of(link_type: bpf.LinkType | int) -> type[Link]:
    """The Link subclass of ``link_type``: its family's module is imported first."""
    known = Link._BY_TYPE.get(int(link_type))
    if known is not None:
        return known
    module = _FAMILY_MODULES.get(link_type) if isinstance(link_type, bpf.LinkType) else None
    if module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    return Link._BY_TYPE.get(int(link_type), Link)


def link_ids() -> Iterator[int]:
    """The ids of every link in the kernel (``BPF_LINK_GET_NEXT_ID``), ascending."""
    start = 0
    while (next_id := bpf.get_next_id(bpf.Command.LINK_GET_NEXT_ID, start)) is not None:
        yield next_id
        start = next_id


def links() -> Iterator[LinkInfo]:
    """What the kernel says of every link it holds, like ``bpftool link list``.

    Links that go away while they are listed, or are still being made, are
    left out. Needs CAP_SYS_ADMIN.
    """
    from pybpf.link.info import LinkInfo  # noqa: PLC0415 (a cycle: info names link types)

    for link_id in link_ids():
        try:
            fd = bpf.get_fd_by_id(bpf.Command.LINK_GET_FD_BY_ID, link_id, 0, "open link id")
        except BPFError as e:
            # Gone since it was listed, or still being made (a link is listed
            # before its attach completes, and opening it says EAGAIN).
            if e.errno in (errno.ENOENT, errno.EAGAIN):
                continue
            raise
        with fd:
            yield LinkInfo.from_fd(fd)
