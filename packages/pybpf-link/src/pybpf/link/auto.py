"""Auto-attach: a program's section names its target, as libbpf's ``bpf_program__attach`` reads it.

``attach(program)`` attaches a program whose section says where
(``tracepoint/syscalls/sys_enter_execve``, ``kprobe/do_unlinkat``,
``uprobe/libc.so.6:malloc``, ``fentry/…``); :func:`attach_all` attaches every
such program of a collection, all or nothing, like a libbpf skeleton's
``attach()``. A section that cannot name its target (``xdp``, ``socket``,
``cgroup_skb/ingress``, a bare ``kprobe``) raises
:class:`~pybpf.link.SectionNotAttachableError`, which names the explicit call.

:func:`auto_target` is the parsing alone: which call, with which arguments,
a section stands for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pybpf.asm.records import field, record
from pybpf.link.errors import SectionNotAttachableError
from pybpf.link.prog_attach import check_program

if TYPE_CHECKING:
    from pybpf.core import Collection, Map, Program
    from pybpf.link.link import Link

__all__ = ["AutoTarget", "attach", "attach_all", "auto_attachable", "auto_target"]


@record(frozen=True)
class AutoTarget:
    """What a section attaches to: ``call(program, *args, **options)``.

    ``call`` is the name of the ``pybpf.link`` function (``"tracepoint"``,
    ``"kprobe"``, ...) or of the :class:`~pybpf.link.Executable` method
    (``"uprobe"``, ``"uprobe_multi"``, ``"usdt"``: then ``binary`` is the
    executable's path or library name).
    """

    call: str
    args: tuple[Any, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    binary: str | None = None


# What each section prefix needs instead, for sections that cannot name a target.
_EXPLICIT = {
    "xdp": "pybpf.link.xdp(prog, interface)",
    "tc": "pybpf.link.tcx(prog, interface) or pybpf.link.tc(prog, interface)",
    "tcx": "pybpf.link.tcx(prog, interface)",
    "classifier": "pybpf.link.tcx(prog, interface) or pybpf.link.tc(prog, interface)",
    "action": "a tc action, through tc(8)",
    "netkit": "pybpf.link.netkit(prog, interface)",
    "socket": "pybpf.link.socket_filter(prog, sock)",
    "sk_reuseport": "pybpf.link.reuseport(prog, sock)",
    "sk_skb": "pybpf.link.sockmap(prog, map)",
    "sk_msg": "pybpf.link.sockmap(prog, map)",
    "sk_lookup": "pybpf.link.netns(prog, netns)",
    "flow_dissector": "pybpf.link.netns(prog, netns)",
    "netfilter": "pybpf.link.netfilter(prog, family=..., hook=..., priority=...)",
    "sockops": "pybpf.link.cgroup(prog, cgroup)",
    "cgroup": "pybpf.link.cgroup(prog, cgroup)",
    "cgroup_skb": "pybpf.link.cgroup(prog, cgroup)",
    "lsm_cgroup": "pybpf.link.cgroup(prog, cgroup)",
    "perf_event": "pybpf.link.perf_event(prog, pybpf.core.perf_event_open(...))",
    "struct_ops": "pybpf.link.struct_ops(collection.maps[...]) on its struct_ops map",
    "struct_ops.s": "pybpf.link.struct_ops(collection.maps[...]) on its struct_ops map",
    "syscall": "Program.run() (syscall programs are run, not attached)",
    "lwt_in": "ip-route(8) (lightweight tunnels)",
    "lwt_out": "ip-route(8) (lightweight tunnels)",
    "lwt_xmit": "ip-route(8) (lightweight tunnels)",
    "lwt_seg6local": "ip-route(8) (lightweight tunnels)",
    "lirc_mode2": "BPF_PROG_ATTACH to a lirc device",
    "kprobe": "pybpf.link.kprobe(prog, symbol)",
    "kretprobe": "pybpf.link.kprobe(prog, symbol, retprobe=True)",
    "ksyscall": "pybpf.link.ksyscall(prog, name)",
    "kretsyscall": "pybpf.link.ksyscall(prog, name, retprobe=True)",
    "kprobe.multi": "pybpf.link.kprobe_multi(prog, pattern=...)",
    "kretprobe.multi": "pybpf.link.kprobe_multi(prog, pattern=..., retprobe=True)",
    "kprobe.session": "pybpf.link.kprobe_multi(prog, pattern=..., session=True)",
    "uprobe": "pybpf.link.Executable(path).uprobe(prog, symbol)",
    "uretprobe": "pybpf.link.Executable(path).uprobe(prog, symbol, retprobe=True)",
    "uprobe.multi": "pybpf.link.Executable(path).uprobe_multi(prog, pattern=...)",
    "uretprobe.multi": "pybpf.link.Executable(path).uprobe_multi(prog, pattern=..., retprobe=True)",
    "usdt": "pybpf.link.Executable(path).usdt(prog, provider, name)",
    "tracepoint": "pybpf.link.tracepoint(prog, group, name)",
    "tp": "pybpf.link.tracepoint(prog, group, name)",
    "raw_tracepoint": "pybpf.link.raw_tracepoint(prog, name)",
    "raw_tp": "pybpf.link.raw_tracepoint(prog, name)",
}

# libbpf's "%m[a-zA-Z0-9_.]+%li": a kernel function and an optional offset.
_KPROBE = re.compile(r"(?P<func>[A-Za-z0-9_.]+)(?:\+(?P<off>0[xX][0-9a-fA-F]+|\d+))?")
# A uprobe's function: a name (versioned: malloc@GLIBC_2.2.5), an offset after
# it, or a bare file offset.
_UPROBE_FUNC = re.compile(r"(?P<func>[A-Za-z0-9_.@]+?)(?:\+(?P<off>0[xX][0-9a-fA-F]+|\d+))?")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|\d+")
# Sections whose program is attached by one tracing call: its target is in the load.
_TRACING = {
    "tp_btf",
    "fentry",
    "fexit",
    "fmod_ret",
    "fentry.s",
    "fexit.s",
    "fmod_ret.s",
    "lsm",
    "lsm.s",
    "freplace",
}


def _split(section: str) -> tuple[str, str]:
    kind, _, rest = section.partition("/")
    return kind, rest


def _not_attachable(
    section: str, kind: str, why: str = "", *, malformed: bool = False
) -> SectionNotAttachableError:
    call = _EXPLICIT.get(kind) or _EXPLICIT.get(kind.split(".", maxsplit=1)[0])
    return SectionNotAttachableError(section, call, why, malformed=malformed)


def auto_target(section: str) -> AutoTarget:
    """The attach call a program of ``section`` stands for, as libbpf reads sections.

    >>> auto_target("tracepoint/syscalls/sys_enter_execve")
    AutoTarget(call='tracepoint', args=('syscalls', 'sys_enter_execve'), options={}, binary=None)
    >>> auto_target("uretprobe/libc.so.6:malloc").options
    {'symbol': 'malloc', 'offset': 0, 'retprobe': True}

    A section that cannot name its target raises
    :class:`~pybpf.link.SectionNotAttachableError`.
    """
    kind, rest = _split(section)
    if kind in ("tracepoint", "tp"):
        group, _, name = rest.partition("/")
        if not rest:
            raise _not_attachable(section, kind, "it names no tracepoint")
        if not group or not name or "/" in name:
            raise _not_attachable(section, kind, "it names no GROUP/NAME", malformed=True)
        return AutoTarget("tracepoint", (group, name))
    if kind in ("raw_tracepoint", "raw_tp", "raw_tracepoint.w", "raw_tp.w"):
        if not rest:
            raise _not_attachable(section, kind.removesuffix(".w"), "it names no tracepoint")
        return AutoTarget("raw_tracepoint", (rest,))
    if kind in _TRACING:
        return AutoTarget("tracing")
    if kind in ("iter", "iter.s"):
        return AutoTarget("iter")
    if kind in ("kprobe", "kretprobe"):
        return _kprobe(section, kind, rest)
    if kind in ("ksyscall", "kretsyscall"):
        if not rest:
            raise _not_attachable(section, kind, "it names no system call")
        return AutoTarget("ksyscall", (rest,), {"retprobe": kind == "kretsyscall"})
    if kind in ("kprobe.multi", "kretprobe.multi", "kprobe.session"):
        if not rest:
            raise _not_attachable(section, kind, "it names no function pattern")
        opts: dict[str, Any] = {"pattern": rest}
        if kind == "kretprobe.multi":
            opts["retprobe"] = True
        if kind == "kprobe.session":
            opts["session"] = True
        return AutoTarget("kprobe_multi", (), opts)
    if kind in ("uprobe", "uretprobe", "uprobe.s", "uretprobe.s"):
        return _uprobe(section, kind, rest)
    if kind in ("uprobe.multi", "uretprobe.multi", "uprobe.multi.s", "uretprobe.multi.s"):
        path, sep, pattern = rest.partition(":")
        if not rest:
            raise _not_attachable(section, kind.removesuffix(".s"), "it names no binary")
        if not sep or not path or not pattern:
            why = "it names no PATH:PATTERN"
            raise _not_attachable(section, kind.removesuffix(".s"), why, malformed=True)
        opts = {"pattern": pattern}
        if kind.startswith("uretprobe"):
            opts["retprobe"] = True
        return AutoTarget("uprobe_multi", (), opts, binary=path)
    if kind in ("usdt", "usdt.s"):
        parts = rest.split(":")
        if not rest:
            raise _not_attachable(section, "usdt", "it names no probe")
        if len(parts) != 3 or not all(parts):
            why = "it names no PATH:PROVIDER:NAME"
            raise _not_attachable(section, "usdt", why, malformed=True)
        return AutoTarget("usdt", (parts[1], parts[2]), binary=parts[0])
    raise _not_attachable(section, kind)


def _kprobe(section: str, kind: str, rest: str) -> AutoTarget:
    if not rest:
        raise _not_attachable(section, kind, "it names no function")
    m = _KPROBE.fullmatch(rest)
    if m is None:
        raise _not_attachable(section, kind, f"{rest!r} is no FUNCTION[+OFFSET]", malformed=True)
    offset = int(m["off"], 0) if m["off"] else 0
    if kind == "kretprobe" and offset:
        raise _not_attachable(section, kind, "a kretprobe takes no offset", malformed=True)
    return AutoTarget("kprobe", (m["func"],), {"offset": offset, "retprobe": kind == "kretprobe"})


def _uprobe(section: str, kind: str, rest: str) -> AutoTarget:
    path, sep, func = rest.partition(":")
    base = kind.removesuffix(".s")
    if not rest:
        raise _not_attachable(section, base, "it names no binary")
    if not sep or not path or not func:
        why = "it names no PATH:FUNCTION[+OFFSET]"
        raise _not_attachable(section, base, why, malformed=True)
    retprobe = base == "uretprobe"
    if _NUMBER.fullmatch(func):
        return AutoTarget(
            "uprobe", (), {"symbol": None, "offset": int(func, 0), "retprobe": retprobe}, path
        )
    m = _UPROBE_FUNC.fullmatch(func)
    if m is None:
        raise _not_attachable(section, base, f"{func!r} is no FUNCTION[+OFFSET]", malformed=True)
    offset = int(m["off"], 0) if m["off"] else 0
    if retprobe and offset:
        raise _not_attachable(section, base, "a uretprobe takes no offset", malformed=True)
    opts = {"symbol": m["func"], "offset": offset, "retprobe": retprobe}
    return AutoTarget("uprobe", (), opts, binary=path)


def _function(call: str) -> Callable[..., Link]:
    """The ``pybpf.link`` attach function named ``call`` (imported on first use)."""
    import pybpf.link  # noqa: PLC0415 (the package's lazy exports)

    fn: Callable[..., Link] = getattr(pybpf.link, call)
    return fn


def attach(program: Program) -> Link:
    """Attach ``program`` where its section says, as libbpf's ``bpf_program__attach``.

    ``tracepoint/G/N``, ``raw_tp/N``, ``tp_btf/…``, ``fentry/…``,
    ``fexit/…``, ``fmod_ret/…``, ``lsm/…``, ``iter/…``, ``kprobe/F[+OFF]``,
    ``kretprobe/F``, ``ksyscall/N``, ``kprobe.multi/PATTERN``,
    ``kprobe.session/PATTERN``, ``uprobe/PATH:F[+OFF]``,
    ``uprobe.multi/PATH:PATTERN``, ``usdt/PATH:PROVIDER:NAME``, and their
    return and sleepable variants. Any other section, or an opened program
    (which has no section), raises
    :class:`~pybpf.link.SectionNotAttachableError` naming the explicit call.
    """
    check_program(program, "attach", "program")
    spec = program.spec
    if spec is None:
        raise SectionNotAttachableError(
            "", None, f"program {program.name!r} was opened, not loaded from a spec: no section"
        )
    target = auto_target(spec.section)
    if target.binary is not None:
        from pybpf.link.executable import Executable  # noqa: PLC0415

        method: Callable[..., Link] = getattr(Executable(target.binary), target.call)
        return method(program, *target.args, **target.options)
    return _function(target.call)(program, *target.args, **target.options)


def auto_attachable(program: Program) -> bool:
    """Whether :func:`attach` can attach ``program`` from its section alone.

    A section that tries to name a target but cannot be read raises
    :class:`~pybpf.link.SectionNotAttachableError` (``malformed``).
    """
    if program.spec is None:
        return False
    try:
        auto_target(program.spec.section)
    except SectionNotAttachableError as e:
        if e.malformed:
            raise
        return False
    return True


def attach_all(collection: Collection) -> list[Link]:
    """Attach every auto-attachable program of ``collection``, and its struct_ops maps.

    Like a libbpf skeleton's ``attach()``: programs whose section names no
    target (``xdp``, ``socket``, a bare ``kprobe``) are left alone, struct_ops
    maps are registered. All or nothing: if one attach fails, the links made
    so far are closed and the error is raised.
    """
    links: list[Link] = []
    try:
        for program in collection.programs.values():
            if auto_attachable(program):
                links.append(attach(program))
        for m in _struct_ops_maps(collection):
            links.append(_function("struct_ops")(m))
    except BaseException:
        for link in reversed(links):
            link.close()
        raise
    return links


def _struct_ops_maps(collection: Collection) -> list[Map]:
    from pybpf.core import MapType  # noqa: PLC0415

    return [m for m in collection.maps.values() if m.type == MapType.STRUCT_OPS]
