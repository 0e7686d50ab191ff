"""What the running kernel supports, asked once per process and cached.

Every probe returns None when the feature is there and raises
:class:`~pybpf.core.errors.NotSupportedError` (naming the feature and the
first kernel version that has it) when it is not, as ebpf-go's ``features``
package does. Probes load the smallest program or object that shows the
feature and close it at once.
"""

from __future__ import annotations

import errno
import functools
import os
import struct

from pybpf.core import _probes, _rlimit, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError, NotSupportedError
from pybpf.elf._uapi import AttachType, MapType, ProgramType

__all__ = [
    "have_bounded_loops",
    "have_bpf_link",
    "have_helper",
    "have_isa_v2",
    "have_isa_v3",
    "have_isa_v4",
    "have_large_instructions",
    "have_map_type",
    "have_program_type",
]

#: The first Linux release with each program type.
PROGRAM_TYPE_SINCE: dict[int, str] = {
    ProgramType.SOCKET_FILTER: "3.19",
    ProgramType.KPROBE: "4.1",
    ProgramType.SCHED_CLS: "4.1",
    ProgramType.SCHED_ACT: "4.1",
    ProgramType.TRACEPOINT: "4.7",
    ProgramType.XDP: "4.8",
    ProgramType.PERF_EVENT: "4.9",
    ProgramType.CGROUP_SKB: "4.10",
    ProgramType.CGROUP_SOCK: "4.10",
    ProgramType.LWT_IN: "4.10",
    ProgramType.LWT_OUT: "4.10",
    ProgramType.LWT_XMIT: "4.10",
    ProgramType.SOCK_OPS: "4.13",
    ProgramType.SK_SKB: "4.14",
    ProgramType.CGROUP_DEVICE: "4.15",
    ProgramType.SK_MSG: "4.17",
    ProgramType.RAW_TRACEPOINT: "4.17",
    ProgramType.CGROUP_SOCK_ADDR: "4.17",
    ProgramType.LWT_SEG6LOCAL: "4.18",
    ProgramType.LIRC_MODE2: "4.18",
    ProgramType.SK_REUSEPORT: "4.19",
    ProgramType.FLOW_DISSECTOR: "4.20",
    ProgramType.CGROUP_SYSCTL: "5.2",
    ProgramType.RAW_TRACEPOINT_WRITABLE: "5.2",
    ProgramType.CGROUP_SOCKOPT: "5.3",
    ProgramType.TRACING: "5.5",
    ProgramType.STRUCT_OPS: "5.6",
    ProgramType.EXT: "5.6",
    ProgramType.LSM: "5.7",
    ProgramType.SK_LOOKUP: "5.9",
    ProgramType.SYSCALL: "5.14",
    ProgramType.NETFILTER: "6.4",
}

# Types the kernel only loads with an attach target: a plain probe load
# cannot tell "unknown type" from "missing target", so ask the kernel's BTF.
_NEED_TARGET = frozenset(
    {ProgramType.TRACING, ProgramType.STRUCT_OPS, ProgramType.EXT, ProgramType.LSM}
)

_EXIT = bytes([0x95, 0, 0, 0, 0, 0, 0, 0])


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, dst | src << 4, off, imm)


_R0_ZERO = _insn(0xB7)  # r0 = 0


# What a probe load of these types must say about itself (ebpf-go's choices).
_PROBE_ATTACH: dict[int, int] = {
    ProgramType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgramType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgramType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgramType.NETFILTER: AttachType.NETFILTER,
}
#: ``BPF_F_SLEEPABLE``: syscall programs must be sleepable.
_SLEEPABLE = 1 << 4


def _load(prog_type: int, code: bytes, *, log: bool = False) -> tuple[int, str]:
    """Load and close a probe program; (0 or -errno, verifier log)."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_prog_load_attr *")
    insns = ffi.from_buffer(code)
    lic = ffi.new("char[]", b"GPL")
    attr.prog_type = prog_type
    attr.insn_cnt = len(code) // 8
    attr.insns = _sys.addr(insns)
    attr.license = _sys.addr(lic)
    attr.expected_attach_type = _PROBE_ATTACH.get(prog_type, 0)
    if prog_type == ProgramType.SYSCALL:
        attr.prog_flags = _SLEEPABLE
    buf = ffi.new("char[]", 4096) if log else _sys.NULL
    if log:
        attr.log_buf = _sys.addr(buf)
        attr.log_size = 4096
        attr.log_level = 1
    rc = _sys.bpf(Command.PROG_LOAD, attr, ffi.sizeof(attr[0]))
    if rc >= 0:
        os.close(rc)
        rc = 0
    text = ffi.string(buf).decode("utf-8", "replace") if log else ""
    return rc, text


def _kernel_enum_has(enum_name: str, value_name: str) -> bool | None:
    from pybpf.core.program import kernel_spec_or_none  # noqa: PLC0415 (BTF only when needed)

    kernel = kernel_spec_or_none()
    if kernel is None:
        return None
    try:
        t = kernel.type_by_name(enum_name)
    except (KeyError, ValueError):
        return None
    return any(v.name == value_name for v in getattr(t, "values", ()))


def _missing(feature: str, since: str, code: int = errno.EINVAL) -> NotSupportedError:
    return NotSupportedError(feature, min_version=since, code=code)


@functools.cache
def have_program_type(prog_type: ProgramType) -> None:
    """Whether the kernel loads programs of ``prog_type``."""
    prog_type = ProgramType(prog_type)
    since = PROGRAM_TYPE_SINCE.get(prog_type, "")
    feature = f"program type {prog_type.name}"
    if prog_type in _NEED_TARGET:
        if _kernel_enum_has("bpf_prog_type", f"BPF_PROG_TYPE_{prog_type.name}"):
            return
        raise _missing(feature, since)
    rc, _ = _load(prog_type, _R0_ZERO + _EXIT)
    if rc in (-errno.EINVAL, -errno.EOPNOTSUPP):
        raise _missing(feature, since, -rc)
    if rc < 0 and rc != -errno.EACCES:
        raise BPFError(-rc, f"probe {feature}")


@functools.cache
def have_map_type(map_type: MapType) -> None:
    """Whether the kernel creates maps of ``map_type``."""
    map_type = MapType(map_type)
    feature = f"map type {map_type.name}"
    since = _probes.MAP_TYPE_SINCE.get(map_type, "")
    ok = _probes.have_map_type(map_type)
    if ok is None:
        ok = _kernel_enum_has("bpf_map_type", f"BPF_MAP_TYPE_{map_type.name}")
    if ok is False:
        raise _missing(feature, since)


@functools.cache
def have_helper(prog_type: ProgramType, helper: int) -> None:
    """Whether programs of ``prog_type`` may call helper number ``helper``."""
    have_program_type(prog_type)
    code = _insn(0x85, imm=int(helper)) + _R0_ZERO + _EXIT
    rc, log = _load(prog_type, code, log=True)
    if rc < 0 and ("invalid func " in log or "unknown func " in log or "cannot call" in log):
        name = getattr(helper, "name", str(int(helper)))
        raise _missing(f"helper {name} in {ProgramType(prog_type).name} programs", "")


@functools.cache
def have_bpf_link() -> None:
    """Whether BPF_LINK_CREATE exists (Linux 5.7)."""
    ffi = _sys.ffi
    attr = ffi.new("uint32_t[16]")
    attr[0] = 0xFFFFFFFF  # prog_fd -1: a known command answers EBADF
    rc = _sys.bpf(Command.LINK_CREATE, attr, 64)
    if rc == -errno.EINVAL:
        raise _missing("bpf_link (BPF_LINK_CREATE)", "5.7")


def _isa(feature: str, since: str, code: bytes) -> None:
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc == -errno.EINVAL:
        raise _missing(feature, since)
    if rc < 0 and rc != -errno.EACCES:
        raise BPFError(-rc, f"probe {feature}")


@functools.cache
def have_isa_v2() -> None:
    """Whether the kernel knows the v2 ISA (the JLT/JLE/JSLT/JSLE jumps, 4.14)."""
    _isa("ISA v2 (BPF_JLT)", "4.14", _R0_ZERO + _insn(0xA5) + _EXIT)


@functools.cache
def have_isa_v3() -> None:
    """Whether the kernel knows the v3 ISA (JMP32, 5.1)."""
    _isa("ISA v3 (BPF_JMP32)", "5.1", _insn(0xB4) + _insn(0xA6) + _EXIT)


@functools.cache
def have_isa_v4() -> None:
    """Whether the kernel knows the v4 ISA (sign-extending moves and loads, sdiv, 6.6)."""
    _isa("ISA v4 (BPF_MOVSX)", "6.6", _R0_ZERO + _insn(0xBF, off=8) + _EXIT)


@functools.cache
def have_large_instructions() -> None:
    """Whether programs may have a million instructions instead of 4096 (5.2)."""
    code = _insn(0x05) * 4096 + _R0_ZERO + _EXIT  # 4096 'goto +0', then r0 = 0
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc in (-errno.E2BIG, -errno.EINVAL):
        raise _missing("large instruction limit (1M)", "5.2", -rc)


@functools.cache
def have_bounded_loops() -> None:
    """Whether the verifier accepts bounded loops (5.3)."""
    # r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit
    code = _insn(0xB7, imm=10) + _insn(0x17, imm=1) + _insn(0x55, off=-2) + _EXIT
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc == -errno.EINVAL:
        raise _missing("bounded loops", "5.3")
