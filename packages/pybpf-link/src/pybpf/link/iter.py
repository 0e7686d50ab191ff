"""BPF iterators: a program run over a kernel collection, its output read like a file.

``iter(prog)`` attaches an ``iter/<target>`` program (``BPF_LINK_CREATE``
with ``BPF_TRACE_ITER``, Linux 5.8+) and returns an :class:`IterLink`; each
:meth:`IterLink.read` or :meth:`IterLink.open` is one run over the
collection (``BPF_ITER_CREATE``: a new seq_file), whose text is what the
program printed with ``bpf_seq_printf``/``bpf_seq_write``.

Some targets iterate over one object, named at attach time: the elements of
a ``map`` (``iter/bpf_map_elem``, ``iter/bpf_sk_storage_map``...), the
tasks, files or VMAs of one ``task`` (``iter/task*``, 6.1+), the cgroups
around one ``cgroup`` (``iter/cgroup``, 6.1+).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Map, Program

__all__ = ["IterLink", "IterTask", "iter"]

#: The bytes read at a time: the kernel fills a seq_file a page or more at a time.
_CHUNK = 1 << 16


@dataclass(frozen=True)
class IterTask:
    """The task(s) a task iterator (``iter/task``, ``task_file``, ``task_vma``) walks.

    Exactly one of: ``tid``, one thread; ``pid``, every thread of a
    process; ``pid_fd``, every thread of the process a pidfd refers to
    (``os.pidfd_open``). ``iter(prog, task=1234)`` is ``IterTask(pid=1234)``.
    Linux 6.1+.
    """

    tid: int = 0
    pid: int = 0
    pid_fd: int = 0

    def __post_init__(self) -> None:
        """Check that exactly one field is set, to a 32-bit unsigned number."""
        given = [name for name in ("tid", "pid", "pid_fd") if getattr(self, name) != 0]
        for name in ("tid", "pid", "pid_fd"):
            bpf.check_uint(getattr(self, name), 32, name, "IterTask")
        if len(given) != 1:
            raise ValueError(
                f"IterTask: set exactly one of tid, pid, pid_fd (got {given or 'none'})"
            )


class IterLink(Link, link_type=bpf.LinkType.ITER):
    """An iterator program, attached: each :meth:`read` or :meth:`open` runs it once more.

    Closing the link detaches the program; runs already opened go on to
    their end. :meth:`update` swaps the program for another iterator of the
    same target.
    """

    __slots__ = ()

    def read(self) -> bytes:
        """A whole run of the iterator: everything the program prints, to the end."""
        with self.open() as f:
            return f.read()

    def open(self) -> BinaryIO:
        """A new run of the iterator, as a binary file to read (``for line in link.open():``).

        The file owns the run's fd: close it (or use ``with``) when done. A
        run the program stops with an error raises :class:`OSError` with the
        program's errno from ``read``.
        """
        what = f"run {self._name}"
        attr = bpf.new_attr("iter_create")
        attr.link_fd = self.fd.number
        fd = bpf.iter_create(attr, what)
        raw = io.FileIO(fd.detach(), "rb", closefd=True)
        return io.BufferedReader(raw, _CHUNK)


def iter(
    prog: Program,
    *,
    map: Map | None = None,
    task: int | IterTask | None = None,
    cgroup: int | str | os.PathLike[str] | None = None,
    order: bpf.CgroupIterOrder | int = bpf.CgroupIterOrder.ORDER_UNSPEC,
) -> IterLink:
    """Attach the iterator program ``prog`` (``iter/<target>``): an :class:`IterLink` to read.

    At most one of:

    - ``map``: the map whose elements ``iter/bpf_map_elem`` (or a socket
      storage map's) walks;
    - ``task``: a pid, or an :class:`IterTask` naming a thread or a pidfd,
      for the task iterators (6.1+, :class:`~pybpf.core.NotSupportedError`
      before; all tasks without it);
    - ``cgroup``: an fd of, or the path to, a cgroup (v2) directory for
      ``iter/cgroup`` (6.1+), walked in ``order``
      (:class:`~pybpf.core.sys.CgroupIterOrder`; the kernel's default,
      ``SELF_ONLY``, when unspecified).
    """
    check_program(prog, "iter")
    target = prog.spec.attach_to if prog.spec is not None else ""
    name = f"iter/{target}" if target else f"iterator {prog.name!r}"
    what = f"attach program {prog.name!r} as {name}"
    given = [k for k, v in (("map", map), ("task", task), ("cgroup", cgroup)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"{what}: give at most one of map, task, cgroup (got {given})")
    from pybpf.core import Map  # noqa: PLC0415 (loaded by the caller's map)

    if map is not None and not isinstance(map, Map):
        raise TypeError(f"{what}: map must be a Map, not {type(map).__name__}")
    if isinstance(task, int) and not isinstance(task, bool):
        task = IterTask(pid=bpf.check_uint(task, 32, "task", what) or _zero_pid(what))
    elif task is not None and not isinstance(task, IterTask):
        raise TypeError(f"{what}: task must be a pid or an IterTask, not {type(task).__name__}")
    order = bpf.check_uint(order, 32, "order", what)
    if order and cgroup is None:
        raise ValueError(f"{what}: order is for cgroup iterators (give cgroup)")
    if cgroup is not None and not isinstance(cgroup, int | str | os.PathLike):
        raise TypeError(f"{what}: cgroup must be an fd or a path, not {type(cgroup).__name__}")
    if isinstance(cgroup, int) and not isinstance(cgroup, bool):
        bpf.check_uint(cgroup, 31, "cgroup", what)
    if prog.type != bpf.ProgramType.TRACING or (
        prog.spec is not None and prog.spec.attach_type != bpf.AttachType.TRACE_ITER
    ):
        raise ValueError(f"{what}: prog is not an iterator program (iter/...)")
    info = bpf.new_iter_link_info()
    with contextlib.ExitStack() as stack:
        if map is not None:
            info.map.map_fd = map.fd.number
        elif task is not None:
            info.task.tid, info.task.pid, info.task.pid_fd = task.tid, task.pid, task.pid_fd
        elif cgroup is not None:
            info.cgroup.cgroup_fd = _cgroup_fd(cgroup, stack)
            info.cgroup.order = order
        attr = bpf.new_attr("link_create")
        attr.prog_fd = prog.fd.number
        attr.attach_type = bpf.AttachType.TRACE_ITER
        if given:
            attr.iter_info = bpf.addr(info)
            attr.iter_info_len = bpf.ffi.sizeof(info[0])
        got = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
    if isinstance(got, int):
        # Before 6.1 the kernel's bpf_iter_link_info held a map only: the task
        # and cgroup fields are bytes past its end, which must be zero (E2BIG).
        if got == -errno.E2BIG and given and given[0] in ("task", "cgroup"):
            raise NotSupportedError(
                f"{what}: an iterator of one {given[0]}", min_version="6.1", code=errno.E2BIG
            )
        raise bpf.error(-got, what)
    fd = got
    detail = f" of {given[0]}" if given else ""
    return IterLink(fd, name + detail)


def _zero_pid(what: str) -> int:
    raise ValueError(f"{what}: task 0 is no process (leave task out to walk every task)")


def _cgroup_fd(cgroup: int | str | os.PathLike[str], stack: contextlib.ExitStack) -> int:
    """The fd of ``cgroup``: an fd as given, a path opened for the call (closed after it).

    A path that is no directory raises the OSError of ``open`` (it names the path).
    """
    if isinstance(cgroup, int):
        return cgroup
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    stack.callback(os.close, fd)
    return fd
