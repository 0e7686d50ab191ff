"""Uprobes: a program on a function (or any instruction) of an executable or library.

:meth:`Executable.uprobe <pybpf.link.Executable.uprobe>` places one uprobe
through a perf event (the uprobe PMU, or tracefs ``uprobe_events`` where the
PMU is missing), attached as every perf event is (:mod:`pybpf.link.perf_event`).
:meth:`Executable.uprobe_multi <pybpf.link.Executable.uprobe_multi>` places
many at once in one bpf_link of type ``UPROBE_MULTI`` (Linux 6.6+), for a
program loaded with the ``TRACE_UPROBE_MULTI`` attach type (an
``uprobe.multi/...`` section).

Both take **file offsets**, which :class:`~pybpf.link.Executable` computes
from symbol names as libbpf does.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.link import Link
from pybpf.link.perf_event import LegacyPerfEventLink, PerfEventLink, attach_perf_event
from pybpf.link.probes import Probe, open_probe
from pybpf.link.prog_attach import check_program

if TYPE_CHECKING:
    from pybpf.core import Program
    from pybpf.link.executable import Executable

__all__ = ["UprobeMultiLink", "attach_uprobe", "attach_uprobe_multi", "have_uprobe_multi"]


class UprobeMultiLink(Link, link_type=bpf.LinkType.UPROBE_MULTI):
    """Many uprobes (or uretprobes) of one program on one file, as one bpf_link (Linux 6.6+).

    Made by :meth:`Executable.uprobe_multi <pybpf.link.Executable.uprobe_multi>`;
    closing it removes every probe at once.
    """

    __slots__ = ()


def have_uprobe_multi() -> None:
    """Whether this kernel makes ``UPROBE_MULTI`` links (Linux 6.6); raises if not.

    Decided once by trying: a kprobe program with the ``TRACE_UPROBE_MULTI``
    attach type loads only on kernels that can attach it (cached by
    :func:`pybpf.core.features.have_attach_type`).
    """
    from pybpf.core import features  # noqa: PLC0415 (only uprobe_multi probes the kernel)

    try:
        features.have_attach_type(bpf.ProgramType.KPROBE, bpf.AttachType.TRACE_UPROBE_MULTI)
    except NotSupportedError as e:
        raise NotSupportedError(
            "uprobe_multi links", min_version="6.6", code=e.errno or errno.EOPNOTSUPP
        ) from None


def _check_pid(pid: object, what: str) -> int:
    """The pid the kernel takes: -1 (every process) for None."""
    if pid is None:
        return -1
    pid = bpf.check_uint(pid, 31, "pid", what)
    if pid == 0:
        raise ValueError(f"{what}: pid 0 is not a process (None means every process)")
    return pid


def _file_offset(exe: Executable, symbol: str | None, offset: int, address: int | None) -> int:
    """Where the uprobe goes in the file: a symbol's offset, an address's, or ``offset`` alone."""
    if address is not None:
        seg = exe.binary.segment_at(address)
        if seg is None or not seg.executable:
            why = "no loadable segment" if seg is None else "only a non-executable segment"
            raise ValueError(f"uprobe on {exe.path}: address {address:#x} is in {why}")
        return address - seg.vaddr + seg.offset + offset
    if symbol is not None:
        return exe.symbol_offset(symbol) + offset
    return offset


def attach_uprobe(
    exe: Executable,
    prog: Program,
    symbol: str | None = None,
    *,
    offset: int = 0,
    address: int | None = None,
    pid: int | None = None,
    retprobe: bool = False,
    ref_ctr_offset: int = 0,
    cookie: int = 0,
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``prog`` to one uprobe of ``exe``: see :meth:`Executable.uprobe`."""
    ret = "ret" if retprobe else ""
    what = f"u{ret}probe on {exe.path}"
    check_program(prog, what)
    if symbol is not None and not isinstance(symbol, str):
        raise TypeError(f"{what}: symbol must be a str, not {type(symbol).__name__}")
    if symbol is not None and address is not None:
        raise ValueError(f"{what}: give a symbol or an address, not both")
    offset = bpf.check_uint(offset, 64, "offset", what)
    if address is not None:
        address = bpf.check_uint(address, 64, "address", what)
    if symbol is None and address is None and not offset:
        raise ValueError(f"{what}: give a symbol, an address or a file offset")
    ref_ctr_offset = bpf.check_uint(ref_ctr_offset, 32, "ref_ctr_offset", what)
    cookie = bpf.check_uint(cookie, 64, "cookie", what)
    raw_pid = _check_pid(pid, what)
    file_offset = _file_offset(exe, symbol, offset, address)
    probe = Probe(
        "uprobe",
        retprobe=bool(retprobe),
        path=exe.path,
        offset=file_offset,
        ref_ctr_offset=ref_ctr_offset,
    )
    where = symbol if symbol is not None else f"{file_offset:#x}"
    if symbol is not None and offset:
        where += f"+{offset:#x}"
    event, cleanup = open_probe(probe, pid=raw_pid)
    name = f"u{ret}probe {exe.path}:{where}"
    return attach_perf_event(prog, event, name, cookie=cookie, cleanup=cleanup)


def _u64s(values: Sequence[int] | None, count: int, name: str, what: str) -> list[int] | None:
    """``values`` checked as ``count`` unsigned 64-bit ints, or None."""
    if values is None:
        return None
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise TypeError(f"{what}: {name} must be a sequence of ints")
    if len(values) != count:
        raise ValueError(f"{what}: {len(values)} {name} for {count} probes")
    return [bpf.check_uint(v, 64, f"{name}[{i}]", what) for i, v in enumerate(values)]


def attach_uprobe_multi(
    exe: Executable,
    prog: Program,
    symbols: Sequence[str] | None = None,
    *,
    pattern: str | None = None,
    offsets: Sequence[int] | None = None,
    pid: int | None = None,
    retprobe: bool = False,
    cookies: Sequence[int] | None = None,
    ref_ctr_offsets: Sequence[int] | None = None,
) -> UprobeMultiLink:
    """Attach ``prog`` to many uprobes of ``exe``: see :meth:`Executable.uprobe_multi`."""
    ret = "ret" if retprobe else ""
    what = f"u{ret}probe_multi on {exe.path}"
    check_program(prog, what)
    given = [
        n
        for n, v in (("symbols", symbols), ("pattern", pattern), ("offsets", offsets))
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(f"{what}: give exactly one of symbols, pattern and offsets")
    if symbols is not None:
        if isinstance(symbols, str) or not isinstance(symbols, Sequence):
            raise TypeError(f"{what}: symbols must be a sequence of names, not a single string")
        if not symbols or not all(isinstance(s, str) for s in symbols):
            raise ValueError(f"{what}: symbols must be one or more names")
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError(f"{what}: pattern must be a str, not {type(pattern).__name__}")
    if offsets is not None:
        if not offsets:
            raise ValueError(f"{what}: offsets must not be empty")
        offsets = _u64s(offsets, len(offsets), "offsets", what)
    raw_pid = _check_pid(pid, what)
    if symbols is not None:
        resolved = exe.symbol_offsets(symbols)
    elif pattern is not None:
        resolved = [off for _, off in exe.pattern_offsets(pattern)]
    else:
        assert offsets is not None
        resolved = list(offsets)
    count = len(resolved)
    cookie_values = _u64s(cookies, count, "cookies", what)
    ref_ctrs = _u64s(ref_ctr_offsets, count, "ref_ctr_offsets", what)
    have_uprobe_multi()
    prog_fd = prog.fd

    path = bpf.ffi.new("char[]", os.fsencode(exe.path))
    offs = bpf.ffi.new("uint64_t[]", resolved)
    refs = bpf.ffi.new("uint64_t[]", ref_ctrs) if ref_ctrs else bpf.NULL
    cooks = bpf.ffi.new("uint64_t[]", cookie_values) if cookie_values else bpf.NULL
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog_fd.number
    attr.attach_type = bpf.AttachType.TRACE_UPROBE_MULTI
    multi = attr.uprobe_multi
    multi.path = bpf.addr(path)
    multi.offsets = bpf.addr(offs)
    multi.ref_ctr_offsets = bpf.addr(refs) if ref_ctrs else 0
    multi.cookies = bpf.addr(cooks) if cookie_values else 0
    multi.cnt = count
    multi.flags = bpf.UprobeMultiFlags.RETURN if retprobe else 0
    multi.pid = max(raw_pid, 0)
    where = pattern if pattern is not None else f"{count} offsets"
    if symbols is not None:
        where = ",".join(symbols) if count <= 3 else f"{count} functions"
    name = f"u{ret}probe_multi {exe.path}:{where}"
    try:
        fd = bpf.link_create(attr, f"attach program {prog.name!r} to {name}")
    except OSError as e:
        if e.errno == errno.EINVAL and _wrong_attach_type(prog):
            raise bpf.error(
                errno.EINVAL,
                f"attach program {prog.name!r} to {name}: the program was not loaded "
                "for uprobe_multi (its section must be uprobe.multi/... or its "
                "ProgramSpec.attach_type TRACE_UPROBE_MULTI)",
            ) from None
        raise
    finally:
        del path, offs, refs, cooks
    return UprobeMultiLink(fd, name)


def _wrong_attach_type(prog: Program) -> bool:
    spec = prog.spec
    return spec is not None and spec.attach_type != bpf.AttachType.TRACE_UPROBE_MULTI
