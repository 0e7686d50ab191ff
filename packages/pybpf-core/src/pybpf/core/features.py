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
from collections.abc import Callable
from typing import ParamSpec

from pybpf.core import _attach_btf, _cmds, _probes, _prog_load, _rlimit, _sys
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError, NotSupportedError, VerifierError
from pybpf.elf import AttachType, CollectionSpec, MapSpec, MapType, ProgramSpec, ProgramType
from pybpf.elf.sections import BPF_F_SLEEPABLE

__all__ = [
    "check_spec",
    "have_atomics",
    "have_attach_type",
    "have_bounded_loops",
    "have_bpf_link",
    "have_helper",
    "have_isa_v2",
    "have_isa_v3",
    "have_isa_v4",
    "have_large_instructions",
    "have_map_type",
    "have_program_flags",
    "have_program_type",
    "have_sleepable",
    "have_uprobe_multi_link",
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

_P = ParamSpec("_P")


def _cached(probe: Callable[_P, None]) -> Callable[_P, None]:
    """Ask the kernel once per arguments: remember the answer, a refusal included.

    ``functools.cache`` remembers only returned values, so every call after a
    refusal would load the probe again.
    """
    answers: dict[object, NotSupportedError | None] = {}

    @functools.wraps(probe)
    def cached(*args: _P.args, **kwargs: _P.kwargs) -> None:
        key = (args, tuple(sorted(kwargs.items())))
        if key not in answers:
            try:
                probe(*args, **kwargs)
            except NotSupportedError as exc:
                answers[key] = exc
            else:
                answers[key] = None
        answer = answers[key]
        if answer is not None:
            raise answer.with_traceback(None)

    return cached


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


def _load(
    prog_type: int,
    code: bytes,
    *,
    log: bool = False,
    attach_type: int | None = None,
    attach_btf_id: int = 0,
    flags: int = 0,
) -> tuple[int, str]:
    """Load and close a probe program; (0 or -errno, verifier log)."""
    _rlimit.ensure_memlock()
    ffi = _sys.ffi
    attr = _cmds.new_attr("prog_load")
    insns = ffi.from_buffer(code)
    lic = ffi.new("char[]", b"GPL")
    attr.prog_type = prog_type
    attr.insn_cnt = len(code) // 8
    attr.insns = _sys.addr(insns)
    attr.license = _sys.addr(lic)
    attr.expected_attach_type = (
        _PROBE_ATTACH.get(prog_type, 0) if attach_type is None else attach_type
    )
    attr.attach_btf_id = attach_btf_id
    # Syscall programs must be sleepable.
    attr.prog_flags = flags | (BPF_F_SLEEPABLE if prog_type == ProgramType.SYSCALL else 0)
    buf = ffi.new("char[]", 4096) if log else _sys.NULL
    if log:
        attr.log_buf = _sys.addr(buf)
        attr.log_size = 4096
        attr.log_level = 1
    rc = _cmds.call(Command.PROG_LOAD, attr)
    if rc >= 0:
        os.close(rc)
        rc = 0
    text = ffi.string(buf).decode("utf-8", "replace") if log else ""
    return rc, text


def _missing(feature: str, since: str, code: int = errno.EINVAL) -> NotSupportedError:
    return NotSupportedError(feature, min_version=since, code=code)


def _refused(feature: str, code: int, what: str) -> NotSupportedError:
    """The kernel knows ``feature`` (its BTF names it) but would not ``what``."""
    name = errno.errorcode.get(code, str(code))
    answer = f"{os.strerror(code)} ({name})"
    if code == errno.EINVAL:
        # The enum lists every type, but a type whose CONFIG_ option is off
        # has no implementation behind it: the kernel answers EINVAL.
        reason = f"this kernel was built without it: {answer}"
    else:
        reason = f"this kernel has it but refused to {what}: {answer}"
    return NotSupportedError(feature, code=code, reason=reason)


# Where a probe attaches the program types that only load with a target: a
# function or tracepoint in every kernel's BTF (net/bpf/test_run.c's test
# hooks, the scheduler's tracepoint, an LSM hook, the task iterator).
_PROBE_TARGETS: dict[int, tuple[str, ...]] = {
    AttachType.TRACE_RAW_TP: ("btf_trace_sched_switch",),
    AttachType.TRACE_FENTRY: ("bpf_fentry_test1",),
    AttachType.TRACE_FEXIT: ("bpf_fentry_test1",),
    AttachType.MODIFY_RETURN: ("bpf_modify_return_test",),
    AttachType.LSM_MAC: ("bpf_lsm_file_mprotect", "bpf_lsm_file_open"),
    AttachType.LSM_CGROUP: ("bpf_lsm_socket_bind",),
    AttachType.TRACE_ITER: ("bpf_iter_task",),
}
# The attach type a program-type probe tries for the types that need one.
_TYPE_PROBE_ATTACH: dict[int, int] = {
    ProgramType.TRACING: AttachType.TRACE_RAW_TP,
    ProgramType.LSM: AttachType.LSM_MAC,
}


def _target_btf_id(names: tuple[str, ...]) -> int | None:
    from pybpf.core.program import kernel_spec_or_none  # noqa: PLC0415 (BTF only when needed)

    kernel = kernel_spec_or_none()
    if kernel is None:
        return None
    for name in names:
        try:
            return kernel.type_id(kernel.type_by_name(name))
        except (KeyError, LookupError, ValueError):
            continue
    return None


def _probe_load(
    prog_type: ProgramType, attach_type: int | None, feature: str, flags: int = 0
) -> tuple[int, str]:
    """Load the smallest program of a type the kernel knows; raise what it answered.

    Returns the load's result and log when the kernel has the type, for
    callers that read more into the verifier's words.
    """
    btf_id = 0
    if prog_type in _NEED_TARGET:
        found = _target_btf_id(_PROBE_TARGETS.get(attach_type or 0, ()))
        if found is None:
            return 0, ""  # no target to try (in this kernel's BTF): the enum is all we can ask
        btf_id = found
    rc, log = _load(
        prog_type,
        _R0_ZERO + _EXIT,
        log=True,
        attach_type=attach_type,
        attach_btf_id=btf_id,
        flags=flags,
    )
    if _loaded_or_judged(rc, log):
        return rc, log
    raise _refused(feature, -rc, "load one")


def _loaded_or_judged(rc: int, log: str) -> bool:
    """Whether a probe load shows the kernel has the type.

    It loaded, or the verifier ran and judged the probe program itself
    (EACCES, or a log: some attach types want another return value than the
    probe's 0, an EINVAL with the verifier's words), as opposed to the
    EINVAL of a type or attach type the kernel has no code for, which comes
    before any log. EPERM is a refusal whatever the log says: a kernel that
    refuses a tracing program after verifying it (an iterator on some 6.18
    builds) leaves the verifier's statistics in the log, no verdict.
    """
    return rc in (0, -errno.EACCES) or (rc < 0 and rc != -errno.EPERM and bool(log.strip()))


@_cached
def have_program_type(prog_type: ProgramType) -> None:
    """Whether the kernel loads programs of ``prog_type``.

    Raises :class:`NotSupportedError` naming the first kernel with the type
    when this kernel does not know it, and with the kernel's own answer
    (``errno`` and its text, no version) when it knows the type but refuses
    to load one here.
    """
    prog_type = ProgramType(prog_type)
    since = PROGRAM_TYPE_SINCE.get(prog_type, "")
    feature = f"program type {prog_type.name}"
    known = prog_type != ProgramType.UNSPEC and _probes.kernel_enum_has(
        "bpf_prog_type", f"BPF_PROG_TYPE_{prog_type.name}"
    )
    if prog_type in _NEED_TARGET:
        if not known:
            raise _missing(feature, since)
        if prog_type in _TYPE_PROBE_ATTACH:
            _probe_load(prog_type, _TYPE_PROBE_ATTACH[prog_type], feature)
        return  # EXT and STRUCT_OPS need a program or a kernel struct: the enum answers
    rc, log = _load(prog_type, _R0_ZERO + _EXIT, log=True)
    if _loaded_or_judged(rc, log):
        return
    if rc in (-errno.EINVAL, -errno.EOPNOTSUPP, -errno.E2BIG) and known is not True:
        raise _missing(feature, since, -rc)
    raise _refused(feature, -rc, "load one")


@_cached
def have_attach_type(prog_type: ProgramType, attach_type: AttachType) -> None:
    """Whether the kernel loads ``prog_type`` programs for ``attach_type``.

    The probe program says ``attach_type`` as its expected attach type, which
    tells, say, a kernel with ``cgroup/connect_unix`` (6.7) or
    ``uprobe.multi`` (6.6) from one without. For the tracing and LSM types it
    loads at a real target (``bpf_fentry_test1`` for fentry/fexit, an LSM
    hook, ...), so a kernel that takes raw BTF tracepoints but refuses fentry
    is told apart. Raises like :func:`have_program_type`.
    """
    prog_type = ProgramType(prog_type)
    attach_type = AttachType(attach_type)
    have_program_type(prog_type)
    feature = f"{prog_type.name} programs for attach type {attach_type.name}"
    if not _probes.kernel_enum_has("bpf_attach_type", f"BPF_{attach_type.name}"):
        raise _missing(feature, "")
    _probe_load(prog_type, attach_type, feature)


@_cached
def have_map_type(map_type: MapType) -> None:
    """Whether the kernel creates maps of ``map_type``.

    Raises :class:`NotSupportedError` naming the first kernel with the type
    when this kernel does not know it, and with the kernel's own answer when
    it knows the type but refuses to create one here.
    """
    map_type = MapType(map_type)
    feature = f"map type {map_type.name}"
    if _probes.have_map_type(map_type) is False:
        raise _missing(feature, _probes.MAP_TYPE_SINCE.get(map_type, ""))
    rc = _probes.create_answer(map_type)
    if rc:
        raise _refused(feature, -rc, "create one")


# The verifier's answer to BPF_F_SLEEPABLE on a type that may not sleep:
# "Only fentry/fexit/fmod_ret and lsm programs can be sleepable" (5.10), the
# list growing with iter, uprobe and struct_ops in later kernels, then
# "Program of this type cannot be sleepable" (7.x).
_NOT_SLEEPABLE = ("can be sleepable", "cannot be sleepable")


@_cached
def have_sleepable(prog_type: ProgramType, attach_type: AttachType | None = None) -> None:
    """Whether ``prog_type`` programs (for ``attach_type``) may be sleepable.

    ``uprobe.s`` came with 6.2, ``iter.s`` with 5.16, ``fentry.s`` and
    ``lsm.s`` with 5.10: the probe loads one with ``BPF_F_SLEEPABLE`` and
    reads the verifier's answer.
    """
    prog_type = ProgramType(prog_type)
    if attach_type is None:
        have_program_type(prog_type)
        attach = _TYPE_PROBE_ATTACH.get(prog_type)
    else:
        attach_type = AttachType(attach_type)
        have_attach_type(prog_type, attach_type)
        attach = attach_type
    kind = prog_type.name if attach is None else f"{prog_type.name}/{AttachType(attach).name}"
    feature = f"sleepable {kind} programs"
    rc, log = _probe_load(prog_type, attach, feature, flags=BPF_F_SLEEPABLE)
    if rc < 0 and any(answer in log for answer in _NOT_SLEEPABLE):
        raise _missing(feature, "")


@_cached
def have_program_flags(
    prog_type: ProgramType, flags: int, attach_type: AttachType | None = None
) -> None:
    """Whether the kernel loads ``prog_type`` programs with ``prog_flags`` ``flags``.

    For the flags sections set other than ``BPF_F_SLEEPABLE`` (which
    :func:`have_sleepable` asks): ``xdp.frags`` sets ``BPF_F_XDP_HAS_FRAGS``
    (5.18), ``xdp`` programs bound to a device ``BPF_F_XDP_DEV_BOUND_ONLY``
    (6.3). A kernel that does not know a flag refuses it with EINVAL before
    verifying anything.
    """
    prog_type = ProgramType(prog_type)
    feature = f"{prog_type.name} programs with prog_flags {flags:#x}"
    attach = None if attach_type is None else AttachType(attach_type)
    if attach is None:
        have_program_type(prog_type)
    else:
        have_attach_type(prog_type, attach)
    try:
        _probe_load(prog_type, attach, feature, flags=flags)
    except NotSupportedError as exc:
        if exc.errno != errno.EINVAL:
            raise
        raise _missing(feature, "") from None


# What the verifier says when a program type may not call a helper. From
# kernel/bpf/verifier.c: "invalid func unknown#N" (no such helper),
# "unknown func NAME#N" (the type's get_func_proto knows no such helper: the
# usual answer), "program of this type cannot use helper NAME#N" (5.x-6.x
# for helpers restricted by type), "cannot call NAME" variants.
_HELPER_REFUSALS = (
    "invalid func ",
    "unknown func ",
    "cannot use helper",
    "cannot call",
    "not allowed for this program type",
)


@_cached
def have_helper(prog_type: ProgramType, helper: int) -> None:
    """Whether programs of ``prog_type`` may call helper number ``helper``.

    As ebpf-go's ``HaveProgramHelper``: load a program calling the helper and
    read the verifier's answer. A rejection for any other reason (the probe
    passes no valid arguments) means the helper is allowed.
    """
    have_program_type(prog_type)
    code = _insn(0x85, imm=int(helper)) + _R0_ZERO + _EXIT
    rc, log = _load(prog_type, code, log=True)
    if rc < 0 and any(refusal in log for refusal in _HELPER_REFUSALS):
        name = getattr(helper, "name", str(int(helper)))
        raise _missing(f"helper {name} in {ProgramType(prog_type).name} programs", "")


@_cached
def have_bpf_link() -> None:
    """Whether BPF_LINK_CREATE exists (Linux 5.7)."""
    attr = _cmds.new_attr("link_create")
    attr.prog_fd = 0xFFFFFFFF  # -1: a known command answers EBADF
    rc = _cmds.call(Command.LINK_CREATE, attr)
    if rc == -errno.EINVAL:
        raise _missing("bpf_link (BPF_LINK_CREATE)", "5.7")


@_cached
def have_uprobe_multi_link() -> None:
    """Whether the kernel makes ``UPROBE_MULTI`` links that filter by process (Linux 6.6).

    libbpf's probe, whose answer makes it load ``usdt`` programs for such
    links: a kprobe program loaded for ``TRACE_UPROBE_MULTI`` is linked to
    the directory ``/``, which a kernel with the links refuses with EBADF
    (any other answer: no such links), then again with pid -1, which a
    kernel whose pid filter is the process's (not the first kernels', which
    filtered by thread) refuses with EINVAL before it looks at the path.
    """
    feature = "uprobe_multi links"
    req = _prog_load.LoadRequest(
        "uprobe_multi",
        ProgramType.KPROBE,
        _R0_ZERO + _EXIT,
        license="GPL",
        expected_attach_type=AttachType.TRACE_UPROBE_MULTI,
    )
    try:
        prog, _ = _prog_load.load(req)
    except BPFError as exc:
        raise _missing(feature, "6.6", exc.errno or errno.EINVAL) from None
    with prog:
        code = _uprobe_multi_answer(prog.number, pid=0)
        if code != errno.EBADF:
            raise _missing(feature, "6.6", code or errno.EINVAL)
        code = _uprobe_multi_answer(prog.number, pid=0xFFFFFFFF)
        if code != errno.EINVAL:
            raise NotSupportedError(
                feature,
                code=code or errno.EINVAL,
                reason="this kernel's uprobe_multi links filter by thread, not by process",
            )


def _uprobe_multi_answer(prog_fd: int, *, pid: int) -> int:
    """The errno of linking ``prog_fd`` to a uprobe_multi at offset 0 of ``/`` (0: linked)."""
    path = _sys.ffi.new("char[]", b"/")
    offsets = _sys.ffi.new("uint64_t[]", [0])
    attr = _cmds.new_attr("link_create")
    attr.prog_fd = prog_fd
    attr.attach_type = AttachType.TRACE_UPROBE_MULTI
    attr.uprobe_multi.path = _sys.addr(path)
    attr.uprobe_multi.offsets = _sys.addr(offsets)
    attr.uprobe_multi.cnt = 1
    attr.uprobe_multi.pid = pid
    rc = _cmds.call(Command.LINK_CREATE, attr)
    if rc >= 0:
        os.close(rc)
        return 0
    return -rc


def _isa(feature: str, since: str, code: bytes) -> None:
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc == -errno.EINVAL:
        raise _missing(feature, since)
    if rc < 0 and rc != -errno.EACCES:
        raise BPFError(-rc, f"probe {feature}")


@_cached
def have_isa_v2() -> None:
    """Whether the kernel knows the v2 ISA (the JLT/JLE/JSLT/JSLE jumps, 4.14)."""
    _isa("ISA v2 (BPF_JLT)", "4.14", _R0_ZERO + _insn(0xA5) + _EXIT)


@_cached
def have_isa_v3() -> None:
    """Whether the kernel knows the v3 ISA (JMP32, 5.1)."""
    _isa("ISA v3 (BPF_JMP32)", "5.1", _insn(0xB4) + _insn(0xA6) + _EXIT)


@_cached
def have_isa_v4() -> None:
    """Whether the kernel knows the v4 ISA (sign-extending moves and loads, sdiv, 6.6)."""
    _isa("ISA v4 (BPF_MOVSX)", "6.6", _R0_ZERO + _insn(0xBF, off=8) + _EXIT)


@_cached
def have_large_instructions() -> None:
    """Whether programs may have a million instructions instead of 4096 (5.2)."""
    code = _insn(0x05) * 4096 + _R0_ZERO + _EXIT  # 4096 'goto +0', then r0 = 0
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc in (-errno.E2BIG, -errno.EINVAL):
        raise _missing("large instruction limit (1M)", "5.2", -rc)


@_cached
def have_bounded_loops() -> None:
    """Whether the verifier accepts bounded loops (5.3)."""
    # r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit
    code = _insn(0xB7, imm=10) + _insn(0x17, imm=1) + _insn(0x55, off=-2) + _EXIT
    rc, _ = _load(ProgramType.SOCKET_FILTER, code)
    if rc == -errno.EINVAL:
        raise _missing("bounded loops", "5.3")


@_cached
def have_atomics() -> None:
    """Whether the kernel knows the atomic operations beyond add (fetch, xchg, cmpxchg; 5.12)."""
    stack_store = _insn(0x7B, dst=10, src=0, off=-8)  # *(u64 *)(r10 - 8) = r0
    fetch_add = _insn(0xDB, dst=10, src=1, off=-8, imm=0x01)  # r1 = atomic_fetch_add(...)
    code = _R0_ZERO + stack_store + _insn(0xB7, dst=1, imm=1) + fetch_add + _R0_ZERO + _EXIT
    _isa("atomic fetch operations (BPF_FETCH)", "5.12", code)


# Opcode bits the ISA checks below read: instruction class, ALU operation,
# memory mode.
_CLASS, _ALU_OP, _MODE = 0x07, 0xF0, 0xE0
_LDX, _STX, _ALU, _JMP32, _ALU64 = 0x01, 0x03, 0x04, 0x06, 0x07
_MEMSX, _ATOMIC = 0x80, 0xC0
_MOV, _DIV, _MOD, _END, _JA = 0xB0, 0x30, 0x90, 0xD0, 0x00
_ATOMIC_ADD = 0x00


def _instruction_needs(spec: ProgramSpec) -> set[str]:
    """The ISA extensions a program's instructions use, by probe name."""
    needs: set[str] = set()
    for insn in spec.instructions:
        op = insn.opcode
        cls = op & _CLASS
        if cls == _JMP32:
            needs.add("isa_v4" if op & _ALU_OP == _JA else "isa_v3")
        elif cls == _LDX and op & _MODE == _MEMSX:
            needs.add("isa_v4")
        elif cls == _STX and op & _MODE == _ATOMIC and insn.constant != _ATOMIC_ADD:
            needs.add("atomics")
        elif cls in (_ALU, _ALU64):
            alu = op & _ALU_OP
            signed_div = alu in (_DIV, _MOD) and insn.offset == 1
            if (alu == _MOV and insn.offset) or signed_div or (cls == _ALU64 and alu == _END):
                needs.add("isa_v4")
    return needs


_ISA_PROBES = {"isa_v3": have_isa_v3, "isa_v4": have_isa_v4, "atomics": have_atomics}


def check_spec(spec: CollectionSpec | ProgramSpec | MapSpec) -> None:
    """Whether this kernel has what ``spec`` needs, asked before loading it.

    Probes every map type (inner maps included), program and attach type,
    whether it may sleep, its attach target (for tracing and LSM programs
    attaching to vmlinux: a probe program at the same target), helper call
    and instruction-set extension the spec uses, and raises
    :class:`NotSupportedError` for the first one the kernel lacks or refuses.
    It cannot promise a load will succeed (the verifier, kfuncs and attach
    targets have the last word), but what it reports is the kernel's own
    answer. For a collection, programs with ``autoload`` off are left out.
    """
    if isinstance(spec, MapSpec):
        inner: MapSpec | None = spec
        while inner is not None:
            have_map_type(MapType(inner.type))
            inner = inner.inner_map
        return
    if isinstance(spec, CollectionSpec):
        for map_spec in spec.maps.values():
            check_spec(map_spec)
        for prog in spec.programs.values():
            if prog.autoload:
                check_spec(prog)
        return
    prog_type = ProgramType(spec.type)
    attach_type = None if spec.attach_type is None else AttachType(spec.attach_type)
    if attach_type is not None:
        have_attach_type(prog_type, attach_type)
    else:
        have_program_type(prog_type)
    if spec.flags & BPF_F_SLEEPABLE:
        have_sleepable(prog_type, attach_type)
    if spec.flags & ~BPF_F_SLEEPABLE:
        have_program_flags(prog_type, spec.flags & ~BPF_F_SLEEPABLE, attach_type)
    if attach_type is not None:
        _check_target(spec, prog_type, attach_type)
    for need in sorted(_instruction_needs(spec)):
        _ISA_PROBES[need]()
    for helper in sorted({i.constant for i in spec.instructions if i.is_helper_call}):
        have_helper(prog_type, helper)


def _check_target(spec: ProgramSpec, prog_type: ProgramType, attach_type: AttachType) -> None:
    """The kernel's answer to a probe program at ``spec``'s own attach target.

    A target the verifier refuses for every program (a function not on the
    sleepable list, one that fmod_ret may not change) refuses ``spec`` too.
    Only targets in vmlinux's BTF are asked; a module's are left to the load.
    """
    if prog_type not in _TYPE_PROBE_ATTACH or not spec.attach_to:
        return
    if not _attach_btf.needs_attach_btf_id(spec):
        return
    try:
        found = _attach_btf.find_attach_btf(spec)
    except (BPFError, LookupError, OSError, ValueError):
        return  # not in vmlinux's BTF: the load says where it looked
    _target_answer(
        prog_type,
        attach_type,
        found.btf_id,
        spec.flags & BPF_F_SLEEPABLE,
        f"{prog_type.name} programs for {attach_type.name} at {spec.attach_to!r}",
    )


@_cached
def _target_answer(
    prog_type: ProgramType, attach_type: AttachType, btf_id: int, flags: int, feature: str
) -> None:
    rc, log = _load(
        prog_type,
        _R0_ZERO + _EXIT,
        log=True,
        attach_type=attach_type,
        attach_btf_id=btf_id,
        flags=flags,
    )
    if rc == 0:
        return
    cause = VerifierError(-rc, feature, log).cause if log.strip() else ""
    if not cause:
        raise _refused(feature, -rc, "load one")
    raise NotSupportedError(feature, code=-rc, reason=f"this kernel refused it: {cause}")
