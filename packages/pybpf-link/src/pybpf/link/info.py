"""What the kernel says about a link (``struct bpf_link_info``).

:meth:`LinkInfo.from_fd` returns the subclass of the link's type, with the
fields that type reports (``TracingInfo`` for a fentry link,
``KprobeInfo`` for a kprobe's perf-event link, ...). A field the running
kernel does not report (its struct is shorter, as before the field was
added) is ``None``. A link type newer than this library gives a plain
:class:`LinkInfo`.

>>> from pybpf.link import LinkInfo, links
>>> all(isinstance(info, LinkInfo) for info in links())
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pybpf.core import sys as bpf

__all__ = [
    "CgroupInfo",
    "EventInfo",
    "IterInfo",
    "KprobeInfo",
    "KprobeMultiInfo",
    "LinkInfo",
    "NetNsInfo",
    "NetfilterInfo",
    "NetkitInfo",
    "PerfEventInfo",
    "RawTracepointInfo",
    "SockmapInfo",
    "StructOpsInfo",
    "TCXInfo",
    "TracepointInfo",
    "TracingInfo",
    "UprobeInfo",
    "UprobeMultiInfo",
    "XDPInfo",
]

_STRUCT = "struct pybpf_link_info"
#: Room for a name the kernel copies out: a tracepoint, function or file path.
_NAME_MAX = 4096
#: The most addresses or offsets read of a multi link (the kernel caps them too).
_MULTI_MAX = 1 << 20

#: The raw ``struct pybpf_link_info``.
RawInfo = Any


@functools.cache
def _end(*path: str) -> int:
    """Where the field at ``path`` (``"raw_tracepoint", "cookie"``) ends in the struct."""
    ffi = bpf.ffi
    ctype = ffi.typeof(_STRUCT)
    offset = 0
    for name in path:
        field = dict(ctype.fields)[name]
        offset += field.offset
        ctype = field.type
    return offset + int(ffi.sizeof(ctype))


class _Reader:
    """One link's raw info: its fields, and whether the kernel reported each."""

    def __init__(self, raw: RawInfo, filled: int, buffers: dict[str, Any]) -> None:
        self.raw = raw
        self.filled = filled
        self.buffers = buffers

    def reported(self, *path: str) -> bool:
        return _end(*path) <= self.filled

    def get(self, *path: str) -> int | None:
        """The field at ``path``, or None where this kernel does not report it."""
        if not self.reported(*path):
            return None
        value: Any = self.raw
        for name in path:
            value = getattr(value, name)
        return int(value)

    def text(self, key: str) -> str | None:
        buf = self.buffers.get(key)
        if buf is None:
            return None
        value = bpf.ffi.string(buf)
        return bytes(value).decode(errors="replace") if value else None

    def numbers(self, key: str, count: int) -> tuple[int, ...]:
        buf = self.buffers.get(key)
        if buf is None or count <= 0:
            return ()
        return tuple(int(buf[i]) for i in range(min(count, len(buf))))


def _enum(cls: type[Any], value: int | None) -> Any:
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        return value


_Decoder = Callable[[_Reader, dict[str, Any]], "LinkInfo"]


@dataclass(frozen=True)
class LinkInfo:
    """The kernel's view of a link: ``BPF_OBJ_GET_INFO_BY_FD``.

    Subclasses add the fields of one link type.
    """

    #: The link type; a plain int for types newer than this library.
    type: bpf.LinkType | int
    #: The kernel-wide id (see ``Link.from_id``).
    id: int
    #: The id of the attached program (0 once the link was detached).
    program_id: int

    _DECODERS: ClassVar[dict[int, _Decoder]] = {}

    @classmethod
    def from_fd(cls, fd: bpf.FD) -> LinkInfo:
        """The info of the link behind ``fd``."""
        what = f"link fd {fd.number}"
        raw = bpf.new_info("link")
        filled = bpf.obj_info(fd, raw, what)
        # Ask again with room for what the first answer said there is.
        buffers = _buffers_for(raw, filled)
        if buffers:
            link_type, raw = raw.type, bpf.new_info("link")
            _point(raw, link_type, buffers)
            filled = bpf.obj_info(fd, raw, what)
        value = int(raw.type)
        common: dict[str, Any] = {
            "type": _enum(bpf.LinkType, value),
            "id": int(raw.id),
            "program_id": int(raw.prog_id),
        }
        decode = cls._DECODERS.get(value)
        if decode is None:
            return LinkInfo(**common)
        return decode(_Reader(raw, filled, buffers), common)


def _decoder(link_type: bpf.LinkType) -> Callable[[_Decoder], _Decoder]:
    def register(fn: _Decoder) -> _Decoder:
        LinkInfo._DECODERS[int(link_type)] = fn
        return fn

    return register


def _name_buffer() -> Any:
    return bpf.ffi.new("char[]", _NAME_MAX)


def _buffers_for(raw: RawInfo, filled: int) -> dict[str, Any]:
    """The buffers a second ``obj_info`` needs for what the first one counted."""
    ffi = bpf.ffi
    t = int(raw.type)
    lt = bpf.LinkType
    if t in (lt.RAW_TRACEPOINT, lt.ITER, lt.PERF_EVENT):
        return {"name": _name_buffer()}
    if t == lt.KPROBE_MULTI:
        count = min(int(raw.kprobe_multi.count), _MULTI_MAX)
        if not count:
            return {}
        out = {"addrs": ffi.new("uint64_t[]", count)}
        if _end("kprobe_multi", "cookies") <= filled:
            out["cookies"] = ffi.new("uint64_t[]", count)
        return out
    if t == lt.UPROBE_MULTI:
        count = min(int(raw.uprobe_multi.count), _MULTI_MAX)
        out = {"name": _name_buffer()}
        if count:
            for key in ("offsets", "ref_ctr_offsets", "cookies"):
                out[key] = ffi.new("uint64_t[]", count)
        return out
    return {}


def _point(raw: RawInfo, link_type: int, buffers: dict[str, Any]) -> None:
    """Set ``raw``'s pointers (and their sizes) to ``buffers`` for the kernel to fill."""
    lt = bpf.LinkType
    addr = bpf.addr
    name = buffers.get("name")
    if link_type == lt.RAW_TRACEPOINT:
        raw.raw_tracepoint.tp_name = addr(name)
        raw.raw_tracepoint.tp_name_len = _NAME_MAX
    elif link_type == lt.ITER:
        raw.iter.target_name = addr(name)
        raw.iter.target_name_len = _NAME_MAX
    elif link_type == lt.PERF_EVENT:
        # The name pointer and length sit at the same place in every event kind.
        raw.perf_event.uprobe.file_name = addr(name)
        raw.perf_event.uprobe.name_len = _NAME_MAX
    elif link_type == lt.KPROBE_MULTI:
        addrs = buffers["addrs"]
        raw.kprobe_multi.addrs = addr(addrs)
        raw.kprobe_multi.count = len(addrs)
        if "cookies" in buffers:
            raw.kprobe_multi.cookies = addr(buffers["cookies"])
    elif link_type == lt.UPROBE_MULTI:
        raw.uprobe_multi.path = addr(name)
        raw.uprobe_multi.path_size = _NAME_MAX
        if "offsets" in buffers:
            raw.uprobe_multi.count = len(buffers["offsets"])
            for key in ("offsets", "ref_ctr_offsets", "cookies"):
                setattr(raw.uprobe_multi, key, addr(buffers[key]))


# -- one subclass per link type ---------------------------------------------------------


@dataclass(frozen=True)
class RawTracepointInfo(LinkInfo):
    """A raw tracepoint link."""

    #: The tracepoint's name (``"sys_enter"``).
    tracepoint: str | None
    #: The attach cookie (Linux 6.10+).
    cookie: int | None


@_decoder(bpf.LinkType.RAW_TRACEPOINT)
def _raw_tracepoint(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    return RawTracepointInfo(
        **common, tracepoint=r.text("name"), cookie=r.get("raw_tracepoint", "cookie")
    )


@dataclass(frozen=True)
class TracingInfo(LinkInfo):
    """A tracing link: tp_btf, fentry, fexit, fmod_ret, LSM or freplace."""

    #: ``TRACE_FENTRY``, ``LSM_MAC``, ...
    attach_type: bpf.AttachType | int
    #: The id of the BTF object (vmlinux, a module) or program holding the target.
    target_object_id: int
    #: The target's type id in that BTF.
    target_btf_id: int
    #: The attach cookie (Linux 6.x), None where not reported.
    cookie: int | None


@_decoder(bpf.LinkType.TRACING)
def _tracing(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    t = r.raw.tracing
    return TracingInfo(
        **common,
        attach_type=_enum(bpf.AttachType, int(t.attach_type)),
        target_object_id=int(t.target_obj_id),
        target_btf_id=int(t.target_btf_id),
        cookie=r.get("tracing", "cookie"),
    )


@dataclass(frozen=True)
class CgroupInfo(LinkInfo):
    """A cgroup link."""

    #: The cgroup's id (its inode number in cgroupfs).
    cgroup_id: int
    #: ``CGROUP_INET_INGRESS``, ...
    attach_type: bpf.AttachType | int


@_decoder(bpf.LinkType.CGROUP)
def _cgroup(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    c = r.raw.cgroup
    return CgroupInfo(
        **common, cgroup_id=int(c.cgroup_id), attach_type=_enum(bpf.AttachType, int(c.attach_type))
    )


@dataclass(frozen=True)
class IterInfo(LinkInfo):
    """A BPF iterator link."""

    #: The iterator's target (``"task"``, ``"bpf_map_elem"``, ...).
    target: str | None
    #: The map a map-element iterator walks, else None.
    map_id: int | None
    #: The cgroup a cgroup iterator starts from, else None.
    cgroup_id: int | None
    #: The cgroup iterator's walk order, else None.
    cgroup_order: int | None
    #: The thread a task iterator is limited to, else None.
    task_tid: int | None
    #: The process a task iterator is limited to, else None.
    task_pid: int | None


@_decoder(bpf.LinkType.ITER)
def _iter(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    target = r.text("name")
    it = r.raw.iter
    is_map = target in ("bpf_map_elem", "bpf_sk_storage_map", "sockmap")
    is_cgroup = target == "cgroup"
    is_task = target in ("task", "task_file", "task_vma")
    reported = r.reported("iter")
    return IterInfo(
        **common,
        target=target,
        map_id=int(it.map.map_id) if is_map else None,
        cgroup_id=int(it.cgroup.cgroup_id) if is_cgroup and reported else None,
        cgroup_order=int(it.cgroup.order) if is_cgroup and reported else None,
        task_tid=int(it.task.tid) if is_task and reported else None,
        task_pid=int(it.task.pid) if is_task and reported else None,
    )


@dataclass(frozen=True)
class NetNsInfo(LinkInfo):
    """A network namespace link (flow dissector, sk_lookup)."""

    #: The namespace's inode number (as in ``/proc/PID/ns/net``).
    netns_inode: int
    #: ``FLOW_DISSECTOR`` or ``SK_LOOKUP``.
    attach_type: bpf.AttachType | int


@_decoder(bpf.LinkType.NETNS)
def _netns(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    n = r.raw.netns
    return NetNsInfo(
        **common,
        netns_inode=int(n.netns_ino),
        attach_type=_enum(bpf.AttachType, int(n.attach_type)),
    )


@dataclass(frozen=True)
class XDPInfo(LinkInfo):
    """An XDP link."""

    #: The interface's index (0 once the interface is gone).
    ifindex: int


@_decoder(bpf.LinkType.XDP)
def _xdp(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    return XDPInfo(**common, ifindex=int(r.raw.xdp.ifindex))


@dataclass(frozen=True)
class StructOpsInfo(LinkInfo):
    """A struct_ops link."""

    #: The id of the registered struct_ops map.
    map_id: int


@_decoder(bpf.LinkType.STRUCT_OPS)
def _struct_ops(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    return StructOpsInfo(**common, map_id=int(r.raw.struct_ops.map_id))


@dataclass(frozen=True)
class NetfilterInfo(LinkInfo):
    """A netfilter link."""

    #: The protocol family (``NFPROTO_IPV4`` = 2, ``NFPROTO_IPV6`` = 10).
    family: int
    #: The hook (``NF_INET_LOCAL_IN`` = 1, ...).
    hook: int
    #: The hook priority.
    priority: int
    #: ``IP_DEFRAG`` and the like.
    flags: bpf.NetfilterFlags


@_decoder(bpf.LinkType.NETFILTER)
def _netfilter(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    n = r.raw.netfilter
    return NetfilterInfo(
        **common,
        family=int(n.pf),
        hook=int(n.hooknum),
        priority=int(n.priority),
        flags=bpf.NetfilterFlags(int(n.flags)),
    )


@dataclass(frozen=True)
class KprobeMultiInfo(LinkInfo):
    """A kprobe_multi link (Linux 6.6+ reports its functions)."""

    #: The probed functions' addresses (empty where not reported or hidden by kptr_restrict).
    addresses: tuple[int, ...]
    #: The cookie of each function, in the order of ``addresses`` (6.9+).
    cookies: tuple[int, ...] | None
    #: Whether these are return probes.
    retprobe: bool
    #: How many times a probe was missed (6.7+).
    missed: int | None


@_decoder(bpf.LinkType.KPROBE_MULTI)
def _kprobe_multi(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    k = r.raw.kprobe_multi
    count = int(k.count) if r.reported("kprobe_multi", "count") else 0
    return KprobeMultiInfo(
        **common,
        addresses=r.numbers("addrs", count),
        cookies=r.numbers("cookies", count) if "cookies" in r.buffers else None,
        retprobe=bool(int(k.flags) & bpf.KprobeMultiFlags.RETURN),
        missed=r.get("kprobe_multi", "missed"),
    )


@dataclass(frozen=True)
class UprobeMultiInfo(LinkInfo):
    """A uprobe_multi link (Linux 6.8+ reports its probes)."""

    #: The probed binary's path.
    path: str | None
    #: The file offset of each probe.
    offsets: tuple[int, ...]
    #: Each probe's reference counter (semaphore) offset, 0 for none.
    ref_ctr_offsets: tuple[int, ...]
    #: Each probe's cookie.
    cookies: tuple[int, ...]
    #: Whether these are return probes.
    retprobe: bool
    #: The process the probes are limited to, 0 for every process.
    pid: int


@_decoder(bpf.LinkType.UPROBE_MULTI)
def _uprobe_multi(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    u = r.raw.uprobe_multi
    count = int(u.count) if r.reported("uprobe_multi", "count") else 0
    return UprobeMultiInfo(
        **common,
        path=r.text("name"),
        offsets=r.numbers("offsets", count),
        ref_ctr_offsets=r.numbers("ref_ctr_offsets", count),
        cookies=r.numbers("cookies", count),
        retprobe=bool(int(u.flags) & bpf.UprobeMultiFlags.RETURN),
        pid=int(u.pid) if r.reported("uprobe_multi", "pid") else 0,
    )


@dataclass(frozen=True)
class PerfEventInfo(LinkInfo):
    """A perf-event link; kernels before 6.6 say no more than this.

    From 6.6 the subclass says what the event is: :class:`KprobeInfo`,
    :class:`UprobeInfo`, :class:`TracepointInfo` or :class:`EventInfo`.
    """

    #: What the event is (``KPROBE``, ``URETPROBE``, ...); None before 6.6.
    event_type: bpf.PerfEventType | int | None


@dataclass(frozen=True)
class KprobeInfo(PerfEventInfo):
    """A kprobe or kretprobe's perf-event link."""

    #: The probed function.
    function: str | None
    #: The offset into it.
    offset: int
    #: The probe's address (0 where kptr_restrict hides it).
    address: int
    #: How many times the probe was missed (6.7+).
    missed: int | None
    #: The attach cookie (6.9+).
    cookie: int | None

    @property
    def retprobe(self) -> bool:
        """Whether this is a kretprobe."""
        return self.event_type == bpf.PerfEventType.KRETPROBE


@dataclass(frozen=True)
class UprobeInfo(PerfEventInfo):
    """A uprobe or uretprobe's perf-event link."""

    #: The probed binary's path.
    path: str | None
    #: The probe's file offset.
    offset: int
    #: The attach cookie (6.9+).
    cookie: int | None
    #: The reference counter (semaphore) offset (6.13+).
    ref_ctr_offset: int | None

    @property
    def retprobe(self) -> bool:
        """Whether this is a uretprobe."""
        return self.event_type == bpf.PerfEventType.URETPROBE


@dataclass(frozen=True)
class TracepointInfo(PerfEventInfo):
    """A tracepoint's perf-event link."""

    #: The tracepoint's name (``"sys_enter_getpid"``).
    tracepoint: str | None
    #: The attach cookie (6.9+).
    cookie: int | None


@dataclass(frozen=True)
class EventInfo(PerfEventInfo):
    """Another perf event's link (software, hardware, breakpoint ...)."""

    #: The event's ``perf_event_attr.type``.
    perf_type: int
    #: The event's ``perf_event_attr.config``.
    config: int
    #: The attach cookie (6.9+).
    cookie: int | None


@_decoder(bpf.LinkType.PERF_EVENT)
def _perf_event(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    p = r.raw.perf_event
    # Kernels before 6.6 fill the union's bytes for other link types' fields:
    # there the kind reads as UNSPEC, which no 6.6+ kernel reports.
    if not r.reported("perf_event", "type") or int(p.type) == bpf.PerfEventType.UNSPEC:
        return PerfEventInfo(**common, event_type=None)
    kind = _enum(bpf.PerfEventType, int(p.type))
    et = bpf.PerfEventType
    if kind in (et.KPROBE, et.KRETPROBE):
        k = p.kprobe
        return KprobeInfo(
            **common,
            event_type=kind,
            function=r.text("name"),
            offset=int(k.offset),
            address=int(k.addr),
            missed=r.get("perf_event", "kprobe", "missed"),
            cookie=r.get("perf_event", "kprobe", "cookie"),
        )
    if kind in (et.UPROBE, et.URETPROBE):
        u = p.uprobe
        return UprobeInfo(
            **common,
            event_type=kind,
            path=r.text("name"),
            offset=int(u.offset),
            cookie=r.get("perf_event", "uprobe", "cookie"),
            ref_ctr_offset=r.get("perf_event", "uprobe", "ref_ctr_offset"),
        )
    if kind == et.TRACEPOINT:
        return TracepointInfo(
            **common,
            event_type=kind,
            tracepoint=r.text("name"),
            cookie=r.get("perf_event", "tracepoint", "cookie"),
        )
    if kind == et.EVENT:
        e = p.event
        return EventInfo(
            **common,
            event_type=kind,
            perf_type=int(e.type),
            config=int(e.config),
            cookie=r.get("perf_event", "event", "cookie"),
        )
    return PerfEventInfo(**common, event_type=kind)


@dataclass(frozen=True)
class TCXInfo(LinkInfo):
    """A tcx link."""

    #: The interface's index.
    ifindex: int
    #: ``TCX_INGRESS`` or ``TCX_EGRESS``.
    attach_type: bpf.AttachType | int


@dataclass(frozen=True)
class NetkitInfo(LinkInfo):
    """A netkit link."""

    #: The netkit device's index.
    ifindex: int
    #: ``NETKIT_PRIMARY`` or ``NETKIT_PEER``.
    attach_type: bpf.AttachType | int


@dataclass(frozen=True)
class SockmapInfo(LinkInfo):
    """A sockmap link (Linux 6.10+)."""

    #: The sockmap or sockhash.
    map_id: int
    #: ``SK_SKB_STREAM_VERDICT``, ``SK_MSG_VERDICT``, ...
    attach_type: bpf.AttachType | int


@_decoder(bpf.LinkType.SOCKMAP)
def _sockmap(r: _Reader, common: dict[str, Any]) -> LinkInfo:
    s = r.raw.sockmap
    return SockmapInfo(
        **common, map_id=int(s.map_id), attach_type=_enum(bpf.AttachType, int(s.attach_type))
    )


def _device_decoder(cls: type[TCXInfo | NetkitInfo], part: str) -> _Decoder:
    """The decoder of a device link type whose info is an ifindex and an attach type."""

    def decode(r: _Reader, common: dict[str, Any]) -> LinkInfo:
        d = getattr(r.raw, part)
        return cls(
            **common, ifindex=int(d.ifindex), attach_type=_enum(bpf.AttachType, int(d.attach_type))
        )

    return decode


_decoder(bpf.LinkType.TCX)(_device_decoder(TCXInfo, "tcx"))
_decoder(bpf.LinkType.NETKIT)(_device_decoder(NetkitInfo, "netkit"))
