"""Attaching a ``usdt.bpf.h`` program to a USDT probe: libbpf's ``usdt.c`` rules.

A program built with libbpf's ``<bpf/usdt.bpf.h>`` (``BPF_USDT(...)``) finds
the arguments of the site it runs at through two maps of its object:

- ``__bpf_usdt_specs``: spec id → ``struct __bpf_usdt_spec`` (where each
  argument lives, and the user's cookie);
- ``__bpf_usdt_ip_to_spec_id``: the site's address in the process → spec id,
  read only where the kernel lacks ``bpf_get_attach_cookie`` (before 5.15);
  elsewhere the spec id is the uprobe's BPF cookie.

:func:`attach_usdt` fills both for every call site of one probe, places one
``UPROBE_MULTI`` link for all sites when the program was loaded for it (as
pybpf.core, like libbpf 1.5, loads ``usdt`` programs on kernels that make
such links) or else one uprobe per site, and returns one :class:`USDTLink`
whose ``close()`` undoes it all. The maps are found among the maps the
program uses (its ``map_ids``), so no collection needs to be passed along.

A probe with a semaphore (Python's, so that it only prepares the arguments
when someone listens) is enabled by the kernel through the uprobe's
reference counter offset (Linux 4.20+); on kernels without one, this module
increments the semaphore in the target process's memory (``/proc/PID/mem``),
which needs ``pid``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from pybpf.asm import Helper
from pybpf.core import Map, NotSupportedError, Program, UpdateFlags, features
from pybpf.core import sys as bpf
from pybpf.elf.binary import ET_DYN
from pybpf.link.errors import USDTArgumentError
from pybpf.link.link import Link
from pybpf.link.uprobe import UprobeMultiLink, _check_pid, attach_uprobe, attach_uprobe_multi
from pybpf.link.usdt import USDTProbe, encode_usdt_spec

if TYPE_CHECKING:
    from pybpf.link.executable import Executable
    from pybpf.link.info import LinkInfo

__all__ = ["USDTLink", "attach_usdt"]

#: The kernel keeps the first 15 characters of a map's name.
_SPECS_MAP = "__bpf_usdt_specs"[:15]
_IP_MAP = "__bpf_usdt_ip_to_spec_id"[:15]
#: Present where the uprobe PMU takes a reference counter (Linux 4.20).
_REF_CTR_FORMAT = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"
_SEMAPHORE = struct.Struct("=H")

#: The spec ids in use, per ``__bpf_usdt_specs`` map (by kernel map id).
_spec_ids_in_use: dict[int, set[int]] = {}


def _has_bpf_cookie() -> bool:
    """The rule core applies to ``LINUX_HAS_BPF_COOKIE``: the helper is callable."""
    try:
        features.have_helper(bpf.ProgramType.TRACEPOINT, Helper.get_attach_cookie)
    except NotSupportedError:
        return False
    return True


def _has_ref_ctr() -> bool:
    return os.path.exists(_REF_CTR_FORMAT)


class USDTLink(Link):
    """A program on every call site of one USDT probe.

    One object, whatever is behind it (:attr:`links`): a single
    :class:`~pybpf.link.UprobeMultiLink`, whose :attr:`type` and :meth:`info`
    it reports, or one uprobe per site (:class:`~pybpf.link.PerfEventLink`
    or, before 5.15, :class:`~pybpf.link.LegacyPerfEventLink`), when
    :attr:`type` is None and :meth:`info` raises. It is never pinned or
    updated: its map entries live with this object. ``close()`` detaches
    every site, removes the link's entries from the object's USDT maps and
    releases the semaphores it raised.
    """

    __slots__ = ("_ips", "_maps", "_parts", "_semaphores", "_spec_ids", "_specs_id")

    def __init__(self, parts: list[Link], name: str, state: _USDTState) -> None:
        """Take over the attached ``parts`` and the map entries of ``state``."""
        super().__init__(parts[0]._fd, name)
        self._parts = parts
        self._maps = state.maps
        self._specs_id = state.specs_id
        self._spec_ids = state.spec_ids
        self._ips = state.ips
        self._semaphores = state.semaphores

    @property
    def links(self) -> tuple[Link, ...]:
        """The attachments behind this link: one per call site, or one uprobe_multi link."""
        return tuple(self._parts)

    @property
    def type(self) -> bpf.LinkType | int | None:
        """``UPROBE_MULTI`` when one uprobe_multi link holds every site; else None."""
        multi = self._multi_link()
        return None if multi is None else multi.type

    def info(self) -> LinkInfo:
        """The uprobe_multi link's :class:`~pybpf.link.UprobeMultiInfo` (its sites).

        A USDT attached with one uprobe per site raises
        :class:`~pybpf.core.NotSupportedError`.
        """
        if self.closed:
            raise self._closed()
        multi = self._multi_link()
        if multi is None:
            raise NotSupportedError(
                f"info of {self._name}: attached with one uprobe per site, no single bpf_link",
                code=errno.EOPNOTSUPP,
            )
        return multi.info()

    def _multi_link(self) -> UprobeMultiLink | None:
        """The one uprobe_multi link behind this USDT, if that is how it was attached."""
        if len(self._parts) == 1 and isinstance(self._parts[0], UprobeMultiLink):
            return self._parts[0]
        return None

    def close(self) -> None:
        """Detach every site, then remove the map entries and release the semaphores."""
        parts, self._parts = self._parts, []
        state = _USDTState(self._maps, self._specs_id)
        state.spec_ids, state.ips, state.semaphores = self._spec_ids, self._ips, self._semaphores
        self._maps, self._spec_ids, self._ips, self._semaphores = {}, set(), [], []
        try:
            for part in parts:
                part.close()
        finally:
            state.undo()
            super().close()


class _USDTState:
    """What an attachment put into the maps and processes, so that it can be undone."""

    def __init__(self, maps: dict[str, Map], specs_id: int) -> None:
        self.maps = maps
        self.specs_id = specs_id
        self.spec_ids: set[int] = set()
        self.ips: list[int] = []
        self.semaphores: list[Callable[[], None]] = []

    def undo(self) -> None:
        """Remove the entries, free the spec ids, lower the semaphores, close the maps."""
        try:
            for release in self.semaphores:
                release()
            ip_map = self.maps.get(_IP_MAP)
            for ip in self.ips:
                if ip_map is not None:
                    with contextlib.suppress(KeyError, OSError):
                        ip_map.raw.delete(ip)
            specs = self.maps.get(_SPECS_MAP)
            for spec_id in self.spec_ids:
                if specs is not None:
                    # usdt.bpf.h makes it an array, whose entries are cleared, not deleted.
                    with contextlib.suppress(KeyError, OSError):
                        specs.raw.update(spec_id, bytes(specs.value_size))
            in_use = _spec_ids_in_use.get(self.specs_id)
            if in_use is not None:
                in_use -= self.spec_ids
                if not in_use:
                    del _spec_ids_in_use[self.specs_id]
        finally:
            for m in self.maps.values():
                m.close()
            self.maps = {}
            self.spec_ids = set()
            self.ips = []
            self.semaphores = []


def _usdt_maps(prog: Program, what: str) -> dict[str, Map]:
    """The ``__bpf_usdt_*`` maps ``prog`` uses, opened by id (owned by the caller)."""
    found: dict[str, Map] = {}
    try:
        for map_id in prog.info().map_ids:
            m = Map.from_id(map_id)
            if m.name in (_SPECS_MAP, _IP_MAP) and m.name not in found:
                found[m.name] = m
            else:
                m.close()
    except BaseException:
        for m in found.values():
            m.close()
        raise
    if _SPECS_MAP not in found:
        for m in found.values():
            m.close()
        raise ValueError(
            f"{what}: program {prog.name!r} uses no __bpf_usdt_specs map: "
            "is it a BPF_USDT program of libbpf's usdt.bpf.h?"
        )
    return found


def _process_mappings(pid: int, path: str) -> list[tuple[int, int, int, bool]]:
    """The mappings of file ``path`` in process ``pid``: (start, end, file offset, executable)."""
    st = os.stat(path)
    out = []
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            lines = f.readlines()
    except FileNotFoundError:
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}") from None
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        span, perms, pgoff, dev, inode = fields[:5]
        major, _, minor = dev.partition(":")
        if int(inode) != st.st_ino or os.makedev(int(major, 16), int(minor, 16)) != st.st_dev:
            continue
        start, _, end = span.partition("-")
        out.append((int(start, 16), int(end, 16), int(pgoff, 16), "x" in perms))
    return out


def _load_bias(exe: Executable, pid: int, site: USDTProbe, what: str) -> int:
    """How far process ``pid`` moved the file's addresses (0 for a non-PIE executable)."""
    if exe.binary.type != ET_DYN:
        return 0
    for start, end, pgoff, executable in _process_mappings(pid, exe.path):
        if executable and pgoff <= site.offset < pgoff + (end - start):
            return start + (site.offset - pgoff) - site.address
    raise USDTArgumentError(
        f"{what}: process {pid} has not mapped {exe.path} (site {site.address:#x})"
    )


def _raise_semaphore(pid: int, address: int, what: str) -> Callable[[], None]:
    """Add one to the semaphore at ``address`` in process ``pid``; return what takes it back."""
    mem = f"/proc/{pid}/mem"

    def add(delta: int) -> None:
        fd = os.open(mem, os.O_RDWR | os.O_CLOEXEC)
        try:
            (value,) = _SEMAPHORE.unpack(os.pread(fd, _SEMAPHORE.size, address))
            os.pwrite(fd, _SEMAPHORE.pack(max(0, min(0xFFFF, value + delta))), address)
        finally:
            os.close(fd)

    try:
        add(1)
    except OSError as e:
        raise OSError(
            e.errno, f"{what}: raise the semaphore at {address:#x} in {mem}: {e.strerror}"
        ) from None

    def release() -> None:
        with contextlib.suppress(OSError):
            add(-1)

    return release


def _free_spec_id(in_use: set[int], limit: int, what: str) -> int:
    for spec_id in range(limit):
        if spec_id not in in_use:
            in_use.add(spec_id)
            return spec_id
    raise NotSupportedError(
        f"{what}: all {limit} USDT spec ids of the object are in use (BPF_USDT_MAX_SPEC_CNT)",
        code=errno.E2BIG,
    )


def _multi_capable(prog: Program) -> bool:
    """Whether ``prog`` was loaded for ``UPROBE_MULTI`` links (its spec says so).

    pybpf.core loads ``usdt`` programs so where the kernel makes such links;
    a user's spec may also say so itself.
    """
    spec = prog.spec
    return spec is not None and spec.attach_type == bpf.AttachType.TRACE_UPROBE_MULTI


def attach_usdt(
    exe: Executable,
    prog: Program,
    provider: str,
    name: str,
    *,
    pid: int | None = None,
    cookie: int = 0,
) -> USDTLink:
    """Attach ``prog`` to USDT probe ``provider:name`` of ``exe``: see :meth:`Executable.usdt`."""
    what = f"USDT {provider}:{name} in {exe.path}"
    if not isinstance(prog, Program):
        raise TypeError(f"{what}: prog must be a Program, not {type(prog).__name__}")
    for label, text in (("provider", provider), ("name", name)):
        if not isinstance(text, str):
            raise TypeError(f"attach USDT: {label} must be a str, not {type(text).__name__}")
        if not text:
            raise ValueError(f"attach USDT: {label} must not be empty")
    cookie = bpf.check_uint(cookie, 64, "cookie", what)
    raw_pid = _check_pid(pid, what)
    sites = exe.usdt_probe_sites(provider, name)
    encoded = [
        encode_usdt_spec(site.args, cookie, byte_order=exe.binary.byte_order) for site in sites
    ]
    with_cookie = _has_bpf_cookie()
    ref_ctr = _has_ref_ctr()
    if not with_cookie and exe.binary.type == ET_DYN and raw_pid < 0:
        raise NotSupportedError(
            f"{what}: without BPF cookies (Linux 5.15) a shared object or PIE needs a pid, "
            "to know where the process mapped it",
            code=errno.EOPNOTSUPP,
        )
    if not ref_ctr and raw_pid < 0 and any(s.semaphore_offset for s in sites):
        raise NotSupportedError(
            f"{what}: the probe has a semaphore and this kernel no uprobe reference "
            "counter (Linux 4.20): give a pid, whose memory will hold it raised",
            code=errno.EOPNOTSUPP,
        )
    maps = _usdt_maps(prog, what)
    specs = maps[_SPECS_MAP]
    state = _USDTState(maps, specs.info().id)
    parts: list[Link] = []
    try:
        if specs.value_size != len(encoded[0]):
            raise USDTArgumentError(
                f"{what}: __bpf_usdt_specs holds {specs.value_size}-byte specs, "
                f"not the {len(encoded[0])} bytes of libbpf's struct __bpf_usdt_spec"
            )
        in_use = _spec_ids_in_use.setdefault(state.specs_id, set())
        ids_by_spec: dict[bytes, int] = {}
        site_ids = []
        for value in encoded:
            spec_id = ids_by_spec.get(value)
            if spec_id is None:
                spec_id = _free_spec_id(in_use, specs.max_entries, what)
                state.spec_ids.add(spec_id)
                specs.raw.update(spec_id, value)
                ids_by_spec[value] = spec_id
            site_ids.append(spec_id)
        biases = {}
        if not with_cookie or (not ref_ctr and raw_pid >= 0):
            biases = {s: _load_bias(exe, raw_pid, s, what) if raw_pid >= 0 else 0 for s in sites}
        if not with_cookie:
            ip_map = maps.get(_IP_MAP)
            if ip_map is None:
                raise ValueError(
                    f"{what}: program {prog.name!r} uses no __bpf_usdt_ip_to_spec_id map"
                )
            for site, spec_id in zip(sites, site_ids, strict=True):
                ip = site.address + biases[site]
                ip_map.raw.update(ip, spec_id, UpdateFlags.NOEXIST)
                state.ips.append(ip)
        if not ref_ctr:
            for site in sites:
                if site.semaphore_offset:
                    address = site.semaphore_address + biases[site]
                    state.semaphores.append(_raise_semaphore(raw_pid, address, what))
        ref_ctrs = [s.semaphore_offset if ref_ctr else 0 for s in sites]
        if _multi_capable(prog):
            parts.append(
                attach_uprobe_multi(
                    exe,
                    prog,
                    offsets=[s.offset for s in sites],
                    pid=pid,
                    cookies=site_ids if with_cookie else None,
                    ref_ctr_offsets=ref_ctrs if any(ref_ctrs) else None,
                )
            )
        else:
            for site, spec_id, ref in zip(sites, site_ids, ref_ctrs, strict=True):
                parts.append(
                    attach_uprobe(
                        exe,
                        prog,
                        offset=site.offset,
                        pid=pid,
                        ref_ctr_offset=ref,
                        cookie=spec_id if with_cookie else 0,
                    )
                )
    except BaseException:
        try:
            for part in parts:
                part.close()
        finally:
            state.undo()
        raise
    return USDTLink(parts, f"usdt {exe.path}:{provider}:{name}", state)
